//! The `sotto redact` contract as library functions; the binary only parses arguments.
//!
//! jsonl: each input line `{"id": …, "text": "…", "lang": "da"}` (lang optional, other fields
//! ignored) → one output line, same order: `{"id": …, "redacted": "…", "spans": [{"start", "end",
//! "kind", "category", "score"}]}` (code points, end exclusive). A line that cannot be read gives
//! `{"error": "…", "line": N}` (plus `"id"` when it could be recovered) and the run goes on.
//! text: each input line redacted, one output line each. Memory stays flat: one line at a time.

use crate::policy::{apply, Policy};
use crate::Detector;
use serde::Serialize;
use sotto_core::Lang;
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
struct OutLine<'a> {
    id: &'a serde_json::Value,
    redacted: &'a str,
    spans: &'a [crate::Span],
}

#[derive(Serialize)]
struct ErrLine<'a> {
    error: &'a str,
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct InLine {
    #[serde(default)]
    id: serde_json::Value,
    text: Option<String>,
    #[serde(default)]
    lang: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
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

/// JSONL in, JSONL out. `default_lang`: used when a line has no (valid) `lang`; `None` = auto.
pub fn run_jsonl<R: BufRead, W: Write>(
    det: &Detector,
    mut input: R,
    mut out: W,
    default_lang: Option<Lang>,
    policy: &Policy,
) -> std::io::Result<RunStats> {
    let mut st = RunStats::default();
    let mut buf = Vec::with_capacity(4096);
    let mut outbuf = Vec::with_capacity(4096);
    while read_line(&mut input, &mut buf)? {
        st.lines += 1;
        st.bytes += buf.len() as u64;
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        outbuf.clear();
        match serde_json::from_slice::<InLine>(&buf) {
            Ok(InLine {
                id,
                text: Some(text),
                lang,
            }) => {
                let lang = match lang.as_ref().and_then(|v| v.as_str()) {
                    Some(s) if s.eq_ignore_ascii_case("auto") => None,
                    Some(s) => s.parse::<Lang>().ok().or(default_lang),
                    None => default_lang,
                };
                let spans = det.detect(&text, lang);
                let applied = apply(&text, &spans, policy, None);
                st.spans += spans.len() as u64;
                st.ok += 1;
                let line = OutLine {
                    id: &id,
                    redacted: &applied.text,
                    spans: &spans,
                };
                serde_json::to_writer(&mut outbuf, &line).map_err(std::io::Error::other)?;
            }
            Ok(InLine { id, text: None, .. }) => {
                st.errors += 1;
                let e = ErrLine {
                    error: "missing string field \"text\"",
                    line: st.lines,
                    id: Some(&id),
                };
                serde_json::to_writer(&mut outbuf, &e).map_err(std::io::Error::other)?;
            }
            Err(err) => {
                st.errors += 1;
                let id = serde_json::from_slice::<IdOnly>(&buf)
                    .ok()
                    .and_then(|x| x.id);
                let msg = if std::str::from_utf8(&buf).is_err() {
                    String::from("line is not valid UTF-8")
                } else {
                    // only the class and position: serde's message may quote the content
                    format!(
                        "invalid JSON ({:?}) at column {}",
                        err.classify(),
                        err.column()
                    )
                };
                let e = ErrLine {
                    error: &msg,
                    line: st.lines,
                    id: id.as_ref(),
                };
                serde_json::to_writer(&mut outbuf, &e).map_err(std::io::Error::other)?;
            }
        }
        outbuf.push(b'\n');
        out.write_all(&outbuf)?;
    }
    out.flush()?;
    Ok(st)
}

/// Plain text in, redacted text out, line by line. Invalid UTF-8 is replaced (U+FFFD) first.
pub fn run_text<R: BufRead, W: Write>(
    det: &Detector,
    mut input: R,
    mut out: W,
    default_lang: Option<Lang>,
    policy: &Policy,
) -> std::io::Result<RunStats> {
    let mut st = RunStats::default();
    let mut buf = Vec::with_capacity(4096);
    while read_line(&mut input, &mut buf)? {
        st.lines += 1;
        st.bytes += buf.len() as u64;
        let text = String::from_utf8_lossy(&buf);
        let spans = det.detect(&text, default_lang);
        st.spans += spans.len() as u64;
        let applied = apply(&text, &spans, policy, None);
        st.ok += 1;
        if !applied.dropped {
            out.write_all(applied.text.as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(st)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
}
