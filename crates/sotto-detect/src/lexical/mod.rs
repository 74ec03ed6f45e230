//! Recognisers driven by word lists: person names, addresses and the GDPR Art. 9 special
//! categories, with the context rules that keep impersonal mentions from firing.
//!
//! Everything is built once in [`Lexical::new`] from the files under `data/` (compiled in). A call
//! to [`Lexical::find`] folds the text once (lower case, same byte offsets), tokenizes it once, runs
//! one Aho-Corasick scan for the special categories and otherwise works on the word list with hash
//! lookups.

mod address;
mod data;
mod names;
mod special;
mod text;

use crate::numbers::Atom;
use crate::span::Candidate;
use sotto_core::Lang;

use data::{lang_index, lines, sections, word_set, PhraseSet, WordSet};
pub use text::{fold, fold_into, tokenize, tokenize_into, Tok};

/// Cue words of one language.
#[derive(Debug, Default)]
struct LangCues {
    name_strong: PhraseSet,
    name_weak: PhraseSet,
    honorific: PhraseSet,
    spell: PhraseSet,
    filler: WordSet,
    stop: WordSet,
    personal: PhraseSet,
    as_: PhraseSet,
    copula: PhraseSet,
    member: PhraseSet,
    veto: PhraseSet,
    self_suffix: Vec<String>,
}

impl LangCues {
    fn parse(src: &str) -> Self {
        let s = sections(src);
        let get = |k: &str| s.get(k).cloned().unwrap_or_default();
        LangCues {
            name_strong: PhraseSet::new(get("name_strong")),
            name_weak: PhraseSet::new(get("name_weak")),
            honorific: PhraseSet::new(get("honorific")),
            spell: PhraseSet::new(get("spell")),
            filler: word_set(get("filler").into_iter().filter(|w| !w.contains(' '))),
            stop: word_set(get("stop")),
            personal: PhraseSet::new(get("personal")),
            as_: PhraseSet::new(get("as")),
            copula: PhraseSet::new(get("copula")),
            member: PhraseSet::new(get("member")),
            veto: PhraseSet::new(get("veto")),
            self_suffix: get("selfsuffix").into_iter().map(fold).collect(),
        }
    }
}

/// Per-word flags, looked up once per token (one hash lookup instead of one per list).
pub(crate) mod flag {
    pub const FIRST: u64 = 1;
    pub const SUR: u64 = 1 << 1;
    pub const AMB: u64 = 1 << 2;
    /// A function word of any language.
    pub const ALL_STOP: u64 = 1 << 3;
    /// A street word a name cannot contain.
    pub const STREET_WORD: u64 = 1 << 4;
    /// A separate street-type word ("gate", "tn", "straße").
    pub const TYPE_WORD: u64 = 1 << 5;
    /// A whole-word special-category term.
    pub const TERM: u64 = 1 << 6;
    /// A spoken number word.
    pub const NUM_WORD: u64 = 1 << 7;
    /// A whole-word special-category term that needs a strong frame ("christian", "same").
    pub const TERM_STRONG: u64 = 1 << 12;
    /// A strong short number word ("tre", "dot"): see `numbers::maybe_number`.
    pub const NUM_SHORT: u64 = 1 << 13;
    /// A weak number word ("en", "to"): see `numbers::maybe_number`.
    pub const NUM_WEAK: u64 = 1 << 14;
    /// A function word of the text's language (set per call).
    pub const STOP: u64 = 1 << 8;
    /// A filler of the text's language (set per call).
    pub const FILLER: u64 = 1 << 9;
    /// First word of a name cue of the text's language (set per call).
    pub const NAME_CUE: u64 = 1 << 10;
    /// A name_strong / honorific / name_weak phrase of the text's language may start at the
    /// word (`PhraseSet::may_start`; set per call, in [`Doc`] flags only).
    pub const CUE_STRONG: u64 = 1 << 16;
    pub const CUE_HONORIFIC: u64 = 1 << 17;
    pub const CUE_WEAK: u64 = 1 << 18;
    /// The word is a one-word phrase of that set, or has one of its prefixes (`PhraseSet::has`).
    pub const CUE_STRONG1: u64 = 1 << 19;
    pub const CUE_HONORIFIC1: u64 = 1 << 20;
    pub const CUE_WEAK1: u64 = 1 << 21;
    /// The word is the second word of a longer phrase of one of those sets.
    pub const CUE_NEXT: u64 = 1 << 22;
    /// How many `cue` bits each language has: the seven above, from bit 16 of [`Doc`] flags.
    pub const CUE_BITS: usize = 7;
    /// The `cue` bits of language `li` (shifted down to bit 16 by `li * CUE_BITS`).
    pub const fn lang_cue_sets(li: usize) -> u64 {
        0x7f << (li * CUE_BITS)
    }
    /// First word of an address cue.
    pub const ADDR_CUE: u64 = 1 << 11;
    /// A short whole-word special-category term of the text's language (set per call).
    pub const SHORT_TERM: u64 = 1 << 15;
    /// A street-name compound, strong or weak (`Streets::is_street_compound`,
    /// `is_weak_compound`; computed per key).
    pub const STREETISH: u64 = 1 << 47;
    /// A number word of `numbers::strong_inside` occurs inside the word (computed per key).
    pub const INSIDE: u64 = 1 << 23;
    /// The word is a key of `word_flags` (its other bits are all there is to know).
    pub const KNOWN: u64 = 1 << 31;
    /// `numbers::Table::lookup` gives the word number atoms (a number word, or glued from them).
    pub const NUM_ATOMS: u64 = 1 << 39;
    /// A short whole-word special-category term of language `li` (`special::Special::short`).
    pub const fn lang_short_term(li: usize) -> u64 {
        1 << (48 + li)
    }
    /// A special-category match of language `li` may start inside the word
    /// (`special::Special::may_start`).
    pub const fn special_start(li: usize) -> u64 {
        1 << (56 + li)
    }
    /// The language-identification marker bits of a word (`langid::word_masks`).
    pub const fn langid(mask: u8) -> u64 {
        (mask as u64) << 40
    }
    pub const fn lang_cue(li: usize) -> u64 {
        1 << (32 + li)
    }
    pub const fn lang_stop(li: usize) -> u64 {
        1 << (16 + li)
    }
    pub const fn lang_filler(li: usize) -> u64 {
        1 << (24 + li)
    }
}

/// Where a known word's single number atom ([`Atom::pack`]) lies in its `cue` bits: above the
/// name cue bits of every language.
const NUM_ATOM_SHIFT: usize = 51;
const _: () = assert!(data::LANGS.len() * flag::CUE_BITS <= NUM_ATOM_SHIFT);

/// A text folded, tokenized and looked up once (reused buffers).
#[derive(Default)]
pub(crate) struct Prepared {
    /// [`fold`]ed text (same byte offsets).
    pub folded: String,
    /// Its words.
    pub toks: Vec<Tok>,
    /// `word_flags` of every token, before the per-language bits are applied.
    raw: Vec<u64>,
    /// The per-language name cue bits of every token ([`flag::lang_cue_sets`]).
    cue: Vec<u64>,
    mixed: bool,
    /// Some word is a single letter.
    letters: bool,
    /// Some word has a digit.
    digits: bool,
    /// An '@' somewhere (the scan saw every byte between words).
    at: bool,
    /// A non-ASCII capital somewhere (from the fold).
    caps: bool,
    /// Only white space: nothing to find.
    blank: bool,
    /// The OR of `raw` and of `cue`: [`Doc::any`] of every language without a pass per
    /// language ([`lang_flags`] commutes with OR).
    raw_or: u64,
    cue_or: u64,
    /// The AND of `raw` (all ones without words).
    raw_and: u64,
    /// The name rules' buffers, reused by every call (borrowed in place, without a
    /// thread-local lookup).
    names: std::cell::RefCell<names::Bufs>,
}

impl Prepared {
    /// Whether the text has a non-ASCII capital (what the fold saw).
    pub(crate) fn caps(&self) -> bool {
        self.caps
    }

    /// Whether the text has an ASCII digit (every one is inside a word, which the scan saw).
    pub(crate) fn digits(&self) -> bool {
        self.digits
    }

    /// Whether the text has an '@' (every one lies between words, where the scan saw it).
    pub(crate) fn at(&self) -> bool {
        self.at
    }

    /// What `numbers::Table::lookup` gives word `i` when the word table knows it (looked up
    /// once here, for every word of the text): `Some(None)` for no atoms, `Some(Some(_))` for
    /// one atom and its weakness; `None` when the word must be looked up (not a key, or glued
    /// from several atoms).
    #[inline]
    pub(crate) fn number_atom(&self, i: usize) -> Option<Option<(Atom, bool)>> {
        let f = *self.raw.get(i)?;
        if f & flag::KNOWN == 0 {
            return None;
        }
        if f & flag::NUM_ATOMS == 0 {
            return Some(None);
        }
        let c = *self.cue.get(i)?;
        Atom::unpack(c >> NUM_ATOM_SHIFT).map(Some)
    }

    /// The `langid::word_masks` bits of token `i`.
    pub(crate) fn langid_mask(&self, i: usize) -> u8 {
        self.raw.get(i).map_or(0, |f| ((f >> 40) & 0x7f) as u8)
    }

    /// The answer of [`crate::numbers::maybe_number`] for the prepared text, from the words
    /// already looked up (no second pass over the words).
    pub(crate) fn maybe_number(&self, text: &str) -> bool {
        // `text` is the text prepared: the fold saw its non-ASCII capitals
        if self.caps {
            return true;
        }
        // Without non-ASCII capitals a folded word is the ASCII-lower-cased word. Every pattern
        // of the substring automaton is alphanumeric, so a match lies inside one word: a known
        // word carries the answer in `INSIDE`, and only the unknown words go through the
        // automaton, each on its own (the known words between them are not scanned).
        // The OR and AND of the words' bits settle most lines without a pass over the words:
        // a strong number word anywhere answers yes (as the loop below would at that word);
        // without one, and without weak number words, only unknown words can answer yes.
        if self.raw_or & (flag::NUM_SHORT | flag::INSIDE) != 0 {
            return true;
        }
        if self.raw_or & flag::NUM_WEAK == 0 && self.raw_and & flag::KNOWN != 0 {
            // (every word known: the loop would skip them all)
            return self.toks.is_empty() && crate::numbers::strong_inside(text);
        }
        self.maybe_number_by_word(text)
    }

    /// [`Prepared::maybe_number`] of a text without non-ASCII capitals, word by word.
    fn maybe_number_by_word(&self, text: &str) -> bool {
        let mut weak_end: Option<usize> = None;
        // Most words are known and no number word: they only end a weak pair. Test that on the
        // flags alone and look at the token only for the others.
        let raw = self.raw.get(..self.toks.len()).unwrap_or(&self.raw);
        for (i, &f) in raw.iter().enumerate() {
            if f & (flag::KNOWN | flag::NUM_SHORT | flag::INSIDE | flag::NUM_WEAK) == flag::KNOWN {
                weak_end = None;
                continue;
            }
            if f & (flag::NUM_SHORT | flag::INSIDE) != 0 {
                return true;
            }
            let Some(t) = self.toks.get(i) else {
                break;
            };
            if f & flag::KNOWN == 0
                && text
                    .as_bytes()
                    .get(t.s..t.e)
                    .is_none_or(crate::numbers::strong_inside_word)
            {
                return true;
            }
            if f & flag::NUM_WEAK != 0 {
                // two weak words in a row ("en to", "nul to en") can be a number
                if weak_end.is_some_and(|le| t.s - le <= 4) {
                    return true;
                }
                weak_end = Some(t.e);
            } else {
                weak_end = None;
            }
        }
        // no word at all: the automaton over the text (answers `true` when it is missing)
        self.toks.is_empty() && crate::numbers::strong_inside(text)
    }
}

thread_local! {
    static PREPARED: std::cell::RefCell<Prepared> = std::cell::RefCell::new(Prepared::default());
}

/// Word-list recognisers, built once and shared (Send + Sync).
#[derive(Debug)]
pub struct Lexical {
    cues: Vec<LangCues>,
    first: WordSet,
    sur: WordSet,
    cities: PhraseSet,
    streets: address::Streets,
    special: special::Special,
    word_flags: crate::wordtable::WordTable<(u64, u64)>,
}

impl Default for Lexical {
    fn default() -> Self {
        Self::new()
    }
}

/// The per-language [`flag`] bits of a word of language `li`, from its `word_flags` bits `f` and
/// its name cue bits `c`. Every bit of the result is one bit of `f` or `c`, so the bits of an OR
/// of words are the OR of their bits (what [`Doc::any`] relies on).
#[inline(always)]
fn lang_flags(f: u64, c: u64, li: usize) -> u64 {
    // After one shift by `li` the language's stop, filler, cue and short-term bits lie at
    // bits 16, 24, 32 and 48 for every language; each moves to its `Doc` bit with a fixed
    // shift and mask (no per-bit branch or select).
    const _: () = assert!(
        flag::lang_stop(0) == 1 << 16
            && flag::lang_filler(0) == 1 << 24
            && flag::lang_cue(0) == 1 << 32
            && flag::lang_short_term(0) == 1 << 48
            && flag::STOP == 1 << 8
            && flag::FILLER == 1 << 9
            && flag::NAME_CUE == 1 << 10
            && flag::SHORT_TERM == 1 << 15
            && flag::lang_cue_sets(1) == 0x7f << flag::CUE_BITS
            && CUE_SETS == 0x7f << 16
    );
    let h = f >> li;
    (f & LANG_BASE)
        | (((c >> (li * flag::CUE_BITS)) & 0x7f) << 16)
        | ((h >> 8) & flag::STOP)
        | ((h >> 15) & flag::FILLER)
        | ((h >> 22) & flag::NAME_CUE)
        | ((h >> 33) & flag::SHORT_TERM)
}

/// The `word_flags` bits that [`lang_flags`] keeps as they are.
const LANG_BASE: u64 = 0xff | flag::ADDR_CUE | flag::TERM_STRONG;
/// The [`lang_flags`] bits taken from the name cue bits.
const CUE_SETS: u64 = 0x7f << 16;

impl<'a> Doc<'a> {
    /// `text` as prepared in `p`, for language `li`.
    fn new(text: &'a str, p: &'a Prepared, li: usize) -> Self {
        let toks = p.toks.as_slice();
        Doc {
            text,
            toks,
            words: Words {
                folded: p.folded.as_str(),
                toks,
            },
            raw: &p.raw,
            cue: &p.cue,
            li,
            any: lang_flags(p.raw_or, p.cue_or, li),
            letters: p.letters,
            digits: p.digits,
            mixed: p.mixed,
        }
    }

    /// The [`flag`] bits of token `i` (0 past the end). Computed per call rather than stored
    /// for every word: most lines ask for a few words only. Asking only for bits outside
    /// [`CUE_SETS`] (a constant `mask`, once inlined) reads no cue bits.
    #[inline(always)]
    fn flag_masked(&self, i: usize, mask: u64) -> u64 {
        let Some(&f) = self.raw.get(i) else {
            return 0;
        };
        let c = if mask & CUE_SETS != 0 {
            self.cue.get(i).copied().unwrap_or(0)
        } else {
            0
        };
        lang_flags(f, c, self.li) & mask
    }

    #[inline]
    pub fn has(&self, i: usize, f: u64) -> bool {
        self.flag_masked(i, f) != 0
    }

    /// The [`flag`] bits of every token, in order.
    pub fn flags(&self) -> impl Iterator<Item = u64> + '_ {
        let li = self.li;
        self.raw
            .iter()
            .zip(self.cue)
            .map(move |(&f, &c)| lang_flags(f, c, li))
    }

    /// Word `i` is known and no street compound, strong or weak (`STREETISH` unset): the
    /// suffix tests of `address::Streets` would answer no.
    pub fn plain_non_street(&self, i: usize) -> bool {
        self.raw
            .get(i)
            .is_some_and(|&f| f & (flag::KNOWN | flag::STREETISH) == flag::KNOWN)
    }
}

/// The folded words of a text, cut on demand from the folded text by the token offsets
/// (instead of a vector of slices built per call and language).
#[derive(Clone, Copy)]
pub(crate) struct Words<'a> {
    folded: &'a str,
    toks: &'a [Tok],
}

impl<'a> Words<'a> {
    /// The folded word of token `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let t = self.toks.get(i)?;
        // `fold` keeps every character's byte length, so token offsets are valid in both.
        Some(self.folded.get(t.s..t.e).unwrap_or(""))
    }
}

/// One text, prepared once per call.
pub(crate) struct Doc<'a> {
    pub text: &'a str,
    pub toks: &'a [Tok],
    pub words: Words<'a>,
    /// `word_flags` bits per token, as looked up (all languages).
    pub raw: &'a [u64],
    /// The name cue bits per token, as looked up (all languages).
    cue: &'a [u64],
    /// The language's index (`data::lang_index`): which bits of `raw` and `cue` are its own.
    li: usize,
    /// The OR of every token's [`flag`] bits: which kinds of word occur at all.
    pub any: u64,
    /// Some word is a single letter.
    pub letters: bool,
    /// Some word has a digit.
    pub digits: bool,
    /// Capitals carry information (the text is not all lower or all upper case).
    pub mixed: bool,
}

impl Lexical {
    pub fn new() -> Self {
        let cues: Vec<LangCues> = data::CUES.iter().map(|s| LangCues::parse(s)).collect();
        let mut all_stop = WordSet::default();
        for c in &cues {
            all_stop.extend(c.stop.iter().cloned());
        }
        let first = word_set(data::FIRST_NAMES.iter().flat_map(|s| lines(s)));
        let sur = word_set(data::SURNAMES.iter().flat_map(|s| lines(s)));
        let ambiguous = word_set(lines(data::AMBIGUOUS_NAMES));
        let cities = PhraseSet::new(data::CITIES.iter().flat_map(|s| lines(s)));
        let number_words = word_set(lines(data::NUMBER_WORDS));
        let streets = address::Streets::parse(data::STREETS);
        let special = special::Special::build();
        let mut word_flags: data::FxMap<String, u64> = data::FxMap::default();
        let mut set = |w: &str, b: u64| *word_flags.entry(w.to_owned()).or_insert(0) |= b;
        for w in &first {
            set(w, flag::FIRST);
        }
        for w in &sur {
            set(w, flag::SUR);
        }
        for w in &ambiguous {
            set(w, flag::AMB);
        }
        for w in &all_stop {
            set(w, flag::ALL_STOP);
        }
        for w in streets.street_words() {
            set(w, flag::STREET_WORD);
        }
        for w in streets.type_words() {
            set(w, flag::TYPE_WORD);
        }
        for w in special.term_words() {
            set(w, flag::TERM);
        }
        for w in special.strong_term_words() {
            set(w, flag::TERM_STRONG);
        }
        for (li, w) in special.short_words() {
            set(w, flag::lang_short_term(li));
        }
        for w in &number_words {
            set(w, flag::NUM_WORD);
        }
        for w in streets.cue_first_words() {
            set(w, flag::ADDR_CUE);
        }
        for (w, mask) in crate::langid::word_masks() {
            set(w, flag::langid(mask));
        }
        for (w, class) in crate::numbers::whole_words() {
            set(
                &w,
                if class == 1 {
                    flag::NUM_SHORT
                } else {
                    flag::NUM_WEAK
                },
            );
        }
        for (li, c) in cues.iter().enumerate() {
            for w in &c.stop {
                set(w, flag::lang_stop(li));
            }
            for w in &c.filler {
                set(w, flag::lang_filler(li));
            }
            for set_ in [&c.name_strong, &c.name_weak, &c.honorific, &c.spell] {
                for w in set_.first_words() {
                    set(w, flag::lang_cue(li));
                }
            }
        }
        // The second words of the name cues must be keys too, for their `CUE_NEXT` bit.
        for c in &cues {
            for set_ in [&c.name_strong, &c.honorific, &c.name_weak] {
                for w in set_.second_words() {
                    word_flags.entry(w.to_owned()).or_insert(0);
                }
            }
        }
        let mut atoms = Vec::new();
        for (w, f) in word_flags.iter_mut() {
            *f |= flag::KNOWN;
            if crate::numbers::strong_inside(w) {
                *f |= flag::INSIDE;
            }
            if streets.is_street_compound(w) || streets.is_weak_compound(w) {
                *f |= flag::STREETISH;
            }
            if crate::numbers::TABLE.lookup(w, &mut atoms) || !atoms.is_empty() {
                *f |= flag::NUM_ATOMS;
            }
            for li in 0..data::LANGS.len() {
                if special.may_start(li, w) {
                    *f |= flag::special_start(li);
                }
            }
        }
        // The second words of each language's name cues, looked up per word (instead of a
        // scan of every phrase of each set for each word).
        let seconds: Vec<rustc_hash::FxHashSet<&str>> = cues
            .iter()
            .map(|lc| {
                [&lc.name_strong, &lc.honorific, &lc.name_weak]
                    .into_iter()
                    .flat_map(|set| set.second_words())
                    .collect()
            })
            .collect();
        // Which name cue sets may start at each word: the cue loop asks only those. A number
        // word of one atom carries that atom above them (no table lookup per occurrence).
        let word_flags =
            crate::wordtable::WordTable::build(word_flags.into_iter().map(|(w, f)| {
                let mut c = 0u64;
                if f & flag::NUM_ATOMS != 0 {
                    let weak = crate::numbers::TABLE.lookup(&w, &mut atoms);
                    if let [a] = atoms.as_slice() {
                        c |= a.pack(weak) << NUM_ATOM_SHIFT;
                    }
                }
                for ((li, lc), seconds) in cues.iter().enumerate().zip(&seconds) {
                    let base = li * flag::CUE_BITS;
                    let sets = [&lc.name_strong, &lc.honorific, &lc.name_weak];
                    for (k, set) in sets.into_iter().enumerate() {
                        if set.may_start(&w) {
                            c |= 1 << (base + k);
                        }
                        if set.has(&w) {
                            c |= 1 << (base + 3 + k);
                        }
                    }
                    if seconds.contains(w.as_str()) {
                        c |= 1 << (base + 6);
                    }
                }
                (w, (f, c))
            }));
        Lexical {
            cues,
            first,
            sur,
            cities,
            streets,
            special,
            word_flags,
        }
    }

    /// Appends person_name, address and special-category candidates (byte offsets).
    pub fn find(&self, text: &str, lang: Lang, out: &mut Vec<Candidate>) {
        self.find_langs(text, &[lang], out);
    }

    /// [`Lexical::find`] for several languages: the text is folded, tokenized and looked up
    /// once, then each language's recognisers run over the shared result.
    pub fn find_langs(&self, text: &str, langs: &[Lang], out: &mut Vec<Candidate>) {
        self.with_prepared(text, |p| {
            for &l in langs {
                self.find_prepared(text, p, l, out);
            }
        });
    }

    /// Runs `f` over `text` folded, tokenized and looked up once, in this thread's reused
    /// buffers.
    pub(crate) fn with_prepared<R>(&self, text: &str, f: impl FnOnce(&Prepared) -> R) -> R {
        PREPARED.with(|p| match p.try_borrow_mut() {
            Ok(mut p) => {
                self.prepare(text, &mut p);
                f(&p)
            }
            Err(_) => {
                let mut p = Prepared::default();
                self.prepare(text, &mut p);
                f(&p)
            }
        })
    }

    /// Folds, tokenizes and looks up every word of `text` once.
    fn prepare(&self, text: &str, p: &mut Prepared) {
        let seen = text::scan(text, &mut p.folded, &mut p.toks);
        // The words are looked up in a loop of their own, over slices of the words' length:
        // no capacity test per word, and the scan keeps its registers.
        let n = p.toks.len();
        p.raw.resize(n, 0);
        p.cue.resize(n, 0);
        (p.raw_or, p.cue_or, p.raw_and) =
            look_up_words(&self.word_flags, &p.folded, &p.toks, &mut p.raw, &mut p.cue);
        p.caps = seen.caps;
        p.mixed = text::mixed_case_after(text, seen);
        p.letters = seen.letter;
        p.digits = seen.digit;
        p.at = seen.at;
        // a word is not white space: only a text without words needs the trim
        p.blank = p.toks.is_empty() && text.trim().is_empty();
    }

    /// One language's names, addresses and special categories over a prepared text.
    pub(crate) fn find_prepared(
        &self,
        text: &str,
        p: &Prepared,
        lang: Lang,
        out: &mut Vec<Candidate>,
    ) {
        if p.blank {
            return;
        }
        let folded = p.folded.as_str();
        let li = lang_index(lang);
        let doc = Doc::new(text, p, li);
        let flag_or = doc.any;
        let cues = self.cues.get(li).unwrap_or(&self.cues[0]);
        let n0 = out.len();
        // Every name rule starts at a name cue, a known first name or a single letter (spelled):
        // a text without any has no name (most texts).
        if flag_or & (flag::NAME_CUE | flag::FIRST) != 0 || doc.letters {
            let mut own = None;
            let mut held = p.names.try_borrow_mut().ok();
            let bufs = match held.as_deref_mut() {
                Some(b) => b,
                None => own.insert(names::Bufs::default()),
            };
            names::find(self, cues, &doc, bufs, out);
        }
        let n1 = out.len();
        address::find(self, cues, &doc, out);
        let mut terms: Vec<(usize, usize)> = Vec::new();
        self.special.find(cues, lang, &doc, folded, out, &mut terms);
        // A capitalised pair that is really a special-category term ("Dansk Metal", "Zeuge
        // Jehovas"), personal or not, is not a name unless it starts with a known first name.
        if !terms.is_empty() && n1 > n0 {
            let specials = terms;
            let mut k = 0usize;
            out.retain(|c| {
                let idx = k;
                k += 1;
                if idx < n0 || idx >= n1 {
                    return true;
                }
                let overlaps = specials.iter().any(|&(a, b)| c.start < b && a < c.end);
                if !overlaps {
                    return true;
                }
                let ti = doc.toks.partition_point(|t| t.e <= c.start);
                doc.has(ti, flag::FIRST)
            });
        }
    }
}

/// The table values of every word of a text into `raw` and `cue` (as long as `toks`), and the
/// OR of each and the AND of `raw`. A function of its own: inlined into [`Lexical::prepare`],
/// the loop shared the registers with the code around it and kept its state on the stack.
#[inline(never)]
fn look_up_words(
    table: &crate::wordtable::WordTable<(u64, u64)>,
    folded: &str,
    toks: &[Tok],
    raw: &mut [u64],
    cue: &mut [u64],
) -> (u64, u64, u64) {
    let (mut raw_or, mut cue_or, mut raw_and) = (0u64, 0u64, u64::MAX);
    for ((t, f), c) in toks.iter().zip(raw).zip(cue) {
        let (r, q) = table.get_at(folded, t.s, t.e).unwrap_or((0, 0));
        (*f, *c) = (r, q);
        raw_or |= r;
        cue_or |= q;
        raw_and &= r;
    }
    (raw_or, cue_or, raw_and)
}

#[cfg(test)]
mod tests;
