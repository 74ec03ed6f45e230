//! The key store: tenant keys, blind-index keys and subject keys, wrapped, in a SQLite file.

use crate::blind::BlindIndexer;
use crate::master::MasterKey;
use crate::object::SubjectCipher;
use crate::primitives::{aad_of, open_v1, random_key, seal_v1, unwrap_key, wrap_key, Key32};
use crate::KeyError;
use async_trait::async_trait;
use serde::Serialize;
use sotto_core::{Clock, SubjectId, SubjectState, SystemClock, TenantId, UnixMillis};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Row;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const STORE_FORMAT: i64 = 1;
const KEY_CHECK_AAD: &[u8] = b"sotto/v1/key-check";
const KEY_CHECK_VALUE: &[u8] = b"sotto key store v1";
const TENANT_KEY_DOMAIN: &[u8] = b"sotto/v1/tenant-key";
const BLIND_KEY_DOMAIN: &[u8] = b"sotto/v1/blind-index-key";
const SUBJECT_KEY_DOMAIN: &[u8] = b"sotto/v1/subject-key";
/// Subject keys re-wrapped per query page during a tenant key rotation.
const ROTATION_PAGE: i64 = 512;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// Keys re-wrapped: live tenant keys for a master key rotation, subject keys for a tenant
    /// key rotation.
    pub rewrapped: u64,
    /// Blind-index keys re-wrapped (master key rotation only; they are never rotated).
    pub blind_keys_rewrapped: u64,
    /// Tenants touched.
    pub tenants: u64,
    /// The tenant key version now in use (tenant key rotation only).
    pub tenant_key_version: Option<u32>,
    /// Old tenant key versions destroyed (tenant key rotation only).
    pub destroyed_tenant_key_versions: u64,
    /// Fingerprint of the master key that now opens the store.
    pub master_fingerprint: String,
}

/// Where keys live. Everything else in Sotto asks this trait for ciphers and never sees a
/// wrapped or unwrapped key.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Creates the tenant key and the tenant's blind-index key (both wrapped by the master key)
    /// if they do not exist yet. Idempotent.
    async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), KeyError>;
    async fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, KeyError>;
    /// A new random subject key, wrapped by the tenant key. `AlreadyExists` if there is one,
    /// `Erased` if the subject was erased (a key is never re-created), `TenantNotFound`.
    async fn create_subject_key(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<(), KeyError>;
    /// `None`: no key; `Some(Erased)`: a tombstone.
    async fn subject_key_state(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<Option<SubjectState>, KeyError>;
    /// Active <-> Restricted only.
    async fn set_subject_state(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        state: SubjectState,
    ) -> Result<(), KeyError>;
    /// Destroys the wrapped subject key and leaves a tombstone. Idempotent; erasing a subject
    /// that has no key still records the tombstone (so re-applying a list of tombstones after a
    /// restore is just calling this again). An error can come after the tombstone was committed
    /// (the storage clean-up that follows it failed); calling again is always safe.
    async fn erase_subject_key(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        at_ms: UnixMillis,
    ) -> Result<(), KeyError>;
    /// [`KeyStore::erase_subject_key`] for many subjects of one tenant at once (a retention run
    /// erasing the subjects it emptied). Same guarantees per subject; implementations may do it
    /// in one transaction with one clean-up. Default: one call each.
    async fn erase_subject_keys(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
        at_ms: UnixMillis,
    ) -> Result<(), KeyError> {
        for s in subjects {
            self.erase_subject_key(tenant, *s, at_ms).await?;
        }
        Ok(())
    }
    /// The subject's key, unwrapped for this call. A tombstone wins over any key row.
    async fn subject_cipher(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<SubjectCipher, KeyError>;
    async fn blind_indexer(&self, tenant: &TenantId) -> Result<BlindIndexer, KeyError>;
    /// Re-wraps every tenant and blind-index key under `new_master`; no data is touched.
    /// Afterwards only `new_master` opens the store.
    async fn rotate_master_key(&self, new_master: &MasterKey) -> Result<RotationReport, KeyError>;
    /// A new tenant key version; every subject key is re-wrapped under it and the old version is
    /// destroyed. The blind-index key is not rotated.
    async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<RotationReport, KeyError>;
    /// Erased subjects of a tenant with the time of erasure, oldest first.
    async fn tombstones(&self, tenant: &TenantId)
        -> Result<Vec<(SubjectId, UnixMillis)>, KeyError>;
}

struct MasterState {
    key: MasterKey,
    wrap: Key32,
}

impl MasterState {
    fn new(key: MasterKey) -> Self {
        let wrap = key.wrapping_key();
        Self { key, wrap }
    }
}

/// The embedded key store: one SQLite file (`keys.db`), opened with `secure_delete=ON` and in
/// WAL mode, with a `TRUNCATE` checkpoint after every erasure and rotation so the write-ahead
/// log does not keep old pages. Unwrapped tenant and blind-index keys are cached in memory;
/// subject keys are unwrapped on every call and never cached.
pub struct LocalKeyStore {
    pool: SqlitePool,
    master: tokio::sync::RwLock<MasterState>,
    tenant_keys: Mutex<HashMap<(String, i64), Key32>>,
    blind_keys: Mutex<HashMap<String, Key32>>,
    writer: tokio::sync::Mutex<()>,
    file_backed: bool,
    clock: SystemClock,
}

impl std::fmt::Debug for LocalKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyStore")
            .field("file_backed", &self.file_backed)
            .finish_non_exhaustive()
    }
}

fn subject_text(s: SubjectId) -> String {
    s.to_string()
}

fn tenant_key_aad(tenant: &str, version: i64) -> Vec<u8> {
    aad_of(&[TENANT_KEY_DOMAIN, tenant.as_bytes(), &version.to_be_bytes()])
}
fn blind_key_aad(tenant: &str) -> Vec<u8> {
    aad_of(&[BLIND_KEY_DOMAIN, tenant.as_bytes()])
}
fn subject_key_aad(tenant: &str, subject: SubjectId, version: i64) -> Vec<u8> {
    aad_of(&[
        SUBJECT_KEY_DOMAIN,
        tenant.as_bytes(),
        subject.as_bytes(),
        &version.to_be_bytes(),
    ])
}

fn parse_state(s: &str) -> Result<SubjectState, KeyError> {
    SubjectState::from_str(s)
        .map_err(|_| KeyError::Storage("unknown subject key state in the key store".to_owned()))
}

impl LocalKeyStore {
    /// Opens (creating if needed, mode 0600) the key store at `path`. Fails with
    /// [`KeyError::WrongMasterKey`] if the store was created with (or rotated to) another key.
    pub async fn open(path: &Path, master: MasterKey) -> Result<Self, KeyError> {
        create_private_file(path)?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| {
                KeyError::Storage(format!("cannot open key store {}: {e}", path.display()))
            })?;
        Self::init(pool, master, true).await
    }

    /// A store in memory, for tests.
    pub async fn in_memory(master: MasterKey) -> Result<Self, KeyError> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        // One connection that never closes: an in-memory database lives as long as it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        Self::init(pool, master, false).await
    }

    async fn init(
        pool: SqlitePool,
        master: MasterKey,
        file_backed: bool,
    ) -> Result<Self, KeyError> {
        MIGRATOR.run(&pool).await?;
        let store = Self {
            pool,
            master: tokio::sync::RwLock::new(MasterState::new(master)),
            tenant_keys: Mutex::new(HashMap::new()),
            blind_keys: Mutex::new(HashMap::new()),
            writer: tokio::sync::Mutex::new(()),
            file_backed,
            clock: SystemClock,
        };
        store.check_master().await?;
        Ok(store)
    }

    async fn check_master(&self) -> Result<(), KeyError> {
        let _w = self.writer.lock().await;
        let m = self.master.read().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT key_check FROM meta WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
        match row {
            Some(row) => {
                let kc: Vec<u8> = row.try_get("key_check")?;
                open_v1(&m.wrap, KEY_CHECK_AAD, &kc).map_err(|_| KeyError::WrongMasterKey)?;
                tx.rollback().await?;
            }
            None => {
                let kc = seal_v1(&m.wrap, KEY_CHECK_AAD, KEY_CHECK_VALUE)?;
                sqlx::query(
                    "INSERT INTO meta (id, format, key_check, master_fingerprint, created_ms) VALUES (1, ?, ?, ?, ?)",
                )
                .bind(STORE_FORMAT)
                .bind(kc)
                .bind(m.key.fingerprint())
                .bind(self.clock.now_ms())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Checkpoints the write-ahead log and closes every connection (graceful shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.checkpoint().await {
            tracing::warn!(error = %e, "key store checkpoint on close failed");
        }
        self.pool.close().await;
    }

    /// Fingerprint of the master key that opens this store.
    pub async fn master_fingerprint(&self) -> String {
        self.master.read().await.key.fingerprint()
    }

    /// Moves everything in the write-ahead log into the database file and truncates the log, so
    /// pages holding destroyed keys do not linger there.
    pub async fn checkpoint(&self) -> Result<(), KeyError> {
        if !self.file_backed {
            return Ok(());
        }
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        let busy: i64 = row.try_get(0)?;
        if busy != 0 {
            tracing::warn!("key store WAL checkpoint could not complete (database busy); it will be retried after the next erasure");
        }
        Ok(())
    }

    async fn tenant_key(
        &self,
        m: &MasterState,
        conn: &mut SqliteConnection,
        tenant: &str,
        version: i64,
    ) -> Result<Key32, KeyError> {
        if let Some(k) = lock(&self.tenant_keys).get(&(tenant.to_owned(), version)) {
            return Ok(k.clone());
        }
        let row = sqlx::query("SELECT wrapped FROM tenant_keys WHERE tenant = ? AND version = ?")
            .bind(tenant)
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?;
        let wrapped: Option<Vec<u8>> = match row {
            Some(r) => r.try_get("wrapped")?,
            None => None,
        };
        let Some(wrapped) = wrapped else {
            return Err(KeyError::Storage(format!(
                "tenant `{tenant}`: tenant key version {version} does not exist or was destroyed by a rotation (a key row restored from an old backup?)"
            )));
        };
        let key = unwrap_key(&m.wrap, &tenant_key_aad(tenant, version), &wrapped)?;
        lock(&self.tenant_keys).insert((tenant.to_owned(), version), key.clone());
        Ok(key)
    }

    async fn current_version(
        conn: &mut SqliteConnection,
        tenant: &TenantId,
    ) -> Result<i64, KeyError> {
        sqlx::query("SELECT current_version FROM tenants WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<i64, _>("current_version"))
            .transpose()?
            .ok_or_else(|| KeyError::TenantNotFound(tenant.to_string()))
    }

    async fn is_tombstoned(
        conn: &mut SqliteConnection,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<bool, KeyError> {
        Ok(
            sqlx::query("SELECT 1 FROM subject_tombstones WHERE tenant = ? AND subject = ?")
                .bind(tenant.as_str())
                .bind(subject_text(subject))
                .fetch_optional(&mut *conn)
                .await?
                .is_some(),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Creates the database file readable by its owner only, if it does not exist yet (SQLite
/// gives its -wal and -shm files the same permissions).
fn create_private_file(path: &Path) -> Result<(), KeyError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(|e| {
        KeyError::Storage(format!(
            "cannot create key store {}: {}",
            path.display(),
            e.kind()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = file.metadata() {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "key store file is readable by group or others; it holds only wrapped keys, but run `chmod 600` on it"
                );
            }
        }
    }
    drop(file);
    Ok(())
}

#[async_trait]
impl KeyStore for LocalKeyStore {
    async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), KeyError> {
        let _w = self.writer.lock().await;
        // Wrapped before the transaction starts, so no lock is awaited while it is open.
        let (wrapped_tk, wrapped_bk) = {
            let m = self.master.read().await;
            (
                wrap_key(&m.wrap, &tenant_key_aad(tenant.as_str(), 1), &random_key())?,
                wrap_key(&m.wrap, &blind_key_aad(tenant.as_str()), &random_key())?,
            )
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists = sqlx::query("SELECT 1 FROM tenants WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            tx.rollback().await?;
            return Ok(());
        }
        let now = self.clock.now_ms();
        sqlx::query(
            "INSERT INTO tenants (tenant, current_version, blind_key, created_ms) VALUES (?, 1, ?, ?)",
        )
        .bind(tenant.as_str())
        .bind(wrapped_bk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO tenant_keys (tenant, version, wrapped, created_ms) VALUES (?, 1, ?, ?)",
        )
        .bind(tenant.as_str())
        .bind(wrapped_tk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant, "created tenant key and blind-index key");
        Ok(())
    }

    async fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, KeyError> {
        Ok(sqlx::query("SELECT 1 FROM tenants WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    async fn create_subject_key(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<(), KeyError> {
        let _w = self.writer.lock().await;
        let m = self.master.read().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if Self::is_tombstoned(&mut tx, tenant, subject).await? {
            return Err(KeyError::Erased);
        }
        let exists = sqlx::query("SELECT 1 FROM subject_keys WHERE tenant = ? AND subject = ?")
            .bind(tenant.as_str())
            .bind(subject_text(subject))
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            return Err(KeyError::AlreadyExists);
        }
        let version = Self::current_version(&mut tx, tenant).await?;
        let tk = self
            .tenant_key(&m, &mut tx, tenant.as_str(), version)
            .await?;
        let wrapped = wrap_key(
            &tk,
            &subject_key_aad(tenant.as_str(), subject, version),
            &random_key(),
        )?;
        sqlx::query(
            "INSERT INTO subject_keys (tenant, subject, state, tenant_version, wrapped, created_ms) VALUES (?, ?, 'active', ?, ?, ?)",
        )
        .bind(tenant.as_str())
        .bind(subject_text(subject))
        .bind(version)
        .bind(wrapped)
        .bind(self.clock.now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn subject_key_state(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<Option<SubjectState>, KeyError> {
        let mut conn = self.pool.acquire().await?;
        if Self::is_tombstoned(&mut conn, tenant, subject).await? {
            return Ok(Some(SubjectState::Erased));
        }
        let row = sqlx::query("SELECT state FROM subject_keys WHERE tenant = ? AND subject = ?")
            .bind(tenant.as_str())
            .bind(subject_text(subject))
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(r) => Ok(Some(parse_state(&r.try_get::<String, _>("state")?)?)),
            None => Ok(None),
        }
    }

    async fn set_subject_state(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        state: SubjectState,
    ) -> Result<(), KeyError> {
        let _w = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if Self::is_tombstoned(&mut tx, tenant, subject).await? {
            return Err(KeyError::Erased);
        }
        let row = sqlx::query("SELECT state FROM subject_keys WHERE tenant = ? AND subject = ?")
            .bind(tenant.as_str())
            .bind(subject_text(subject))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(KeyError::NotFound)?;
        let from = parse_state(&row.try_get::<String, _>("state")?)?;
        if state == SubjectState::Erased {
            return Err(KeyError::InvalidTransition {
                from,
                to: SubjectState::Erased,
            });
        }
        if from != state {
            sqlx::query("UPDATE subject_keys SET state = ? WHERE tenant = ? AND subject = ?")
                .bind(state.as_str())
                .bind(tenant.as_str())
                .bind(subject_text(subject))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn erase_subject_key(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        at_ms: UnixMillis,
    ) -> Result<(), KeyError> {
        {
            let _w = self.writer.lock().await;
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(
                "INSERT OR IGNORE INTO subject_tombstones (tenant, subject, erased_ms) VALUES (?, ?, ?)",
            )
            .bind(tenant.as_str())
            .bind(subject_text(subject))
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM subject_keys WHERE tenant = ? AND subject = ?")
                .bind(tenant.as_str())
                .bind(subject_text(subject))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        tracing::info!(tenant = %tenant, subject = %subject, "subject key destroyed (crypto-shredded)");
        self.checkpoint().await
    }

    async fn erase_subject_keys(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
        at_ms: UnixMillis,
    ) -> Result<(), KeyError> {
        if subjects.is_empty() {
            return Ok(());
        }
        {
            let _w = self.writer.lock().await;
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            for subject in subjects {
                sqlx::query(
                    "INSERT OR IGNORE INTO subject_tombstones (tenant, subject, erased_ms) VALUES (?, ?, ?)",
                )
                .bind(tenant.as_str())
                .bind(subject_text(*subject))
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM subject_keys WHERE tenant = ? AND subject = ?")
                    .bind(tenant.as_str())
                    .bind(subject_text(*subject))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        tracing::info!(tenant = %tenant, subjects = subjects.len(), "subject keys destroyed (crypto-shredded)");
        self.checkpoint().await
    }

    async fn subject_cipher(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<SubjectCipher, KeyError> {
        // One read transaction: the tombstone, the key row and the tenant key come from the same
        // snapshot, so a concurrent erasure or rotation is seen entirely or not at all. The master
        // read guard is taken first so a master rotation cannot slip in between.
        let m = self.master.read().await;
        let mut tx = self.pool.begin().await?;
        if Self::is_tombstoned(&mut tx, tenant, subject).await? {
            return Err(KeyError::Erased);
        }
        let row = sqlx::query(
            "SELECT state, tenant_version, wrapped FROM subject_keys WHERE tenant = ? AND subject = ?",
        )
        .bind(tenant.as_str())
        .bind(subject_text(subject))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(KeyError::NotFound)?;
        let state = parse_state(&row.try_get::<String, _>("state")?)?;
        let version: i64 = row.try_get("tenant_version")?;
        let wrapped: Vec<u8> = row.try_get("wrapped")?;
        let tk = self
            .tenant_key(&m, &mut tx, tenant.as_str(), version)
            .await?;
        tx.rollback().await?;
        drop(m);
        let key = unwrap_key(
            &tk,
            &subject_key_aad(tenant.as_str(), subject, version),
            &wrapped,
        )?;
        Ok(SubjectCipher::new(tenant.clone(), subject, state, key))
    }

    async fn blind_indexer(&self, tenant: &TenantId) -> Result<BlindIndexer, KeyError> {
        if let Some(k) = lock(&self.blind_keys).get(tenant.as_str()) {
            return Ok(BlindIndexer::new(tenant.clone(), k.clone()));
        }
        let m = self.master.read().await;
        let wrapped: Vec<u8> = sqlx::query("SELECT blind_key FROM tenants WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| KeyError::TenantNotFound(tenant.to_string()))?
            .try_get("blind_key")?;
        let key = unwrap_key(&m.wrap, &blind_key_aad(tenant.as_str()), &wrapped)?;
        drop(m);
        lock(&self.blind_keys).insert(tenant.as_str().to_owned(), key.clone());
        Ok(BlindIndexer::new(tenant.clone(), key))
    }

    async fn rotate_master_key(&self, new_master: &MasterKey) -> Result<RotationReport, KeyError> {
        let _w = self.writer.lock().await;
        // Readers wait for the rotation; no one unwraps with a key that no longer fits.
        let mut m = self.master.write().await;
        let new = MasterState::new(new_master.clone());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut rewrapped = 0u64;

        let rows = sqlx::query(
            "SELECT tenant, version, wrapped FROM tenant_keys WHERE wrapped IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            let tenant: String = r.try_get("tenant")?;
            let version: i64 = r.try_get("version")?;
            let wrapped: Vec<u8> = r.try_get("wrapped")?;
            let aad = tenant_key_aad(&tenant, version);
            let k = unwrap_key(&m.wrap, &aad, &wrapped)?;
            sqlx::query("UPDATE tenant_keys SET wrapped = ? WHERE tenant = ? AND version = ?")
                .bind(wrap_key(&new.wrap, &aad, &k)?)
                .bind(&tenant)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            rewrapped += 1;
        }

        let rows = sqlx::query("SELECT tenant, blind_key FROM tenants")
            .fetch_all(&mut *tx)
            .await?;
        let tenants = rows.len() as u64;
        let mut blind_keys_rewrapped = 0u64;
        for r in rows {
            let tenant: String = r.try_get("tenant")?;
            let wrapped: Vec<u8> = r.try_get("blind_key")?;
            let aad = blind_key_aad(&tenant);
            let k = unwrap_key(&m.wrap, &aad, &wrapped)?;
            sqlx::query("UPDATE tenants SET blind_key = ? WHERE tenant = ?")
                .bind(wrap_key(&new.wrap, &aad, &k)?)
                .bind(&tenant)
                .execute(&mut *tx)
                .await?;
            blind_keys_rewrapped += 1;
        }

        sqlx::query(
            "UPDATE meta SET key_check = ?, master_fingerprint = ?, master_rotated_ms = ? WHERE id = 1",
        )
        .bind(seal_v1(&new.wrap, KEY_CHECK_AAD, KEY_CHECK_VALUE)?)
        .bind(new.key.fingerprint())
        .bind(self.clock.now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let fingerprint = new.key.fingerprint();
        *m = new;
        drop(m);
        tracing::info!(master = %fingerprint, rewrapped, "master key rotated");
        self.checkpoint().await?;
        Ok(RotationReport {
            rewrapped,
            blind_keys_rewrapped,
            tenants,
            tenant_key_version: None,
            destroyed_tenant_key_versions: 0,
            master_fingerprint: fingerprint,
        })
    }

    async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<RotationReport, KeyError> {
        let _w = self.writer.lock().await;
        let m = self.master.read().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let t = tenant.as_str();
        let old_version = Self::current_version(&mut tx, tenant).await?;
        let version = old_version + 1;
        let new_tk = random_key();
        let now = self.clock.now_ms();
        let wrapped_tk = wrap_key(&m.wrap, &tenant_key_aad(t, version), &new_tk)?;
        sqlx::query(
            "INSERT INTO tenant_keys (tenant, version, wrapped, created_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(t)
        .bind(version)
        .bind(wrapped_tk)
        .bind(now)
        .execute(&mut *tx)
        .await?;

        let mut rewrapped = 0u64;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT subject, tenant_version, wrapped FROM subject_keys WHERE tenant = ? AND subject > ? ORDER BY subject LIMIT ?",
            )
            .bind(t)
            .bind(&after)
            .bind(ROTATION_PAGE)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let subject_s: String = r.try_get("subject")?;
                let subject = SubjectId::from_str(&subject_s).map_err(|_| {
                    KeyError::Storage("malformed subject id in the key store".to_owned())
                })?;
                let v: i64 = r.try_get("tenant_version")?;
                let wrapped: Vec<u8> = r.try_get("wrapped")?;
                let old_tk = self.tenant_key(&m, &mut tx, t, v).await?;
                let sk = unwrap_key(&old_tk, &subject_key_aad(t, subject, v), &wrapped)?;
                let rewrapped_sk = wrap_key(&new_tk, &subject_key_aad(t, subject, version), &sk)?;
                sqlx::query(
                    "UPDATE subject_keys SET wrapped = ?, tenant_version = ? WHERE tenant = ? AND subject = ?",
                )
                .bind(rewrapped_sk)
                .bind(version)
                .bind(t)
                .bind(&subject_s)
                .execute(&mut *tx)
                .await?;
                rewrapped += 1;
                after = subject_s;
            }
        }

        sqlx::query("UPDATE tenants SET current_version = ? WHERE tenant = ?")
            .bind(version)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let destroyed = sqlx::query(
            "UPDATE tenant_keys SET wrapped = NULL, destroyed_ms = ? WHERE tenant = ? AND version < ? AND wrapped IS NOT NULL",
        )
        .bind(now)
        .bind(t)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        {
            let mut cache = lock(&self.tenant_keys);
            cache.retain(|(ct, v), _| ct != t || *v >= version);
            cache.insert((t.to_owned(), version), new_tk);
        }
        let master_fingerprint = m.key.fingerprint();
        drop(m);
        tracing::info!(tenant = %tenant, version, rewrapped, "tenant key rotated; old version destroyed");
        self.checkpoint().await?;
        Ok(RotationReport {
            rewrapped,
            blind_keys_rewrapped: 0,
            tenants: 1,
            tenant_key_version: u32::try_from(version).ok(),
            destroyed_tenant_key_versions: destroyed,
            master_fingerprint,
        })
    }

    async fn tombstones(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(SubjectId, UnixMillis)>, KeyError> {
        let rows = sqlx::query(
            "SELECT subject, erased_ms FROM subject_tombstones WHERE tenant = ? ORDER BY erased_ms, subject",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let s: String = r.try_get("subject")?;
                let at: i64 = r.try_get("erased_ms")?;
                let id = SubjectId::from_str(&s).map_err(|_| {
                    KeyError::Storage("malformed subject id in the tombstone table".to_owned())
                })?;
                Ok((id, at))
            })
            .collect()
    }
}
