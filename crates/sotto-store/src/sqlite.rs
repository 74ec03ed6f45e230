//! [`Store`] on SQLite (the embedded default).
//!
//! Layout: one *writer* pool with a single connection — every write method runs on it inside
//! `BEGIN IMMEDIATE`, so writes queue in-process instead of racing for SQLite's lock — and a
//! *reader* pool of a few connections that read concurrently thanks to WAL. The in-memory store
//! uses one connection for both (see [`SqliteStore::in_memory`]).
//!
//! Every connection gets the same pragmas (see [`connect_options`]): `secure_delete`,
//! `foreign_keys`, WAL, `synchronous=FULL`, `temp_store=MEMORY`, a busy timeout and a WAL size
//! limit. Queries are runtime `sqlx::query` strings; sqlx keeps one prepared statement per SQL
//! string and connection, so loops such as [`Store::insert_interactions`] reuse their statements.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sotto_core::{
    CaseId, IdentifierKind, InteractionId, ObjectId, ProcessingMode, SubjectId, SubjectState,
    TenantId, UnixMillis,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Row, Sqlite, Transaction};

use crate::model::*;
use crate::policy_model::*;
use crate::{Store, StoreError};

mod policy;

/// Embedded migrations (`crates/sotto-store/migrations/`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a connection waits for SQLite's lock (another process, or a checkpoint) before
/// failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Page cache of the writer connection (negative: KiB). A big transaction (a batch of 100,000
/// interactions, or an erasure touching thousands of scattered pages) that outgrows the cache
/// spills pages to the WAL mid-transaction and writes them again at commit.
const WRITER_CACHE_KIB: &str = "-65536";
/// SQLite checkpoints automatically inside the commit that takes the WAL past this many pages.
/// The default (1,000 pages, 4 MiB) makes an erasure of 1,000 scattered interactions (~4,000
/// rewritten pages) pay for a full checkpoint inside its own commit; 10,000 pages (40 MiB) keeps
/// that cost out of `delete_subject_content` — the vault calls `checkpoint_truncate` right after
/// an erasure anyway.
const WAL_AUTOCHECKPOINT_PAGES: &str = "10000";
/// Rows (interactions + segments) from which `insert_interactions` trims the WAL after commit.
const BULK_ROWS: usize = 20_000;
/// How long a write waits for the writer connection. Writes queue behind each other in-process;
/// sqlx's default of 30 s is shorter than a large bulk insert or a VACUUM on a slow disk.
const WRITER_QUEUE_TIMEOUT: Duration = Duration::from_secs(300);
/// Readers that may run at once next to the writer.
const READERS: u32 = 4;
/// After a checkpoint the WAL file is cut back to this size, so old page images (which may hold
/// deleted ciphertext) do not sit in an ever-growing WAL. `checkpoint_truncate` cuts it to 0.
const JOURNAL_SIZE_LIMIT: &str = "4194304";

/// SQLite metadata store. Cheap to clone (pools are shared).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: Option<PathBuf>,
}

fn connect_options() -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        // Guarantee: deleted content is overwritten with zeros in the page (and freed pages are
        // zeroed), so erased ciphertext does not survive in free space of the database file.
        .pragma("secure_delete", "ON")
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL, not NORMAL: in WAL mode NORMAL keeps the database consistent but may lose the
        // last committed transactions on power loss or an OS crash. Guarantee 7 ("a failure loses
        // no committed data") wants FULL: one fsync of the WAL per commit. Writes are batched
        // (one transaction per `insert_interactions` call), so the cost is one fsync per batch.
        .synchronous(SqliteSynchronous::Full)
        // Sorts and temporary tables stay in memory: no temp files with row content on disk.
        .pragma("temp_store", "MEMORY")
        .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT)
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .busy_timeout(BUSY_TIMEOUT)
        // No statement logging at all, and no "slow statement" WARN lines: a bulk retention
        // run or import legitimately runs statements over sqlx's 1 s threshold, and those
        // warnings drowned the operator's output (and benchmarks). Failures still surface as
        // errors; the SQL text never carried values (everything is bound).
        .disable_statement_logging()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the migrations.
    ///
    /// A directory or file we may not write is [`StoreError::ReadOnly`]: SQLite in WAL mode needs
    /// to create `-wal` and `-shm` files beside the database, so the directory must be writable
    /// too.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| io_error("create database directory", &dir, e))?;
        probe_writable(&dir)?;
        if path.exists() {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| io_error("open database file", path, e))?;
        }

        let opts = connect_options().filename(path).create_if_missing(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(WRITER_QUEUE_TIMEOUT)
            .connect_with(opts.clone().pragma("cache_size", WRITER_CACHE_KIB))
            .await
            .map_err(map_err("open"))?;
        MIGRATOR.run(&writer).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => match map_err("migrate")(inner) {
                StoreError::ReadOnly(m) => StoreError::ReadOnly(m),
                other => StoreError::Migration(other.to_string()),
            },
            other => StoreError::Migration(other.to_string()),
        })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(0)
            .connect_with(opts)
            .await
            .map_err(map_err("open"))?;
        Ok(Self {
            writer,
            reader,
            path: Some(path.to_path_buf()),
        })
    }

    /// A private in-memory database, for tests.
    ///
    /// An SQLite `:memory:` database lives exactly as long as the one connection that opened it;
    /// a second connection would see a different, empty database. So this store has a pool of
    /// exactly one connection that never expires or idles out, used for reads and writes alike.
    /// (`cache=shared` would let several connections share it, but shared-cache mode replaces
    /// busy waiting with immediate `SQLITE_LOCKED` errors — worse for tests that run tasks
    /// concurrently.) WAL does not apply to memory databases; the other pragmas do.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let opts = connect_options()
            .filename(":memory:")
            .in_memory(true)
            .journal_mode(SqliteJournalMode::Memory);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(map_err("open in-memory"))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            path: None,
        })
    }

    /// The database file, if this store has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Copies every page from the WAL into the database file and truncates the WAL to zero bytes,
    /// so page images written before a deletion do not linger in the `-wal` file. Waits (up to
    /// the busy timeout) for readers to finish; fails if a reader still holds an old snapshot.
    pub async fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        if self.path.is_none() {
            return Ok(());
        }
        let mut conn = self.writer.acquire().await.map_err(map_err("checkpoint"))?;
        for attempt in 0..20u32 {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err("checkpoint"))?;
            let busy: i64 = row.try_get(0).map_err(map_err("checkpoint"))?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt + 1))).await;
        }
        Err(StoreError::Database {
            op: "checkpoint",
            message: "the WAL could not be truncated: a reader kept an old snapshot open".into(),
        })
    }

    /// Rebuilds the database file (`VACUUM`), dropping free pages and defragmenting. Slow on a big
    /// database and needs free disk space of the database's size; run it in a maintenance window,
    /// then [`checkpoint_truncate`](Self::checkpoint_truncate).
    pub async fn vacuum(&self) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await.map_err(map_err("vacuum"))?;
        sqlx::query("VACUUM")
            .execute(&mut *conn)
            .await
            .map_err(map_err("vacuum"))?;
        Ok(())
    }

    /// Closes both pools (waits for running queries).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// After a bulk write the WAL holds the whole batch (hundreds of MiB for 100,000
    /// interactions). SQLite's auto-checkpoint copies it back, but cuts the file down only when
    /// the *next* write starts — which would put ~0.3 s of truncation into, say, the next erasure.
    /// So the bulk write pays for it itself. Best effort: the data is committed either way, and a
    /// checkpoint that cannot finish now (a reader holds a snapshot) is simply left for later.
    async fn trim_wal_after_bulk_write(&self) {
        if self.path.is_none() {
            return;
        }
        let res = match self.writer.acquire().await {
            Ok(mut conn) => sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            tracing::warn!(error = %map_err("checkpoint")(e), "WAL not trimmed after bulk insert");
        }
    }

    async fn begin_write(
        &self,
        op: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err(op))
    }
}

/// Creates and removes a probe file: the only reliable way to know a directory is writable
/// (permission bits lie for root, and read-only mounts do not show in them).
pub(crate) fn probe_writable(dir: &Path) -> Result<(), StoreError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let probe = dir.join(format!(".sotto-write-probe-{}-{nanos}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| io_error("write to data directory", dir, e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            StoreError::ReadOnly(format!(
                "cannot {what} {}: {e}; give the service user write access to it (SQLite needs to \
             create the -wal and -shm files beside the database)",
                path.display()
            ))
        }
        _ => StoreError::Database {
            op: "open",
            message: format!("cannot {what} {}: {e}", path.display()),
        },
    }
}

/// Maps an sqlx error to a [`StoreError`]. SQLite's messages name tables, columns and
/// constraints, never values, so they are safe to keep.
/// One erasure receipt row, inside the caller's transaction (single and batch erasures).
async fn insert_erasure_receipt_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    r: &ErasureReceiptRow,
    op: &'static str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO erasure_receipts (tenant, id, subject, at_ms, actor, details) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(r.tenant.as_str())
    .bind(r.id.to_string())
    .bind(r.subject.to_string())
    .bind(r.at_ms)
    .bind(r.actor.as_str())
    .bind(r.details.as_str())
    .execute(&mut **tx)
    .await
    .map_err(map_err(op))?;
    Ok(())
}

pub(crate) fn map_err(op: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) => {
            use sqlx::error::ErrorKind;
            // Primary result code = low byte of the extended code.
            let primary = d
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match (d.kind(), primary) {
                (ErrorKind::UniqueViolation, _) => {
                    StoreError::Conflict(format!("{op}: a row with this key already exists"))
                }
                (ErrorKind::ForeignKeyViolation, _) => StoreError::NotFound(format!(
                    "{op}: a referenced tenant, subject or interaction does not exist"
                )),
                // SQLITE_READONLY
                (_, Some(8)) => StoreError::ReadOnly(format!("{op}: {}", d.message())),
                _ => StoreError::Database {
                    op,
                    message: d.message().to_owned(),
                },
            }
        }
        sqlx::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            StoreError::ReadOnly(format!("{op}: {io}"))
        }
        _ => StoreError::Database {
            op,
            message: e.to_string(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Reading rows

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn get<'r, T>(row: &'r SqliteRow, col: &'static str, table: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get::<T, _>(col)
        .map_err(|_| corrupt(&format!("{table}.{col} has the wrong type")))
}

/// Parses a TEXT column into an id or enum. The stored value is not put in the message.
fn parse<T: FromStr>(
    row: &SqliteRow,
    col: &'static str,
    table: &'static str,
) -> Result<T, StoreError> {
    let s: String = get(row, col, table)?;
    s.parse::<T>()
        .map_err(|_| corrupt(&format!("{table}.{col} holds an unknown value")))
}

fn parse_opt<T: FromStr>(
    row: &SqliteRow,
    col: &'static str,
    table: &'static str,
) -> Result<Option<T>, StoreError> {
    let s: Option<String> = get(row, col, table)?;
    s.map(|s| {
        s.parse::<T>()
            .map_err(|_| corrupt(&format!("{table}.{col} holds an unknown value")))
    })
    .transpose()
}

fn int<T: TryFrom<i64>>(
    row: &SqliteRow,
    col: &'static str,
    table: &'static str,
) -> Result<T, StoreError> {
    let v: i64 = get(row, col, table)?;
    T::try_from(v).map_err(|_| corrupt(&format!("{table}.{col} is out of range")))
}

const TENANT_COLS: &str = "id, name, mode, created_ms";
fn tenant_row(r: &SqliteRow) -> Result<TenantRow, StoreError> {
    const T: &str = "tenants";
    Ok(TenantRow {
        id: parse(r, "id", T)?,
        name: get(r, "name", T)?,
        mode: parse(r, "mode", T)?,
        created_ms: get(r, "created_ms", T)?,
    })
}

const SUBJECT_COLS: &str = "tenant, id, state, created_ms, erased_ms";
fn subject_row(r: &SqliteRow) -> Result<SubjectRow, StoreError> {
    const T: &str = "subjects";
    Ok(SubjectRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        state: parse(r, "state", T)?,
        created_ms: get(r, "created_ms", T)?,
        erased_ms: get(r, "erased_ms", T)?,
    })
}

const INTERACTION_COLS: &str = "tenant, id, subject, channel, direction, started_ms, ended_ms, \
     case_id, created_ms, wrapped_key, sealed_meta, redaction_counts";
fn interaction_row(r: &SqliteRow) -> Result<InteractionRow, StoreError> {
    const T: &str = "interactions";
    Ok(InteractionRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        subject: parse(r, "subject", T)?,
        channel: parse(r, "channel", T)?,
        direction: parse(r, "direction", T)?,
        started_ms: get(r, "started_ms", T)?,
        ended_ms: get(r, "ended_ms", T)?,
        case_id: parse_opt(r, "case_id", T)?,
        created_ms: get(r, "created_ms", T)?,
        wrapped_key: get(r, "wrapped_key", T)?,
        sealed_meta: get(r, "sealed_meta", T)?,
        redaction_counts: get(r, "redaction_counts", T)?,
    })
}

const SEGMENT_COLS: &str =
    "interaction, id, seq, speaker, kind, start_ms, end_ms, sealed_text, sealed_words";
fn segment_row(r: &SqliteRow) -> Result<SegmentRow, StoreError> {
    const T: &str = "segments";
    Ok(SegmentRow {
        interaction: parse(r, "interaction", T)?,
        id: parse(r, "id", T)?,
        seq: get(r, "seq", T)?,
        speaker: parse(r, "speaker", T)?,
        kind: parse(r, "kind", T)?,
        start_ms: get(r, "start_ms", T)?,
        end_ms: get(r, "end_ms", T)?,
        sealed_text: get(r, "sealed_text", T)?,
        sealed_words: get(r, "sealed_words", T)?,
    })
}

const RECORDING_COLS: &str = "interaction, id, blob_key, codec, sample_rate, channels, \
     duration_ms, size_bytes, wrapped_key, created_ms";
fn recording_row(r: &SqliteRow) -> Result<RecordingRow, StoreError> {
    const T: &str = "recordings";
    Ok(RecordingRow {
        interaction: parse(r, "interaction", T)?,
        id: parse(r, "id", T)?,
        blob_key: get(r, "blob_key", T)?,
        codec: get(r, "codec", T)?,
        sample_rate: int(r, "sample_rate", T)?,
        channels: int(r, "channels", T)?,
        duration_ms: get(r, "duration_ms", T)?,
        size_bytes: get(r, "size_bytes", T)?,
        wrapped_key: get(r, "wrapped_key", T)?,
        created_ms: get(r, "created_ms", T)?,
    })
}

const CONSENT_COLS: &str = "tenant, id, subject, purpose, basis, state, source, at_ms, interaction";
fn consent_row(r: &SqliteRow) -> Result<ConsentRow, StoreError> {
    const T: &str = "consents";
    Ok(ConsentRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        subject: parse(r, "subject", T)?,
        purpose: parse(r, "purpose", T)?,
        basis: parse(r, "basis", T)?,
        state: parse(r, "state", T)?,
        source: get(r, "source", T)?,
        at_ms: get(r, "at_ms", T)?,
        interaction: parse_opt(r, "interaction", T)?,
    })
}

const CASE_COLS: &str = "tenant, id, reference, opened_ms, closed_ms";
fn case_row(r: &SqliteRow) -> Result<CaseRow, StoreError> {
    const T: &str = "cases";
    Ok(CaseRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        reference: get(r, "reference", T)?,
        opened_ms: get(r, "opened_ms", T)?,
        closed_ms: get(r, "closed_ms", T)?,
    })
}

const HOLD_COLS: &str =
    "tenant, id, scope, target, reason, created_by, created_ms, until_ms, released_ms";
fn hold_row(r: &SqliteRow) -> Result<LegalHoldRow, StoreError> {
    const T: &str = "legal_holds";
    Ok(LegalHoldRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        scope: parse(r, "scope", T)?,
        target: get(r, "target", T)?,
        reason: get(r, "reason", T)?,
        created_by: get(r, "created_by", T)?,
        created_ms: get(r, "created_ms", T)?,
        until_ms: get(r, "until_ms", T)?,
        released_ms: get(r, "released_ms", T)?,
    })
}

const RECEIPT_COLS: &str = "tenant, id, subject, at_ms, actor, details";
fn receipt_row(r: &SqliteRow) -> Result<ErasureReceiptRow, StoreError> {
    const T: &str = "erasure_receipts";
    Ok(ErasureReceiptRow {
        tenant: parse(r, "tenant", T)?,
        id: parse(r, "id", T)?,
        subject: parse(r, "subject", T)?,
        at_ms: get(r, "at_ms", T)?,
        actor: get(r, "actor", T)?,
        details: get(r, "details", T)?,
    })
}

fn rows<T>(
    rs: Vec<SqliteRow>,
    f: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rs.iter().map(f).collect()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Writing rows

/// Rows per multi-row `INSERT`. One statement per row costs a round trip to sqlx's connection
/// thread each; 64 rows per statement cut that 64-fold while staying far below SQLite's limit of
/// 32,766 parameters. Full chunks share one SQL string, hence one cached prepared statement.
const ROWS_PER_INSERT: usize = 64;

/// `INSERT INTO {table} ({cols}) VALUES (?, …), …` for `rows` rows.
fn insert_sql(table: &str, cols: &[&str], rows: usize) -> String {
    let one = format!("({})", vec!["?"; cols.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        cols.join(", "),
        vec![one; rows].join(", ")
    )
}

const INTERACTION_INSERT_COLS: &[&str] = &[
    "tenant",
    "id",
    "subject",
    "channel",
    "direction",
    "started_ms",
    "ended_ms",
    "case_id",
    "created_ms",
    "wrapped_key",
    "sealed_meta",
    "redaction_counts",
];
const SEGMENT_INSERT_COLS: &[&str] = &[
    "interaction",
    "id",
    "seq",
    "speaker",
    "kind",
    "start_ms",
    "end_ms",
    "sealed_text",
    "sealed_words",
];
const TIMELINE_INSERT_COLS: &[&str] = &[
    "interaction",
    "seq",
    "at_ms",
    "leg",
    "kind",
    "detail",
    "actor",
    "sealed_reason",
];
const TIMELINE_COLS: &str = "interaction, seq, at_ms, leg, kind, detail, actor, sealed_reason";
fn timeline_row(r: &SqliteRow) -> Result<TimelineRow, StoreError> {
    const T: &str = "timeline_events";
    Ok(TimelineRow {
        interaction: parse(r, "interaction", T)?,
        seq: get(r, "seq", T)?,
        at_ms: get(r, "at_ms", T)?,
        leg: get(r, "leg", T)?,
        kind: get(r, "kind", T)?,
        detail: get(r, "detail", T)?,
        actor: get(r, "actor", T)?,
        sealed_reason: get(r, "sealed_reason", T)?,
    })
}
const RECORDING_INSERT_COLS: &[&str] = &[
    "interaction",
    "id",
    "blob_key",
    "codec",
    "sample_rate",
    "channels",
    "duration_ms",
    "size_bytes",
    "wrapped_key",
    "created_ms",
];

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Inserts `items` in chunks of [`ROWS_PER_INSERT`] rows per statement; `bind` adds one row's
/// values in `cols` order.
async fn insert_chunked<T>(
    tx: &mut Transaction<'static, Sqlite>,
    table: &str,
    cols: &[&str],
    items: &[&T],
    bind: impl for<'q> Fn(SqliteQuery<'q>, &'q T) -> SqliteQuery<'q>,
) -> Result<(), StoreError> {
    let full_sql = insert_sql(table, cols, ROWS_PER_INSERT);
    for chunk in items.chunks(ROWS_PER_INSERT) {
        let partial_sql;
        let sql = if chunk.len() == ROWS_PER_INSERT {
            &full_sql
        } else {
            partial_sql = insert_sql(table, cols, chunk.len());
            &partial_sql
        };
        let mut q = sqlx::query(sql);
        for item in chunk {
            q = bind(q, item);
        }
        q.execute(&mut **tx)
            .await
            .map_err(map_err("insert_interactions"))?;
    }
    Ok(())
}

/// The ids in `keep` as a JSON array, for `json_each(?)`: one parameter however many are kept.
fn json_ids(keep: &[InteractionId]) -> String {
    let ids: Vec<String> = keep.iter().map(|k| k.to_string()).collect();
    serde_json::Value::from(ids).to_string()
}

#[async_trait]
impl Store for SqliteStore {
    async fn checkpoint(&self) -> Result<(), StoreError> {
        self.checkpoint_truncate().await
    }

    async fn put_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        const OP: &str = "put_tenant";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, mode, created_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, mode = excluded.mode",
        )
        .bind(t.id.as_str())
        .bind(t.name.as_str())
        .bind(t.mode.as_str())
        .bind(t.created_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        tx.commit().await.map_err(map_err(OP))
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<TenantRow>, StoreError> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?");
        sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err("get_tenant"))?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRow>, StoreError> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id");
        let rs = sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("list_tenants"))?;
        rows(rs, tenant_row)
    }

    async fn insert_subject(&self, s: &SubjectRow) -> Result<(), StoreError> {
        const OP: &str = "insert_subject";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(
            "INSERT INTO subjects (tenant, id, state, created_ms, erased_ms) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(s.tenant.as_str())
        .bind(s.id.to_string())
        .bind(s.state.as_str())
        .bind(s.created_ms)
        .bind(s.erased_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        tx.commit().await.map_err(map_err(OP))
    }

    async fn get_subject(
        &self,
        tenant: &TenantId,
        id: SubjectId,
    ) -> Result<Option<SubjectRow>, StoreError> {
        let sql = format!("SELECT {SUBJECT_COLS} FROM subjects WHERE tenant = ? AND id = ?");
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err("get_subject"))?
            .as_ref()
            .map(subject_row)
            .transpose()
    }

    /// An erased subject stays erased: moving it to another state is `Conflict` (its key is gone;
    /// reviving the row would be a lie). Erasing it again keeps the first `erased_ms`.
    async fn set_subject_state(
        &self,
        tenant: &TenantId,
        id: SubjectId,
        state: SubjectState,
        at_ms: UnixMillis,
    ) -> Result<(), StoreError> {
        const OP: &str = "set_subject_state";
        let mut tx = self.begin_write(OP).await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT state FROM subjects WHERE tenant = ? AND id = ?")
                .bind(tenant.as_str())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err(OP))?;
        let current: SubjectState = match current {
            None => return Err(StoreError::NotFound(format!("subject {id}"))),
            Some(s) => s
                .parse()
                .map_err(|_| corrupt("subjects.state holds an unknown value"))?,
        };
        if current == SubjectState::Erased && state != SubjectState::Erased {
            return Err(StoreError::Conflict(format!(
                "{OP}: subject {id} is erased and cannot become {}",
                state.as_str()
            )));
        }
        let erased_ms = (state == SubjectState::Erased).then_some(at_ms);
        sqlx::query(
            "UPDATE subjects SET state = ?, erased_ms = COALESCE(erased_ms, ?) \
             WHERE tenant = ? AND id = ?",
        )
        .bind(state.as_str())
        .bind(erased_ms)
        .bind(tenant.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        tx.commit().await.map_err(map_err(OP))
    }

    async fn put_subject_index(&self, row: &SubjectIndexRow) -> Result<(), StoreError> {
        const OP: &str = "put_subject_index";
        let mut tx = self.begin_write(OP).await?;
        let inserted = sqlx::query(
            "INSERT INTO subject_index (tenant, kind, digest, subject) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant, kind, digest) DO NOTHING",
        )
        .bind(row.tenant.as_str())
        .bind(row.kind.as_str())
        .bind(row.digest.as_slice())
        .bind(row.subject.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        if inserted == 0 {
            let existing: String = sqlx::query_scalar(
                "SELECT subject FROM subject_index WHERE tenant = ? AND kind = ? AND digest = ?",
            )
            .bind(row.tenant.as_str())
            .bind(row.kind.as_str())
            .bind(row.digest.as_slice())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err(OP))?;
            if existing != row.subject.to_string() {
                return Err(StoreError::Conflict(format!(
                    "{OP}: this {} identifier already points at another subject",
                    row.kind.as_str()
                )));
            }
        }
        tx.commit().await.map_err(map_err(OP))
    }

    async fn find_subject(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        digest: &[u8],
    ) -> Result<Option<SubjectId>, StoreError> {
        let s: Option<String> = sqlx::query_scalar(
            "SELECT subject FROM subject_index WHERE tenant = ? AND kind = ? AND digest = ?",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .bind(digest)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err("find_subject"))?;
        s.map(|s| {
            s.parse()
                .map_err(|_| corrupt("subject_index.subject holds an unknown value"))
        })
        .transpose()
    }

    async fn count_subjects(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subjects WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(map_err("count_subjects"))?;
        Ok(count(n))
    }

    async fn insert_interactions(&self, bundles: &[InteractionBundle]) -> Result<(), StoreError> {
        self.insert_interactions_with_timeline(bundles, &[]).await
    }

    async fn timeline(&self, interaction: InteractionId) -> Result<Vec<TimelineRow>, StoreError> {
        let sql = format!(
            "SELECT {TIMELINE_COLS} FROM timeline_events WHERE interaction = ? ORDER BY seq"
        );
        let rs = sqlx::query(&sql)
            .bind(interaction.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("timeline"))?;
        rows(rs, timeline_row)
    }

    async fn insert_interactions_with_timeline(
        &self,
        bundles: &[InteractionBundle],
        timeline: &[TimelineRow],
    ) -> Result<(), StoreError> {
        const OP: &str = "insert_interactions";
        if bundles.is_empty() {
            if let Some(t) = timeline.first() {
                return Err(StoreError::Conflict(format!(
                    "{OP}: timeline event names interaction {}, which is not being inserted",
                    t.interaction
                )));
            }
            return Ok(());
        }
        if let Some(t) = timeline
            .iter()
            .find(|t| !bundles.iter().any(|b| b.interaction.id == t.interaction))
        {
            return Err(StoreError::Conflict(format!(
                "{OP}: timeline event names interaction {}, which is not being inserted",
                t.interaction
            )));
        }
        let timeline: Vec<&TimelineRow> = timeline.iter().collect();
        let mut interactions = Vec::with_capacity(bundles.len());
        let mut segments = Vec::with_capacity(bundles.len() * 3);
        let mut recordings = Vec::new();
        for b in bundles {
            let i = &b.interaction;
            if let Some(s) = b.segments.iter().find(|s| s.interaction != i.id) {
                return Err(StoreError::Conflict(format!(
                    "{OP}: segment {} names interaction {}, not {}",
                    s.id, s.interaction, i.id
                )));
            }
            if let Some(r) = b.recordings.iter().find(|r| r.interaction != i.id) {
                return Err(StoreError::Conflict(format!(
                    "{OP}: recording {} names interaction {}, not {}",
                    r.id, r.interaction, i.id
                )));
            }
            interactions.push(i);
            segments.extend(b.segments.iter());
            recordings.extend(b.recordings.iter());
        }
        let mut tx = self.begin_write(OP).await?;
        insert_chunked(
            &mut tx,
            "interactions",
            INTERACTION_INSERT_COLS,
            &interactions,
            |q, i| {
                q.bind(i.tenant.as_str())
                    .bind(i.id.to_string())
                    .bind(i.subject.to_string())
                    .bind(i.channel.as_str())
                    .bind(i.direction.as_str())
                    .bind(i.started_ms)
                    .bind(i.ended_ms)
                    .bind(i.case_id.map(|c| c.to_string()))
                    .bind(i.created_ms)
                    .bind(i.wrapped_key.as_slice())
                    .bind(i.sealed_meta.as_slice())
                    .bind(i.redaction_counts.as_str())
            },
        )
        .await?;
        insert_chunked(
            &mut tx,
            "segments",
            SEGMENT_INSERT_COLS,
            &segments,
            |q, s| {
                q.bind(s.interaction.to_string())
                    .bind(s.id.to_string())
                    .bind(s.seq)
                    .bind(s.speaker.as_str())
                    .bind(s.kind.as_str())
                    .bind(s.start_ms)
                    .bind(s.end_ms)
                    .bind(s.sealed_text.as_slice())
                    .bind(s.sealed_words.as_deref())
            },
        )
        .await?;
        insert_chunked(
            &mut tx,
            "recordings",
            RECORDING_INSERT_COLS,
            &recordings,
            |q, r| {
                q.bind(r.interaction.to_string())
                    .bind(r.id.to_string())
                    .bind(r.blob_key.as_str())
                    .bind(r.codec.as_str())
                    .bind(i64::from(r.sample_rate))
                    .bind(i64::from(r.channels))
                    .bind(r.duration_ms)
                    .bind(r.size_bytes)
                    .bind(r.wrapped_key.as_slice())
                    .bind(r.created_ms)
            },
        )
        .await?;
        insert_chunked(
            &mut tx,
            "timeline_events",
            TIMELINE_INSERT_COLS,
            &timeline,
            |q, t| {
                q.bind(t.interaction.to_string())
                    .bind(t.seq)
                    .bind(t.at_ms)
                    .bind(t.leg)
                    .bind(t.kind.as_str())
                    .bind(t.detail.as_str())
                    .bind(t.actor.as_str())
                    .bind(t.sealed_reason.as_deref())
            },
        )
        .await?;
        tx.commit().await.map_err(map_err(OP))?;
        if interactions.len() + segments.len() >= BULK_ROWS {
            self.trim_wal_after_bulk_write().await;
        }
        Ok(())
    }

    async fn get_interaction(
        &self,
        tenant: &TenantId,
        id: InteractionId,
    ) -> Result<Option<InteractionRow>, StoreError> {
        let sql =
            format!("SELECT {INTERACTION_COLS} FROM interactions WHERE tenant = ? AND id = ?");
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err("get_interaction"))?
            .as_ref()
            .map(interaction_row)
            .transpose()
    }

    async fn list_interactions(
        &self,
        tenant: &TenantId,
        filter: &InteractionFilter,
    ) -> Result<Vec<InteractionRow>, StoreError> {
        // Only the filters given go into the SQL, so SQLite can pick the matching index
        // (`? IS NULL OR col = ?` would defeat it).
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {INTERACTION_COLS} FROM interactions WHERE tenant = "
        ));
        qb.push_bind(tenant.as_str().to_owned());
        if let Some(s) = filter.subject {
            qb.push(" AND subject = ").push_bind(s.to_string());
        }
        if let Some(c) = filter.case_id {
            qb.push(" AND case_id = ").push_bind(c.to_string());
        }
        if let Some(from) = filter.started_from_ms {
            qb.push(" AND started_ms >= ").push_bind(from);
        }
        if let Some(before) = filter.started_before_ms {
            qb.push(" AND started_ms < ").push_bind(before);
        }
        qb.push(" ORDER BY started_ms, id");
        match (filter.limit, filter.offset) {
            (None, None) => {}
            (limit, offset) => {
                // SQLite: a negative LIMIT means no limit.
                qb.push(" LIMIT ")
                    .push_bind(limit.map_or(-1, i64::from))
                    .push(" OFFSET ")
                    .push_bind(i64::from(offset.unwrap_or(0)));
            }
        }
        let rs = qb
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("list_interactions"))?;
        rows(rs, interaction_row)
    }

    async fn count_interactions(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM interactions WHERE tenant = ?")
            .bind(tenant.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(map_err("count_interactions"))?;
        Ok(count(n))
    }

    async fn segments(&self, interaction: InteractionId) -> Result<Vec<SegmentRow>, StoreError> {
        let sql = format!("SELECT {SEGMENT_COLS} FROM segments WHERE interaction = ? ORDER BY seq");
        let rs = sqlx::query(&sql)
            .bind(interaction.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("segments"))?;
        rows(rs, segment_row)
    }

    async fn recordings(
        &self,
        interaction: InteractionId,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        let sql = format!(
            "SELECT {RECORDING_COLS} FROM recordings WHERE interaction = ? ORDER BY created_ms, id"
        );
        let rs = sqlx::query(&sql)
            .bind(interaction.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("recordings"))?;
        rows(rs, recording_row)
    }

    async fn put_consent(&self, c: &ConsentRow) -> Result<(), StoreError> {
        const OP: &str = "put_consent";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query(
            "INSERT INTO consents (tenant, id, subject, purpose, basis, state, source, at_ms, \
             interaction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, basis = excluded.basis, \
             state = excluded.state, source = excluded.source, at_ms = excluded.at_ms, \
             interaction = excluded.interaction \
             WHERE consents.tenant = excluded.tenant AND consents.subject = excluded.subject",
        )
        .bind(c.tenant.as_str())
        .bind(c.id.to_string())
        .bind(c.subject.to_string())
        .bind(c.purpose.as_str())
        .bind(c.basis.as_str())
        .bind(c.state.as_str())
        .bind(c.source.as_str())
        .bind(c.at_ms)
        .bind(c.interaction.map(|i| i.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "{OP}: consent {} belongs to another tenant or subject",
                c.id
            )));
        }
        tx.commit().await.map_err(map_err(OP))
    }

    async fn consents_for_subject(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let sql = format!(
            "SELECT {CONSENT_COLS} FROM consents WHERE tenant = ? AND subject = ? \
             ORDER BY at_ms, id"
        );
        let rs = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(subject.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("consents_for_subject"))?;
        rows(rs, consent_row)
    }

    async fn put_case(&self, c: &CaseRow) -> Result<(), StoreError> {
        const OP: &str = "put_case";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query(
            "INSERT INTO cases (tenant, id, reference, opened_ms, closed_ms) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET reference = excluded.reference, \
             opened_ms = excluded.opened_ms, closed_ms = excluded.closed_ms \
             WHERE cases.tenant = excluded.tenant",
        )
        .bind(c.tenant.as_str())
        .bind(c.id.to_string())
        .bind(c.reference.as_str())
        .bind(c.opened_ms)
        .bind(c.closed_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "{OP}: case {} belongs to another tenant",
                c.id
            )));
        }
        tx.commit().await.map_err(map_err(OP))
    }

    async fn get_case(&self, tenant: &TenantId, id: CaseId) -> Result<Option<CaseRow>, StoreError> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE tenant = ? AND id = ?");
        sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err("get_case"))?
            .as_ref()
            .map(case_row)
            .transpose()
    }

    async fn put_legal_hold(&self, h: &LegalHoldRow) -> Result<(), StoreError> {
        const OP: &str = "put_legal_hold";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query(
            "INSERT INTO legal_holds (tenant, id, scope, target, reason, created_by, created_ms, \
             until_ms, released_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, target = excluded.target, \
             reason = excluded.reason, created_by = excluded.created_by, \
             created_ms = excluded.created_ms, until_ms = excluded.until_ms, \
             released_ms = excluded.released_ms \
             WHERE legal_holds.tenant = excluded.tenant",
        )
        .bind(h.tenant.as_str())
        .bind(h.id.to_string())
        .bind(h.scope.as_str())
        .bind(h.target.as_str())
        .bind(h.reason.as_str())
        .bind(h.created_by.as_str())
        .bind(h.created_ms)
        .bind(h.until_ms)
        .bind(h.released_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "{OP}: hold {} belongs to another tenant",
                h.id
            )));
        }
        tx.commit().await.map_err(map_err(OP))
    }

    async fn active_holds(
        &self,
        tenant: &TenantId,
        now_ms: UnixMillis,
    ) -> Result<Vec<LegalHoldRow>, StoreError> {
        let sql = format!(
            "SELECT {HOLD_COLS} FROM legal_holds WHERE tenant = ? AND released_ms IS NULL \
             AND (until_ms IS NULL OR until_ms > ?) ORDER BY created_ms, id"
        );
        let rs = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(now_ms)
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("active_holds"))?;
        rows(rs, hold_row)
    }

    /// In one `BEGIN IMMEDIATE` transaction: segments and recordings (collecting blob keys), then
    /// interactions, of the subject minus `keep`. If some of the subject's interactions remain
    /// (they were in `keep`), the blind-index entries stay (the held data must stay findable) and
    /// so do consents tied to a kept interaction or to none (subject-wide consents may be the
    /// basis of the kept ones); consents tied to deleted interactions go. If nothing remains,
    /// every consent and index entry of the subject goes. The subject row stays.
    async fn delete_subject_content(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        keep: &[InteractionId],
    ) -> Result<DeletionReport, StoreError> {
        const OP: &str = "delete_subject_content";
        let t = tenant.as_str();
        let s = subject.to_string();
        let keep_json = json_ids(keep);
        let mut tx = self.begin_write(OP).await?;
        // The set of interactions to delete, as a subquery using interactions_by_subject.
        const DOOMED: &str = "SELECT id FROM interactions WHERE tenant = ? AND subject = ? \
             AND id NOT IN (SELECT value FROM json_each(?))";

        let segments = sqlx::query(&format!(
            "DELETE FROM segments WHERE interaction IN ({DOOMED})"
        ))
        .bind(t)
        .bind(&s)
        .bind(&keep_json)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();

        let blob_keys: Vec<String> = sqlx::query_scalar(&format!(
            "DELETE FROM recordings WHERE interaction IN ({DOOMED}) RETURNING blob_key"
        ))
        .bind(t)
        .bind(&s)
        .bind(&keep_json)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err(OP))?;

        let interactions = sqlx::query(
            "DELETE FROM interactions WHERE tenant = ? AND subject = ? \
             AND id NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(t)
        .bind(&s)
        .bind(&keep_json)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();

        let remaining: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM interactions WHERE tenant = ? AND subject = ?",
        )
        .bind(t)
        .bind(&s)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err(OP))?;

        let (consents, index_entries) = if remaining == 0 {
            let c = sqlx::query("DELETE FROM consents WHERE tenant = ? AND subject = ?")
                .bind(t)
                .bind(&s)
                .execute(&mut *tx)
                .await
                .map_err(map_err(OP))?
                .rows_affected();
            let x = sqlx::query("DELETE FROM subject_index WHERE tenant = ? AND subject = ?")
                .bind(t)
                .bind(&s)
                .execute(&mut *tx)
                .await
                .map_err(map_err(OP))?
                .rows_affected();
            (c, x)
        } else {
            let c = sqlx::query(
                "DELETE FROM consents WHERE tenant = ? AND subject = ? \
                 AND interaction IS NOT NULL \
                 AND interaction NOT IN (SELECT value FROM json_each(?))",
            )
            .bind(t)
            .bind(&s)
            .bind(&keep_json)
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?
            .rows_affected();
            (c, 0)
        };

        tx.commit().await.map_err(map_err(OP))?;
        let recordings = blob_keys.len() as u64;
        Ok(DeletionReport {
            interactions,
            segments,
            recordings,
            consents,
            index_entries,
            blob_keys,
        })
    }

    async fn clear_empty_subjects(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
    ) -> Result<Vec<Option<DeletionReport>>, StoreError> {
        const OP: &str = "clear_empty_subjects";
        let t = tenant.as_str();
        let mut out = Vec::with_capacity(subjects.len());
        let mut tx = self.begin_write(OP).await?;
        for subject in subjects {
            let s = subject.to_string();
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM subjects WHERE tenant = ? AND id = ?")
                    .bind(t)
                    .bind(&s)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err(OP))?;
            let left: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM interactions WHERE tenant = ? AND subject = ? LIMIT 1",
            )
            .bind(t)
            .bind(&s)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err(OP))?;
            if state.is_none() || left.is_some() {
                out.push(None);
                continue;
            }
            let consents = sqlx::query("DELETE FROM consents WHERE tenant = ? AND subject = ?")
                .bind(t)
                .bind(&s)
                .execute(&mut *tx)
                .await
                .map_err(map_err(OP))?
                .rows_affected();
            let index_entries =
                sqlx::query("DELETE FROM subject_index WHERE tenant = ? AND subject = ?")
                    .bind(t)
                    .bind(&s)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err(OP))?
                    .rows_affected();
            out.push(Some(DeletionReport {
                consents,
                index_entries,
                ..Default::default()
            }));
        }
        tx.commit().await.map_err(map_err(OP))?;
        Ok(out)
    }

    async fn record_erasures(&self, receipts: &[ErasureReceiptRow]) -> Result<(), StoreError> {
        const OP: &str = "record_erasures";
        if receipts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write(OP).await?;
        for r in receipts {
            let updated = sqlx::query(
                "UPDATE subjects SET state = 'erased', erased_ms = COALESCE(erased_ms, ?) \
                 WHERE tenant = ? AND id = ?",
            )
            .bind(r.at_ms)
            .bind(r.tenant.as_str())
            .bind(r.subject.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?
            .rows_affected();
            if updated == 0 {
                return Err(StoreError::NotFound(format!("subject {}", r.subject)));
            }
            insert_erasure_receipt_in(&mut tx, r, OP).await?;
        }
        tx.commit().await.map_err(map_err(OP))
    }

    async fn insert_erasure_receipt(&self, r: &ErasureReceiptRow) -> Result<(), StoreError> {
        const OP: &str = "insert_erasure_receipt";
        let mut tx = self.begin_write(OP).await?;
        insert_erasure_receipt_in(&mut tx, r, OP).await?;
        tx.commit().await.map_err(map_err(OP))
    }

    async fn erasure_receipts(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ErasureReceiptRow>, StoreError> {
        let sql = format!(
            "SELECT {RECEIPT_COLS} FROM erasure_receipts WHERE tenant = ? ORDER BY at_ms, id"
        );
        let rs = sqlx::query(&sql)
            .bind(tenant.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("erasure_receipts"))?;
        rows(rs, receipt_row)
    }

    // --- policies and retention (issue 6): implemented in `sqlite/policy.rs`
    async fn put_policy_rule(&self, r: &PolicyRuleRow) -> Result<(), StoreError> {
        self.p_put_policy_rule(r).await
    }
    async fn delete_policy_rule(
        &self,
        tenant: &TenantId,
        scope: RuleScope,
        key: &str,
    ) -> Result<bool, StoreError> {
        self.p_delete_policy_rule(tenant, scope, key).await
    }
    async fn policy_rules(&self, tenant: &TenantId) -> Result<Vec<PolicyRuleRow>, StoreError> {
        self.p_policy_rules(tenant).await
    }
    async fn put_interaction_policy(&self, p: &InteractionPolicyRow) -> Result<(), StoreError> {
        self.p_put_interaction_policy(p).await
    }
    async fn get_interaction_policy(
        &self,
        id: InteractionId,
    ) -> Result<Option<InteractionPolicyRow>, StoreError> {
        self.p_get_interaction_policy(id).await
    }
    async fn schedule_unscheduled(
        &self,
        tenant: &TenantId,
        mode: ProcessingMode,
        retention_days: u32,
    ) -> Result<u64, StoreError> {
        self.p_schedule_unscheduled(tenant, mode, retention_days)
            .await
    }
    async fn due_interactions(
        &self,
        tenant: &TenantId,
        now_ms: UnixMillis,
        after: Option<(UnixMillis, InteractionId)>,
        limit: u32,
    ) -> Result<Vec<DueInteraction>, StoreError> {
        self.p_due_interactions(tenant, now_ms, after, limit).await
    }
    async fn set_interaction_case(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        case: Option<CaseId>,
    ) -> Result<(), StoreError> {
        self.p_set_interaction_case(tenant, id, case).await
    }
    async fn subjects_in_state(
        &self,
        tenant: &TenantId,
        state: SubjectState,
    ) -> Result<Vec<SubjectId>, StoreError> {
        self.p_subjects_in_state(tenant, state).await
    }
    async fn count_subject_interactions(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<u64, StoreError> {
        self.p_count_subject_interactions(tenant, subject).await
    }
    async fn get_legal_hold(
        &self,
        tenant: &TenantId,
        id: ObjectId,
    ) -> Result<Option<LegalHoldRow>, StoreError> {
        self.p_get_legal_hold(tenant, id).await
    }
    async fn legal_holds(&self, tenant: &TenantId) -> Result<Vec<LegalHoldRow>, StoreError> {
        self.p_legal_holds(tenant).await
    }
    async fn insert_journal(&self, rows: &[JournalRow]) -> Result<(), StoreError> {
        self.p_insert_journal(rows).await
    }
    async fn open_journal(&self) -> Result<Vec<JournalRow>, StoreError> {
        self.p_open_journal().await
    }
    async fn set_journal_state(
        &self,
        keys: &[JournalKey],
        state: JournalState,
    ) -> Result<(), StoreError> {
        self.p_set_journal_state(keys, state).await
    }
    async fn apply_retention(
        &self,
        changes: &[(Option<JournalKey>, RetentionChange)],
    ) -> Result<Vec<DeletionReport>, StoreError> {
        self.p_apply_retention(changes).await
    }
    async fn apply_retention_journaled(
        &self,
        rows: &[JournalRow],
        changes: &[RetentionChange],
    ) -> Result<Vec<DeletionReport>, StoreError> {
        self.p_apply_retention_journaled(rows, changes).await
    }
    async fn enqueue_webhooks(&self, rows: &[OutboxRow]) -> Result<(), StoreError> {
        self.p_enqueue_webhooks(rows).await
    }
    async fn due_webhooks(
        &self,
        now_ms: UnixMillis,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.p_due_webhooks(now_ms, limit).await
    }
    async fn get_webhook(&self, id: ObjectId) -> Result<Option<OutboxRow>, StoreError> {
        self.p_get_webhook(id).await
    }
    async fn update_webhook(&self, row: &OutboxRow) -> Result<(), StoreError> {
        self.p_update_webhook(row).await
    }
    async fn fold_stats(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        self.p_fold_stats(tenant).await
    }
    async fn stats(
        &self,
        tenant: &TenantId,
        from_day: i64,
        to_day: i64,
        queue: Option<&str>,
    ) -> Result<(Vec<StatsDayRow>, Vec<StatsRedactionRow>), StoreError> {
        self.p_stats(tenant, from_day, to_day, queue).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    async fn pragma(conn: &mut sqlx::SqliteConnection, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        match row.try_get::<String, _>(0) {
            Ok(s) => s,
            Err(_) => row.try_get::<i64, _>(0).unwrap().to_string(),
        }
    }

    /// Every connection, writer and each reader, runs with the same protective pragmas.
    #[tokio::test]
    async fn pragmas_are_set_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("p.db")).await.unwrap();
        let mut conns = vec![store.writer.acquire().await.unwrap()];
        for _ in 0..READERS {
            conns.push(store.reader.acquire().await.unwrap());
        }
        for c in conns.iter_mut() {
            assert_eq!(pragma(c, "secure_delete").await, "1");
            assert_eq!(pragma(c, "foreign_keys").await, "1");
            assert_eq!(pragma(c, "journal_mode").await, "wal");
            assert_eq!(pragma(c, "synchronous").await, "2"); // FULL
            assert_eq!(pragma(c, "temp_store").await, "2"); // MEMORY
            assert_eq!(pragma(c, "busy_timeout").await, "10000");
            assert_eq!(
                pragma(c, "wal_autocheckpoint").await,
                WAL_AUTOCHECKPOINT_PAGES
            );
        }
        drop(conns);

        let mem = SqliteStore::in_memory().await.unwrap();
        let mut c = mem.writer.acquire().await.unwrap();
        assert_eq!(pragma(&mut c, "secure_delete").await, "1");
        assert_eq!(pragma(&mut c, "foreign_keys").await, "1");
    }

    #[test]
    fn io_permission_errors_are_read_only() {
        use std::io::{Error, ErrorKind};
        let p = Path::new("/data");
        for kind in [ErrorKind::PermissionDenied, ErrorKind::ReadOnlyFilesystem] {
            assert!(matches!(
                io_error("open", p, Error::from(kind)),
                StoreError::ReadOnly(_)
            ));
            assert!(matches!(
                map_err("x")(sqlx::Error::Io(Error::from(kind))),
                StoreError::ReadOnly(_)
            ));
        }
        assert!(matches!(
            io_error("open", p, Error::from(ErrorKind::NotFound)),
            StoreError::Database { .. }
        ));
    }

    #[test]
    fn multi_row_insert_sql() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
