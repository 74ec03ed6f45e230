//! Tampering with the database file behind the log's back (raw SQL, as an operator with shell
//! access could), and what verification says about it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_audit::{
    Action, AuditLog, AuditOptions, CheckpointSigner, Entry, Outcome, ProblemKind,
    SignedCheckpoint, VerifyReport,
};
use sotto_core::{SubjectId, TenantId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};

const N: u64 = 1000;

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_seed("sotto.local/audit/tamper", &[5u8; 32]).unwrap()
}

fn entry(i: u64) -> Entry {
    let mut e = Entry::new(
        TenantId::new("acme").unwrap(),
        1_700_000_000_000 + i as i64 * 1000,
        format!("user:agent-{}", i % 7),
        if i % 3 == 0 {
            Action::RecordingPlay
        } else {
            Action::TranscriptRead
        },
        Outcome::Ok,
    );
    e.subject = Some(SubjectId::new());
    e.object = Some(format!("interaction:{i}"));
    e.from = Some("10.1.2.3".into());
    e
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// Checkpoints at 250, 500, 750, 1000 as a DPO would have kept them.
    kept: Vec<SignedCheckpoint>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let opts = AuditOptions {
        origin: Some("sotto.local/audit/tamper".into()),
        checkpoint_every: 0,
        trusted: Vec::new(),
    };
    let log = AuditLog::open_with(&path, signer(), opts).await.unwrap();
    let mut kept = Vec::new();
    for q in 0..4 {
        log.append_batch((q * 250..(q + 1) * 250).map(entry).collect())
            .await
            .unwrap();
        kept.push(log.checkpoint().await.unwrap());
    }
    let rep = log.verify(kept.last()).await.unwrap();
    assert!(rep.is_ok(), "{rep}");
    assert_eq!(rep.checkpoints_checked, 5);
    log.close().await;
    Fixture {
        _dir: dir,
        path,
        kept,
    }
}

/// A raw connection with the append-only triggers dropped, as a determined operator would.
async fn raw(path: &Path) -> SqliteConnection {
    let mut c = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    for t in [
        "audit_pages_no_update",
        "audit_pages_no_delete",
        "audit_lookup_no_update",
        "audit_lookup_no_delete",
        "audit_nodes_no_update",
        "audit_nodes_no_delete",
        "audit_checkpoints_no_update",
        "audit_checkpoints_no_delete",
    ] {
        sqlx::raw_sql(&format!("DROP TRIGGER {t}"))
            .execute(&mut c)
            .await
            .unwrap();
    }
    c
}

/// (seq, body, leaf hash, original page) of an unpacked entry.
type UnpackedRow = (i64, Vec<u8>, Vec<u8>, Option<i64>);
/// (seq, body, leaf hash) of an entry to pack.
type Packed = (i64, Vec<u8>, Vec<u8>);

/// Runs `sql` against the raw tables.
async fn exec_raw(c: &mut SqliteConnection, sql: &str) {
    sqlx::raw_sql(sql).execute(&mut *c).await.unwrap();
}

/// Runs `sql` with the entries laid out one row each, as an operator with a little tooling
/// would: the pages are unpacked into a temporary `audit_entries (seq, body, leaf_hash)`
/// table, `sql` edits it (and whatever else it names), and the result is packed back into
/// pages, keeping the original page boundaries where the seqs still run on.
async fn exec(c: &mut SqliteConnection, sql: &str) {
    exec_raw(
        c,
        "CREATE TEMP TABLE audit_entries (seq INTEGER PRIMARY KEY, body TEXT, leaf_hash BLOB,
             page INTEGER,
             at_ms INTEGER GENERATED ALWAYS AS (json_extract(body, '$.at_ms')) VIRTUAL)",
    )
    .await;
    let pages: Vec<(i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT first_seq, bodies, leaf_hashes FROM audit_pages ORDER BY first_seq")
            .fetch_all(&mut *c)
            .await
            .unwrap();
    for (first, bodies, hashes) in pages {
        let mut at = 0usize;
        let mut i = 0usize;
        while at < bodies.len() {
            let len = u32::from_le_bytes(bodies[at..at + 4].try_into().unwrap()) as usize;
            let body = std::str::from_utf8(&bodies[at + 4..at + 4 + len]).unwrap();
            sqlx::query(
                "INSERT INTO temp.audit_entries (seq, body, leaf_hash, page) VALUES (?, ?, ?, ?)",
            )
            .bind(first + i as i64)
            .bind(body)
            .bind(&hashes[i * 32..i * 32 + 32])
            .bind(first)
            .execute(&mut *c)
            .await
            .unwrap();
            at += 4 + len;
            i += 1;
        }
    }
    exec_raw(c, sql).await;
    let rows: Vec<UnpackedRow> = sqlx::query_as(
        "SELECT seq, CAST(body AS BLOB), leaf_hash, page FROM temp.audit_entries ORDER BY seq",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    exec_raw(
        c,
        "DELETE FROM main.audit_pages; DROP TABLE temp.audit_entries;",
    )
    .await;
    // Group into runs of consecutive seqs from the same original page.
    let mut groups: Vec<Vec<Packed>> = Vec::new();
    let mut last: Option<(i64, i64)> = None;
    for (seq, body, hash, page) in rows {
        let page = page.or(last.map(|(_, p)| p)).unwrap_or(seq);
        match (last, groups.last_mut()) {
            (Some((ls, lp)), Some(g)) if ls + 1 == seq && lp == page => g.push((seq, body, hash)),
            _ => groups.push(vec![(seq, body, hash)]),
        }
        last = Some((seq, page));
    }
    for g in groups {
        let mut bodies = Vec::new();
        let mut hashes = Vec::new();
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (_, body, hash) in &g {
            bodies.extend_from_slice(&(body.len() as u32).to_le_bytes());
            bodies.extend_from_slice(body);
            hashes.extend_from_slice(hash);
            let at = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["at_ms"].as_i64())
                .unwrap_or(0);
            lo = lo.min(at);
            hi = hi.max(at);
        }
        sqlx::query(
            "INSERT INTO audit_pages (first_seq, count, bodies, leaf_hashes, min_at_ms, max_at_ms)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(g[0].0)
        .bind(g.len() as i64)
        .bind(bodies)
        .bind(hashes)
        .bind(lo)
        .bind(hi)
        .execute(&mut *c)
        .await
        .unwrap();
    }
}

async fn verify(f: &Fixture, kept: Option<&SignedCheckpoint>) -> VerifyReport {
    let log = AuditLog::open(&f.path, signer()).await.unwrap();
    let rep = log.verify(kept).await.unwrap();
    log.close().await;
    rep
}

/// Reads entry `seq` back as an `Entry` through the log (for forging a matching leaf hash).
async fn read_entry(path: &Path, seq: u64) -> Entry {
    let log = AuditLog::open(path, signer()).await.unwrap();
    let e = log.get(seq).await.unwrap().unwrap().entry;
    log.close().await;
    e
}

/// The canonical encoding as an SQL string literal body.
fn body(e: &Entry, seq: u64) -> String {
    String::from_utf8(e.canonical_bytes(seq))
        .unwrap()
        .replace('\'', "''")
}

fn first(rep: &VerifyReport) -> (Option<u64>, ProblemKind) {
    let p = rep
        .problems
        .first()
        .unwrap_or_else(|| panic!("no problem found:\n{rep}"));
    (p.seq, p.kind)
}

fn has(rep: &VerifyReport, seq: Option<u64>, kind: ProblemKind) -> bool {
    rep.problems.iter().any(|p| p.seq == seq && p.kind == kind)
}

#[tokio::test]
async fn the_triggers_refuse_updates_and_deletes() {
    let f = fixture().await;
    let mut c = SqliteConnectOptions::new()
        .filename(&f.path)
        .connect()
        .await
        .unwrap();
    for sql in [
        "UPDATE audit_pages SET count = 1 WHERE first_seq = 0",
        "DELETE FROM audit_pages WHERE first_seq = 750",
        "DELETE FROM audit_lookup",
        "UPDATE audit_lookup SET seq = seq + 1",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET note = '' WHERE id = 1",
        "DELETE FROM audit_nodes",
    ] {
        let e = sqlx::raw_sql(sql).execute(&mut c).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    c.close().await.unwrap();
    assert!(verify(&f, f.kept.last()).await.is_ok());
}

#[tokio::test]
async fn an_edited_field_is_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        "UPDATE audit_entries SET body = json_set(body, '$.actor', 'user:someone-else')
         WHERE seq = 123",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(first(&rep), (Some(123), ProblemKind::EditedEntry), "{rep}");
    assert_eq!(rep.first_bad_seq(), Some(123));
    // Every checkpoint covering entry 123 no longer matches; the message points at it.
    assert!(has(&rep, Some(123), ProblemKind::HistoryRewritten), "{rep}");
    assert_eq!(rep.of_kind(ProblemKind::HistoryRewritten).len(), 4);
    assert_eq!(rep.of_kind(ProblemKind::EditedEntry).len(), 1);
    assert_eq!(rep.checkpoints_checked, 0);
}

#[tokio::test]
async fn each_editable_column_is_covered() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    let edits = [
        (10, "body = json_set(body, '$.tenant', 'other')"),
        (20, "body = json_set(body, '$.at_ms', at_ms + 1)"),
        (30, "body = json_set(body, '$.action', 'export')"),
        (40, "body = json_set(body, '$.subject', NULL)"),
        (
            50,
            "body = json_set(body, '$.object', 'interaction:999999')",
        ),
        (60, "body = json_set(body, '$.from', NULL)"),
        (70, "body = json_set(body, '$.purpose', 'made up')"),
        (80, "body = json_set(body, '$.outcome', 'denied')"),
        (90, "leaf_hash = zeroblob(32)"),
        (100, "body = json_set(body, '$.at_ms', 'not a number')"),
        (110, "body = json_set(body, '$.action', 'transcript.write')"),
        (120, "body = body || ' '"),
        // A raw newline pushes verification off its fast path onto the row-by-row one.
        (
            130,
            "body = replace(body, '\"actor\"', char(10) || '\"actor\"')",
        ),
        (140, "body = json_set(body, '$.seq', 141)"),
    ];
    for (seq, set) in edits {
        exec(
            &mut c,
            &format!("UPDATE audit_entries SET {set} WHERE seq = {seq}"),
        )
        .await;
    }
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    let edited: Vec<u64> = rep
        .of_kind(ProblemKind::EditedEntry)
        .iter()
        .filter_map(|p| p.seq)
        .collect();
    assert_eq!(
        edited,
        edits.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        "{rep}"
    );
}

#[tokio::test]
async fn an_edit_with_a_recomputed_leaf_hash_is_caught_by_the_checkpoints() {
    let f = fixture().await;
    // The operator knows the encoding and rewrites the leaf hash too.
    let mut forged = read_entry(&f.path, 600).await;
    forged.actor = "user:nobody".into();
    let h = hex::encode(forged.leaf_hash(600));
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        &format!(
            "UPDATE audit_entries SET body = '{}', leaf_hash = X'{h}' WHERE seq = 600",
            body(&forged, 600)
        ),
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    // The checkpoints at 250 and 500 still match, those at 750 and 1000 do not: the change
    // is narrowed to entries 500..750.
    assert_eq!(
        first(&rep),
        (Some(500), ProblemKind::HistoryRewritten),
        "{rep}"
    );
    assert_eq!(rep.of_kind(ProblemKind::HistoryRewritten).len(), 2);
    assert_eq!(rep.checkpoints_checked, 2);
    assert!(
        rep.problems[0].detail.contains("entries 500 to 749"),
        "{rep}"
    );
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    exec(&mut c, "DELETE FROM audit_entries WHERE seq = 321").await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(first(&rep), (Some(321), ProblemKind::MissingEntry), "{rep}");
    assert!(rep.problems[0].detail.contains("entry 321 is missing"));
}

#[tokio::test]
async fn a_deleted_entry_with_later_ones_renumbered_is_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        "DELETE FROM audit_entries WHERE seq = 321;
         UPDATE audit_entries SET seq = -seq WHERE seq > 321;
         UPDATE audit_entries SET seq = -seq - 1 WHERE seq < 0;
         UPDATE audit_meta SET size = size - 1;",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(first(&rep), (Some(321), ProblemKind::MissingEntry), "{rep}");
    assert!(
        rep.problems[0]
            .detail
            .contains("1 entry was removed at seq 321"),
        "{rep}"
    );
}

#[tokio::test]
async fn swapped_entries_are_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Whole rows swap places (each keeps its own leaf hash).
    exec(
        &mut c,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 200;
         UPDATE audit_entries SET seq = 200 WHERE seq = 700;
         UPDATE audit_entries SET seq = 700 WHERE seq = -1;",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(
        first(&rep),
        (Some(200), ProblemKind::ReorderedEntry),
        "{rep}"
    );
    assert!(rep.problems[0].detail.contains("200 and 700"));
    assert_eq!(rep.of_kind(ProblemKind::ReorderedEntry).len(), 1);
}

#[tokio::test]
async fn swapped_contents_under_fixed_hashes_are_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Only the fields move; the leaf hashes stay where they were.
    exec(
        &mut c,
        "CREATE TEMP TABLE t AS SELECT seq, body FROM audit_entries WHERE seq IN (401, 402);
         UPDATE audit_entries SET body = (SELECT body FROM t WHERE t.seq = 803 - audit_entries.seq)
         WHERE seq IN (401, 402);",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(
        first(&rep),
        (Some(401), ProblemKind::ReorderedEntry),
        "{rep}"
    );
}

#[tokio::test]
async fn a_forged_entry_inserted_in_the_middle_is_named() {
    let f = fixture().await;
    // Make room at seq 400 and insert an entry with a correct leaf hash for that position.
    let mut forged = entry(400);
    forged.actor = "user:alibi".into();
    let h = hex::encode(forged.leaf_hash(400));
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        &format!(
            "UPDATE audit_entries SET seq = -seq WHERE seq >= 400;
             UPDATE audit_entries SET seq = -seq + 1 WHERE seq < 0;
             INSERT INTO audit_entries (seq, body, leaf_hash) VALUES (400, '{}', X'{h}');
             UPDATE audit_meta SET size = size + 1;",
            body(&forged, 400)
        ),
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(
        first(&rep),
        (Some(400), ProblemKind::InsertedEntry),
        "{rep}"
    );
    assert!(rep.problems[0]
        .detail
        .contains("1 entry was inserted at seq 400"));
    // No entry before it is blamed.
    assert!(rep.problems.iter().all(|p| p.seq.is_none_or(|s| s >= 400)));
}

#[tokio::test]
async fn a_forged_entry_appended_at_the_end_is_named() {
    let f = fixture().await;
    let forged = entry(N);
    let h = hex::encode(forged.leaf_hash(N));
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        &format!(
            "INSERT INTO audit_entries (seq, body, leaf_hash) VALUES ({N}, '{}', X'{h}')",
            body(&entry(N + 1), N)
        ),
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    // Its hash does not even match its fields, and the log's own counter says 1000.
    assert!(has(&rep, Some(N), ProblemKind::InsertedEntry), "{rep}");
    assert!(has(&rep, Some(N), ProblemKind::EditedEntry), "{rep}");
    assert_eq!(rep.first_bad_seq(), Some(N));
}

#[tokio::test]
async fn a_rollback_is_caught_by_the_stored_checkpoints_and_the_counter() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    exec(&mut c, "DELETE FROM audit_entries WHERE seq >= 900").await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(first(&rep), (Some(900), ProblemKind::RolledBack), "{rep}");
    // The checkpoint at 1000 and the counter both say so.
    assert!(rep
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::RolledBack && p.detail.contains("checkpoint")));
    // A log that was rolled back refuses further appends until someone looks at it.
    let log = AuditLog::open(&f.path, signer()).await.unwrap();
    assert!(log.append(entry(900)).await.is_err());
}

#[tokio::test]
async fn a_thorough_rollback_is_caught_by_a_kept_checkpoint() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Delete the last 100 entries, every checkpoint and tree node that mentions them, reset
    // the counters: nothing inside the database remembers the lost entries...
    exec(
        &mut c,
        "DELETE FROM audit_entries WHERE seq >= 900;
         DELETE FROM audit_lookup WHERE seq >= 900;
         DELETE FROM audit_checkpoints WHERE size > 900;
         UPDATE sqlite_sequence SET seq = (SELECT MAX(id) FROM audit_checkpoints)
             WHERE name = 'audit_checkpoints';
         DELETE FROM audit_nodes WHERE ((idx + 1) << level) > 900;
         UPDATE audit_meta SET size = 900;",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert!(rep.is_ok(), "{rep}");
    // ...but the DPO's copy of the checkpoint at 1000 does.
    let rep = verify(&f, f.kept.last()).await;
    assert_eq!(first(&rep), (Some(900), ProblemKind::RolledBack), "{rep}");
    assert_eq!(rep.problems.len(), 1, "{rep}");
    // An older kept checkpoint is still consistent.
    assert!(verify(&f, Some(&f.kept[2])).await.is_ok());
}

#[tokio::test]
async fn deleted_checkpoints_are_noticed() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    exec(&mut c, "DELETE FROM audit_checkpoints WHERE size >= 750").await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(rep.problems[0].kind, ProblemKind::MissingCheckpoint);
    assert!(rep.problems[0].detail.contains("#3 to #4"));
}

#[tokio::test]
async fn rewritten_history_is_caught_by_a_kept_checkpoint() {
    let f = fixture().await;
    // Rewrite entry 42 with a matching leaf hash, then remove every checkpoint and node.
    let mut forged = read_entry(&f.path, 42).await;
    forged.outcome = Outcome::Denied;
    let h = hex::encode(forged.leaf_hash(42));
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        &format!(
            "UPDATE audit_entries SET body = '{}', leaf_hash = X'{h}' WHERE seq = 42;
             DELETE FROM audit_checkpoints;
             DELETE FROM sqlite_sequence WHERE name = 'audit_checkpoints';",
            body(&forged, 42)
        ),
    )
    .await;
    c.close().await.unwrap();
    assert!(verify(&f, None).await.is_ok());
    let rep = verify(&f, Some(&f.kept[0])).await;
    assert_eq!(
        first(&rep),
        (Some(0), ProblemKind::HistoryRewritten),
        "{rep}"
    );
    assert!(rep.problems[0].detail.contains("entries 0 to 249"));
    // A kept checkpoint from before the rewritten entry is unaffected... there is none here
    // (42 < 250), but one after it is caught too.
    let rep = verify(&f, f.kept.last()).await;
    assert_eq!(first(&rep).1, ProblemKind::HistoryRewritten);
}

#[tokio::test]
async fn a_checkpoint_with_a_bad_signature_is_caught() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Change the size in the signed body of checkpoint #2 (500 -> 499).
    exec(
        &mut c,
        "UPDATE audit_checkpoints SET note = replace(note, char(10) || '500' || char(10),
             char(10) || '499' || char(10)), size = 499 WHERE id = 2",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(rep.problems[0].kind, ProblemKind::BadCheckpointSignature);
    assert!(rep.problems[0].detail.contains("#2"));
    assert_eq!(rep.checkpoints_checked, 3);

    // A checkpoint signed by another key, planted to vouch for a rewritten log.
    let mallory = CheckpointSigner::from_seed("sotto.local/audit/tamper", &[6u8; 32]).unwrap();
    let planted = mallory
        .sign_checkpoint("sotto.local/audit/tamper", 1000, &[7u8; 32])
        .unwrap();
    let rep = verify(&f, Some(&planted)).await;
    assert!(rep
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::BadCheckpointSignature && p.detail.contains("kept")));

    // A garbled note is reported, not fatal. (Opening the log re-created the triggers.)
    let mut c = raw(&f.path).await;
    exec(
        &mut c,
        "UPDATE audit_checkpoints SET note = 'garbage' WHERE id = 3",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert!(rep
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MalformedCheckpoint && p.detail.contains("#3")));
}

#[tokio::test]
async fn a_kept_checkpoint_for_another_log_is_reported() {
    let f = fixture().await;
    let other = signer()
        .sign_checkpoint("sotto.local/audit/elsewhere", 10, &[1u8; 32])
        .unwrap();
    let rep = verify(&f, Some(&other)).await;
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(rep.problems[0].kind, ProblemKind::MalformedCheckpoint);
}

#[tokio::test]
async fn a_rebuilt_table_with_writable_columns_is_reported() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Plain columns could be edited to hide pages from queries without touching the bodies.
    exec_raw(
        &mut c,
        "ALTER TABLE audit_pages RENAME TO old_pages;
         CREATE TABLE audit_pages (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL,
             bodies BLOB NOT NULL, leaf_hashes BLOB NOT NULL, min_at_ms INTEGER NOT NULL,
             max_at_ms INTEGER NOT NULL, tenant TEXT);
         INSERT INTO audit_pages SELECT *, NULL FROM old_pages;
         DROP TABLE old_pages;",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, f.kept.last()).await;
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(rep.problems[0].kind, ProblemKind::SchemaChanged);
    assert_eq!(rep.checkpoints_checked, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_across_verification_chunks_are_all_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let log = AuditLog::open(&path, signer()).await.unwrap();
    for b in 0..5u64 {
        log.append_batch((b * 4000..(b + 1) * 4000).map(entry).collect())
            .await
            .unwrap();
    }
    let kept = log.checkpoint().await.unwrap();
    assert!(log.verify(Some(&kept)).await.unwrap().is_ok());
    log.close().await;
    let mut c = raw(&path).await;
    exec(
        &mut c,
        "DELETE FROM audit_entries WHERE seq = 8192;
         DELETE FROM audit_entries WHERE seq >= 10000 AND seq < 10010;
         DELETE FROM audit_entries WHERE seq >= 16384 AND seq < 24576;
         UPDATE audit_entries SET body = json_set(body, '$.purpose', 'x') WHERE seq = 8191;",
    )
    .await;
    c.close().await.unwrap();
    let log = AuditLog::open(&path, signer()).await.unwrap();
    let rep = log.verify(Some(&kept)).await.unwrap();
    let found: Vec<(Option<u64>, ProblemKind)> = rep
        .problems
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::MissingEntry | ProblemKind::EditedEntry))
        .map(|p| (p.seq, p.kind))
        .collect();
    assert_eq!(
        found,
        vec![
            (Some(8191), ProblemKind::EditedEntry),
            (Some(8192), ProblemKind::MissingEntry),
            (Some(10000), ProblemKind::MissingEntry),
        ],
        "{rep}"
    );
    // Entries 16384.. are gone at the end: the log is shorter than the kept checkpoint.
    assert!(has(&rep, Some(16384), ProblemKind::RolledBack), "{rep}");
}

#[tokio::test]
async fn removed_query_lookups_are_noticed() {
    let f = fixture().await;
    let subject = read_entry(&f.path, 123).await.subject.unwrap();
    let mut c = raw(&f.path).await;
    // Hide entry 123 from queries by its subject without touching the entry.
    exec_raw(&mut c, "DELETE FROM audit_lookup WHERE seq = 123").await;
    c.close().await.unwrap();
    let log = AuditLog::open(&f.path, signer()).await.unwrap();
    let q = sotto_audit::Query {
        subject: Some(subject),
        ..Default::default()
    };
    let tenant = TenantId::new("acme").unwrap();
    assert!(log.query(&tenant, &q).await.unwrap().is_empty());
    let rep = log.verify(f.kept.last()).await.unwrap();
    assert_eq!(rep.problems.len(), 1, "{rep}");
    assert_eq!(rep.problems[0].kind, ProblemKind::LookupChanged, "{rep}");
}

#[tokio::test]
async fn a_malformed_page_is_named() {
    let f = fixture().await;
    let mut c = raw(&f.path).await;
    // Cut the last bytes off the page holding entries 500 to 749.
    exec_raw(
        &mut c,
        "UPDATE audit_pages SET bodies = substr(bodies, 1, length(bodies) - 10) WHERE first_seq = 500",
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert_eq!(first(&rep), (Some(500), ProblemKind::EditedEntry), "{rep}");
    assert!(rep.problems[0].detail.contains("malformed"), "{rep}");
    assert!(has(&rep, Some(749), ProblemKind::MissingEntry), "{rep}");
}

#[tokio::test]
async fn an_overlapping_page_is_named() {
    let f = fixture().await;
    let forged = entry(600);
    let mut bodies = Vec::new();
    let b = forged.canonical_bytes(600);
    bodies.extend_from_slice(&(b.len() as u32).to_le_bytes());
    bodies.extend_from_slice(&b);
    let h = hex::encode(forged.leaf_hash(600));
    let mut c = raw(&f.path).await;
    // A one-entry page at seq 600, inside the page that starts at 500.
    exec_raw(
        &mut c,
        &format!(
            "INSERT INTO audit_pages VALUES (600, 1, X'{}', X'{h}', 0, 0)",
            hex::encode(&bodies)
        ),
    )
    .await;
    c.close().await.unwrap();
    let rep = verify(&f, None).await;
    assert!(has(&rep, Some(600), ProblemKind::InsertedEntry), "{rep}");
}
