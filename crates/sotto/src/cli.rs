//! Command-line grammar.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sotto",
    version,
    about = "GDPR-first call recording, live transcription and personal-data vault",
    long_about = "Sotto keeps call recordings and transcripts encrypted under each caller's own key, \
removes payment-card and special-category data from text and audio before anything is stored, and \
gives you subject access export and \"forget me\".\n\nStart with `sotto demo`, or `sotto init` \
followed by `sotto ingest`.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct GlobalArgs {
    /// Data directory (database, encrypted blobs, key store) [env: SOTTO_DATA_DIR] [default: ./sotto-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file [env: SOTTO_CONFIG] [default: ./sotto.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug); logs never contain personal data
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the demo: create a data directory, ingest sample calls, export one caller, forget another
    Demo(DemoArgs),
    /// Create the data directory, the master key file (mode 0600) and the default tenant
    Init(InitArgs),
    /// Store a recorded call (WAV: PCM16, μ-law or A-law) with its transcript
    Ingest(IngestArgs),
    /// List stored interactions (ids, times, channel, redaction counts — no content)
    List(ListArgs),
    /// Show one interaction's stored (redacted) transcript
    Show(ShowArgs),
    /// Export everything stored about one data subject (GDPR Art. 15)
    Export(ExportArgs),
    /// Erase a data subject ("forget me", GDPR Art. 17) and print the erasure receipt
    Forget(ForgetArgs),
    /// Find and remove personal data in text from stdin
    Redact(RedactArgs),
    /// Manage tenants
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Rotate the master key or a tenant key (re-wraps keys; no data is re-encrypted)
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify the tamper-evident audit log, sign a checkpoint, or list entries
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure performance
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the HTTPS REST API (roles, two-factor login, audited access; OpenAPI at /api/v1/openapi.json)
    Serve(crate::serve::ServeArgs),
    /// Users, roles and two-factor enrolment (access control)
    #[command(subcommand)]
    User(crate::admin::UserCommand),
    /// API tokens scoped to permissions (shown once, revocable)
    #[command(subcommand)]
    Token(crate::admin::TokenCommand),
    /// IP allowlists (CIDR, IPv4/IPv6) per tenant and per role
    #[command(subcommand)]
    Allowlist(crate::admin::AllowlistCommand),
    /// Retention: delete, reduce and anonymise what is due (issue 6)
    #[command(subcommand)]
    Retention(crate::policy_cmd::RetentionCommand),
    /// Deal timelines: open and link cases, export a case sealed in the audit log, verify an export
    #[command(subcommand)]
    Case(crate::policy_cmd::CaseCommand),
    /// Processing-mode rules per tenant, campaign, queue or called number
    #[command(subcommand)]
    Policy(crate::policy_cmd::PolicyCommand),
    /// Legal holds on cases, subjects and interactions (MiFID II preset)
    #[command(subcommand)]
    Hold(crate::policy_cmd::HoldCommand),
    /// Simulate N concurrent live calls on loopback and report latency, CPU, RSS and the PCI check
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Whisper models for the `whisper` engine: fetch (checksum-verified download), list
    #[command(subcommand)]
    Models(crate::models::ModelsCommand),
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every entry, the Merkle tree and every signed checkpoint; exit 1 naming the first bad entry
    Verify {
        /// A checkpoint kept outside the operator's reach (from `sotto audit checkpoint`): also
        /// detects a log rolled back or rewritten since
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Sign and print a checkpoint of the log now (C2SP signed note); keep it somewhere safe
    Checkpoint {
        /// Also write it to this file
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List audit entries (ids only; never personal data)
    Log {
        #[arg(long)]
        tenant: Option<String>,
        /// Only entries about this subject id
        #[arg(long)]
        subject: Option<String>,
        /// Only entries by this actor
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the demo's export files
    #[arg(long, default_value = "./sotto-demo-export", value_name = "DIR")]
    pub export_dir: PathBuf,
}

#[derive(Args)]
pub struct InitArgs {
    /// Also create this tenant (besides the default one)
    #[arg(long)]
    pub tenant: Option<String>,
}

/// How the subject is identified on the command line.
#[derive(Args, Clone, Default)]
#[group(required = true, multiple = false)]
pub struct SubjectSelector {
    /// Caller phone number (E.164, or national in the default region)
    #[arg(long)]
    pub phone: Option<String>,
    /// E-mail address
    #[arg(long)]
    pub email: Option<String>,
    /// The tenant's customer id
    #[arg(long)]
    pub customer_id: Option<String>,
    /// Sotto subject id
    #[arg(long)]
    pub subject: Option<String>,
}

#[derive(Args)]
pub struct IngestArgs {
    /// The recording (WAV: 16-bit PCM, μ-law or A-law)
    pub file: PathBuf,
    /// Caller phone number; leave out for a withheld number (a new subject is created)
    #[arg(long)]
    pub caller: Option<String>,
    /// Caller e-mail address (also indexed to find the subject later)
    #[arg(long)]
    pub email: Option<String>,
    /// The tenant's customer id for the caller
    #[arg(long)]
    pub customer_id: Option<String>,
    #[arg(long)]
    pub tenant: Option<String>,
    /// Agent id
    #[arg(long)]
    pub agent: Option<String>,
    /// Case (deal) id this call belongs to
    #[arg(long = "case")]
    pub case_id: Option<String>,
    /// Transcript JSON: {"segments":[{"speaker","start_ms","end_ms","text","words"?}]}. Required
    /// when the audio is kept (a legal basis): audio is only stored once it has been checked
    #[arg(long)]
    pub transcript: Option<PathBuf>,
    /// Language of the transcript (da, sv, nb, fi, et, de, en); detected when left out
    #[arg(long)]
    pub lang: Option<String>,
    #[arg(long, value_enum, default_value_t = ChannelArg::Call)]
    pub channel: ChannelArg,
    #[arg(long, value_enum, default_value_t = DirectionArg::Inbound)]
    pub direction: DirectionArg,
    /// Legal basis for keeping the audio; without one (outside `record` mode) only the transcript is kept
    #[arg(long, value_enum)]
    pub recording_basis: Option<BasisArg>,
    /// Start time (RFC 3339); default now
    #[arg(long)]
    pub started: Option<String>,
}

#[derive(ValueEnum, Clone, Copy)]
pub enum ChannelArg {
    Call,
    Voicemail,
}
#[derive(ValueEnum, Clone, Copy)]
pub enum DirectionArg {
    Inbound,
    Outbound,
}
#[derive(ValueEnum, Clone, Copy)]
pub enum BasisArg {
    Consent,
    Contract,
    LegalObligation,
    LegitimateInterest,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this caller
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Print JSON lines instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Interaction id
    pub interaction: String,
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormatArg {
    Xlsx,
    Json,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub who: SubjectSelector,
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,
    /// Also write each recording as a WAV file into `<out stem>-audio/`
    #[arg(long)]
    pub with_audio: bool,
    /// Output file
    #[arg(long)]
    pub out: PathBuf,
    /// Who is exporting (recorded with the access)
    #[arg(long, default_value = "cli")]
    pub actor: String,
}

#[derive(Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub who: SubjectSelector,
    #[arg(long)]
    pub tenant: Option<String>,
    /// Who is erasing (recorded on the receipt)
    #[arg(long, default_value = "cli")]
    pub actor: String,
    /// Print the receipt as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum RedactFormat {
    Text,
    Jsonl,
}

#[derive(Args)]
pub struct RedactArgs {
    /// Language of the input, or auto to detect per line
    #[arg(long, default_value = "auto")]
    pub lang: String,
    #[arg(long, value_enum, default_value_t = RedactFormat::Text)]
    pub format: RedactFormat,
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (or change its name and mode)
    Add {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Processing mode: minimal, anonymise or record
        #[arg(long, default_value = "anonymise")]
        mode: String,
    },
    /// List tenants
    List,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every tenant key under a new master key, then switch the key file
    RotateMaster {
        /// Where to create the new master key file (mode 0600); the config must then point at it
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Replace a tenant key and re-wrap its subject keys (finishes crypto-shredding of erased subjects)
    RotateTenant {
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Whisper engine: CPU seconds per audio second, real-time factor, latency, peak RSS
    Whisper(crate::bench_whisper::WhisperBenchArgs),
    /// Login latency: Argon2id + TOTP + session + audit, p50/p99
    Login {
        #[arg(long, default_value_t = 50)]
        logins: u32,
    },
    /// Retention: one run over N interactions written directly to the store (time, peak RSS)
    Retention {
        #[arg(long, default_value_t = 1_000_000)]
        interactions: u32,
        /// Subjects the interactions belong to
        #[arg(long, default_value_t = 10_000)]
        subjects: u32,
        /// Where to build the benchmark data (deleted afterwards); default: a temporary directory
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Audit log: batched appends per second and verification speed
    Audit {
        /// Entries to append and verify
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
    },
    /// Vault: blob encryption MB/s, forget/export latency for a subject among many, blind-index lookups
    Vault {
        /// Interactions in the store
        #[arg(long, default_value_t = 100_000)]
        interactions: u32,
        /// Interactions of the subject that is exported and forgotten
        #[arg(long, default_value_t = 1_000)]
        subject_interactions: u32,
        /// Where to build the benchmark data (deleted afterwards); default: a temporary directory
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}
