//! `sotto demo`: the main job on embedded defaults. Creates (or reuses) the data directory,
//! ingests the bundled sample calls — real speech in several languages with names, numbers, a
//! card number and a health statement — lists them, shows a redacted transcript, exports one
//! caller, forgets another and proves the forgotten data is gone.

use crate::app::App;
use crate::commands::{print_receipt, print_summaries, print_transcript};
use crate::config::Config;
use anyhow::{Context, Result};
use serde::Deserialize;
use sotto_core::{Channel, Direction, IdentifierKind, Lang, LegalBasis, ProcessingMode};
use sotto_store::InteractionFilter;
use sotto_vault::{
    AudioInput, ExportFormat, Identifier, IngestRequest, TranscriptInput, VaultError,
};
use std::process::ExitCode;

struct Sample {
    name: &'static str,
    wav: &'static [u8],
    json: &'static [u8],
}

macro_rules! sample {
    ($n:literal) => {
        Sample {
            name: $n,
            wav: include_bytes!(concat!("../assets/demo/", $n, ".wav")),
            json: include_bytes!(concat!("../assets/demo/", $n, ".json")),
        }
    };
}

const SAMPLES: &[Sample] = &[
    sample!("call1"),
    sample!("call2"),
    sample!("call3"),
    sample!("call4"),
    sample!("call5"),
];

/// The envelope fields of a sample's JSON beside the transcript.
#[derive(Deserialize)]
struct SampleMeta {
    lang: Option<String>,
    caller: Option<String>,
    agent: Option<String>,
}

pub async fn run(cfg: Config, args: crate::cli::DemoArgs) -> Result<ExitCode> {
    println!("Sotto demo — data directory {}\n", cfg.data_dir.display());
    let (app, created) = App::init(cfg).await?;
    if created {
        println!("created a new master key (mode 0600) and the default tenant");
    }
    let tenant = app.cfg.default_tenant.clone();
    // The demo keeps recordings: its callers consented (the samples say so).
    app.vault
        .put_tenant(&tenant, "Demo contact centre", ProcessingMode::Record)
        .await?;

    println!(
        "1. Ingesting {} sample calls (speech made with espeak-ng, transcripts with word timings)",
        SAMPLES.len()
    );
    let mut callers = Vec::new();
    for s in SAMPLES {
        let meta: SampleMeta =
            serde_json::from_slice(s.json).with_context(|| format!("sample {}", s.name))?;
        let transcript = TranscriptInput::from_json(s.json)?;
        let wav = sotto_audio::decode_wav(s.wav).with_context(|| format!("sample {}", s.name))?;
        let mut identifiers = Vec::new();
        if let Some(c) = &meta.caller {
            identifiers.push(Identifier::phone(c, &app.cfg.default_region)?);
        }
        let lang = meta.lang.as_deref().map(str::parse::<Lang>).transpose()?;
        let r = app
            .vault
            .ingest(IngestRequest {
                tenant: tenant.clone(),
                channel: Channel::Call,
                direction: Direction::Inbound,
                started_ms: None,
                identifiers: identifiers.clone(),
                subject: None,
                agent: meta.agent.clone(),
                case_id: None,
                lang,
                audio: Some(AudioInput { wav }),
                transcript: Some(transcript),
                recording_basis: Some(LegalBasis::Consent),
                basis_source: "demo-ivr".into(),
            })
            .await?;
        let removed: Vec<String> = r
            .redactions
            .iter()
            .filter(|(k, _)| k.category() != sotto_core::Category::Personal)
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        println!(
            "   {} ({}): {} segments, {:.1} s audio, {} ms silenced, removed before storage: {}",
            s.name,
            meta.lang.as_deref().unwrap_or("auto"),
            r.segments,
            r.duration_ms as f64 / 1000.0,
            r.silenced_ms,
            if removed.is_empty() {
                "nothing".to_string()
            } else {
                removed.join(", ")
            }
        );
        if let Some(id) = identifiers
            .into_iter()
            .find(|i| i.kind == IdentifierKind::Phone)
        {
            callers.push((s.name, id, r.interaction));
        }
    }

    println!("\n2. What is stored (ids, times and counts are all that is in clear):");
    let rows = app
        .vault
        .list_interactions(
            &tenant,
            &InteractionFilter {
                limit: Some(20),
                ..Default::default()
            },
        )
        .await?;
    print_summaries(&rows, false)?;

    // Show the call where the most was removed before storage.
    if let Some((name, _, interaction)) = callers.get(2).or(callers.first()) {
        println!("\n3. The stored transcript of {name}, decrypted with its caller's key (the card data was never stored):");
        let view = app
            .vault
            .read_interaction(&tenant, *interaction, "demo")
            .await?;
        print_transcript(&view);
    }

    std::fs::create_dir_all(&args.export_dir)
        .with_context(|| format!("cannot create {}", args.export_dir.display()))?;
    if let Some((name, ident, _)) = callers.first() {
        let subject = app.vault.require_subject(&tenant, ident).await?;
        println!("\n4. Subject access export for the caller of {name} (subject {subject}):");
        for (fmt, ext) in [(ExportFormat::Xlsx, "xlsx"), (ExportFormat::Json, "json")] {
            let data = app
                .vault
                .collect_export(&tenant, subject, "demo", &|_, _| {})
                .await?;
            let out = args.export_dir.join(format!("subject-{subject}.{ext}"));
            let s = app
                .vault
                .write_export(data, fmt, &out, fmt == ExportFormat::Xlsx, "demo")
                .await?;
            println!(
                "   {} — {} interactions, {} segments, {} recordings{}",
                s.file.display(),
                s.interactions,
                s.segments,
                s.recordings,
                s.audio_dir
                    .map(|d| format!(" (audio in {})", d.display()))
                    .unwrap_or_default()
            );
        }
    }

    if let Some((name, ident, interaction)) = callers.get(1) {
        let subject = app.vault.require_subject(&tenant, ident).await?;
        println!("\n5. \"Forget me\" for the caller of {name} (subject {subject}):");
        let receipt = app.vault.forget(&tenant, subject, "demo").await?;
        print_receipt(&receipt);
        match app
            .vault
            .read_interaction(&tenant, *interaction, "demo")
            .await
        {
            Err(VaultError::SubjectErased(_)) | Err(VaultError::Store(_)) => {
                println!("   reading the forgotten call now fails: its rows are gone and its key is destroyed")
            }
            Err(e) => println!("   reading the forgotten call now fails: {e}"),
            Ok(_) => anyhow::bail!("the forgotten interaction is still readable"),
        }
        match app.vault.find_subject(&tenant, ident).await? {
            None => println!("   the caller's number no longer finds any subject"),
            Some(_) => anyhow::bail!("the forgotten caller is still findable"),
        }
    }

    let log = app.vault.audit();
    let cp = log.checkpoint().await?;
    let report = log.verify(None).await?;
    println!(
        "\n6. The audit log recorded every ingest, read, export and erasure above: {} entries, {}; signed checkpoint:",
        report.entries,
        if report.problems.is_empty() { "verified intact" } else { "PROBLEMS FOUND" }
    );
    for line in cp.text.lines() {
        println!("   {line}");
    }

    println!("\nWhere to look:");
    println!(
        "   {}  — SQLite metadata (ids, times, ciphertext)",
        app.cfg.database_path().display()
    );
    println!(
        "   {}  — encrypted recordings (chunked AEAD)",
        app.cfg.blob_dir().display()
    );
    println!(
        "   {}  — the key store (subject keys wrapped by tenant keys)",
        app.cfg.keystore_path().display()
    );
    println!(
        "   {}  — the audit log (Merkle tree, signed checkpoints; `sotto audit verify`)",
        app.cfg.audit_db_path().display()
    );
    println!(
        "   {}  — the exports (these are clear text: the caller's own copy)",
        args.export_dir.display()
    );
    println!("Next: `sotto list`, `sotto show <id>`, `sotto export --phone … --format xlsx --out x.xlsx`, `sotto --help`.");
    Ok(ExitCode::SUCCESS)
}
