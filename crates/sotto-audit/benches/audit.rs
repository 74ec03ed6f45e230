//! `cargo bench -p sotto-audit`: append_batch of 100k entries, verification of 1M entries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sotto_audit::{sample_entry, AuditLog, AuditOptions, CheckpointSigner, Entry};
use sotto_core::{SubjectId, TenantId};
use std::time::Duration;

fn entries(start: u64, n: u64, subjects: &[SubjectId]) -> Vec<Entry> {
    let t = TenantId::default_tenant();
    (start..start + n)
        .map(|i| sample_entry(i, &t, subjects[(i % subjects.len() as u64) as usize]))
        .collect()
}

fn opts() -> AuditOptions {
    AuditOptions {
        origin: Some("sotto.local/audit/bench".into()),
        checkpoint_every: 0,
        trusted: Vec::new(),
    }
}

fn bench_append(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let subjects: Vec<SubjectId> = (0..1000).map(|_| SubjectId::new()).collect();
    let dir = tempfile::tempdir().unwrap();
    let log = rt.block_on(async {
        let s = CheckpointSigner::generate("sotto.local/audit/bench").unwrap();
        AuditLog::open_with(&dir.path().join("audit.db"), s, opts())
            .await
            .unwrap()
    });
    const N: u64 = 100_000;
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("append_batch_100k", |b| {
        b.iter_batched(
            || entries(0, N, &subjects),
            |batch| rt.block_on(log.append_batch(batch)).unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let subjects: Vec<SubjectId> = (0..1000).map(|_| SubjectId::new()).collect();
    let dir = tempfile::tempdir().unwrap();
    const N: u64 = 1_000_000;
    let (log, cp) = rt.block_on(async {
        let s = CheckpointSigner::generate("sotto.local/audit/bench").unwrap();
        let log = AuditLog::open_with(&dir.path().join("audit.db"), s, opts())
            .await
            .unwrap();
        let mut done = 0;
        while done < N {
            log.append_batch(entries(done, 100_000, &subjects))
                .await
                .unwrap();
            done += 100_000;
        }
        let cp = log.checkpoint().await.unwrap();
        (log, cp)
    });
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));
    g.bench_function("verify_1m", |b| {
        b.iter(|| {
            let r = rt.block_on(log.verify(Some(&cp))).unwrap();
            assert!(r.is_ok());
        })
    });
    g.finish();
}

criterion_group!(benches, bench_append, bench_verify);
criterion_main!(benches);
