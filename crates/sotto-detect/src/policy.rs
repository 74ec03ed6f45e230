//! Policies: what to do with each kind of finding. Pure functions of text, spans and a key —
//! detection never depends on them.

use crate::span::Span;
use hmac::{Hmac, Mac};
use once_cell::sync::Lazy;
use sha2::Sha256;
use sotto_core::{Category, Kind};

/// What happens to a span of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the text as it is.
    Keep,
    /// Replace every non-space character with `*` (length kept, shape visible).
    Mask,
    /// Replace with the kind's placeholder, e.g. `[PAYMENT_CARD]`.
    Redact,
    /// Replace with a stable keyed token, e.g. `[PERSON_NAME_3f9a1c2b]`: HMAC-SHA256(key, kind ‖
    /// normalised value), truncated. Same value + same key → same token. Without a key: Redact.
    Pseudonymise,
    /// Drop the whole segment (the caller discards the line / audio segment).
    DropSegment,
}

/// One action per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    actions: [Action; 18],
}

fn kind_index(k: Kind) -> usize {
    Kind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

impl Default for Policy {
    /// pci and special: Redact; personal: Keep (stored encrypted under the subject's key).
    fn default() -> Self {
        let mut p = Self::uniform(Action::Keep);
        for k in Kind::ALL {
            if k.category() != Category::Personal {
                p.set(*k, Action::Redact);
            }
        }
        p
    }
}

impl Policy {
    /// The same action for every kind.
    pub fn uniform(a: Action) -> Self {
        Self { actions: [a; 18] }
    }
    /// The `sotto redact` default: every finding replaced by its placeholder.
    pub fn redact_all() -> Self {
        Self::uniform(Action::Redact)
    }
    pub fn set(&mut self, kind: Kind, a: Action) -> &mut Self {
        if let Some(s) = self.actions.get_mut(kind_index(kind)) {
            *s = a;
        }
        self
    }
    pub fn with(mut self, kind: Kind, a: Action) -> Self {
        self.set(kind, a);
        self
    }
    pub fn set_category(&mut self, cat: Category, a: Action) -> &mut Self {
        for k in Kind::ALL {
            if k.category() == cat {
                self.set(*k, a);
            }
        }
        self
    }
    pub fn action(&self, kind: Kind) -> Action {
        self.actions
            .get(kind_index(kind))
            .copied()
            .unwrap_or(Action::Redact)
    }
}

/// The result of applying a policy to one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    /// True when a span's action is DropSegment: the caller must discard the whole segment
    /// (`text` is then empty).
    pub dropped: bool,
}

/// Applies `policy` to `text` given `spans` in code-point offsets (as [`crate::Detector::detect`]
/// returns them; unsorted or overlapping input is tolerated: overlapping spans are merged and the
/// strictest action wins). Out-of-range offsets are clamped.
pub fn apply(text: &str, spans: &[Span], policy: &Policy, pseudonym_key: Option<&[u8]>) -> Applied {
    if spans.is_empty() {
        return Applied {
            text: text.to_string(),
            dropped: false,
        };
    }
    // code point -> byte offsets
    let mut bounds: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    bounds.push(text.len());
    let nchars = bounds.len() - 1;
    let byte_at = |c: usize| bounds.get(c.min(nchars)).copied().unwrap_or(text.len());
    let mut in_bytes: Vec<(usize, usize, Kind)> = spans
        .iter()
        .filter(|s| s.start < s.end)
        .map(|s| (byte_at(s.start), byte_at(s.end), s.kind))
        .collect();
    let mut out = String::with_capacity(text.len() + 16);
    let dropped = apply_bytes_into(text, &mut in_bytes, policy, pseudonym_key, &mut out);
    Applied { text: out, dropped }
}

/// [`apply`] over spans in **byte** offsets (`(start, end, kind)`, any order, may overlap; the
/// slice is sorted in place) into a reused buffer, without the code-point conversion: the path of
/// `sotto redact`, where the detector's byte offsets are at hand. Returns true when a span's
/// action is DropSegment (`out` is then left empty).
pub fn apply_bytes_into(
    text: &str,
    spans: &mut [(usize, usize, Kind)],
    policy: &Policy,
    pseudonym_key: Option<&[u8]>,
    out: &mut String,
) -> bool {
    out.clear();
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    // Resolved detector output never overlaps; merging happens in place over the sorted spans:
    // (start, end, kind, action) of the span being built.
    let mut open: Option<(usize, usize, Kind, Action)> = None;
    let mut pos = 0usize;
    for &(s, e, kind) in spans.iter() {
        if s >= e {
            continue;
        }
        let a = policy.action(kind);
        if a == Action::DropSegment {
            out.clear();
            return true;
        }
        if let Some(last) = open.as_mut() {
            if s < last.1 {
                if e > last.1 {
                    last.1 = e;
                }
                let pci_first = |k: Kind| u8::from(k.category() == Category::Pci);
                if (strictness(a), pci_first(kind)) > (strictness(last.3), pci_first(last.2)) {
                    last.3 = a;
                    last.2 = kind;
                }
                continue;
            }
        }
        if let Some(done) = open.replace((s, e, kind, a)) {
            pos = emit(text, done, pos, pseudonym_key, out);
        }
    }
    if let Some(done) = open {
        pos = emit(text, done, pos, pseudonym_key, out);
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    false
}

/// Where [`emit`] writes: the policy's `String` output, or the JSONL writer's bytes
/// ([`apply_sorted_onto`]), so both share one rule for what a span becomes.
trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// Writes the text before a merged span and the span's replacement; returns the new position.
#[inline]
fn emit(
    text: &str,
    (bs, be, kind, a): (usize, usize, Kind, Action),
    pos: usize,
    pseudonym_key: Option<&[u8]>,
    out: &mut impl Sink,
) -> usize {
    let be = be.min(text.len());
    if bs < pos || be <= bs {
        return pos;
    }
    out.put(text.get(pos..bs).unwrap_or(""));
    let val = text.get(bs..be).unwrap_or("");
    match a {
        Action::Keep => out.put(val),
        Action::Mask => {
            for c in val.chars() {
                let c = if c.is_whitespace() { c } else { '*' };
                out.put(c.encode_utf8(&mut [0; 4]));
            }
        }
        Action::Redact | Action::DropSegment => push_placeholder(kind, out),
        Action::Pseudonymise => match pseudonym_key {
            Some(key) => out.put(&pseudonym(kind, val, key)),
            None => push_placeholder(kind, out),
        },
    }
    be
}

/// Every kind's placeholder, at `kind as usize` (the order of `Kind::ALL`), made once.
static PLACEHOLDERS: Lazy<Vec<String>> =
    Lazy::new(|| Kind::ALL.iter().map(|k| k.placeholder()).collect());

/// `[KIND]` without the two allocations of `Kind::placeholder`: copied whole from the table
/// (one character at a time cost as much as the rest of the policy).
fn push_placeholder(kind: Kind, out: &mut impl Sink) {
    match PLACEHOLDERS.get(kind as usize) {
        Some(p) => out.put(p),
        None => out.put(&kind.placeholder()),
    }
}

/// [`apply_bytes_into`] without a pseudonym key for candidates that are sorted and do not
/// overlap (as resolved detector output is), written onto the end of `out` as bytes (what is
/// there stays): no span list, no sort, no merge, no intermediate text. Returns false when a
/// span's action is DropSegment (what was written for the text is then to be dropped by the
/// caller), and `None`, having written nothing, when the candidates are not in that order.
pub(crate) fn apply_sorted_onto(
    text: &str,
    cands: &[crate::Candidate],
    policy: &Policy,
    out: &mut Vec<u8>,
) -> Option<bool> {
    let in_order = cands
        .windows(2)
        .all(|w| w[0].start < w[0].end && w[0].end <= w[1].start)
        && cands.last().is_none_or(|c| c.start < c.end);
    if !in_order {
        return None;
    }
    let mut pos = 0usize;
    for c in cands {
        let a = policy.action(c.kind);
        if a == Action::DropSegment {
            return Some(false);
        }
        // (no key here: a pseudonym is the placeholder)
        pos = emit(text, (c.start, c.end, c.kind, a), pos, None, out);
    }
    out.extend_from_slice(text.as_bytes().get(pos..).unwrap_or_default());
    Some(true)
}

fn strictness(a: Action) -> u8 {
    match a {
        Action::Keep => 0,
        Action::Pseudonymise => 1,
        Action::Mask => 2,
        Action::Redact => 3,
        Action::DropSegment => 4,
    }
}

/// Normalises a value for pseudonymisation: lowercase, only letters and digits (so "4571 2345"
/// and "45712345" or "Søren  Poulsen" and "søren poulsen" get the same token).
pub fn normalise_value(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// `[KIND_xxxxxxxx]`: HMAC-SHA256(key, kind ‖ 0x00 ‖ normalised value), first 4 bytes in hex.
pub fn pseudonym(kind: Kind, value: &str, key: &[u8]) -> String {
    let tag = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(kind.as_str().as_bytes());
            m.update(&[0]);
            m.update(normalise_value(value).as_bytes());
            hex::encode(m.finalize().into_bytes().get(..4).unwrap_or(&[]))
        }
        Err(_) => String::from("0000"),
    };
    format!("[{}_{}]", kind.as_str().to_ascii_uppercase(), tag)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Onto sorted, non-overlapping candidates, the direct writer gives what
        /// `apply_bytes_into` gives (or says it was dropped), after what `out` held, under
        /// uniform and mixed policies, in ASCII and non-ASCII text, with spans past the end.
        #[test]
        fn sorted_onto_is_apply_bytes_into(
            text in "[a-zæ€😀 \u{a0}1-3]{0,24}",
            cuts in proptest::collection::vec(0usize..110, 0..8),
            kinds in proptest::collection::vec(0usize..6, 4),
            acts in proptest::collection::vec(0usize..5, 6),
        ) {
            let all = [Action::Keep, Action::Mask, Action::Redact, Action::Pseudonymise, Action::DropSegment];
            let ks = [Kind::PaymentCard, Kind::PersonName, Kind::Health, Kind::Email, Kind::Iban, Kind::Address];
            let mut policy = Policy::uniform(all[acts[5]]);
            for (k, a) in ks.iter().zip(&acts) {
                policy.set(*k, all[*a]);
            }
            let mut bounds: Vec<usize> = cuts
                .iter()
                .map(|&b| {
                    // some past the end of the text (clamped by both)
                    if b >= 100 {
                        return text.len() + (b - 100);
                    }
                    let mut b = b.min(text.len());
                    while !text.is_char_boundary(b) {
                        b -= 1;
                    }
                    b
                })
                .collect();
            bounds.sort_unstable();
            bounds.dedup();
            let cands: Vec<crate::Candidate> = bounds
                .chunks_exact(2)
                .zip(&kinds)
                .map(|(p, &k)| crate::Candidate::new(p[0], p[1], ks[k], 0.9))
                .collect();
            let mut want = String::new();
            let mut spans: Vec<(usize, usize, Kind)> = cands.iter().map(|c| (c.start, c.end, c.kind)).collect();
            let dropped = apply_bytes_into(&text, &mut spans, &policy, None, &mut want);
            let mut got = b"held".to_vec();
            let kept = apply_sorted_onto(&text, &cands, &policy, &mut got);
            proptest::prop_assert_eq!(kept, Some(!dropped));
            if !dropped {
                proptest::prop_assert_eq!(String::from_utf8(got).unwrap(), format!("held{want}"));
            }
            // out of order: declined, nothing written
            if cands.len() >= 2 {
                let mut rev = cands.clone();
                rev.reverse();
                let mut none = b"held".to_vec();
                proptest::prop_assert_eq!(apply_sorted_onto(&text, &rev, &policy, &mut none), None);
                proptest::prop_assert_eq!(none, b"held".to_vec());
            }
        }
    }

    fn sp(s: usize, e: usize, k: Kind) -> Span {
        Span {
            start: s,
            end: e,
            kind: k,
            category: k.category(),
            score: 1.0,
        }
    }

    #[test]
    fn placeholders_are_the_kinds() {
        for (i, &k) in Kind::ALL.iter().enumerate() {
            assert_eq!(k as usize, i, "{k}");
            let mut out = String::from("é");
            push_placeholder(k, &mut out);
            assert_eq!(out, format!("é{}", k.placeholder()));
        }
    }

    #[test]
    fn redact_mask_keep_and_drop() {
        let t = "navn Søren kort 4571";
        let spans = [sp(5, 10, Kind::PersonName), sp(16, 20, Kind::PaymentCard)];
        let a = apply(t, &spans, &Policy::redact_all(), None);
        assert_eq!(a.text, "navn [PERSON_NAME] kort [PAYMENT_CARD]");
        let a = apply(t, &spans, &Policy::default(), None);
        assert_eq!(a.text, "navn Søren kort [PAYMENT_CARD]");
        let a = apply(t, &spans, &Policy::uniform(Action::Mask), None);
        assert_eq!(a.text, "navn ***** kort ****");
        let a = apply(
            t,
            &spans,
            &Policy::default().with(Kind::PersonName, Action::DropSegment),
            None,
        );
        assert!(a.dropped && a.text.is_empty());
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let p = Policy::uniform(Action::Pseudonymise);
        let a = apply(
            "Søren Poulsen",
            &[sp(0, 13, Kind::PersonName)],
            &p,
            Some(b"k1"),
        );
        let b = apply(
            "søren  poulsen",
            &[sp(0, 14, Kind::PersonName)],
            &p,
            Some(b"k1"),
        );
        let c = apply(
            "Søren Poulsen",
            &[sp(0, 13, Kind::PersonName)],
            &p,
            Some(b"k2"),
        );
        assert_eq!(a.text, b.text);
        assert_ne!(a.text, c.text);
        assert!(a.text.starts_with("[PERSON_NAME_") && a.text.len() == "[PERSON_NAME_]".len() + 8);
    }

    #[test]
    fn overlapping_and_out_of_range_spans_are_tolerated() {
        let t = "abc def";
        let a = apply(
            t,
            &[sp(0, 5, Kind::Email), sp(2, 99, Kind::PaymentCard)],
            &Policy::redact_all(),
            None,
        );
        assert_eq!(a.text, "[PAYMENT_CARD]");
    }
}
