//! Overlap resolution across all recognisers.
//!
//! Same-kind overlaps merge into their union. Between kinds, the stronger wins whole — pci over
//! special over personal, then score, then length — and the weaker keeps only what lies outside
//! it (so nothing it covered goes back in clear), dropped when no letter or digit is left.

use crate::span::Candidate;
use sotto_core::{Category, Kind};

fn rank(c: &Candidate) -> (u8, u32, usize) {
    let cat = match c.kind.category() {
        Category::Pci => 3,
        Category::Special => 2,
        Category::Personal => 1,
    };
    (
        cat,
        (c.score.clamp(0.0, 1.0) * 1000.0) as u32,
        c.end - c.start,
    )
}

fn has_alnum(text: &str, s: usize, e: usize) -> bool {
    text.get(s..e)
        .is_some_and(|x| x.chars().any(char::is_alphanumeric))
}

/// Sorted, non-overlapping candidates.
pub fn resolve(text: &str, mut c: Vec<Candidate>) -> Vec<Candidate> {
    c.retain(|x| x.start < x.end && x.end <= text.len());
    if c.len() <= 1 {
        // nothing to merge or to share out (most lines): only the trim, in place
        trim(text, &mut c);
        return c;
    }
    // an IBAN that passed mod-97 with its country letters is stronger evidence than a Luhn
    // pass (1 in 97 vs 1 in 10) for the digits inside it
    let ibans: Vec<(usize, usize)> = c
        .iter()
        .filter(|x| x.kind == Kind::Iban && x.score >= 0.9)
        .map(|x| (x.start, x.end))
        .collect();
    if !ibans.is_empty() {
        c.retain(|x| {
            x.kind != Kind::PaymentCard || !ibans.iter().any(|&(s, e)| s <= x.start && x.end <= e)
        });
    }
    // merge same-kind overlaps
    c.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.start.cmp(&b.start))
            .then(b.end.cmp(&a.end))
    });
    let mut merged: Vec<Candidate> = Vec::with_capacity(c.len());
    for x in c {
        if let Some(l) = merged.last_mut() {
            if l.kind == x.kind && x.start < l.end {
                l.end = l.end.max(x.end);
                l.score = l.score.max(x.score);
                continue;
            }
        }
        merged.push(x);
    }
    // strongest first; each later one keeps only the parts not yet taken
    merged.sort_by(|a, b| rank(b).cmp(&rank(a)).then(a.start.cmp(&b.start)));
    let mut taken: Vec<Candidate> = Vec::with_capacity(merged.len());
    let mut queue: Vec<Candidate> = merged;
    queue.reverse();
    while let Some(x) = queue.pop() {
        if let Some(t) = taken.iter().find(|t| t.overlaps(&x)) {
            let t = *t;
            if x.start < t.start && has_alnum(text, x.start, t.start) {
                queue.push(Candidate { end: t.start, ..x });
            }
            if x.end > t.end && has_alnum(text, t.end, x.end) {
                queue.push(Candidate { start: t.end, ..x });
            }
            continue;
        }
        taken.push(x);
    }
    taken.sort_by_key(|a| a.start);
    trim(text, &mut taken);
    taken
}

/// Trims white space at the edges of each candidate and drops those left empty.
fn trim(text: &str, taken: &mut Vec<Candidate>) {
    for t in taken.iter_mut() {
        while t.start < t.end
            && text
                .as_bytes()
                .get(t.start)
                .is_some_and(|b| b.is_ascii_whitespace())
        {
            t.start += 1;
        }
        while t.end > t.start
            && text
                .as_bytes()
                .get(t.end - 1)
                .is_some_and(|b| b.is_ascii_whitespace())
        {
            t.end -= 1;
        }
    }
    taken.retain(|t| t.start < t.end);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pci_wins_whole_and_same_kind_merges() {
        let t = "abcdefghijklmnopqrstuvwxyz";
        let r = resolve(
            t,
            vec![
                Candidate::new(0, 10, Kind::PhoneNumber, 0.9),
                Candidate::new(5, 15, Kind::PaymentCard, 0.7),
                Candidate::new(14, 20, Kind::PaymentCard, 0.9),
            ],
        );
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].start, r[0].end, r[0].kind), (0, 5, Kind::PhoneNumber));
        assert_eq!(
            (r[1].start, r[1].end, r[1].kind),
            (5, 20, Kind::PaymentCard)
        );
    }
}
