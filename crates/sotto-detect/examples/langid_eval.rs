//! Accuracy of `langid::detect` against the gold `lang` of a JSONL corpus.
//! cargo run --release -p sotto-detect --example langid_eval -- /work/shared/eval/dev.jsonl

use std::io::BufRead;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: langid_eval CORPUS.jsonl")?;
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let (mut n, mut right, mut none, mut wrong) = (0, 0, 0, 0);
    for line in f.lines() {
        let line = line?;
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let text = v["text"].as_str().unwrap_or("");
        let gold = v["lang"].as_str().unwrap_or("");
        n += 1;
        match sotto_detect::langid::detect(text) {
            Some(l) if l.code() == gold => right += 1,
            None => {
                none += 1;
                if std::env::var_os("SHOWNONE").is_some() {
                    eprintln!("{gold} NONE: {text}");
                }
            }
            Some(l) => {
                wrong += 1;
                if std::env::var_os("SHOW").is_some() {
                    eprintln!("{gold} -> {l}: {text}");
                }
            }
        }
    }
    println!("n={n} right={right} none={none} wrong={wrong}");
    Ok(())
}
