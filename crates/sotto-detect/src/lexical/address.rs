//! Street addresses: a street name (compound with a street ending, a name plus a street-type word,
//! or English number-first form) with a house number, plus floor/apartment, postcode and city
//! when they follow. One span.

use sotto_core::Kind;

use super::data::{sections, PhraseSet, WordSet};
use super::text::fold;
use super::{flag, Doc, LangCues, Lexical};
use crate::span::Candidate;

/// English street types that make a street even in lower case.
const STRONG_TYPES: &[&str] = &[
    "street", "road", "lane", "avenue", "drive", "crescent", "terrace", "gardens", "grove", "mews",
];

/// Words that may stand before a compound street name ("Gamle Kongevej", "Norra Vägen").
const STREET_MODIFIERS: &[&str] = &[
    "nedre", "øvre", "gamle", "store", "lille", "nye", "ny", "sankt", "skt", "gamla", "stora",
    "lilla", "norra", "södra", "östra", "västra", "nordre", "søndre", "vestre", "østre", "alte",
    "neue", "große", "grosse", "kleine", "obere", "untere", "vanha", "uusi", "pikk", "lai",
];

/// Danish floor and side marks after a house number ("2. th.", "st. tv.").
const FLOOR_MARKS: &[&str] = &["th", "tv", "mf", "sal", "st"];

/// Street endings grouped by byte length, so a word is tested with one set lookup per length
/// instead of one `ends_with` per ending.
#[derive(Debug)]
struct Suffixes {
    by_len: Vec<(usize, rustc_hash::FxHashSet<Vec<u8>>)>,
    /// Per byte value, the lengths (bit `k` for `by_len[k]`) that have an ending whose last
    /// (`last`) or second-to-last (`prev`) byte it is: most words are rejected by these two
    /// loads, without hashing. A one-byte ending sets its bit in every `prev` entry.
    last: [u64; 256],
    prev: [u64; 256],
}

impl Default for Suffixes {
    fn default() -> Self {
        Suffixes {
            by_len: Vec::new(),
            last: [0; 256],
            prev: [0; 256],
        }
    }
}

impl Suffixes {
    fn push(&mut self, s: String) {
        let n = s.len();
        match self.by_len.iter_mut().find(|(l, _)| *l == n) {
            Some((_, set)) => {
                set.insert(s.into_bytes());
            }
            None => {
                let mut set = rustc_hash::FxHashSet::default();
                set.insert(s.into_bytes());
                self.by_len.push((n, set));
                self.by_len.sort_by_key(|(l, _)| *l);
            }
        }
    }

    /// Fills `last` and `prev` once all endings are in.
    fn build_masks(&mut self) {
        self.last = [0; 256];
        self.prev = [0; 256];
        for (k, (_, set)) in self.by_len.iter().enumerate() {
            // lengths past the 64th have no bit: `ends` always looks them up
            let Some(bit) = 1u64.checked_shl(u32::try_from(k).unwrap_or(u32::MAX)) else {
                continue;
            };
            for e in set {
                let y = e.len().checked_sub(2).and_then(|i| e.get(i));
                match (e.last(), y) {
                    (Some(&x), Some(&y)) => {
                        self.last[usize::from(x)] |= bit;
                        self.prev[usize::from(y)] |= bit;
                    }
                    (Some(&x), None) => {
                        self.last[usize::from(x)] |= bit;
                        self.prev.iter_mut().for_each(|p| *p |= bit);
                    }
                    (None, _) => {
                        self.last.iter_mut().for_each(|p| *p |= bit);
                        self.prev.iter_mut().for_each(|p| *p |= bit);
                    }
                }
            }
        }
    }

    /// Does `w` end with one of the endings and keep at least three bytes before it?
    fn ends(&self, w: &str) -> bool {
        let b = w.as_bytes();
        let n = b.len();
        let at = |k: usize| n.checked_sub(k).and_then(|i| b.get(i));
        let mask = match (at(1), at(2)) {
            (Some(&x), Some(&y)) => self.last[usize::from(x)] & self.prev[usize::from(y)],
            _ => u64::MAX,
        };
        if mask == 0 && self.by_len.len() <= 64 {
            return false;
        }
        self.by_len.iter().enumerate().any(|(k, (l, set))| {
            (k >= 64 || mask & (1 << k) != 0)
                && n >= l + 3
                && b.get(n - l..).is_some_and(|tail| set.contains(tail))
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Streets {
    suffix_strong: Suffixes,
    suffix_weak: Suffixes,
    words: WordSet,
    types: WordSet,
    prefix: PhraseSet,
    cue: PhraseSet,
}

impl Streets {
    pub fn parse(src: &str) -> Self {
        let s = sections(src);
        let mut st = Streets::default();
        for e in s.get("suffix").into_iter().flatten() {
            match e.strip_suffix('?') {
                Some(w) => st.suffix_weak.push(fold(w)),
                None => st.suffix_strong.push(fold(e)),
            }
        }
        st.suffix_strong.build_masks();
        st.suffix_weak.build_masks();
        st.words = s
            .get("word")
            .into_iter()
            .flatten()
            .map(|w| fold(w))
            .collect();
        st.types = s
            .get("type")
            .into_iter()
            .flatten()
            .map(|w| fold(w))
            .collect();
        st.prefix = PhraseSet::new(s.get("prefix").cloned().unwrap_or_default());
        st.cue = PhraseSet::new(s.get("cue").cloned().unwrap_or_default());
        st
    }

    /// A compound with a strong street ending ("søndergade", "linnégatan", "hauptstraße").
    pub fn is_street_compound(&self, w: &str) -> bool {
        self.suffix_strong.ends(w)
    }

    pub fn is_weak_compound(&self, w: &str) -> bool {
        self.suffix_weak.ends(w)
    }

    pub fn street_words(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .map(String::as_str)
            .chain(STRONG_TYPES.iter().copied().filter(|w| *w != "lane"))
    }

    pub fn cue_first_words(&self) -> impl Iterator<Item = &str> {
        self.cue.first_words()
    }

    pub fn type_words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }
}

/// 0, 1, 2, …: the word sequence of a line of up to 128 words (every token), for the cue
/// phrases' matcher, without building one per line.
static IDENTITY: [usize; 128] = {
    let mut a = [0usize; 128];
    let mut i = 0;
    while i < a.len() {
        a[i] = i;
        i += 1;
    }
    a
};

fn gap<'a>(doc: &Doc<'a>, k: usize) -> &'a str {
    match (
        k.checked_sub(1).and_then(|p| doc.toks.get(p)),
        doc.toks.get(k),
    ) {
        (Some(a), Some(b)) => doc.text.get(a.e..b.s).unwrap_or(""),
        _ => "",
    }
}

fn house_number(w: &str) -> bool {
    // the byte tests first: most words start with a letter and stop here
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=4).contains(&digits) {
        return false;
    }
    let rest = w.len() - digits;
    rest <= 1 && w.chars().count() <= 5
}

fn alpha(doc: &Doc<'_>, i: usize) -> bool {
    doc.toks.get(i).is_some_and(|t| !t.has_digit())
}

pub(crate) fn find(lex: &Lexical, cues: &LangCues, doc: &Doc<'_>, out: &mut Vec<Candidate>) {
    let n = doc.toks.len();
    // Every rule below starts at a house number: a token that starts with a digit or a spoken
    // number word. A line without either has no address (most lines).
    // (both known from the tokenizer and the flags' OR, without a pass over the words)
    if !doc.digits && doc.any & flag::NUM_WORD == 0 {
        return;
    }
    let st = &lex.streets;
    let words = &doc.words;
    let word = |i: usize| words.get(i).unwrap_or("");
    let is_stop =
        |i: usize| doc.has(i, flag::STOP) || doc.has(i, flag::ALL_STOP) && !doc.has(i, flag::SUR);
    let brk = |i: usize| doc.toks.get(i).is_none_or(|t| t.brk());
    // every token, in order (built once, when a cue is first tried and the line is long)
    let all_toks: std::cell::OnceCell<Vec<usize>> = std::cell::OnceCell::new();
    let all_toks = || match IDENTITY.get(..n) {
        Some(seq) => seq,
        None => all_toks.get_or_init(|| (0..n).collect()),
    };
    // Where the address cue ("adressen er", "i live at") that starts at token `p` ends, if any.
    let cue_end = |p: usize| {
        if !doc.has(p, flag::ADDR_CUE) {
            return None;
        }
        st.cue.match_at(words, all_toks(), p, &brk).map(|l| p + l)
    };

    let mut last_end_tok: Option<usize> = None;
    let mut pair = String::new();
    // (`NUM_WORD` is the same bit in every language's flags and in the looked-up ones)
    const _: () = assert!(flag::NUM_WORD & super::LANG_BASE == flag::NUM_WORD);
    for (i, &fl) in doc.raw.iter().enumerate() {
        // a house number starts with a digit or is a number word: in a line without digits
        // the flags alone settle every word
        let spoken = fl & flag::NUM_WORD != 0;
        if !spoken && !doc.digits {
            continue;
        }
        let Some(t) = doc.toks.get(i) else { break };
        if !(t.has_digit() || spoken) || last_end_tok.is_some_and(|e| i <= e) {
            continue;
        }
        // (a number word needs no look at its letters)
        if !spoken && !house_number(word(i)) {
            continue;
        }
        // --- street name before the number ---
        let mut start: Option<usize> = None;
        let mut weak = false;
        // "Hauptstr. 5", "Kase tn. 5": an abbreviation's full stop is no break.
        // (asked only after a break: it looks at the gap)
        let abbrev_dot = || {
            i >= 1
                && gap(doc, i).trim() == "."
                && ["str", "tn", "mnt", "pst", "st", "rd", "ave", "gt"]
                    .iter()
                    .any(|a| word(i - 1).ends_with(a))
        };
        if i >= 1 && (!t.brk() || abbrev_dot()) && !t.comma() {
            let j = i - 1;
            if alpha(doc, j) {
                // a known word carries the answer of the two suffix tests in its flags (and its
                // letters are not looked at)
                let plain = doc.plain_non_street(j);
                let strong_compound = !plain && st.is_street_compound(word(j));
                if strong_compound || !plain && st.is_weak_compound(word(j)) {
                    weak = !strong_compound;
                    let mut s = j;
                    if j >= 1 {
                        let tj = doc.toks.get(j);
                        if tj.is_some_and(|x| x.tight()) && STREET_MODIFIERS.contains(&word(j - 1))
                        {
                            s = j - 1;
                        }
                    }
                    start = Some(s);
                } else if doc.has(j, flag::TYPE_WORD) && j >= 1 {
                    let k = j - 1;
                    let tight_j = doc.toks.get(j).is_some_and(|x| x.tight());
                    if tight_j && alpha(doc, k) && !is_stop(k) {
                        let mut s = k;
                        // "Thorvald Meyers gate", "Karl Johans gate": genitive before the type.
                        if k >= 1
                            && word(k).ends_with('s')
                            && doc.toks.get(k).is_some_and(|x| x.tight())
                            && alpha(doc, k - 1)
                            && !is_stop(k - 1)
                        {
                            s = k - 1;
                        }
                        start = Some(s);
                    }
                } else if j >= 1
                    && doc
                        .toks
                        .get(j)
                        .is_some_and(|x| x.tight() && (x.cap() || !doc.mixed))
                    && !is_stop(j)
                {
                    // German "Am Markt 39", "An der Alster 5".
                    let one = word(j - 1);
                    if ["am", "im", "zum", "zur"].contains(&one) {
                        start = Some(j - 1);
                        weak = true;
                    } else if j >= 2 && {
                        // (the two words in a buffer kept for the line, not a new string each)
                        pair.clear();
                        pair.push_str(word(j - 2));
                        pair.push(' ');
                        pair.push_str(one);
                        st.prefix.has(&pair)
                    } {
                        start = Some(j - 2);
                        weak = true;
                    }
                }
                // A cue ending at `i - 3 ..= i - 1` starts in `i - 9 .. i - 1`: without a cue
                // word there, the search below finds nothing.
                let cue_near = doc.any & flag::ADDR_CUE != 0
                    && doc
                        .raw
                        .get(i.saturating_sub(9)..i - 1)
                        .is_some_and(|f| f.iter().any(|x| x & flag::ADDR_CUE != 0));
                if start.is_none() && cue_near {
                    // After an address cue: any name words before the number. Does a cue end
                    // right before token `s`? It starts in `s - 6 .. s`, inside `i - 9 .. i - 1`:
                    // each start there is matched once (when first asked), not once per `back`.
                    let lo = i.saturating_sub(9);
                    let mut ends: Option<[Option<usize>; 8]> = None;
                    let mut cue_ends_at = |s: usize| {
                        let ends = ends.get_or_insert_with(|| {
                            let mut e = [None; 8];
                            for (p, slot) in (lo..i - 1).zip(e.iter_mut()) {
                                *slot = cue_end(p);
                            }
                            e
                        });
                        (s.saturating_sub(6)..s)
                            .any(|p| p >= lo && ends.get(p - lo).copied().flatten() == Some(s))
                    };
                    for back in 1..=3usize {
                        let Some(s) = i.checked_sub(back) else { break };
                        if !(s..i).all(|k| alpha(doc, k) && !is_stop(k))
                            || !(s + 1..i).all(|k| doc.toks.get(k).is_some_and(|x| x.tight()))
                        {
                            break;
                        }
                        if cue_ends_at(s) {
                            start = Some(s);
                            weak = false;
                            break;
                        }
                    }
                }
            }
        }
        if let Some(s) = start {
            if spoken {
                weak = true;
            }
            let (end, confirmed) = tail(lex, cues, doc, i, true);
            let cap_ok = doc.mixed && doc.toks.get(s).is_some_and(|x| x.cap());
            if !weak || confirmed || cap_ok && !spoken {
                push(doc, s, end, out);
                last_end_tok = Some(end);
            }
            continue;
        }
        // --- English: number, name words, street type ---
        if spoken {
            continue;
        }
        for k in i + 2..=(i + 4).min(n.saturating_sub(1)) {
            let tk = doc.toks.get(k);
            if !tk.is_some_and(|x| x.tight()) || !alpha(doc, k) {
                break;
            }
            let wk = word(k);
            if st.types.contains(wk) {
                let names_ok = (i + 1..k).all(|m| alpha(doc, m) && !is_stop(m))
                    && doc.toks.get(i + 1).is_some_and(|x| x.tight());
                if !names_ok {
                    break;
                }
                let strong = STRONG_TYPES.contains(&wk);
                let (end, confirmed) = tail(lex, cues, doc, k, false);
                let cap_ok = doc.mixed && doc.toks.get(k).is_some_and(|x| x.cap());
                if strong || confirmed || cap_ok {
                    push(doc, i, end, out);
                    last_end_tok = Some(end);
                }
                break;
            }
            if is_stop(k) {
                break;
            }
        }
    }
}

fn push(doc: &Doc<'_>, a: usize, b: usize, out: &mut Vec<Candidate>) {
    if let (Some(ta), Some(tb)) = (doc.toks.get(a), doc.toks.get(b)) {
        out.push(Candidate::new(ta.s, tb.e, Kind::Address, 0.85));
    }
}

/// Floor/apartment, postcode and city after the house number (or English street type) at `i`.
/// Returns the last token of the address and whether a postcode or known city confirmed it.
fn tail(lex: &Lexical, _cues: &LangCues, doc: &Doc<'_>, i: usize, nordic: bool) -> (usize, bool) {
    let word = |k: usize| doc.words.get(k).unwrap_or("");
    let tok = |k: usize| doc.toks.get(k);
    let mut end = i;
    if nordic {
        // Apartment after a dash or slash: "45-4", "117-54", "9-11".
        if let Some(t) = tok(end + 1) {
            let g = gap(doc, end + 1);
            if t.has_digit() && (g == "-" || g == "/") && t.e - t.s <= 4 {
                end += 1;
            }
        }
        // Danish floor: "2. th.", "st. tv.", "4. sal".
        if let Some(t) = tok(end + 1) {
            let fl = word(end + 1);
            let mark_next = FLOOR_MARKS.contains(&word(end + 2)) && word(end + 2) != "st";
            if (t.digits() && fl.len() <= 2 && (t.dot_after() || mark_next)) || fl == "st" {
                if FLOOR_MARKS.contains(&word(end + 2)) && word(end + 2) != "st" {
                    end += 2;
                } else if fl == "st" && t.dot_after() {
                    end += 1;
                }
            }
        }
        // Finnish staircase/apartment "as. 26", "A 12", Swedish "lgh 1102".
        if let (Some(t1), Some(t2)) = (tok(end + 1), tok(end + 2)) {
            let w1 = word(end + 1);
            if (w1 == "as"
                || w1 == "lgh"
                || w1 == "asunto"
                || w1 == "korter"
                || (t1.letter() && (t1.cap() || !doc.mixed)))
                && t2.digits()
                && t2.e - t2.s <= 4
            {
                end += 2;
            }
        }
    }
    // Postcode.
    let mut confirmed = false;
    let mut k = end + 1;
    let soft = |k: usize| {
        let g = gap(doc, k).trim();
        g.is_empty() || g == "," || g == "." || g == ".,"
    };
    if let Some(t) = tok(k) {
        let w = word(k);
        if t.digits() && (w.len() == 4 || w.len() == 5) && soft(k) {
            end = k;
            confirmed = true;
            k += 1;
        } else if t.digits() && w.len() == 3 && soft(k) {
            if let Some(t2) = tok(k + 1) {
                if t2.digits() && word(k + 1).len() == 2 && t2.tight() {
                    end = k + 1;
                    confirmed = true;
                    k += 2;
                }
            }
        }
    }
    // City: from the gazetteer, or (after a postcode) the next word.
    if let Some(t) = tok(k) {
        if !t.brk() {
            let seq: Vec<usize> = (k..(k + 4).min(doc.toks.len())).collect();
            let brk = |x: usize| doc.toks.get(x).is_none_or(|t| t.brk() || t.comma());
            if let Some(l) = lex.cities.match_at(&doc.words, &seq, 0, &brk) {
                end = k + l - 1;
                confirmed = true;
                k = end + 1;
            } else if confirmed
                && !t.has_digit()
                && (!doc.mixed || t.cap())
                && !doc.has(k, flag::STOP | flag::ALL_STOP)
            {
                end = k;
                k += 1;
            }
        }
    }
    // UK postcode: "M1 2WD", "CF10 1EP", "G2 3BZ".
    if !nordic {
        if let (Some(a), Some(b)) = (tok(k), tok(k + 1)) {
            if uk_outward(word(k)) && uk_inward(word(k + 1)) && b.tight() && !a.brk() {
                end = k + 1;
                confirmed = true;
            }
        }
    }
    (end, confirmed)
}

fn uk_outward(w: &str) -> bool {
    let b = w.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = b.get(letters..).unwrap_or(&[]);
    (1..=2).contains(&letters)
        && !rest.is_empty()
        && rest.len() <= 2
        && rest.first().is_some_and(u8::is_ascii_digit)
        && rest.iter().all(u8::is_ascii_alphanumeric)
}

fn uk_inward(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 3
        && b.first().is_some_and(u8::is_ascii_digit)
        && b.iter().skip(1).all(u8::is_ascii_alphabetic)
}
