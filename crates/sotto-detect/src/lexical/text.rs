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
    scan(text, out, &mut Vec::new(), |_, _, _| {});
}

/// A word: a maximal run of alphanumeric characters, with its class bits packed in one byte
/// (one store per word in the tokenizer instead of eight).
#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub s: usize,
    pub e: usize,
    bits: u8,
}

// The bits of `Tok::bits`; `DIGITS`, `BRK` and `COMMA` are the byte-class bits of the same name
// and `LETTER` is `ALPHA`, so the tokenizer moves them without shifting.
const T_CAP: u8 = 1;
const T_DIGITS: u8 = DIGIT;
const T_HAS_DIGIT: u8 = 4;
const T_LETTER: u8 = ALPHA;
const T_BRK: u8 = BRK;
const T_COMMA: u8 = COMMA;
const T_TIGHT: u8 = 64;
const T_DOT_AFTER: u8 = 128;

impl Tok {
    /// First character upper case.
    #[inline]
    pub fn cap(&self) -> bool {
        self.bits & T_CAP != 0
    }
    /// Only ASCII digits.
    #[inline]
    pub fn digits(&self) -> bool {
        self.bits & T_DIGITS != 0
    }
    /// Contains a digit.
    #[inline]
    pub fn has_digit(&self) -> bool {
        self.bits & T_HAS_DIGIT != 0
    }
    /// One alphabetic character.
    #[inline]
    pub fn letter(&self) -> bool {
        self.bits & T_LETTER != 0
    }
    /// A sentence or turn break ('.', '!', '?', ':', ';', newline) between the previous word and
    /// this one.
    #[inline]
    pub fn brk(&self) -> bool {
        self.bits & T_BRK != 0
    }
    /// A comma between the previous word and this one.
    #[inline]
    pub fn comma(&self) -> bool {
        self.bits & T_COMMA != 0
    }
    /// Only spaces (or a single hyphen) between the previous word and this one.
    #[inline]
    pub fn tight(&self) -> bool {
        self.bits & T_TIGHT != 0
    }
    /// A full stop directly after this word.
    #[inline]
    pub fn dot_after(&self) -> bool {
        self.bits & T_DOT_AFTER != 0
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
static BYTE_CLASS: [u8; 256] = {
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
    scan(text, &mut String::new(), toks, |_, _, _| {});
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

/// [`fold`]s `text` into `folded`, tokenizes it into `toks` and calls `word(folded, s, e)` for
/// every word as soon as it is folded, in one pass over the bytes: the tokenizer classifies
/// every byte anyway, so the fold only has to fix what the bulk ASCII lower-casing misses
/// (hyphens, seen between words, and non-ASCII characters, each classified once), and the word
/// is looked up while its bytes are in cache. ASCII without decoding; the class bits of a gap
/// are OR-ed and AND-ed as they go, those of a word OR-ed (no per-flag branches): a gap is only
/// blanks when every byte had `SPACE`.
pub(crate) fn scan(
    text: &str,
    folded: &mut String,
    toks: &mut Vec<Tok>,
    mut word: impl FnMut(&str, usize, usize),
) -> Seen {
    folded.clear();
    folded.push_str(text);
    folded.make_ascii_lowercase();
    toks.clear();
    let mut seen = Seen::default();
    // the OR of every word's class bits (capitals), and of every word's `Tok` bits
    let mut upper = 0u8;
    let mut all_bits = 0u8;
    let b = text.as_bytes();
    let mut i = 0usize;
    let mut gap_start = 0usize;
    // The gap before the next word: OR and AND of its class bits. The first word has a break
    // before it and is never tight: its gap (perhaps empty) starts with BRK and without SPACE.
    let mut g_or = BRK;
    let mut g_and = 0u8;
    loop {
        // the common gap, one space before an ASCII letter or digit, without the loop
        let one_space = match b.get(i..i + 2) {
            Some(&[b' ', c]) => Some(BYTE_CLASS[usize::from(c)]).filter(|k| k & ALNUM != 0),
            _ => None,
        };
        // (class bits of the word's first character, its byte length)
        let (k0, l0) = match one_space {
            Some(k) => {
                i += 1;
                (k, 1)
            }
            None => loop {
                let Some(&c) = b.get(i) else {
                    seen.upper = upper & UPPER != 0;
                    seen.digit = all_bits & T_HAS_DIGIT != 0;
                    seen.letter = all_bits & T_LETTER != 0;
                    return seen;
                };
                let k = BYTE_CLASS[usize::from(c)];
                if k & ALNUM != 0 {
                    break (k, 1);
                }
                if k & WIDE == 0 {
                    if c == b'-' {
                        folded.replace_range(i..i + 1, " ");
                    }
                    g_or |= k;
                    g_and &= k;
                    i += 1;
                    continue;
                }
                let (kw, len) = wide_fold(text, i, folded, &mut seen.caps);
                if kw & ALNUM != 0 {
                    // `WIDE` marks a word that is not all ASCII digits
                    break (kw | WIDE, len);
                }
                g_and = 0;
                seen.wide_gap = true;
                i += len;
            },
        };
        let s = i;
        i += l0;
        // A word is all ASCII digits when it has a digit and no letter or non-ASCII character
        // (an ASCII alphanumeric byte is a digit or a letter): only the OR is needed.
        let mut w_or = k0;
        // the rest of the word: ASCII in a tight loop, non-ASCII characters one by one
        loop {
            while let Some(&c) = b.get(i) {
                let k = BYTE_CLASS[usize::from(c)];
                if k & ALNUM == 0 {
                    break;
                }
                w_or |= k;
                i += 1;
            }
            match b.get(i) {
                Some(&c) if c >= 0x80 => {
                    let (kw, len) = wide_fold(text, i, folded, &mut seen.caps);
                    if kw & ALNUM == 0 {
                        break;
                    }
                    w_or |= kw | WIDE;
                    i += len;
                }
                _ => break,
            }
        }
        let e = i;
        upper |= w_or;
        let single = e - s == l0;
        let tight = g_and & SPACE != 0
            || (s - gap_start == 1 && b.get(gap_start) == Some(&b'-') && !toks.is_empty());
        let digits = if w_or & (DIGIT | ALPHA | WIDE) == DIGIT {
            T_DIGITS
        } else {
            0
        };
        let bits = ((k0 & UPPER) >> 2)
            | digits
            | ((w_or & DIGIT) << 1)
            | if single { k0 & ALPHA } else { 0 }
            | (g_or & (BRK | COMMA))
            | (u8::from(tight) << 6)
            | (u8::from(b.get(e) == Some(&b'.')) << 7);
        all_bits |= bits;
        toks.push(Tok { s, e, bits });
        word(folded, s, e);
        gap_start = e;
        g_or = 0;
        g_and = SPACE;
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
            let caps = scan(t, &mut out, &mut Vec::new(), |_, _, _| {}).caps;
            assert_eq!((out.clone(), caps), fold_ref(t), "{t}");
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
