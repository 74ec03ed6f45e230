//! `sotto retention …`, `sotto case …`, `sotto policy …`, `sotto hold …` and
//! `sotto bench retention` (issue 6): flags in, `sotto-policy` calls, results out.

use crate::app::App;
use crate::config::{Config, MasterKeySource};
use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use sotto_core::clock::format_rfc3339;
use sotto_core::{
    CaseId, Channel, Direction, HoldScope, InteractionId, ObjectId, ProcessingMode, SegmentId,
    SegmentKind, Speaker, SubjectId, SubjectState,
};
use sotto_detect::Detector;
use sotto_keys::{ObjectContext, ObjectPurpose};
use sotto_policy::{CaseExportFormat, HoldPreset, HoldRequest, Policies, RetentionEngine};
use sotto_store::{InteractionBundle, InteractionRow, RuleScope, SegmentRow, SubjectRow};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Delete, reduce and anonymise everything that is due now; complete an interrupted run
    Run {
        /// Report what would be done without changing data
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Pdf,
    Xlsx,
    Json,
}

#[derive(Subcommand)]
pub enum CaseCommand {
    /// Open a case (a deal) and print its id
    Open {
        /// The tenant's own reference (deal number)
        reference: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Link an interaction to a case
    Link {
        case: String,
        interaction: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Export a case's complete timeline, sealed by a SHA-256 hash in the audit log
    Export {
        case: String,
        #[arg(long, value_enum, default_value = "pdf")]
        format: FormatArg,
        /// Output file (default: case-<id>.<format>; JSON puts audio in <name>-audio/ beside it)
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Check an exported file against the hash sealed in the audit log (exit 1 if it does not match)
    Verify { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Minimal,
    Anonymise,
    Record,
}

impl From<ModeArg> for ProcessingMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Minimal => ProcessingMode::Minimal,
            ModeArg::Anonymise => ProcessingMode::Anonymise,
            ModeArg::Record => ProcessingMode::Record,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    Tenant,
    Campaign,
    Queue,
    Number,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Set the processing mode for the tenant or a campaign, queue or called number
    Set {
        #[arg(long, value_enum, default_value = "tenant")]
        scope: ScopeArg,
        /// Campaign, queue or called number (not for the tenant scope)
        #[arg(long, default_value = "")]
        key: String,
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Days until deletion (minimal, record) or anonymisation (anonymise); default per mode
        #[arg(long)]
        days: Option<u32>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List the rules
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold on a case, subject or interaction
    Add {
        #[arg(long, value_parser = ["case", "subject", "interaction"])]
        scope: String,
        /// The case, subject or interaction id
        target: String,
        #[arg(long)]
        reason: String,
        /// Five years, extendable to seven (MiFID II Art. 16(7))
        #[arg(long)]
        mifid: bool,
        /// Until (RFC 3339 date-time)
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Release a hold
    Release {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List holds
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// The policy layer; with `[[webhooks]]` configured its events go to the outbox (the server's
/// dispatcher delivers them), so a CLI retention run or hold release is announced too.
fn policies(app: &App) -> Result<Policies> {
    let p = Policies::new(app.vault.clone(), Arc::new(Detector::new()));
    let cfg = app.cfg.webhook_config()?;
    if cfg.endpoints.is_empty() {
        return Ok(p);
    }
    let clock: Arc<dyn sotto_core::Clock> = Arc::new(sotto_core::SystemClock);
    let hooks = sotto_policy::Webhooks::new(app.vault.store().clone(), cfg, clock)
        .context("[[webhooks]]")?;
    Ok(p.with_webhooks(hooks))
}

pub async fn retention(cfg: Config, c: RetentionCommand) -> Result<ExitCode> {
    let RetentionCommand::Run { dry_run, json } = c;
    let app = App::open_for_write(cfg).await?;
    let engine = RetentionEngine::new(policies(&app)?);
    let now = app.vault.now_ms();
    let r = engine.run(now, dry_run).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "retention {}at {}: reduced {}, anonymised {}, deleted {}, subjects erased {}, kept restricted {}, blobs deleted {}, resumed {}, blocked by holds {}",
            if dry_run { "(dry run) " } else { "" },
            format_rfc3339(now),
            r.reduced,
            r.anonymised,
            r.deleted,
            r.subjects_erased,
            r.subjects_restricted,
            r.blobs_deleted,
            r.resumed,
            r.blocked_total
        );
        for b in &r.blocked {
            println!(
                "  held: interaction {} ({}) by hold {} on {} — {}{}",
                b.interaction,
                b.action,
                b.hold,
                b.scope,
                b.reason,
                b.until_ms
                    .map(|u| format!(", until {}", format_rfc3339(u)))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn case(cfg: Config, c: CaseCommand) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    let p = policies(&app)?;
    match c {
        CaseCommand::Open { reference, tenant } => {
            let t = app.tenant(tenant.as_deref())?;
            let row = p.open_case(&t, &reference, "cli").await?;
            println!("{}", row.id);
        }
        CaseCommand::Link {
            case,
            interaction,
            tenant,
        } => {
            let t = app.tenant(tenant.as_deref())?;
            let case: CaseId = case.parse().context("not a case id")?;
            let i: InteractionId = interaction.parse().context("not an interaction id")?;
            p.link_to_case(&t, i, Some(case), "cli").await?;
            println!("linked");
        }
        CaseCommand::Export {
            case,
            format,
            out,
            tenant,
        } => {
            let t = app.tenant(tenant.as_deref())?;
            let case: CaseId = case.parse().context("not a case id")?;
            let format = match format {
                FormatArg::Pdf => CaseExportFormat::Pdf,
                FormatArg::Xlsx => CaseExportFormat::Xlsx,
                FormatArg::Json => CaseExportFormat::Json,
            };
            let out =
                out.unwrap_or_else(|| PathBuf::from(format!("case-{case}.{}", format.extension())));
            let t0 = Instant::now();
            let r = p.export_case(&t, case, format, &out, "cli").await?;
            println!(
                "{}: {} interactions, {} recordings{} in {:.2} s\nsha256:{} (audit entry #{})",
                r.path.display(),
                r.interactions,
                r.recordings,
                if r.audio_files.is_empty() {
                    String::new()
                } else {
                    format!(", {} audio files beside it", r.audio_files.len())
                },
                t0.elapsed().as_secs_f64(),
                r.sha256,
                r.audit_seq
            );
        }
        CaseCommand::Verify { file } => {
            let v = p.verify_case_export(&file).await?;
            match &v.sealed {
                Some(s) => println!(
                    "sha256:{} sealed by audit entry #{} ({} exported case {} at {})",
                    v.sha256,
                    s.seq,
                    s.actor,
                    s.case,
                    format_rfc3339(s.at_ms)
                ),
                None => println!("sha256:{} is NOT in the audit log", v.sha256),
            }
            for f in &v.bad_audio {
                println!("audio file does not match its listed hash: {f}");
            }
            if !v.ok {
                return Ok(ExitCode::FAILURE);
            }
            println!("ok");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn policy(cfg: Config, c: PolicyCommand) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    let p = policies(&app)?;
    match c {
        PolicyCommand::Set {
            scope,
            key,
            mode,
            days,
            tenant,
        } => {
            let t = app.tenant(tenant.as_deref())?;
            let scope = match scope {
                ScopeArg::Tenant => RuleScope::Tenant,
                ScopeArg::Campaign => RuleScope::Campaign,
                ScopeArg::Queue => RuleScope::Queue,
                ScopeArg::Number => RuleScope::Number,
            };
            let r = p
                .set_rule(&t, scope, &key, mode.into(), days, None, vec![], "cli")
                .await?;
            println!(
                "{} {} → {} ({} days)",
                r.scope, r.key, r.mode, r.retention_days
            );
        }
        PolicyCommand::List { tenant } => {
            let t = app.tenant(tenant.as_deref())?;
            for r in p.rules(&t).await? {
                println!(
                    "{:9} {:24} {:10} {} days",
                    r.scope, r.key, r.mode, r.retention_days
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn hold(cfg: Config, c: HoldCommand) -> Result<ExitCode> {
    let app = App::open_for_write(cfg).await?;
    let p = policies(&app)?;
    match c {
        HoldCommand::Add {
            scope,
            target,
            reason,
            mifid,
            until,
            tenant,
        } => {
            let t = app.tenant(tenant.as_deref())?;
            let scope = match scope.as_str() {
                "case" => HoldScope::Case,
                "subject" => HoldScope::Subject,
                _ => HoldScope::Interaction,
            };
            let until_ms = match until {
                Some(u) => {
                    let t = time::OffsetDateTime::parse(
                        &u,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .context("--until must be an RFC 3339 date-time")?;
                    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
                }
                None => None,
            };
            let h = p
                .place_hold(HoldRequest {
                    tenant: t,
                    scope,
                    target,
                    reason,
                    created_by: "cli".into(),
                    until_ms,
                    preset: mifid.then_some(HoldPreset::MifidII),
                })
                .await?;
            println!("{}", h.id);
        }
        HoldCommand::Release { id, tenant } => {
            let t = app.tenant(tenant.as_deref())?;
            let id: ObjectId = id.parse().context("not a hold id")?;
            p.release_hold(&t, id, "cli").await?;
            println!("released");
        }
        HoldCommand::List { tenant } => {
            let t = app.tenant(tenant.as_deref())?;
            let now = app.vault.now_ms();
            for h in p.holds(&t).await? {
                println!(
                    "{} {:11} {} {} until {} — {}",
                    h.id,
                    h.scope,
                    h.target,
                    if h.is_active(now) {
                        "active  "
                    } else {
                        "inactive"
                    },
                    h.until_ms
                        .map(format_rfc3339)
                        .unwrap_or_else(|| "released".into()),
                    h.reason
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sotto bench retention`: builds a store of `total` interactions directly through the store
/// (sealed under real subject keys, in batches — not through ingest), half of them past a
/// 365-day record period, then times one retention run (deleting the due half, erasing the
/// subjects left empty) and a second, idle run; prints time and peak RSS.
pub async fn bench_retention(
    cfg: Config,
    total: u32,
    subjects: u32,
    work_dir: Option<PathBuf>,
) -> Result<ExitCode> {
    let base = work_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sotto-bench-retention-{}", std::process::id()))
    });
    if base.exists() {
        bail!("{} exists; give an empty --work-dir", base.display());
    }
    let data_dir = base.join("data");
    let mut cfg = cfg;
    cfg.master_key = MasterKeySource::File(data_dir.join("master.key"));
    cfg.data_dir = data_dir;
    let result = bench_run(cfg, total, subjects.clamp(1, total.max(1))).await;
    let _ = std::fs::remove_dir_all(&base);
    result
}

async fn bench_run(cfg: Config, total: u32, subjects: u32) -> Result<ExitCode> {
    const DAY: i64 = 86_400_000;
    const BATCH: usize = 10_000;
    let (app, _) = App::init(cfg).await?;
    let tenant = app.cfg.default_tenant.clone();
    let vault = &app.vault;
    let p = policies(&app)?;
    p.set_rule(
        &tenant,
        RuleScope::Tenant,
        "",
        ProcessingMode::Record,
        Some(365),
        None,
        vec![],
        "bench",
    )
    .await?;
    println!("sotto bench retention — {total} interactions of {subjects} subjects, record mode, 365 days");
    let now = vault.now_ms();
    // Subject k's calls lie in a 10-day window ending (k / subjects) × 730 days ago: the older
    // half of the subjects are entirely past 365 days (deleted, key erased), the rest kept.
    let per = total.div_ceil(subjects);
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut made = 0u32;
    for k in 0..subjects {
        let subject = SubjectId::new();
        vault.keys().create_subject_key(&tenant, subject).await?;
        vault
            .store()
            .insert_subject(&SubjectRow {
                tenant: tenant.clone(),
                id: subject,
                state: SubjectState::Active,
                created_ms: now,
                erased_ms: None,
            })
            .await?;
        let cipher = vault.keys().subject_cipher(&tenant, subject).await?;
        let end = now - i64::from(k) * 730 * DAY / i64::from(subjects);
        for j in 0..per {
            if made == total {
                break;
            }
            made += 1;
            let id = InteractionId::new();
            let ctx = ObjectContext {
                tenant: tenant.clone(),
                subject,
                object: ObjectId(*id.as_uuid()),
                purpose: ObjectPurpose::Transcript,
            };
            let (okey, wrapped_key) = cipher.new_object_key(&ctx)?;
            let sid = SegmentId::new();
            let started = end - i64::from(j % 10) * DAY - i64::from(j) * 1000;
            batch.push(InteractionBundle {
                interaction: InteractionRow {
                    tenant: tenant.clone(),
                    id,
                    subject,
                    channel: Channel::Call,
                    direction: Direction::Inbound,
                    started_ms: started,
                    ended_ms: started + 95_000,
                    case_id: None,
                    created_ms: started,
                    wrapped_key,
                    sealed_meta: okey.seal("meta", br#"{"caller":"+4520000000","lang":"da"}"#)?,
                    redaction_counts: r#"{"payment_card":1}"#.into(),
                },
                segments: vec![SegmentRow {
                    interaction: id,
                    id: sid,
                    seq: 0,
                    speaker: Speaker::Caller,
                    kind: SegmentKind::Personal,
                    start_ms: 0,
                    end_ms: 95_000,
                    sealed_text: okey.seal(
                        &format!("segment/{sid}/text"),
                        b"Jeg vil gerne flytte min aftale, mit kortnummer er [PAYMENT_CARD]",
                    )?,
                    sealed_words: None,
                }],
                recordings: vec![],
            });
            if batch.len() == BATCH {
                vault.store().insert_interactions(&batch).await?;
                batch.clear();
            }
        }
    }
    vault.store().insert_interactions(&batch).await?;
    drop(batch);
    let setup = t0.elapsed();
    println!("setup (direct store writes): {:.1} s", setup.as_secs_f64());

    let engine = RetentionEngine::new(p);
    let t = Instant::now();
    let r = engine.run(now, false).await?;
    let first = t.elapsed();
    let t = Instant::now();
    let r2 = engine.run(now, false).await?;
    let second = t.elapsed();
    let left = vault.store().count_interactions(&tenant).await?;
    println!("| measure | value |\n|---|---|");
    println!("| interactions before | {made} |");
    println!(
        "| scheduled + counted for statistics | {} + {} |",
        r.scheduled, r.counted_for_stats
    );
    println!("| deleted (audited, journaled) | {} |", r.deleted);
    println!(
        "| subjects erased (key destroyed) | {} |",
        r.subjects_erased
    );
    println!("| interactions left | {left} |");
    println!(
        "| retention run | {:.1} s ({:.0} deletions/s) |",
        first.as_secs_f64(),
        r.deleted as f64 / first.as_secs_f64().max(1e-9)
    );
    println!(
        "| second run (nothing due) | {:.2} s, {} actions |",
        second.as_secs_f64(),
        r2.deleted + r2.subjects_erased
    );
    println!("| peak RSS | {} |", peak_rss());
    Ok(ExitCode::SUCCESS)
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
