//! Case folding that keeps byte offsets, and a word tokenizer.

/// Lower-cases `text` without changing any byte offset: a character whose lower-case form has
/// a different UTF-8 length (or is several characters) is kept as it is. Hyphens become spaces so
/// that "brca1-mutation" and "brca1 mutation" match the same pattern.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`] into a reused buffer (the fold of [`scan`], words dropped).
pub fn fold_into(text: &str, out: &mut String) {
    scan(text, out, &mut Vec::new());
}

/// A word: a maximal run of alphanumeric characters, with the class bits the tokenizer has at
/// hand stored as they are (a few byte stores per word); the accessors combine them.
#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub s: usize,
    pub e: usize,
    /// Class bits of the first character.
    first: u8,
    /// The OR of the class bits of the characters (the first one's without `ALNUM`, so `ALNUM`
    /// says there are several characters).
    word: u8,
    /// The gap before the word (see [`scan_with`]): the OR of its bytes' class bits, and above
    /// them the OR of their complements (the complement of their AND).
    gap: u16,
    /// The byte after the word (0 at the end of the text).
    next: u8,
}

impl Tok {
    /// First character upper case.
    #[inline]
    pub fn cap(&self) -> bool {
        self.first & UPPER != 0
    }
    /// Only ASCII digits: a digit and no letter or non-ASCII character (an ASCII alphanumeric
    /// byte is a digit or a letter).
    #[inline]
    pub fn digits(&self) -> bool {
        self.word & (DIGIT | ALPHA | WIDE) == DIGIT
    }
    /// Contains a digit.
    #[inline]
    pub fn has_digit(&self) -> bool {
        self.word & DIGIT != 0
    }
    /// One alphabetic character.
    #[inline]
    pub fn letter(&self) -> bool {
        self.first & ALPHA != 0 && self.word & ALNUM == 0
    }
    /// A sentence or turn break ('.', '!', '?', ':', ';', newline) between the previous word and
    /// this one.
    #[inline]
    pub fn brk(&self) -> bool {
        self.gap & u16::from(BRK) != 0
    }
    /// A comma between the previous word and this one.
    #[inline]
    pub fn comma(&self) -> bool {
        self.gap & u16::from(COMMA) != 0
    }
    /// Only spaces (or a single hyphen) between the previous word and this one.
    #[inline]
    pub fn tight(&self) -> bool {
        // (the high byte holds the complement of the AND)
        const BOTH: u16 = ((SPACE | ALNUM) as u16) << 8;
        self.gap & BOTH != BOTH
    }
    /// A full stop directly after this word.
    #[inline]
    pub fn dot_after(&self) -> bool {
        self.next == b'.'
    }
}

pub fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(text.len() / 5 + 1);
    tokenize_into(text, &mut toks);
    toks
}

const ALNUM: u8 = 1;
const DIGIT: u8 = 2;
const UPPER: u8 = 4;
const ALPHA: u8 = 8;
const BRK: u8 = 16;
const COMMA: u8 = 32;
const SPACE: u8 = 64;

/// A byte that starts (or continues) a non-ASCII character: classified by [`wide_fold`]; in a
/// word's class bits, a word that is not all ASCII.
const WIDE: u8 = 128;

/// Character classes of every byte: the ASCII ones directly, the rest marked [`WIDE`].
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut k = 0u8;
        if b >= 0x80 {
            k = WIDE;
        }
        if b.is_ascii_digit() {
            k |= ALNUM | DIGIT;
        }
        if b.is_ascii_alphabetic() {
            k |= ALNUM | ALPHA;
        }
        if b.is_ascii_uppercase() {
            k |= UPPER;
        }
        if matches!(b, b'.' | b'!' | b'?' | b':' | b';' | b'\n' | b'\r') {
            k |= BRK;
        }
        if b == b',' {
            k |= COMMA;
        }
        if b == b' ' || b == b'\t' {
            k |= SPACE;
        }
        t[c] = k;
        c += 1;
    }
    t
};

/// [`BYTE_CLASS`] for the loop over ASCII and lower-case Latin-1 letters (U+00DF..=U+00FF but
/// ÷, two bytes each: 0xC3 and 0x9F..=0xBF but 0xB7): their first byte is a letter byte, their
/// second one `ALPHA` without `ALNUM` (it continues a word without being a character of its
/// own; no other byte has that class), so that loop takes them in its stride; every other
/// non-ASCII byte ends a word and sends the text to the general loop. (A second byte follows
/// its first one in UTF-8, and the loop stops at any other first byte, so it meets a second
/// byte only there.)
const LATIN_CLASS: [u8; 256] = {
    let mut t = BYTE_CLASS;
    t[0xC3] = ALNUM | ALPHA | WIDE;
    let mut c = 0x9F;
    while c <= 0xBF {
        if c != 0xB7 {
            t[c] = ALPHA | WIDE;
        }
        c += 1;
    }
    t
};

/// A class table with every byte's complement above it: `gap |= t[c]` ORs the class bits of a
/// gap's bytes into the low byte and their complements into the high one (the complement of
/// their AND), one operation for both.
const fn with_complement(t: [u8; 256]) -> [u16; 256] {
    let mut w = [0u16; 256];
    let mut c = 0;
    while c < 256 {
        w[c] = t[c] as u16 | (!t[c] as u16) << 8;
        c += 1;
    }
    w
}

static BYTE_CLASS2: [u16; 256] = with_complement(BYTE_CLASS);
static LATIN_CLASS2: [u16; 256] = with_complement(LATIN_CLASS);

/// Class bits and byte length of the non-ASCII character at `i`: Latin-1 letters (æ, ø, å, ä,
/// ö, ü, õ, ß…, lead byte 0xC3) without a Unicode table lookup, the rest decoded. The character
/// is folded into `out` on the way (as [`fold`] does), and a capital sets `caps`.
fn wide_fold(text: &str, i: usize, out: &mut String, caps: &mut bool) -> (u8, usize) {
    let b = text.as_bytes();
    if b.get(i) == Some(&0xC3) {
        if let Some(&t) = b.get(i + 1) {
            if (0x80..0xC0).contains(&t) {
                // U+00C0..=U+00FF: letters except × (U+00D7) and ÷ (U+00F7); capitals up to U+00DE,
                // each lower-cased 0x20 higher in the same two bytes
                let cp = 0xC0u32 + u32::from(t - 0x80);
                if cp == 0xD7 || cp == 0xF7 {
                    return (0, 2);
                }
                if cp > 0xDE {
                    return (ALNUM | ALPHA, 2);
                }
                *caps = true;
                if let Some(l) = char::from_u32(cp + 0x20) {
                    out.replace_range(i..i + 2, l.encode_utf8(&mut [0u8; 4]));
                }
                return (ALNUM | ALPHA | UPPER, 2);
            }
        }
    }
    let Some(ch) = text.get(i..).and_then(|r| r.chars().next()) else {
        return (0, 1);
    };
    let n = ch.len_utf8();
    let upper = ch.is_uppercase();
    if upper {
        *caps = true;
        let mut lower = ch.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next()) {
            if l.len_utf8() == n {
                out.replace_range(i..i + n, l.encode_utf8(&mut [0u8; 4]));
            }
        }
    }
    let mut k = 0u8;
    if ch.is_alphanumeric() {
        k |= ALNUM;
        if ch.is_alphabetic() {
            k |= ALPHA;
        }
        if upper {
            k |= UPPER;
        }
    }
    (k, n)
}

/// [`tokenize`] into a reused vector (the tokenizer of [`scan`], fold dropped).
pub fn tokenize_into(text: &str, toks: &mut Vec<Tok>) {
    scan(text, &mut String::new(), toks);
}

/// What [`scan`] saw besides the words, for [`mixed_case_after`] and the callers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    /// Some word has an upper-case character.
    upper: bool,
    /// A non-ASCII character that is not alphanumeric lies between words (it could be cased).
    wide_gap: bool,
    /// Some word is a single letter ([`Tok::letter`]).
    pub letter: bool,
    /// Some word has a digit ([`Tok::has_digit`]).
    pub digit: bool,
    /// A non-ASCII capital somewhere (whose fold the ASCII-only automata cannot see).
    pub caps: bool,
    /// An '@' somewhere (always between words), for the recognisers' prefilter.
    pub at: bool,
}

/// [`mixed_case`] helped by what the tokenizer saw: every ASCII letter, and every other
/// alphanumeric character, is inside a word, so without an upper-case character in a word
/// and without a non-ASCII character between words the text has no capital at all.
pub(crate) fn mixed_case_after(text: &str, seen: Seen) -> bool {
    if !seen.upper && !seen.wide_gap {
        return false;
    }
    mixed_case(text)
}

/// [`fold`]s `text` into `folded` and tokenizes it into `toks` in one pass over the bytes: the
/// tokenizer classifies every byte anyway, so the fold only has to fix what the bulk ASCII
/// lower-casing misses (hyphens, seen between words, and non-ASCII characters, each classified
/// once). ASCII without decoding; the class bits of a gap
/// are OR-ed and AND-ed as they go, those of a word OR-ed (no per-flag branches): a gap is only
/// blanks when every byte had `SPACE`.
pub(crate) fn scan(text: &str, folded: &mut String, toks: &mut Vec<Tok>) -> Seen {
    // A text of ASCII and lower-case Latin-1 letters (most) is scanned by a copy of the loop
    // that has no call in it (the calls made the loop keep its state on the stack), the others
    // again from the start by the loop that folds every character.
    match scan_with::<true>(text, folded, toks) {
        Some(seen) => seen,
        None => scan_with::<false>(text, folded, toks).unwrap_or_default(),
    }
}

/// `s.make_ascii_lowercase()` without its byte-by-byte tail: the bytes up to the last multiple
/// of eight, then the eight ending at the end again (lower-casing is idempotent), each run by
/// the vector loop; the whole text at once where a cut is no character boundary.
fn lower_ascii(s: &mut str) {
    let n = s.len();
    let whole = n & !7;
    if n > 8 && whole != n && s.is_char_boundary(whole) && s.is_char_boundary(n - 8) {
        if let Some(head) = s.get_mut(..whole) {
            head.make_ascii_lowercase();
        }
        if let Some(tail) = s.get_mut(n - 8..) {
            tail.make_ascii_lowercase();
        }
    } else {
        s.make_ascii_lowercase();
    }
}

/// What `acc` of [`scan_with`] holds above the word class bits: an '@' seen, a hyphen seen
/// (so the state of the loop fits in the registers).
const SEEN_AT: u32 = 1 << 8;
const SEEN_HYPHEN: u32 = 1 << 9;

/// [`scan`], or (`LATIN`) `None` as soon as the text has a non-ASCII character other than a
/// lower-case Latin-1 letter ([`LATIN_CLASS`]); that loop replaces the hyphens in the fold after
/// it.
fn scan_with<const LATIN: bool>(
    text: &str,
    folded: &mut String,
    toks: &mut Vec<Tok>,
) -> Option<Seen> {
    folded.clear();
    folded.push_str(text);
    lower_ascii(folded);
    toks.clear();
    let mut seen = Seen::default();
    // The OR of every word's class bits (capitals, digits), with the single-letter words at
    // `BRK` (a bit no word's class has), '@' and hyphens above them: one accumulator for the
    // text-level facts.
    let mut acc = 0u32;
    let b = text.as_bytes();
    let class = if LATIN { &LATIN_CLASS2 } else { &BYTE_CLASS2 };
    let mut i = 0usize;
    // The gap before the next word: OR and AND of its class bits (the AND as the OR of the
    // complements, in the high byte: one register, one OR per byte). The first word has a break
    // before it and is never tight: its gap (perhaps empty) starts with BRK and without SPACE.
    // A hyphen that is the first byte of a later gap sets `ALNUM` in the AND (a bit no gap byte
    // has, so any byte after it clears it): the gap is then exactly one hyphen, which is tight.
    const AND_NONE: u16 = 0xFF00;
    const AFTER_WORD: u16 = (!SPACE as u16) << 8;
    let mut gap = u16::from(BRK) | AND_NONE;
    // The byte at `i` after a word (0 at the start and at the end of the text): the common
    // gap, one space before an ASCII letter or digit, is taken without reading it again.
    let mut next = 0u8;
    loop {
        let one_space = if next == b' ' {
            b.get(i + 1)
                .map(|&c| class[usize::from(c)])
                .filter(|k| k & u16::from(ALNUM) != 0)
        } else {
            None
        };
        // (class bits of the word's first character, its byte length)
        let (k0, l0) = match one_space {
            Some(k) => {
                i += 1;
                (k as u8, 1)
            }
            None => loop {
                let Some(&c) = b.get(i) else {
                    if LATIN && acc & SEEN_HYPHEN != 0 {
                        // every hyphen lies between words
                        for (j, &c) in b.iter().enumerate() {
                            if c == b'-' {
                                folded.replace_range(j..j + 1, " ");
                            }
                        }
                    }
                    seen.upper = acc & u32::from(UPPER) != 0;
                    seen.digit = acc & u32::from(DIGIT) != 0;
                    seen.letter = acc & u32::from(BRK) != 0;
                    seen.at = acc & SEEN_AT != 0;
                    return Some(seen);
                };
                let k = class[usize::from(c)];
                if k & u16::from(ALNUM) != 0 {
                    break (k as u8, 1);
                }
                if k & u16::from(WIDE) == 0 {
                    if c == b'-' {
                        if LATIN {
                            acc |= SEEN_HYPHEN;
                        } else {
                            folded.replace_range(i..i + 1, " ");
                        }
                        // (a hyphen has no class bits) the first byte of a gap after a word:
                        // only there is the OR empty and the AND still `SPACE`
                        gap = if gap == AFTER_WORD {
                            u16::from(!ALNUM) << 8
                        } else {
                            gap | AND_NONE
                        };
                    } else {
                        gap |= k;
                        // '@' is never in a word nor a hyphen: every one passes here
                        acc |= u32::from(c == b'@') << 8;
                    }
                    i += 1;
                    continue;
                }
                if LATIN {
                    // not a lower-case Latin-1 letter (those are words)
                    return None;
                }
                let (kw, len) = wide_fold(text, i, folded, &mut seen.caps);
                if kw & ALNUM != 0 {
                    // `WIDE` marks a word that is not all ASCII digits
                    break (kw | WIDE, len);
                }
                gap |= AND_NONE;
                seen.wide_gap = true;
                i += len;
            },
        };
        let s = i;
        i += l0;
        // The first character's `ALNUM` is left out: the OR has it only when the word has
        // more than one character.
        let mut w_or = k0 & !ALNUM;
        // the rest of the word (ASCII bytes one by one, non-ASCII characters whole), up to
        // the byte after it
        next = loop {
            // a tight loop of its own: ASCII letters and digits (and, `LATIN`, lower-case
            // Latin-1 letters)
            while let Some(&c) = b.get(i) {
                let k = class[usize::from(c)];
                if k & u16::from(ALNUM | ALPHA) == 0 {
                    break;
                }
                w_or |= k as u8;
                i += 1;
            }
            let Some(&c) = b.get(i) else { break 0 };
            if c < 0x80 {
                break c;
            }
            if LATIN {
                // a non-ASCII character that the class table does not take
                return None;
            }
            let (kw, len) = wide_fold(text, i, folded, &mut seen.caps);
            if kw & ALNUM == 0 {
                break c;
            }
            w_or |= kw | WIDE;
            i += len;
        };
        // one letter: the first character a letter and no second character (at `BRK`, a bit
        // no word's class has)
        acc |= u32::from(w_or | ((k0 & !(w_or << 3) & ALPHA) << 1));
        toks.push(Tok {
            s,
            e: i,
            first: k0,
            word: w_or,
            gap,
            next,
        });
        gap = AFTER_WORD;
    }
}

/// True when the text has both upper- and lower-case letters, so capitals carry information.
pub fn mixed_case(text: &str) -> bool {
    let mut up = false;
    let mut low = false;
    for c in text.chars() {
        if c.is_uppercase() {
            up = true;
        } else if c.is_lowercase() {
            low = true;
        }
        if up && low {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_keeps_offsets() {
        let t = "Ærø ÖSTER-Gade İ ẞ";
        let f = fold(t);
        assert_eq!(f.len(), t.len());
        assert!(f.starts_with("ærø öster gade"));
    }

    /// The per-character fold, as it was before the fast paths.
    fn fold_ref(text: &str) -> (String, bool) {
        let mut out = String::new();
        let mut caps = false;
        for ch in text.chars() {
            if ch == '-' {
                out.push(' ');
                continue;
            }
            if ch.is_ascii() || !ch.is_uppercase() {
                out.push(ch.to_ascii_lowercase());
                continue;
            }
            caps = true;
            let mut lower = ch.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l.len_utf8() == ch.len_utf8() => out.push(l),
                _ => out.push(ch),
            }
        }
        (out, caps)
    }

    #[test]
    fn fold_matches_per_character_fold() {
        let mut out = String::new();
        for t in [
            "Ærø ÖSTER-Gade İ ẞ",
            "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ",
            "plain ascii-text with-hyphens and MORE words -x- ---",
            "abcdefgh-ijklmnop Šiška ŽALE Ωmega 12345678 sørensen-Hansen æøå ÆØÅ",
            "x-",
            "ééééééééé-ééééé",
            "ǅemal Ǆ ǆ",
        ] {
            let caps = scan(t, &mut out, &mut Vec::new()).caps;
            assert_eq!((out.clone(), caps), fold_ref(t), "{t}");
        }
    }

    /// A token's offsets and its eight flags, in the order of the `Tok` accessors.
    type RefTok = (usize, usize, [bool; 8]);

    /// The tokens and facts of [`scan`] as defined, character by character.
    fn scan_ref(text: &str) -> (Vec<RefTok>, [bool; 5]) {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut toks = Vec::new();
        let mut j = 0;
        let mut gap_start = 0;
        while j < chars.len() {
            if !chars[j].1.is_alphanumeric() {
                j += 1;
                continue;
            }
            let s = chars[j].0;
            let k = j;
            while j < chars.len() && chars[j].1.is_alphanumeric() {
                j += 1;
            }
            let e = chars.get(j).map_or(text.len(), |c| c.0);
            let w: Vec<char> = chars[k..j].iter().map(|c| c.1).collect();
            let gap = &text[gap_start..s];
            let first = toks.is_empty();
            let flags = [
                w[0].is_uppercase(),
                w.iter().all(|c| c.is_ascii_digit()),
                w.iter().any(|c| c.is_ascii_digit()),
                w.len() == 1 && w[0].is_alphabetic(),
                first || gap.contains(['.', '!', '?', ':', ';', '\n', '\r']),
                gap.contains(','),
                !first && (gap == "-" || gap.chars().all(|c| c == ' ' || c == '\t')),
                text.as_bytes().get(e) == Some(&b'.'),
            ];
            toks.push((s, e, flags));
            gap_start = e;
        }
        let word_chars = || chars.iter().map(|c| c.1).filter(|c| c.is_alphanumeric());
        let seen = [
            word_chars().any(char::is_uppercase),
            toks.iter().any(|t| t.2[3]),
            word_chars().any(|c| c.is_ascii_digit()),
            text.chars().any(|c| !c.is_ascii() && c.is_uppercase()),
            text.contains('@'),
        ];
        (toks, seen)
    }

    #[test]
    fn scan_matches_definitions() {
        let parts = [
            "a", "B", "z", "Z", "0", "9", "q7", " ", " ", " ", "  ", "\t", "-", "--", ".", ",",
            ":", "!", "\n", "æ", "Æ", "ø", "Ø", "å", "ß", "ÿ", "×", "÷", "é", "É", "İ", "ẞ", "ǅ",
            "—", "’", "ª", "µ", "٣", "Ω", "ω", "word", "Ord", "12", "@", "Þ", "þ", "à",
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut folded, mut toks) = (String::new(), Vec::new());
        for _ in 0..20_000 {
            let n = next() % 14;
            let text: String = (0..n)
                .map(|_| parts[(next() % parts.len() as u64) as usize])
                .collect();
            let seen = scan(&text, &mut folded, &mut toks);
            let got: Vec<RefTok> = toks
                .iter()
                .map(|t| {
                    let f = [
                        t.cap(),
                        t.digits(),
                        t.has_digit(),
                        t.letter(),
                        t.brk(),
                        t.comma(),
                        t.tight(),
                        t.dot_after(),
                    ];
                    (t.s, t.e, f)
                })
                .collect();
            let want = scan_ref(&text);
            assert_eq!(got, want.0, "{text:?}");
            assert_eq!(
                [seen.upper, seen.letter, seen.digit, seen.caps, seen.at],
                want.1,
                "{text:?}"
            );
            assert_eq!((folded.clone(), seen.caps), fold_ref(&text), "{text:?}");
        }
    }

    proptest::proptest! {
        /// `lower_ascii` lower-cases as `make_ascii_lowercase` does, whatever the length and
        /// wherever the multi-byte characters lie.
        #[test]
        fn lower_ascii_is_make_ascii_lowercase(text in "[aZ9.é€ßÆ -]{0,40}") {
            let mut got = text.clone();
            lower_ascii(&mut got);
            proptest::prop_assert_eq!(got, text.to_ascii_lowercase());
        }
    }

    #[test]
    fn tokens_and_breaks() {
        let t = "Kunde: Jeg hedder Søren, ok. 2. th";
        let toks = tokenize(t);
        let words: Vec<&str> = toks.iter().map(|k| &t[k.s..k.e]).collect();
        assert_eq!(words, ["Kunde", "Jeg", "hedder", "Søren", "ok", "2", "th"]);
        assert!(toks[1].brk() && !toks[2].brk() && toks[4].comma() && toks[5].brk());
        assert!(toks[5].dot_after());
    }
}
