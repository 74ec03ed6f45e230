//! Configuration: one TOML file plus `SOTTO_*` environment overrides, validated at start.
//! With no file at all every value has an embedded default (data directory `./sotto-data`).
//! `sotto.example.toml` at the repository root documents every key.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sotto_core::TenantId;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub keys: KeysSection,
    #[serde(default)]
    pub tenant: TenantSection,
    #[serde(default)]
    pub ingest: IngestSection,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub archive: ArchiveSection,
    /// `[[webhooks]]`: CRM receivers (issue 6). Nothing is sent anywhere unless listed here.
    #[serde(default)]
    pub webhooks: Vec<WebhookSection>,
    /// `[webhook_delivery]`: retry and polling of the outbox.
    #[serde(default)]
    pub webhook_delivery: WebhookDeliverySection,
    #[serde(default)]
    pub transcribe: TranscribeSection,
}

/// How recordings are archived: the lossless original by default; a tenant's policy may choose
/// Opus (lossy, 16–24 kbit/s for speech).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSection {
    /// `lossless` (default), `opus` (20 kbit/s) or `opus:<kbit/s>` such as `opus:16`.
    pub format: Option<String>,
    /// Per-tenant choices: tenant id = format.
    #[serde(default)]
    pub tenants: std::collections::BTreeMap<String, String>,
}

/// One `[[webhooks]]` receiver. `secret` (inline) or `secret_file` (a file holding it), exactly
/// one of them; never printed.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// A name for logs and the outbox (default `webhook-<n>`).
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Events to send (default: all): call.completed, recording.available, subject.erased,
    /// consent.changed, retention.applied.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only this tenant's events (default: every tenant's).
    pub tenant: Option<String>,
    /// Extra non-personal fields this receiver gets, within what the tenant's policy allows
    /// (default: all the tenant allows; ids always go).
    pub fields: Option<Vec<String>>,
}

impl std::fmt::Debug for WebhookSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSection")
            .field("name", &self.name)
            .field("events", &self.events)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// `[webhook_delivery]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookDeliverySection {
    /// Attempts before an event is given up (default 8).
    pub max_attempts: Option<u32>,
    /// Delay after the first failure, doubled after each further one (default 30000).
    pub base_backoff_ms: Option<u64>,
    /// Longest delay between attempts (default 6 h).
    pub max_backoff_ms: Option<u64>,
    /// Per-request timeout (default 10).
    pub timeout_s: Option<u64>,
    /// How often `sotto serve` looks for due events (default 1000).
    pub poll_ms: Option<u64>,
}

/// `[transcribe]`: the engine live calls are transcribed with.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TranscribeSection {
    /// `bot` (transcripts supplied by the voicebot; default), `openai-http` or `whisper`.
    pub engine: Option<String>,
    /// ISO 639-1 language hint (`da`, `sv`, `en` …); none or `auto`: detected.
    pub language: Option<String>,
    /// Where `sotto models fetch` puts models (default `<data_dir>/models`).
    pub models_dir: Option<PathBuf>,
    #[serde(default)]
    pub openai: OpenAiSection,
    #[serde(default)]
    pub whisper: WhisperSection,
}

/// `[transcribe.openai]`: an OpenAI-compatible `/v1/audio/transcriptions` server.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OpenAiSection {
    /// e.g. `http://10.0.0.5:8000` (required for `openai-http`).
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (the key is never in the file).
    pub api_key_env: Option<String>,
    pub timeout_s: Option<u64>,
    pub max_inflight: Option<usize>,
}

/// `[transcribe.whisper]`: whisper.cpp in-process (binaries built with `--features whisper`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WhisperSection {
    /// A ggml model file (default `<models_dir>/ggml-base.bin`).
    pub model: Option<PathBuf>,
    /// Threads per transcription (default: cores, at most 4).
    pub threads: Option<usize>,
    /// Transcriptions at once (default 1).
    pub workers: Option<usize>,
    /// Audio allowed to wait for a worker before new utterances are silenced (default 120000).
    pub max_queue_ms: Option<u64>,
    /// whisper.cpp's temperature fallback (better on hard audio, up to 6× the cost; default off).
    pub temperature_fallback: Option<bool>,
    /// Use the GPU backend the binary was built with (default false).
    pub gpu: Option<bool>,
}

/// The validated engine choice.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineChoice {
    Bot,
    OpenAiHttp(sotto_transcribe::OpenAiConfig),
    /// Whisper settings; the model is loaded by [`EngineChoice::load`] (once per process).
    Whisper(WhisperSettings),
}

/// `[transcribe.whisper]` with defaults applied (plain data: exists in every build).
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperSettings {
    pub model: PathBuf,
    pub threads: usize,
    pub workers: usize,
    pub language: Option<String>,
    pub max_queue_ms: u64,
    pub temperature_fallback: bool,
    pub gpu: bool,
}

/// The one line a build without the `whisper` feature answers when the engine is chosen.
pub const WHISPER_NOT_BUILT: &str = "transcribe engine `whisper` is not available: this sotto binary was built without the `whisper` cargo feature (rebuild with `cargo build --release --features whisper`, or choose engine `bot` or `openai-http`)";

impl EngineChoice {
    /// One line for the operator (no secrets).
    pub fn describe(&self) -> String {
        match self {
            EngineChoice::Bot => "bot (transcripts supplied by the voicebot)".into(),
            EngineChoice::OpenAiHttp(c) => format!("openai-http at {}", c.base_url),
            EngineChoice::Whisper(w) => {
                format!(
                "whisper, model {}, {} worker(s) × {} thread(s), language {}, queue ≤ {} ms{}{}",
                w.model.display(),
                w.workers,
                w.threads,
                w.language.as_deref().unwrap_or("auto"),
                w.max_queue_ms,
                if w.temperature_fallback { ", temperature fallback" } else { "" },
                if w.gpu { ", GPU" } else { "" },
            )
            }
        }
    }

    /// Builds the engine configuration live calls use; loads the Whisper model (seconds).
    pub fn load(&self) -> Result<sotto_transcribe::EngineConfig> {
        use sotto_transcribe::EngineConfig;
        Ok(match self {
            EngineChoice::Bot => EngineConfig::Bot,
            EngineChoice::OpenAiHttp(c) => EngineConfig::OpenAiHttp(c.clone()),
            #[cfg(feature = "whisper")]
            EngineChoice::Whisper(w) => {
                EngineConfig::Whisper(sotto_transcribe::WhisperHandle::load(w.to_config())?)
            }
            #[cfg(not(feature = "whisper"))]
            EngineChoice::Whisper(_) => bail!(WHISPER_NOT_BUILT),
        })
    }
}

impl WhisperSettings {
    #[cfg(feature = "whisper")]
    pub fn to_config(&self) -> sotto_transcribe::WhisperConfig {
        sotto_transcribe::WhisperConfig {
            model: self.model.clone(),
            threads: self.threads,
            workers: self.workers,
            language: self.language.clone(),
            max_queue_ms: self.max_queue_ms,
            temperature_fallback: self.temperature_fallback,
            use_gpu: self.gpu,
            ..sotto_transcribe::WhisperConfig::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// Path of the master key file (default `<data_dir>/master.key`).
    pub master_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    pub default: Option<String>,
    /// ISO 3166 region national phone numbers are read in (default DK).
    pub default_region: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    pub silence_padding_ms: Option<u64>,
}

/// `sotto serve` (the HTTPS API). Validated when the server starts.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address:port to listen on (default 127.0.0.1:8443).
    pub listen: Option<String>,
    /// PEM certificate chain and private key; without both a self-signed certificate is
    /// generated in `<data_dir>/tls/` (with a warning).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Largest request body in bytes (default 1 MiB).
    pub body_limit_bytes: Option<usize>,
    /// Requests per minute per client address (default 600; 0 = no limit).
    pub rate_per_minute: Option<u32>,
    /// Requests a client may make at once before the rate applies (default 60).
    pub rate_burst: Option<u32>,
    /// Reverse proxies (CIDR) whose X-Forwarded-For is believed; none by default.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Live-call WebSocket listener (native, Twilio, AudioHook) (default 127.0.0.1:8089;
    /// "off" disables live ingest).
    pub ingest_listen: Option<String>,
    /// Asterisk AudioSocket TCP listener (default 127.0.0.1:8090; "off" disables it).
    pub audiosocket_listen: Option<String>,
    /// Seconds between retention runs inside the server (default 3600; 0 = never, use
    /// `sotto retention run` from a timer instead).
    pub retention_every_s: Option<u64>,
}

/// Where the master key comes from.
#[derive(Clone)]
pub enum MasterKeySource {
    File(PathBuf),
    /// Base64 from `SOTTO_MASTER_KEY` (kept out of `Debug`).
    Env(String),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeySource::File(p) => write!(f, "File({})", p.display()),
            MasterKeySource::Env(_) => f.write_str("Env(SOTTO_MASTER_KEY)"),
        }
    }
}

/// The validated configuration every command runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub master_key: MasterKeySource,
    pub default_tenant: TenantId,
    pub default_region: String,
    pub silence_padding_ms: u64,
    pub server: ServerSection,
    pub archive: sotto_vault::ArchivePolicy,
    pub webhooks: Vec<WebhookSection>,
    pub webhook_delivery: WebhookDeliverySection,
    /// Where `sotto models` keeps model files.
    pub models_dir: PathBuf,
    /// The transcription engine of live calls.
    pub engine: EngineChoice,
}

impl Config {
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("sotto.db")
    }
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
    pub fn keystore_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("keys.db")
    }
    pub fn audit_db_path(&self) -> PathBuf {
        self.data_dir.join("audit").join("audit.db")
    }
    pub fn audit_key_path(&self) -> PathBuf {
        self.data_dir.join("audit").join("checkpoint.key")
    }

    /// Loads `config_path` (if given, or `SOTTO_CONFIG`, or `./sotto.toml` when present), applies
    /// environment overrides, then the `--data-dir` flag, and validates.
    pub fn load(config_path: Option<&Path>, data_dir_flag: Option<&Path>) -> Result<Self> {
        Self::load_with_env(config_path, data_dir_flag, |k| std::env::var(k).ok())
    }

    pub fn load_with_env(
        config_path: Option<&Path>,
        data_dir_flag: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let path = config_path
            .map(Path::to_path_buf)
            .or_else(|| env("SOTTO_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("sotto.toml")).filter(|p| p.is_file()));
        let file: FileConfig = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("config file {} is invalid: {}", p.display(), e.message())
                })?
            }
            None => FileConfig::default(),
        };

        let data_dir = data_dir_flag
            .map(Path::to_path_buf)
            .or_else(|| env("SOTTO_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./sotto-data"));
        if data_dir.as_os_str().is_empty() {
            bail!("data directory must not be empty");
        }
        let master_key = if let Some(b64) = env("SOTTO_MASTER_KEY").filter(|v| !v.is_empty()) {
            MasterKeySource::Env(b64)
        } else {
            MasterKeySource::File(
                env("SOTTO_MASTER_KEY_FILE")
                    .map(PathBuf::from)
                    .or(file.keys.master_key_file)
                    .unwrap_or_else(|| data_dir.join("master.key")),
            )
        };
        let tenant_raw = env("SOTTO_DEFAULT_TENANT")
            .or(file.tenant.default)
            .unwrap_or_else(|| "default".into());
        let default_tenant = TenantId::new(&tenant_raw)
            .with_context(|| format!("default tenant `{tenant_raw}` is not a valid tenant id"))?;
        let default_region = env("SOTTO_DEFAULT_REGION")
            .or(file.tenant.default_region)
            .unwrap_or_else(|| "DK".into())
            .to_ascii_uppercase();
        if default_region.parse::<phonenumber::country::Id>().is_err() {
            bail!("default_region `{default_region}` is not an ISO 3166 country code (e.g. DK, SE, NO, FI, EE, DE, GB)");
        }
        let silence_padding_ms = match env("SOTTO_SILENCE_PADDING_MS") {
            Some(v) => v.parse::<u64>().with_context(|| {
                "SOTTO_SILENCE_PADDING_MS must be a whole number of milliseconds"
            })?,
            None => file.ingest.silence_padding_ms.unwrap_or(150),
        };
        if silence_padding_ms > 2000 {
            bail!("silence_padding_ms must be at most 2000 (got {silence_padding_ms})");
        }
        let archive = archive_policy(&file.archive, env("SOTTO_ARCHIVE_FORMAT"))?;
        let t = file.transcribe;
        let models_dir = env("SOTTO_MODELS_DIR")
            .map(PathBuf::from)
            .or(t.models_dir.clone())
            .unwrap_or_else(|| data_dir.join("models"));
        let engine = engine_choice(&t, &models_dir, &env)?;
        Ok(Config {
            data_dir,
            master_key,
            default_tenant,
            default_region,
            silence_padding_ms,
            server: file.server,
            archive,
            webhooks: file.webhooks,
            webhook_delivery: file.webhook_delivery,
            models_dir,
            engine,
        })
    }

    /// Default dispatcher poll interval.
    pub fn webhook_poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.webhook_delivery.poll_ms.unwrap_or(1000).max(10))
    }

    /// The validated `[[webhooks]]` and `[webhook_delivery]` (secret files are read here). Each
    /// error is one line naming the receiver and the field; it never quotes a secret.
    pub fn webhook_config(&self) -> Result<sotto_policy::WebhookConfig> {
        use sotto_policy::webhook::ALLOWED_EXTRA_FIELDS;
        use sotto_policy::{WebhookConfig, WebhookEndpoint, WebhookEvent};
        let d = &self.webhook_delivery;
        let mut cfg = WebhookConfig::default();
        if let Some(v) = d.max_attempts {
            if v == 0 {
                bail!("[webhook_delivery] max_attempts must be at least 1");
            }
            cfg.max_attempts = v;
        }
        if let Some(v) = d.base_backoff_ms {
            cfg.base_backoff_ms = i64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .context("[webhook_delivery] base_backoff_ms must be a positive number of ms")?;
        }
        if let Some(v) = d.max_backoff_ms {
            cfg.max_backoff_ms = i64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .context("[webhook_delivery] max_backoff_ms must be a positive number of ms")?;
        }
        if cfg.max_backoff_ms < cfg.base_backoff_ms {
            bail!("[webhook_delivery] max_backoff_ms must not be below base_backoff_ms");
        }
        if let Some(v) = d.timeout_s {
            if v == 0 || v > 300 {
                bail!("[webhook_delivery] timeout_s must be 1..=300");
            }
            cfg.timeout = std::time::Duration::from_secs(v);
        }
        let mut names = std::collections::HashSet::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            let name = w
                .name
                .clone()
                .unwrap_or_else(|| format!("webhook-{}", i + 1));
            let at = format!("[[webhooks]] `{name}`");
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                bail!("{at}: name must be 1-64 of A-Z a-z 0-9 - _ .");
            }
            if !names.insert(name.clone()) {
                bail!("{at}: name is used twice");
            }
            let Some(url) = w.url.as_deref() else {
                bail!("{at}: url is missing");
            };
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            let host_ok = url
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
                .is_some_and(|h| !h.is_empty());
            if !scheme_ok || !host_ok {
                // The URL itself is not quoted: it may carry a token.
                bail!("{at}: url must be an http:// or https:// URL with a host");
            }
            let secret = match (&w.secret, &w.secret_file) {
                (Some(s), None) => s.as_bytes().to_vec(),
                (None, Some(p)) => {
                    let raw = std::fs::read(p).with_context(|| {
                        format!("{at}: secret_file {} cannot be read", p.display())
                    })?;
                    let end = raw
                        .iter()
                        .rposition(|b| !b.is_ascii_whitespace())
                        .map_or(0, |i| i + 1);
                    raw[..end].to_vec()
                }
                (Some(_), Some(_)) => bail!("{at}: give secret or secret_file, not both"),
                (None, None) => bail!("{at}: secret (or secret_file) is missing"),
            };
            if secret.len() < 16 {
                bail!("{at}: secret must be at least 16 bytes");
            }
            let mut events = Vec::new();
            for e in &w.events {
                let ev = WebhookEvent::ALL
                    .into_iter()
                    .find(|x| x.as_str() == e)
                    .with_context(|| {
                        format!(
                            "{at}: events: `{}` is not one of {}",
                            e.chars().take(40).collect::<String>(),
                            WebhookEvent::ALL.map(|x| x.as_str()).join(", ")
                        )
                    })?;
                events.push(ev);
            }
            let tenant = match &w.tenant {
                Some(t) => Some(
                    TenantId::new(t)
                        .with_context(|| format!("{at}: tenant `{t}` is not a valid tenant id"))?,
                ),
                None => None,
            };
            if let Some(fs) = &w.fields {
                for f in fs {
                    if !ALLOWED_EXTRA_FIELDS.contains(&f.as_str()) {
                        bail!(
                            "{at}: fields: `{}` is not one of {}",
                            f.chars().take(40).collect::<String>(),
                            ALLOWED_EXTRA_FIELDS.join(", ")
                        );
                    }
                }
            }
            cfg.endpoints.push(WebhookEndpoint {
                name,
                tenant,
                url: url.to_owned(),
                secret: sotto_core::SecretBytes::new(secret),
                events,
                fields: w.fields.clone(),
            });
        }
        Ok(cfg)
    }
}

/// The `[archive]` table (and `SOTTO_ARCHIVE_FORMAT` for the default) as a vault policy.
fn archive_policy(
    section: &ArchiveSection,
    env_default: Option<String>,
) -> Result<sotto_vault::ArchivePolicy> {
    let parse = |what: &str, v: &str| -> Result<sotto_vault::ArchiveFormat> {
        v.parse()
            .map_err(|e: sotto_audio::AudioError| anyhow::anyhow!("{what}: {e}"))
    };
    let mut policy = sotto_vault::ArchivePolicy::default();
    if let Some(v) = env_default.or_else(|| section.format.clone()) {
        policy.default = parse("archive.format", &v)?;
    }
    for (tenant, v) in &section.tenants {
        let id = TenantId::new(tenant)
            .with_context(|| format!("archive.tenants: `{tenant}` is not a valid tenant id"))?;
        policy
            .tenants
            .insert(id, parse(&format!("archive.tenants.{tenant}"), v)?);
    }
    Ok(policy)
}

fn engine_choice(
    t: &TranscribeSection,
    models_dir: &Path,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<EngineChoice> {
    let language = env("SOTTO_TRANSCRIBE_LANGUAGE")
        .or(t.language.clone())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty() && l != "auto");
    if let Some(l) = &language {
        if !(2..=3).contains(&l.len()) || !l.bytes().all(|b| b.is_ascii_lowercase()) {
            bail!("[transcribe] language `{l}` is not an ISO 639-1 code (e.g. da, sv, nb, fi, et, de, en) or `auto`");
        }
    }
    let engine = env("SOTTO_TRANSCRIBE_ENGINE")
        .or(t.engine.clone())
        .unwrap_or_else(|| "bot".into());
    match engine.as_str() {
        "bot" => Ok(EngineChoice::Bot),
        "openai-http" => {
            let o = &t.openai;
            let Some(base_url) = o.base_url.clone() else {
                bail!("[transcribe] engine `openai-http` needs [transcribe.openai] base_url");
            };
            if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                bail!("[transcribe.openai] base_url must start with http:// or https://");
            }
            let api_key = match &o.api_key_env {
                Some(var) => Some(env(var).with_context(|| {
                    format!("[transcribe.openai] api_key_env names {var}, which is not set")
                })?),
                None => None,
            };
            let d = sotto_transcribe::OpenAiConfig::default();
            Ok(EngineChoice::OpenAiHttp(sotto_transcribe::OpenAiConfig {
                base_url,
                model: o.model.clone().unwrap_or(d.model),
                api_key,
                language,
                timeout: o
                    .timeout_s
                    .map_or(d.timeout, std::time::Duration::from_secs),
                max_inflight: o.max_inflight.unwrap_or(d.max_inflight).max(1),
                vad: d.vad,
            }))
        }
        "whisper" => {
            if !sotto_transcribe::WHISPER_BUILT {
                bail!(WHISPER_NOT_BUILT);
            }
            let w = &t.whisper;
            let num = |var: &str, v: Option<usize>, default: usize| -> Result<usize> {
                let n = match env(var) {
                    Some(s) => s
                        .parse::<usize>()
                        .with_context(|| format!("{var} must be a whole number"))?,
                    None => v.unwrap_or(default),
                };
                if !(1..=256).contains(&n) {
                    bail!("{var} must be between 1 and 256 (got {n})");
                }
                Ok(n)
            };
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            Ok(EngineChoice::Whisper(WhisperSettings {
                model: env("SOTTO_WHISPER_MODEL")
                    .map(PathBuf::from)
                    .or(w.model.clone())
                    .unwrap_or_else(|| models_dir.join("ggml-base.bin")),
                threads: num("SOTTO_WHISPER_THREADS", w.threads, cores.clamp(1, 4))?,
                workers: num("SOTTO_WHISPER_WORKERS", w.workers, 1)?,
                language,
                max_queue_ms: w.max_queue_ms.unwrap_or(120_000).max(1_000),
                temperature_fallback: w.temperature_fallback.unwrap_or(false),
                gpu: w.gpu.unwrap_or(false),
            }))
        }
        other => {
            bail!("[transcribe] engine `{other}` is unknown (choose bot, openai-http or whisper)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn embedded_defaults() {
        let c = Config::load_with_env(None, None, env_of(&[])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./sotto-data"));
        assert_eq!(c.default_tenant.as_str(), "default");
        assert!(matches!(c.master_key, MasterKeySource::File(ref p) if p.ends_with("master.key")));
    }

    #[test]
    fn env_overrides_file_and_flag_overrides_env() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(
            &f,
            "data_dir = \"/from-file\"\n[tenant]\ndefault = \"acme\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&f), None, env_of(&[("SOTTO_DATA_DIR", "/from-env")]))
            .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from-env"));
        assert_eq!(c.default_tenant.as_str(), "acme");
        let c = Config::load_with_env(
            Some(&f),
            Some(Path::new("/flag")),
            env_of(&[("SOTTO_DATA_DIR", "/e")]),
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn archive_formats_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(
            &f,
            "[archive]\nformat = \"lossless\"\n[archive.tenants]\nacme = \"opus:16\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&f), None, env_of(&[])).unwrap();
        let acme = TenantId::new("acme").unwrap();
        assert_eq!(
            c.archive.format_for(&acme),
            sotto_vault::ArchiveFormat::Opus {
                bitrate_bps: 16_000
            }
        );
        assert_eq!(
            c.archive.format_for(&TenantId::default_tenant()),
            sotto_vault::ArchiveFormat::Lossless
        );
        let c = Config::load_with_env(Some(&f), None, env_of(&[("SOTTO_ARCHIVE_FORMAT", "opus")]))
            .unwrap();
        assert_eq!(c.archive.default.to_string(), "opus:20");
        std::fs::write(&f, "[archive.tenants]\nacme = \"mp3\"\n").unwrap();
        let e = Config::load_with_env(Some(&f), None, env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("archive.tenants.acme") && e.contains("mp3"),
            "{e}"
        );
    }

    #[test]
    fn invalid_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, "data_dirr = \"x\"\n").unwrap();
        let e = Config::load_with_env(Some(&f), None, env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_dirr"), "{e}");
        let e = Config::load_with_env(None, None, env_of(&[("SOTTO_DEFAULT_REGION", "XX")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ISO 3166"), "{e}");
        let e = Config::load_with_env(
            None,
            None,
            env_of(&[("SOTTO_DEFAULT_TENANT", "Bad Tenant")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tenant"), "{e}");
        let e = Config::load_with_env(None, None, env_of(&[("SOTTO_TRANSCRIBE_ENGINE", "vosk")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("vosk") && e.contains("whisper"), "{e}");
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../sotto.example.toml"
        ))
        .unwrap();
        let parsed: FileConfig = toml::from_str(&example).unwrap();
        assert!(parsed.data_dir.is_some());
    }

    #[test]
    fn engines_are_chosen_and_checked() {
        let c = Config::load_with_env(None, None, env_of(&[])).unwrap();
        assert_eq!(c.engine, EngineChoice::Bot);
        assert!(c.models_dir.ends_with("models"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(
            &f,
            "[transcribe]\nengine = \"openai-http\"\nlanguage = \"DA\"\n[transcribe.openai]\nbase_url = \"http://10.0.0.5:8000\"\napi_key_env = \"MY_KEY\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&f), None, env_of(&[("MY_KEY", "k")])).unwrap();
        match &c.engine {
            EngineChoice::OpenAiHttp(o) => {
                assert_eq!(o.base_url, "http://10.0.0.5:8000");
                assert_eq!(o.language.as_deref(), Some("da"));
                assert_eq!(o.api_key.as_deref(), Some("k"));
            }
            other => panic!("{other:?}"),
        }
        let e = Config::load_with_env(Some(&f), None, env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MY_KEY"), "{e}");

        let w = Config::load_with_env(
            None,
            None,
            env_of(&[
                ("SOTTO_TRANSCRIBE_ENGINE", "whisper"),
                ("SOTTO_WHISPER_THREADS", "3"),
            ]),
        );
        if cfg!(feature = "whisper") {
            match w.unwrap().engine {
                EngineChoice::Whisper(s) => {
                    assert_eq!(s.threads, 3);
                    assert!(s.model.ends_with("models/ggml-base.bin"));
                }
                other => panic!("{other:?}"),
            }
        } else {
            let e = w.unwrap_err().to_string();
            assert_eq!(e, WHISPER_NOT_BUILT);
            assert!(!e.contains('\n'));
        }
    }
}
