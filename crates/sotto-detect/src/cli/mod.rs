//! The `sotto redact` contract as library functions; the binary only parses arguments.
//!
//! jsonl: each input line `{"id": …, "text": "…", "lang": "da"}` (lang optional, other fields
//! ignored) → one output line, same order: `{"id": …, "redacted": "…", "spans": [{"start", "end",
//! "kind", "category", "score"}]}` (code points, end exclusive). A line that cannot be read gives
//! `{"error": "…", "line": N}` (plus `"id"` when it could be recovered) and the run goes on.
//! text: each input line redacted, one output line each. Memory stays flat: one line at a time.

mod fast_line;

use crate::policy::{apply_bytes_into, apply_sorted_onto, Policy};
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

/// Writes span lists as [`write_spans`] does, from the detector's candidates (byte offsets)
/// without building the spans first, with the constant part of each kind's fields and recent
/// scores' text kept across lines (a few kinds and scores recur on every line).
struct SpanWriter {
    /// `,"kind":"…","category":"…","score":` of each kind, at `kind as usize` (the order of
    /// `Kind::ALL`).
    kind_fields: Vec<Vec<u8>>,
    /// Scores as ryu writes them: (bits, length, text), at a slot of the bits; `u32::MAX` (a
    /// NaN, never cached) marks an empty slot.
    scores: [(u32, u8, [u8; SCORE_TEXT]); SCORE_SLOTS],
}

/// Longest score text kept (ryu writes an f32 in at most 16 bytes).
const SCORE_TEXT: usize = 24;
const SCORE_SLOTS: usize = 32;

fn kind_fields(kind: Kind) -> Vec<u8> {
    format!(
        ",\"kind\":\"{}\",\"category\":\"{}\",\"score\":",
        kind.as_str(),
        kind.category().as_str()
    )
    .into_bytes()
}

impl SpanWriter {
    fn new() -> Self {
        Self {
            kind_fields: Kind::ALL.iter().map(|&k| kind_fields(k)).collect(),
            scores: [(u32::MAX, 0, [0; SCORE_TEXT]); SCORE_SLOTS],
        }
    }

    /// The spans of `cands` in `text` (code points). Returns how many.
    fn write(&mut self, out: &mut Vec<u8>, text: &str, cands: &[crate::Candidate]) -> usize {
        out.push(b'[');
        let mut first = true;
        let in_order = crate::char_spans_in_order(text, cands, |c, start, end| {
            if !first {
                out.push(b',');
            }
            first = false;
            // the same fields as `span_at` gives `write_spans`
            self.span(out, start, end, c.kind, c.score.clamp(0.0, 1.0));
        });
        if !in_order {
            // (no candidate was written: the general conversion)
            out.pop();
            write_spans(out, &crate::to_char_offsets(text, cands));
            return cands.len();
        }
        out.push(b']');
        cands.len()
    }

    fn span(&mut self, out: &mut Vec<u8>, start: usize, end: usize, kind: Kind, score: f32) {
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"start\":");
        out.extend_from_slice(num.format(start).as_bytes());
        out.extend_from_slice(b",\"end\":");
        out.extend_from_slice(num.format(end).as_bytes());
        match self.kind_fields.get(kind as usize) {
            Some(f) => out.extend_from_slice(f),
            None => out.extend_from_slice(&kind_fields(kind)),
        }
        self.score(out, score);
        out.push(b'}');
    }

    fn score(&mut self, out: &mut Vec<u8>, score: f32) {
        if !score.is_finite() {
            out.extend_from_slice(b"null");
            return;
        }
        let bits = score.to_bits();
        let slot = (bits ^ (bits >> 11) ^ (bits >> 19)) as usize % SCORE_SLOTS;
        let Some((have, len, text)) = self.scores.get_mut(slot) else {
            out.extend_from_slice(ryu::Buffer::new().format_finite(score).as_bytes());
            return;
        };
        if *have != bits {
            let mut float = ryu::Buffer::new();
            let s = float.format_finite(score).as_bytes();
            let Some(to) = text.get_mut(..s.len()) else {
                out.extend_from_slice(s);
                return;
            };
            to.copy_from_slice(s);
            *have = bits;
            *len = s.len() as u8;
        }
        out.extend_from_slice(text.get(..usize::from(*len)).unwrap_or_default());
    }
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

/// A line found in place without its line feed: as [`read_line`] leaves it (carriage returns
/// at the end dropped).
fn trim_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = line {
        line = rest;
    }
    line
}

/// The fields of one good input line.
struct Fields<'a> {
    /// As raw JSON (valid UTF-8), to go back verbatim.
    id: Option<&'a [u8]>,
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
#[inline]
fn read_fields(buf: &[u8]) -> Result<Fields<'_>, LineError> {
    // (simdutf8: the same check as `std::str::from_utf8`, many bytes at a time; on lines of
    // about a hundred bytes the standard one measured 3 M instructions slower over 20,901 lines)
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
            id: l.id.map(|r| r.get().as_bytes()),
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
    /// The line's resolved candidates.
    cands: Vec<crate::Candidate>,
    byte_spans: Vec<(usize, usize, Kind)>,
    redacted: String,
}

impl<'a> Redactor<'a> {
    fn new(det: &'a Detector, policy: &'a Policy) -> Self {
        Self {
            det,
            policy,
            cands: Vec::new(),
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
    ) -> (&'t [crate::Candidate], Option<&'t str>) {
        self.detect(text, lang);
        let redacted = policy_text(
            text,
            &self.cands,
            self.policy,
            &mut self.byte_spans,
            &mut self.redacted,
        );
        (&self.cands, redacted)
    }

    /// Detection only: the resolved candidates of `text` (byte offsets), into `self.cands`.
    fn detect(&mut self, text: &str, lang: Option<Lang>) {
        self.det.detect_bytes_into(text, lang, &mut self.cands);
    }
}

/// The text to write for `text` with `cands` found in it: `text` itself when there are none (no
/// copy, no policy), the policy applied into `redacted` otherwise, `None` when the policy drops
/// the segment.
fn policy_text<'t>(
    text: &'t str,
    cands: &[crate::Candidate],
    policy: &Policy,
    byte_spans: &mut Vec<(usize, usize, Kind)>,
    redacted: &'t mut String,
) -> Option<&'t str> {
    if cands.is_empty() {
        return Some(text);
    }
    byte_spans.clear();
    byte_spans.extend(cands.iter().map(|c| (c.start, c.end, c.kind)));
    let dropped = apply_bytes_into(text, byte_spans, policy, None, redacted);
    (!dropped).then_some(redacted.as_str())
}

/// What [`for_each_line`] hands over: a line, or notice that it is about to read more input.
enum Step<'a> {
    Line(&'a [u8]),
    /// Every line read so far has been handed over, and the next read may wait for more input
    /// (a pipe, a terminal): what is held back for them must go out now, or a caller streaming
    /// line by line waits for answers that sit in a buffer.
    Refill,
}

/// Reads `input` line by line, counts lines and bytes, and hands each line to `each`: in place
/// where the reader's buffer holds the whole line (most lines: no copy), else through one
/// reused buffer. Before every read, `each` gets [`Step::Refill`].
fn for_each_line<R: BufRead>(
    mut input: R,
    st: &mut RunStats,
    mut each: impl FnMut(Step<'_>, &mut RunStats) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        each(Step::Refill, st)?;
        let window = input.fill_buf()?;
        if window.is_empty() {
            return Ok(());
        }
        let mut used = 0usize;
        for nl in memchr::memchr_iter(b'\n', window) {
            let line = trim_line_end(window.get(used..nl).unwrap_or_default());
            st.lines += 1;
            st.bytes += line.len() as u64;
            each(Step::Line(line), st)?;
            used = nl + 1;
        }
        if used > 0 {
            input.consume(used);
            continue;
        }
        // a line longer than what the buffer holds, or the last one without a line feed
        if !read_line(&mut input, &mut buf)? {
            return Ok(());
        }
        st.lines += 1;
        st.bytes += buf.len() as u64;
        each(Step::Line(&buf), st)?;
    }
}

/// Output lines are gathered and handed to the writer about this many bytes at a time (one
/// `write_all` per batch instead of one per line), and whenever the input runs dry.
const OUT_BATCH: usize = 32 * 1024;

/// JSONL in, JSONL out. `default_lang`: used when a line has no (valid) `lang`; `None` = auto.
pub fn run_jsonl<R: BufRead, W: Write>(
    det: &Detector,
    input: R,
    mut out: W,
    default_lang: Option<Lang>,
    policy: &Policy,
) -> std::io::Result<RunStats> {
    let mut st = RunStats::default();
    let mut outbuf = Vec::with_capacity(OUT_BATCH + 4096);
    let mut redactor = Redactor::new(det, policy);
    let mut span_writer = SpanWriter::new();
    let res = for_each_line(input, &mut st, |step, st| {
        let buf = match step {
            Step::Line(buf) => buf,
            Step::Refill => {
                let written = out.write_all(&outbuf).and_then(|()| out.flush());
                outbuf.clear();
                return written;
            }
        };
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
                redactor.detect(&text, lang);
                let cands = redactor.cands.as_slice();
                st.ok += 1;
                // {"id":…,"redacted":"…","spans":[…]}, the id as it came
                outbuf.extend_from_slice(b"{\"id\":");
                outbuf.extend_from_slice(id.unwrap_or(b"null"));
                outbuf.extend_from_slice(b",\"redacted\":");
                // (a dropped segment is written as an empty text)
                if plain {
                    // read without escapes: nothing to escape in the text, nor in what the
                    // policy puts in (placeholders, '*', the text's own white space), so the
                    // policy writes straight into the output
                    outbuf.push(b'"');
                    let mark = outbuf.len();
                    if cands.is_empty() {
                        outbuf.extend_from_slice(text.as_bytes());
                    } else {
                        match apply_sorted_onto(&text, cands, policy, &mut outbuf) {
                            Some(true) => {}
                            Some(false) => outbuf.truncate(mark),
                            // (not sorted: never for resolved candidates) the general path
                            None => {
                                let r = policy_text(
                                    &text,
                                    cands,
                                    policy,
                                    &mut redactor.byte_spans,
                                    &mut redactor.redacted,
                                );
                                outbuf.extend_from_slice(r.unwrap_or("").as_bytes());
                            }
                        }
                    }
                    outbuf.push(b'"');
                } else {
                    let r = policy_text(
                        &text,
                        cands,
                        policy,
                        &mut redactor.byte_spans,
                        &mut redactor.redacted,
                    );
                    write_json_str(&mut outbuf, r.unwrap_or(""))?;
                }
                outbuf.extend_from_slice(b",\"spans\":");
                if cands.is_empty() {
                    // most lines
                    outbuf.extend_from_slice(b"[]");
                } else {
                    st.spans += span_writer.write(&mut outbuf, &text, cands) as u64;
                }
                outbuf.push(b'}');
            }
            // a blank line is skipped (tested only here: a line that was read is not blank)
            Err(_) if buf.iter().all(|b| b.is_ascii_whitespace()) => return Ok(()),
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
        if outbuf.len() >= OUT_BATCH {
            let written = out.write_all(&outbuf);
            outbuf.clear();
            written?;
        }
        Ok(())
    });
    // the lines answered before a read error still go out, as they did line by line
    let written = out.write_all(&outbuf);
    res?;
    written?;
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
    for_each_line(input, &mut st, |step, st| {
        let buf = match step {
            Step::Line(buf) => buf,
            Step::Refill => return out.flush(),
        };
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
    fn kinds_are_at_their_index() {
        for (i, &k) in Kind::ALL.iter().enumerate() {
            assert_eq!(k as usize, i, "{k}");
        }
    }

    proptest::proptest! {
        /// Spans written from candidates are what converting them and [`write_spans`] write,
        /// sorted or not, ASCII or not, with scores repeated (the cache) or odd.
        #[test]
        fn span_writer_writes_what_write_spans_writes(
            text in "[a-zæøÄ€😀 0-9]{0,30}",
            raw in proptest::collection::vec((0usize..140, 0usize..140, 0usize..18, 0usize..6), 0..6),
            sorted in proptest::bool::ANY,
        ) {
            let scores = [0.9f32, 0.97, 1.5, -0.2, f32::NAN, 0.1 + 0.2];
            let snap = |b: usize| {
                let mut b = b.min(text.len());
                while !text.is_char_boundary(b) {
                    b -= 1;
                }
                b
            };
            let mut cands: Vec<crate::Candidate> = raw
                .iter()
                .map(|&(s, e, k, sc)| {
                    crate::Candidate::new(snap(s), snap(e), Kind::ALL[k], scores[sc])
                })
                .collect();
            if sorted {
                cands.sort_by_key(|c| (c.start, c.end));
                cands.dedup_by(|b, a| b.start < a.end);
                for c in &mut cands {
                    c.end = c.end.max(c.start);
                }
            }
            let mut want = Vec::new();
            write_spans(&mut want, &crate::to_char_offsets(&text, &cands));
            let mut w = SpanWriter::new();
            // twice: the second time the scores come from the cache
            for _ in 0..2 {
                let mut got = Vec::new();
                let n = w.write(&mut got, &text, &cands);
                proptest::prop_assert_eq!(n, cands.len());
                proptest::prop_assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want.clone()).unwrap()
                );
            }
        }

        /// Lines found in the reader's buffer are the lines `read_line` reads one by one,
        /// whatever the buffer's size (lines longer than it, no final line feed, CR LF).
        #[test]
        fn lines_in_place_are_the_lines_read(
            lines in proptest::collection::vec("[ab{}\r]{0,12}", 0..8),
            last_lf in proptest::bool::ANY,
            cap in 1usize..16,
        ) {
            let mut input = lines.join("\n");
            if last_lf {
                input.push('\n');
            }
            let mut want = Vec::new();
            let mut r = input.as_bytes();
            let mut buf = Vec::new();
            while read_line(&mut r, &mut buf).unwrap() {
                want.push(buf.clone());
            }
            let mut got = Vec::new();
            let mut st = RunStats::default();
            for_each_line(std::io::BufReader::with_capacity(cap, input.as_bytes()), &mut st, |step, _| {
                if let Step::Line(l) = step {
                    got.push(l.to_vec());
                }
                Ok(())
            })
            .unwrap();
            proptest::prop_assert_eq!(st.lines as usize, want.len());
            proptest::prop_assert_eq!(st.bytes as usize, want.iter().map(Vec::len).sum::<usize>());
            proptest::prop_assert_eq!(got, want);
        }
    }

    /// Input that arrives a line at a time and, before giving the next line, records what the
    /// output held by then.
    struct Trickle {
        lines: Vec<Vec<u8>>,
        next: usize,
        pos: usize,
        out: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
        seen: Vec<usize>,
    }

    impl std::io::Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = {
                let src = self.fill_buf()?;
                let n = src.len().min(buf.len());
                buf[..n].copy_from_slice(&src[..n]);
                n
            };
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Trickle {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            if self.next < self.lines.len() && self.pos == self.lines[self.next].len() {
                self.next += 1;
                self.pos = 0;
            }
            if self.pos == 0 && self.next < self.lines.len() {
                // a new line is about to "arrive": how many output lines are out already?
                let out = self.out.borrow();
                self.seen.push(out.iter().filter(|&&b| b == b'\n').count());
            }
            Ok(self
                .lines
                .get(self.next)
                .map_or(&[][..], |l| &l[self.pos..]))
        }
        fn consume(&mut self, n: usize) {
            self.pos += n;
        }
    }

    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn answers_go_out_before_waiting_for_more_input() {
        let det = Detector::new();
        for jsonl in [true, false] {
            let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let lines: Vec<Vec<u8>> = (0..4)
                .map(|i| {
                    if jsonl {
                        format!("{{\"id\":{i},\"text\":\"kort 4571 1704 9635 5977\"}}\n")
                    } else {
                        format!("kort 4571 1704 9635 5977 nr {i}\n")
                    }
                    .into_bytes()
                })
                .collect();
            let mut input = Trickle {
                lines,
                next: 0,
                pos: 0,
                out: out.clone(),
                seen: Vec::new(),
            };
            // a buffered writer, as the binary uses, must be flushed too
            let writer = std::io::BufWriter::new(Shared(out.clone()));
            let policy = Policy::redact_all();
            if jsonl {
                run_jsonl(&det, &mut input, writer, None, &policy).unwrap();
            } else {
                run_text(&det, &mut input, writer, None, &policy).unwrap();
            }
            // before line k arrives, the answers to lines 0..k are out
            assert_eq!(input.seen, vec![0, 1, 2, 3], "jsonl: {jsonl}");
            assert_eq!(out.borrow().iter().filter(|&&b| b == b'\n').count(), 4);
        }
    }

    #[test]
    fn output_goes_out_in_batches_and_whole() {
        // more than one batch of output, through a writer that takes little at a time
        let det = Detector::new();
        let mut input = String::new();
        for i in 0..2000 {
            input.push_str(&format!(
                "{{\"id\":{i},\"text\":\"kort 4571 1704 9635 5977 ok\"}}\n"
            ));
        }
        let mut out = std::io::BufWriter::with_capacity(7, Vec::new());
        let st = run_jsonl(
            &det,
            input.as_bytes(),
            &mut out,
            None,
            &Policy::redact_all(),
        )
        .unwrap();
        let out = out.into_inner().unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.lines().count(), 2000);
        assert_eq!(st.ok, 2000);
        for (i, l) in s.lines().enumerate() {
            assert!(
                l.starts_with(&format!(
                    "{{\"id\":{i},\"redacted\":\"kort [PAYMENT_CARD] ok\""
                )),
                "{l}"
            );
        }
    }

    /// A line the fast reader took is written without the escape test: under every policy,
    /// what the policy puts in (placeholders, '*', the text's own white space) needs none.
    #[test]
    fn plain_lines_need_no_escape_under_any_policy() {
        use crate::policy::Action;
        for kind in Kind::ALL {
            assert_eq!(
                fast_line::first_special(kind.placeholder().as_bytes()),
                None
            );
        }
        let det = Detector::new();
        let texts = [
            "kort 4571 1704 9635 5977 ok",
            "jeg hedder Anna Jensen\u{2028}og bor på Hovedgaden 12, 8000 Aarhus",
            "ring 20 30 40 50\u{85}\u{a0}mail anna@example.com",
            "Sören\u{3000}hat Diabetes, IBAN DK50 0040 0440 1162 43",
        ];
        for action in [
            Action::Keep,
            Action::Mask,
            Action::Redact,
            Action::Pseudonymise,
            Action::DropSegment,
        ] {
            let policy = Policy::uniform(action);
            let mut input = String::new();
            for t in texts {
                input.push_str(&serde_json::json!({ "id": 1, "text": t }).to_string());
                input.push('\n');
            }
            let mut out = Vec::new();
            run_jsonl(&det, input.as_bytes(), &mut out, None, &policy).unwrap();
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out.lines().count(), texts.len());
            for (line, t) in out.lines().zip(texts) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let r = v["redacted"].as_str().unwrap();
                let spans: Vec<crate::Span> = det.detect(t, None);
                assert_eq!(
                    r,
                    crate::policy::apply(t, &spans, &policy, None).text,
                    "{line}"
                );
                let written = format!("\"redacted\":{},", serde_json::to_string(r).unwrap());
                assert!(line.contains(&written), "{action:?}: {line}");
            }
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
