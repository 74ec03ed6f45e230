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

use std::collections::HashSet;

use crate::span::Candidate;
use sotto_core::Lang;

use data::{lang_index, lines, sections, word_set, PhraseSet};
pub use text::{fold, tokenize, Tok};

/// Cue words of one language.
#[derive(Debug, Default)]
struct LangCues {
    name_strong: PhraseSet,
    name_weak: PhraseSet,
    honorific: PhraseSet,
    spell: PhraseSet,
    filler: HashSet<String>,
    stop: HashSet<String>,
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

/// Word-list recognisers, built once and shared (Send + Sync).
#[derive(Debug)]
pub struct Lexical {
    cues: Vec<LangCues>,
    /// Function words of every language (a name is never one of these).
    all_stop: HashSet<String>,
    first: HashSet<String>,
    sur: HashSet<String>,
    ambiguous: HashSet<String>,
    cities: PhraseSet,
    streets: address::Streets,
    number_words: HashSet<String>,
    special: special::Special,
}

impl Default for Lexical {
    fn default() -> Self {
        Self::new()
    }
}

/// One text, prepared once per call.
pub(crate) struct Doc<'a> {
    pub text: &'a str,
    pub toks: Vec<Tok>,
    pub words: Vec<&'a str>,
    /// Capitals carry information (the text is not all lower or all upper case).
    pub mixed: bool,
}

impl Lexical {
    pub fn new() -> Self {
        let cues: Vec<LangCues> = data::CUES.iter().map(|s| LangCues::parse(s)).collect();
        let mut all_stop = HashSet::new();
        for c in &cues {
            all_stop.extend(c.stop.iter().cloned());
        }
        let first = word_set(data::FIRST_NAMES.iter().flat_map(|s| lines(s)));
        let sur = word_set(data::SURNAMES.iter().flat_map(|s| lines(s)));
        let ambiguous = word_set(lines(data::AMBIGUOUS_NAMES));
        let cities = PhraseSet::new(data::CITIES.iter().flat_map(|s| lines(s)));
        let number_words = word_set(lines(data::NUMBER_WORDS));
        Lexical {
            cues,
            all_stop,
            first,
            sur,
            ambiguous,
            cities,
            streets: address::Streets::parse(data::STREETS),
            number_words,
            special: special::Special::build(),
        }
    }

    /// Appends person_name, address and special-category candidates (byte offsets).
    pub fn find(&self, text: &str, lang: Lang, out: &mut Vec<Candidate>) {
        if text.trim().is_empty() {
            return;
        }
        let folded = fold(text);
        let toks = tokenize(text);
        // `fold` keeps every character's byte length, so token offsets are valid in both.
        let words: Vec<&str> = toks
            .iter()
            .map(|t| folded.get(t.s..t.e).unwrap_or(""))
            .collect();
        let doc = Doc {
            text,
            toks,
            words,
            mixed: text::mixed_case(text),
        };
        let cues = self.cues.get(lang_index(lang)).unwrap_or(&self.cues[0]);
        names::find(self, cues, &doc, out);
        address::find(self, cues, &doc, out);
        self.special.find(cues, lang, &doc, &folded, out);
    }
}

#[cfg(test)]
mod tests;
