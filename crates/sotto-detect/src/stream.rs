//! Streaming detection over timed ASR words.

use sotto_core::Kind;

/// A finalized span with its audio interval.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpan {
    pub kind: Kind,
    pub score: f32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Index of the first and one past the last word of the span (counting every pushed word).
    pub first_word: u64,
    pub end_word: u64,
}

/// Takes words as ASR emits them (see module docs).
pub struct StreamingDetector {}
