//! One function per subcommand: parse flags into library types, call, print.

use crate::app::App;
use crate::cli::*;
use crate::config::Config;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sotto_core::clock::format_rfc3339;
use sotto_core::{
    CaseId, Channel, Direction, InteractionId, Lang, LegalBasis, ProcessingMode, SubjectId,
};
use sotto_store::InteractionFilter;
use sotto_vault::{AudioInput, ExportFormat, Identifier, IngestRequest, TranscriptInput};
use std::io::Write;
use std::process::ExitCode;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let cfg = Config::load(cli.global.config.as_deref(), cli.global.data_dir.as_deref())?;
    match cli.command {
        Command::Demo(a) => crate::demo::run(cfg, a).await,
        Command::Loadgen(a) => crate::loadgen::run(a).await,
        Command::Models(c) => crate::models::run(c, cfg.models_dir.clone()).await,
        Command::Bench(BenchCommand::Whisper(a)) => crate::bench_whisper::run(a).await,
        Command::Init(a) => init(cfg, a).await,
        Command::Ingest(a) => ingest(cfg, a).await,
        Command::List(a) => list(cfg, a).await,
        Command::Show(a) => show(cfg, a).await,
        Command::Export(a) => export(cfg, a).await,
        Command::Forget(a) => forget(cfg, a).await,
        Command::Redact(a) => redact(a),
        Command::Serve(a) => crate::serve::run(cfg, a).await,
        Command::Tenant(c) => tenant(cfg, c).await,
        Command::Keys(c) => keys(cfg, c).await,
        Command::Audit(c) => audit(cfg, c).await,
        Command::User(c) => crate::admin::user(cfg, c).await,
        Command::Token(c) => crate::admin::token(cfg, c).await,
        Command::Allowlist(c) => crate::admin::allowlist(cfg, c).await,
        Command::Bench(BenchCommand::Login { logins }) => crate::admin::bench_login(logins).await,
        Command::Retention(c) => crate::policy_cmd::retention(cfg, c).await,
        Command::Case(c) => crate::policy_cmd::case(cfg, c).await,
        Command::Policy(c) => crate::policy_cmd::policy(cfg, c).await,
        Command::Hold(c) => crate::policy_cmd::hold(cfg, c).await,
        Command::Bench(BenchCommand::Retention {
            interactions,
            subjects,
            work_dir,
        }) => crate::policy_cmd::bench_retention(cfg, interactions, subjects, work_dir).await,
        Command::Bench(BenchCommand::Audit { entries }) => {
            let r = sotto_audit::bench(entries).await?;
            println!("{r}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Vault {
            interactions,
            subject_interactions,
            work_dir,
        }) => crate::bench::vault(interactions, subject_interactions, work_dir).await,
    }
}

async fn init(cfg: Config, a: InitArgs) -> Result<ExitCode> {
    let (app, created) = App::init(cfg).await?;
    if let Some(t) = a.tenant {
        let id = app.tenant(Some(&t))?;
        app.vault
            .put_tenant(&id, &t, ProcessingMode::Anonymise)
            .await?;
    }
    println!("data directory: {}", app.cfg.data_dir.display());
    match (&app.cfg.master_key, created) {
        (crate::config::MasterKeySource::File(p), true) => {
            println!(
                "master key:     {} (new, mode 0600) — keep a copy apart from data backups",
                p.display()
            )
        }
        (crate::config::MasterKeySource::File(p), false) => {
            println!("master key:     {} (existing)", p.display())
        }
        (crate::config::MasterKeySource::Env(_), _) => {
            println!("master key:     from SOTTO_MASTER_KEY")
        }
    }
    println!("default tenant: {}", app.cfg.default_tenant);
    Ok(ExitCode::SUCCESS)
}

/// Turns `--phone/--email/--customer-id/--subject` into a subject id.
pub async fn resolve(
    app: &App,
    tenant: &sotto_core::TenantId,
    who: &SubjectSelector,
) -> Result<SubjectId> {
    if let Some(s) = &who.subject {
        return s
            .parse::<SubjectId>()
            .map_err(|_| anyhow::anyhow!("--subject is not a valid subject id"));
    }
    let ident = if let Some(p) = &who.phone {
        Identifier::phone(p, &app.cfg.default_region)?
    } else if let Some(e) = &who.email {
        Identifier::email(e)?
    } else if let Some(c) = &who.customer_id {
        Identifier::customer_id(c)?
    } else {
        bail!("name the subject with --phone, --email, --customer-id or --subject");
    };
    Ok(app.vault.require_subject(tenant, &ident).await?)
}

async fn ingest(cfg: Config, a: IngestArgs) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    let tenant = app.tenant(a.tenant.as_deref())?;
    app.vault.tenant(&tenant).await?;
    // Validate everything before anything is written.
    let mut identifiers = Vec::new();
    if let Some(p) = &a.caller {
        identifiers.push(Identifier::phone(p, &app.cfg.default_region).context("--caller")?);
    }
    if let Some(e) = &a.email {
        identifiers.push(Identifier::email(e).context("--email")?);
    }
    if let Some(c) = &a.customer_id {
        identifiers.push(Identifier::customer_id(c).context("--customer-id")?);
    }
    let lang = a.lang.as_deref().map(str::parse::<Lang>).transpose()?;
    let case_id = a
        .case_id
        .as_deref()
        .map(|c| c.parse::<CaseId>())
        .transpose()
        .map_err(|_| anyhow::anyhow!("--case is not a valid case id"))?;
    let started_ms = a.started.as_deref().map(parse_time).transpose()?;
    let wav_bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let wav = sotto_audio::decode_wav(&wav_bytes)
        .with_context(|| format!("{} is not a usable recording", a.file.display()))?;
    let transcript = match &a.transcript {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(TranscriptInput::from_json(&bytes).with_context(|| format!("{}", p.display()))?)
        }
        None => None,
    };
    let receipt = app
        .vault
        .ingest(IngestRequest {
            tenant,
            channel: match a.channel {
                ChannelArg::Call => Channel::Call,
                ChannelArg::Voicemail => Channel::Voicemail,
            },
            direction: match a.direction {
                DirectionArg::Inbound => Direction::Inbound,
                DirectionArg::Outbound => Direction::Outbound,
            },
            started_ms,
            identifiers,
            subject: None,
            agent: a.agent,
            case_id,
            lang,
            audio: Some(AudioInput { wav }),
            transcript,
            recording_basis: a.recording_basis.map(basis),
            basis_source: "cli".into(),
        })
        .await?;
    println!("{}", serde_json::to_string_pretty(&receipt)?);
    Ok(ExitCode::SUCCESS)
}

pub fn basis(b: BasisArg) -> LegalBasis {
    match b {
        BasisArg::Consent => LegalBasis::Consent,
        BasisArg::Contract => LegalBasis::Contract,
        BasisArg::LegalObligation => LegalBasis::LegalObligation,
        BasisArg::LegitimateInterest => LegalBasis::LegitimateInterest,
    }
}

fn parse_time(s: &str) -> Result<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            anyhow::anyhow!("--started must be an RFC 3339 time like 2026-11-22T10:00:00Z")
        })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

async fn list(cfg: Config, a: ListArgs) -> Result<ExitCode> {
    let app = App::open(cfg).await?;
    let tenant = app.tenant(a.tenant.as_deref())?;
    let subject = match &a.phone {
        Some(p) => Some(
            resolve(
                &app,
                &tenant,
                &SubjectSelector {
                    phone: Some(p.clone()),
                    ..Default::default()
                },
            )
            .await?,
        ),
        None => None,
    };
    let rows = app
        .vault
        .list_interactions(
            &tenant,
            &InteractionFilter {
                subject,
                limit: Some(a.limit),
                ..Default::default()
            },
        )
        .await?;
    print_summaries(&rows, a.json)?;
    Ok(ExitCode::SUCCESS)
}

pub fn print_summaries(rows: &[sotto_vault::InteractionSummary], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        for r in rows {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:<36}  {:<9} {:<20} {:>6}  {:<5}  removed/found",
        "interaction", "subject", "channel", "started", "secs", "audio"
    )?;
    for r in rows {
        let red: Vec<String> = r
            .redactions
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        writeln!(
            out,
            "{:<36}  {:<36}  {:<9} {:<20} {:>6.1}  {:<5}  {}",
            r.id.to_string(),
            r.subject.to_string(),
            r.channel.as_str(),
            format_rfc3339(r.started_ms)
                .chars()
                .take(19)
                .collect::<String>(),
            (r.ended_ms - r.started_ms) as f64 / 1000.0,
            if r.has_audio { "yes" } else { "no" },
            red.join(" ")
        )?;
    }
    writeln!(out, "{} interaction(s)", rows.len())?;
    Ok(())
}

async fn show(cfg: Config, a: ShowArgs) -> Result<ExitCode> {
    let app = App::open(cfg).await?;
    let tenant = app.tenant(a.tenant.as_deref())?;
    let id: InteractionId = a
        .interaction
        .parse()
        .map_err(|_| anyhow::anyhow!("not a valid interaction id"))?;
    let view = app.vault.read_interaction(&tenant, id, "cli").await?;
    print_transcript(&view);
    Ok(ExitCode::SUCCESS)
}

pub fn print_transcript(view: &sotto_vault::InteractionView) {
    println!(
        "interaction {}  {} {}  {}  caller {}",
        view.summary.id,
        view.summary.channel,
        view.summary.direction,
        format_rfc3339(view.summary.started_ms),
        view.meta.caller.as_deref().unwrap_or("(withheld)")
    );
    for s in &view.segments {
        println!(
            "  [{:>6.1}s] {:<6} {:<8} {}",
            s.start_ms as f64 / 1000.0,
            s.speaker.as_str(),
            s.kind.as_str(),
            s.text.expose()
        );
    }
}

async fn export(cfg: Config, a: ExportArgs) -> Result<ExitCode> {
    let app = App::open(cfg).await?;
    let tenant = app.tenant(a.tenant.as_deref())?;
    let subject = resolve(&app, &tenant, &a.who).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} exporting {pos}/{len} interactions {wide_bar} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let data = app
        .vault
        .collect_export(&tenant, subject, &a.actor, &progress)
        .await?;
    bar.finish_and_clear();
    let format = match a.format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Xlsx => ExportFormat::Xlsx,
    };
    let summary = app
        .vault
        .write_export(data, format, &a.out, a.with_audio, &a.actor)
        .await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

async fn forget(cfg: Config, a: ForgetArgs) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    let tenant = app.tenant(a.tenant.as_deref())?;
    let subject = resolve(&app, &tenant, &a.who).await?;
    let r = app.vault.forget(&tenant, subject, &a.actor).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_receipt(&r);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_receipt(r: &sotto_vault::ErasureReceipt) {
    println!("erasure receipt {}", r.receipt);
    println!(
        "  tenant {}  subject {}  at {}  by {}",
        r.tenant,
        r.subject,
        format_rfc3339(r.at_ms),
        r.actor
    );
    println!(
        "  erased: {} interactions, {} transcript segments, {} recordings ({} blobs), {} consents, {} index entries",
        r.interactions_erased, r.segments_erased, r.recordings_erased, r.blobs_deleted, r.consents_erased, r.index_entries_erased
    );
    if r.key_erased {
        println!("  subject key destroyed: every remaining copy of this subject's data (backups included) is unreadable");
    }
    for h in &r.held {
        println!(
            "  kept under legal hold ({}): interaction {} — {} (GDPR Art. 17(3)(b)){}",
            h.scope,
            h.interaction,
            h.reason,
            h.until_ms
                .map(|u| format!(", until {}", format_rfc3339(u)))
                .unwrap_or_default()
        );
    }
    if !r.held.is_empty() {
        println!("  the subject is restricted (GDPR Art. 18) until the holds end");
    }
}

fn redact(a: RedactArgs) -> Result<ExitCode> {
    let lang = match a.lang.as_str() {
        "auto" => None,
        l => Some(l.parse::<Lang>()?),
    };
    let det = sotto_detect::Detector::new();
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let policy = sotto_detect::policy::Policy::redact_all();
    match a.format {
        RedactFormat::Jsonl => sotto_detect::cli::run_jsonl(&det, stdin, stdout, lang, &policy)?,
        RedactFormat::Text => sotto_detect::cli::run_text(&det, stdin, stdout, lang, &policy)?,
    };
    Ok(ExitCode::SUCCESS)
}

async fn tenant(cfg: Config, c: TenantCommand) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    match c {
        TenantCommand::Add { id, name, mode } => {
            let tid = app.tenant(Some(&id))?;
            let mode: ProcessingMode = mode.parse()?;
            app.vault
                .put_tenant(&tid, name.as_deref().unwrap_or(&id), mode)
                .await?;
            println!("tenant {tid} ({mode})");
        }
        TenantCommand::List => {
            for t in app.vault.store().list_tenants().await? {
                println!("{:<24} {:<10} {}", t.id.as_str(), t.mode.as_str(), t.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn keys(cfg: Config, c: KeysCommand) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    match c {
        KeysCommand::RotateMaster { new_key_file } => {
            let new = sotto_keys::MasterKey::create_file(&new_key_file)
                .with_context(|| format!("cannot create {}", new_key_file.display()))?;
            let r = app.vault.keys().rotate_master_key(&new).await?;
            println!(
                "re-wrapped {} tenant key(s) under the new master key {} ({}). Point keys.master_key_file \
                 (or SOTTO_MASTER_KEY_FILE) at it now; the old key no longer opens this store.",
                r.rewrapped,
                new.fingerprint(),
                new_key_file.display()
            );
        }
        KeysCommand::RotateTenant { tenant } => {
            let t = app.tenant(tenant.as_deref())?;
            app.vault.tenant(&t).await?;
            let r = app.vault.keys().rotate_tenant_key(&t).await?;
            println!(
                "tenant {t}: new tenant key, {} subject key(s) re-wrapped; no data re-encrypted",
                r.rewrapped
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(cfg: Config, c: AuditCommand) -> Result<ExitCode> {
    let app = App::open(cfg).await?;
    let log = app.vault.audit();
    match c {
        AuditCommand::Verify { checkpoint, json } => {
            let kept = match &checkpoint {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    Some(
                        sotto_audit::SignedCheckpoint::parse(&text)
                            .with_context(|| format!("{} is not a checkpoint", p.display()))?,
                    )
                }
                None => None,
            };
            let report = log.verify(kept.as_ref()).await?;
            // Verifying is itself an audited act. A damaged log refuses appends (and the report
            // says why), so only a clean verification is recorded.
            if report.problems.is_empty() {
                let t = app.cfg.default_tenant.clone();
                app.vault
                    .record(
                        &t,
                        "cli",
                        sotto_audit::Action::AuditVerify,
                        None,
                        None,
                        sotto_audit::Outcome::Ok,
                    )
                    .await?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
            if let Some(first) = report.problems.first() {
                anyhow::bail!("audit log verification failed: {first}");
            }
        }
        AuditCommand::Checkpoint { out } => {
            let cp = log.checkpoint().await?;
            print!("{}", cp.text);
            println!("verifier key: {}", log.verifier());
            if let Some(p) = out {
                std::fs::write(&p, &cp.text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
        }
        AuditCommand::Log {
            tenant,
            subject,
            actor,
            limit,
        } => {
            let t = app.tenant(tenant.as_deref())?;
            let subject = subject
                .as_deref()
                .map(|s| s.parse::<SubjectId>())
                .transpose()
                .map_err(|_| anyhow::anyhow!("--subject is not a valid subject id"))?;
            let q = sotto_audit::Query {
                subject,
                actor,
                limit: Some(limit),
                ..Default::default()
            };
            for r in log.query(&t, &q).await? {
                let e = &r.entry;
                println!(
                    "{:>8}  {}  {:<18} {:<8} {:<20} subject={} object={}",
                    r.seq,
                    format_rfc3339(e.at_ms),
                    e.action.as_str(),
                    e.outcome.as_str(),
                    e.actor,
                    e.subject
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    e.object.as_deref().unwrap_or("-"),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
