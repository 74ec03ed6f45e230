//! `sotto bench vault`: measures the vault's hot paths on this machine and prints a table —
//! blob encryption and encrypt+write throughput, building a store of N interactions through the
//! real ingest path, blind-index lookups, subject export (JSON and Excel) and forget latency for
//! one subject among many, and peak memory. Loopback only; nothing leaves the machine.

use crate::app::App;
use crate::config::{Config, MasterKeySource};
use anyhow::{Context, Result};
use bytes::Bytes;
use sotto_core::{Channel, Direction, LegalBasis, ObjectId, Speaker, SubjectId, TenantId};
use sotto_keys::{ObjectContext, ObjectPurpose};
use sotto_vault::transcript::{SegmentInput, TranscriptInput};
use sotto_vault::{AudioInput, ExportFormat, Identifier, IngestRequest};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BATCH: usize = 2_000;

pub async fn vault(total: u32, subject_n: u32, work_dir: Option<PathBuf>) -> Result<ExitCode> {
    let total = total.max(subject_n);
    let base = work_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sotto-bench-{}", std::process::id()))
    });
    let data_dir = base.join("data");
    let cfg = Config {
        master_key: MasterKeySource::File(data_dir.join("master.key")),
        data_dir: data_dir.clone(),
        default_tenant: TenantId::default_tenant(),
        default_region: "DK".into(),
        silence_padding_ms: 150,
        server: Default::default(),
        archive: Default::default(),
        webhooks: Vec::new(),
        webhook_delivery: Default::default(),
        models_dir: base.join("models"),
        engine: crate::config::EngineChoice::Bot,
    };
    let result = run(cfg, total, subject_n, &base).await;
    let _ = std::fs::remove_dir_all(&base);
    result
}

async fn run(cfg: Config, total: u32, subject_n: u32, base: &std::path::Path) -> Result<ExitCode> {
    let (app, _) = App::init(cfg).await?;
    let tenant = app.cfg.default_tenant.clone();
    let mut rows: Vec<(String, String)> = Vec::new();
    println!(
        "sotto bench vault — {total} interactions, one subject with {subject_n}; work dir {}",
        base.display()
    );

    // 1. Cipher throughput (one core) and encrypt + atomic blob write.
    let (enc, dec) = sotto_keys::bench_stream_throughput(64 << 20);
    rows.push((
        "stream encrypt (1 core, 64 MiB)".into(),
        format!("{enc:.0} MB/s"),
    ));
    rows.push((
        "stream decrypt (1 core, 64 MiB)".into(),
        format!("{dec:.0} MB/s"),
    ));
    let first = app
        .vault
        .ingest(request(&tenant, Some(phone(0)), None, 0, false)?)
        .await?;
    let cipher = app
        .vault
        .keys()
        .subject_cipher(&tenant, first.subject)
        .await?;
    let payload: Vec<u8> = (0..(4usize << 20)).map(|i| (i * 31 % 251) as u8).collect();
    let blobs_n = 16;
    let t = Instant::now();
    for _ in 0..blobs_n {
        let ctx = ObjectContext {
            tenant: tenant.clone(),
            subject: first.subject,
            object: ObjectId::new(),
            purpose: ObjectPurpose::Recording,
        };
        let (key, _) = cipher.new_object_key(&ctx)?;
        let ct = key.stream_encryptor().encrypt_all(&payload);
        app.vault
            .blobs()
            .put(&format!("bench/{}", ctx.object), Bytes::from(ct))
            .await?;
    }
    let mbps = (blobs_n * payload.len()) as f64 / 1e6 / t.elapsed().as_secs_f64();
    rows.push((
        "blob encrypt + atomic write (16 × 4 MiB)".into(),
        format!("{mbps:.0} MB/s"),
    ));
    let _ = std::fs::remove_dir_all(app.cfg.blob_dir().join("bench"));

    // 2. Build the store through the real ingest path, in batched transactions.
    let others = total - subject_n;
    let per_subject = 10u32;
    let other_subjects = others.div_ceil(per_subject).max(1);
    let t = Instant::now();
    let mut subject_ids: Vec<Option<SubjectId>> = vec![None; other_subjects as usize + 2];
    let mut batch = Vec::with_capacity(BATCH);
    let mut done = 0u32;
    let mut target_subject = None;
    for i in 0..total {
        let is_target = i < subject_n;
        let slot = if is_target {
            1
        } else {
            2 + ((i - subject_n) % other_subjects) as usize
        };
        let known = if is_target {
            target_subject
        } else {
            subject_ids[slot]
        };
        let req = request(
            &tenant,
            if known.is_none() {
                Some(phone(slot as u32))
            } else {
                None
            },
            known,
            i,
            is_target,
        )?;
        let prepared = app.vault.prepare_ingest(req).await?;
        if known.is_none() {
            if is_target {
                target_subject = Some(prepared.subject());
            } else {
                subject_ids[slot] = Some(prepared.subject());
            }
        }
        batch.push(prepared);
        if batch.len() == BATCH || i + 1 == total {
            done += app
                .vault
                .commit_ingests(std::mem::take(&mut batch))
                .await?
                .len() as u32;
        }
    }
    let build = t.elapsed();
    rows.push((
        format!("ingest {done} interactions (detect + seal + batched insert)"),
        format!(
            "{:.1} s, {:.0} interactions/s",
            build.as_secs_f64(),
            f64::from(done) / build.as_secs_f64()
        ),
    ));
    let target = target_subject.context("no target subject")?;

    // 3. Blind-index lookups.
    let mut lat = Vec::new();
    for k in 0..2_000u32 {
        let p = phone(2 + k % other_subjects);
        let ident = Identifier::phone(&p, "DK")?;
        let t = Instant::now();
        let found = app.vault.find_subject(&tenant, &ident).await?;
        lat.push(t.elapsed());
        if found.is_none() {
            anyhow::bail!("blind index lookup missed a known subject");
        }
    }
    rows.push((
        "blind-index lookup (2,000 phones)".into(),
        percentiles(&mut lat),
    ));

    // 4. Export the target subject.
    for (fmt, ext) in [(ExportFormat::Json, "json"), (ExportFormat::Xlsx, "xlsx")] {
        let out = base.join(format!("export.{ext}"));
        let t = Instant::now();
        let data = app
            .vault
            .collect_export(&tenant, target, "bench", &|_, _| {})
            .await?;
        let s = app
            .vault
            .write_export(data, fmt, &out, false, "bench")
            .await?;
        rows.push((
            format!("export {ext}: subject with {} interactions", s.interactions),
            format!(
                "{:.0} ms ({} segments, {} KiB)",
                t.elapsed().as_secs_f64() * 1000.0,
                s.segments,
                s.bytes / 1024
            ),
        ));
    }
    let t = Instant::now();
    let data = app
        .vault
        .collect_export(&tenant, target, "bench", &|_, _| {})
        .await?;
    let s = app
        .vault
        .write_export(
            data,
            ExportFormat::Json,
            &base.join("export-audio.json"),
            true,
            "bench",
        )
        .await?;
    rows.push((
        format!("export json + {} WAV files", s.recordings),
        format!("{:.0} ms", t.elapsed().as_secs_f64() * 1000.0),
    ));

    // 5. Forget the target subject.
    let t = Instant::now();
    let r = app.vault.forget(&tenant, target, "bench").await?;
    rows.push((
        format!(
            "forget: subject with {} interactions among {done}",
            r.interactions_erased
        ),
        format!(
            "{:.0} ms ({} blobs deleted, key erased: {})",
            t.elapsed().as_secs_f64() * 1000.0,
            r.blobs_deleted,
            r.key_erased
        ),
    ));
    rows.push(("peak RSS".into(), peak_rss()));

    let w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(10);
    println!();
    for (k, v) in rows {
        println!("{k:<w$}  {v}");
    }
    Ok(ExitCode::SUCCESS)
}

fn phone(i: u32) -> String {
    format!("+45{}", 20_000_000 + i)
}

fn request(
    tenant: &TenantId,
    caller: Option<String>,
    subject: Option<SubjectId>,
    i: u32,
    audio: bool,
) -> Result<IngestRequest> {
    let names = [
        "Anna Jensen",
        "Mikkel Holm",
        "Sofie Nielsen",
        "Lars Andersen",
    ];
    let name = names[i as usize % names.len()];
    let text = [
        (
            Speaker::Bot,
            format!("Velkommen til kundeservice. Hvad kan jeg hjælpe med? Opkald {i}."),
        ),
        (
            Speaker::Caller,
            format!("Hej, jeg hedder {name} og mit nummer er 20 12 34 56."),
        ),
        (
            Speaker::Agent,
            "Tak, jeg har fundet din aftale. Er der andet?".to_string(),
        ),
    ];
    let segments = text
        .into_iter()
        .enumerate()
        .map(|(k, (speaker, text))| SegmentInput {
            speaker,
            start_ms: k as i64 * 3000,
            end_ms: k as i64 * 3000 + 2800,
            text,
            words: None,
            kind: None,
            lang: None,
        })
        .collect();
    let wav = if audio {
        // One second of a 440 Hz tone as μ-law, standing in for speech.
        let samples: Vec<i16> = (0..8000)
            .map(|n| ((n as f32 * 440.0 * std::f32::consts::TAU / 8000.0).sin() * 8000.0) as i16)
            .collect();
        let pcm = sotto_audio::Pcm16 {
            sample_rate: 8000,
            channels: 1,
            samples,
        };
        Some(AudioInput {
            wav: sotto_audio::DecodedWav {
                pcm,
                source: sotto_audio::SourceEncoding::MuLaw,
            },
        })
    } else {
        None
    };
    Ok(IngestRequest {
        tenant: tenant.clone(),
        channel: Channel::Call,
        direction: Direction::Inbound,
        started_ms: Some(1_760_000_000_000 + i64::from(i) * 60_000),
        identifiers: caller
            .map(|c| Identifier::phone(&c, "DK"))
            .transpose()?
            .into_iter()
            .collect(),
        subject,
        agent: Some("agent-7".into()),
        case_id: None,
        lang: Some(sotto_core::Lang::Da),
        audio: wav,
        transcript: Some(TranscriptInput {
            lang: None,
            segments,
        }),
        recording_basis: Some(LegalBasis::Consent),
        basis_source: "bench".into(),
    })
}

fn percentiles(lat: &mut [Duration]) -> String {
    lat.sort();
    let p = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q) as usize)
            .map(|d| d.as_secs_f64() * 1e6)
            .unwrap_or(0.0)
    };
    format!(
        "p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        p(0.5),
        p(0.99),
        p(1.0)
    )
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
