//! Criterion benchmark of the full detector over 1 MiB of generated call transcripts
//! (`benches/gen`: seven languages, the documented mix of plain talk, numbers, names, addresses,
//! e-mail and special-category terms), with each line's language given and with auto-detection.
//!
//! `cargo bench -p sotto-detect --bench detect`

mod gen;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sotto_detect::Detector;

fn bench(c: &mut Criterion) {
    let det = Detector::new();
    let lines = gen::Gen::new(42, gen::Mix::Calls).lines(1 << 20);
    let bytes: usize = lines.iter().map(|(t, _)| t.len() + 1).sum();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("calls_lang_given", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (t, l) in &lines {
                n += det.detect(t, Some(*l)).len();
            }
            n
        })
    });
    g.bench_function("calls_lang_auto", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (t, _) in &lines {
                n += det.detect(t, None).len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
