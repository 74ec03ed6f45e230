//! Builds the services a command needs from the validated configuration.

use crate::config::{Config, MasterKeySource};
use anyhow::{bail, Context, Result};
use sotto_audit::{AuditLog, CheckpointSigner};
use sotto_core::{ProcessingMode, SystemClock, TenantId};
use sotto_detect::Detector;
use sotto_keys::{LocalKeyStore, MasterKey};
use sotto_store::{BlobStore, SqliteStore};
use sotto_vault::Vault;
use std::sync::Arc;

pub struct App {
    pub cfg: Config,
    pub vault: Vault,
}

impl App {
    /// Opens an initialised data directory.
    pub async fn open(cfg: Config) -> Result<Self> {
        if !cfg.data_dir.is_dir() {
            bail!(
                "data directory {} does not exist; run `sotto init --data-dir {}` first",
                cfg.data_dir.display(),
                cfg.data_dir.display()
            );
        }
        let master = load_master(&cfg.master_key)?;
        Self::build(cfg, master).await
    }

    /// Opens an initialised data directory for a command that writes, after checking that the
    /// directory can be written: a read-only directory gets one clear error before any work.
    pub async fn open_for_write(cfg: Config) -> Result<Self> {
        if cfg.data_dir.is_dir() {
            for dir in [
                cfg.data_dir.clone(),
                cfg.blob_dir(),
                cfg.data_dir.join("keys"),
            ] {
                if dir.is_dir() {
                    let probe = dir.join(format!(".sotto-write-probe-{}", std::process::id()));
                    match std::fs::File::create(&probe) {
                        Ok(_) => {
                            let _ = std::fs::remove_file(&probe);
                        }
                        Err(e) => bail!(
                            "data directory {} is not writable ({})",
                            dir.display(),
                            e.kind()
                        ),
                    }
                }
            }
        }
        Self::open(cfg).await
    }

    /// Creates the data directory, master key file and default tenant if missing; opens it.
    /// Returns the app and whether a new master key file was created.
    pub async fn init(cfg: Config) -> Result<(Self, bool)> {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
        let mut created = false;
        let master = match &cfg.master_key {
            MasterKeySource::File(p) if !p.exists() => {
                if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                created = true;
                MasterKey::create_file(p)
                    .with_context(|| format!("cannot create master key file {}", p.display()))?
            }
            other => load_master(other)?,
        };
        let app = Self::build(cfg, master).await?;
        let t = app.cfg.default_tenant.clone();
        if app.vault.store().get_tenant(&t).await?.is_none() {
            app.vault
                .put_tenant(&t, "Default tenant", ProcessingMode::Anonymise)
                .await?;
        }
        Ok((app, created))
    }

    async fn build(cfg: Config, master: MasterKey) -> Result<Self> {
        let keys_dir = cfg.keystore_path();
        if let Some(dir) = keys_dir.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let keys = LocalKeyStore::open(&keys_dir, master)
            .await
            .with_context(|| format!("cannot open key store {}", keys_dir.display()))?;
        let store = SqliteStore::open(&cfg.database_path())
            .await
            .with_context(|| format!("cannot open database {}", cfg.database_path().display()))?;
        let blobs = BlobStore::local(&cfg.blob_dir())
            .with_context(|| format!("cannot open blob directory {}", cfg.blob_dir().display()))?;
        let audit = open_audit(&cfg).await?;
        let vault = Vault::new(
            Arc::new(store),
            blobs,
            Arc::new(keys),
            Arc::new(audit),
            Arc::new(Detector::new()),
            Arc::new(SystemClock),
        )
        .with_silence_padding_ms(cfg.silence_padding_ms)
        .with_archive_policy(cfg.archive.clone());
        let redone = vault
            .reapply_erasures()
            .await
            .context("cannot re-apply recorded erasures")?;
        if redone > 0 {
            tracing::warn!(
                keys = redone,
                "the key store held keys of subjects that were erased (restored from an old backup?); destroyed them again"
            );
        }
        Ok(Self { cfg, vault })
    }

    /// `--tenant` or the configured default.
    pub fn tenant(&self, flag: Option<&str>) -> Result<TenantId> {
        match flag {
            Some(t) => TenantId::new(t).with_context(|| format!("`{t}` is not a valid tenant id")),
            None => Ok(self.cfg.default_tenant.clone()),
        }
    }
}

fn load_master(src: &MasterKeySource) -> Result<MasterKey> {
    match src {
        MasterKeySource::File(p) => MasterKey::load_file(p).with_context(|| {
            format!(
                "cannot load master key file {} (create one with `sotto init`)",
                p.display()
            )
        }),
        MasterKeySource::Env(b64) => {
            MasterKey::from_base64(b64).context("SOTTO_MASTER_KEY is not a valid master key")
        }
    }
}

/// The audit log and its checkpoint signing key (Ed25519, mode 0600). `sotto init` creates the
/// key; afterwards a missing key is an error, never silently replaced, so checkpoints kept by a
/// customer keep verifying.
async fn open_audit(cfg: &Config) -> Result<AuditLog> {
    let key = cfg.audit_key_path();
    let dir = cfg.data_dir.join("audit");
    let signer = if key.exists() {
        CheckpointSigner::load_file(&key)
            .with_context(|| format!("cannot load audit signing key {}", key.display()))?
    } else if !cfg.audit_db_path().exists() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        CheckpointSigner::create_file(&key, "sotto-audit")
            .with_context(|| format!("cannot create audit signing key {}", key.display()))?
    } else {
        bail!(
            "audit signing key {} is missing but the audit log exists; restore the key (a new one would not verify old checkpoints)",
            key.display()
        );
    };
    AuditLog::open(&cfg.audit_db_path(), signer)
        .await
        .with_context(|| format!("cannot open audit log {}", cfg.audit_db_path().display()))
}
