//! Person names: after a cue ("jeg hedder", "my name is", "hier ist", "tak"), as a first name +
//! surname pair from the gazetteers, and spelled out letter by letter ("p o u l s e n").

use sotto_core::Kind;

use super::data::PhraseSet;
use super::{flag, Doc, LangCues, Lexical};
use crate::span::Candidate;

/// Endings that make an unknown word look like a surname.
const SURNAME_ENDINGS: &[&str] = &[
    "sen", "son", "ssen", "nen", "inen", "mann", "berg", "gaard", "gård", "ström", "strom",
    "qvist", "kvist", "lund", "dahl", "holm", "ski", "ska", "ov", "ova", "ev", "eva", "mets",
    "pere", "lä", "la", "er", "ner", "ler", "ger", "stad", "vik", "by", "rud",
];

#[derive(Clone, Copy, PartialEq)]
enum Cue {
    Strong,
    Weak,
    Honorific,
}

pub(crate) fn find(
    lex: &Lexical,
    cues: &LangCues,
    doc: &Doc<'_>,
    bufs: &mut Bufs,
    out: &mut Vec<Candidate>,
) {
    let n = doc.toks.len();
    if n == 0 {
        return;
    }
    let words = &doc.words;
    // A spelled name needs two single letters in a row ("I" alone, in most English lines, is
    // none).
    let letter_run = || {
        doc.toks
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.letter() && b.letter() && b.tight()))
    };
    let runs = doc.letters && letter_run();
    // Only the cue rules and the spelled names' cues read the sequence, and a cue rule only
    // fires where `cue_may_fire` says so.
    let need_seq = runs || (doc.any & flag::NAME_CUE != 0 && cue_gate(doc));
    if !need_seq && doc.any & flag::FIRST == 0 {
        // no rule can start (most lines that get here only have a single letter)
        return;
    }
    // (reused across calls: the prepared text's)
    let Bufs {
        seq: ref mut own_seq,
        ref mut brk_eff,
        ref mut found,
        ref mut cue_at,
        ref mut identity,
    } = *bufs;
    // Word sequence without fillers; a break before a skipped filler moves to the next word.
    // (and where in it the name cues are: the only places a cue rule can start). Without a
    // filler in the line the sequence is every word and its breaks are the words' own: the
    // identity, kept across calls, and no per-word pass besides the cues.
    let fillers = doc.any & flag::FILLER != 0;
    own_seq.clear();
    brk_eff.clear();
    found.clear();
    cue_at.clear();
    if need_seq && fillers {
        brk_eff.resize(n, false);
        let mut pending_brk = false;
        for (i, ((t, f), b)) in doc
            .toks
            .iter()
            .zip(doc.flags())
            .zip(brk_eff.iter_mut())
            .enumerate()
        {
            if f & flag::FILLER != 0 {
                pending_brk |= t.brk();
                continue;
            }
            *b = t.brk() || pending_brk;
            pending_brk = false;
            if f & flag::NAME_CUE != 0 {
                cue_at.push(own_seq.len());
            }
            own_seq.push(i);
        }
    } else if need_seq {
        if identity.len() < n {
            identity.extend(identity.len()..n);
        }
        cue_at.extend(
            doc.flags()
                .enumerate()
                .filter(|(_, f)| f & flag::NAME_CUE != 0)
                .map(|(i, _)| i),
        );
    }
    let seq: &[usize] = if need_seq && !fillers {
        identity.get(..n).unwrap_or_default()
    } else {
        own_seq
    };
    let brk_eff: &[bool] = brk_eff;
    let brk = |i: usize| {
        if fillers {
            brk_eff.get(i).copied().unwrap_or(true)
        } else {
            doc.toks.get(i).is_none_or(|t| t.brk())
        }
    };
    let mut covered_until = 0usize; // token index: names found end here

    // found: token ranges, inclusive
    // from one name cue to the next (a name found moves past its words)
    let mut pos = 0usize;
    for &p in cue_at.iter() {
        if p < pos {
            continue;
        }
        pos = p;
        let mut cue: Option<(Cue, usize)> = None;
        // Each set is asked only when a phrase of it may start here, and answered from the
        // word's flags when the next word cannot continue any longer phrase.
        let at = seq.get(pos).copied().unwrap_or(0);
        let next_may = seq
            .get(pos + 1)
            .is_some_and(|&t| doc.has(t, flag::CUE_NEXT));
        let ask = |set: &PhraseSet, may: u64, single: u64| {
            if !doc.has(at, may) {
                None
            } else if !next_may {
                doc.has(at, single).then_some(1)
            } else {
                set.match_at(words, seq, pos, &brk)
            }
        };
        if let Some(l) = ask(&cues.name_strong, flag::CUE_STRONG, flag::CUE_STRONG1) {
            cue = Some((Cue::Strong, l));
        } else if let Some(l) = ask(&cues.honorific, flag::CUE_HONORIFIC, flag::CUE_HONORIFIC1) {
            cue = Some((Cue::Honorific, l));
        } else if let Some(l) = ask(&cues.name_weak, flag::CUE_WEAK, flag::CUE_WEAK1) {
            cue = Some((Cue::Weak, l));
        }
        if let Some((kind, len)) = cue {
            if let Some(&start_tok) = seq.get(pos + len) {
                // (looked at only after a break)
                let colon = || {
                    start_tok > 0
                        && doc
                            .toks
                            .get(start_tok - 1)
                            .zip(doc.toks.get(start_tok))
                            .is_some_and(|(a, b)| {
                                doc.text.get(a.e..b.s).is_some_and(|g| g.trim() == ":")
                            })
                };
                if (!brk(start_tok) || colon()) && start_tok >= covered_until {
                    if let Some(end_tok) = name_after(lex, cues, doc, start_tok, kind) {
                        found.push((start_tok, end_tok));
                        covered_until = end_tok + 1;
                        pos += len;
                        continue;
                    }
                }
            }
        }
        pos += 1;
    }

    // First name + surname pairs without a cue.
    let mut i = 0usize;
    if doc.any & flag::FIRST == 0 {
        // no first name: no pair can start
        i = n;
    }
    while i + 1 < n {
        // a pair starts at a known first name (`pair_at`): skip the other words at once
        if !doc.has(i, flag::FIRST) {
            i += 1;
            continue;
        }
        if i < covered_until && found.iter().any(|&(a, b)| a <= i && i <= b) {
            i += 1;
            continue;
        }
        if let Some(end) = pair_at(lex, cues, doc, i) {
            if !found.iter().any(|&(a, b)| a <= end && i <= b) {
                found.push((i, end));
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }

    // a spelled name is a run of two single letters or more: none without one
    if runs {
        spelled(lex, cues, doc, seq, &brk, found, out);
    }

    for &(a, b) in found.iter() {
        if let (Some(ta), Some(tb)) = (doc.toks.get(a), doc.toks.get(b)) {
            out.push(Candidate::new(ta.s, tb.e, Kind::PersonName, 0.85));
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Tests turn [`cue_may_fire`] off to compare with the rules run on every cue word.
    pub(super) static UNGATED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn cue_gate(doc: &Doc<'_>) -> bool {
    #[cfg(test)]
    if UNGATED.with(std::cell::Cell::get) {
        return true;
    }
    cue_may_fire(doc)
}

/// Can a cue rule of [`find`] find a cue anywhere in the line? Each cue word is asked as the
/// rule asks it (a set that may start at the word, and the word a phrase of that set or the
/// next word a phrase's second word), except that a filler after the cue word, which the rule
/// skips, counts as a possible second word. `false` means the rule would find nothing, so
/// the line needs no word sequence (most lines with a cue word).
fn cue_may_fire(doc: &Doc<'_>) -> bool {
    const SETS: [(u64, u64); 3] = [
        (flag::CUE_STRONG, flag::CUE_STRONG1),
        (flag::CUE_HONORIFIC, flag::CUE_HONORIFIC1),
        (flag::CUE_WEAK, flag::CUE_WEAK1),
    ];
    let may = SETS.iter().fold(0, |a, s| a | s.0);
    if doc.any & may == 0 {
        return false;
    }
    // The same test on the looked-up bits of the language, without [`Doc::has`] per word: the
    // cue word bit, and the three sets' `may` and `single` bits side by side in its cue bits.
    const _: () = assert!(
        flag::CUE_STRONG == 1 << 16
            && flag::CUE_HONORIFIC == 1 << 17
            && flag::CUE_WEAK == 1 << 18
            && flag::CUE_STRONG1 == 1 << 19
            && flag::CUE_HONORIFIC1 == 1 << 20
            && flag::CUE_WEAK1 == 1 << 21
            && flag::CUE_NEXT == 1 << 22
    );
    let (cue_word, filler) = (flag::lang_cue(doc.li), flag::lang_filler(doc.li));
    let shift = doc.li * flag::CUE_BITS;
    let raw = doc.raw.get(..doc.toks.len()).unwrap_or(doc.raw);
    raw.iter().zip(doc.cue).enumerate().any(|(i, (&f, &c))| {
        if f & cue_word == 0 {
            return false;
        }
        let next_may = doc.raw.get(i + 1).is_some_and(|&g| g & filler != 0)
            || doc
                .cue
                .get(i + 1)
                .is_some_and(|&d| (d >> shift) & 0x40 != 0);
        let c = c >> shift;
        let asked = if next_may { 7 } else { (c >> 3) & 7 };
        c & asked & 7 != 0
    })
}

/// The buffers of [`find`], kept across calls (in the prepared text).
#[derive(Default)]
pub(crate) struct Bufs {
    /// The word sequence without fillers (token indices), when the line has fillers.
    seq: Vec<usize>,
    /// Per token: a break before it, or before a filler just before it.
    brk_eff: Vec<bool>,
    /// Names found: token ranges, inclusive.
    found: Vec<(usize, usize)>,
    /// Where in the sequence the name cues are.
    cue_at: Vec<usize>,
    /// 0, 1, 2, …: the sequence of a line without fillers.
    identity: Vec<usize>,
}

fn is_alpha_word(doc: &Doc<'_>, i: usize) -> bool {
    doc.toks.get(i).is_some_and(|t| !t.has_digit() && t.e > t.s)
}

/// A word that cannot be part of a name.
fn blocked(lex: &Lexical, cues: &LangCues, doc: &Doc<'_>, i: usize) -> bool {
    let _ = (lex, cues);
    let known = doc.has(i, flag::FIRST | flag::SUR);
    doc.words.get(i).is_none_or(|w| w.is_empty())
        || !is_alpha_word(doc, i)
        || doc.has(i, flag::STOP | flag::FILLER | flag::STREET_WORD)
        || (doc.has(i, flag::ALL_STOP | flag::TERM) && !known)
}

/// Would a surname candidate at `i` rather start an address ("Tamme tn 117", "Vestergade 16")?
fn starts_address(lex: &Lexical, doc: &Doc<'_>, i: usize) -> bool {
    let w = doc.words.get(i).unwrap_or("");
    if !doc.plain_non_street(i) && lex.streets.is_street_compound(w) {
        return true;
    }
    match doc.words.get(i + 1) {
        Some(next) => {
            let _ = next;
            doc.has(i + 1, flag::TYPE_WORD)
                || doc
                    .toks
                    .get(i + 1)
                    .is_some_and(|t| t.digits() && !t.comma() && !t.brk())
        }
        None => false,
    }
}

fn looks_like_surname(w: &str) -> bool {
    w.chars().count() >= 4 && SURNAME_ENDINGS.iter().any(|e| w.ends_with(e))
}

/// The name after a cue: returns the last token index of the name starting at `start`.
fn name_after(
    lex: &Lexical,
    cues: &LangCues,
    doc: &Doc<'_>,
    start: usize,
    cue: Cue,
) -> Option<usize> {
    if blocked(lex, cues, doc, start) || starts_address(lex, doc, start) {
        return None;
    }
    let w = doc.words.get(start).unwrap_or("");
    let t = doc.toks.get(start)?;
    if t.letter() {
        return None; // a spelled name; handled separately
    }
    let is_first = doc.has(start, flag::FIRST);
    let is_sur = doc.has(start, flag::SUR);
    let amb = doc.has(start, flag::AMB);
    let cap_ok = !doc.mixed || t.cap();
    let ok = match cue {
        Cue::Strong => {
            (is_first || is_sur || (doc.mixed && t.cap()) || (!doc.mixed && w.chars().count() >= 2))
                && cap_ok
        }
        Cue::Weak => {
            let pair = doc.mixed
                && t.cap()
                && !cues.honorific.has(w)
                && doc
                    .toks
                    .get(start + 1)
                    .is_some_and(|n| n.cap() && n.tight() && !n.has_digit())
                && !blocked(lex, cues, doc, start + 1)
                && !starts_address(lex, doc, start + 1);
            ((is_first && (!amb || (doc.mixed && t.cap()))) || pair) && cap_ok
        }
        Cue::Honorific => (is_sur || is_first || t.cap()) && cap_ok,
    };
    if !ok {
        return None;
    }
    let mut end = start;
    // Up to two more words: surnames (or a second first name).
    for k in 1..=2 {
        let j = start + k;
        let Some(tj) = doc.toks.get(j) else { break };
        if tj.brk() || tj.comma() || !tj.tight() {
            break;
        }
        if blocked(lex, cues, doc, j) || starts_address(lex, doc, j) || tj.letter() {
            break;
        }
        let wj = doc.words.get(j).unwrap_or("");
        let known = doc.has(j, flag::SUR | flag::FIRST);
        let accept = if doc.mixed {
            tj.cap() && (known || !doc.has(j, flag::ALL_STOP))
        } else {
            known || (cue == Cue::Strong && looks_like_surname(wj))
        };
        if !accept {
            break;
        }
        end = j;
    }
    // "I'm Christian": a lone word after a weak cue that is also a special-category term.
    if cue == Cue::Weak && end == start && doc.has(start, flag::TERM | flag::TERM_STRONG) {
        return None;
    }
    Some(end)
}

/// A first name followed by a known surname, without any cue.
fn pair_at(lex: &Lexical, cues: &LangCues, doc: &Doc<'_>, i: usize) -> Option<usize> {
    let w = doc.words.get(i)?;
    let t = doc.toks.get(i)?;
    let _ = w;
    if !doc.has(i, flag::FIRST) || blocked(lex, cues, doc, i) {
        return None;
    }
    if doc.mixed && !t.cap() {
        return None;
    }
    if doc.has(i, flag::AMB) && !(doc.mixed && t.cap()) {
        return None;
    }
    let j = i + 1;
    let tj = doc.toks.get(j)?;
    let wj = doc.words.get(j)?;
    if tj.brk()
        || tj.comma()
        || !tj.tight()
        || blocked(lex, cues, doc, j)
        || starts_address(lex, doc, j)
    {
        return None;
    }
    let sur_ok = if doc.mixed {
        tj.cap() && (doc.has(j, flag::SUR) || looks_like_surname(wj))
    } else {
        doc.has(j, flag::SUR) && !doc.has(j, flag::AMB)
    };
    if !sur_ok {
        return None;
    }
    // A third word when it is a known surname too ("Anna Maria Hansen", "Hansen Holm").
    let k = j + 1;
    if let (Some(tk), Some(wk)) = (doc.toks.get(k), doc.words.get(k)) {
        if !tk.brk()
            && !tk.comma()
            && tk.tight()
            && !wk.is_empty()
            && doc.has(k, flag::SUR)
            && (!doc.mixed || tk.cap())
            && !blocked(lex, cues, doc, k)
            && !starts_address(lex, doc, k)
        {
            return Some(k);
        }
    }
    Some(j)
}

/// Runs of single letters ("p o u l s e n", "L-A-U-R-A") after a spelling or name cue, or that
/// spell a name already said.
fn spelled(
    lex: &Lexical,
    cues: &LangCues,
    doc: &Doc<'_>,
    seq: &[usize],
    brk: &dyn Fn(usize) -> bool,
    found: &[(usize, usize)],
    out: &mut Vec<Candidate>,
) {
    let n = doc.toks.len();
    let mut i = 0usize;
    while i < n {
        let Some(t) = doc.toks.get(i) else { break };
        if !t.letter() {
            i += 1;
            continue;
        }
        let clitic = i > 0
            && doc
                .toks
                .get(i - 1)
                .is_some_and(|p| matches!(doc.text.get(p.e..t.s), Some("'") | Some("’")));
        if clitic {
            i += 1;
            continue;
        }
        let mut j = i;
        while let Some(tn) = doc.toks.get(j + 1) {
            if tn.letter() && tn.tight() {
                j += 1;
            } else {
                break;
            }
        }
        let len = j - i + 1;
        // A digit straight after the run makes it a code, not a name.
        let digit_after = doc
            .toks
            .get(j + 1)
            .is_some_and(|t| t.has_digit() && t.tight());
        let digit_before = i > 0
            && doc
                .toks
                .get(i - 1)
                .is_some_and(|p| p.has_digit() && t.tight());
        if len >= 2 && !digit_after && !digit_before {
            let spelled: String = (i..=j).filter_map(|k| doc.words.get(k)).collect();
            let said_before = (0..i).any(|k| doc.words.get(k).is_some_and(|w| w == spelled))
                || found
                    .iter()
                    .any(|&(a, b)| (a..=b).any(|k| doc.words.get(k).is_some_and(|w| w == spelled)));
            let known = lex.first.contains(&spelled) || lex.sur.contains(&spelled);
            let cue = cue_before(cues, doc, seq, brk, i);
            if (len >= 2 && (said_before || cue)) || (len >= 4 && known) {
                if let (Some(a), Some(b)) = (doc.toks.get(i), doc.toks.get(j)) {
                    out.push(Candidate::new(a.s, b.e, Kind::PersonName, 0.8));
                }
            }
        }
        i = j + 1;
    }
}

/// A spelling or name cue within the few words before token `i`.
fn cue_before(
    cues: &LangCues,
    doc: &Doc<'_>,
    seq: &[usize],
    brk: &dyn Fn(usize) -> bool,
    i: usize,
) -> bool {
    let Some(p) = seq.iter().position(|&t| t == i) else {
        return false;
    };
    let lo = p.saturating_sub(5);
    for q in lo..p {
        for set in [&cues.spell, &cues.name_strong, &cues.name_weak] {
            if let Some(l) = set.match_at(&doc.words, seq, q, brk) {
                if q + l == p || std::ptr::eq(set, &cues.spell) {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::super::Lexical;
    use super::*;
    use proptest::prelude::*;

    /// [`cue_may_fire`] as first written: [`Doc::has`] per word and cue set.
    fn cue_may_fire_by_has(doc: &Doc<'_>) -> bool {
        let sets = [
            (flag::CUE_STRONG, flag::CUE_STRONG1),
            (flag::CUE_HONORIFIC, flag::CUE_HONORIFIC1),
            (flag::CUE_WEAK, flag::CUE_WEAK1),
        ];
        (0..doc.toks.len()).any(|i| {
            if !doc.has(i, flag::NAME_CUE) {
                return false;
            }
            let next_may = doc.has(i + 1, flag::CUE_NEXT | flag::FILLER);
            sets.iter()
                .any(|&(m, single)| doc.has(i, m) && (next_may || doc.has(i, single)))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]
        /// The cue gate's reading of the looked-up bits answers as `Doc::has` does.
        #[test]
        fn cue_may_fire_reads_the_bits_as_has_does(words in proptest::collection::vec(prop_oneof![
            Just("jeg"), Just("hedder"), Just("øh"), Just("ja"), Just("tak"), Just("det"),
            Just("er"), Just("mit"), Just("navn"), Just("Peter"), Just(","), Just(":"),
            Just("fru"), Just("my"), Just("name"), Just("is"), Just("thanks"), Just("Mr"),
            Just("uh"), Just("Herr"), Just("ich"), Just("heiße"), Just("ähm"), Just("jag"),
            Just("heter"), Just("minun"), Just("nimeni"), Just("on"), Just("mu"), Just("nimi"),
            Just("navnet"), Just("mitt"), Just("the"), Just("xyzzy"), Just("12"),
        ], 0..12), li in 0usize..7) {
            static LEX: once_cell::sync::Lazy<Lexical> = once_cell::sync::Lazy::new(Lexical::new);
            let s = words.join(" ");
            LEX.with_prepared(&s, |p| {
                let doc = Doc::new(&s, p, li);
                prop_assert_eq!(cue_may_fire(&doc), cue_may_fire_by_has(&doc));
                Ok(())
            })?;
        }
    }
}
