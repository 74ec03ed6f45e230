//! Throughput of the full detector (every recogniser on) over generated call transcripts.
//!
//! ```text
//! cargo run -p sotto-detect --release --example throughput -- [MB] [given|auto|da|sv|…] [calls|dense]
//! cargo run -p sotto-detect --release --example throughput -- 100 jsonl [auto|given]
//! ```
//! Input: `benches/gen` (seeded; seven languages; the share of lines with numbers, names,
//! addresses, e-mail and special-category terms is documented there). `given`: every line with
//! its own language (what `sotto redact --format jsonl` gets when lines carry `lang`); `auto`:
//! language identification per line; a code: that language for every line.
//! Reports MB/s and lines/s of one thread (MB = 2^20 bytes), per-line p50/p99 and peak RSS.
//! `jsonl`: streams MB of generated JSONL through `run_jsonl` (the `sotto redact --format jsonl`
//! path) into a sink, never holding the input, and reports peak RSS (flat memory).
//! `file PATH [auto|CODE]`: the `sotto redact --format jsonl` path over a JSONL file held in
//! memory (no generation, no I/O in the measurement), e.g. one written by `gen_jsonl`; reports
//! MB/s of JSONL and of the `text` fields, on the CPU of this thread.

#[path = "../benches/gen/mod.rs"]
mod gen;

use sotto_core::Lang;
use sotto_detect::{run_jsonl, Detector, Policy};
use std::io::Read;
use std::time::Instant;

#[derive(Clone, Copy)]
enum Mode {
    Given,
    Auto,
    Fixed(Lang),
}

/// CPU time this thread has run (ns), from the scheduler: robust to other processes sharing the
/// cores, unlike wall time.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Generated JSONL produced on demand (never held whole).
struct JsonlSource {
    gen: gen::Gen,
    left: usize,
    buf: Vec<u8>,
    pos: usize,
    with_lang: bool,
    n: u64,
}

impl Read for JsonlSource {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.left == 0 {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < 64 * 1024 && self.left > 0 {
                let (t, l) = self.gen.line();
                self.n += 1;
                let v = if self.with_lang {
                    serde_json::json!({"id": format!("g-{}", self.n), "text": t, "lang": l.code()})
                } else {
                    serde_json::json!({"id": format!("g-{}", self.n), "text": t})
                };
                let s = v.to_string();
                self.left = self.left.saturating_sub(s.len() + 1);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(b'\n');
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mb: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(50);
    let det = Detector::new();
    if args.first().is_some_and(|s| s == "file") {
        let path = args.get(1).cloned().unwrap_or_default();
        let default_lang = match args.get(2).map(String::as_str) {
            None | Some("auto") => None,
            Some(c) => c.parse::<Lang>().ok(),
        };
        let Ok(data) = std::fs::read(&path) else {
            eprintln!("cannot read {path}");
            std::process::exit(2);
        };
        let text_bytes: usize = data
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::len))
            .sum();
        let mut sink: Vec<u8> = Vec::with_capacity(data.len() * 2);
        let cpu0 = thread_cpu_ns();
        let st = run_jsonl(
            &det,
            &data[..],
            &mut sink,
            default_lang,
            &Policy::redact_all(),
        )
        .unwrap_or_default();
        let cpu = (thread_cpu_ns().saturating_sub(cpu0)) as f64 / 1e9;
        println!(
            "file {path}: {} lines, {:.1} MB of JSONL ({:.1} MB of text), {} spans, {} errors; \
             {:.2} s on the CPU: {:.1} MB/s of JSONL, {:.1} MB/s of text per core",
            st.lines,
            data.len() as f64 / 1048576.0,
            text_bytes as f64 / 1048576.0,
            st.spans,
            st.errors,
            cpu,
            data.len() as f64 / 1048576.0 / cpu,
            text_bytes as f64 / 1048576.0 / cpu
        );
        // `THROUGHPUT_OUT=path`: keep what was written, to compare with `sotto redact`
        if let Ok(out) = std::env::var("THROUGHPUT_OUT") {
            if std::fs::write(&out, &sink).is_err() {
                eprintln!("cannot write {out}");
            }
        }
        std::hint::black_box(sink);
        return;
    }
    if args.get(1).is_some_and(|s| s == "jsonl") {
        let with_lang = args.get(2).is_none_or(|s| s != "auto");
        let src = JsonlSource {
            gen: gen::Gen::new(7, gen::Mix::Calls),
            left: mb << 20,
            buf: Vec::new(),
            pos: 0,
            with_lang,
            n: 0,
        };
        let rss0 = peak_rss_kib();
        let t = Instant::now();
        let st = run_jsonl(
            &det,
            std::io::BufReader::new(src),
            std::io::sink(),
            None,
            &Policy::redact_all(),
        )
        .unwrap_or_default();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "jsonl ({}): {} lines, {:.1} MB of JSONL, {} spans, {} errors in {:.2} s \
             ({:.1} MB/s incl. JSON and generation); peak RSS {} KiB (before the run {} KiB)",
            if with_lang { "lang given" } else { "auto" },
            st.lines,
            st.bytes as f64 / 1048576.0,
            st.spans,
            st.errors,
            secs,
            st.bytes as f64 / 1048576.0 / secs,
            peak_rss_kib(),
            rss0
        );
        return;
    }
    let mode = match args.get(1).map(String::as_str) {
        None | Some("given") => Mode::Given,
        Some("auto") => Mode::Auto,
        Some(c) => c.parse().map(Mode::Fixed).unwrap_or(Mode::Given),
    };
    let mix = if args.get(2).is_some_and(|s| s == "dense") {
        gen::Mix::Dense
    } else {
        gen::Mix::Calls
    };
    let lines = gen::Gen::new(42, mix).lines(mb << 20);
    let bytes: usize = lines.iter().map(|(t, _)| t.len() + 1).sum();
    let lang_of = |l: Lang| match mode {
        Mode::Given => Some(l),
        Mode::Auto => None,
        Mode::Fixed(f) => Some(f),
    };
    for w in [
        "warm up 4571 1704 9635 5977",
        "hej med dig",
        "jeg hedder Anna",
    ] {
        let _ = det.detect(w, None);
        let _ = det.detect(w, Some(Lang::Da));
    }
    // Pass 1: throughput, no per-line clock.
    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    let mut spans = 0usize;
    for (text, l) in &lines {
        spans += det.detect(text, lang_of(*l)).len();
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns().saturating_sub(cpu0)) as f64 / 1e9;
    // Pass 2: per-line latency.
    let mut lat: Vec<u32> = Vec::with_capacity(lines.len());
    for (text, l) in &lines {
        let t = Instant::now();
        let n = det.detect(text, lang_of(*l)).len();
        lat.push(t.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
        std::hint::black_box(n);
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "full detector, {} mix, lang {}: {} lines, {:.1} MB, {} spans in {:.2} s: {:.1} MB/s, \
         {:.0} lines/s (wall); {:.2} s on the CPU: {:.1} MB/s, {:.0} lines/s per core; per line p50 {:.1} µs, p99 {:.1} µs; peak RSS {} KiB",
        if mix == gen::Mix::Dense { "dense" } else { "calls" },
        match mode {
            Mode::Given => "given".to_string(),
            Mode::Auto => "auto".to_string(),
            Mode::Fixed(l) => l.to_string(),
        },
        lines.len(),
        bytes as f64 / 1048576.0,
        spans,
        secs,
        bytes as f64 / 1048576.0 / secs,
        lines.len() as f64 / secs,
        cpu,
        bytes as f64 / 1048576.0 / cpu,
        lines.len() as f64 / cpu,
        f64::from(pct(0.5)) / 1e3,
        f64::from(pct(0.99)) / 1e3,
        peak_rss_kib()
    );
}
