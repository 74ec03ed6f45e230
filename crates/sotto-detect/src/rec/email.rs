//! E-mail addresses, written ("a.schmidt@web.de") and spoken ("anna snabel-a firma punkt dk",
//! "lars underscore christensen at hotmail dot com", "t piste makinen ät outlook piste com").

use crate::normalize::{Tok, TokClass};
use crate::numbers::TABLE;
use crate::span::Candidate;
use aho_corasick::AhoCorasick;
use once_cell::sync::Lazy;
use sotto_core::Kind;

const AT: &[&str] = &[
    "krøllalfa",
    "krølla",
    "at-tegn",
    "at",
    "ät",
    "snabel",
    "snabela",
    "kissanhäntä",
    "miukumauku",
    "alfa",
    "klammeraffe",
    "ätt",
];
const DOT: &[&str] = &[
    "dot", "punkt", "punktum", "piste", "prikk", "punkti", "pist", "point",
];
const JOIN: &[&str] = &[
    "underscore",
    "understreg",
    "understrek",
    "understreck",
    "alaviiva",
    "alakriips",
    "unterstrich",
    "dash",
    "hyphen",
    "bindestreg",
    "bindestrek",
    "bindestreck",
    "bindestrich",
    "streck",
    "viiva",
    "miinus",
    "minus",
    "sidekriips",
    "kriips",
    "strich",
];
const TLD: &[&str] = &[
    "com", "dk", "se", "no", "fi", "ee", "de", "net", "org", "eu", "uk", "co", "io", "info", "at",
    "ch", "nl", "be", "fr", "it", "es", "pl", "lt", "lv", "is", "biz", "me", "email", "online",
    "mail",
];

/// Every word of AT contains one of these, every word of DOT one of the second list.
const AT_PARTS: &[&str] = &[
    "at ", "at-", "ät", "snabel", "alfa", "krøll", "kissanh", "miuku", "klammer",
];
const DOT_PARTS: &[&str] = &["dot", "punkt", "piste", "prikk", "pist", "point"];

/// One searcher per list; with a handful of patterns each gets a vectorised prefilter, far
/// cheaper per byte than comparing parts at every position.
static PARTS: Lazy<Option<(AhoCorasick, AhoCorasick)>> = Lazy::new(|| {
    Some((
        AhoCorasick::new(DOT_PARTS).ok()?,
        AhoCorasick::new(AT_PARTS).ok()?,
    ))
});

/// Could the lower-case line hold a spoken e-mail address (an "at" word and a "dot" word)?
/// Same answer as testing every part with `contains`.
pub fn maybe_spoken(lower: &str) -> bool {
    match PARTS.as_ref() {
        Some((dot, at)) => dot.is_match(lower) && at.is_match(lower),
        None => any_part(lower, DOT_PARTS) && any_part(lower, AT_PARTS),
    }
}

/// Does any of `parts` occur in `s`? (Checks only where a part's first byte occurs.)
fn any_part(s: &str, parts: &[&str]) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        parts.iter().any(|p| {
            p.as_bytes().first() == Some(&c)
                && b.get(i..).is_some_and(|r| r.starts_with(p.as_bytes()))
        })
    })
}

/// Per first byte, the byte lengths (bit n, all under 16) of the words of `AT` starting with it.
static AT_LENS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0usize;
    while i < AT.len() {
        let w = AT[i].as_bytes();
        t[w[0] as usize] |= 1 << w.len();
        i += 1;
    }
    t
};

/// Does some word of the line read as an "at" word (what the spoken search starts from)? Words
/// whose first byte and length match no word of `AT` are passed over without comparing.
pub fn has_at_word(lower: &str, toks: &[Tok]) -> bool {
    any_at_word(
        lower,
        toks.iter()
            .filter(|t| t.class == TokClass::Word)
            .map(|t| (t.s, t.e)),
    )
}

/// [`has_at_word`] over words given as byte ranges of `lower` (every one taken as a word).
pub fn any_at_word(lower: &str, mut words: impl Iterator<Item = (usize, usize)>) -> bool {
    let b = lower.as_bytes();
    words.any(|(s, e)| {
        let n = e - s;
        n < 16
            && b.get(s)
                .and_then(|&c| AT_LENS.get(usize::from(c)))
                .is_some_and(|m| m >> n & 1 == 1)
            && AT.contains(&lower.get(s..e).unwrap_or(""))
    })
}

fn w<'a>(text: &'a str, t: &Tok) -> &'a str {
    text.get(t.s..t.e).unwrap_or("")
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%')
}

pub fn find(
    text: &str,
    lower: &str,
    toks: &[Tok],
    written: bool,
    spoken: bool,
    out: &mut Vec<Candidate>,
) {
    // written
    for (i, _) in text
        .match_indices('@')
        .take(if written { usize::MAX } else { 0 })
    {
        let before = text.get(..i).unwrap_or("");
        let mut s = i;
        for (j, c) in before.char_indices().rev() {
            if is_local_char(c) {
                s = j;
            } else {
                break;
            }
        }
        let after = text.get(i + 1..).unwrap_or("");
        let mut e = i + 1;
        for (j, c) in after.char_indices() {
            if c.is_alphanumeric() || c == '.' || c == '-' {
                e = i + 1 + j + c.len_utf8();
            } else {
                break;
            }
        }
        // trim trailing dots / hyphens and leading dots
        while e > i + 1 && matches!(text.as_bytes().get(e - 1), Some(b'.' | b'-')) {
            e -= 1;
        }
        while s < i && matches!(text.as_bytes().get(s), Some(b'.' | b'-')) {
            s += 1;
        }
        let domain = text.get(i + 1..e).unwrap_or("");
        if s < i && domain.contains('.') && !domain.starts_with('.') {
            out.push(Candidate::new(s, e, Kind::Email, 0.97));
        }
    }
    // spoken
    if !spoken {
        return;
    }
    for (ai, t) in toks.iter().enumerate() {
        if t.class != TokClass::Word {
            continue;
        }
        let aw = lower.get(t.s..t.e).unwrap_or("");
        if !AT.contains(&aw) {
            continue;
        }
        // "snabel-a": skip "-" "a"
        let mut di = ai + 1;
        if aw == "snabel" {
            if toks.get(di).is_some_and(|x| w(lower, x) == "-") {
                di += 1;
            }
            if toks.get(di).is_some_and(|x| w(lower, x) == "a") {
                di += 1;
            } else {
                continue;
            }
        }
        // domain: word (sep word)* with at least one dot, ending in a known tld
        let mut k = di;
        let mut end = None;
        let mut dots = 0;
        let mut expect_word = true;
        while let Some(x) = toks.get(k) {
            if x.nl_before {
                break;
            }
            let xw = lower.get(x.s..x.e).unwrap_or("");
            if expect_word {
                if x.class == TokClass::Punct {
                    break;
                }
                if dots > 0 && TLD.contains(&xw) {
                    end = Some(x.e);
                }
                expect_word = false;
            } else if DOT.contains(&xw) {
                dots += 1;
                expect_word = true;
            } else if JOIN.contains(&xw) || xw == "-" {
                expect_word = true;
            } else {
                break;
            }
            k += 1;
            if k - di > 12 {
                break;
            }
        }
        let Some(end) = end else { continue };
        // local part backwards: [numbers]* word (sep word [numbers]*)*
        let mut k = ai;
        let mut start = None;
        let mut need_word = true;
        let mut steps = 0;
        while k > 0 {
            let Some(x) = toks.get(k - 1) else { break };
            let xw = lower.get(x.s..x.e).unwrap_or("");
            steps += 1;
            if steps > 12 || (x.class == TokClass::Punct && !matches!(xw, "." | "_" | "-")) {
                break;
            }
            let mut atoms = Vec::new();
            let is_num = x.class == TokClass::Digits || {
                TABLE.lookup(xw, &mut atoms);
                !atoms.is_empty() && atoms.iter().all(|a| a.is_value())
            };
            if need_word {
                if x.class == TokClass::Punct {
                    break;
                }
                start = Some(x.s);
                if is_num {
                    // numbers glue to the word before them
                    k -= 1;
                    continue;
                }
                need_word = false;
            } else if DOT.contains(&xw) || JOIN.contains(&xw) || matches!(xw, "." | "_" | "-") {
                need_word = true;
            } else if x.class != TokClass::Punct
                && xw.chars().count() == 1
                && start.is_some_and(|s| {
                    lower
                        .get(s..)
                        .and_then(|r| r.split(' ').next())
                        .is_some_and(|w| w.chars().count() == 1)
                })
            {
                // spelled letters: "j e n s at gmail dot com"
                start = Some(x.s);
            } else {
                break;
            }
            k -= 1;
        }
        if need_word {
            // ended on a separator or only numbers: trim to the last word taken
        }
        if let Some(s) = start {
            if s < t.s {
                out.push(Candidate::new(s, end, Kind::Email, 0.85));
            }
        }
    }
}
