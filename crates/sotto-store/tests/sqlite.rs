//! SQLite-only guarantees: secure deletion down to the file bytes, read-only data directories,
//! corrupt rows, persistence, concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sotto_core::*;
use sotto_store::*;
use sqlx::Connection;

async fn tenant_and_subject(s: &SqliteStore) -> (TenantId, SubjectId) {
    let t = TenantId::new("acme").unwrap();
    s.put_tenant(&TenantRow {
        id: t.clone(),
        name: "Acme".into(),
        mode: ProcessingMode::Record,
        created_ms: 0,
    })
    .await
    .unwrap();
    let id = SubjectId::new();
    s.insert_subject(&SubjectRow {
        tenant: t.clone(),
        id,
        state: SubjectState::Active,
        created_ms: 0,
        erased_ms: None,
    })
    .await
    .unwrap();
    (t, id)
}

fn bundle(
    t: &TenantId,
    subject: SubjectId,
    started_ms: i64,
    meta: Vec<u8>,
    text: Vec<u8>,
    key: Vec<u8>,
) -> InteractionBundle {
    let id = InteractionId::new();
    let rid = ObjectId::new();
    InteractionBundle {
        interaction: InteractionRow {
            tenant: t.clone(),
            id,
            subject,
            channel: Channel::Call,
            direction: Direction::Inbound,
            started_ms,
            ended_ms: started_ms + 1,
            case_id: None,
            created_ms: started_ms,
            wrapped_key: key.clone(),
            sealed_meta: meta,
            redaction_counts: "{}".into(),
        },
        segments: vec![SegmentRow {
            interaction: id,
            id: SegmentId::new(),
            seq: 0,
            speaker: Speaker::Caller,
            kind: SegmentKind::Personal,
            start_ms: 0,
            end_ms: 1,
            sealed_text: text.clone(),
            sealed_words: Some(text),
        }],
        recordings: vec![RecordingRow {
            interaction: id,
            id: rid,
            blob_key: format!("t/{t}/s/{subject}/{rid}"),
            codec: "g711-ulaw-zstd".into(),
            sample_rate: 8000,
            channels: 1,
            duration_ms: 1,
            size_bytes: 1,
            wrapped_key: key,
            created_ms: started_ms,
        }],
    }
}

fn count_occurrences(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// secure_delete: after a deletion and `checkpoint_truncate`, the deleted ciphertext is not in
/// the database file nor the WAL — small values inside a page, and a large value that lived in
/// overflow pages alike.
#[tokio::test]
async fn deleted_content_is_overwritten_in_db_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sotto.db");
    let wal = with_suffix(&db, "-wal");
    let store = SqliteStore::open(&db).await.unwrap();
    let (t, victim) = tenant_and_subject(&store).await;
    let bystander = SubjectId::new();
    store
        .insert_subject(&SubjectRow {
            tenant: t.clone(),
            id: bystander,
            state: SubjectState::Active,
            created_ms: 0,
            erased_ms: None,
        })
        .await
        .unwrap();

    let marker = format!("CANARY-{}-", uuid_like());
    let small = marker.clone().into_bytes(); // lives inside a b-tree page
    let big: Vec<u8> = marker.repeat(20_000 / marker.len()).into_bytes(); // overflow pages
    let key = format!("KEYCANARY-{}", uuid_like()).into_bytes();
    let keep_marker = format!("KEEP-{}-", uuid_like()).into_bytes();

    // Victim and bystander rows interleaved so they share pages.
    let mut bundles = Vec::new();
    for k in 0..20 {
        bundles.push(bundle(
            &t,
            victim,
            k * 2,
            small.clone(),
            big.clone(),
            key.clone(),
        ));
        bundles.push(bundle(
            &t,
            bystander,
            k * 2 + 1,
            keep_marker.clone(),
            keep_marker.clone(),
            keep_marker.clone(),
        ));
    }
    store.insert_interactions(&bundles).await.unwrap();
    store.checkpoint_truncate().await.unwrap();
    let before = file_bytes(&db);
    assert!(
        count_occurrences(&before, marker.as_bytes()) > 0,
        "test must see the canary first"
    );
    assert!(count_occurrences(&before, &key) > 0);

    let report = store.delete_subject_content(&t, victim, &[]).await.unwrap();
    assert_eq!(report.interactions, 20);
    // Between the deletion and the checkpoint the WAL holds the new, zeroed page images.
    store.checkpoint_truncate().await.unwrap();

    let after_db = file_bytes(&db);
    let after_wal = file_bytes(&wal);
    assert_eq!(after_wal.len(), 0, "WAL must be truncated");
    assert_eq!(
        count_occurrences(&after_db, marker.as_bytes()),
        0,
        "deleted content left in the db file"
    );
    assert_eq!(
        count_occurrences(&after_db, &key),
        0,
        "deleted key left in the db file"
    );
    assert_eq!(count_occurrences(&after_wal, marker.as_bytes()), 0);
    // The bystander's rows are still there.
    assert!(count_occurrences(&after_db, &keep_marker) >= 20);
    assert_eq!(store.count_interactions(&t).await.unwrap(), 20);
    store.close().await;
    // Nothing comes back when the file is opened again.
    let after_close = file_bytes(&db);
    assert_eq!(count_occurrences(&after_close, marker.as_bytes()), 0);
}

fn uuid_like() -> String {
    ObjectId::new().to_string()
}

/// A directory we cannot write into. Permission bits do not stop root, so when they don't,
/// fall back to /sys (read-only for everyone); `None` if neither works here.
fn read_only_dir(base: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let ro = base.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"x").is_err() {
        return Some(ro);
    }
    let _ = std::fs::remove_file(ro.join("probe"));
    let sys = PathBuf::from("/sys");
    if sys.is_dir() && std::fs::write(sys.join("sotto-probe"), b"x").is_err() {
        return Some(sys);
    }
    None
}

#[tokio::test]
async fn read_only_directory_is_reported_as_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some(ro) = read_only_dir(dir.path()) else {
        eprintln!("SKIPPED: no read-only directory available to this user");
        return;
    };
    // Existing read-only directory, and a missing one beneath it that cannot be created.
    for db in [ro.join("sotto.db"), ro.join("sub/sotto.db")] {
        match SqliteStore::open(&db).await {
            Err(StoreError::ReadOnly(msg)) => assert!(msg.contains("write access"), "{msg}"),
            other => panic!("expected ReadOnly for {}, got {other:?}", db.display()),
        }
    }
    for blobs in [ro.clone(), ro.join("blobs")] {
        match BlobStore::local(&blobs) {
            Err(StoreError::ReadOnly(_)) => {}
            other => panic!("expected ReadOnly for {}, got {other:?}", blobs.display()),
        }
    }
    use std::os::unix::fs::PermissionsExt;
    if ro.starts_with(dir.path()) {
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A value outside the enum (written by hand, past the CHECK constraints) reads back as
/// `Corrupt`, and the message does not repeat the stored value.
#[tokio::test]
async fn unknown_enum_values_read_back_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sotto.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let (t, a) = tenant_and_subject(&store).await;
    let b = bundle(&t, a, 1, vec![1], vec![2], vec![3]);
    let iid = b.interaction.id;
    store.insert_interactions(&[b]).await.unwrap();

    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // CHECK constraints refuse it...
    assert!(
        sqlx::query("UPDATE interactions SET channel = 'fax-secret'")
            .execute(&mut raw)
            .await
            .is_err()
    );
    // ...unless someone goes around them.
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE interactions SET channel = 'fax-secret'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE segments SET speaker = 'robot'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE tenants SET mode = 'everything'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE subjects SET state = 'zombie'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE recordings SET sample_rate = -5")
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();

    let e = store.get_interaction(&t, iid).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt(m) if m.contains("interactions.channel") && !m.contains("fax")),
        "{e}"
    );
    assert!(!e.to_string().contains("fax-secret"));
    assert!(matches!(
        store
            .list_interactions(&t, &InteractionFilter::default())
            .await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.segments(iid).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.recordings(iid).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_tenant(&t).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.list_tenants().await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_subject(&t, a).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store
            .set_subject_state(&t, a, SubjectState::Erased, 1)
            .await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/dir/sotto.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let (t, a) = tenant_and_subject(&store).await;
    store
        .insert_interactions(&[bundle(&t, a, 1, vec![1], vec![2], vec![3])])
        .await
        .unwrap();
    store.close().await;
    drop(store);
    let store = SqliteStore::open(&db).await.unwrap();
    assert_eq!(store.count_interactions(&t).await.unwrap(), 1);
    assert_eq!(store.path(), Some(db.as_path()));
    store.vacuum().await.unwrap();
    store.checkpoint_truncate().await.unwrap();
    assert_eq!(store.count_subjects(&t).await.unwrap(), 1);
}

/// Many tasks writing and reading at once: writes queue on the writer connection (no "database
/// is locked"), and the in-memory store really is one database shared by every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use() {
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        SqliteStore::in_memory().await.unwrap(),
        SqliteStore::open(&dir.path().join("c.db")).await.unwrap(),
    ];
    for store in stores {
        let (t, _) = tenant_and_subject(&store).await;
        let mut tasks = Vec::new();
        for k in 0..32 {
            let store = store.clone();
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let id = SubjectId::new();
                store
                    .insert_subject(&SubjectRow {
                        tenant: t.clone(),
                        id,
                        state: SubjectState::Active,
                        created_ms: k,
                        erased_ms: None,
                    })
                    .await
                    .unwrap();
                store
                    .insert_interactions(&[bundle(&t, id, k, vec![1], vec![2], vec![3])])
                    .await
                    .unwrap();
                store.count_interactions(&t).await.unwrap()
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.count_subjects(&t).await.unwrap(), 33);
        assert_eq!(store.count_interactions(&t).await.unwrap(), 32);
    }
}

/// A bulk insert leaves no big WAL behind (its pages, with everything it wrote, are copied into
/// the database and the WAL is cut to zero), so the next write — often an erasure — does not pay
/// for truncating it.
#[tokio::test]
async fn bulk_insert_trims_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bulk.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let (t, a) = tenant_and_subject(&store).await;
    let bundles: Vec<_> = (0..10_000)
        .map(|k| bundle(&t, a, k, vec![1; 100], vec![2; 100], vec![3; 40]))
        .collect();
    store.insert_interactions(&bundles).await.unwrap();
    assert_eq!(
        std::fs::metadata(with_suffix(&db, "-wal"))
            .map(|m| m.len())
            .unwrap_or(0),
        0
    );
    assert_eq!(store.count_interactions(&t).await.unwrap(), 10_000);
}
