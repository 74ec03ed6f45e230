//! Throughput of `Lexical::find` alone over a JSONL corpus (texts loaded first, several passes).
//! cargo run --release -p sotto-detect --example lexical_bench -- /work/shared/eval/dev.jsonl

use std::io::BufRead;

use sotto_core::Lang;
use sotto_detect::lexical::Lexical;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: lexical_bench CORPUS.jsonl")?;
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut docs: Vec<(String, Lang)> = Vec::new();
    for line in f.lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let lang = v["lang"]
            .as_str()
            .unwrap_or("en")
            .parse()
            .unwrap_or(Lang::En);
        docs.push((v["text"].as_str().unwrap_or("").to_owned(), lang));
    }
    let t0 = std::time::Instant::now();
    let lex = Lexical::new();
    eprintln!("build: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    let passes: usize = std::env::var("PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(20);
    let mut bytes = 0usize;
    let mut found = 0usize;
    let mut out = Vec::new();
    let t0 = std::time::Instant::now();
    for _ in 0..passes {
        for (t, l) in &docs {
            out.clear();
            lex.find(t, *l, &mut out);
            found += out.len();
            bytes += t.len();
        }
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{} bytes, {} spans, {:.1} MB/s",
        bytes,
        found,
        bytes as f64 / s / 1e6
    );
    Ok(())
}
