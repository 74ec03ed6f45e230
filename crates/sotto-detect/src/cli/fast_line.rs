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
    /// `id` as raw JSON (quotes included for a string), `None` when absent.
    pub id: Option<&'a str>,
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
    let (mut id, mut text, mut lang) = (None, None, None);
    if b.get(i) == Some(&b'}') {
        // `{}` has no text: serde gives the error
        return None;
    }
    loop {
        // key: the three this path keeps compared in place, any other read as a string
        let (key, ke) = match b.get(i..) {
            Some([b'"', b'i', b'd', b'"', ..]) => ("id", i + 4),
            Some([b'"', b't', b'e', b'x', b't', b'"', ..]) => ("text", i + 6),
            Some([b'"', b'l', b'a', b'n', b'g', b'"', ..]) => ("lang", i + 6),
            _ => {
                let (ks, ke) = plain_string(b, i)?;
                (line.get(ks + 1..ke - 1)?, ke)
            }
        };
        i = skip_ws(b, ke);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        // value
        let (vs, ve) = scalar(b, i)?;
        let raw = line.get(vs..ve)?;
        let slot = match key {
            "id" => Some(&mut id),
            "text" => Some(&mut text),
            "lang" => Some(&mut lang),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                // serde: "duplicate field"
                return None;
            }
            *slot = Some(raw);
        }
        i = skip_ws(b, ve);
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
        id,
        text: string_content(text?)?,
        lang: match lang {
            Some(raw) => Some(string_content(raw)?),
            None => None,
        },
    })
}

/// The content of a raw JSON string value read by [`plain_string`] (between its quotes);
/// `None` for any other value.
fn string_content(raw: &str) -> Option<&str> {
    raw.strip_prefix('"')?.strip_suffix('"')
}

/// JSON white space: space, tab, line feed, carriage return.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// A string without escapes or control characters starting at `i`: its byte range, quotes
/// included.
fn plain_string(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let rest = b.get(i + 1..)?;
    let k = first_special(rest)?;
    (rest.get(k) == Some(&b'"')).then_some((i, i + 1 + k + 1))
}

/// The first byte that ends or complicates a JSON string (`"`, `\\`, a control character).
/// Eight bytes at a time, the tail byte by byte: text fields are most of a line. (`memchr2`
/// plus a vectorised control-character test measured slower: the strings are short.)
pub(super) fn first_special(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of the result where `x`'s byte is zero / below 0x20. A borrow
    // can also set it in a byte above a true hit, never below one: the lowest set bit is exact.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let mut chunks = rest.chunks_exact(8);
    let mut at = 0usize;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let hits = (zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x))
            & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| at + k)
}

/// A value at `i` this path reads: a plain string, a number or a literal. Its byte range.
fn scalar(b: &[u8], i: usize) -> Option<(usize, usize)> {
    match b.get(i)? {
        b'"' => plain_string(b, i),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<(usize, usize)> {
    (b.get(i..i + word.len()) == Some(word)).then_some((i, i + word.len()))
}

/// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number(b: &[u8], i: usize) -> Option<(usize, usize)> {
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
    Some((i, j))
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
    }

    #[test]
    fn common_lines() {
        let f = read(r#"{"id": "g-1", "lang": "nb", "text": "Jeg har ikke fått pakken"}"#).unwrap();
        assert_eq!(f.id, Some("\"g-1\""));
        assert_eq!(f.text, "Jeg har ikke fått pakken");
        assert_eq!(f.lang, Some("nb"));
        let f = read(" {\"text\":\"x\",\"id\":-1.5e3,\"n\":null,\"ok\":true}\r\n").unwrap();
        assert_eq!((f.id, f.text, f.lang), (Some("-1.5e3"), "x", None));
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
                    Some((f.id.unwrap_or("null").to_owned(), f.text.to_owned(), f.lang.map(str::to_owned))),
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
