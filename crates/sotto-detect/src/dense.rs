//! What the dense copies of aho-corasick DFAs (`rec::cues`, `numbers`) are built from: the
//! states reachable from a start state, each with a small index, and the byte classes (bytes no
//! state tells apart). Built once per process, so it must be cheap: no hashing per transition
//! (the states are numbered through a vector, the classes found by hashing one column per byte).

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::Anchored;
use rustc_hash::FxHashMap;

/// The states reachable from a start state, in breadth-first order, and each one's position.
#[derive(Debug)]
pub(crate) struct Reached {
    pub states: Vec<StateID>,
    /// A DFA's state IDs are multiples of its stride; `sid / unit` (`unit`: their greatest
    /// common divisor, a multiple of the stride) is a small index into `pos`.
    unit: usize,
    /// Position in `states` plus one, per `sid / unit`; 0: not reached.
    pos: Vec<u32>,
}

/// Sets bit `i` of `bits` (grown as needed); false when it was set already.
fn mark(bits: &mut Vec<u64>, i: usize) -> bool {
    let (w, bit) = (i / 64, 1u64 << (i % 64));
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    match bits.get_mut(w) {
        Some(x) if *x & bit == 0 => {
            *x |= bit;
            true
        }
        _ => false,
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Reached {
    /// The states reachable from `start` over any bytes through states for which `keep` holds
    /// (the others are left out, and not stepped through).
    pub fn new<A: Automaton>(
        dfa: &A,
        start: StateID,
        keep: impl Fn(StateID) -> bool,
    ) -> Option<Reached> {
        // seen: one bit per raw state ID (a DFA's IDs are below its table's length)
        let mut seen: Vec<u64> = Vec::new();
        mark(&mut seen, start.as_usize());
        let mut states = vec![start];
        let mut i = 0;
        while let Some(&s) = states.get(i) {
            i += 1;
            let mut prev = None;
            for b in 0..=255u8 {
                let t = dfa.next_state(Anchored::No, s, b);
                // neighbouring bytes mostly lead to the same state: test it once
                if prev != Some(t) && keep(t) && mark(&mut seen, t.as_usize()) {
                    states.push(t);
                }
                prev = Some(t);
            }
        }
        let unit = states.iter().fold(0, |g, s| gcd(g, s.as_usize())).max(1);
        let top = states
            .iter()
            .map(|s| s.as_usize() / unit)
            .max()
            .unwrap_or(0);
        let mut pos = vec![0u32; top + 1];
        for (k, s) in states.iter().enumerate() {
            *pos.get_mut(s.as_usize() / unit)? = u32::try_from(k + 1).ok()?;
        }
        Some(Reached { states, unit, pos })
    }

    /// The position of `sid` in [`Reached::states`]; `None` when it was not reached.
    #[inline]
    pub fn index(&self, sid: StateID) -> Option<usize> {
        let i = sid.as_usize();
        if i % self.unit != 0 {
            return None;
        }
        let p = *self.pos.get(i / self.unit)?;
        (p as usize).checked_sub(1)
    }
}

/// Byte classes: bytes whose columns (`column(b)`: what each state does on `b`) are equal share
/// a class; classes are numbered in the order of their first byte. Returns each byte's class
/// and the first byte of each class, or `None` when `column` does, or when there are more than
/// 256 classes (there cannot be).
pub(crate) fn byte_classes<K: std::hash::Hash + Eq>(
    mut column: impl FnMut(u8) -> Option<Vec<K>>,
) -> Option<([u8; 256], Vec<u8>)> {
    let mut class = [0u8; 256];
    let mut firsts: Vec<u8> = Vec::new();
    let mut columns: FxHashMap<Vec<K>, u8> = FxHashMap::default();
    for b in 0..=255u8 {
        let n = u8::try_from(columns.len()).ok()?;
        let c = *columns.entry(column(b)?).or_insert(n);
        if c == n {
            firsts.push(b);
        }
        class[usize::from(b)] = c;
    }
    Some((class, firsts))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use aho_corasick::dfa::DFA;
    use aho_corasick::MatchKind;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    /// The straightforward version: every transition through a hash set.
    fn reached_by_hashing(dfa: &DFA, keep: impl Fn(StateID) -> bool) -> Vec<StateID> {
        let start = dfa.start_state(Anchored::No).unwrap();
        let mut states = vec![start];
        let mut seen = HashSet::from([start]);
        let mut i = 0;
        while let Some(&s) = states.get(i) {
            i += 1;
            for b in 0..=255u8 {
                let t = dfa.next_state(Anchored::No, s, b);
                if keep(t) && seen.insert(t) {
                    states.push(t);
                }
            }
        }
        states
    }

    fn classes_by_hashing(dfa: &DFA, states: &[StateID]) -> [u8; 256] {
        let mut class = [0u8; 256];
        let mut columns: HashMap<Vec<StateID>, u8> = HashMap::new();
        for b in 0..=255u8 {
            let col: Vec<StateID> = states
                .iter()
                .map(|&s| dfa.next_state(Anchored::No, s, b))
                .collect();
            let n = columns.len() as u8;
            class[usize::from(b)] = *columns.entry(col).or_insert(n);
        }
        class
    }

    fn check(pats: &[String], kind: MatchKind, case: bool) {
        let dfa = DFA::builder()
            .match_kind(kind)
            .ascii_case_insensitive(case)
            .prefilter(false)
            .build(pats)
            .unwrap();
        let start = dfa.start_state(Anchored::No).unwrap();
        for no_match in [false, true] {
            let keep = |s: StateID| !(no_match && dfa.is_match(s));
            let r = Reached::new(&dfa, start, keep).unwrap();
            let want = reached_by_hashing(&dfa, keep);
            assert_eq!(r.states, want);
            for (k, &s) in want.iter().enumerate() {
                assert_eq!(r.index(s), Some(k));
            }
            // the IDs of states not reached (every state of the table) are not found
            for b in 0..=255u8 {
                for &s in &want {
                    let t = dfa.next_state(Anchored::No, s, b);
                    assert_eq!(r.index(t), want.iter().position(|&x| x == t));
                }
            }
            let (class, firsts) = byte_classes(|b| {
                Some(
                    r.states
                        .iter()
                        .map(|&s| dfa.next_state(Anchored::No, s, b))
                        .collect(),
                )
            })
            .unwrap();
            assert_eq!(class, classes_by_hashing(&dfa, &want));
            for (c, &b) in firsts.iter().enumerate() {
                assert_eq!(usize::from(class[usize::from(b)]), c);
                assert!(class[..usize::from(b)].iter().all(|&x| usize::from(x) < c));
            }
        }
    }

    #[test]
    fn cue_like_patterns() {
        let pats: Vec<String> = ["kort", "kortnummer", "cvc", "tel", "telefon", "ø", "nr"]
            .map(str::to_owned)
            .to_vec();
        check(&pats, MatchKind::LeftmostLongest, false);
        check(&pats, MatchKind::Standard, true);
    }

    proptest! {
        /// Reached states, their indices and the byte classes agree with hashing every
        /// transition, for any patterns.
        #[test]
        fn agrees_with_hashing(
            pats in proptest::collection::vec("[a-eø0-2 ]{1,6}", 1..12),
            leftmost in any::<bool>(),
            case in any::<bool>(),
        ) {
            let kind = if leftmost { MatchKind::LeftmostLongest } else { MatchKind::Standard };
            check(&pats, kind, case);
        }
    }
}
