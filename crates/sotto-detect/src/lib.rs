//! Sotto's detector: finds payment-card, personal and special-category data in what speech
//! recognition writes, in Danish, Swedish, Norwegian, Finnish, Estonian, German and English.
//!
//! Owns: normalisation of spoken forms (numbers, e-mail, spelled letters, filler words) with a map
//! back to original offsets; recognisers (checksummed identifiers, cards, phones, names,
//! addresses, special-category lexicons); policies as pure functions of text and spans; the
//! streaming detector over timed words.
//!
//! Must never: do I/O (word lists are compiled in), know about storage or keys, or log text.
//!
//! Entry point: [`Detector`] — built once, `Send + Sync`, shared by reference or `Arc`.

pub mod checksum;
pub mod cli;
mod dense;
pub mod langid;
pub mod lexical;
pub mod normalize;
pub mod numbers;
pub mod policy;
pub mod rec;
pub mod resolve;
pub mod span;
pub mod stream;
mod wordtable;

pub use cli::{run_jsonl, run_text, RunStats};
pub use policy::{apply, Action, Applied, Policy};
pub use span::{Candidate, Span};
pub use stream::{StreamSpan, StreamingDetector};

use sotto_core::Lang;

/// The detector: every recogniser, built once. Cheap to share (`&Detector` or `Arc<Detector>`);
/// holds no per-call state, so one instance serves all threads.
pub struct Detector {
    lexical: lexical::Lexical,
    rec: rec::Recognisers,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Detector")
    }
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    pub fn new() -> Self {
        Self {
            lexical: lexical::Lexical::new(),
            rec: rec::Recognisers::new(),
        }
    }

    /// Finds everything in `text`. `lang`: the transcript language when known; `None` detects it
    /// (`langid::detect`) and, failing that, runs every language's word lists.
    /// Spans are in Unicode code points, sorted, non-overlapping.
    pub fn detect(&self, text: &str, lang: Option<Lang>) -> Vec<Span> {
        let cands = self.detect_bytes(text, lang);
        to_char_offsets(text, &cands)
    }

    /// Like [`Detector::detect`] but in byte offsets (resolved, sorted, non-overlapping).
    // (a function of its own, not inlined into `detect`: the detector's cost is measured as the
    // instructions inside it, `callgrind --toggle-collect=…detect_bytes`)
    #[inline(never)]
    pub fn detect_bytes(&self, text: &str, lang: Option<Lang>) -> Vec<Candidate> {
        let mut out = Vec::new();
        self.detect_bytes_into(text, lang, &mut out);
        out
    }

    /// [`Detector::detect_bytes`] into `out` (cleared first): a caller going line by line keeps
    /// one vector, so a line with findings costs no allocation.
    pub fn detect_bytes_into(&self, text: &str, lang: Option<Lang>, out: &mut Vec<Candidate>) {
        out.clear();
        if text.is_empty() {
            return;
        }
        // One fold, one tokenisation and one word lookup serve language identification and
        // every language's word-list recognisers.
        self.lexical.with_prepared(text, |p| {
            let lang = lang.or_else(|| {
                langid::detect_prepared(text, &p.folded, &p.toks, Some(|i| p.langid_mask(i)))
            });
            let one: [Lang; 1];
            let langs: &[Lang] = match lang {
                Some(l) => {
                    one = [l];
                    &one
                }
                None => &Lang::ALL,
            };
            let shared = rec::Shared::new(p);
            self.rec
                .find_hinted(text, langs, || p.maybe_number(text), Some(shared), out);
            for &l in langs {
                self.lexical.find_prepared(text, p, l, out);
            }
        });
        retain_valid(text, out);
        resolve::resolve_in_place(text, out);
    }

    /// Raw findings of every recogniser for one language, byte offsets, unresolved (may overlap).
    pub fn detect_candidates(&self, text: &str, lang: Lang) -> Vec<Candidate> {
        let mut out = Vec::new();
        self.collect(text, &[lang], &mut out);
        out
    }

    fn collect(&self, text: &str, langs: &[Lang], out: &mut Vec<Candidate>) {
        if text.is_empty() {
            return;
        }
        self.rec.find(text, langs, out);
        self.lexical.find_langs(text, langs, out);
        retain_valid(text, out);
    }
}

/// Never trust a recogniser with offsets: drops anything out of bounds or off a boundary.
fn retain_valid(text: &str, out: &mut Vec<Candidate>) {
    out.retain(|c| {
        c.start < c.end
            && c.end <= text.len()
            && text.is_char_boundary(c.start)
            && text.is_char_boundary(c.end)
    });
}

/// Converts byte-offset candidates to code-point spans (input need not be sorted).
pub fn to_char_offsets(text: &str, cands: &[Candidate]) -> Vec<Span> {
    if cands.is_empty() {
        return Vec::new();
    }
    let mut spans = Vec::with_capacity(cands.len());
    if char_spans_in_order(text, cands, |c, start, end| {
        spans.push(span_at(c, start, end));
    }) {
        return spans;
    }
    to_char_offsets_sorting(text, cands)
}

/// The code-point offsets of candidates that are sorted and do not overlap (as resolved
/// candidates are), handed to `each` in order; false, and nothing handed over, when they are
/// not.
pub(crate) fn char_spans_in_order(
    text: &str,
    cands: &[Candidate],
    mut each: impl FnMut(&Candidate, usize, usize),
) -> bool {
    if cands.is_empty() {
        return true;
    }
    // Resolved candidates are sorted and do not overlap: their offsets only grow, so one walk
    // counts the characters (and none at all in ASCII text, where bytes are characters).
    let in_order = cands
        .windows(2)
        .all(|w| w[0].start <= w[0].end && w[0].end <= w[1].start)
        && cands.last().is_some_and(|c| c.start <= c.end);
    if !in_order {
        return false;
    }
    if text.is_ascii() {
        for c in cands {
            each(c, c.start.min(text.len()), c.end.min(text.len()));
        }
        return true;
    }
    let mut chars = 0usize;
    let mut last_byte = 0usize;
    let mut to_char = |b: usize| {
        let b = b.min(text.len());
        chars += text.get(last_byte..b).map_or(0, count_chars);
        last_byte = last_byte.max(b);
        chars
    };
    for c in cands {
        let start = to_char(c.start);
        let end = to_char(c.end);
        each(c, start, end);
    }
    true
}

/// The code points of `s` (`s.chars().count()`): its bytes that do not continue a character
/// (`10xxxxxx`), counted eight at a time. (The standard count goes byte by byte on the short
/// stretches between spans.)
fn count_chars(s: &str) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let b = s.as_bytes();
    let mut chunks = b.chunks_exact(8);
    let mut cont = 0usize;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        // bit 7 set and bit 6 (moved up to 7) clear; the flags summed by one multiply
        let m = x & !(x << 1) & HIGH;
        cont += ((m >> 7).wrapping_mul(0x0101_0101_0101_0101) >> 56) as usize;
    }
    cont += chunks
        .remainder()
        .iter()
        .filter(|&&c| (c as i8) < -0x40)
        .count();
    b.len() - cont
}

/// The public span of a candidate at code-point offsets.
fn span_at(c: &Candidate, start: usize, end: usize) -> Span {
    Span {
        start,
        end,
        kind: c.kind,
        category: c.kind.category(),
        score: c.score.clamp(0.0, 1.0),
    }
}

/// [`to_char_offsets`] for candidates in any order: every offset sorted once.
fn to_char_offsets_sorting(text: &str, cands: &[Candidate]) -> Vec<Span> {
    let mut idx: Vec<(usize, usize)> = Vec::with_capacity(cands.len() * 2);
    for (i, c) in cands.iter().enumerate() {
        idx.push((c.start, i * 2));
        idx.push((c.end, i * 2 + 1));
    }
    idx.sort_unstable();
    let mut conv = vec![0usize; cands.len() * 2];
    let mut chars = 0usize;
    let mut last_byte = 0usize;
    for (b, slot) in idx {
        let b = b.min(text.len());
        if b > last_byte {
            chars += text.get(last_byte..b).map_or(0, count_chars);
            last_byte = b;
        }
        if let Some(v) = conv.get_mut(slot) {
            *v = chars;
        }
    }
    cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            span_at(
                c,
                conv.get(i * 2).copied().unwrap_or(0),
                conv.get(i * 2 + 1).copied().unwrap_or(0),
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn detector_is_send_sync() {
        fn f<T: Send + Sync>() {}
        f::<Detector>();
    }

    #[test]
    fn char_offsets() {
        let t = "æø 1234";
        let c = Candidate::new(5, 9, sotto_core::Kind::CardCvc, 0.9);
        let s = to_char_offsets(t, &[c]);
        assert_eq!((s[0].start, s[0].end), (3, 7));
    }

    proptest::proptest! {
        #[test]
        fn count_chars_counts_chars(s in "[a-zæøåÄ€😀 0-9\u{80}-\u{7ff}]{0,40}", cut in 0usize..4) {
            let s = s.get(cut..).unwrap_or(&s);
            proptest::prop_assert_eq!(count_chars(s), s.chars().count());
        }

        /// The one-walk conversion of sorted candidates agrees with sorting every offset.
        #[test]
        fn sorted_walk_agrees_with_sorting(
            text in "[a-zæøåÄ€😀 0-9]{0,40}",
            cuts in proptest::collection::vec(0usize..200, 0..8),
        ) {
            // sorted char boundaries paired into non-overlapping candidates (some empty)
            let mut bounds: Vec<usize> = cuts
                .iter()
                .map(|&k| {
                    let mut b = k.min(text.len());
                    while !text.is_char_boundary(b) {
                        b -= 1;
                    }
                    b
                })
                .collect();
            bounds.sort_unstable();
            let cands: Vec<Candidate> = bounds
                .chunks_exact(2)
                .map(|p| Candidate::new(p[0], p[1], sotto_core::Kind::Email, 0.5))
                .collect();
            proptest::prop_assert_eq!(
                to_char_offsets(&text, &cands),
                to_char_offsets_sorting(&text, &cands)
            );
        }
    }
}
