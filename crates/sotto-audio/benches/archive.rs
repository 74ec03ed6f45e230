//! Archive encoding speed and size: 60 s of 8 kHz μ-law, lossless (zstd) and Opus.
//!
//! Input: the demo calls in `crates/sotto/assets/demo/` (real synthetic speech, μ-law) looped
//! to 60 s; falls back to a synthetic voiced signal when they are missing.
//! Prints the compressed bit rate per zstd level once, then lets criterion time the encoder.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sotto_audio::archive::{self, ArchiveCodec};
use sotto_audio::{decode_wav, Pcm16};
use std::hint::black_box;

fn sixty_seconds_of_speech() -> (Pcm16, &'static str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sotto/assets/demo");
    let mut samples = Vec::new();
    for i in 1..=5 {
        if let Ok(bytes) = std::fs::read(format!("{dir}/call{i}.wav")) {
            if let Ok(w) = decode_wav(&bytes) {
                if w.pcm.sample_rate == 8000 && w.pcm.channels == 1 {
                    samples.extend_from_slice(&w.pcm.samples);
                }
            }
        }
    }
    let source = if samples.is_empty() {
        samples = (0..8000 * 60)
            .map(|i| {
                let t = f64::from(i) / 8000.0;
                let env = (t * 2.7).sin().abs();
                let v = env * (6000.0 * (t * 700.0).sin() + 2000.0 * (t * 2300.0).sin());
                v as i16
            })
            .collect();
        "synthetic"
    } else {
        "demo calls"
    };
    let n = 8000 * 60;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let take = (n - out.len()).min(samples.len());
        out.extend_from_slice(&samples[..take]);
    }
    // Through μ-law so the input is exactly what a PCMU source decodes to.
    let out = sotto_audio::g711::ulaw_decode_slice(&sotto_audio::g711::ulaw_encode_slice(&out));
    (Pcm16::new(8000, 1, out), source)
}

fn bench(c: &mut Criterion) {
    let (pcm, source) = sixty_seconds_of_speech();
    let secs = pcm.frames() as f64 / 8000.0;
    for level in [1, 3, 9, 19] {
        if let Ok(a) = archive::encode_with_level(&pcm, ArchiveCodec::G711UlawZstd, level) {
            let kbps = a.len() as f64 * 8.0 / secs / 1000.0;
            println!("{source}: 60 s μ-law, zstd level {level}: {} bytes = {kbps:.1} kbit/s (raw G.711 64.0)", a.len());
        }
    }
    for kbps in [16, 20, 24] {
        if let Ok(a) = archive::encode_opus(&pcm, kbps * 1000) {
            let real = a.len() as f64 * 8.0 / secs / 1000.0;
            let level = archive::decode(&a)
                .map(|d| {
                    sotto_audio::rms_dbfs(&d, 0, 60_000) - sotto_audio::rms_dbfs(&pcm, 0, 60_000)
                })
                .unwrap_or(f64::NAN);
            println!("{source}: 60 s, Opus {kbps} kbit/s: {} bytes = {real:.1} kbit/s, level change {level:+.2} dB", a.len());
        }
    }
    let mut g = c.benchmark_group("archive");
    // Throughput in bytes of G.711 input (8000 B/s of audio).
    g.throughput(Throughput::Bytes(pcm.samples.len() as u64));
    for level in [3, 9] {
        g.bench_function(format!("encode_60s_8k_ulaw_level{level}"), |b| {
            b.iter_batched(
                || (),
                |()| archive::encode_with_level(black_box(&pcm), ArchiveCodec::G711UlawZstd, level),
                BatchSize::SmallInput,
            )
        });
    }
    g.bench_function("encode_60s_8k_opus20", |b| {
        b.iter(|| archive::encode_opus(black_box(&pcm), 20_000))
    });
    let o = archive::encode_opus(&pcm, 20_000).unwrap_or_default();
    g.bench_function("decode_60s_8k_opus20", |b| {
        b.iter(|| archive::decode(black_box(&o)))
    });
    let a = archive::encode(&pcm, ArchiveCodec::G711UlawZstd).unwrap_or_default();
    g.bench_function("decode_60s_8k_ulaw", |b| {
        b.iter(|| archive::decode(black_box(&a)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
