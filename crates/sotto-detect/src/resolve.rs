//! Overlap resolution across all recognisers.

use crate::span::Candidate;

/// Sorted, non-overlapping candidates.
pub fn resolve(text: &str, mut c: Vec<Candidate>) -> Vec<Candidate> {
    let _ = text;
    c.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Candidate> = Vec::with_capacity(c.len());
    for x in c {
        if let Some(l) = out.last() {
            if x.start < l.end {
                continue;
            }
        }
        out.push(x);
    }
    out
}
