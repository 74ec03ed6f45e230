//! The key store: subject key life cycle, erasure (crypto-shredding), rotation, wrong keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use sotto_core::{IdentifierKind, ObjectId, SubjectId, SubjectState, TenantId};
use sotto_keys::{
    KeyError, KeyStore, LocalKeyStore, MasterKey, ObjectContext, ObjectPurpose, SEGMENT_SIZE,
};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::path::{Path, PathBuf};

fn tenant() -> TenantId {
    TenantId::new("acme-bank").unwrap()
}

fn ctx(subject: SubjectId, purpose: ObjectPurpose) -> ObjectContext {
    ObjectContext::new(tenant(), subject, ObjectId::new(), purpose)
}

/// A separate, raw connection to the key store file (what an operator or attacker with the
/// file could do).
async fn raw(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

/// Every byte of the key store on disk: the database, its write-ahead log and shared memory.
fn disk_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(PathBuf::from(p)) {
            all.extend_from_slice(&b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

struct Sealed {
    ctx: ObjectContext,
    wrapped: Vec<u8>,
    record: Vec<u8>,
    stream: Vec<u8>,
}

const SECRET: &[u8] = b"CPR 010203-1234, Jens Hansen";

async fn seal_something(store: &LocalKeyStore, subject: SubjectId) -> Sealed {
    let c = store.subject_cipher(&tenant(), subject).await.unwrap();
    let cx = ctx(subject, ObjectPurpose::Transcript);
    let (key, wrapped) = c.new_object_key(&cx).unwrap();
    let mut long = SECRET.repeat(5000);
    long.truncate(SEGMENT_SIZE + 77);
    Sealed {
        record: key.seal("text", SECRET).unwrap(),
        stream: key.stream_encryptor().encrypt_all(&long),
        ctx: cx,
        wrapped,
    }
}

async fn open_sealed(store: &LocalKeyStore, s: &Sealed) -> Result<(), KeyError> {
    let c = store.subject_cipher(&s.ctx.tenant, s.ctx.subject).await?;
    let key = c.open_object_key(&s.ctx, &s.wrapped)?;
    assert_eq!(key.open("text", &s.record)?.expose(), SECRET);
    let long = key.stream_decryptor().decrypt_all(&s.stream)?;
    assert_eq!(&long.expose()[..SECRET.len()], SECRET);
    Ok(())
}

#[tokio::test]
async fn subject_key_life_cycle() {
    let store = LocalKeyStore::in_memory(MasterKey::generate())
        .await
        .unwrap();
    let t = tenant();
    let s = SubjectId::new();
    assert!(!store.tenant_exists(&t).await.unwrap());
    assert!(matches!(
        store.create_subject_key(&t, s).await,
        Err(KeyError::TenantNotFound(_))
    ));
    store.ensure_tenant(&t).await.unwrap();
    store.ensure_tenant(&t).await.unwrap();
    assert!(store.tenant_exists(&t).await.unwrap());

    assert_eq!(store.subject_key_state(&t, s).await.unwrap(), None);
    assert!(matches!(
        store.subject_cipher(&t, s).await,
        Err(KeyError::NotFound)
    ));
    assert!(matches!(
        store
            .set_subject_state(&t, s, SubjectState::Restricted)
            .await,
        Err(KeyError::NotFound)
    ));
    store.create_subject_key(&t, s).await.unwrap();
    assert!(matches!(
        store.create_subject_key(&t, s).await,
        Err(KeyError::AlreadyExists)
    ));
    assert_eq!(
        store.subject_key_state(&t, s).await.unwrap(),
        Some(SubjectState::Active)
    );

    store
        .set_subject_state(&t, s, SubjectState::Restricted)
        .await
        .unwrap();
    assert_eq!(
        store.subject_key_state(&t, s).await.unwrap(),
        Some(SubjectState::Restricted)
    );
    store
        .set_subject_state(&t, s, SubjectState::Restricted)
        .await
        .unwrap();
    store
        .set_subject_state(&t, s, SubjectState::Active)
        .await
        .unwrap();
    assert!(matches!(
        store.set_subject_state(&t, s, SubjectState::Erased).await,
        Err(KeyError::InvalidTransition { .. })
    ));
    let sealed = seal_something(&store, s).await;
    open_sealed(&store, &sealed).await.unwrap();

    store.erase_subject_key(&t, s, 1_000).await.unwrap();
    store.erase_subject_key(&t, s, 2_000).await.unwrap(); // idempotent, keeps the first time
    assert_eq!(
        store.subject_key_state(&t, s).await.unwrap(),
        Some(SubjectState::Erased)
    );
    assert!(matches!(
        store.subject_cipher(&t, s).await,
        Err(KeyError::Erased)
    ));
    assert!(matches!(
        open_sealed(&store, &sealed).await,
        Err(KeyError::Erased)
    ));
    assert!(matches!(
        store.create_subject_key(&t, s).await,
        Err(KeyError::Erased)
    ));
    assert!(matches!(
        store.set_subject_state(&t, s, SubjectState::Active).await,
        Err(KeyError::Erased)
    ));
    assert_eq!(store.tombstones(&t).await.unwrap(), vec![(s, 1_000)]);

    // Erasing a subject that never had a key still blocks it for good.
    let never = SubjectId::new();
    store.erase_subject_key(&t, never, 3_000).await.unwrap();
    assert!(matches!(
        store.create_subject_key(&t, never).await,
        Err(KeyError::Erased)
    ));
    assert_eq!(
        store.tombstones(&t).await.unwrap(),
        vec![(s, 1_000), (never, 3_000)]
    );
    assert!(store
        .tombstones(&TenantId::new("x").unwrap())
        .await
        .unwrap()
        .is_empty());

    // Other subjects are untouched.
    let other = SubjectId::new();
    store.create_subject_key(&t, other).await.unwrap();
    open_sealed(&store, &seal_something(&store, other).await)
        .await
        .unwrap();
}

#[tokio::test]
async fn restored_key_row_is_refused_because_the_tombstone_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = LocalKeyStore::open(&path, MasterKey::generate())
        .await
        .unwrap();
    let t = tenant();
    let s = SubjectId::new();
    store.ensure_tenant(&t).await.unwrap();
    store.create_subject_key(&t, s).await.unwrap();
    let sealed = seal_something(&store, s).await;

    // "Backup": copy the wrapped key row before erasure.
    let raw = raw(&path).await;
    let row = sqlx::query(
        "SELECT tenant, subject, state, tenant_version, wrapped, created_ms FROM subject_keys WHERE subject = ?",
    )
    .bind(s.to_string())
    .fetch_one(&raw)
    .await
    .unwrap();
    let backup: (String, String, String, i64, Vec<u8>, i64) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    );

    store.erase_subject_key(&t, s, 42).await.unwrap();

    // "Restore": put the row back with raw SQL.
    sqlx::query(
        "INSERT INTO subject_keys (tenant, subject, state, tenant_version, wrapped, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&backup.0).bind(&backup.1).bind(&backup.2).bind(backup.3).bind(&backup.4).bind(backup.5)
    .execute(&raw)
    .await
    .unwrap();

    assert!(matches!(
        store.subject_cipher(&t, s).await,
        Err(KeyError::Erased)
    ));
    assert_eq!(
        store.subject_key_state(&t, s).await.unwrap(),
        Some(SubjectState::Erased)
    );
    assert!(matches!(
        open_sealed(&store, &sealed).await,
        Err(KeyError::Erased)
    ));
    assert!(matches!(
        store.create_subject_key(&t, s).await,
        Err(KeyError::Erased)
    ));

    // If the tombstone were lost as well (a whole old backup restored), the restored row would
    // work — until the tenant key is rotated, which destroys the key that wrapped it.
    sqlx::query("DELETE FROM subject_tombstones")
        .execute(&raw)
        .await
        .unwrap();
    open_sealed(&store, &sealed).await.unwrap();
    store.erase_subject_key(&t, s, 43).await.unwrap();
    let report = store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!(report.tenant_key_version, Some(2));
    assert_eq!(report.destroyed_tenant_key_versions, 1);
    sqlx::query("DELETE FROM subject_tombstones")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO subject_keys (tenant, subject, state, tenant_version, wrapped, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&backup.0).bind(&backup.1).bind(&backup.2).bind(backup.3).bind(&backup.4).bind(backup.5)
    .execute(&raw)
    .await
    .unwrap();
    let r = open_sealed(&store, &sealed).await;
    assert!(
        matches!(r, Err(KeyError::Storage(ref m)) if m.contains("destroyed")),
        "{r:?}"
    );
    // Even pretending the row was wrapped under the new version does not help.
    sqlx::query("UPDATE subject_keys SET tenant_version = 2 WHERE subject = ?")
        .bind(s.to_string())
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(
        open_sealed(&store, &sealed).await,
        Err(KeyError::Integrity)
    ));
}

/// Tries every 73-byte window of `bytes` that starts with the wrapped-key version byte as the
/// subject's wrapped key, with the master key at hand and the tombstone removed — everything an
/// attacker holding the master key and a copy of `keys.db` could try. Returns whether any of
/// them opens the sealed data.
async fn attacker_can_open(
    store: &LocalKeyStore,
    raw: &SqlitePool,
    bytes: &[u8],
    s: &Sealed,
) -> bool {
    let subject = s.ctx.subject.to_string();
    sqlx::query("DELETE FROM subject_tombstones")
        .execute(raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM subject_keys WHERE subject = ?")
        .bind(&subject)
        .execute(raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO subject_keys (tenant, subject, state, tenant_version, wrapped, created_ms) VALUES (?, ?, 'active', 1, zeroblob(73), 0)",
    )
    .bind(s.ctx.tenant.as_str())
    .bind(&subject)
    .execute(raw)
    .await
    .unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut opened = false;
    for w in bytes.windows(73).filter(|w| w[0] == 1) {
        if !seen.insert(w.to_vec()) {
            continue;
        }
        sqlx::query("UPDATE subject_keys SET wrapped = ? WHERE subject = ?")
            .bind(w)
            .bind(&subject)
            .execute(raw)
            .await
            .unwrap();
        if open_sealed(store, s).await.is_ok() {
            opened = true;
            break;
        }
    }
    assert!(!seen.is_empty());
    opened
}

#[tokio::test]
async fn after_erasure_no_byte_of_the_key_store_opens_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let master = MasterKey::generate();
    let store = LocalKeyStore::open(&path, master.clone()).await.unwrap();
    let t = tenant();
    store.ensure_tenant(&t).await.unwrap();
    let s = SubjectId::new();
    store.create_subject_key(&t, s).await.unwrap();
    // Neighbours, so the erased row shares its page with live rows.
    for _ in 0..20 {
        store
            .create_subject_key(&t, SubjectId::new())
            .await
            .unwrap();
    }
    let sealed = seal_something(&store, s).await;
    let raw = raw(&path).await;
    let wrapped: Vec<u8> = sqlx::query("SELECT wrapped FROM subject_keys WHERE subject = ?")
        .bind(s.to_string())
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrapped.len(), 73);

    // Control: before erasure the key is on disk, and the attack below does find it.
    let before = disk_bytes(&path);
    assert!(contains(&before, &wrapped));

    store.erase_subject_key(&t, s, 7).await.unwrap();
    let after = disk_bytes(&path);
    assert!(
        !contains(&after, &wrapped),
        "wrapped subject key still on disk after erasure"
    );
    assert!(
        !contains(&after, &wrapped[25..]),
        "ciphertext part of the wrapped key still on disk"
    );
    assert!(!contains(&after, SECRET));
    let wal = std::fs::metadata(dir.path().join("keys.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the WAL is truncated after an erasure");

    // With the master key and every byte left in the files, the data stays closed...
    assert!(!attacker_can_open(&store, &raw, &after, &sealed).await);
    // ...while the same attack on the bytes from before the erasure would have worked.
    assert!(attacker_can_open(&store, &raw, &before, &sealed).await);
}

#[tokio::test]
async fn data_survives_master_and_tenant_rotation_and_old_master_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let m1 = MasterKey::generate();
    let t = tenant();
    let s1 = SubjectId::new();
    let s2 = SubjectId::new();
    let (sealed1, digest) = {
        let store = LocalKeyStore::open(&path, m1.clone()).await.unwrap();
        store.ensure_tenant(&t).await.unwrap();
        store
            .ensure_tenant(&TenantId::new("second").unwrap())
            .await
            .unwrap();
        store.create_subject_key(&t, s1).await.unwrap();
        store.create_subject_key(&t, s2).await.unwrap();
        let digest = store
            .blind_indexer(&t)
            .await
            .unwrap()
            .digest(IdentifierKind::Phone, "+4520304050");
        (seal_something(&store, s1).await, digest)
    };

    // Wrong master key on open.
    let r = LocalKeyStore::open(&path, MasterKey::generate()).await;
    assert!(matches!(r, Err(KeyError::WrongMasterKey)), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("wrong master key"));

    let m2 = MasterKey::generate();
    {
        let store = LocalKeyStore::open(&path, m1.clone()).await.unwrap();
        let report = store.rotate_master_key(&m2).await.unwrap();
        assert_eq!(report.rewrapped, 2, "one live tenant key per tenant");
        assert_eq!(report.blind_keys_rewrapped, 2);
        assert_eq!(report.tenants, 2);
        assert_eq!(report.master_fingerprint, m2.fingerprint());
        assert_eq!(store.master_fingerprint().await, m2.fingerprint());
        // The open store keeps working with the new key.
        open_sealed(&store, &sealed1).await.unwrap();
        store
            .create_subject_key(&t, SubjectId::new())
            .await
            .unwrap();
    }
    assert!(matches!(
        LocalKeyStore::open(&path, m1.clone()).await,
        Err(KeyError::WrongMasterKey)
    ));

    let store = LocalKeyStore::open(&path, m2.clone()).await.unwrap();
    open_sealed(&store, &sealed1).await.unwrap();
    assert_eq!(
        store
            .blind_indexer(&t)
            .await
            .unwrap()
            .digest(IdentifierKind::Phone, "+4520304050"),
        digest,
        "blind indexes are stable across master rotation"
    );

    let sealed2 = seal_something(&store, s2).await;
    let report = store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!(report.rewrapped, 3);
    assert_eq!(report.tenant_key_version, Some(2));
    assert_eq!(report.destroyed_tenant_key_versions, 1);
    open_sealed(&store, &sealed1).await.unwrap();
    open_sealed(&store, &sealed2).await.unwrap();
    let report = store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!(report.tenant_key_version, Some(3));
    open_sealed(&store, &sealed1).await.unwrap();
    assert_eq!(
        store
            .blind_indexer(&t)
            .await
            .unwrap()
            .digest(IdentifierKind::Phone, "+4520304050"),
        digest,
        "blind indexes are stable across tenant rotation"
    );

    // Old tenant key versions are destroyed, not just superseded.
    let raw = raw(&path).await;
    let live: i64 =
        sqlx::query("SELECT COUNT(*) FROM tenant_keys WHERE tenant = ? AND wrapped IS NOT NULL")
            .bind(t.as_str())
            .fetch_one(&raw)
            .await
            .unwrap()
            .get(0);
    assert_eq!(live, 1);
    assert!(matches!(
        store
            .rotate_tenant_key(&TenantId::new("nobody").unwrap())
            .await,
        Err(KeyError::TenantNotFound(_))
    ));

    // And everything still opens after a fresh start with the new master key.
    drop(store);
    let store = LocalKeyStore::open(&path, m2).await.unwrap();
    open_sealed(&store, &sealed1).await.unwrap();
    open_sealed(&store, &sealed2).await.unwrap();
}

#[tokio::test]
async fn key_store_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = LocalKeyStore::open(&path, MasterKey::generate())
        .await
        .unwrap();
    store.ensure_tenant(&tenant()).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[tokio::test]
async fn concurrent_use_of_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = std::sync::Arc::new(
        LocalKeyStore::open(&path, MasterKey::generate())
            .await
            .unwrap(),
    );
    let t = tenant();
    store.ensure_tenant(&t).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let s = SubjectId::new();
                store.create_subject_key(&t, s).await.unwrap();
                let sealed = seal_something(&store, s).await;
                open_sealed(&store, &sealed).await.unwrap();
                if i % 2 == 0 {
                    store.erase_subject_key(&t, s, 1).await.unwrap();
                    assert!(matches!(
                        store.subject_cipher(&t, s).await,
                        Err(KeyError::Erased)
                    ));
                }
            }
        }));
    }
    let rotator = {
        let store = store.clone();
        let t = t.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                store.rotate_tenant_key(&t).await.unwrap();
                store
                    .rotate_master_key(&MasterKey::generate())
                    .await
                    .unwrap();
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    rotator.await.unwrap();
    assert_eq!(store.tombstones(&t).await.unwrap().len(), 40);
}
