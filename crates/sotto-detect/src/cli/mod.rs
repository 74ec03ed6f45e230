//! The `sotto redact` contract as library functions; the binary only parses arguments.
//!
//! jsonl: each input line `{"id": …, "text": "…", "lang": "da"}` (lang optional, other fields
//! ignored) → one output line, same order: `{"id": …, "redacted": "…", "spans": [{"start", "end",
//! "kind", "category", "score"}]}` (code points, end exclusive). A line that cannot be read gives
//! `{"error": "…", "line": N}` (plus `"id"` when it could be recovered) and the run goes on.
//! text: each input line redacted, one output line each. Memory stays flat: one line at a time.

mod fast_line;

use crate::policy::{apply_bytes_into, Policy};
use crate::Detector;
use serde::Serialize;
use serde_json::value::RawValue;
use sotto_core::{Kind, Lang};
use std::borrow::Cow;
use std::io::{BufRead, Write};

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Lines read (including blank and malformed ones).
    pub lines: u64,
    /// Lines written as redacted output.
    pub ok: u64,
    /// Lines answered with an error line.
    pub errors: u64,
    /// Spans found in all.
    pub spans: u64,
    /// Bytes of input read.
    pub bytes: u64,
}

#[derive(Serialize)]
struct ErrLine<'a> {
    error: &'a str,
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
}

/// One input line, borrowed from the line buffer: the fields are kept as raw JSON so that the
/// common case (a text without escapes) is read without copying, and `id` goes back verbatim.
#[derive(serde::Deserialize)]
struct InLine<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    lang: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// A raw JSON value as a string: `Ok(None)` when it is not a string (or is null), borrowed when
/// it has no escapes (then the bytes between the quotes are the string itself).
fn raw_str(raw: &RawValue) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
    let r = raw.get();
    if !r.starts_with('"') {
        return Ok(None);
    }
    match r.get(1..r.len().saturating_sub(1)) {
        Some(inner) if r.len() >= 2 && !inner.contains('\\') => Ok(Some(Cow::Borrowed(inner))),
        _ => serde_json::from_str::<String>(r).map(|s| Some(Cow::Owned(s))),
    }
}

/// Writes `s` as a JSON string: copied as it is when nothing in it needs an escape (the common
/// case, tested eight bytes at a time), else through serde_json's escaper.
fn write_json_str(out: &mut Vec<u8>, s: &str) -> std::io::Result<()> {
    if fast_line::first_special(s.as_bytes()).is_some() {
        return serde_json::to_writer(&mut *out, s).map_err(std::io::Error::other);
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Writes the span list as serde_json would (`[{"start":N,"end":N,"kind":"…","category":"…",
/// "score":X}]`, the score as serde_json writes an f32: shortest round-trip form, `null` when not
/// finite), without going through its serializer for every field.
fn write_spans(out: &mut Vec<u8>, spans: &[crate::Span]) {
    let mut num = itoa::Buffer::new();
    let mut float = ryu::Buffer::new();
    out.push(b'[');
    for (k, s) in spans.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"start\":");
        out.extend_from_slice(num.format(s.start).as_bytes());
        out.extend_from_slice(b",\"end\":");
        out.extend_from_slice(num.format(s.end).as_bytes());
        // kind and category names are plain snake_case ASCII: nothing to escape
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(s.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"category\":\"");
        out.extend_from_slice(s.category.as_str().as_bytes());
        out.extend_from_slice(b"\",\"score\":");
        if s.score.is_finite() {
            out.extend_from_slice(float.format_finite(s.score).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// A line's `lang`: the seven codes as written by most producers without the allocation of
/// `Lang::from_str` (which trims and lower-cases first), anything else through it.
fn parse_lang(s: &str) -> Option<Lang> {
    Some(match s {
        "da" => Lang::Da,
        "sv" => Lang::Sv,
        "nb" => Lang::Nb,
        "fi" => Lang::Fi,
        "et" => Lang::Et,
        "de" => Lang::De,
        "en" => Lang::En,
        _ => return s.parse().ok(),
    })
}

/// Reads one line into `buf` (bytes, so invalid UTF-8 becomes an error line, not a stop).
fn read_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let n = input.read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    while matches!(buf.last(), Some(b'\n') | Some(b'\r')) {
        buf.pop();
    }
    Ok(true)
}

/// The fields of one good input line.
struct Fields<'a> {
    /// As raw JSON, to go back verbatim.
    id: Option<&'a str>,
    text: Cow<'a, str>,
    lang: Option<Cow<'a, str>>,
    /// Read by [`fast_line`]: `text` has no character JSON must escape.
    plain: bool,
}

/// Why a line gets an error line, and its id when one could be recovered.
struct LineError {
    error: Cow<'static, str>,
    id: Option<serde_json::Value>,
}

/// Reads one JSONL input line. UTF-8 is checked once for the whole line (serde_json then reads
/// a str: no second validation per field). The common shape is read in one pass
/// ([`fast_line`]); anything else goes through serde_json.
fn read_fields(buf: &[u8]) -> Result<Fields<'_>, LineError> {
    // (simdutf8: the same check as `std::str::from_utf8`, many bytes at a time)
    let Ok(line) = simdutf8::basic::from_utf8(buf) else {
        return Err(LineError {
            error: Cow::Borrowed("line is not valid UTF-8"),
            id: recover_id(buf),
        });
    };
    if let Some(f) = fast_line::read(line) {
        return Ok(Fields {
            id: f.id,
            text: Cow::Borrowed(f.text),
            lang: f.lang.map(Cow::Borrowed),
            plain: true,
        });
    }
    read_fields_serde(line)
}

/// The id of a line that cannot be read otherwise, when serde can still find one.
fn recover_id(buf: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<IdOnly>(buf)
        .ok()
        .and_then(|x| x.id)
}

/// [`read_fields`] through serde_json: every line the fast path declines, with the exact error.
fn read_fields_serde(line: &str) -> Result<Fields<'_>, LineError> {
    // serde reads a struct from an array too ("[1,2,3]" as id, text, lang): only objects
    if line.trim_start().starts_with('[') {
        return Err(LineError {
            error: Cow::Borrowed("line is not a JSON object"),
            id: None,
        });
    }
    let parsed = serde_json::from_str::<InLine>(line).and_then(|l| {
        let text = match l.text {
            Some(raw) => raw_str(raw)?,
            None => None,
        };
        let lang = match l.lang {
            Some(raw) => raw_str(raw)?,
            None => None,
        };
        Ok((l, text, lang))
    });
    match parsed {
        Ok((l, Some(text), lang)) => Ok(Fields {
            id: l.id.map(RawValue::get),
            text,
            lang,
            plain: false,
        }),
        Ok((l, None, _)) => Err(LineError {
            error: Cow::Borrowed(if l.text.is_some_and(|r| r.get() != "null") {
                "field \"text\" is not a string"
            } else {
                "missing string field \"text\""
            }),
            // an object without an id still says `"id": null` here
            id: Some(
                l.id.and_then(|r| serde_json::from_str(r.get()).ok())
                    .unwrap_or(serde_json::Value::Null),
            ),
        }),
        Err(err) => Err(LineError {
            // only the class and position: serde's message may quote the content
            error: Cow::Owned(format!(
                "invalid JSON ({:?}) at column {}",
                err.classify(),
                err.column()
            )),
            id: recover_id(line.as_bytes()),
        }),
    }
}

/// Detection plus policy, one line at a time, with its buffers kept across lines: the core of
/// both line loops.
struct Redactor<'a> {
    det: &'a Detector,
    policy: &'a Policy,
    byte_spans: Vec<(usize, usize, Kind)>,
    redacted: String,
}

impl<'a> Redactor<'a> {
    fn new(det: &'a Detector, policy: &'a Policy) -> Self {
        Self {
            det,
            policy,
            byte_spans: Vec::new(),
            redacted: String::with_capacity(4096),
        }
    }

    /// The resolved candidates of `text` (byte offsets) and the text to write: `text` itself
    /// when nothing was found (no copy, no policy), the policy applied otherwise, `None` when
    /// the policy drops the segment.
    fn redact<'t>(
        &'t mut self,
        text: &'t str,
        lang: Option<Lang>,
    ) -> (Vec<crate::Candidate>, Option<&'t str>) {
        let cands = self.det.detect_bytes(text, lang);
        if cands.is_empty() {
            return (cands, Some(text));
        }
        self.byte_spans.clear();
        self.byte_spans
            .extend(cands.iter().map(|c| (c.start, c.end, c.kind)));
        let dropped = apply_bytes_into(
            text,
            &mut self.byte_spans,
            self.policy,
            None,
            &mut self.redacted,
        );
        (cands, (!dropped).then_some(self.redacted.as_str()))
    }
}

/// Reads `input` line by line into one reused buffer, counts lines and bytes, and hands each
/// line to `each`.
fn for_each_line<R: BufRead>(
    mut input: R,
    st: &mut RunStats,
    mut each: impl FnMut(&[u8], &mut RunStats) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    while read_line(&mut input, &mut buf)? {
        st.lines += 1;
        st.bytes += buf.len() as u64;
        each(&buf, st)?;
    }
    Ok(())
}

/// JSONL in, JSONL out. `default_lang`: used when a line has no (valid) `lang`; `None` = auto.
pub fn run_jsonl<R: BufRead, W: Write>(
    det: &Detector,
    input: R,
    mut out: W,
    default_lang: Option<Lang>,
    policy: &Policy,
) -> std::io::Result<RunStats> {
    let mut st = RunStats::default();
    let mut outbuf = Vec::with_capacity(4096);
    let mut redactor = Redactor::new(det, policy);
    for_each_line(input, &mut st, |buf, st| {
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        outbuf.clear();
        match read_fields(buf) {
            Ok(Fields {
                id,
                text,
                lang,
                plain,
            }) => {
                let lang = match lang.as_deref() {
                    Some(s) if s.eq_ignore_ascii_case("auto") => None,
                    Some(s) => parse_lang(s).or(default_lang),
                    None => default_lang,
                };
                let (cands, redacted) = redactor.redact(&text, lang);
                let spans = crate::to_char_offsets(&text, &cands);
                st.spans += spans.len() as u64;
                st.ok += 1;
                // {"id":…,"redacted":"…","spans":[…]}, the id as it came
                outbuf.extend_from_slice(b"{\"id\":");
                outbuf.extend_from_slice(id.unwrap_or("null").as_bytes());
                outbuf.extend_from_slice(b",\"redacted\":");
                if cands.is_empty() && plain {
                    // unchanged, and read without escapes: nothing to escape either
                    outbuf.push(b'"');
                    outbuf.extend_from_slice(text.as_bytes());
                    outbuf.push(b'"');
                } else {
                    // a dropped segment is written as an empty text
                    write_json_str(&mut outbuf, redacted.unwrap_or(""))?;
                }
                outbuf.extend_from_slice(b",\"spans\":");
                write_spans(&mut outbuf, &spans);
                outbuf.push(b'}');
            }
            Err(e) => {
                st.errors += 1;
                let e = ErrLine {
                    error: &e.error,
                    line: st.lines,
                    id: e.id.as_ref(),
                };
                serde_json::to_writer(&mut outbuf, &e).map_err(std::io::Error::other)?;
            }
        }
        outbuf.push(b'\n');
        out.write_all(&outbuf)
    })?;
    out.flush()?;
    Ok(st)
}

/// Plain text in, redacted text out, line by line. Invalid UTF-8 is replaced (U+FFFD) first.
pub fn run_text<R: BufRead, W: Write>(
    det: &Detector,
    input: R,
    mut out: W,
    default_lang: Option<Lang>,
    policy: &Policy,
) -> std::io::Result<RunStats> {
    let mut st = RunStats::default();
    let mut redactor = Redactor::new(det, policy);
    for_each_line(input, &mut st, |buf, st| {
        let text = match simdutf8::basic::from_utf8(buf) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(buf),
        };
        let (cands, redacted) = redactor.redact(&text, default_lang);
        st.spans += cands.len() as u64;
        st.ok += 1;
        if let Some(r) = redacted {
            out.write_all(r.as_bytes())?;
        }
        out.write_all(b"\n")
    })?;
    out.flush()?;
    Ok(st)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lang_codes_read_as_from_str_reads_them() {
        for s in [
            "da", "sv", "nb", "fi", "et", "de", "en", " DA", "no", "en-GB", "zz", "",
        ] {
            assert_eq!(parse_lang(s), s.parse::<Lang>().ok(), "{s}");
        }
    }

    #[test]
    fn spans_are_written_as_serde_writes_them() {
        use sotto_core::Kind;
        let mut spans = Vec::new();
        for (i, &kind) in Kind::ALL.iter().enumerate() {
            for score in [0.0f32, 1.0, 0.97, 0.1 + 0.2, 1e-7, f32::NAN, f32::INFINITY] {
                spans.push(crate::Span {
                    start: i * 1000,
                    end: i * 1000 + usize::MAX / 2,
                    kind,
                    category: kind.category(),
                    score,
                });
            }
        }
        for n in [0, 1, spans.len()] {
            let mut ours = Vec::new();
            write_spans(&mut ours, &spans[..n]);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&spans[..n]).unwrap()
            );
        }
    }

    #[test]
    fn jsonl_errors_do_not_stop_the_run() {
        let det = Detector::new();
        let input = b"{\"id\":\"a\",\"text\":\"hej\"}\nnot json\n{\"id\":7}\n\n{\"id\":\"b\",\"text\":\"x\",\"lang\":\"zz\"}\n";
        let mut out = Vec::new();
        let st = run_jsonl(&det, &input[..], &mut out, None, &Policy::redact_all()).unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("\"redacted\":\"hej\""));
        assert!(lines[1].contains("\"error\"") && lines[1].contains("\"line\":2"));
        assert!(lines[2].contains("\"id\":7") && lines[2].contains("\"error\""));
        assert!(lines[3].contains("\"id\":\"b\""));
        assert_eq!(st.errors, 2);
        assert_eq!(st.ok, 2);
    }

    #[test]
    fn jsonl_ids_go_back_verbatim_and_text_is_escaped() {
        let det = Detector::new();
        let input = concat!(
            r#"{"id": {"call":[1,2]} , "text":"kort 4571 1704 9635 5977 \"ok\" \\ tab\there \u0001","lang":"da"}"#,
            "\n",
            r#"{"text":"S\u00f8ren siger hej","id":"\u00e9"}"#,
            "\n",
            r#"{"id":"n","text":5}"#,
            "\n",
            r#"["x","kort 4571 1704 9635 5977"]"#,
            "\n"
        );
        let mut out = Vec::new();
        let st = run_jsonl(
            &det,
            input.as_bytes(),
            &mut out,
            None,
            &Policy::redact_all(),
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = s
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], serde_json::json!({"call": [1, 2]}));
        assert_eq!(
            lines[0]["redacted"],
            "kort [PAYMENT_CARD] \"ok\" \\ tab\there \u{1}"
        );
        assert_eq!(lines[0]["spans"][0]["start"], 5);
        assert!(s
            .lines()
            .next()
            .unwrap()
            .starts_with(r#"{"id":{"call":[1,2]},"redacted":"#));
        assert_eq!(lines[1]["id"], "é");
        assert_eq!(lines[1]["redacted"], "Søren siger hej");
        assert_eq!(lines[2]["error"], "field \"text\" is not a string");
        assert_eq!(lines[3]["error"], "line is not a JSON object");
        assert_eq!(lines[3]["line"], 4);
        assert_eq!((st.ok, st.errors), (2, 2));
    }
}
