//! The compiled-in word lists (`data/`) and the small structures built from them.

use sotto_core::{Kind, Lang};
use std::collections::HashMap;

use super::text::fold;

pub const LANGS: [Lang; 7] = Lang::ALL;

pub fn lang_index(l: Lang) -> usize {
    match l {
        Lang::Da => 0,
        Lang::Sv => 1,
        Lang::Nb => 2,
        Lang::Fi => 3,
        Lang::Et => 4,
        Lang::De => 5,
        Lang::En => 6,
    }
}

/// Fast hashing for the compiled-in word tables (keys are ours, lookups only).
pub type WordSet = rustc_hash::FxHashSet<String>;
pub type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Cue files, in `Lang::ALL` order.
pub const CUES: [&str; 7] = [
    include_str!("../../data/cues/da.txt"),
    include_str!("../../data/cues/sv.txt"),
    include_str!("../../data/cues/nb.txt"),
    include_str!("../../data/cues/fi.txt"),
    include_str!("../../data/cues/et.txt"),
    include_str!("../../data/cues/de.txt"),
    include_str!("../../data/cues/en.txt"),
];

pub const FIRST_NAMES: [&str; 7] = [
    include_str!("../../data/names/first_da.txt"),
    include_str!("../../data/names/first_sv.txt"),
    include_str!("../../data/names/first_nb.txt"),
    include_str!("../../data/names/first_fi.txt"),
    include_str!("../../data/names/first_et.txt"),
    include_str!("../../data/names/first_de.txt"),
    include_str!("../../data/names/first_en.txt"),
];

pub const SURNAMES: [&str; 7] = [
    include_str!("../../data/names/surname_da.txt"),
    include_str!("../../data/names/surname_sv.txt"),
    include_str!("../../data/names/surname_nb.txt"),
    include_str!("../../data/names/surname_fi.txt"),
    include_str!("../../data/names/surname_et.txt"),
    include_str!("../../data/names/surname_de.txt"),
    include_str!("../../data/names/surname_en.txt"),
];

pub const AMBIGUOUS_NAMES: &str = include_str!("../../data/names/ambiguous.txt");

pub const CITIES: [&str; 7] = [
    include_str!("../../data/cities/da.txt"),
    include_str!("../../data/cities/sv.txt"),
    include_str!("../../data/cities/nb.txt"),
    include_str!("../../data/cities/fi.txt"),
    include_str!("../../data/cities/et.txt"),
    include_str!("../../data/cities/de.txt"),
    include_str!("../../data/cities/en.txt"),
];

pub const STREETS: &str = include_str!("../../data/address/streets.txt");
pub const NUMBER_WORDS: &str = include_str!("../../data/numbers/words.txt");

macro_rules! special_files {
    ($kind:literal) => {
        [
            include_str!(concat!("../../data/special/", $kind, "/da.txt")),
            include_str!(concat!("../../data/special/", $kind, "/sv.txt")),
            include_str!(concat!("../../data/special/", $kind, "/nb.txt")),
            include_str!(concat!("../../data/special/", $kind, "/fi.txt")),
            include_str!(concat!("../../data/special/", $kind, "/et.txt")),
            include_str!(concat!("../../data/special/", $kind, "/de.txt")),
            include_str!(concat!("../../data/special/", $kind, "/en.txt")),
        ]
    };
}

/// Special-category lexicons: (kind, files in `Lang::ALL` order).
pub fn special_lexicons() -> [(Kind, [&'static str; 7]); 8] {
    [
        (Kind::Health, special_files!("health")),
        (Kind::Religion, special_files!("religion")),
        (Kind::PoliticalOpinion, special_files!("political_opinion")),
        (Kind::EthnicOrigin, special_files!("ethnic_origin")),
        (Kind::TradeUnion, special_files!("trade_union")),
        (
            Kind::SexualOrientation,
            special_files!("sexual_orientation"),
        ),
        (Kind::Genetic, special_files!("genetic")),
        (Kind::Biometric, special_files!("biometric")),
    ]
}

/// Non-comment, non-empty lines, trimmed.
pub fn lines(src: &str) -> impl Iterator<Item = &str> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Splits a sectioned file (`[name]` headers) into its sections.
pub fn sections(src: &str) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut cur = "";
    for l in lines(src) {
        if l.starts_with('[') && l.ends_with(']') && l.len() > 2 {
            cur = &l[1..l.len() - 1];
            out.entry(cur).or_default();
        } else {
            out.entry(cur).or_default().push(l);
        }
    }
    out
}

/// The words of a phrase the way the tokenizer sees them: folded, split on non-alphanumerics.
pub fn words_of(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A set of word sequences, looked up by their first word. Single words ending in `*` match any
/// word with that prefix.
#[derive(Debug, Default)]
pub struct PhraseSet {
    map: FxMap<String, Vec<Vec<String>>>,
    prefixes: Vec<String>,
}

impl PhraseSet {
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = PhraseSet::default();
        for e in entries {
            if let Some(p) = e.strip_suffix('*') {
                let f = fold(p);
                if !f.is_empty() && !f.contains(' ') {
                    set.prefixes.push(f);
                    continue;
                }
            }
            let w = words_of(e);
            if let Some(first) = w.first() {
                set.map.entry(first.clone()).or_default().push(w);
            }
        }
        for v in set.map.values_mut() {
            v.sort_by_key(|p| std::cmp::Reverse(p.len()));
        }
        set
    }

    /// The first words of all phrases (prefix entries excluded).
    pub fn first_words(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Can [`PhraseSet::match_at`] match at a position whose word is `w`? (The first word of
    /// a phrase, or a word with one of the prefixes.)
    pub fn may_start(&self, w: &str) -> bool {
        self.map.contains_key(w)
            || self
                .prefixes
                .iter()
                .any(|p| w.len() > p.len() && w.starts_with(p.as_str()))
    }

    /// The second words of the phrases of two words or more.
    pub fn second_words(&self) -> impl Iterator<Item = &str> {
        self.map
            .values()
            .flatten()
            .filter_map(|p| p.get(1).map(String::as_str))
    }

    /// Is this single word in the set (as a one-word phrase or by prefix)?
    pub fn has(&self, w: &str) -> bool {
        if let Some(v) = self.map.get(w) {
            if v.iter().any(|p| p.len() == 1) {
                return true;
            }
        }
        self.prefixes
            .iter()
            .any(|p| w.len() > p.len() && w.starts_with(p.as_str()))
    }

    /// Longest phrase starting at `seq[pos]`; `words[i]` is the folded word of token i and
    /// `brk(i)` tells whether a break precedes token i (phrases never cross one).
    pub fn match_at(
        &self,
        words: &super::Words<'_>,
        seq: &[usize],
        pos: usize,
        brk: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        let first = seq.get(pos).and_then(|&t| words.get(t))?;
        if let Some(cands) = self.map.get(first) {
            'outer: for p in cands {
                for (k, pw) in p.iter().enumerate().skip(1) {
                    let Some(&t) = seq.get(pos + k) else {
                        continue 'outer;
                    };
                    if brk(t) || words.get(t).is_none_or(|w| w != pw.as_str()) {
                        continue 'outer;
                    }
                }
                return Some(p.len());
            }
        }
        if self
            .prefixes
            .iter()
            .any(|p| first.len() > p.len() && first.starts_with(p.as_str()))
        {
            return Some(1);
        }
        None
    }
}

pub fn word_set<'a>(entries: impl IntoIterator<Item = &'a str>) -> WordSet {
    entries
        .into_iter()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect()
}
