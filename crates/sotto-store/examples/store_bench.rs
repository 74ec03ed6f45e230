//! Timing of the two operations the vault depends on (prints, asserts nothing):
//! inserting 100,000 interactions (3 segments each, 1 recording on every 10th) and deleting one
//! subject's 1,000 interactions among them.
//!
//! `cargo run -p sotto-store --example store_bench [-- N_INTERACTIONS [BATCH]]`
//! (dev profile: dependencies, SQLite included, are built with opt-level 2).

use std::time::Instant;

use sotto_core::*;
use sotto_store::*;

fn bundle(t: &TenantId, subject: SubjectId, k: i64) -> InteractionBundle {
    let id = InteractionId::new();
    let segments = (0..3)
        .map(|seq| SegmentRow {
            interaction: id,
            id: SegmentId::new(),
            seq,
            speaker: Speaker::Caller,
            kind: SegmentKind::General,
            start_ms: seq * 1_000,
            end_ms: seq * 1_000 + 900,
            sealed_text: vec![0x5a; 120],
            sealed_words: Some(vec![0x33; 200]),
        })
        .collect();
    let recordings = if k % 10 == 0 {
        let rid = ObjectId::new();
        vec![RecordingRow {
            interaction: id,
            id: rid,
            blob_key: format!("t/{t}/s/{subject}/{rid}"),
            codec: "g711-ulaw-zstd".into(),
            sample_rate: 8_000,
            channels: 1,
            duration_ms: 60_000,
            size_bytes: 480_000,
            wrapped_key: vec![1; 60],
            created_ms: k,
        }]
    } else {
        Vec::new()
    };
    InteractionBundle {
        interaction: InteractionRow {
            tenant: t.clone(),
            id,
            subject,
            channel: Channel::Call,
            direction: Direction::Inbound,
            started_ms: 1_700_000_000_000 + k * 1_000,
            ended_ms: 1_700_000_000_000 + k * 1_000 + 60_000,
            case_id: None,
            created_ms: 1_700_000_000_000 + k * 1_000,
            wrapped_key: vec![2; 60],
            sealed_meta: vec![3; 150],
            redaction_counts: "{}".into(),
        },
        segments,
        recordings,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let batch: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(n as usize);
    let dir = tempfile::tempdir()?;
    // BENCH_DB=/some/new.db keeps the database for a look with the sqlite3 shell.
    let db = std::env::var_os("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let store = SqliteStore::open(&db).await?;
    let t = TenantId::new("bench")?;
    store
        .put_tenant(&TenantRow {
            id: t.clone(),
            name: "Bench".into(),
            mode: ProcessingMode::Record,
            created_ms: 0,
        })
        .await?;
    // 100 subjects with 1,000 interactions each (for n = 100,000), interleaved in time.
    let subjects_n = (n / 1_000).max(1);
    let mut subjects = Vec::new();
    for _ in 0..subjects_n {
        let s = SubjectRow {
            tenant: t.clone(),
            id: SubjectId::new(),
            state: SubjectState::Active,
            created_ms: 0,
            erased_ms: None,
        };
        store.insert_subject(&s).await?;
        subjects.push(s.id);
    }
    let bundles: Vec<InteractionBundle> = (0..n)
        .map(|k| bundle(&t, subjects[(k % subjects_n) as usize], k))
        .collect();

    let start = Instant::now();
    for chunk in bundles.chunks(batch.max(1)) {
        store.insert_interactions(chunk).await?;
    }
    let insert = start.elapsed();
    println!(
        "insert_interactions: {n} interactions ({} segments) in batches of {batch}: {:.2?} ({:.0}/s)",
        n * 3,
        insert,
        n as f64 / insert.as_secs_f64()
    );

    let wal = {
        let mut w = db.clone().into_os_string();
        w.push("-wal");
        std::path::PathBuf::from(w)
    };
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    println!("WAL after insert: {:.1} MiB", wal_size());
    if std::env::var_os("BENCH_CHECKPOINT_FIRST").is_some() {
        let start = Instant::now();
        store.checkpoint_truncate().await?;
        println!("checkpoint_truncate after insert: {:.2?}", start.elapsed());
    }

    let victim = subjects[subjects.len() / 2];
    let start = Instant::now();
    let report = store.delete_subject_content(&t, victim, &[]).await?;
    let delete = start.elapsed();
    println!(
        "delete_subject_content: {} interactions, {} segments, {} recordings of {n}: {:.2?}",
        report.interactions, report.segments, report.recordings, delete
    );

    println!("WAL after delete: {:.1} MiB", wal_size());
    let start = Instant::now();
    store.checkpoint_truncate().await?;
    println!("checkpoint_truncate: {:.2?}", start.elapsed());

    let start = Instant::now();
    let page = store
        .list_interactions(
            &t,
            &InteractionFilter {
                subject: Some(subjects[0]),
                limit: Some(50),
                ..Default::default()
            },
        )
        .await?;
    println!(
        "list_interactions(subject, limit 50): {} rows in {:.2?}",
        page.len(),
        start.elapsed()
    );
    let size = std::fs::metadata(&db)?.len();
    println!("database file: {:.1} MiB", size as f64 / 1_048_576.0);
    Ok(())
}
