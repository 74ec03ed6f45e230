//! Runs the detector over a labelled JSONL corpus and writes predictions in the
//! `sotto redact --format jsonl` format, ready for `score.py`:
//!
//! ```text
//! cargo run -p sotto-detect --release --example eval -- /work/shared/eval/dev.jsonl /tmp/pred.jsonl
//! python3 /work/shared/eval/score.py /work/shared/eval/dev.jsonl /tmp/pred.jsonl
//! ```
//! Optional third argument `--auto` ignores the gold `lang` (tests language detection).

use sotto_detect::{run_jsonl, Detector, Policy};
use std::io::{BufReader, BufWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input = args
        .first()
        .map(String::as_str)
        .unwrap_or("/work/shared/eval/dev.jsonl");
    let output = args.get(1).map(String::as_str).unwrap_or("pred.jsonl");
    let auto = args.iter().any(|a| a == "--auto");
    let det = Detector::new();
    let r = BufReader::new(std::fs::File::open(input)?);
    let w = BufWriter::new(std::fs::File::create(output)?);
    let t = std::time::Instant::now();
    let st = if auto {
        // strip the lang field by re-encoding each line without it
        let mut buf = Vec::new();
        for line in std::io::BufRead::lines(r) {
            let line = line?;
            if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&line) {
                if let Some(o) = v.as_object_mut() {
                    o.remove("lang");
                }
                buf.extend_from_slice(v.to_string().as_bytes());
                buf.push(b'\n');
            }
        }
        run_jsonl(&det, &buf[..], w, None, &Policy::redact_all())?
    } else {
        run_jsonl(&det, r, w, None, &Policy::redact_all())?
    };
    eprintln!(
        "{} lines, {} spans, {} errors in {:.1} ms -> {output}",
        st.lines,
        st.spans,
        st.errors,
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
