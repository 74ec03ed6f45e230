//! Writes generated call-transcript lines as `sotto redact --format jsonl` input to stdout, so the
//! real CLI can be measured on a large file:
//!
//! ```text
//! cargo run -p sotto-detect --release --example gen_jsonl -- 100 given > /tmp/gen-given.jsonl
//! cargo run -p sotto-detect --release --example gen_jsonl -- 100 nolang > /tmp/gen-nolang.jsonl
//! /usr/bin/time -v sotto redact --format jsonl --lang auto < /tmp/gen-nolang.jsonl > /dev/null
//! ```
//! `MB` (2^20 bytes, default 100): the size of the output. `given`: every line carries its
//! `lang`; `nolang`: no `lang` field, so the `--lang` argument decides (a code, or `auto`).
//! Input: `benches/gen`, `Mix::Calls`, seed 7 (the lines of `throughput -- MB jsonl`).

#[path = "../benches/gen/mod.rs"]
mod gen;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mb: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(100);
    let with_lang = args.get(1).is_none_or(|s| s != "nolang");
    let mut g = gen::Gen::new(7, gen::Mix::Calls);
    let mut left = mb << 20;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut n = 0u64;
    while left > 0 {
        let (t, l) = g.line();
        n += 1;
        let v = if with_lang {
            serde_json::json!({"id": format!("g-{n}"), "text": t, "lang": l.code()})
        } else {
            serde_json::json!({"id": format!("g-{n}"), "text": t})
        };
        let s = v.to_string();
        left = left.saturating_sub(s.len() + 1);
        out.write_all(s.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
