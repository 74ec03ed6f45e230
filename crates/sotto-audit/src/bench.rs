//! A self-contained benchmark `sotto bench audit` can run: append, checkpoint, prove, verify.

use crate::entry::{Action, Entry, Outcome};
use crate::error::AuditError;
use crate::log::{AuditLog, AuditOptions};
use crate::merkle::{verify_consistency, verify_inclusion};
use crate::note::CheckpointSigner;
use serde::Serialize;
use sotto_core::{SubjectId, TenantId};
use std::fmt;
use std::time::Instant;

/// Numbers from [`bench`].
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub entries: u64,
    pub batch_size: u64,
    pub append_secs: f64,
    pub append_per_sec: f64,
    /// Mean time of single-entry appends (each its own durable transaction).
    pub single_append_us: f64,
    pub checkpoint_ms: f64,
    pub inclusion_proof_us: f64,
    pub consistency_proof_us: f64,
    pub verify_secs: f64,
    pub verify_per_sec: f64,
    /// CPU seconds (user + system, all threads) spent appending and verifying: the measure
    /// that holds when other work shares the machine. `None` where /proc is not available.
    pub append_cpu_secs: Option<f64>,
    pub verify_cpu_secs: Option<f64>,
    pub verified_ok: bool,
    pub db_bytes: u64,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "audit log benchmark, {} entries", self.entries)?;
        writeln!(
            f,
            "  append_batch ({} per batch): {:.2} s, {:.0} entries/s",
            self.batch_size, self.append_secs, self.append_per_sec
        )?;
        writeln!(
            f,
            "  single append (durable):   {:.0} µs each",
            self.single_append_us
        )?;
        writeln!(
            f,
            "  checkpoint (sign+store):   {:.2} ms",
            self.checkpoint_ms
        )?;
        writeln!(
            f,
            "  inclusion proof:           {:.0} µs",
            self.inclusion_proof_us
        )?;
        writeln!(
            f,
            "  consistency proof:         {:.0} µs",
            self.consistency_proof_us
        )?;
        writeln!(
            f,
            "  verify:                    {:.2} s, {:.0} entries/s ({})",
            self.verify_secs,
            self.verify_per_sec,
            if self.verified_ok { "OK" } else { "PROBLEMS" }
        )?;
        if let (Some(a), Some(v)) = (self.append_cpu_secs, self.verify_cpu_secs) {
            writeln!(
                f,
                "  CPU time (all threads):    append {:.2} s ({:.0} entries per CPU-second), verify {:.2} s ({:.0} per CPU-second)",
                a,
                self.entries as f64 / a.max(1e-9),
                v,
                self.entries as f64 / v.max(1e-9)
            )?;
        }
        write!(
            f,
            "  database:                  {:.1} MiB ({:.0} bytes/entry)",
            self.db_bytes as f64 / (1024.0 * 1024.0),
            self.db_bytes as f64 / self.entries.max(1) as f64
        )
    }
}

/// A synthetic entry shaped like a real one (ids only).
pub fn sample_entry(i: u64, tenant: &TenantId, subject: SubjectId) -> Entry {
    const ACTIONS: [Action; 5] = [
        Action::TranscriptRead,
        Action::RecordingPlay,
        Action::Ingest,
        Action::Export,
        Action::RecordingDownload,
    ];
    Entry {
        tenant: tenant.clone(),
        at_ms: 1_767_225_600_000 + i as i64 * 7,
        actor: format!("user:agent-{}", i % 97),
        action: ACTIONS[(i % 5) as usize],
        subject: Some(subject),
        object: Some(format!("interaction:{}", SubjectId::new())),
        from: Some(format!("10.0.{}.{}", (i / 256) % 256, i % 256)),
        purpose: (i % 10 == 0).then(|| "TICKET-4711".to_owned()),
        outcome: if i % 50 == 0 {
            Outcome::Denied
        } else {
            Outcome::Ok
        },
    }
}

/// User + system CPU seconds of this process so far, from /proc/self/stat (Linux; clock ticks
/// of 10 ms).
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut it = rest.split(' ').skip(11);
    let utime: f64 = it.next()?.parse().ok()?;
    let stime: f64 = it.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Builds an `n`-entry log in a temporary directory (removed afterwards) and times it.
pub async fn bench(n: u64) -> Result<BenchReport, AuditError> {
    let dir = std::env::temp_dir().join(format!(
        "sotto-audit-bench-{}",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    std::fs::create_dir_all(&dir)?;
    let result = bench_in(&dir, n).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench_in(dir: &std::path::Path, n: u64) -> Result<BenchReport, AuditError> {
    let path = dir.join("audit.db");
    let signer = CheckpointSigner::generate("sotto.local/audit/bench")?;
    let opts = AuditOptions {
        origin: Some("sotto.local/audit/bench".into()),
        checkpoint_every: 0,
        trusted: Vec::new(),
    };
    let log = AuditLog::open_with(&path, signer, opts).await?;
    let tenant = TenantId::default_tenant();
    let batch_size = 100_000u64.min(n.max(1));
    let subjects: Vec<SubjectId> = (0..1000).map(|_| SubjectId::new()).collect();

    let mut append_secs = 0.0;
    let mut append_cpu = Some(0.0);
    let mut done = 0u64;
    while done < n {
        let take = batch_size.min(n - done);
        let batch: Vec<Entry> = (done..done + take)
            .map(|i| sample_entry(i, &tenant, subjects[(i % 1000) as usize]))
            .collect();
        let t = Instant::now();
        let c0 = cpu_secs();
        log.append_batch(batch).await?;
        append_secs += secs(t);
        append_cpu = match (append_cpu, c0, cpu_secs()) {
            (Some(sum), Some(a), Some(b)) => Some(sum + (b - a)),
            _ => None,
        };
        done += take;
    }

    let singles = 20u64;
    let t = Instant::now();
    for i in 0..singles {
        log.append(sample_entry(n + i, &tenant, subjects[0]))
            .await?;
    }
    let single_append_us = secs(t) * 1e6 / singles as f64;
    let size = n + singles;

    let t = Instant::now();
    let cp = log.checkpoint().await?;
    let checkpoint_ms = secs(t) * 1e3;

    let seq = size / 3;
    let t = Instant::now();
    let proof = log.inclusion_proof(seq, size).await?;
    let inclusion_proof_us = secs(t) * 1e6;
    let rec = log
        .get(seq)
        .await?
        .ok_or_else(|| AuditError::Damaged(format!("entry {seq} is missing")))?;
    let old = size / 2 + 1;
    let old_root = log.root_at(old).await?;
    let t = Instant::now();
    let cproof = log.consistency_proof(old, size).await?;
    let consistency_proof_us = secs(t) * 1e6;
    let proofs_ok = verify_inclusion(&rec.leaf_hash, seq, size, &proof, &cp.root)
        && verify_consistency(old, &old_root, size, &cp.root, &cproof);

    let t = Instant::now();
    let c0 = cpu_secs();
    let report = log.verify(Some(&cp)).await?;
    let verify_secs = secs(t);
    let verify_cpu = c0.zip(cpu_secs()).map(|(a, b)| b - a);

    let db_bytes = ["audit.db", "audit.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    Ok(BenchReport {
        entries: n,
        batch_size,
        append_secs,
        append_per_sec: n as f64 / append_secs.max(1e-9),
        single_append_us,
        checkpoint_ms,
        inclusion_proof_us,
        consistency_proof_us,
        verify_secs,
        verify_per_sec: report.entries as f64 / verify_secs.max(1e-9),
        append_cpu_secs: append_cpu,
        verify_cpu_secs: verify_cpu,
        verified_ok: report.is_ok() && proofs_ok && report.entries == size,
        db_bytes,
    })
}
