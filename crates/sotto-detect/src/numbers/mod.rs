//! Spoken-number grammars for da, sv, nb, fi, et, de, en.
//!
//! Every number word of the seven languages — units, teens, tens, their one-word compounds
//! ("fyrtiofem", "einundvierzig", "neljäkymmentäviisi", "femoghalvtreds"), hundreds, thousands,
//! "double"/"dobbelt", connectors ("og", "und", "and", "ja") — maps to an [`Atom`]. Words that are
//! not in the table but are glued from table words ("totusenogtjueni",
//! "neunzehnhundertsechsundsechzig", "tjugotjugofem") are split into atoms. [`compose`] turns a
//! sequence of atoms into digit groups the way people read numbers out: digit by digit, in pairs,
//! in years ("nineteen forty-five", "to tusind og femogtyve").

use crate::wordtable::WordTable;
use once_cell::sync::Lazy;

/// HashMap with FxHash: fast, non-cryptographic — fine for the compiled-in word tables (keys
/// are ours, not attacker-chosen; a line's words are looked up, never inserted).
pub type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;
/// HashSet with FxHash.
pub type FxSet<K> = rustc_hash::FxHashSet<K>;

/// One number word (or part of a glued word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atom {
    /// 0–9
    Unit(u8),
    /// 10–19
    Teen(u8),
    /// 20, 30, … 90
    Tens(u8),
    /// 21–99 said as one word
    Compound(u8),
    /// ×100
    Hundred,
    /// ×1000
    Thousand,
    /// "double" (2) / "triple" (3): repeat the next digit
    Repeat(u8),
    /// "og", "und", "and", "och", "ja": glue inside a number
    And,
}

impl Atom {
    /// The atom and its weakness in 13 bits, never 0 ([`Atom::unpack`] reverses it): a word
    /// table carries a known number word's lookup in them.
    pub(crate) fn pack(self, weak: bool) -> u64 {
        let (k, v) = match self {
            Atom::Unit(v) => (0, v),
            Atom::Teen(v) => (1, v),
            Atom::Tens(v) => (2, v),
            Atom::Compound(v) => (3, v),
            Atom::Hundred => (4, 0),
            Atom::Thousand => (5, 0),
            Atom::Repeat(v) => (6, v),
            Atom::And => (7, 0),
        };
        1 | (u64::from(weak) << 1) | (k << 2) | (u64::from(v) << 5)
    }

    /// What [`Atom::pack`] packed (the low 13 bits of `x`), or `None` for 0.
    pub(crate) fn unpack(x: u64) -> Option<(Atom, bool)> {
        if x & 1 == 0 {
            return None;
        }
        let v = ((x >> 5) & 0xff) as u8;
        let a = match (x >> 2) & 7 {
            0 => Atom::Unit(v),
            1 => Atom::Teen(v),
            2 => Atom::Tens(v),
            3 => Atom::Compound(v),
            4 => Atom::Hundred,
            5 => Atom::Thousand,
            6 => Atom::Repeat(v),
            _ => Atom::And,
        };
        Some((a, x & 2 != 0))
    }

    pub fn is_value(self) -> bool {
        matches!(
            self,
            Atom::Unit(_) | Atom::Teen(_) | Atom::Tens(_) | Atom::Compound(_)
        )
    }
}

/// Word → atom, plus whether the word is "weak" (also a common non-number word: "en", "to",
/// "one", "oh", "sex", "fire", "ni", "elf"): weak words count only next to another number.
pub struct Table {
    words: FxMap<String, (Atom, bool)>,
    /// The same words in a table with keys of up to 16 bytes stored inline: one multiply to
    /// hash, two compares to match (no string hashing). `None` is the table's empty value.
    inline: WordTable<Option<(Atom, bool)>>,
    /// 3-byte suffixes of every table word (cheap reject before splitting a glued word; the
    /// 2-byte prefixes are `pairs`' first pairs).
    suffixes: FxSet<[u8; 3]>,
    /// First and last byte pairs of the table words: rejects most words without hashing.
    pairs: PairSet,
}

fn len_bit(n: usize) -> u64 {
    1u64 << n.min(63)
}

/// Bit sets over every (byte, byte) pair: the first two and the last two bytes of a word list's
/// words of two bytes or more. A word whose pair is missing from either is not in the list, nor
/// glued from its words (those start with a word's start and end with one's end).
pub(crate) struct PairSet {
    first2: Box<[u64; 1024]>,
    last2: Box<[u64; 1024]>,
    /// Per first byte and per last byte, the lengths (bit `min(len, 63)`) of the words.
    len_by_first: Box<[u64; 256]>,
    len_by_last: Box<[u64; 256]>,
}

impl PairSet {
    pub(crate) fn of<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut first2 = Box::new([0u64; 1024]);
        let mut last2 = Box::new([0u64; 1024]);
        let mut len_by_first = Box::new([0u64; 256]);
        let mut len_by_last = Box::new([0u64; 256]);
        for w in words {
            if let (Some(&f), Some(&l)) = (w.first(), w.last()) {
                if let Some(m) = len_by_first.get_mut(usize::from(f)) {
                    *m |= len_bit(w.len());
                }
                if let Some(m) = len_by_last.get_mut(usize::from(l)) {
                    *m |= len_bit(w.len());
                }
            }
            if let [a, b, ..] = w {
                set_pair_bit(&mut first2, *a, *b);
            }
            if let [.., a, b] = w {
                set_pair_bit(&mut last2, *a, *b);
            }
        }
        Self {
            first2,
            last2,
            len_by_first,
            len_by_last,
        }
    }

    /// False only when no word of the list has `w`'s length with its first byte, or with its
    /// last (so `w` is not one of them; it may still be glued from them).
    pub(crate) fn len_ok(&self, w: &[u8]) -> bool {
        let (Some(&f), Some(&l)) = (w.first(), w.last()) else {
            return false;
        };
        let lb = len_bit(w.len());
        self.len_by_first
            .get(usize::from(f))
            .is_some_and(|m| m & lb != 0)
            && self
                .len_by_last
                .get(usize::from(l))
                .is_some_and(|m| m & lb != 0)
    }

    /// False only when `w` (two bytes or more) cannot be a word of the list, nor glued from them.
    pub(crate) fn maybe(&self, w: &[u8]) -> bool {
        match (w, w) {
            ([p0, p1, ..], [.., s0, s1]) => {
                pair_bit(&self.first2, *p0, *p1) && pair_bit(&self.last2, *s0, *s1)
            }
            _ => true,
        }
    }
}

fn pair_bit(set: &[u64; 1024], x: u8, y: u8) -> bool {
    let k = usize::from(x) << 8 | usize::from(y);
    set.get(k >> 6).is_some_and(|w| w >> (k & 63) & 1 == 1)
}

fn set_pair_bit(set: &mut [u64; 1024], x: u8, y: u8) {
    let k = usize::from(x) << 8 | usize::from(y);
    if let Some(w) = set.get_mut(k >> 6) {
        *w |= 1 << (k & 63);
    }
}

const WEAK: &[&str] = &[
    "en", "et", "ett", "ein", "eine", "one", "to", "o", "oh", "sex", "fire", "ni", "elf", "tres",
    "kuus", "viis", "neli", "and", "og", "und", "och", "ja", "i", "a", "ti", "tie", "tio", "kaks",
    "acht", "null", "nul", "noll", "nolla", "zero", "sata", "sada", "so",
];

struct LangNums {
    units: &'static [(&'static str, u8)],
    teens: &'static [(&'static str, u8)],
    tens: &'static [(&'static str, u8)],
    /// one-word compounds: tens+unit ("fyrtiofem") and/or unit+link+tens ("femogfyrre")
    tens_unit: bool,
    unit_link_tens: &'static [&'static str],
    hundred: &'static [&'static str],
    thousand: &'static [&'static str],
    repeat: &'static [(&'static str, u8)],
    and: &'static [&'static str],
}

const DA: LangNums = LangNums {
    units: &[
        ("nul", 0),
        ("en", 1),
        ("et", 1),
        ("én", 1),
        ("to", 2),
        ("tre", 3),
        ("fire", 4),
        ("fem", 5),
        ("seks", 6),
        ("syv", 7),
        ("otte", 8),
        ("ni", 9),
    ],
    teens: &[
        ("ti", 10),
        ("elleve", 11),
        ("tolv", 12),
        ("tretten", 13),
        ("fjorten", 14),
        ("femten", 15),
        ("seksten", 16),
        ("sytten", 17),
        ("atten", 18),
        ("nitten", 19),
    ],
    tens: &[
        ("tyve", 20),
        ("tredive", 30),
        ("fyrre", 40),
        ("fyrretyve", 40),
        ("halvtreds", 50),
        ("halvtredsindstyve", 50),
        ("tres", 60),
        ("tresindstyve", 60),
        ("halvfjerds", 70),
        ("halvfjerdsindstyve", 70),
        ("firs", 80),
        ("firsindstyve", 80),
        ("halvfems", 90),
        ("halvfemsindstyve", 90),
    ],
    tens_unit: false,
    unit_link_tens: &["og"],
    hundred: &["hundrede", "hundred"],
    thousand: &["tusind", "tusinde"],
    repeat: &[("dobbelt", 2), ("tredobbelt", 3)],
    and: &["og"],
};
const SV: LangNums = LangNums {
    units: &[
        ("noll", 0),
        ("ett", 1),
        ("en", 1),
        ("två", 2),
        ("tre", 3),
        ("fyra", 4),
        ("fem", 5),
        ("sex", 6),
        ("sju", 7),
        ("åtta", 8),
        ("nio", 9),
        ("nie", 9),
    ],
    teens: &[
        ("tio", 10),
        ("elva", 11),
        ("tolv", 12),
        ("tretton", 13),
        ("fjorton", 14),
        ("femton", 15),
        ("sexton", 16),
        ("sjutton", 17),
        ("arton", 18),
        ("aderton", 18),
        ("nitton", 19),
    ],
    tens: &[
        ("tjugo", 20),
        ("tjuge", 20),
        ("trettio", 30),
        ("fyrtio", 40),
        ("förtio", 40),
        ("femtio", 50),
        ("sextio", 60),
        ("sjuttio", 70),
        ("åttio", 80),
        ("nittio", 90),
    ],
    tens_unit: true,
    unit_link_tens: &[],
    hundred: &["hundra"],
    thousand: &["tusen"],
    repeat: &[("dubbel", 2), ("dubbla", 2), ("trippel", 3), ("tripel", 3)],
    and: &["och"],
};
const NB: LangNums = LangNums {
    units: &[
        ("null", 0),
        ("en", 1),
        ("ett", 1),
        ("én", 1),
        ("ein", 1),
        ("to", 2),
        ("tre", 3),
        ("fire", 4),
        ("fem", 5),
        ("seks", 6),
        ("sju", 7),
        ("syv", 7),
        ("åtte", 8),
        ("ni", 9),
    ],
    teens: &[
        ("ti", 10),
        ("elleve", 11),
        ("tolv", 12),
        ("tretten", 13),
        ("fjorten", 14),
        ("femten", 15),
        ("seksten", 16),
        ("sytten", 17),
        ("atten", 18),
        ("nitten", 19),
    ],
    tens: &[
        ("tjue", 20),
        ("tyve", 20),
        ("tretti", 30),
        ("tredve", 30),
        ("førti", 40),
        ("femti", 50),
        ("seksti", 60),
        ("sytti", 70),
        ("åtti", 80),
        ("nitti", 90),
    ],
    tens_unit: true,
    unit_link_tens: &["og"],
    hundred: &["hundre"],
    thousand: &["tusen"],
    repeat: &[("dobbel", 2), ("dobbelt", 2), ("trippel", 3)],
    and: &["og"],
};
const FI: LangNums = LangNums {
    units: &[
        ("nolla", 0),
        ("yksi", 1),
        ("yks", 1),
        ("kaksi", 2),
        ("kaks", 2),
        ("kolme", 3),
        ("neljä", 4),
        ("viisi", 5),
        ("viis", 5),
        ("kuusi", 6),
        ("kuus", 6),
        ("seitsemän", 7),
        ("seittemän", 7),
        ("kahdeksan", 8),
        ("kaheksan", 8),
        ("yhdeksän", 9),
        ("yheksän", 9),
    ],
    teens: &[("kymmenen", 10), ("kymppi", 10)],
    tens: &[],
    tens_unit: true,
    unit_link_tens: &[],
    hundred: &["sata", "sataa"],
    thousand: &["tuhat", "tuhatta"],
    repeat: &[("tupla", 2), ("tripla", 3)],
    and: &["ja"],
};
const ET: LangNums = LangNums {
    units: &[
        ("null", 0),
        ("üks", 1),
        ("kaks", 2),
        ("kolm", 3),
        ("neli", 4),
        ("viis", 5),
        ("kuus", 6),
        ("seitse", 7),
        ("kaheksa", 8),
        ("üheksa", 9),
    ],
    teens: &[("kümme", 10)],
    tens: &[],
    tens_unit: true,
    unit_link_tens: &[],
    hundred: &["sada", "sadat"],
    thousand: &["tuhat", "tuhande"],
    repeat: &[("topelt", 2), ("kahekordne", 2)],
    and: &["ja"],
};
const DE: LangNums = LangNums {
    units: &[
        ("null", 0),
        ("eins", 1),
        ("ein", 1),
        ("eine", 1),
        ("zwei", 2),
        ("zwo", 2),
        ("drei", 3),
        ("vier", 4),
        ("fünf", 5),
        ("fuenf", 5),
        ("sechs", 6),
        ("sieben", 7),
        ("acht", 8),
        ("neun", 9),
    ],
    teens: &[
        ("zehn", 10),
        ("elf", 11),
        ("zwölf", 12),
        ("zwoelf", 12),
        ("dreizehn", 13),
        ("vierzehn", 14),
        ("fünfzehn", 15),
        ("sechzehn", 16),
        ("siebzehn", 17),
        ("achtzehn", 18),
        ("neunzehn", 19),
    ],
    tens: &[
        ("zwanzig", 20),
        ("dreißig", 30),
        ("dreissig", 30),
        ("vierzig", 40),
        ("fünfzig", 50),
        ("sechzig", 60),
        ("siebzig", 70),
        ("achtzig", 80),
        ("neunzig", 90),
    ],
    tens_unit: false,
    unit_link_tens: &["und"],
    hundred: &["hundert"],
    thousand: &["tausend"],
    repeat: &[
        ("doppel", 2),
        ("doppelt", 2),
        ("doppelte", 2),
        ("dreifach", 3),
    ],
    and: &["und"],
};
const EN: LangNums = LangNums {
    units: &[
        ("zero", 0),
        ("oh", 0),
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
    ],
    teens: &[
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("thirteen", 13),
        ("fourteen", 14),
        ("fifteen", 15),
        ("sixteen", 16),
        ("seventeen", 17),
        ("eighteen", 18),
        ("nineteen", 19),
    ],
    tens: &[
        ("twenty", 20),
        ("thirty", 30),
        ("forty", 40),
        ("fourty", 40),
        ("fifty", 50),
        ("sixty", 60),
        ("seventy", 70),
        ("eighty", 80),
        ("ninety", 90),
    ],
    tens_unit: true,
    unit_link_tens: &[],
    hundred: &["hundred"],
    thousand: &["thousand"],
    repeat: &[("double", 2), ("triple", 3)],
    and: &["and"],
};

const ALL: [&LangNums; 7] = [&DA, &SV, &NB, &FI, &ET, &DE, &EN];

fn build() -> Table {
    let mut w: FxMap<String, (Atom, bool)> = FxMap::default();
    let mut put = |s: String, a: Atom| {
        // first definition wins (languages disagree only on weak words)
        w.entry(s).or_insert((a, false));
    };
    for l in ALL {
        for &(s, v) in l.units {
            put(s.to_string(), Atom::Unit(v));
        }
        for &(s, v) in l.teens {
            put(s.to_string(), Atom::Teen(v));
        }
        for &(s, v) in l.tens {
            put(s.to_string(), Atom::Tens(v));
        }
        for s in l.hundred {
            put(s.to_string(), Atom::Hundred);
        }
        for s in l.thousand {
            put(s.to_string(), Atom::Thousand);
        }
        for &(s, v) in l.repeat {
            put(s.to_string(), Atom::Repeat(v));
        }
        for s in l.and {
            put(s.to_string(), Atom::And);
        }
        let units: Vec<(&str, u8)> = l.units.iter().copied().filter(|(_, v)| *v > 0).collect();
        if l.tens_unit {
            for &(t, tv) in l.tens {
                for &(u, uv) in &units {
                    put(format!("{t}{u}"), Atom::Compound(tv + uv));
                }
            }
        }
        for link in l.unit_link_tens {
            for &(t, tv) in l.tens {
                for &(u, uv) in &units {
                    let u = if u == "eins" { "ein" } else { u };
                    put(format!("{u}{link}{t}"), Atom::Compound(tv + uv));
                }
            }
        }
    }
    // Finnish: unit + "toista" (teens), unit + "kymmentä" (tens), tens + unit.
    let fi_units: &[(&str, u8)] = &[
        ("yksi", 1),
        ("kaksi", 2),
        ("kolme", 3),
        ("neljä", 4),
        ("viisi", 5),
        ("kuusi", 6),
        ("seitsemän", 7),
        ("kahdeksan", 8),
        ("yhdeksän", 9),
    ];
    for &(u, uv) in fi_units {
        put(format!("{u}toista"), Atom::Teen(10 + uv));
        if uv >= 2 {
            let t = format!("{u}kymmentä");
            put(t.clone(), Atom::Tens(uv * 10));
            for &(u2, uv2) in fi_units {
                put(format!("{t}{u2}"), Atom::Compound(uv * 10 + uv2));
            }
        }
    }
    // Estonian: unit + "teist" (teens), unit + "kümmend" (tens), tens + unit glued.
    let et_units: &[(&str, u8)] = &[
        ("üks", 1),
        ("kaks", 2),
        ("kolm", 3),
        ("neli", 4),
        ("viis", 5),
        ("kuus", 6),
        ("seitse", 7),
        ("kaheksa", 8),
        ("üheksa", 9),
    ];
    for &(u, uv) in et_units {
        put(format!("{u}teist"), Atom::Teen(10 + uv));
        if uv >= 2 {
            let t = format!("{u}kümmend");
            put(t.clone(), Atom::Tens(uv * 10));
            for &(u2, uv2) in et_units {
                put(format!("{t}{u2}"), Atom::Compound(uv * 10 + uv2));
            }
        }
    }
    for s in WEAK {
        if let Some(e) = w.get_mut(*s) {
            e.1 = true;
        }
    }
    let suffixes = w
        .keys()
        .filter_map(|k| {
            let b = k.as_bytes();
            let n = b.len();
            Some([*b.get(n.checked_sub(3)?)?, *b.get(n - 2)?, *b.get(n - 1)?])
        })
        .collect();
    let pairs = PairSet::of(w.keys().map(|k| k.as_bytes()));
    let inline = WordTable::build(w.iter().map(|(k, &v)| (k.clone(), Some(v))));
    Table {
        words: w,
        inline,
        suffixes,
        pairs,
    }
}

pub static TABLE: Lazy<Table> = Lazy::new(build);

/// The words [`maybe_number`] looks for: strong long ones anywhere (they may sit inside a glued
/// word), short strong and weak ones as whole words.
struct NumberWords {
    /// Strong words longer than three characters, and the long spoken "dot" words (searched
    /// with [`NumberWords::occurs`]).
    inside: aho_corasick::dfa::DFA,
    /// The same patterns as a dense table, stepped over one word by [`strong_inside_word`] (no
    /// search set-up per word); `None` where it does not fit (a test checks that it does).
    inside_dense: Option<InsideDense>,
    /// The byte length of the shortest of those patterns: a shorter word holds none.
    shortest_inside: usize,
    /// Whole words: 1 = strong and short ("tre" is not "street"), 2 = weak (counts only next to
    /// another number word).
    whole: FxMap<Vec<u8>, u8>,
    longest_whole: usize,
}

impl NumberWords {
    /// Does a pattern of [`NumberWords::inside`] occur in `hay`? (What `AhoCorasick::is_match`
    /// asks of the automaton: the earliest match.) Out of line, as the library's search was:
    /// the per-word walk that falls back to it stays small.
    #[inline(never)]
    fn occurs(&self, hay: &[u8]) -> bool {
        use aho_corasick::automaton::Automaton;
        matches!(
            self.inside
                .try_find(&aho_corasick::Input::new(hay).earliest(true)),
            Ok(Some(_))
        )
    }
}

static NUMBER_WORDS: Lazy<Option<NumberWords>> = Lazy::new(|| {
    let (inside, whole) = number_word_lists();
    let longest_whole = whole.keys().map(Vec::len).max().unwrap_or(0);
    let shortest_inside = inside.iter().map(|w| w.len()).min().unwrap_or(0);
    // one automaton for both: the dense copy reads only its transitions, which its prefilter
    // (for the searches over whole texts) does not change
    let inside = aho_corasick::dfa::DFA::builder()
        .ascii_case_insensitive(true)
        .build(&inside)
        .ok()?;
    let inside_dense = InsideDense::new(&inside);
    Some(NumberWords {
        inside,
        inside_dense,
        shortest_inside,
        whole,
        longest_whole,
    })
});

/// The patterns of [`NumberWords::inside`] and the words of [`NumberWords::whole`].
fn number_word_lists() -> (Vec<&'static str>, FxMap<Vec<u8>, u8>) {
    let mut inside: Vec<&str> = Vec::new();
    let mut whole: FxMap<Vec<u8>, u8> = FxMap::default();
    let mut put = |w: &'static str, class: u8| {
        if class == 0 {
            inside.push(w);
        } else {
            whole.insert(w.as_bytes().to_vec(), class);
        }
    };
    for (k, (_, weak)) in TABLE.words.iter() {
        let class = if *weak {
            2
        } else if k.chars().count() <= 3 {
            1
        } else {
            0
        };
        put(k.as_str(), class);
    }
    // a spoken e-mail address needs one of these "dot" words (see rec::email)
    for (w, c) in [
        ("dot", 1),
        ("punkt", 0),
        ("piste", 0),
        ("prikk", 0),
        ("pist", 0),
        ("point", 0),
    ] {
        put(w, c);
    }
    // Only "does any occur" is asked of these, so a word that contains a shorter one
    // ("fyrtiofem" ⊃ "fyrtio", "neljäkymmentäviisi" ⊃ "neljä") adds nothing: keeping the
    // minimal ones makes the automaton small enough to stay in cache.
    (minimal_words(inside), whole)
}

/// The words of `words` that hold no other of them, shortest first.
fn minimal_words(mut words: Vec<&str>) -> Vec<&str> {
    words.sort_by_key(|w| (w.len(), *w));
    words.dedup();
    let mut minimal: Vec<&str> = Vec::with_capacity(words.len());
    // A word holds a kept one when one of its substrings (no longer than the longest kept
    // one) is kept: a few set lookups per word instead of a substring search per kept word.
    let mut kept: FxSet<&[u8]> = FxSet::default();
    let mut longest = 0usize;
    for w in words {
        let b = w.as_bytes();
        let holds = (0..b.len()).any(|i| {
            (i + 1..=b.len().min(i + longest))
                .any(|j| b.get(i..j).is_some_and(|x| kept.contains(x)))
        });
        if !holds {
            minimal.push(w);
            kept.insert(b);
            longest = longest.max(b.len());
        }
    }
    minimal
}

/// Does a strong number word (or a long spoken "dot") occur anywhere in `text`, even inside a
/// word? (The first test of [`maybe_number`].)
pub fn strong_inside(text: &str) -> bool {
    NUMBER_WORDS
        .as_ref()
        .is_none_or(|nw| nw.occurs(text.as_bytes()))
}

/// Entries of [`InsideDense::trans`]: a power of two, so that a masked index needs no bounds
/// check.
const INSIDE_DENSE: usize = 1 << 16;

/// The unanchored DFA of [`NumberWords::inside`] as a dense table for "does any pattern occur".
/// The next state of state `s` on class `c` is at `s | c`, states numbered in steps of the class
/// count rounded up to a power of two. Every match state is merged into state 0, which no byte
/// leaves: once a pattern has occurred the answer stays yes, so the walk over a word needs no
/// test per byte, only one at its end.
struct InsideDense {
    /// The byte class of each byte (bytes no state tells apart share one).
    class: [u8; 256],
    trans: Box<[u16; INSIDE_DENSE]>,
    start: u16,
}

impl InsideDense {
    /// The states reachable from the unanchored start state, re-numbered; `None` where they do
    /// not fit in the table.
    fn new(dfa: &aho_corasick::dfa::DFA) -> Option<InsideDense> {
        use aho_corasick::automaton::{Automaton, StateID};
        use aho_corasick::Anchored;
        let start = dfa.start_state(Anchored::No).ok()?;
        if dfa.is_match(start) {
            return None;
        }
        let next = |s: StateID, b: u8| dfa.next_state(Anchored::No, s, b);
        // the non-match states reachable without passing a match state (what a walk that stops
        // at the first match visits), numbered from 1
        let reached = crate::dense::Reached::new(dfa, start, |t| !dfa.is_match(t))?;
        let states = &reached.states;
        // byte classes: bytes with the same next state (match states as one) from every state
        let target = |s: StateID, b: u8| {
            let t = next(s, b);
            if dfa.is_match(t) {
                Some(0)
            } else {
                reached.index(t).map(|k| k + 1)
            }
        };
        let (class, firsts) = crate::dense::byte_classes(|b| {
            states
                .iter()
                .map(|&s| target(s, b))
                .collect::<Option<Vec<usize>>>()
        })?;
        let stride = firsts.len().next_power_of_two();
        if (states.len() + 1) * stride > INSIDE_DENSE {
            return None;
        }
        let mut trans: Box<[u16; INSIDE_DENSE]> = vec![0u16; INSIDE_DENSE]
            .into_boxed_slice()
            .try_into()
            .ok()?;
        for (k, &s) in states.iter().enumerate() {
            // every byte of a class has the same target: its first byte stands for it
            for (c, &b) in firsts.iter().enumerate() {
                let at = (k + 1) * stride + c;
                *trans.get_mut(at)? = u16::try_from(target(s, b)? * stride).ok()?;
            }
        }
        // (the row of state 0 stays all zero: a match is never left)
        Some(InsideDense {
            class,
            trans,
            start: u16::try_from(stride).ok()?,
        })
    }

    /// Does a pattern occur in `word`?
    #[inline]
    fn occurs_in(&self, word: &[u8]) -> bool {
        let (class, trans) = (&self.class, &*self.trans);
        let mut sid = self.start;
        for &b in word {
            sid =
                trans[(usize::from(sid) | usize::from(class[usize::from(b)])) & (INSIDE_DENSE - 1)];
        }
        sid == 0
    }
}

/// [`strong_inside`] of one word (letters and digits: every pattern is, so a match never
/// crosses a word's edge). Steps a dense copy of the automaton over the word's bytes from its
/// start state; a word shorter than every pattern is answered without it.
pub fn strong_inside_word(word: &[u8]) -> bool {
    let Some(nw) = NUMBER_WORDS.as_ref() else {
        return true;
    };
    if word.len() < nw.shortest_inside {
        return false;
    }
    match &nw.inside_dense {
        Some(d) => d.occurs_in(word),
        None => nw.occurs(word),
    }
}

/// The words [`maybe_number`] takes only as whole words, lower case: (word, 1) strong and short,
/// (word, 2) weak.
pub fn whole_words() -> Vec<(String, u8)> {
    NUMBER_WORDS.as_ref().map_or_else(Vec::new, |nw| {
        nw.whole
            .iter()
            .filter_map(|(k, &c)| Some((String::from_utf8(k.clone()).ok()?, c)))
            .collect()
    })
}

/// Could `text` hold a spoken number (or a spoken e-mail address)? True when a strong number
/// word or a spoken "dot" occurs (a short one as a whole word), when two weak number words stand
/// next to each other, or when the text has non-ASCII capitals the ASCII-folding automaton
/// cannot see. Cheap: one automaton test, one pass over the words, no allocation.
pub fn maybe_number(text: &str) -> bool {
    let Some(nw) = NUMBER_WORDS.as_ref() else {
        return true;
    };
    if !text.is_ascii() && text.chars().any(|c| !c.is_ascii() && c.is_uppercase()) {
        return true;
    }
    if nw.occurs(text.as_bytes()) {
        return true;
    }
    let b = text.as_bytes();
    let mut buf = [0u8; 32];
    let longest = nw.longest_whole.min(buf.len());
    // end of the word before, when it was a weak number word
    let mut weak_end: Option<usize> = None;
    let mut i = 0usize;
    let mut start: Option<usize> = None;
    while i <= b.len() {
        let (alnum, len) = match b.get(i) {
            None => (false, 1),
            Some(&c) if c < 0x80 => (c.is_ascii_alphanumeric(), 1),
            Some(_) => {
                let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or(' ');
                (ch.is_alphanumeric(), ch.len_utf8())
            }
        };
        if alnum {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            let w = b.get(s..i).unwrap_or(&[]);
            let class = if w.len() <= longest {
                let key = buf.get_mut(..w.len()).unwrap_or(&mut []);
                key.copy_from_slice(w);
                key.make_ascii_lowercase();
                nw.whole.get(&key[..]).copied()
            } else {
                None
            };
            match class {
                Some(1) => return true,
                Some(2) => {
                    // two weak words in a row ("en to", "nul to en") can be a number
                    if weak_end.is_some_and(|le| s - le <= 4) {
                        return true;
                    }
                    weak_end = Some(i);
                }
                _ => weak_end = None,
            }
        }
        i += len;
    }
    false
}

/// Up to this many atoms come out of one word.
pub const MAX_ATOMS: usize = 6;

impl Table {
    /// The atoms of one lowercase word (empty when it is not a number word). `weak` is set when
    /// the word is a single weak atom.
    /// False when `w` is no table word nor glued from them (its first or last byte pair is no
    /// table word's): the test [`Table::lookup`] starts with, for callers to make inline.
    pub fn could_be(&self, w: &str) -> bool {
        self.could_be_bytes(w.as_bytes())
    }

    /// [`Table::could_be`] of a word's bytes.
    #[inline]
    pub fn could_be_bytes(&self, w: &[u8]) -> bool {
        self.pairs.maybe(w)
    }

    /// The atom and weakness of table word `w`.
    fn get(&self, w: &str) -> Option<(Atom, bool)> {
        self.inline.get(w).flatten()
    }

    pub fn lookup(&self, w: &str, atoms: &mut Vec<Atom>) -> bool {
        atoms.clear();
        let b = w.as_bytes();
        if !self.pairs.maybe(b) {
            return false;
        }
        if self.pairs.len_ok(b) {
            if let Some((a, weak)) = self.get(w) {
                atoms.push(a);
                return weak;
            }
        }
        if b.len() < 6 || b.len() > 60 {
            return false;
        }
        let n = b.len();
        // the first two bytes passed `pairs.maybe` above (the same set of 2-byte prefixes)
        let q = [b[n - 3], b[n - 2], b[n - 1]];
        if !self.suffixes.contains(&q) {
            return false;
        }
        self.split(w, atoms, 0);
        if atoms.len() < 2 || !atoms.iter().any(|a| a.is_value()) {
            atoms.clear();
        }
        false
    }

    /// Splits a glued word into table words, longest first; all-or-nothing.
    fn split(&self, w: &str, atoms: &mut Vec<Atom>, depth: usize) -> bool {
        if w.is_empty() {
            return true;
        }
        if depth >= MAX_ATOMS {
            return false;
        }
        for e in (2..=w.len()).rev() {
            if !w.is_char_boundary(e) {
                continue;
            }
            let Some(head) = w.get(..e) else { continue };
            if head.len() < 2 || !self.pairs.len_ok(head.as_bytes()) {
                continue;
            }
            if let Some((a, _)) = self.get(head) {
                let n = atoms.len();
                atoms.push(a);
                if self.split(w.get(e..).unwrap_or(""), atoms, depth + 1) {
                    return true;
                }
                atoms.truncate(n);
            }
        }
        false
    }
}

/// A group of digits produced by a stretch of atoms `[first, last]` (indices into the caller's
/// atom list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub value: u32,
    /// number of digits (value is zero-padded to it)
    pub width: u8,
    pub first: usize,
    pub last: usize,
}

impl Group {
    pub fn push_digits(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 10];
        let mut v = self.value;
        let w = usize::from(self.width).min(10);
        for i in (0..w).rev() {
            if let Some(slot) = buf.get_mut(i) {
                *slot = (v % 10) as u8;
            }
            v /= 10;
        }
        out.extend_from_slice(buf.get(..w).unwrap_or(&[]));
    }
}

fn atom_val(a: Atom) -> Option<(u32, u8)> {
    match a {
        Atom::Unit(v) => Some((u32::from(v), 1)),
        Atom::Teen(v) | Atom::Tens(v) | Atom::Compound(v) => Some((u32::from(v), 2)),
        _ => None,
    }
}

/// Composes atoms (in reading order) into digit groups. Rules, as people read numbers aloud:
/// tens + unit → one 2-digit group ("forty five", "kakskümmend viis"); unit + "og"/"und" + tens →
/// tens+unit; N + hundred [+ rest] → 3 digits; N + thousand [+ hundreds][+ rest] → 4 digits
/// (years); "double five" → 55; anything else → its own digits. A connector that glues nothing
/// is dropped.
pub fn compose(atoms: &[Atom], out: &mut Vec<Group>) {
    let n = atoms.len();
    let mut i = 0usize;
    let at = |k: usize| atoms.get(k).copied();
    while i < n {
        let Some(a) = at(i) else { break };
        match a {
            Atom::Repeat(r) => {
                if let Some(Atom::Unit(d)) = at(i + 1) {
                    for _ in 0..r {
                        out.push(Group {
                            value: u32::from(d),
                            width: 1,
                            first: i,
                            last: i + 1,
                        });
                    }
                    i += 2;
                } else if let Some(Atom::Teen(_) | Atom::Tens(_) | Atom::Compound(_)) = at(i + 1) {
                    // "double twenty" — rare; read as the number twice
                    if let Some((v, w)) = at(i + 1).and_then(atom_val) {
                        for _ in 0..r {
                            out.push(Group {
                                value: v,
                                width: w,
                                first: i,
                                last: i + 1,
                            });
                        }
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
            Atom::And | Atom::Hundred | Atom::Thousand => i += 1,
            _ => {
                let Some((v, w)) = atom_val(a) else {
                    i += 1;
                    continue;
                };
                // N thousand ...
                if matches!(at(i + 1), Some(Atom::Thousand)) && v > 0 && v < 100 {
                    let mut val = v * 1000;
                    let mut j = i + 2;
                    let mut last = i + 1;
                    if matches!(at(j), Some(Atom::And)) {
                        j += 1;
                    }
                    if let (Some(Atom::Unit(h)), Some(Atom::Hundred)) = (at(j), at(j + 1)) {
                        val += u32::from(h) * 100;
                        last = j + 1;
                        j += 2;
                        if matches!(at(j), Some(Atom::And)) {
                            j += 1;
                        }
                    }
                    if let Some((r, rl)) = two_digit(atoms, j) {
                        val += r;
                        last = rl;
                    }
                    out.push(Group {
                        value: val,
                        width: if val >= 10000 { 5 } else { 4 },
                        first: i,
                        last,
                    });
                    i = last + 1;
                    continue;
                }
                // N hundred ...
                if matches!(at(i + 1), Some(Atom::Hundred)) && v > 0 && v < 100 {
                    let mut val = v * 100;
                    let mut last = i + 1;
                    let mut j = i + 2;
                    if matches!(at(j), Some(Atom::And)) {
                        j += 1;
                    }
                    if let Some((r, rl)) = two_digit(atoms, j) {
                        val += r;
                        last = rl;
                    }
                    out.push(Group {
                        value: val,
                        width: if val >= 1000 { 4 } else { 3 },
                        first: i,
                        last,
                    });
                    i = last + 1;
                    continue;
                }
                if let Some((r, rl)) = two_digit(atoms, i) {
                    if rl > i {
                        out.push(Group {
                            value: r,
                            width: 2,
                            first: i,
                            last: rl,
                        });
                        i = rl + 1;
                        continue;
                    }
                }
                out.push(Group {
                    value: v,
                    width: w,
                    first: i,
                    last: i,
                });
                i += 1;
            }
        }
    }
}

/// A two-digit number starting at `j`: tens + unit, unit + and + tens, or a single value atom.
fn two_digit(atoms: &[Atom], j: usize) -> Option<(u32, usize)> {
    let at = |k: usize| atoms.get(k).copied();
    match (at(j), at(j + 1), at(j + 2)) {
        (Some(Atom::Tens(t)), Some(Atom::Unit(u)), _) if u > 0 => Some((u32::from(t + u), j + 1)),
        (Some(Atom::Unit(u)), Some(Atom::And), Some(Atom::Tens(t))) if u > 0 => {
            Some((u32::from(t + u), j + 2))
        }
        (Some(a), _, _) => atom_val(a).map(|(v, _)| (v, j)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn digits(words: &str) -> String {
        let mut atoms = Vec::new();
        let mut all = Vec::new();
        for w in words.split_whitespace() {
            TABLE.lookup(w, &mut atoms);
            all.extend_from_slice(&atoms);
        }
        let mut g = Vec::new();
        compose(&all, &mut g);
        let mut d = Vec::new();
        for x in &g {
            x.push_digits(&mut d);
        }
        d.iter().map(|x| char::from(b'0' + x)).collect()
    }

    #[test]
    fn grammars() {
        assert_eq!(
            digits("femoghalvtreds fireogtres nul nul seksogtres"),
            "55640066"
        );
        assert_eq!(digits("fire fem sju ni"), "4579");
        assert_eq!(digits("fyrtiofem"), "45");
        assert_eq!(digits("einundvierzig"), "41");
        assert_eq!(digits("neljäkymmentäviisi"), "45");
        assert_eq!(digits("kakskümmend viis"), "25");
        assert_eq!(digits("forty five"), "45");
        assert_eq!(digits("oh double four four"), "0444");
        assert_eq!(digits("to tusind og femogtyve"), "2025");
        assert_eq!(digits("totusenogtjueni"), "2029");
        assert_eq!(digits("tvåtusentjugosex"), "2026");
        assert_eq!(digits("zweitausendfünfundzwanzig"), "2025");
        assert_eq!(digits("neunzehnhundertsechsundsechzig"), "1966");
        assert_eq!(digits("nittenåttitre"), "1983");
        assert_eq!(digits("tjugotjugofem"), "2025");
        assert_eq!(digits("nineteen forty five"), "1945");
        assert_eq!(digits("üksteist kakskümmend seitse"), "1127");
        assert_eq!(digits("null fem tjuefem"), "0525");
        assert_eq!(digits("kolmekymmentäseitsemän kolmekymmentäkolme"), "3733");
        assert_eq!(digits("six forty eighteen"), "64018");
        assert_eq!(digits("halvfems"), "90");
    }

    #[test]
    fn inside_dense_is_built() {
        let nw = NUMBER_WORDS.as_ref().unwrap();
        assert!(nw.inside_dense.is_some());
    }

    /// Words glued from pieces of number words (every table word, the spoken "dot" words, whole
    /// or cut, either case) and noise, ASCII and not.
    fn glued_word() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let mut words: Vec<String> = TABLE.words.keys().cloned().collect();
        words.sort();
        words.extend(["dot", "punkt", "piste", "prikk", "pist", "point"].map(String::from));
        let piece = proptest::sample::select(words).prop_flat_map(|w| {
            let n = w.chars().count();
            // half of them whole
            (0..=n, 0..=n, any::<bool>(), any::<bool>()).prop_map(move |(a, z, whole, up)| {
                let (a, z) = if whole { (0, n) } else { (a.min(z), a.max(z)) };
                let p: String = w.chars().skip(a).take(z - a).collect();
                if up {
                    p.to_uppercase()
                } else {
                    p
                }
            })
        });
        let part = prop_oneof![
            4 => piece,
            2 => "[a-zA-Z0-9]{1,3}",
            1 => proptest::sample::select(vec!["ø", "å", "ä", "ö", "Ä", "ü", "é", "ß", "€", "\u{300}", "ﬁ"])
                .prop_map(str::to_owned),
        ];
        proptest::collection::vec(part, 0..6).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// The automaton built once for the dense walk and the search answers as the
        /// library's searcher of the same patterns does.
        #[test]
        fn occurs_is_is_match(words in proptest::collection::vec(glued_word(), 1..4)) {
            static REFERENCE: Lazy<aho_corasick::AhoCorasick> = Lazy::new(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(number_word_lists().0)
                    .unwrap()
            });
            let text = words.join(" ");
            let nw = NUMBER_WORDS.as_ref().unwrap();
            proptest::prop_assert_eq!(nw.occurs(text.as_bytes()), REFERENCE.is_match(&text));
        }

        /// The set lookups keep the words a search for every kept word in each keeps.
        #[test]
        fn minimal_words_by_lookup(words in proptest::collection::vec("[a-dä]{1,7}", 0..40)) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let mut sorted = words.clone();
            sorted.sort_by_key(|w| (w.len(), *w));
            sorted.dedup();
            let mut want: Vec<&str> = Vec::new();
            for w in sorted {
                if !want.iter().any(|m| w.contains(m)) {
                    want.push(w);
                }
            }
            proptest::prop_assert_eq!(minimal_words(words), want);
        }

        #[test]
        fn strong_inside_word_is_strong_inside(word in glued_word()) {
            proptest::prop_assert_eq!(
                strong_inside_word(word.as_bytes()),
                strong_inside(&word),
                "{:?}",
                word
            );
        }
    }
}
