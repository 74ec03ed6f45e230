//! Normalisation of spoken forms with a map back to original offsets.
//!
//! A line is cut into tokens (letters, digits, mixed, single punctuation) over a lowercase copy
//! of the same byte length, so every token's offsets are offsets of the original. Number words
//! (see [`crate::numbers`]) and digit strings are folded, across filler words ("øh", "ähm",
//! "liksom", "niinku", …) and separators ("-", ",", "/", "."), into [`NumRun`]s: a canonical digit
//! string where every group of digits remembers the exact original bytes it came from.

use crate::numbers::FxSet;
use crate::numbers::{compose, Atom, Group, TABLE};
use once_cell::sync::Lazy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokClass {
    Word,
    Digits,
    Alnum,
    Punct,
}

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub s: usize,
    pub e: usize,
    pub class: TokClass,
    /// a line break lies between the previous token and this one
    pub nl_before: bool,
    /// whitespace lies between the previous token and this one
    pub space_before: bool,
}

/// Lowercases `text` char by char, keeping a char's original when its lowercase form has another
/// byte length (so offsets in the copy are offsets in the original).
pub fn lower_same_len(text: &str, out: &mut String) {
    out.clear();
    out.push_str(text);
    out.make_ascii_lowercase();
    if text.is_ascii() || !has_wide_upper(text) {
        return;
    }
    // Copy runs without a non-ASCII character whole (their ASCII is lower-cased at the end,
    // which leaves every other byte alone) and decode only the other characters.
    out.clear();
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest.bytes().position(|b| b >= 0x80).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(ascii);
        out.push_str(run);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else { break };
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) if x.len_utf8() == c.len_utf8() => out.push(x),
            _ => out.push(c),
        }
        rest = chars.as_str();
    }
    out.make_ascii_lowercase();
}

/// Whether `text` holds a non-ASCII uppercase character. Skips ASCII and continuation bytes and
/// answers two-byte Latin-1 letters from their second byte (À..Þ but ×), decoding only other
/// characters.
fn has_wide_upper(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        if c < 0x80 {
            // most bytes are ASCII: pass over eight at a time while they are
            let eight = b
                .get(i..i + 8)
                .and_then(|x| <[u8; 8]>::try_from(x).ok())
                .map_or(u64::MAX, u64::from_le_bytes);
            i += if eight & 0x8080_8080_8080_8080 == 0 {
                8
            } else {
                1
            };
        } else if c < 0xC0 {
            i += 1;
        } else if c == 0xC3 {
            if b.get(i + 1).is_some_and(|&t| t <= 0x9E && t != 0x97) {
                return true;
            }
            i += 2;
        } else {
            let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or(' ');
            if ch.is_uppercase() {
                return true;
            }
            i += ch.len_utf8();
        }
    }
    false
}

/// Cuts into tokens: the words of [`crate::lexical::tokenize`] and one token per punctuation
/// character between them (see [`tokens_from_words`]).
pub fn tokenize(text: &str, out: &mut Vec<Tok>) {
    tokens_from_words(text, &crate::lexical::tokenize(text), out);
}

/// The tokens of `text` from its words (maximal runs of alphanumeric characters, as the lexical
/// tokenizer cuts them): the words' bytes are not read again, only the gaps between them, for
/// punctuation, white space and line breaks. Returns whether a hyphen lies in a gap, that is
/// anywhere in `text` (the lexical fold turns hyphens into spaces).
pub(crate) fn tokens_from_words(
    text: &str,
    words: &[crate::lexical::Tok],
    out: &mut Vec<Tok>,
) -> bool {
    out.clear();
    out.reserve(words.len() + 1);
    let b = text.as_bytes();
    let mut hyphen = false;
    let mut gap = 0usize;
    for w in words {
        // most gaps are one space, or one ASCII punctuation character with or without a space
        // after it (", ", "-", ". "): no call for them
        let (nl, sp) = match b.get(gap..w.s) {
            Some([b' ']) => (false, true),
            Some([]) => (false, false),
            Some([c]) if ascii_punct(*c) => {
                push_punct(out, gap, *c, &mut hyphen);
                (false, false)
            }
            Some([c, b' ']) if ascii_punct(*c) => {
                push_punct(out, gap, *c, &mut hyphen);
                (false, true)
            }
            _ => gap_tokens(text, gap, w.s, out, &mut hyphen),
        };
        let class = if !w.has_digit() {
            TokClass::Word
        } else if w.digits() {
            TokClass::Digits
        } else {
            TokClass::Alnum
        };
        out.push(Tok {
            s: w.s,
            e: w.e,
            class,
            nl_before: nl,
            space_before: sp,
        });
        gap = w.e;
    }
    // most lines end with a word or one full stop
    match b.get(gap..) {
        Some([]) => {}
        Some([c]) if ascii_punct(*c) => push_punct(out, gap, *c, &mut hyphen),
        _ => {
            gap_tokens(text, gap, text.len(), out, &mut hyphen);
        }
    }
    hyphen
}

/// An ASCII byte of a gap between words that [`gap_tokens`] makes a token of: any but its
/// white space.
#[inline(always)]
fn ascii_punct(c: u8) -> bool {
    c < 0x80 && !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// [`gap_tokens`]' token for the ASCII punctuation byte `c` at `at`, right after a word.
#[inline(always)]
fn push_punct(out: &mut Vec<Tok>, at: usize, c: u8, hyphen: &mut bool) {
    *hyphen |= c == b'-';
    out.push(Tok {
        s: at,
        e: at + 1,
        class: TokClass::Punct,
        nl_before: false,
        space_before: false,
    });
}

/// Pushes a [`TokClass::Punct`] token for every character of `text[from..to]` (which holds no
/// alphanumeric character) that is not white space, and sets `hyphen` when one is '-'. Returns
/// whether a line break, and whether white space, lies between the last of them (or `from`) and
/// `to`.
#[inline(never)]
fn gap_tokens(
    text: &str,
    from: usize,
    to: usize,
    out: &mut Vec<Tok>,
    hyphen: &mut bool,
) -> (bool, bool) {
    let b = text.as_bytes();
    let (mut nl, mut sp) = (false, false);
    let mut i = from;
    while i < to {
        let Some(&c) = b.get(i) else { break };
        let (ws, len) = if c < 0x80 {
            nl |= c == b'\n' || c == b'\r';
            (matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c), 1)
        } else {
            let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or(' ');
            (ch.is_whitespace(), ch.len_utf8())
        };
        if ws {
            sp = true;
        } else {
            *hyphen |= c == b'-';
            out.push(Tok {
                s: i,
                e: i + len,
                class: TokClass::Punct,
                nl_before: nl,
                space_before: sp,
            });
            nl = false;
            sp = false;
        }
        i += len;
    }
    (nl, sp)
}

/// Filler words that may sit inside a spoken number without breaking it.
pub static FILLERS: Lazy<FxSet<&'static str>> = Lazy::new(|| {
    [
        "øh",
        "øhm",
        "öh",
        "öhm",
        "eh",
        "ehm",
        "äh",
        "ähm",
        "ah",
        "um",
        "uh",
        "uhm",
        "hm",
        "hmm",
        "mm",
        "erm",
        "er",
        "slash",
        "skråstreg",
        "snedstreck",
        "skråstrek",
        "kautta",
        "schrägstrich",
        "kaldkriips",
        "dash",
        "streg",
        "bindestreg",
        "bindestrich",
        "liksom",
        "niinku",
        "nii",
        "noh",
        "typ",
        "altså",
        "alltså",
        "så",
        "ba",
        "tota",
        "öö",
        "ee",
        "no",
        "like",
        "so",
        "halt",
        "also",
        "äh",
        "ja",
        "jo",
        "you",
        "know",
        "og",
        "and",
        "und",
        "och",
        "ehh",
        "øhh",
        "mmm",
        "siis",
        "sitten",
        "eli",
        "nå",
        "well",
        "okay",
        "ok",
        "genau",
    ]
    .into_iter()
    .collect()
});

/// For each first byte, and for each last byte, the byte lengths (bit per length, below 32) of
/// the [`FILLERS`] that have it: rejects most words before the set is hashed.
static FILLER_SHAPE: Lazy<([u32; 256], [u32; 256])> = Lazy::new(|| {
    let (mut first, mut last) = ([0u32; 256], [0u32; 256]);
    for w in FILLERS.iter() {
        let b = w.as_bytes();
        let Some(bit) = 1u32.checked_shl(b.len() as u32) else {
            continue;
        };
        if let (Some(&f), Some(&l)) = (b.first(), b.last()) {
            if let Some(m) = first.get_mut(usize::from(f)) {
                *m |= bit;
            }
            if let Some(m) = last.get_mut(usize::from(l)) {
                *m |= bit;
            }
        }
    }
    (first, last)
});

/// Whether `w` is one of the [`FILLERS`].
fn is_filler(w: &str) -> bool {
    let b = w.as_bytes();
    let (Some(&f), Some(&l), Some(bit)) = (b.first(), b.last(), 1u32.checked_shl(b.len() as u32))
    else {
        return false;
    };
    let (first, last) = &*FILLER_SHAPE;
    first.get(usize::from(f)).is_some_and(|m| m & bit != 0)
        && last.get(usize::from(l)).is_some_and(|m| m & bit != 0)
        && FILLERS.contains(w)
}

/// A digit group inside a run: `digits[ds..de]` came from `text[s..e]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunGroup {
    pub ds: usize,
    pub de: usize,
    pub s: usize,
    pub e: usize,
    /// came from number words (not digits)
    pub spoken: bool,
}

/// A stretch of number words and digit strings read as one number (or several numbers said in
/// a row: recognisers look at windows of consecutive groups).
#[derive(Debug, Clone, Default)]
pub struct NumRun {
    pub digits: Vec<u8>,
    pub groups: Vec<RunGroup>,
    /// a '+' (or the word "plus") right before the first group
    pub plus: bool,
    /// where that '+' starts
    pub plus_at: usize,
    /// separator characters seen between groups (for format checks: "/", ".", "-")
    pub seps: Vec<u8>,
}

impl NumRun {
    pub fn s(&self) -> usize {
        self.groups.first().map_or(0, |g| g.s)
    }
    pub fn e(&self) -> usize {
        self.groups.last().map_or(0, |g| g.e)
    }
    pub fn spoken(&self) -> bool {
        self.groups.iter().any(|g| g.spoken)
    }
    /// digits of groups a..b
    pub fn window(&self, a: usize, b: usize) -> &[u8] {
        match (
            self.groups.get(a),
            b.checked_sub(1).and_then(|l| self.groups.get(l)),
        ) {
            (Some(x), Some(y)) if a < b => self.digits.get(x.ds..y.de).unwrap_or(&[]),
            _ => &[],
        }
    }
    pub fn bytes(&self, a: usize, b: usize) -> (usize, usize) {
        match (
            self.groups.get(a),
            b.checked_sub(1).and_then(|l| self.groups.get(l)),
        ) {
            (Some(x), Some(y)) => (x.s, y.e),
            _ => (0, 0),
        }
    }
}

/// The atoms of one word, inline (no allocation per number word).
#[derive(Clone, Copy)]
struct Atoms {
    a: [Atom; crate::numbers::MAX_ATOMS],
    n: usize,
}

impl Default for Atoms {
    fn default() -> Self {
        Self {
            a: [Atom::And; crate::numbers::MAX_ATOMS],
            n: 0,
        }
    }
}

impl Atoms {
    fn from(v: &[Atom]) -> Self {
        let mut x = Self::default();
        for (slot, a) in x.a.iter_mut().zip(v) {
            *slot = *a;
        }
        x.n = v.len().min(crate::numbers::MAX_ATOMS);
        x
    }
    fn as_slice(&self) -> &[Atom] {
        self.a.get(..self.n).unwrap_or(&[])
    }
}

struct Item {
    s: usize,
    e: usize,
    atoms: Atoms,
    digits: Option<(usize, usize)>, // byte range of a digit token
    weak: bool,
}

/// Buffers [`number_runs_with`] keeps between lines, so a line allocates nothing once they have
/// grown: the items and separators being collected, one word's atoms, a word stretch's flat atoms
/// with their owners and composed groups, and runs of earlier lines kept for their Vecs.
#[derive(Default)]
pub struct RunScratch {
    items: Vec<Item>,
    seps: Vec<u8>,
    atoms: Vec<Atom>,
    flat: Vec<Atom>,
    owner: Vec<usize>,
    groups: Vec<Group>,
    spare: Vec<NumRun>,
    /// The last line's words include a month name ([`crate::rec::dates::month`]), of three
    /// bytes or more: only then can it hold a month-name date.
    pub(crate) month_word: bool,
}

/// Builds the number runs of a tokenised line.
pub fn number_runs(text: &str, lower: &str, toks: &[Tok], out: &mut Vec<NumRun>) {
    number_runs_with(text, lower, toks, None, out, &mut RunScratch::default());
}

/// [`number_runs`] with buffers kept by the caller (the runs in `out` are recycled too).
/// `known`: the text prepared by the lexical recognisers, when its folded words are the words of
/// `lower` (its word flags then tell most words that are no number word).
pub(crate) fn number_runs_with(
    text: &str,
    lower: &str,
    toks: &[Tok],
    known: Option<&crate::lexical::Prepared>,
    out: &mut Vec<NumRun>,
    sc: &mut RunScratch,
) {
    sc.spare.append(out);
    sc.items.clear();
    sc.seps.clear();
    sc.month_word = false;
    let mut plus = false;
    let mut pending_plus = false;
    let mut plus_at = 0usize;
    // one lazy-static check for the line, not one per word
    let table: &crate::numbers::Table = &TABLE;
    // the index of the next word among the words (all tokens but punctuation)
    let mut wi = 0usize;
    for (ti, t) in toks.iter().enumerate() {
        let word_index = wi;
        wi += usize::from(t.class != TokClass::Punct);
        let brk = t.nl_before;
        if brk && !sc.items.is_empty() {
            flush(text, sc, plus, plus_at, out);
            plus = false;
        }
        match t.class {
            TokClass::Digits => {
                if sc.items.is_empty() {
                    plus = pending_plus;
                    sc.seps.clear();
                }
                sc.items.push(Item {
                    s: t.s,
                    e: t.e,
                    atoms: Atoms::default(),
                    digits: Some((t.s, t.e)),
                    weak: false,
                });
                if sc.items.len() == 1 && !plus {
                    plus_at = t.s;
                }
            }
            TokClass::Word => {
                // The word's bytes answer the byte tests; its `&str` (two char-boundary checks)
                // is taken only for the few words that pass them. Token bounds are char bounds
                // of `lower` (same byte length as the text), so both see the same word.
                let wb = lower.as_bytes().get(t.s..t.e).unwrap_or(&[]);
                let w = || lower.get(t.s..t.e).unwrap_or("");
                // asked here, where the word is at hand, for the dates that need one
                sc.month_word = sc.month_word
                    || wb.len() >= 3 && crate::rec::dates::month_of_bytes(wb).is_some();
                // most words are known (none, or one atom), or fail the byte-pair test: no
                // table call for them
                let weak = match known.and_then(|p| p.number_atom(word_index)) {
                    Some(Some((a, weak))) => {
                        sc.atoms.clear();
                        sc.atoms.push(a);
                        weak
                    }
                    None if table.could_be_bytes(wb) => table.lookup(w(), &mut sc.atoms),
                    _ => {
                        sc.atoms.clear();
                        false
                    }
                };
                if !sc.atoms.is_empty() {
                    if sc.items.is_empty() {
                        if matches!(sc.atoms.first(), Some(Atom::And)) {
                            continue;
                        }
                        plus = pending_plus || wb == b"plus";
                        sc.seps.clear();
                    }
                    sc.items.push(Item {
                        s: t.s,
                        e: t.e,
                        atoms: Atoms::from(sc.atoms.as_slice()),
                        digits: None,
                        weak,
                    });
                } else if wb == b"plus" && sc.items.is_empty() {
                    pending_plus = true;
                    plus_at = t.s;
                    continue;
                } else if !sc.items.is_empty() && !is_filler(w()) {
                    flush(text, sc, plus, plus_at, out);
                    plus = false;
                }
            }
            TokClass::Alnum => {
                if !sc.items.is_empty() {
                    flush(text, sc, plus, plus_at, out);
                    plus = false;
                }
            }
            TokClass::Punct => {
                // most punctuation is ASCII: decode a character only when it is not
                let c = match text.as_bytes().get(t.s) {
                    Some(&b) if b.is_ascii() => char::from(b),
                    _ => text
                        .get(t.s..t.e)
                        .and_then(|x| x.chars().next())
                        .unwrap_or(' '),
                };
                let next_space = toks.get(ti + 1).is_none_or(|n| n.space_before);
                match c {
                    '+' => {
                        if !sc.items.is_empty() {
                            flush(text, sc, plus, plus_at, out);
                            plus = false;
                        }
                        pending_plus = true;
                        plus_at = t.s;
                        continue;
                    }
                    '-' | '/' | '(' | ')' | ',' | '–' | '\'' => {
                        if !sc.items.is_empty() && c.is_ascii() {
                            sc.seps.push(c as u8);
                        }
                    }
                    '.' | ':' if !next_space => {
                        if !sc.items.is_empty() {
                            sc.seps.push(c as u8);
                        }
                    }
                    _ => {
                        if !sc.items.is_empty() {
                            flush(text, sc, plus, plus_at, out);
                            plus = false;
                        }
                    }
                }
            }
        }
        pending_plus = false;
    }
    if !sc.items.is_empty() {
        flush(text, sc, plus, plus_at, out);
    }
}

/// At least as many digits as [`compose`] makes of any stretch of atoms holding `a`, counted per
/// atom: every group it makes comes from atoms of their own whose bounds add up to its width or
/// more ("N hundred": 1 + 2 ≥ 3 and 2 + 2 ≥ 4; "N thousand": 1 + 3 ≥ 4 and 2 + 3 ≥ 5; "double
/// twenty": 4 + 2 ≥ 2 × 2).
fn digit_bound(a: Atom) -> usize {
    match a {
        Atom::And => 0,
        Atom::Unit(_) => 1,
        Atom::Teen(_) | Atom::Tens(_) | Atom::Compound(_) | Atom::Hundred => 2,
        Atom::Thousand => 3,
        Atom::Repeat(r) => 2 * usize::from(r),
    }
}

/// For a prepared line without ASCII digits and without non-ASCII capitals (its fold is then the
/// lower-case copy's words): true when every run [`number_runs_with`] makes of it has fewer than
/// `limit` digits and no word passes `stop`; false when that cannot be told this way. Walks the
/// words only (no tokens, no runs): a run's items are number words with only fillers between
/// them, so its digits are at most the [`digit_bound`]s of such a stretch of words (punctuation
/// and line breaks only cut stretches shorter, and are ignored).
pub(crate) fn words_make_short_runs(
    p: &crate::lexical::Prepared,
    limit: usize,
    sc: &mut RunScratch,
    mut stop: impl FnMut(&[u8]) -> bool,
) -> bool {
    let table: &crate::numbers::Table = &TABLE;
    let atoms = &mut sc.atoms;
    // the bound of the stretch being walked; None while no number word opened one
    let mut open: Option<usize> = None;
    for (i, t) in p.toks.iter().enumerate() {
        if t.has_digit() {
            return false;
        }
        // the word's text, taken only where a known word's flags and the byte tests do not
        // answer (its char-boundary checks cost more than they do)
        let word = || p.folded.get(t.s..t.e).unwrap_or("");
        let bound = match p.number_atom(i) {
            Some(Some((a, _))) => Some(digit_bound(a)),
            Some(None) => None,
            None if table.could_be_bytes(p.folded.as_bytes().get(t.s..t.e).unwrap_or(&[])) => {
                let w = word();
                table.lookup(w, atoms);
                if atoms.is_empty() {
                    None
                } else if open.is_none() && matches!(atoms.first(), Some(Atom::And)) {
                    // skipped before a run starts, as `number_runs_with` does
                    continue;
                } else {
                    Some(atoms.iter().map(|&a| digit_bound(a)).sum())
                }
            }
            None => None,
        };
        match bound {
            // a lone "og"/"and" opens no run
            Some(0) if open.is_none() => {}
            Some(b) => {
                let sum = open.unwrap_or(0) + b;
                if sum >= limit {
                    return false;
                }
                open = Some(sum);
            }
            None => {
                if open.is_some() && !is_filler(word()) {
                    open = None;
                }
            }
        }
    }
    // asked only of the lines that pass the test above (most lines with a number fail it)
    !p.toks
        .iter()
        .any(|t| stop(p.folded.as_bytes().get(t.s..t.e).unwrap_or(&[])))
}

fn flush(text: &str, sc: &mut RunScratch, plus: bool, plus_at: usize, out: &mut Vec<NumRun>) {
    let items = &mut sc.items;
    // drop connectors at the end
    while items.last().is_some_and(|i| {
        i.atoms
            .as_slice()
            .iter()
            .all(|a| matches!(a, Atom::And | Atom::Repeat(_)))
            && i.digits.is_none()
    }) {
        items.pop();
    }
    // a lone weak word ("en", "to") makes no run; the weakness is asked of lone items only
    if items.is_empty() || (items.len() < 2 && items.iter().all(|i| i.weak)) {
        items.clear();
        sc.seps.clear();
        return;
    }
    // a run of an earlier line, emptied, keeps its Vecs' capacity
    let mut run = sc.spare.pop().unwrap_or_default();
    run.digits.clear();
    run.groups.clear();
    run.seps.clear();
    run.seps.extend_from_slice(&sc.seps);
    sc.seps.clear();
    run.plus = plus;
    run.plus_at = plus_at;
    let mut k = 0usize;
    while k < items.len() {
        if let Some(it) = items.get(k) {
            if let Some((s, e)) = it.digits {
                let ds = run.digits.len();
                // copied whole, then made digit values in place (both vectorise)
                run.digits
                    .extend_from_slice(text.as_bytes().get(s..e).unwrap_or(&[]));
                for d in run.digits.get_mut(ds..).unwrap_or(&mut []) {
                    *d = d.wrapping_sub(b'0');
                }
                run.groups.push(RunGroup {
                    ds,
                    de: run.digits.len(),
                    s,
                    e,
                    spoken: false,
                });
                k += 1;
                continue;
            }
        }
        // a stretch of word items
        sc.flat.clear();
        sc.owner.clear();
        while let Some(it) = items.get(k) {
            if it.digits.is_some() {
                break;
            }
            for a in it.atoms.as_slice() {
                sc.flat.push(*a);
                sc.owner.push(k);
            }
            k += 1;
        }
        sc.groups.clear();
        compose(&sc.flat, &mut sc.groups);
        for g in &sc.groups {
            let (Some(&fi), Some(&li)) = (sc.owner.get(g.first), sc.owner.get(g.last)) else {
                continue;
            };
            let (Some(fs), Some(ls)) = (items.get(fi), items.get(li)) else {
                continue;
            };
            let ds = run.digits.len();
            g.push_digits(&mut run.digits);
            // several groups from one word (e.g. "tjugotjugofem") share its bytes
            run.groups.push(RunGroup {
                ds,
                de: run.digits.len(),
                s: fs.s,
                e: ls.e,
                spoken: true,
            });
        }
    }
    // merge groups that share the same bytes (one glued word → one group)
    run.groups.dedup_by(|g, l| {
        let same = l.s == g.s && l.e == g.e;
        if same {
            l.de = g.de;
        }
        same
    });
    items.clear();
    if run.groups.is_empty() {
        sc.spare.push(run);
    } else {
        out.push(run);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn wide_upper_scan_agrees_with_char_test() {
        for cp in 0x80u32..0x3_0000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let t = format!("ab{c}cd");
            assert_eq!(has_wide_upper(&t), c.is_uppercase(), "{cp:x}");
        }
    }

    /// The tokenizer as it was before it reused the lexical words: one walk over the characters.
    fn tokenize_ref(text: &str) -> Vec<(usize, usize, TokClass, bool, bool)> {
        let mut out = Vec::new();
        let (mut nl, mut sp) = (false, false);
        let mut it = text.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c.is_alphanumeric() {
                let (mut a, mut d) = (!c.is_ascii_digit(), c.is_ascii_digit());
                let mut e = i + c.len_utf8();
                while let Some(&(j, x)) = it.peek() {
                    if !x.is_alphanumeric() {
                        break;
                    }
                    a |= !x.is_ascii_digit();
                    d |= x.is_ascii_digit();
                    e = j + x.len_utf8();
                    it.next();
                }
                let class = match (a, d) {
                    (true, true) => TokClass::Alnum,
                    (false, true) => TokClass::Digits,
                    _ => TokClass::Word,
                };
                out.push((i, e, class, nl, sp));
                (nl, sp) = (false, false);
            } else if c.is_whitespace() {
                sp = true;
                nl |= c == '\n' || c == '\r';
            } else {
                out.push((i, i + c.len_utf8(), TokClass::Punct, nl, sp));
                (nl, sp) = (false, false);
            }
        }
        out
    }

    proptest::proptest! {
        /// Without a hyphen and a non-ASCII capital the lexical fold is the lower-case copy
        /// (what lets the detector hand its fold to the recognisers).
        #[test]
        fn fold_is_lower_without_hyphen_and_wide_capital(
            text in "[a-zA-Z0-9æøåÆØÅ×÷ .,'ǅǄǆİẞΩ😀-]{0,40}",
        ) {
            let mut lower = String::new();
            lower_same_len(&text, &mut lower);
            if !text.contains('-') && !has_wide_upper(&text) {
                proptest::prop_assert_eq!(crate::lexical::fold(&text), lower);
            }
        }

        /// Tokens built from the lexical words are the tokens of a walk over the characters.
        #[test]
        fn tokens_from_words_agree_with_char_walk(
            text in "[a-zA-Z0-9æøåÆØÅ×÷ \t\n\r\x0b\x0c.,:;!?+@/()'–\u{a0}\u{85}\u{663}ǅ😀-]{0,40}",
        ) {
            let mut toks = Vec::new();
            tokenize(&text, &mut toks);
            let got: Vec<_> = toks
                .iter()
                .map(|t| (t.s, t.e, t.class, t.nl_before, t.space_before))
                .collect();
            proptest::prop_assert_eq!(got, tokenize_ref(&text));
        }
    }

    static LEX: Lazy<crate::lexical::Lexical> = Lazy::new(crate::lexical::Lexical::new);

    /// Words and gaps for lines without digits: number words (weak, glued, multipliers,
    /// repeats, connectors), fillers, "plus", months and other words.
    const SHORT_RUN_WORDS: &[&str] = &[
        "en",
        "to",
        "tre",
        "one",
        "two",
        "oh",
        "fem",
        "Fem",
        "TO",
        "ni",
        "sex",
        "elf",
        "fire",
        "twenty",
        "tyve",
        "femogtyve",
        "seksoghalvfems",
        "tjugotjugofem",
        "hundred",
        "hundrede",
        "thousand",
        "tusind",
        "tusen",
        "double",
        "triple",
        "dobbelt",
        "og",
        "and",
        "und",
        "ja",
        "øh",
        "uh",
        "like",
        "so",
        "plus",
        "nittenåttitre",
        "zweitausend",
        "neunzehnhundertsechsundsechzig",
        "kaksikymmentä",
        "viis",
        "march",
        "juli",
        "mai",
        "bil",
        "the",
        "card",
        "nummer",
        "kortet",
        "ok",
        "at",
        "punkt",
    ];
    const SHORT_RUN_GAPS: &[&str] = &[" ", " ", " ", ", ", ". ", "-", "/", "\n", " + ", ": "];

    proptest::proptest! {
        /// Whenever the walk over the words says every run is short, the runs built from the
        /// tokens are, and no word it was asked about (a month here) makes a date.
        #[test]
        fn short_runs_from_words_agree_with_runs(
            words in proptest::collection::vec(proptest::sample::select(SHORT_RUN_WORDS), 0..10),
            gaps in proptest::collection::vec(proptest::sample::select(SHORT_RUN_GAPS), 10),
            limit in 1usize..6,
        ) {
            let mut text = String::new();
            for (w, g) in words.iter().zip(&gaps) {
                text.push_str(w);
                text.push_str(g);
            }
            let (short, months) = LEX.with_prepared(&text, |p| {
                let mut months = 0;
                let short = words_make_short_runs(p, limit, &mut RunScratch::default(), |w| {
                    crate::rec::dates::month_of_bytes(w).is_some() && {
                        months += 1;
                        true
                    }
                });
                (short, months)
            });
            if short {
                proptest::prop_assert_eq!(months, 0);
                let mut lower = String::new();
                lower_same_len(&text, &mut lower);
                let mut toks = Vec::new();
                tokenize(&text, &mut toks);
                let mut r = Vec::new();
                number_runs(&text, &lower, &toks, &mut r);
                for x in &r {
                    proptest::prop_assert!(x.digits.len() < limit, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn runs_tell_month_words() {
        let month_word = |text: &str| {
            let mut lower = String::new();
            lower_same_len(text, &mut lower);
            let mut toks = Vec::new();
            tokenize(text, &mut toks);
            let mut sc = RunScratch::default();
            number_runs_with(text, &lower, &toks, None, &mut Vec::new(), &mut sc);
            let mut dates = Vec::new();
            crate::rec::dates::find(text, &lower, &toks, &[], &mut dates);
            assert!(sc.month_word || dates.is_empty(), "{text}");
            sc.month_word
        };
        assert!(month_word("born on the 3rd of March 1985"));
        assert!(month_word("17. tammikuuta 1968"));
        assert!(!month_word("it was the 3rd of the month, 1985"));
        assert!(month_word("Mar 3 1985"));
    }

    #[test]
    fn short_runs_from_words() {
        let short = |text: &str| {
            LEX.with_prepared(text, |p| {
                words_make_short_runs(p, 3, &mut RunScratch::default(), |_| false)
            })
        };
        assert!(short("jeg har en bil og to børn"));
        assert!(short("one of them, twenty"));
        assert!(!short("en to tre"));
        assert!(!short("five hundred"));
        assert!(!short("femogtyve øh tyve"));
        assert!(!short("triple"));
    }

    #[test]
    fn known_words_carry_their_lookup() {
        let lex = crate::lexical::Lexical::new();
        let text = "jeg har fem og tyve en to tre seksoghalvfems kortet nummer hansen one twenty";
        lex.with_prepared(text, |p| {
            let mut atoms = Vec::new();
            let (mut none, mut one) = (0, 0);
            for (i, t) in p.toks.iter().enumerate() {
                let weak = TABLE.lookup(&p.folded[t.s..t.e], &mut atoms);
                match p.number_atom(i) {
                    Some(None) => {
                        assert!(atoms.is_empty(), "{}", &text[t.s..t.e]);
                        none += 1;
                    }
                    Some(Some(a)) => {
                        assert_eq!(atoms, [a.0], "{}", &text[t.s..t.e]);
                        assert_eq!(weak, a.1, "{}", &text[t.s..t.e]);
                        one += 1;
                    }
                    None => {}
                }
            }
            assert!(none > 0 && one > 0);
        });
    }

    pub fn runs(text: &str) -> Vec<(String, String)> {
        let mut lower = String::new();
        lower_same_len(text, &mut lower);
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        let mut r = Vec::new();
        number_runs(text, &lower, &toks, &mut r);
        r.iter()
            .map(|x| {
                (
                    x.digits.iter().map(|d| char::from(b'0' + d)).collect(),
                    text.get(x.s()..x.e()).unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn runs_map_back() {
        let r = runs("Yeah, it's uh um five one five seven five one double five one two eight two four two eight two. Thanks.");
        assert_eq!(
            r,
            vec![(
                "5157515512824282".into(),
                "five one five seven five one double five one two eight two four two eight two"
                    .into()
            )]
        );
        let r = runs("det er +45 40 62 57 51 din ordre 24397174 er");
        assert_eq!(r[0].0, "4540625751");
        assert_eq!(r[1].0, "24397174");
        let r = runs(
            "mit cpr-nummer er sytten nul ni nioghalvfems, seksoghalvfems seksogtredive\nagent: så",
        );
        assert_eq!(
            r[0],
            (
                "1709999636".into(),
                "sytten nul ni nioghalvfems, seksoghalvfems seksogtredive".into()
            )
        );
        let r = runs("Jeg har en bil");
        assert!(r.is_empty());
        let r = runs("kortet her tjuesju ti seksti femtito trettitre syttitre nittisju tjuefire og det utløper 12/25");
        assert_eq!(r[0].0, "2710605233739724");
        assert_eq!(r[1].0, "1225");
    }
}
