//! Case folding that keeps byte offsets, and a word tokenizer.

/// Lower-cases `text` without changing any byte offset: a character whose lower-case form has
/// a different UTF-8 length (or is several characters) is kept as it is. Hyphens become spaces so
/// that "brca1-mutation" and "brca1 mutation" match the same pattern.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`] into a reused buffer.
pub fn fold_into(text: &str, out: &mut String) {
    fold_caps_into(text, out);
}

/// Eight bytes at `i`, or `None` near the end.
#[inline]
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// [`fold_into`] that also tells whether `text` has a non-ASCII capital (whose fold the
/// ASCII-only automata cannot see).
pub(crate) fn fold_caps_into(text: &str, out: &mut String) -> bool {
    out.clear();
    out.push_str(text);
    out.make_ascii_lowercase();
    let b = text.as_bytes();
    if b.is_ascii() {
        // the common case: only hyphens to replace, found with one memchr
        if b.contains(&b'-') {
            let spaced = std::mem::take(out).replace('-', " ");
            *out = spaced;
        }
        return false;
    }
    // Hyphens (rare) and non-ASCII capitals (rarer) are replaced in place, same byte length.
    // Eight plain ASCII bytes (no high bit, no hyphen) are skipped at once.
    let mut caps = false;
    let mut i = 0usize;
    let mut tmp = [0u8; 4];
    while i < b.len() {
        if let Some(x) = word_at(b, i) {
            let h = x ^ (LOW_BITS * u64::from(b'-'));
            let hyphen = h.wrapping_sub(LOW_BITS) & !h & HIGH_BITS != 0;
            if x & HIGH_BITS == 0 && !hyphen {
                i += 8;
                continue;
            }
        }
        let c = b.get(i).copied().unwrap_or(0);
        if c < 0x80 {
            if c == b'-' {
                out.replace_range(i..i + 1, " ");
            }
            i += 1;
            continue;
        }
        if c == 0xC3 {
            // U+00C0..=U+00FF without a table: capitals U+00C0..=U+00DE except × (U+00D7),
            // each lower-cased 0x20 higher in the same two bytes
            if let Some(&t) = b.get(i + 1) {
                if (0x80..=0x9E).contains(&t) && t != 0x97 {
                    caps = true;
                    if let Some(l) = char::from_u32(0xC0 + u32::from(t - 0x80) + 0x20) {
                        out.replace_range(i..i + 2, l.encode_utf8(&mut tmp));
                    }
                }
                i += 2;
                continue;
            }
        }
        let Some(ch) = text.get(i..).and_then(|r| r.chars().next()) else {
            i += 1;
            continue;
        };
        let n = ch.len_utf8();
        if ch.is_uppercase() {
            caps = true;
            let mut lower = ch.to_lowercase();
            if let (Some(l), None) = (lower.next(), lower.next()) {
                if l.len_utf8() == n {
                    out.replace_range(i..i + n, l.encode_utf8(&mut tmp));
                }
            }
        }
        i += n;
    }
    caps
}

/// A word: a maximal run of alphanumeric characters, with its class bits packed in one byte
/// (one store per word in the tokenizer instead of eight).
#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub s: usize,
    pub e: usize,
    bits: u8,
}

// The bits of `Tok::bits`; `DIGITS`, `BRK` and `COMMA` are the byte-class bits of the same name,
// so the tokenizer moves them without shifting.
const T_CAP: u8 = 1;
const T_DIGITS: u8 = DIGIT;
const T_HAS_DIGIT: u8 = 4;
const T_LETTER: u8 = 8;
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

/// A byte that starts (or continues) a non-ASCII character: classified by [`wide_class`].
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
/// ö, ü, õ, ß…, lead byte 0xC3) without a Unicode table lookup, the rest decoded.
#[inline]
fn wide_class(text: &str, i: usize) -> (u8, usize) {
    let b = text.as_bytes();
    if b.get(i) == Some(&0xC3) {
        if let Some(&t) = b.get(i + 1) {
            if (0x80..0xC0).contains(&t) {
                // U+00C0..=U+00FF: letters except × (U+00D7) and ÷ (U+00F7); capitals up to U+00DE
                let cp = 0xC0u32 + u32::from(t - 0x80);
                if cp == 0xD7 || cp == 0xF7 {
                    return (0, 2);
                }
                let upper = if cp <= 0xDE { UPPER } else { 0 };
                return (ALNUM | ALPHA | upper, 2);
            }
        }
    }
    let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or(' ');
    let mut k = 0u8;
    if ch.is_alphanumeric() {
        k |= ALNUM;
        if ch.is_alphabetic() {
            k |= ALPHA;
        }
        if ch.is_uppercase() {
            k |= UPPER;
        }
    }
    (k, ch.len_utf8().max(1))
}

/// [`tokenize`] into a reused vector: one pass over the bytes, ASCII without decoding. The
/// class bits of a gap and of a word are OR-ed and AND-ed as they go (no per-flag branches):
/// a word is all digits when every character had `DIGIT`, a gap is only blanks when every byte
/// had `SPACE`.
pub fn tokenize_into(text: &str, toks: &mut Vec<Tok>) {
    tokenize_scan(text, toks);
}

/// What [`tokenize_scan`] saw besides the words, for [`mixed_case_after`].
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

/// [`tokenize_into`] that also reports what [`mixed_case_after`] needs.
pub(crate) fn tokenize_scan(text: &str, toks: &mut Vec<Tok>) -> Seen {
    toks.clear();
    let mut seen = Seen::default();
    // the OR of every word's class bits (capitals and digits)
    let mut upper = 0u8;
    let b = text.as_bytes();
    let mut i = 0usize;
    let mut gap_start = 0usize;
    // the first word has a break before it and is never tight
    let mut first = true;
    loop {
        // the gap before the next word: OR and AND of its class bits
        let mut g_or = if first { BRK } else { 0 };
        // the first word's gap may be empty: it starts without the SPACE bit (never tight)
        let mut g_and = if first { 0 } else { SPACE };
        // the common gap, one space before an ASCII letter or digit, without the loop
        if let (false, Some(&b' '), Some(&c)) = (first, b.get(i), b.get(i + 1)) {
            let k = BYTE_CLASS[usize::from(c)];
            if k & ALNUM != 0 {
                i += 1;
            }
        }
        // (class bits of the word's first character, its byte length)
        let (k0, l0) = loop {
            let Some(&c) = b.get(i) else {
                seen.upper = upper & UPPER != 0;
                seen.digit = upper & DIGIT != 0;
                return seen;
            };
            let k = BYTE_CLASS[usize::from(c)];
            if k & ALNUM != 0 {
                break (k, 1);
            }
            if k & WIDE == 0 {
                g_or |= k;
                g_and &= k;
                i += 1;
                continue;
            }
            let (kw, len) = wide_class(text, i);
            if kw & ALNUM != 0 {
                break (kw, len);
            }
            g_and = 0;
            seen.wide_gap = true;
            i += len;
        };
        let s = i;
        i += l0;
        let (mut w_or, mut w_and) = (k0, k0);
        // the rest of the word: ASCII in a tight loop, non-ASCII characters one by one
        loop {
            while let Some(&c) = b.get(i) {
                let k = BYTE_CLASS[usize::from(c)];
                if k & ALNUM == 0 {
                    break;
                }
                w_or |= k;
                w_and &= k;
                i += 1;
            }
            match b.get(i) {
                Some(&c) if c >= 0x80 => {
                    let (kw, len) = wide_class(text, i);
                    if kw & ALNUM == 0 {
                        break;
                    }
                    // a non-ASCII character is never an ASCII digit: `kw` has no DIGIT bit
                    w_or |= kw;
                    w_and &= kw;
                    i += len;
                }
                _ => break,
            }
        }
        let e = i;
        upper |= w_or;
        let single = e - s == l0;
        let tight =
            g_and & SPACE != 0 || (!first && s - gap_start == 1 && b.get(gap_start) == Some(&b'-'));
        seen.letter |= single && k0 & ALPHA != 0;
        let bits = ((k0 & UPPER) >> 2)
            | (w_and & DIGIT)
            | ((w_or & DIGIT) << 1)
            | (u8::from(single && k0 & ALPHA != 0) << 3)
            | (g_or & (BRK | COMMA))
            | (u8::from(tight) << 6)
            | (u8::from(b.get(e) == Some(&b'.')) << 7);
        toks.push(Tok { s, e, bits });
        gap_start = e;
        first = false;
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
            let caps = fold_caps_into(t, &mut out);
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
