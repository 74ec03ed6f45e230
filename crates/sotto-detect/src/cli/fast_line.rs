//! The common `sotto redact --format jsonl` input line, read in one pass without serde.
//!
//! A line is taken here only when it is an object whose values are strings without escapes,
//! numbers, `true`, `false` or `null`, with no duplicate `id`/`text`/`lang` and a string `text`
//! (and `lang`, when present). Anything else — escapes, nested values, a malformed or odd line —
//! answers `None`, and the caller reads the line with serde_json, which gives the exact error or
//! the decoded strings. So this path can only ever agree with serde or decline; the property test
//! beside it checks that on generated lines.

/// The fields of a line read here, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FastFields<'a> {
    /// `id` as raw JSON (quotes included for a string; valid UTF-8, as the line is), `None`
    /// when absent.
    pub id: Option<&'a [u8]>,
    pub text: &'a str,
    pub lang: Option<&'a str>,
}

/// Reads `line` (already valid UTF-8) when it has the common shape; `None` otherwise.
pub(super) fn read(line: &str) -> Option<FastFields<'_>> {
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        // `{}` has no text: serde gives the error
        return None;
    }
    // the values' byte ranges in `line` (raw JSON); empty: absent (no value is empty)
    let (mut id, mut text, mut lang) = ((0, 0), (0, 0), (0, 0));
    loop {
        // key: the three this path keeps, with the colon right after them, compared as one
        // word (the common shape); else compared in place (whole, quotes included) with white
        // space before the colon, any other key read as a plain string
        let w = b.get(i..i.wrapping_add(8)).map_or(0, word);
        let (slot, vs) = if w & KEY5 == ID_COLON {
            (Some(&mut id), i + 5)
        } else if w & KEY7 == TEXT_COLON {
            (Some(&mut text), i + 7)
        } else if w & KEY7 == LANG_COLON {
            (Some(&mut lang), i + 7)
        } else {
            let (slot, ke) = if b.get(i..i.wrapping_add(4)) == Some(&b"\"id\""[..]) {
                (Some(&mut id), i + 4)
            } else if b.get(i..i.wrapping_add(6)) == Some(&b"\"text\""[..]) {
                (Some(&mut text), i + 6)
            } else if b.get(i..i.wrapping_add(6)) == Some(&b"\"lang\""[..]) {
                (Some(&mut lang), i + 6)
            } else {
                (None, plain_string(b, i)?)
            };
            let j = skip_ws(b, ke);
            if b.get(j) != Some(&b':') {
                return None;
            }
            (slot, j + 1)
        };
        i = skip_ws(b, vs);
        // value
        let ve = scalar(b, i)?;
        if let Some(slot) = slot {
            if slot.1 != 0 {
                // serde: "duplicate field"
                return None;
            }
            *slot = (i, ve);
        }
        // `,` or `}`, right after the value or after white space
        i = match b.get(ve) {
            Some(b',' | b'}') => ve,
            _ => skip_ws(b, ve),
        };
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => {
                i = skip_ws(b, i + 1);
                break;
            }
            _ => return None,
        }
    }
    if i != b.len() {
        // trailing characters
        return None;
    }
    Some(FastFields {
        id: match id {
            (_, 0) => None,
            (s, e) => Some(b.get(s..e)?),
        },
        // (an absent text: the range at 0, where the line has no quote)
        text: string_content(line, text)?,
        lang: match lang {
            (_, 0) => None,
            raw => Some(string_content(line, raw)?),
        },
    })
}

/// The content (between its quotes) of a value read by [`scalar`] at `s..e`; `None` when it
/// is not a string.
#[inline(always)]
fn string_content(line: &str, (s, e): (usize, usize)) -> Option<&str> {
    if line.as_bytes().get(s) != Some(&b'"') {
        return None;
    }
    // a string value is at least its two quotes, both ASCII: on char boundaries. (Split
    // twice: each split tests one boundary inline, where `get` with a range was a call.)
    let (upto, _) = line.split_at_checked(e.checked_sub(1)?)?;
    let (_, content) = upto.split_at_checked(s + 1)?;
    Some(content)
}

/// Masks of a word's first five and seven bytes.
const KEY5: u64 = 0xff_ffff_ffff;
const KEY7: u64 = 0xff_ffff_ffff_ffff;
/// The known keys with their colon, as the first bytes of a little-endian word.
const ID_COLON: u64 = u64::from_le_bytes(*b"\"id\":\0\0\0");
const TEXT_COLON: u64 = u64::from_le_bytes(*b"\"text\":\0");
const LANG_COLON: u64 = u64::from_le_bytes(*b"\"lang\":\0");

/// JSON white space: space, tab, line feed, carriage return.
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// A string without escapes or control characters starting at `i`: the end of its byte
/// range (after the closing quote).
#[inline(always)]
fn plain_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let k = first_special_from(b, i + 1)?;
    (b.get(k) == Some(&b'"')).then_some(k + 1)
}

/// A byte that ends or complicates a JSON string: `"`, `\\`, a control character.
#[inline(always)]
fn special(c: u8) -> bool {
    (c == b'"') | (c == b'\\') | (c < 0x20)
}

/// High bit set in each byte of the result where the byte of `x` is special. A borrow can also
/// set it in a byte above a true hit, never below one: the lowest set bit is exact.
#[inline(always)]
fn special_bits(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(x ^ (ONES * u64::from(b'"')))
        | zero(x ^ (ONES * u64::from(b'\\')))
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// The first special byte of `rest` (`"`, `\\`, a control character).
pub(super) fn first_special(rest: &[u8]) -> Option<usize> {
    first_special_from(rest, 0)
}

/// The first special byte of `b` at or after `from`. Eight bytes first (short values: ids,
/// language codes), then, text fields being most of a line, sixteen at a time with a test
/// written without an early exit, so that it compiles to vector compares; then eight at a time
/// (exact position); the last few bytes as part of the last eight of `b`. Inlined where the
/// line is read, so its constants stay in registers. (`memchr2` plus a vectorised
/// control-character test measured slower: the strings are short.)
#[inline(always)]
pub(super) fn first_special_from(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    if let Some(w) = b.get(at..at.wrapping_add(8)) {
        let hits = special_bits(word(w));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    while let Some(chunk) = b
        .get(at..at.wrapping_add(16))
        .and_then(|c| <&[u8; 16]>::try_from(c).ok())
    {
        if chunk.iter().fold(false, |hit, &c| hit | special(c)) {
            break;
        }
        at += 16;
    }
    while let Some(w) = b.get(at..at.wrapping_add(8)) {
        let hits = special_bits(word(w));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    // fewer than eight bytes left
    let start = b.len().checked_sub(8);
    match start {
        Some(start) if at < b.len() => {
            // the last eight bytes of `b`, those before `at` (already read) made harmless so
            // that they can neither hit nor borrow
            let skip = at - start;
            let keep = u64::MAX << (8 * skip);
            let x = (word(b.get(start..)?) & keep) | (0x6161_6161_6161_6161 & !keep);
            let hits = special_bits(x);
            (hits != 0).then(|| start + (hits.trailing_zeros() / 8) as usize)
        }
        _ => b
            .get(at..)?
            .iter()
            .position(|&c| special(c))
            .map(|k| at + k),
    }
}

/// Eight bytes as a little-endian word (0 where `w` is shorter).
#[inline(always)]
fn word(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if let Some(w) = w.get(..8) {
        a.copy_from_slice(w);
    }
    u64::from_le_bytes(a)
}

/// A value at `i` this path reads: a plain string, a number or a literal. The end of its byte
/// range.
#[inline(always)]
fn scalar(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => plain_string(b, i),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len()) == Some(word)).then_some(i + word.len())
}

/// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Its end.
fn number(b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        let s = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        (j > s).then_some(j)
    };
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    j = match b.get(j)? {
        b'0' => j + 1,
        b'1'..=b'9' => digits(j)?,
        _ => return None,
    };
    if b.get(j) == Some(&b'.') {
        j = digits(j + 1)?;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        j = digits(j)?;
    }
    Some(j)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn first_special_is_the_first(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let want = s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(first_special(&s), want);
        }

        /// From any start, over every length (the sixteen-byte, eight-byte and tail steps),
        /// with the bytes around a hit that could borrow into a false one (`#`, `]`, space
        /// after a quote, backslash or control character).
        #[test]
        fn first_special_from_is_the_first(
            s in proptest::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    proptest::sample::select(vec![b'"', b'\\', 0x1f, 0, b' ', b'#', b']', b'a', 0x80, 0xff]),
                    Just(b'a'),
                ],
                0..70,
            ),
            from in 0usize..75,
        ) {
            let want = s
                .get(from..)
                .and_then(|r| r.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20))
                .map(|k| k + from);
            prop_assert_eq!(first_special_from(&s, from), want);
        }
    }

    #[test]
    fn common_lines() {
        let f = read(r#"{"id": "g-1", "lang": "nb", "text": "Jeg har ikke fått pakken"}"#).unwrap();
        assert_eq!(f.id, Some(&b"\"g-1\""[..]));
        assert_eq!(f.text, "Jeg har ikke fått pakken");
        assert_eq!(f.lang, Some("nb"));
        let f = read(" {\"text\":\"x\",\"id\":-1.5e3,\"n\":null,\"ok\":true}\r\n").unwrap();
        assert_eq!((f.id, f.text, f.lang), (Some(&b"-1.5e3"[..]), "x", None));
    }

    #[test]
    fn declines_what_it_does_not_read() {
        for l in [
            r#"{"id":"a","text":"es\"c"}"#,
            r#"{"id":{"x":1},"text":"a"}"#,
            r#"{"id":[1],"text":"a"}"#,
            r#"{"text":"a","text":"b"}"#,
            r#"{"text":"a",}"#,
            r#"{"text":"a"} x"#,
            r#"{"text":5}"#,
            r#"{"text":null}"#,
            r#"{"text":"a","lang":null}"#,
            r#"{"id":01,"text":"a"}"#,
            r#"{"id":1.,"text":"a"}"#,
            r#"{"id":tru,"text":"a"}"#,
            "{\"text\":\"a\tb\"}",
            r#"{"id":"a"}"#,
            "{}",
            "[1,2]",
            "",
        ] {
            assert_eq!(read(l), None, "{l}");
        }
    }

    /// serde's reading of a line in the fields `run_jsonl` uses (None when serde fails or the
    /// text is not a string).
    /// An absent id and `null` both go back as `null`.
    fn serde_read(line: &str) -> Option<(String, String, Option<String>)> {
        let v = super::super::read_fields_serde(line).ok()?;
        Some((
            String::from_utf8_lossy(v.id.unwrap_or(b"null")).into_owned(),
            v.text.into_owned(),
            v.lang.map(|l| l.into_owned()),
        ))
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Zæøå0-9 @.\\-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            "[a-z\"\\\\\t]{0,6}".prop_map(|s| format!("\"{s}\"")),
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,2})?([eE][+-]?[0-9]{1,2})?",
            "(-?0[0-9]|1\\.|-|\\.5|1e)",
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("fals".to_owned()),
            Just("{\"a\":[1,{}]}".to_owned()),
            Just("[]".to_owned()),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("id".to_owned()),
            Just("text".to_owned()),
            Just("lang".to_owned()),
            "[a-z]{1,5}",
            Just("te\\u0078t".to_owned()),
        ];
        let ws = "[ \t\r\n]{0,2}";
        (
            proptest::collection::vec((key, value(), ws, ws), 0..5),
            ws,
            ws,
            prop_oneof![Just(""), Just(","), Just(" x"), Just("}")],
        )
            .prop_map(|(fields, w0, w1, tail)| {
                let body: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v, a, b)| format!("{a}\"{k}\"{b}:{a}{v}{b}"))
                    .collect();
                format!("{w0}{{{}{tail}}}{w1}", body.join(","))
            })
    }

    proptest! {
        /// Whenever this path reads a line, serde reads the same fields from it.
        #[test]
        fn agrees_with_serde_or_declines(l in line()) {
            if let Some(f) = read(&l) {
                let s = serde_read(&l);
                prop_assert_eq!(
                    s,
                    Some((
                        String::from_utf8_lossy(f.id.unwrap_or(b"null")).into_owned(),
                        f.text.to_owned(),
                        f.lang.map(str::to_owned)
                    )),
                    "{}", l
                );
            }
        }

        /// Lines in the shape the evaluation uses are read here (the fast path is taken).
        #[test]
        fn common_shape_is_read(id in "[a-z0-9-]{1,10}", text in "[a-zA-Z0-9 æøåÆØÅ.,:@-]{0,60}") {
            let l = format!("{{\"id\": \"{id}\", \"text\": \"{text}\", \"lang\": \"da\"}}");
            let f = read(&l);
            prop_assert!(f.is_some());
            prop_assert_eq!(serde_read(&l).map(|x| x.1), f.map(|f| f.text.to_owned()));
        }
    }
}
