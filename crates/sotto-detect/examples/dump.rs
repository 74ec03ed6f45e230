//! Writes every span the detector finds over a fixed, large set of inputs, one line per input
//! and mode, so that two builds can be compared byte for byte (a refactoring of the hot path
//! must not change a single span):
//!
//! ```text
//! cargo run -p sotto-detect --release --example dump -- /tmp/before.txt [corpus.jsonl …]
//! cargo run -p sotto-detect --release --example dump -- /tmp/after.txt [corpus.jsonl …]
//! cmp /tmp/before.txt /tmp/after.txt
//! ```
//! Inputs: the given corpora, 40 000 generated lines (`benches/gen`, both mixes) and variants of
//! all of them (lower case, upper case, no punctuation, glued, odd Unicode). Modes: the line's
//! language, auto-detection, and one fixed other language.

#[path = "../benches/gen/mod.rs"]
mod gen;

use sotto_core::Lang;
use sotto_detect::Detector;
use std::io::{BufRead, Write};

fn variants(t: &str, k: usize) -> Vec<String> {
    let mut v = vec![t.to_string()];
    match k % 6 {
        0 => v.push(t.to_lowercase()),
        1 => v.push(t.to_uppercase()),
        2 => v.push(
            t.chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ')
                .collect(),
        ),
        3 => v.push(t.replace(' ', "")),
        4 => v.push(t.replace('a', "İ").replace('e', "ẞ").replace('o', "Ω")),
        _ => v.push(format!("{t}\n{t}")),
    }
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out_path = args.first().ok_or("usage: dump OUT [corpus.jsonl …]")?;
    let mut inputs: Vec<(String, Lang)> = Vec::new();
    for p in args.iter().skip(1) {
        let f = std::io::BufReader::new(std::fs::File::open(p)?);
        for line in f.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line)?;
            let lang = v["lang"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(Lang::En);
            inputs.push((v["text"].as_str().unwrap_or("").to_string(), lang));
        }
    }
    inputs.extend(
        gen::Gen::new(1, gen::Mix::Calls)
            .lines(2 << 20)
            .into_iter()
            .take(20_000),
    );
    inputs.extend(
        gen::Gen::new(2, gen::Mix::Dense)
            .lines(2 << 20)
            .into_iter()
            .take(20_000),
    );
    let det = Detector::new();
    let mut out = std::io::BufWriter::new(std::fs::File::create(out_path)?);
    for (k, (t, l)) in inputs.iter().enumerate() {
        for v in variants(t, k) {
            let other = Lang::ALL[(k + 3) % 7];
            for (tag, lang) in [("g", Some(*l)), ("a", None), ("o", Some(other))] {
                let spans = det.detect(&v, lang);
                write!(out, "{k} {tag}")?;
                for s in spans {
                    write!(
                        out,
                        " {}-{}:{}:{:.3}",
                        s.start,
                        s.end,
                        s.kind.as_str(),
                        s.score
                    )?;
                }
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
