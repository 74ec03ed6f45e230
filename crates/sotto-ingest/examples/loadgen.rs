//! `cargo run --release -p sotto-ingest --example loadgen -- PROTOCOL CALLS SECONDS [RAMP]`:
//! the same load as `sotto loadgen`, without building the whole binary.
#![allow(clippy::print_stdout)]

use sotto_ingest::loadgen::{run, LoadOptions};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let protocol = a
        .get(1)
        .map_or("native", String::as_str)
        .parse()
        .unwrap_or(sotto_ingest::loadgen::Protocol::Native);
    let calls = a.get(2).and_then(|x| x.parse().ok()).unwrap_or(10);
    let seconds = a.get(3).and_then(|x| x.parse().ok()).unwrap_or(30);
    let ramp = a.get(4).and_then(|x| x.parse().ok()).unwrap_or(10);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    let opts = LoadOptions {
        protocol,
        calls,
        seconds,
        ramp_seconds: ramp,
        work_dir: std::env::temp_dir(),
        keep: false,
        verify_max: 0,
        archive: Default::default(),
    };
    match rt.block_on(run(opts)) {
        Ok(r) => println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default()),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}
