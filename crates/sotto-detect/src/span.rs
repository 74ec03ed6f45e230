//! What the detector reports.

use sotto_core::{Category, Kind};

/// A finding inside a text, in **byte** offsets of that text (end exclusive, always on `char`
/// boundaries). Recognisers produce these; [`crate::to_char_offsets`] converts to the code-point
/// offsets of the public contract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// Confidence in 0.0..=1.0.
    pub score: f32,
}

impl Candidate {
    pub fn new(start: usize, end: usize, kind: Kind, score: f32) -> Self {
        Self {
            start,
            end,
            kind,
            score,
        }
    }
    pub fn category(&self) -> Category {
        self.kind.category()
    }
    pub fn overlaps(&self, other: &Candidate) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A finding in **Unicode code point** offsets of the input (end exclusive) — the form the CLI,
/// the API and the evaluation corpus use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    pub category: Category,
    pub score: f32,
}
