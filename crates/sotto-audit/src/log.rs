//! The SQLite-backed append-only log.

use crate::entry::{Entry, Query, Record};
use crate::error::AuditError;
use crate::merkle::{
    consistency_ranges, frontier_levels, hash_children, hash_leaf, inclusion_ranges, CompletedNode,
    Frontier, Hash,
};
use crate::note::{valid_origin, CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
use crate::page::{
    json_escaped, leaf_at, lookup_key, page_postings, push_body, split_bodies, KEY_ACTOR,
    KEY_SUBJECT, KEY_TENANT, PAGE_MAX,
};
use sotto_core::{Clock, SystemClock, TenantId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const SCHEMA: &str = include_str!("schema.sql");
/// Format 2: entries stored in pages (page.rs). Format 1 stored a row per entry.
const FORMAT: i64 = 2;
/// Subtrees of 2^NODE_LEVEL leaves and more are stored in `audit_nodes`.
pub(crate) const NODE_LEVEL: u32 = 8;
/// Rows per multi-row INSERT of lookup postings (2 parameters each, well under SQLite's 32766).
const LOOKUP_CHUNK: usize = 4096;
const NODE_CHUNK: usize = 2048;

/// How a log is opened.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The checkpoint origin (the log's name). Default for a new log:
    /// `sotto.local/audit/<random install id>`; an existing log keeps the one it was created
    /// with, and asking for another is an error.
    pub origin: Option<String>,
    /// Sign and store a checkpoint automatically once this many entries were appended since
    /// the last one (0 = never; call [`AuditLog::checkpoint`] on a timer instead or as well).
    pub checkpoint_every: u64,
    /// More keys whose checkpoint signatures verification accepts (keys used before a
    /// rotation). The signer's own key is always accepted.
    pub trusted: Vec<CheckpointVerifier>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            origin: None,
            checkpoint_every: 1_000,
            trusted: Vec::new(),
        }
    }
}

/// A page being written.
struct PageOut {
    first_seq: u64,
    count: usize,
    bodies: Vec<u8>,
    leaf_hashes: Vec<u8>,
    min_at_ms: i64,
    max_at_ms: i64,
}

/// An append waiting for the next group commit.
struct Pending {
    entries: Vec<Entry>,
    reply: tokio::sync::oneshot::Sender<Result<Range<u64>, AuditError>>,
}

struct State {
    frontier: Frontier,
    /// Size at the newest stored checkpoint.
    last_checkpoint: u64,
    /// Set when the stored log does not match what it says about itself; appends refuse.
    damaged: Option<String>,
}

/// The audit log. Cheap to share behind an `Arc`; appends are serialised inside.
pub struct AuditLog {
    pool: SqlitePool,
    signer: CheckpointSigner,
    verifiers: Vec<CheckpointVerifier>,
    origin: String,
    checkpoint_every: u64,
    clock: Arc<dyn Clock>,
    lookup_sql: String,
    state: tokio::sync::Mutex<State>,
    queue: std::sync::Mutex<Vec<Pending>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

fn lookup_sql(rows: usize) -> String {
    let mut s = String::with_capacity(64 + rows * 6);
    s.push_str("INSERT INTO audit_lookup (key, seq) VALUES ");
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str("(?,?)");
    }
    s
}

fn node_sql(rows: usize) -> String {
    // Plain INSERT: a node that already exists means the log was rolled back behind our back.
    let mut s = String::from("INSERT INTO audit_nodes (level, idx, hash) VALUES ");
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str("(?,?,?)");
    }
    s
}

fn to_i64(v: u64) -> Result<i64, AuditError> {
    i64::try_from(v).map_err(|_| AuditError::OutOfRange(format!("{v} exceeds 2^63")))
}

fn hash_from(v: &[u8]) -> Option<Hash> {
    v.try_into().ok()
}

fn create_private_file(path: &Path) -> Result<(), AuditError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| {
                AuditError::Io(format!("cannot create {}: {}", dir.display(), e.kind()))
            })?;
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop).map_err(|e| {
        AuditError::Io(format!(
            "cannot create audit log {}: {}",
            path.display(),
            e.kind()
        ))
    })
}

impl AuditLog {
    /// Opens (creating if needed, mode 0600, WAL, synchronous=FULL) the log at `path`.
    pub async fn open(path: &Path, signer: CheckpointSigner) -> Result<Self, AuditError> {
        Self::open_with(path, signer, AuditOptions::default()).await
    }

    pub async fn open_with(
        path: &Path,
        signer: CheckpointSigner,
        opts: AuditOptions,
    ) -> Result<Self, AuditError> {
        create_private_file(path)?;
        let conn = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            // Statement journals stay in memory instead of a temporary file.
            .pragma("temp_store", "MEMORY")
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(conn)
            .await
            .map_err(|e| {
                AuditError::Storage(format!("cannot open audit log {}: {e}", path.display()))
            })?;
        Self::init(pool, signer, opts).await
    }

    /// A log in memory (tests, benchmarks).
    pub async fn in_memory(signer: CheckpointSigner) -> Result<Self, AuditError> {
        Self::in_memory_with(signer, AuditOptions::default()).await
    }

    pub async fn in_memory_with(
        signer: CheckpointSigner,
        opts: AuditOptions,
    ) -> Result<Self, AuditError> {
        let conn = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection that never closes: an in-memory database lives as long as it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(conn)
            .await?;
        Self::init(pool, signer, opts).await
    }

    async fn init(
        pool: SqlitePool,
        signer: CheckpointSigner,
        opts: AuditOptions,
    ) -> Result<Self, AuditError> {
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        let meta = sqlx::query("SELECT format, origin, size FROM audit_meta WHERE id = 1")
            .fetch_optional(&pool)
            .await?;
        let (origin, meta_size) = match meta {
            Some(row) => {
                let format: i64 = row.try_get(0)?;
                if format != FORMAT {
                    return Err(AuditError::Storage(format!(
                        "unsupported audit log format {format} (this version reads format {FORMAT})"
                    )));
                }
                let stored: String = row.try_get(1)?;
                if let Some(req) = &opts.origin {
                    if *req != stored {
                        return Err(AuditError::OriginMismatch {
                            stored,
                            requested: req.clone(),
                        });
                    }
                }
                let size: i64 = row.try_get(2)?;
                (stored, size)
            }
            None => {
                let origin = match &opts.origin {
                    Some(o) => o.clone(),
                    None => {
                        let id: [u8; 8] = rand::random();
                        format!("sotto.local/audit/{}", hex::encode(id))
                    }
                };
                if !valid_origin(&origin) {
                    return Err(AuditError::InvalidOrigin);
                }
                sqlx::query(
                    "INSERT INTO audit_meta (id, format, origin, size) VALUES (1, ?, ?, 0)",
                )
                .bind(FORMAT)
                .bind(&origin)
                .execute(&pool)
                .await?;
                (origin, 0)
            }
        };
        let mut verifiers = vec![signer.verifier()];
        verifiers.extend(opts.trusted);
        let log = Self {
            pool,
            signer,
            verifiers,
            origin,
            checkpoint_every: opts.checkpoint_every,
            clock: Arc::new(SystemClock),
            lookup_sql: lookup_sql(LOOKUP_CHUNK),
            state: tokio::sync::Mutex::new(State {
                frontier: Frontier::new(),
                last_checkpoint: 0,
                damaged: None,
            }),
            queue: std::sync::Mutex::new(Vec::new()),
        };
        log.load_state(meta_size).await?;
        Ok(log)
    }

    /// Rebuilds the in-memory frontier from the stored subtree hashes (O(log n) lookups plus
    /// at most 255 leaves per level below 8).
    async fn load_state(&self, meta_size: i64) -> Result<(), AuditError> {
        let mut conn = self.pool.acquire().await?;
        let end: Option<i64> = sqlx::query_scalar(
            "SELECT first_seq + count FROM audit_pages ORDER BY first_seq DESC LIMIT 1",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let size = match end {
            None => 0u64,
            Some(m) => u64::try_from(m)
                .map_err(|_| AuditError::Damaged("a page has a negative seq".into()))?,
        };
        let mut damaged = None;
        if i64::try_from(size).ok() != Some(meta_size) {
            damaged = Some(format!(
                "the log holds entries up to seq {} but {meta_size} were appended",
                size as i128 - 1
            ));
        }
        let beyond: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_nodes WHERE ((idx + 1) << level) > ?")
                .bind(to_i64(size)?)
                .fetch_one(&mut *conn)
                .await?;
        if beyond > 0 {
            damaged.get_or_insert_with(|| {
                "tree nodes exist beyond the last entry: the log was rolled back".to_owned()
            });
        }
        let mut parts = Vec::new();
        let mut start = 0u64;
        for level in frontier_levels(size) {
            match perfect_hash(&mut conn, start, level).await {
                Ok(h) => parts.push(h),
                Err(e) => {
                    damaged.get_or_insert_with(|| e.to_string());
                    parts.push([0u8; 32]);
                }
            }
            start += 1u64 << level;
        }
        let frontier = Frontier::from_parts(size, parts)
            .ok_or_else(|| AuditError::Damaged("cannot rebuild the tree frontier".into()))?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(&mut *conn)
            .await?;
        let mut st = self.state.lock().await;
        st.frontier = frontier;
        st.last_checkpoint = last.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        st.damaged = damaged;
        Ok(())
    }

    /// Closes the database (waits for connections to finish).
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Uses `clock` for checkpoint timestamps (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The checkpoint origin of this log.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The key that checks this log's checkpoints: hand it (its `vkey()`) to whoever keeps
    /// checkpoints outside the operator's reach.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.signer.verifier()
    }

    /// Appends one entry; returns its seq.
    pub async fn append(&self, e: Entry) -> Result<u64, AuditError> {
        let r = self.append_batch(vec![e]).await?;
        Ok(r.start)
    }

    /// Appends entries in one transaction: all or none. Returns their seqs.
    ///
    /// Appends that arrive while another is being committed are grouped into the next
    /// transaction (group commit): one fsync for all of them, each caller still gets its own
    /// contiguous seqs, and a failed transaction fails every caller in it.
    pub async fn append_batch(&self, es: Vec<Entry>) -> Result<Range<u64>, AuditError> {
        for e in &es {
            e.validate()?;
        }
        if es.is_empty() {
            let size = self.size().await?;
            return Ok(size..size);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .lock()
            .map_err(|_| AuditError::Storage("append queue poisoned".into()))?
            .push(Pending { entries: es, reply });
        {
            let mut st = self.state.lock().await;
            let work = std::mem::take(
                &mut *self
                    .queue
                    .lock()
                    .map_err(|_| AuditError::Storage("append queue poisoned".into()))?,
            );
            if !work.is_empty() {
                let counts: Vec<u64> = work.iter().map(|p| p.entries.len() as u64).collect();
                let mut all = Vec::with_capacity(counts.iter().sum::<u64>() as usize);
                let mut replies = Vec::with_capacity(work.len());
                for p in work {
                    all.extend(p.entries);
                    replies.push(p.reply);
                }
                match self.commit_locked(&mut st, all).await {
                    Ok(range) => {
                        let mut at = range.start;
                        for (r, n) in replies.into_iter().zip(counts) {
                            let _ = r.send(Ok(at..at + n));
                            at += n;
                        }
                    }
                    Err(e) => {
                        for r in replies {
                            let _ = r.send(Err(e.duplicate()));
                        }
                    }
                }
            }
        }
        answer
            .await
            .map_err(|_| AuditError::Storage("the append was interrupted".into()))?
    }

    /// Writes `es` in one transaction; the caller holds the state lock.
    async fn commit_locked(
        &self,
        st: &mut State,
        es: Vec<Entry>,
    ) -> Result<Range<u64>, AuditError> {
        if let Some(d) = &st.damaged {
            return Err(AuditError::Damaged(d.clone()));
        }
        let start = st.frontier.size();
        let n = es.len() as u64;
        if start.checked_add(n).is_none_or(|end| end > 1 << 62) {
            return Err(AuditError::TooLarge(es.len()));
        }
        let mut frontier = st.frontier.clone();
        let mut nodes: Vec<CompletedNode> = Vec::new();
        let mut pages: Vec<PageOut> = Vec::with_capacity(es.len().div_ceil(PAGE_MAX));
        let mut postings: Vec<([u8; 16], u64)> = Vec::with_capacity(es.len() + 16);
        let mut body = Vec::with_capacity(512);
        let mut seq = start;
        for chunk in es.chunks(PAGE_MAX) {
            let mut page = PageOut {
                first_seq: seq,
                count: chunk.len(),
                bodies: Vec::with_capacity(chunk.len() * 260),
                leaf_hashes: Vec::with_capacity(chunk.len() * 32),
                min_at_ms: i64::MAX,
                max_at_ms: i64::MIN,
            };
            for e in chunk {
                body.clear();
                e.encode_into(seq, &mut body);
                let h = hash_leaf(&body);
                frontier.push_with(h, |c| {
                    if c.level >= NODE_LEVEL {
                        nodes.push(c);
                    }
                });
                push_body(&mut page.bodies, &body);
                page.leaf_hashes.extend_from_slice(&h);
                page.min_at_ms = page.min_at_ms.min(e.at_ms);
                page.max_at_ms = page.max_at_ms.max(e.at_ms);
                seq += 1;
            }
            let (bodies, _) = split_bodies(&page.bodies);
            page_postings(page.first_seq, &bodies, &mut postings);
            pages.push(page);
        }
        let end = frontier.size();
        drop(es);

        let mut tx = self.pool.begin().await?;
        for p in &pages {
            sqlx::query(
                "INSERT INTO audit_pages (first_seq, count, bodies, leaf_hashes, min_at_ms, max_at_ms) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(to_i64(p.first_seq)?)
            .bind(to_i64(p.count as u64)?)
            .bind(&p.bodies[..])
            .bind(&p.leaf_hashes[..])
            .bind(p.min_at_ms)
            .bind(p.max_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        // Sorted by key: the postings go into the b-tree in order.
        postings.sort_unstable();
        for chunk in postings.chunks(LOOKUP_CHUNK) {
            let tail_sql;
            let sql = if chunk.len() == LOOKUP_CHUNK {
                self.lookup_sql.as_str()
            } else {
                tail_sql = lookup_sql(chunk.len());
                tail_sql.as_str()
            };
            let mut q = sqlx::query(sql);
            for (k, seq) in chunk {
                q = q.bind(&k[..]).bind(to_i64(*seq)?);
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in nodes.chunks(NODE_CHUNK) {
            let sql = node_sql(chunk.len());
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind(i64::from(c.level))
                    .bind(to_i64(c.index)?)
                    .bind(&c.hash[..]);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE audit_meta SET size = ? WHERE id = 1")
            .bind(to_i64(end)?)
            .execute(&mut *tx)
            .await?;
        let auto = self.checkpoint_every > 0 && end - st.last_checkpoint >= self.checkpoint_every;
        if auto {
            self.store_checkpoint(&mut tx, end, &frontier.root())
                .await?;
        }
        tx.commit().await?;
        st.frontier = frontier;
        if auto {
            st.last_checkpoint = end;
        }
        Ok(start..end)
    }

    async fn store_checkpoint(
        &self,
        conn: &mut SqliteConnection,
        size: u64,
        root: &Hash,
    ) -> Result<SignedCheckpoint, AuditError> {
        let cp = self.signer.sign_checkpoint(&self.origin, size, root)?;
        sqlx::query("INSERT INTO audit_checkpoints (size, at_ms, note) VALUES (?, ?, ?)")
            .bind(to_i64(size)?)
            .bind(self.clock.now_ms())
            .bind(&cp.text)
            .execute(&mut *conn)
            .await?;
        Ok(cp)
    }

    /// Number of entries.
    pub async fn size(&self) -> Result<u64, AuditError> {
        Ok(self.state.lock().await.frontier.size())
    }

    /// The current root hash (MTH of all entries).
    pub async fn root(&self) -> Result<Hash, AuditError> {
        Ok(self.state.lock().await.frontier.root())
    }

    /// Signs (origin, size, root) now and stores the checkpoint. Signing again at an unchanged
    /// size returns the same note without storing a duplicate.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, AuditError> {
        let mut st = self.state.lock().await;
        if let Some(d) = &st.damaged {
            return Err(AuditError::Damaged(d.clone()));
        }
        let size = st.frontier.size();
        let root = st.frontier.root();
        let mut conn = self.pool.acquire().await?;
        if st.last_checkpoint == size {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT note FROM audit_checkpoints WHERE size = ? ORDER BY id DESC LIMIT 1",
            )
            .bind(to_i64(size)?)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(note) = existing {
                let cp = SignedCheckpoint::parse(&note)?;
                if cp.root == root && cp.origin == self.origin {
                    return Ok(cp);
                }
            }
        }
        let cp = self.store_checkpoint(&mut conn, size, &root).await?;
        st.last_checkpoint = size;
        Ok(cp)
    }

    /// The newest stored checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, AuditError> {
        let note: Option<String> = sqlx::query_scalar(
            "SELECT note FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        note.map(|n| SignedCheckpoint::parse(&n)).transpose()
    }

    /// All stored checkpoints, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let notes: Vec<String> =
            sqlx::query_scalar("SELECT note FROM audit_checkpoints ORDER BY size, id")
                .fetch_all(&self.pool)
                .await?;
        notes.iter().map(|n| SignedCheckpoint::parse(n)).collect()
    }

    /// MTH of the first `size` entries, from the stored hashes.
    pub async fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.check_size(size).await?;
        let mut conn = self.pool.acquire().await?;
        range_hash(&mut conn, 0, size).await
    }

    async fn check_size(&self, size: u64) -> Result<(), AuditError> {
        let cur = self.size().await?;
        if size > cur {
            return Err(AuditError::OutOfRange(format!(
                "tree size {size} is larger than the log ({cur} entries)"
            )));
        }
        Ok(())
    }

    /// RFC 9162 inclusion proof of entry `seq` in the tree of the first `tree_size` entries.
    pub async fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        self.check_size(tree_size).await?;
        if seq >= tree_size {
            return Err(AuditError::OutOfRange(format!(
                "seq {seq} is not in a tree of {tree_size} entries"
            )));
        }
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for (a, b) in inclusion_ranges(seq, tree_size) {
            out.push(range_hash(&mut conn, a, b).await?);
        }
        Ok(out)
    }

    /// RFC 9162 consistency proof between the trees of `old_size` and `new_size` entries.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, AuditError> {
        self.check_size(new_size).await?;
        if old_size > new_size {
            return Err(AuditError::OutOfRange(format!(
                "old size {old_size} is larger than new size {new_size}"
            )));
        }
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for (a, b) in consistency_ranges(old_size, new_size) {
            out.push(range_hash(&mut conn, a, b).await?);
        }
        Ok(out)
    }

    /// One stored record.
    pub async fn get(&self, seq: u64) -> Result<Option<Record>, AuditError> {
        let mut conn = self.pool.acquire().await?;
        let Some(page) = page_containing(&mut conn, seq).await? else {
            return Ok(None);
        };
        page.record(seq)
    }

    /// One tenant's entries matching `q`, in log order.
    ///
    /// A subject query follows that subject's postings entry by entry; other queries walk
    /// the pages holding the tenant's (or the actor's) entries. Every candidate is decoded
    /// from its hashed body and checked against the whole filter, tenant included.
    pub async fn query(&self, tenant: &TenantId, q: &Query) -> Result<Vec<Record>, AuditError> {
        let limit = q.limit.unwrap_or(1000).min(100_000) as usize;
        let from_seq = q.after_seq.map_or(0, |s| s.saturating_add(1));
        let tenant_b = tenant.as_str().as_bytes();
        let subject_s = q.subject.map(|s| s.to_string());
        let mut out = Vec::new();
        let mut conn = self.pool.acquire().await?;
        let keep = |r: &Record| {
            r.seq >= from_seq
                && r.entry.tenant == *tenant
                && q.subject.is_none_or(|s| r.entry.subject == Some(s))
                && q.actor.as_ref().is_none_or(|a| r.entry.actor == *a)
                && q.from_ms.is_none_or(|t| r.entry.at_ms >= t)
                && q.to_ms.is_none_or(|t| r.entry.at_ms < t)
                && q.action.is_none_or(|a| r.entry.action == a)
        };
        if let Some(subject) = &subject_s {
            let key = lookup_key(KEY_SUBJECT, tenant_b, subject.as_bytes());
            let mut cursor = from_seq;
            let mut page: Option<StoredPage> = None;
            'outer: loop {
                let seqs: Vec<i64> = sqlx::query_scalar(
                    "SELECT seq FROM audit_lookup WHERE key = ? AND seq >= ? ORDER BY seq LIMIT 512",
                )
                .bind(&key[..])
                .bind(to_i64(cursor)?)
                .fetch_all(&mut *conn)
                .await?;
                let Some(&last) = seqs.last() else { break };
                for seq in seqs {
                    let seq = u64::try_from(seq)
                        .map_err(|_| AuditError::Damaged("a lookup has a negative seq".into()))?;
                    if !page.as_ref().is_some_and(|p| p.holds(seq)) {
                        page = page_containing(&mut conn, seq).await?;
                    }
                    let Some(rec) = page.as_ref().map(|p| p.record(seq)).transpose()?.flatten()
                    else {
                        continue;
                    };
                    if keep(&rec) {
                        out.push(rec);
                        if out.len() >= limit {
                            break 'outer;
                        }
                    }
                }
                cursor = u64::try_from(last).unwrap_or(u64::MAX).saturating_add(1);
            }
            return Ok(out);
        }
        let key = match &q.actor {
            Some(a) => lookup_key(KEY_ACTOR, tenant_b, &json_escaped(a)),
            None => lookup_key(KEY_TENANT, tenant_b, b""),
        };
        // Start at the page holding `from_seq`: its first seq may be smaller.
        let mut cursor = match page_start(&mut conn, from_seq).await? {
            Some(s) => s,
            None => from_seq,
        };
        let from_ms = q.from_ms.unwrap_or(i64::MIN);
        let to_ms = q.to_ms.unwrap_or(i64::MAX);
        'pages: loop {
            let rows = sqlx::query(
                "SELECT p.first_seq, p.count, p.bodies, p.leaf_hashes FROM audit_lookup l \
                 JOIN audit_pages p ON p.first_seq = l.seq \
                 WHERE l.key = ? AND l.seq >= ? AND p.max_at_ms >= ? AND p.min_at_ms < ? \
                 ORDER BY l.seq LIMIT 16",
            )
            .bind(&key[..])
            .bind(to_i64(cursor)?)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&mut *conn)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let page = StoredPage::from_row(r)?;
                cursor = page.first_seq.saturating_add(1);
                for rec in page.records()? {
                    if keep(&rec) {
                        out.push(rec);
                        if out.len() >= limit {
                            break 'pages;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn verifiers(&self) -> &[CheckpointVerifier] {
        &self.verifiers
    }
}

/// A stored page, read back.
pub(crate) struct StoredPage {
    pub(crate) first_seq: u64,
    pub(crate) count: u64,
    pub(crate) bodies: Vec<u8>,
    pub(crate) leaf_hashes: Vec<u8>,
}

impl StoredPage {
    fn from_row(r: &SqliteRow) -> Result<Self, AuditError> {
        let first: i64 = r.try_get(0)?;
        let count: i64 = r.try_get(1)?;
        let damaged = || AuditError::Damaged(format!("the page at seq {first} is malformed"));
        Ok(Self {
            first_seq: u64::try_from(first).map_err(|_| damaged())?,
            count: u64::try_from(count).map_err(|_| damaged())?,
            bodies: r
                .try_get_unchecked::<Option<Vec<u8>>, _>(2)?
                .unwrap_or_default(),
            leaf_hashes: r
                .try_get_unchecked::<Option<Vec<u8>>, _>(3)?
                .unwrap_or_default(),
        })
    }

    fn holds(&self, seq: u64) -> bool {
        seq >= self.first_seq && seq - self.first_seq < self.count
    }

    fn decode(&self, i: usize, body: &[u8]) -> Result<Record, AuditError> {
        let seq = self.first_seq + i as u64;
        let bad = |what: &str| AuditError::Damaged(format!("entry {seq} has {what}"));
        let (claimed, entry) =
            Entry::from_canonical(body).map_err(|_| bad("an invalid encoding"))?;
        if claimed != seq {
            return Err(bad("the encoding of another seq"));
        }
        Ok(Record {
            seq,
            entry,
            leaf_hash: leaf_at(&self.leaf_hashes, i).ok_or_else(|| bad("no leaf hash"))?,
        })
    }

    /// The record at `seq`, if this page holds it.
    fn record(&self, seq: u64) -> Result<Option<Record>, AuditError> {
        if !self.holds(seq) {
            return Ok(None);
        }
        let i = (seq - self.first_seq) as usize;
        let (bodies, _) = split_bodies(&self.bodies);
        match bodies.get(i) {
            Some(b) => self.decode(i, b).map(Some),
            None => Err(AuditError::Damaged(format!("entry {seq} is missing"))),
        }
    }

    fn records(&self) -> Result<Vec<Record>, AuditError> {
        let (bodies, whole) = split_bodies(&self.bodies);
        if !whole || bodies.len() as u64 != self.count {
            return Err(AuditError::Damaged(format!(
                "the page at seq {} is malformed",
                self.first_seq
            )));
        }
        bodies
            .iter()
            .enumerate()
            .map(|(i, b)| self.decode(i, b))
            .collect()
    }
}

/// The first seq of the page holding `seq`, if any page starts at or before it.
async fn page_start(conn: &mut SqliteConnection, seq: u64) -> Result<Option<u64>, AuditError> {
    let s: Option<i64> = sqlx::query_scalar(
        "SELECT first_seq FROM audit_pages WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
    )
    .bind(to_i64(seq)?)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(s.and_then(|s| u64::try_from(s).ok()))
}

/// The page holding `seq`.
async fn page_containing(
    conn: &mut SqliteConnection,
    seq: u64,
) -> Result<Option<StoredPage>, AuditError> {
    let row = sqlx::query(
        "SELECT first_seq, count, bodies, leaf_hashes FROM audit_pages WHERE first_seq <= ? \
         ORDER BY first_seq DESC LIMIT 1",
    )
    .bind(to_i64(seq)?)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => {
            let p = StoredPage::from_row(&r)?;
            Ok(p.holds(seq).then_some(p))
        }
        None => Ok(None),
    }
}

/// MTH(D[a:b]): the right fold of the perfect subtrees it splits into.
pub(crate) async fn range_hash(
    conn: &mut SqliteConnection,
    a: u64,
    b: u64,
) -> Result<Hash, AuditError> {
    if a >= b {
        return Ok(crate::merkle::empty_root());
    }
    let mut parts = Vec::new();
    let mut lo = a;
    while !(b - lo).is_power_of_two() {
        let k = crate::merkle::split_point(b - lo);
        parts.push((lo, k.trailing_zeros()));
        lo += k;
    }
    parts.push((lo, (b - lo).trailing_zeros()));
    let mut hashes = Vec::with_capacity(parts.len());
    for (start, level) in parts {
        hashes.push(perfect_hash(conn, start, level).await?);
    }
    let mut it = hashes.into_iter().rev();
    let last = it.next().unwrap_or_else(crate::merkle::empty_root);
    Ok(it.fold(last, |acc, left| hash_children(&left, &acc)))
}

/// MTH of the 2^level leaves starting at `start`: a stored node when there is one, else
/// rebuilt from the stored leaf hashes.
async fn perfect_hash(
    conn: &mut SqliteConnection,
    start: u64,
    level: u32,
) -> Result<Hash, AuditError> {
    let len = 1u64 << level;
    if level >= NODE_LEVEL && start % len == 0 {
        let h: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?")
                .bind(i64::from(level))
                .bind(to_i64(start >> level)?)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(h) = h.as_deref().and_then(hash_from) {
            return Ok(h);
        }
    }
    let first = page_start(conn, start).await?.unwrap_or(start);
    let rows = sqlx::query(
        "SELECT first_seq, count, NULL, leaf_hashes FROM audit_pages \
         WHERE first_seq >= ? AND first_seq < ? ORDER BY first_seq",
    )
    .bind(to_i64(first)?)
    .bind(to_i64(start + len)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut f = Frontier::new();
    for r in &rows {
        let page = StoredPage::from_row(r)?;
        for i in 0..page.count {
            let seq = page.first_seq + i;
            if seq < start + f.size() {
                continue;
            }
            if seq >= start + len {
                break;
            }
            if seq != start + f.size() {
                return Err(AuditError::Damaged(format!(
                    "entry {} is missing",
                    start + f.size()
                )));
            }
            let leaf = leaf_at(&page.leaf_hashes, i as usize)
                .ok_or_else(|| AuditError::Damaged(format!("entry {seq} has no leaf hash")))?;
            f.push(leaf);
        }
    }
    if f.size() != len {
        return Err(AuditError::Damaged(format!(
            "entry {} is missing",
            start + f.size()
        )));
    }
    Ok(f.root())
}
