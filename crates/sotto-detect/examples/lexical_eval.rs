//! Runs only the lexical recognisers (names, addresses, special categories) over a JSONL corpus
//! with the gold `lang`, writing predictions in the evaluation format (code-point offsets).
//!
//! cargo run --release -p sotto-detect --example lexical_eval -- /work/shared/eval/dev.jsonl > pred.jsonl

use std::io::{BufRead, Write};

use sotto_core::Lang;
use sotto_detect::lexical::Lexical;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: lexical_eval CORPUS.jsonl")?;
    let lex = Lexical::new();
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bytes = 0usize;
    let t0 = std::time::Instant::now();
    for line in f.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let text = v["text"].as_str().unwrap_or("");
        let lang: Lang = v["lang"]
            .as_str()
            .unwrap_or("en")
            .parse()
            .unwrap_or(Lang::En);
        let mut c = Vec::new();
        lex.find(text, lang, &mut c);
        if std::env::var_os("LEXDBG").is_some() {
            eprintln!("{lang:?} {} -> {}", text.len(), c.len());
        }
        bytes += text.len();
        let spans: Vec<serde_json::Value> = c
            .iter()
            .map(|c| {
                let s = text[..c.start].chars().count();
                let e = s + text[c.start..c.end].chars().count();
                serde_json::json!({"start": s, "end": e, "kind": c.kind.as_str(), "category": c.kind.category().as_str()})
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": v["id"], "spans": spans})
        )?;
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "{} bytes in {:.3}s = {:.1} MB/s",
        bytes,
        secs,
        bytes as f64 / secs / 1e6
    );
    Ok(())
}
