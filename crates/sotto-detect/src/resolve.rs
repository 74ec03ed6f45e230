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
    resolve_in_place(text, &mut c);
    c
}

/// [`resolve`] in place: merging and the result reuse `c`'s buffer, and the work queue is
/// kept per thread, so resolving allocates nothing once the buffers have grown.
pub fn resolve_in_place(text: &str, c: &mut Vec<Candidate>) {
    c.retain(|x| x.start < x.end && x.end <= text.len());
    if c.len() <= 1 {
        // nothing to merge or to share out (most lines): only the trim, in place
        trim(text, c);
        return;
    }
    thread_local! {
        static QUEUE: std::cell::RefCell<Vec<Candidate>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    QUEUE.with(|q| match q.try_borrow_mut() {
        Ok(mut q) => resolve_with(text, c, &mut q),
        Err(_) => resolve_with(text, c, &mut Vec::new()),
    });
}

/// [`resolve_in_place`] for two or more candidates, with `queue` as the work queue.
fn resolve_with(text: &str, c: &mut Vec<Candidate>, queue: &mut Vec<Candidate>) {
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
    // merge same-kind overlaps (in place: `kept` candidates so far at the front)
    c.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.start.cmp(&b.start))
            .then(b.end.cmp(&a.end))
    });
    let mut kept = 0usize;
    for r in 0..c.len() {
        let Some(&x) = c.get(r) else { break };
        if let Some(l) = kept.checked_sub(1).and_then(|k| c.get_mut(k)) {
            if l.kind == x.kind && x.start < l.end {
                l.end = l.end.max(x.end);
                l.score = l.score.max(x.score);
                continue;
            }
        }
        if let Some(slot) = c.get_mut(kept) {
            *slot = x;
        }
        kept += 1;
    }
    c.truncate(kept);
    // strongest first; each later one keeps only the parts not yet taken
    c.sort_by(|a, b| rank(b).cmp(&rank(a)).then(a.start.cmp(&b.start)));
    queue.clear();
    queue.extend(c.iter().rev());
    // `c` now holds what is taken
    c.clear();
    while let Some(x) = queue.pop() {
        if let Some(t) = c.iter().find(|t| t.overlaps(&x)) {
            let t = *t;
            if x.start < t.start && has_alnum(text, x.start, t.start) {
                queue.push(Candidate { end: t.start, ..x });
            }
            if x.end > t.end && has_alnum(text, t.end, x.end) {
                queue.push(Candidate { start: t.end, ..x });
            }
            continue;
        }
        c.push(x);
    }
    c.sort_by_key(|a| a.start);
    trim(text, c);
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

    /// The resolution as first written (a new vector per step), to check the in-place one.
    fn resolve_by_copies(text: &str, mut c: Vec<Candidate>) -> Vec<Candidate> {
        c.retain(|x| x.start < x.end && x.end <= text.len());
        if c.len() <= 1 {
            trim(text, &mut c);
            return c;
        }
        let ibans: Vec<(usize, usize)> = c
            .iter()
            .filter(|x| x.kind == Kind::Iban && x.score >= 0.9)
            .map(|x| (x.start, x.end))
            .collect();
        if !ibans.is_empty() {
            c.retain(|x| {
                x.kind != Kind::PaymentCard
                    || !ibans.iter().any(|&(s, e)| s <= x.start && x.end <= e)
            });
        }
        c.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then(a.start.cmp(&b.start))
                .then(b.end.cmp(&a.end))
        });
        let mut merged: Vec<Candidate> = Vec::new();
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
        merged.sort_by(|a, b| rank(b).cmp(&rank(a)).then(a.start.cmp(&b.start)));
        let mut taken: Vec<Candidate> = Vec::new();
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

    proptest::proptest! {
        /// In place, with the queue reused (one vector across cases, as across lines), the
        /// result is the one of the version that copies: overlaps of every kind, merges, IBANs
        /// over cards, pieces with and without letters, white space at the edges.
        #[test]
        fn in_place_is_the_copying_version(
            text in "[a-c1-3 .]{0,24}",
            raw in proptest::collection::vec((0usize..28, 0usize..28, 0usize..5, 0usize..4), 0..7),
        ) {
            let kinds = [Kind::PaymentCard, Kind::Iban, Kind::PhoneNumber, Kind::Health, Kind::PersonName];
            let scores = [0.5f32, 0.9, 0.95, 1.2];
            let cands: Vec<Candidate> = raw
                .iter()
                .map(|&(s, e, k, sc)| Candidate::new(s, e, kinds[k], scores[sc]))
                .collect();
            let mut got = vec![Candidate::new(0, 1, Kind::Email, 0.1); 3];
            got.clear();
            got.extend_from_slice(&cands);
            resolve_in_place(&text, &mut got);
            proptest::prop_assert_eq!(&got, &resolve_by_copies(&text, cands.clone()));
            proptest::prop_assert_eq!(resolve(&text, cands.clone()), got);
        }
    }

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
