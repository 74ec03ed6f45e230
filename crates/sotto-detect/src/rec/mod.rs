//! Recognisers for checksummed identifiers, cards, phones, e-mail, IBAN and dates.
//!
//! One pass per line: lowercase copy → tokens → cue hits (one Aho-Corasick automaton for all
//! languages) → number runs (spoken and written numbers folded into digits, see
//! [`crate::normalize`]) → each run's windows of consecutive groups are tried against the
//! checksummed shapes first, then against the context-dependent ones (a cue nearby). Values read
//! back later in the line ("I repeat: …") are found again by their digits.

pub mod cues;
pub mod dates;
mod email;

use crate::checksum as ck;
use crate::normalize::{
    lower_same_len, number_runs_with, tokens_from_words, NumRun, RunScratch, Tok, TokClass,
};
use crate::span::Candidate;
use cues::{Cue, CueHit};
use regex::Regex;
use sotto_core::{Kind, Lang};
use std::cell::RefCell;

/// All non-lexical recognisers, built once.
pub struct Recognisers {
    hetu: Option<Hetu>,
}

/// The HETU pattern `(?i)\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b` in two parts: the pattern without
/// its word boundaries, which regex runs on its fast DFA (a Unicode `\b` sends every search
/// to the slow engines), and a check of the boundaries at the ends of each shape found.
struct Hetu {
    shape: Regex,
    /// Unicode `\w`, as regex's `\b` defines a word character.
    word: Regex,
}

impl Hetu {
    fn new() -> Option<Self> {
        Some(Self {
            shape: Regex::new(r"(?i)\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]").ok()?,
            word: Regex::new(r"^\w$").ok()?,
        })
    }

    fn is_word(&self, c: char) -> bool {
        // on ASCII, Unicode `\w` is `[0-9A-Za-z_]`
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            self.word.is_match(c.encode_utf8(&mut [0; 4]))
        }
    }

    /// Is there a word boundary (`\b`) at byte `at` of `text`?
    fn boundary(&self, text: &str, at: usize) -> bool {
        let before = text.get(..at).and_then(|x| x.chars().next_back());
        let after = text.get(at..).and_then(|x| x.chars().next());
        before.is_some_and(|c| self.is_word(c)) != after.is_some_and(|c| self.is_word(c))
    }

    /// The matches of the whole pattern, as its `find_iter` reports them. The shape is eleven
    /// characters, so from a given start it matches one way or not at all: the leftmost shape
    /// with a boundary at both ends is the leftmost match, and a shape without rules out only
    /// its own start, so the search goes on from the next character.
    fn find_iter<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        let mut at = 0;
        std::iter::from_fn(move || loop {
            let m = self.shape.find_at(text, at)?;
            if self.boundary(text, m.start()) && self.boundary(text, m.end()) {
                at = m.end();
                return Some((m.start(), m.end()));
            }
            at = m.start()
                + text
                    .get(m.start()..)
                    .and_then(|x| x.chars().next())
                    .map_or(1, char::len_utf8);
        })
    }
}

impl Default for Recognisers {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct Scratch {
    lower: String,
    words: Vec<crate::lexical::Tok>,
    toks: Vec<Tok>,
    runs: Vec<NumRun>,
    run_scratch: RunScratch,
    cues: Vec<CueHit>,
    dates: Vec<dates::MonthDate>,
    echo_vals: Vec<EchoVal>,
    echo_lens: Vec<usize>,
}

/// What the detector's shared preparation of a line already has, so the recognisers do not
/// lower-case and tokenize it again.
#[derive(Clone, Copy)]
pub(crate) struct Shared<'a> {
    /// The text folded, tokenized and looked up.
    prepared: &'a crate::lexical::Prepared,
    /// The lexical fold can stand for [`lower_same_len`]'s copy when the text has no hyphen.
    /// The fold differs from that copy only where the text has a hyphen (a space in the fold)
    /// or a non-ASCII capital (the two lower-case some rare characters differently): without
    /// either, both are the text with its ASCII lower-cased; with hyphens only, their words are
    /// still the same strings.
    fold_is_lower: bool,
}

impl<'a> Shared<'a> {
    pub(crate) fn new(prepared: &'a crate::lexical::Prepared) -> Self {
        Shared {
            prepared,
            fold_is_lower: !prepared.caps(),
        }
    }
}

/// One line and what [`Recognisers::find_hinted`] learnt of it before the work starts.
struct Line<'a> {
    text: &'a str,
    has_digit: bool,
    has_at: bool,
    shared: Option<Shared<'a>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// How far back (bytes) a cue still speaks for a value.
const CUE_REACH: usize = 110;

impl Recognisers {
    pub fn new() -> Self {
        Lazy_init();
        Self { hetu: Hetu::new() }
    }

    pub fn find(&self, text: &str, langs: &[Lang], out: &mut Vec<Candidate>) {
        self.find_hinted(
            text,
            langs,
            || crate::numbers::maybe_number(text),
            None,
            out,
        );
    }

    /// [`Recognisers::find`] with the number-word prefilter supplied by the caller, and the
    /// text's words and (where usable) lower-case copy when the caller has them already (the
    /// detector answers both from its shared pass over the words).
    pub(crate) fn find_hinted(
        &self,
        text: &str,
        langs: &[Lang],
        maybe_number: impl FnOnce() -> bool,
        shared: Option<Shared<'_>>,
        out: &mut Vec<Candidate>,
    ) {
        let _ = langs;
        // the preparation of this text saw its digits and its '@'s
        let (has_digit, has_at) = match &shared {
            Some(s) => (s.prepared.digits(), s.prepared.at()),
            None => digit_and_at(text.as_bytes()),
        };
        // cheap prefilter: no digit, no '@', no number word, no spoken e-mail → nothing for us
        if !has_digit && !has_at && !maybe_number() {
            return;
        }
        let line = Line {
            text,
            has_digit,
            has_at,
            shared,
        };
        SCRATCH.with(|sc| match sc.try_borrow_mut() {
            Ok(mut sc) => self.find_with(line, &mut sc, out),
            Err(_) => self.find_with(line, &mut Scratch::default(), out),
        });
    }

    fn find_with(&self, line: Line<'_>, sc: &mut Scratch, out: &mut Vec<Candidate>) {
        let Line {
            text,
            has_digit,
            has_at,
            shared,
        } = line;
        let start_len = out.len();
        let Scratch {
            lower: lower_buf,
            words,
            toks,
            runs,
            run_scratch,
            cues,
            dates,
            echo_vals,
            echo_lens,
        } = sc;
        let words = match shared {
            Some(s) => s.prepared.toks.as_slice(),
            None => {
                crate::lexical::tokenize_into(text, words);
                words.as_slice()
            }
        };
        // the prepared text when its folded words are the words of the lower-case copy
        let known = shared.filter(|s| s.fold_is_lower).map(|s| s.prepared);
        // Most lines here have no digit and no '@', only a number word or two ("en", "to").
        // When the words alone show that every run has fewer than three digits and no month
        // name makes a date, nothing but a spoken e-mail address can come of the line (the
        // second return below, and the searches it skips find nothing in such a line but
        // that), and that needs an "at" word: without one, or without the spoken parts, it
        // ends here (no tokens, no runs, no dates).
        let mut spoken_memo: Option<bool> = None;
        if let Some(p) = known.filter(|_| !has_digit && !has_at) {
            let short = crate::normalize::words_make_short_runs(p, 3, run_scratch, |w| {
                w.len() >= 3 && dates::month_of_bytes(w).is_some()
            });
            if short {
                if !email::any_at_word(&p.folded, p.toks.iter().map(|t| (t.s, t.e))) {
                    return;
                }
                // the fold is the lower-case copy where the text has no hyphen (see `Shared`)
                let lower = if text.as_bytes().contains(&b'-') {
                    lower_same_len(text, lower_buf);
                    lower_buf.as_str()
                } else {
                    p.folded.as_str()
                };
                if !email::maybe_spoken(lower) {
                    return;
                }
                spoken_memo = Some(true);
            }
        }
        let hyphen = tokens_from_words(text, words, toks);
        // the fold is the lower-case copy where the text has no hyphen (see `Shared`)
        let lower = match known {
            Some(p) if !hyphen => p.folded.as_str(),
            _ => {
                lower_same_len(text, lower_buf);
                lower_buf.as_str()
            }
        };
        let toks = toks.as_slice();
        number_runs_with(text, lower, toks, known, runs, run_scratch);
        let runs = runs.as_slice();
        // Asked only where the answer matters (it scans the whole line), and at most once.
        let mut spoken_email = || *spoken_memo.get_or_insert_with(|| email::maybe_spoken(lower));
        if runs.is_empty() && !has_digit && !has_at && !spoken_email() {
            return;
        }
        // month-name dates (they need no cues to be found, only to be kept), only where a
        // word is a month name
        if run_scratch.month_word {
            dates::find(text, lower, toks, runs, dates);
        } else {
            dates.clear();
        }
        // A spoken e-mail address as the search below takes it: it needs an "at" word, and
        // without one it finds nothing either way (so the returns below need not ask more).
        let mut at_memo: Option<bool> = None;
        let mut spoken_at =
            || *at_memo.get_or_insert_with(|| email::has_at_word(lower, toks) && spoken_email());
        // Without digits, '@', a spoken e-mail or a month-name date, runs of one or two digits
        // ("en", "to") make nothing: every kind wants three digits or more (a CVC), a joined card
        // thirteen from four runs, so the cue scan can be skipped.
        if !has_digit
            && !has_at
            && dates.is_empty()
            && runs.iter().all(|r| r.digits.len() < 3)
            && !spoken_at()
        {
            return;
        }
        cues::find(lower, cues);
        let cues = cues.as_slice();
        // Without digits, '@', a spoken e-mail or any cue, only an international phone number
        // could come from number words, and the shortest has eight digits (+358 and five).
        if !has_digit
            && !has_at
            && cues.is_empty()
            && !spoken_at()
            && runs.iter().all(|r| r.digits.len() < 8)
        {
            return;
        }

        // e-mail (written and spoken)
        let spoken = spoken_at();
        email::find(text, lower, toks, has_at, spoken, out);
        // IBAN (written, and spoken after spelled country letters)
        self.iban(text, has_digit, toks, runs, cues, out);
        // HETU (six written digits: none without a digit in the line)
        let hetu_shape = has_digit
            && toks.iter().any(|t| {
                t.e - t.s >= 6
                    && matches!(t.class, TokClass::Digits | TokClass::Alnum)
                    && text
                        .as_bytes()
                        .get(t.s..t.s + 6)
                        .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
            });
        if hetu_shape && hetu_possible(text) {
            if let Some(hetu) = &self.hetu {
                for (s, e) in hetu.find_iter(text) {
                    let m = text.get(s..e).unwrap_or("");
                    let ok = ck::hetu(m);
                    let ctx = nearest(cues, s, &[Cue::Id]).is_some();
                    if ok || ctx && hetu_shape_date_ok(m) {
                        out.push(Candidate::new(
                            s,
                            e,
                            Kind::NationalId,
                            if ok { 0.95 } else { 0.6 },
                        ));
                    }
                }
            }
        }
        // month-name dates (found above)
        for d in dates.iter() {
            let mut c = nearest(
                cues,
                d.s,
                &[Cue::Dob, Cue::Expiry, Cue::Card, Cue::Cvc, Cue::Neg],
            );
            if c.is_none() && dob_cue_after(cues, d.e) {
                c = Some(Cue::Dob);
            }
            match c {
                Some(Cue::Dob) if d.year.is_some() && d.day.is_some() => {
                    out.push(Candidate::new(d.s, d.e, Kind::DateOfBirth, 0.85));
                }
                Some(Cue::Expiry | Cue::Card | Cue::Cvc) if d.day.is_none() && d.year.is_some() => {
                    out.push(Candidate::new(d.s, d.e, Kind::CardExpiry, 0.85));
                }
                _ => {}
            }
        }
        // number runs
        for r in runs {
            self.run(text, r, cues, out);
        }
        // a card number interrupted ("4571 1704 — ja — 9635 5977"): runs close together whose
        // digits together make a valid card
        join_cards(runs, cues, start_len, out);
        // values read back: the same digits elsewhere in the line
        echo(runs, start_len, out, echo_vals, echo_lens);
    }

    fn run(&self, text: &str, r: &NumRun, cues: &[CueHit], out: &mut Vec<Candidate>) {
        let n = r.groups.len();
        let total = r.digits.len();
        // No kind has fewer than three digits (see `classify`): the windows of such a run, and
        // the shortest windows of a longer one, are not tried.
        if total < 3 {
            return;
        }
        let ctx = context(cues, r.s());
        // A card cue and a card-length run: all of it, Luhn or not — never leave part in clear.
        if ctx == Some(Cue::Card) && (13..=19).contains(&total) {
            let (s, e) = r.bytes(0, n);
            let sc = if ck::luhn(&r.digits) { 0.97 } else { 0.75 };
            out.push(Candidate::new(s, e, Kind::PaymentCard, sc));
            return;
        }
        let mut a = 0usize;
        'outer: while a < n {
            let mut b = n;
            while b > a {
                let d = r.window(a, b);
                // Windows only get shorter as `b` falls, and a part of a run (every window but
                // the first) makes something only with six digits or more (see `classify`).
                if d.len() < 3 || d.len() < 6 && (a, b) != (0, n) {
                    break;
                }
                let (s, e) = r.bytes(a, b);
                let wctx = if a == 0 { ctx } else { context(cues, s) };
                if let Some((kind, score)) = classify(text, r, a, b, d, wctx, cues, s) {
                    // a spoken or written '+' belongs to the phone number
                    let s = if a == 0 && r.plus && kind == Kind::PhoneNumber && r.plus_at < s {
                        r.plus_at
                    } else {
                        s
                    };
                    out.push(Candidate::new(s, e, kind, score));
                    a = b;
                    continue 'outer;
                }
                b -= 1;
            }
            a += 1;
        }
    }

    fn iban(
        &self,
        text: &str,
        has_digit: bool,
        toks: &[Tok],
        runs: &[NumRun],
        cues: &[CueHit],
        out: &mut Vec<Candidate>,
    ) {
        self.iban_with(text, has_digit, toks, runs, cues, out, iban_start);
    }

    /// [`Recognisers::iban`] with the test `start` that rejects most tokens as the start of a
    /// written IBAN before their bytes are read (the tests give it a looser one).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn iban_with(
        &self,
        text: &str,
        has_digit: bool,
        toks: &[Tok],
        runs: &[NumRun],
        cues: &[CueHit],
        out: &mut Vec<Candidate>,
        start: impl Fn(&[Tok], usize) -> bool,
    ) {
        // A written IBAN's check digits are ASCII digits in the text: without one, skip the walk.
        let mut i = if has_digit { 0 } else { toks.len() };
        while i < toks.len() {
            let Some(t) = toks.get(i) else { break };
            // most tokens are rejected from their class, length and the next token's class
            // alone (see `iban_start`)
            if !start(toks, i) {
                i += 1;
                continue;
            }
            let raw = text.get(t.s..t.e).unwrap_or("");
            let rb = raw.as_bytes();
            // Only "DK" alone or "DK50…" can start one: test that shape (which rejects nearly
            // every word) before the country code.
            let cc_ok = rb.len() >= 2
                && rb.get(2).is_none_or(u8::is_ascii_digit)
                && rb.iter().take(2).all(|c| c.is_ascii_alphabetic())
                && ck::iban_len(&[rb[0].to_ascii_uppercase(), rb[1].to_ascii_uppercase()])
                    .is_some();
            if !cc_ok {
                i += 1;
                continue;
            }
            let cc = [rb[0].to_ascii_uppercase(), rb[1].to_ascii_uppercase()];
            let want = ck::iban_len(&cc).unwrap_or(0);
            // written: "DK50 0040 …", "dk8815510891586802", "DK 50 0040 …"
            let mut acc = IbanAcc::default();
            let mut end = t.e;
            let mut j = i;
            let mut okshape = true;
            for &c in rb {
                if c.is_ascii_alphanumeric() {
                    acc.push(c.to_ascii_uppercase());
                } else {
                    okshape = false;
                }
            }
            if okshape && (rb.len() == 2 || rb.get(2).is_some_and(|c| c.is_ascii_digit())) {
                while acc.len() < want {
                    let Some(nt) = toks.get(j + 1) else { break };
                    if nt.nl_before || !(nt.space_before || j == i) {
                        break;
                    }
                    let nr = text.get(nt.s..nt.e).unwrap_or("");
                    if nt.class == TokClass::Punct || nr.len() > want - acc.len() || nr.len() > 6 {
                        break;
                    }
                    if nt.class == TokClass::Word && (acc.len() < 4 || nr.len() > 4) {
                        break;
                    }
                    for c in nr.bytes() {
                        acc.push(c.to_ascii_uppercase());
                    }
                    end = nt.e;
                    j += 1;
                }
                if acc.len() == want
                    && acc
                        .bytes()
                        .get(2..4)
                        .is_some_and(|x| x.iter().all(|c| c.is_ascii_digit()))
                {
                    let valid = ck::iban_mod97(acc.bytes());
                    let ctx = nearest(cues, t.s, &[Cue::Iban]).is_some();
                    if valid || ctx {
                        out.push(Candidate::new(
                            t.s,
                            end,
                            Kind::Iban,
                            if valid { 0.97 } else { 0.6 },
                        ));
                        i = j + 1;
                        continue;
                    }
                }
            }
            i += 1;
        }
        // spoken: two spelled letters (or a two-letter word) then a number run
        for r in runs {
            // no window of a shorter run makes an IBAN of the shortest length with the letters
            if r.digits.len() + 2 < ck::IBAN_MIN_LEN {
                continue;
            }
            // tokens are in order of their (distinct) starts
            let Ok(pi) = toks.binary_search_by_key(&r.s(), |t| t.s) else {
                continue;
            };
            if pi == 0 {
                continue;
            }
            let (cc, cs) = {
                let p1 = toks.get(pi - 1);
                let w1 = p1.and_then(|t| text.get(t.s..t.e)).unwrap_or("");
                if w1.len() == 2 && w1.bytes().all(|c| c.is_ascii_alphabetic()) {
                    let b = w1.as_bytes();
                    (
                        [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()],
                        p1.map_or(0, |t| t.s),
                    )
                } else if pi >= 2 {
                    let p0 = toks.get(pi - 2);
                    let w0 = p0.and_then(|t| text.get(t.s..t.e)).unwrap_or("");
                    if w0.len() == 1
                        && w1.len() == 1
                        && w0
                            .bytes()
                            .chain(w1.bytes())
                            .all(|c| c.is_ascii_alphabetic())
                    {
                        let (a, b) = (w0.as_bytes()[0], w1.as_bytes()[0]);
                        (
                            [a.to_ascii_uppercase(), b.to_ascii_uppercase()],
                            p0.map_or(0, |t| t.s),
                        )
                    } else {
                        continue;
                    }
                } else {
                    continue;
                }
            };
            let Some(want) = ck::iban_len(&cc) else {
                continue;
            };
            for b in 1..=r.groups.len() {
                let d = r.window(0, b);
                if d.len() + 2 == want {
                    let mut acc: Vec<u8> = cc.to_vec();
                    acc.extend(d.iter().map(|x| x + b'0'));
                    if ck::iban_mod97(&acc) {
                        out.push(Candidate::new(cs, r.bytes(0, b).1, Kind::Iban, 0.9));
                    }
                    break;
                }
                if d.len() + 2 > want {
                    break;
                }
            }
        }
    }
}

/// Whether token `t` has the class and length of a written IBAN's start: two ASCII letters,
/// alone or before a digit. A word (no ASCII digit in it) then is those two letters; a token of
/// digits or punctuation starts with no ASCII letter. Only a necessary condition: the loop
/// still tests the bytes.
#[inline(always)]
fn iban_start_class(t: &Tok) -> bool {
    match t.class {
        TokClass::Word => t.e.wrapping_sub(t.s) == 2,
        TokClass::Alnum => true,
        TokClass::Digits | TokClass::Punct => false,
    }
}

/// Whether token `i` of `toks` can start a written IBAN: [`iban_start_class`], and a two-letter
/// word ("DK") only before a token with a digit (the check digits, "DK 50 0040 …"). After the
/// two letters the search takes no punctuation, no word before four characters and nothing past
/// a line break, so without such a token it ends at the letters, short of every IBAN length.
#[inline(always)]
fn iban_start(toks: &[Tok], i: usize) -> bool {
    toks.get(i).is_some_and(|t| {
        iban_start_class(t)
            && (t.class != TokClass::Word
                || toks
                    .get(i + 1)
                    .is_some_and(|n| matches!(n.class, TokClass::Digits | TokClass::Alnum)))
    })
}

/// The characters of a written IBAN being collected, on the stack (most tokens tried are words
/// like "de", "it", "se"). Counts past its capacity without storing: only a length equal to the
/// country's IBAN length (at most 34) is ever used.
struct IbanAcc {
    buf: [u8; 34],
    len: usize,
}

impl Default for IbanAcc {
    fn default() -> Self {
        Self {
            buf: [0; 34],
            len: 0,
        }
    }
}

impl IbanAcc {
    fn push(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = c;
        }
        self.len += 1;
    }
    fn len(&self) -> usize {
        self.len
    }
    /// The characters, when no more than fit were pushed.
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// Whether `b` holds an ASCII digit, and whether it holds an '@'. Read in 16-byte blocks of a
/// fixed length, which the compiler turns into a few vector instructions each; the last, short
/// block is padded with zero bytes (neither a digit nor an '@').
fn digit_and_at(b: &[u8]) -> (bool, bool) {
    let (mut digit, mut at) = (false, false);
    let mut blocks = b.chunks_exact(16);
    for block in &mut blocks {
        let (d, a) = digit_and_at_16(block);
        digit |= d;
        at |= a;
        if digit && at {
            return (true, true);
        }
    }
    let rest = blocks.remainder();
    let mut last = [0u8; 16];
    if let Some(head) = last.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    let (d, a) = digit_and_at_16(&last);
    (digit || d, at || a)
}

/// [`digit_and_at`] of one block of 16 bytes (no early exit, so it vectorises).
#[inline(always)]
fn digit_and_at_16(block: &[u8]) -> (bool, bool) {
    let Ok(block) = <&[u8; 16]>::try_from(block) else {
        return (false, false);
    };
    let (mut d, mut a) = (0u8, 0u8);
    for &c in block {
        d |= u8::from(c.wrapping_sub(b'0') < 10);
        a |= u8::from(c == b'@');
    }
    (d != 0, a != 0)
}

#[allow(non_snake_case)]
fn Lazy_init() {
    let _ = cues::CUES.is_some();
    let _ = &*crate::numbers::TABLE;
    let _ = crate::numbers::maybe_number("");
    let _ = email::maybe_spoken("");
}

/// "… 2003 geboren", "… 1990 born": a birth cue right after a date.
fn dob_cue_after(cues: &[CueHit], end: usize) -> bool {
    cues.iter()
        .any(|c| c.cue == Cue::Dob && c.s >= end && c.s <= end + 12)
}

/// A birth cue close before `at` (dates further away are other dates: deliveries, visits).
/// Only the first date after the cue: digits in between mean the birth date was already said.
fn dob_near(text: &str, cues: &[CueHit], at: usize) -> bool {
    cues::before(cues, at, 45).next().is_some_and(|c| {
        c.cue == Cue::Dob
            && !text
                .get(c.e..at)
                .is_some_and(|x| x.bytes().any(|b| b.is_ascii_digit()))
    })
}

/// A necessary condition for the HETU pattern (`\\d{6}[-+A-FU-Y]\\d{3}…`): somewhere a digit, a
/// century sign and a digit in a row. Any non-ASCII byte counts as all three (Unicode digits and
/// case folding), so this never rejects what the regex would find. Read eight bytes at a time,
/// six bytes apart (so every three bytes in a row lie in one read), the classes computed for all
/// eight at once.
fn hetu_possible(text: &str) -> bool {
    let b = text.as_bytes();
    let mut at = 0usize;
    while at + 2 < b.len() {
        let eight = match b.get(at..at + 8).and_then(|x| <[u8; 8]>::try_from(x).ok()) {
            Some(x) => x,
            None => {
                // the last, short read is padded with zero bytes (of neither class)
                let mut x = [0u8; 8];
                let rest = b.get(at..).unwrap_or(&[]);
                if let Some(head) = x.get_mut(..rest.len()) {
                    head.copy_from_slice(rest);
                }
                x
            }
        };
        if hetu_triple_8(u64::from_le_bytes(eight)) {
            return true;
        }
        at += 6;
    }
    false
}

/// [`hetu_possible`] of eight bytes (little-endian in `x`): a digit, a century sign and a digit
/// in a row starting at one of the first six. Every class is a bit 7 per byte, computed on the
/// bytes' low seven bits (no carry crosses a byte); non-ASCII bytes are of every class.
#[inline(always)]
fn hetu_triple_8(x: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = LO * 0x80;
    let wide = x & HI;
    let x7 = x & !HI;
    // bit 7 of each byte of `v` (all below 0x80) that is `c` or more
    let at_least = |v: u64, c: u8| (v + LO * u64::from(0x80 - c)) & HI;
    // bit 7 of each byte of `x7` that is `c`
    let equal = |c: u8| {
        let t = x7 ^ (LO * u64::from(c));
        !((t + !HI) | t) & HI
    };
    let digit = (at_least(x7, b'0') & !at_least(x7, b'9' + 1)) | wide;
    // `| 0x20` maps A-F and U-Y, and nothing else, onto a-f and u-y
    let l = x7 | (LO * 0x20);
    let letter =
        (at_least(l, b'a') & !at_least(l, b'f' + 1)) | (at_least(l, b'u') & !at_least(l, b'y' + 1));
    let sign = letter | equal(b'-') | equal(b'+') | wide;
    digit & (sign >> 8) & (digit >> 16) != 0
}

/// Per byte, the classes [`hetu_triple_8`] computes: bit 0 a digit, bit 1 a century sign
/// (non-ASCII bytes both). The tests' reference.
#[cfg(test)]
static HETU_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0usize;
    while i < 256 {
        let c = i as u8;
        let d = c.is_ascii_digit() || c >= 0x80;
        let sep = matches!(c, b'-' | b'+' | b'A'..=b'F' | b'U'..=b'Y' | b'a'..=b'f' | b'u'..=b'y')
            || c >= 0x80;
        t[i] = (d as u8) | (sep as u8) << 1;
        i += 1;
    }
    t
};

fn hetu_shape_date_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).map_or(0, |c| u32::from(c.wrapping_sub(b'0')));
    let (dd, mm) = (d(0) * 10 + d(1), d(2) * 10 + d(3));
    ck::valid_date(dd, mm, 2000)
}

/// The nearest cue before `at` among `want` (ignoring Repeat cues), if it is one of them and no
/// negative cue is nearer.
fn nearest(cues: &[CueHit], at: usize, want: &[Cue]) -> Option<Cue> {
    for c in cues::before(cues, at, CUE_REACH) {
        if want.contains(&c.cue) {
            return Some(c.cue);
        }
        if c.cue == Cue::Neg {
            return None;
        }
    }
    None
}

/// The most specific cue speaking for a value at `at`: the nearest non-generic one; `Number`
/// (a bare "nummer"/"number") only when nothing else is in reach.
fn context(cues: &[CueHit], at: usize) -> Option<Cue> {
    let mut generic = None;
    for c in cues::before(cues, at, CUE_REACH) {
        match c.cue {
            Cue::Repeat => continue,
            Cue::Number => {
                if generic.is_none() {
                    generic = Some(Cue::Number);
                }
            }
            other => return Some(other),
        }
    }
    generic
}

fn val(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |a, &x| {
        a.saturating_mul(10).saturating_add(u32::from(x))
    })
}

/// Country calling codes we know, with the national number lengths after them.
fn phone_cc(d: &[u8]) -> Option<(usize, std::ops::RangeInclusive<usize>)> {
    let p = |k: usize| val(d.get(..k).unwrap_or(&[]));
    match p(2) {
        45 => return Some((2, 8..=8)),
        46 => return Some((2, 7..=10)),
        47 => return Some((2, 8..=8)),
        49 => return Some((2, 6..=12)),
        44 => return Some((2, 9..=10)),
        33 | 31 | 32 | 34 | 39 | 41 | 43 | 48 => return Some((2, 8..=10)),
        _ => {}
    }
    match p(3) {
        358 => Some((3, 5..=11)),
        372 => Some((3, 7..=8)),
        353 | 354 | 370 | 371 => Some((3, 7..=10)),
        _ => None,
    }
}

/// The kind and score of the digits `d` of groups `a..b` of run `r`, if any. Every kind wants
/// three digits or more (a CVC, an expiry "M YY"), so `d` shorter than that gets `None`; and
/// only the whole run makes something of fewer than six (a part of it: a card, an international
/// phone number, a national id or a date of birth, six digits or more).
#[allow(clippy::too_many_arguments)]
fn classify(
    text: &str,
    r: &NumRun,
    a: usize,
    b: usize,
    d: &[u8],
    ctx: Option<Cue>,
    cues: &[CueHit],
    s: usize,
) -> Option<(Kind, f32)> {
    let len = d.len();
    let whole = a == 0 && b == r.groups.len();
    let neg = ctx == Some(Cue::Neg);
    // cards: valid IIN + Luhn, anywhere
    if (12..=19).contains(&len) && ck::card_brand(d).is_some() && ck::luhn(d) && len >= 13 {
        return Some((Kind::PaymentCard, 0.95));
    }
    if ctx == Some(Cue::Card) && (13..=19).contains(&len) {
        return Some((Kind::PaymentCard, 0.75));
    }
    // phone with an international prefix
    if a == 0 && (r.plus || d.starts_with(&[0, 0])) {
        let dd = if r.plus { d } else { d.get(2..).unwrap_or(&[]) };
        if let Some((k, rng)) = phone_cc(dd) {
            let rest = dd.len().saturating_sub(k);
            let rest = if dd.get(k) == Some(&0) {
                rest.saturating_sub(1)
            } else {
                rest
            };
            if rng.contains(&rest) {
                return Some((Kind::PhoneNumber, 0.9));
            }
        }
    }
    // national identifiers with their checks
    if !neg {
        if let Some(sc) = national_id(d, ctx == Some(Cue::Id) && whole) {
            return Some((Kind::NationalId, sc));
        }
        // the written DDMMYY-SSSS shape with a real date is a CPR number even when it fails the
        // old mod-11 check (numbers issued since 2007)
        if len == 10 && b - a == 2 && r.window(a, a + 1).len() == 6 && ck::cpr(d).0 {
            let raw = text.get(s..r.bytes(a, b).1).unwrap_or("");
            if raw.as_bytes().get(6) == Some(&b'-') {
                return Some((Kind::NationalId, 0.7));
            }
        }
    }
    match ctx {
        Some(Cue::Cvc) if whole && (3..=4).contains(&len) => return Some((Kind::CardCvc, 0.85)),
        Some(Cue::Expiry | Cue::Card | Cue::Cvc)
            if whole && expiry_shape(d) && (len > 3 || ctx == Some(Cue::Expiry)) =>
        {
            return Some((Kind::CardExpiry, 0.85))
        }
        Some(Cue::Dob) if dob_near(text, cues, s) && numeric_date(text, r, a, b, d) => {
            return Some((Kind::DateOfBirth, 0.85))
        }
        Some(Cue::Phone | Cue::Number)
            if whole && (6..=13).contains(&len) && !r_is_date(text, r) =>
        {
            return Some((Kind::PhoneNumber, 0.75))
        }
        Some(Cue::Iban) if whole && (14..=30).contains(&len) => return Some((Kind::Iban, 0.6)),
        _ => {}
    }
    // national phone formats without a cue: written, leading 0 and a plausible length; or the
    // Nordic "dd dd dd dd" pattern
    if whole && !neg && d.first() == Some(&0) && d.get(1) != Some(&0) && !r_is_date(text, r) {
        // written 0xx… of 9–12 digits, or spoken "noll sju …" of 10–11
        if (9..=12).contains(&len) && !r.spoken() || (10..=11).contains(&len) {
            return Some((Kind::PhoneNumber, 0.6));
        }
    }
    if whole && !neg && !r.spoken() {
        let groups = b - a;
        if len == 8 && groups == 4 && r.groups.iter().all(|g| g.de - g.ds == 2) && r.seps.is_empty()
        {
            return Some((Kind::PhoneNumber, 0.6));
        }
    }
    None
}

fn r_is_date(text: &str, r: &NumRun) -> bool {
    let raw = text.get(r.s()..r.e()).unwrap_or("");
    r.groups.len() == 3 && (raw.contains('.') || raw.contains('-') || raw.contains('/')) && {
        let mut g = [0usize; 3];
        for (slot, x) in g.iter_mut().zip(&r.groups) {
            *slot = x.de - x.ds;
        }
        matches!(g, [4, 2, 2] | [2, 2, 4] | [1, 2, 4] | [2, 1, 4] | [1, 1, 4])
    }
}

fn expiry_shape(d: &[u8]) -> bool {
    let mm = val(d.get(..2).unwrap_or(&[]));
    match d.len() {
        // "eight twenty-seven": M YY
        3 => d.first().is_some_and(|&m| m >= 1),
        4 => (1..=12).contains(&mm),
        6 => (1..=12).contains(&mm) && (2000..=2099).contains(&val(d.get(2..).unwrap_or(&[]))),
        _ => false,
    }
}

/// D.M.YYYY, DD-MM-YYYY, YYYY-MM-DD, DD/MM/YYYY, spoken DDMMYYYY.
fn numeric_date(text: &str, r: &NumRun, a: usize, b: usize, d: &[u8]) -> bool {
    let _ = text;
    let gl: Vec<usize> = r
        .groups
        .get(a..b)
        .unwrap_or(&[])
        .iter()
        .map(|g| g.de - g.ds)
        .collect();
    let g = |k: usize| -> u32 {
        let (Some(x), Some(y)) = (r.groups.get(a), r.groups.get(a)) else {
            return 0;
        };
        let _ = y;
        let off: usize = gl.iter().take(k).sum();
        let l = gl.get(k).copied().unwrap_or(0);
        val(r.digits.get(x.ds + off..x.ds + off + l).unwrap_or(&[]))
    };
    match gl.as_slice() {
        [1 | 2, 1 | 2, 4] => ck::valid_date(g(0), g(1), g(2)) || ck::valid_date(g(1), g(0), g(2)),
        [4, 1 | 2, 1 | 2] => ck::valid_date(g(2), g(1), g(0)),
        [2, 2, 2] if !r.seps.is_empty() => {
            ck::valid_date(g(0), g(1), 1900 + g(2)) || ck::valid_date(g(1), g(0), 1900 + g(2))
        }
        _ => {
            if d.len() == 8 {
                let dd = val(d.get(..2).unwrap_or(&[]));
                let mm = val(d.get(2..4).unwrap_or(&[]));
                let yy = val(d.get(4..).unwrap_or(&[]));
                (1900..=2099).contains(&yy) && ck::valid_date(dd, mm, yy)
            } else {
                false
            }
        }
    }
}

/// Score of a national id (any of our countries) or None.
fn national_id(d: &[u8], cue: bool) -> Option<f32> {
    match d.len() {
        10 => {
            let (date, m11) = ck::cpr(d);
            if date && m11 {
                return Some(0.9);
            }
            if ck::personnummer(d) {
                return Some(0.9);
            }
            if cue && date {
                return Some(0.7);
            }
            // a cue and a real date: a mis-heard check digit is still somebody's id
            if cue && ck::valid_date(val(&d[4..6]), val(&d[2..4]), 1900 + val(&d[..2])) {
                return Some(0.5);
            }
        }
        12 if ck::personnummer(d) => return Some(0.9),
        12 if cue && ck::valid_date(val(&d[6..8]), val(&d[4..6]), val(&d[..4])) => {
            return Some(0.5)
        }
        11 if ck::fodselsnummer(d) || ck::isikukood(d) || ck::steuer_id(d) => return Some(0.9),
        11 if cue => {
            // fødselsnummer (DDMMYY…) or isikukood (GYYMMDD…) shape with a real date
            let fnr = ck::valid_date(val(&d[..2]) % 40, val(&d[2..4]) % 40, 1900 + val(&d[4..6]));
            let ik = ck::valid_date(val(&d[5..7]), val(&d[3..5]), 1900 + val(&d[1..3]));
            if fnr || ik || d.first() != Some(&0) {
                return Some(0.5);
            }
        }
        _ => {}
    }
    None
}

fn join_cards(runs: &[NumRun], cues: &[CueHit], from: usize, out: &mut Vec<Candidate>) {
    const GAP: usize = 60;
    let taken = |r: &NumRun, out: &[Candidate]| {
        out.get(from..)
            .unwrap_or(&[])
            .iter()
            .any(|c| c.start < r.e() && r.s() < c.end)
    };
    for i in 0..runs.len() {
        let Some(first) = runs.get(i) else { break };
        if first.digits.len() >= 13
            || taken(first, out)
            || context(cues, first.s()) != Some(Cue::Card)
        {
            continue;
        }
        let mut digits: Vec<u8> = first.digits.clone();
        let mut end = first.e();
        for next in runs.iter().skip(i + 1).take(3) {
            if next.s().saturating_sub(end) > GAP || taken(next, out) {
                break;
            }
            digits.extend_from_slice(&next.digits);
            end = next.e();
            if digits.len() > 19 {
                break;
            }
            if digits.len() >= 13 && ck::card_brand(&digits).is_some() && ck::luhn(&digits) {
                let (s, e) = (first.s(), end);
                let covered = out
                    .get(from..)
                    .unwrap_or(&[])
                    .iter()
                    .any(|c| c.kind == Kind::PaymentCard && c.start <= s && c.end >= e);
                if !covered {
                    out.push(Candidate::new(s, e, Kind::PaymentCard, 0.8));
                }
                break;
            }
        }
    }
}

/// A value [`echo`] looks for: the digits `runs[run].digits[ds..de]`, the kind and score of the
/// candidate they were found as.
#[derive(Clone, Copy)]
struct EchoVal {
    run: usize,
    ds: usize,
    de: usize,
    kind: Kind,
    score: f32,
}

/// Whether [`echo`] could add a candidate at all: some run has consecutive groups overlapping
/// none of the candidates `found` with three digits or more between them. A window spans its
/// groups (their starts and ends never fall along a run), so a window overlapping no candidate
/// is such a stretch of groups, and every value it could repeat has three digits or more. Most
/// lines with a finding have every group inside one.
fn echo_room(runs: &[NumRun], found: &[Candidate]) -> bool {
    runs.iter().any(|r| {
        let mut free = 0usize;
        r.groups.iter().any(|g| {
            if found.iter().any(|c| c.start < g.e && g.s < c.end) {
                free = 0;
            } else {
                free += g.de - g.ds;
            }
            free >= 3
        })
    })
}

/// Adds candidates for numbers that repeat a value already found (same digits, ≥ 3 of them).
/// `vals` and `lens` are buffers kept across lines.
fn echo(
    runs: &[NumRun],
    from: usize,
    out: &mut Vec<Candidate>,
    vals: &mut Vec<EchoVal>,
    lens: &mut Vec<usize>,
) {
    // the candidates found before this pass (it appends after them)
    let found_end = out.len();
    if found_end <= from {
        return;
    }
    if !echo_room(runs, out.get(from..found_end).unwrap_or(&[])) {
        return;
    }
    // the found values' digits, in their runs: the windows whose first group starts where the
    // candidate starts and whose last group ends where it ends
    vals.clear();
    for c in out.get(from..found_end).unwrap_or(&[]) {
        for (ri, r) in runs.iter().enumerate() {
            for (a, ga) in r.groups.iter().enumerate() {
                if ga.s != c.start {
                    continue;
                }
                for (k, gb) in r.groups.get(a..).unwrap_or(&[]).iter().enumerate() {
                    if gb.e == c.end && r.window(a, a + k + 1).len() >= 3 {
                        vals.push(EchoVal {
                            run: ri,
                            ds: ga.ds,
                            de: gb.de,
                            kind: c.kind,
                            score: c.score,
                        });
                    }
                }
            }
        }
    }
    if vals.is_empty() {
        return;
    }
    let digits = |v: &EchoVal| {
        runs.get(v.run)
            .and_then(|r| r.digits.get(v.ds..v.de))
            .unwrap_or(&[])
    };
    // the values' lengths, each once, longest first
    lens.clear();
    lens.extend(vals.iter().map(|v| v.de - v.ds));
    lens.sort_unstable_by(|x, y| y.cmp(x));
    lens.dedup();
    // Windows from `a` grow with `b` (groups' digits follow each other, so `de` never falls),
    // and only a window of a value's length can equal it. So for each value length, longest
    // first, only the last group ending exactly that many digits after `a` starts is tried: the
    // groups before it ending there give the same digits, and the loop takes the largest `b`.
    for r in runs {
        for (a, ga) in r.groups.iter().enumerate() {
            let rest = r.groups.get(a..).unwrap_or(&[]);
            // the rest's last group ends furthest: no window from `a` is longer than this
            let end = rest.last().map_or(0, |g| g.de);
            for &len in lens.iter() {
                let target = ga.ds + len;
                if target > end {
                    continue;
                }
                let k = rest.partition_point(|g| g.de <= target);
                if k == 0 || rest.get(k - 1).map(|g| g.de) != Some(target) {
                    continue;
                }
                let b = a + k;
                let w = r.window(a, b);
                let Some(v) = vals.iter().find(|v| digits(v) == w) else {
                    continue;
                };
                let (s, e) = r.bytes(a, b);
                if !out.iter().any(|c| c.start < e && s < c.end) {
                    out.push(Candidate::new(s, e, v.kind, v.score * 0.95));
                }
                break;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The number runs of `text`, as the recogniser reads them.
    fn runs_of(text: &str) -> Vec<crate::normalize::NumRun> {
        let mut lower = String::new();
        crate::normalize::lower_same_len(text, &mut lower);
        let mut toks = Vec::new();
        crate::normalize::tokenize(text, &mut toks);
        let mut runs = Vec::new();
        crate::normalize::number_runs(text, &lower, &toks, &mut runs);
        runs
    }

    fn find(text: &str) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        Recognisers::new().find(text, &[Lang::En], &mut out);
        let out = crate::resolve::resolve(text, out);
        out.iter()
            .map(|c| (c.kind, text[c.start..c.end].to_string()))
            .collect()
    }

    /// `run` tries no window of fewer than three digits: `classify` finds nothing in one, under
    /// any cue, with or without a '+'.
    #[test]
    fn no_kind_under_three_digits() {
        let cues_all = [
            Cue::Card,
            Cue::Cvc,
            Cue::Expiry,
            Cue::Id,
            Cue::Phone,
            Cue::Number,
            Cue::Dob,
            Cue::Iban,
            Cue::Neg,
            Cue::Repeat,
        ];
        for body in [
            "1", "0", "00", "12", "45", "1 2", "0 0", "4 5", "1.2", "1-2", "1/2", "en to", "fem",
            "tolv", "nul nul", "fire fem",
        ] {
            for lead in ["", "+", "plus "] {
                let text = format!("x {lead}{body} y");
                let runs = runs_of(&text);
                for r in &runs {
                    let n = r.groups.len();
                    for cue in cues_all.iter().copied().map(Some).chain([None]) {
                        let hits: Vec<CueHit> = cue
                            .map(|c| CueHit { s: 0, e: 1, cue: c })
                            .into_iter()
                            .collect();
                        for a in 0..n {
                            for b in a + 1..=n {
                                let d = r.window(a, b);
                                if d.len() >= 3 {
                                    continue;
                                }
                                let s = r.bytes(a, b).0;
                                assert_eq!(
                                    classify(&text, r, a, b, d, cue, &hits, s),
                                    None,
                                    "{text} {cue:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn frames_beyond_the_dev_set() {
        assert!(
            find("my card is 4571 1704\nAgent: yes go on\nCaller: 9635 5977")
                .iter()
                .any(|(k, _)| *k == Kind::PaymentCard)
        );
        assert_eq!(
            find("born on the 3rd of March 1985"),
            vec![(Kind::DateOfBirth, "3rd of March 1985".into())]
        );
        assert_eq!(
            find("expiry date eight twenty-seven"),
            vec![(Kind::CardExpiry, "eight twenty-seven".into())]
        );
        assert_eq!(
            find("født 12.03.85"),
            vec![(Kind::DateOfBirth, "12.03.85".into())]
        );
        assert_eq!(
            find("e-posten er ola krøllalfa firma punkt no"),
            vec![(Kind::Email, "ola krøllalfa firma punkt no".into())]
        );
        assert_eq!(
            find("udløber nul otte skråstreg syvogtyve"),
            vec![(Kind::CardExpiry, "nul otte skråstreg syvogtyve".into())]
        );
        assert!(find("the order number is 4571170496355978 thanks").is_empty());
        assert!(find("it costs 3.519 euro").is_empty());
        assert_eq!(
            find("it is j e n s at gmail dot com"),
            vec![(Kind::Email, "j e n s at gmail dot com".into())]
        );
        assert_eq!(
            find("ring mig på plus fire fem fire null seks to fem syv fem en"),
            vec![(
                Kind::PhoneNumber,
                "plus fire fem fire null seks to fem syv fem en".into()
            )]
        );
    }

    /// Pieces that make HETU shapes and their surroundings: ASCII and other digits, century
    /// signs, letters that fold into the classes (Kelvin sign, long s), word and non-word
    /// characters (underscore, a combining mark).
    fn hetu_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "010190",
            "311299",
            "123456",
            "12",
            "1",
            "-",
            "+",
            "A",
            "a",
            "y",
            "Y",
            "Z",
            "123",
            "4",
            "\u{663}\u{663}\u{663}",
            "\u{ff15}",
            "ä",
            "\u{212a}",
            "\u{17f}",
            "\u{300}",
            "_",
            " ",
            ".",
            "x",
        ])
    }

    /// The straightforward [`echo`] (every length found anew for each group, no buffers), which
    /// `echo` must agree with.
    fn echo_ref(runs: &[NumRun], from: usize, out: &mut Vec<Candidate>) {
        // the candidates found before this pass (it appends after them)
        let found_end = out.len();
        if found_end <= from {
            return;
        }
        // the found values' digits, borrowed from their runs: the windows whose first group starts
        // where the candidate starts and whose last group ends where it ends
        let mut vals: Vec<(&[u8], Kind, f32)> = Vec::new();
        for c in out.get(from..found_end).unwrap_or(&[]) {
            for r in runs {
                for (a, ga) in r.groups.iter().enumerate() {
                    if ga.s != c.start {
                        continue;
                    }
                    for (k, gb) in r.groups.get(a..).unwrap_or(&[]).iter().enumerate() {
                        if gb.e == c.end {
                            let w = r.window(a, a + k + 1);
                            if w.len() >= 3 {
                                vals.push((w, c.kind, c.score));
                            }
                        }
                    }
                }
            }
        }
        if vals.is_empty() {
            return;
        }
        // Windows from `a` grow with `b` (groups' digits follow each other, so `de` never falls),
        // and only a window of a value's length can equal it. So for each value length, longest
        // first, only the last group ending exactly that many digits after `a` starts is tried: the
        // groups before it ending there give the same digits, and the loop takes the largest `b`.
        let next_len = |below: usize| {
            vals.iter()
                .map(|(v, _, _)| v.len())
                .filter(|&l| l < below)
                .max()
        };
        for r in runs {
            for (a, ga) in r.groups.iter().enumerate() {
                let rest = r.groups.get(a..).unwrap_or(&[]);
                let mut below = usize::MAX;
                while let Some(len) = next_len(below) {
                    below = len;
                    let target = ga.ds + len;
                    let k = rest.partition_point(|g| g.de <= target);
                    if k == 0 || rest.get(k - 1).map(|g| g.de) != Some(target) {
                        continue;
                    }
                    let b = a + k;
                    let w = r.window(a, b);
                    let Some(&(_, k, sc)) = vals.iter().find(|(v, _, _)| *v == w) else {
                        continue;
                    };
                    let (s, e) = r.bytes(a, b);
                    if !out.iter().any(|c| c.start < e && s < c.end) {
                        out.push(Candidate::new(s, e, k, sc * 0.95));
                    }
                    break;
                }
            }
        }
    }

    /// Pieces of lines with numbers: written digits in groups, number words, separators, an
    /// IBAN's country letters, other words and non-ASCII characters.
    fn num_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "12", "345", "4571", "1704", "9635", "5977", "0", "07", "123456", "3519", " ", " ",
            " ", "-", "/", ".", ", ", "+", "\n", "fire", "fem", "to", "en", "twenty", "one",
            "hundred", "og", "and", "plus", "dk", "DK", "DK50", "de89", "x", "ab", "ä", "Ää",
            "\u{663}", "a1", "1a", "xy7", "é2", "number", "card", "repeat",
        ])
    }

    /// Pieces of lines with IBANs, written whole, in groups or after spelled letters, and what
    /// may stand next to them.
    fn iban_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "DK50",
            "DK",
            "dk",
            "50",
            "0040",
            "0440",
            "1162",
            "43",
            "DE89",
            "3704",
            "0044",
            "0532",
            "0130",
            "00",
            "FI21",
            "1234",
            "5600",
            "0007",
            "85",
            "de",
            "fi",
            "NO93",
            "8601",
            "1117",
            "947",
            "dk8815510891586802",
            "d",
            "k",
            " ",
            " ",
            " ",
            "\n",
            "-",
            ".",
            ", ",
            "er",
            "is",
            "ab",
            "x",
            "konto",
            "1",
            "12345",
            "a1",
            "ä",
        ])
    }

    proptest::proptest! {
        /// A token that `iban_start_class` rejects never has the bytes of a written IBAN's start
        /// (two ASCII letters, alone or before an ASCII digit).
        #[test]
        fn iban_start_class_is_necessary(parts in proptest::collection::vec(num_piece(), 0..24)) {
            let text: String = parts.concat();
            let mut toks = Vec::new();
            crate::normalize::tokenize(&text, &mut toks);
            for t in &toks {
                let rb = &text.as_bytes()[t.s..t.e];
                let shape = rb.len() >= 2
                    && rb.get(2).is_none_or(u8::is_ascii_digit)
                    && rb.iter().take(2).all(|c| c.is_ascii_alphabetic());
                proptest::prop_assert!(!shape || iban_start_class(t), "{:?} {:?}", text, t);
            }
        }

        /// `iban_start` rejects no token from which the IBAN search with the class test alone
        /// (`iban_start_class`) finds something: both find the same.
        #[test]
        fn iban_start_finds_what_the_class_test_finds(
            parts in proptest::collection::vec(iban_piece(), 0..24),
            cue in proptest::option::of(0usize..30),
        ) {
            let text: String = parts.concat();
            let mut toks = Vec::new();
            crate::normalize::tokenize(&text, &mut toks);
            let runs = runs_of(&text);
            let cues: Vec<CueHit> = cue
                .map(|at| CueHit { s: at, e: at + 1, cue: Cue::Iban })
                .into_iter()
                .collect();
            let rec = Recognisers::new();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            rec.iban_with(&text, true, &toks, &runs, &cues, &mut got, iban_start);
            rec.iban_with(&text, true, &toks, &runs, &cues, &mut want, |toks, i| {
                toks.get(i).is_some_and(iban_start_class)
            });
            proptest::prop_assert_eq!(got, want, "{:?}", text);
        }

        /// `echo` adds what the straightforward version adds, with candidates on any windows of
        /// the line's runs (and a candidate from elsewhere before them).
        #[test]
        fn echo_is_the_straightforward_one(
            parts in proptest::collection::vec(num_piece(), 0..32),
            picks in proptest::collection::vec((0usize..8, 0usize..8, 0usize..8, 0usize..3), 0..6),
            before in proptest::option::of((0usize..40, 0usize..10)),
            twice in proptest::bool::ANY,
        ) {
            // said twice (a word between), so that values are read back
            let once: String = parts.concat();
            let text = if twice { format!("{once} x {once}") } else { once };
            let runs = runs_of(&text);
            let mut out = Vec::new();
            if let Some((s, l)) = before {
                out.push(Candidate::new(s, s + l, Kind::PersonName, 0.5));
            }
            let from = out.len();
            let kinds = [Kind::PhoneNumber, Kind::PaymentCard, Kind::NationalId];
            for &(ri, a, b, k) in &picks {
                let Some(r) = runs.get(ri % runs.len().max(1)) else { continue };
                let n = r.groups.len();
                let (a, b) = (a % n, b % n);
                let (a, b) = (a.min(b), a.max(b) + 1);
                let (s, e) = r.bytes(a, b);
                out.push(Candidate::new(s, e, kinds[k], 0.9));
            }
            let mut want = out.clone();
            echo_ref(&runs, from, &mut want);
            let (mut vals, mut lens) = (Vec::new(), Vec::new());
            echo(&runs, from, &mut out, &mut vals, &mut lens);
            proptest::prop_assert_eq!(out, want, "{:?}", text);
        }
    }

    proptest::proptest! {
        /// A part of a run (not all of its groups) with fewer than six digits is nothing,
        /// whatever cue speaks for it: `run` does not try such windows.
        #[test]
        fn short_parts_of_runs_are_nothing(
            parts in proptest::collection::vec(num_piece(), 0..24),
            dob in proptest::option::of(0usize..60),
        ) {
            let text: String = parts.concat();
            let runs = runs_of(&text);
            // a birth cue somewhere before, for the dates that need one near them
            let cues: Vec<CueHit> = dob
                .map(|at| CueHit { s: at, e: at + 1, cue: Cue::Dob })
                .into_iter()
                .collect();
            let ctxs = [
                None,
                Some(Cue::Card),
                Some(Cue::Cvc),
                Some(Cue::Expiry),
                Some(Cue::Id),
                Some(Cue::Phone),
                Some(Cue::Number),
                Some(Cue::Dob),
                Some(Cue::Iban),
                Some(Cue::Neg),
                Some(Cue::Repeat),
            ];
            for r in &runs {
                let n = r.groups.len();
                for a in 0..n {
                    for b in a + 1..=n {
                        let d = r.window(a, b);
                        if (a, b) == (0, n) || d.len() >= 6 {
                            continue;
                        }
                        let s = r.bytes(a, b).0;
                        for &ctx in &ctxs {
                            let got = classify(&text, r, a, b, d, ctx, &cues, s);
                            proptest::prop_assert!(got.is_none(), "{:?} {} {} {:?}", text, a, b, got);
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The shape search with boundary checks finds what the regex with `\b` finds.
        #[test]
        fn hetu_is_the_regex(parts in proptest::collection::vec(hetu_piece(), 0..16)) {
            let text: String = parts.concat();
            let re = Regex::new(r"(?i)\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b").unwrap();
            let want: Vec<_> = re.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            let got: Vec<_> = Hetu::new().unwrap().find_iter(&text).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// `hetu_possible` (eight bytes at a time, classes computed) is the straightforward test
        /// of every three bytes in a row with the class table, and never rejects a line in which
        /// the shape (without its boundaries) occurs.
        #[test]
        fn hetu_possible_is_the_straightforward_one(
            parts in proptest::collection::vec(hetu_piece(), 0..16),
            noise in "(?s).{0,40}",
            cut in 0usize..40,
        ) {
            let mut text: String = parts.concat();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &noise);
            let class = |c: u8| HETU_CLASS[usize::from(c)];
            let want = text
                .as_bytes()
                .windows(3)
                .any(|w| class(w[0]) & class(w[1]) >> 1 & class(w[2]) & 1 != 0);
            proptest::prop_assert_eq!(hetu_possible(&text), want, "{:?}", text);
            let shape = Regex::new(r"(?i)\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]").unwrap();
            proptest::prop_assert!(!shape.is_match(&text) || want, "{:?}", text);
        }

        /// Every byte's classes, computed as `hetu_triple_8` does, are the table's, in every
        /// place of the eight.
        #[test]
        fn hetu_classes_are_the_table(c in 0u8..=255, k in 0usize..6) {
            let test = |three: [u8; 3]| {
                let mut eight = [b' '; 8];
                eight[k..k + 3].copy_from_slice(&three);
                hetu_triple_8(u64::from_le_bytes(eight))
            };
            let class = HETU_CLASS[usize::from(c)];
            proptest::prop_assert_eq!(test([b'1', c, b'1']), class & 2 != 0);
            proptest::prop_assert_eq!(test([c, b'-', b'1']), class & 1 != 0);
            proptest::prop_assert_eq!(test([b'1', b'-', c]), class & 1 != 0);
        }
    }
}
