//! Verification: recompute every leaf from the stored fields, rebuild the tree in one pass,
//! and hold the result against every stored checkpoint and an optional one kept elsewhere.

use crate::entry::claimed_seq;
use crate::error::AuditError;
use crate::log::{AuditLog, SCHEMA};
use crate::merkle::{hash_leaf, Frontier, Hash};
use crate::note::SignedCheckpoint;
use crate::page::{leaf_at, split_bodies, PostingTally};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;
use std::fmt;

/// What verification found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The entry's fields (or its stored leaf hash) were changed after it was appended.
    EditedEntry,
    /// Entries are gone: a gap in the seqs, or later entries renumbered to close one.
    MissingEntry,
    /// Entries were swapped: an entry sits at a seq other than the one it was appended at.
    ReorderedEntry,
    /// Entries were added behind the log's back (and later ones renumbered to make room).
    InsertedEntry,
    /// A checkpoint's signature does not verify with the log's key(s).
    BadCheckpointSignature,
    /// A stored or kept checkpoint cannot be parsed, or is for another log.
    MalformedCheckpoint,
    /// Stored checkpoints were deleted (their ids have gaps).
    MissingCheckpoint,
    /// The tables, indexes or triggers differ from those this version creates.
    SchemaChanged,
    /// The log is shorter than a checkpoint (or its own counter) says it was.
    RolledBack,
    /// The first entries no longer hash to the root a checkpoint signed.
    HistoryRewritten,
    /// The query lookups do not match the entries (a query could miss or show extra entries).
    LookupChanged,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::EditedEntry => "edited entry",
            ProblemKind::MissingEntry => "missing entry",
            ProblemKind::ReorderedEntry => "reordered entry",
            ProblemKind::InsertedEntry => "inserted entry",
            ProblemKind::BadCheckpointSignature => "bad checkpoint signature",
            ProblemKind::MalformedCheckpoint => "malformed checkpoint",
            ProblemKind::MissingCheckpoint => "missing checkpoint",
            ProblemKind::SchemaChanged => "schema changed",
            ProblemKind::RolledBack => "rolled back",
            ProblemKind::HistoryRewritten => "history rewritten",
            ProblemKind::LookupChanged => "lookup changed",
        }
    }
}

/// One finding. `seq` is the first entry concerned, where one can be named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub seq: Option<u64>,
    pub kind: ProblemKind,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(s) => write!(f, "seq {s}: {}: {}", self.kind.as_str(), self.detail),
            None => write!(f, "{}: {}", self.kind.as_str(), self.detail),
        }
    }
}

/// The result of [`AuditLog::verify`]. An empty `problems` list means the log is intact (and
/// consistent with every checkpoint it was held against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    #[serde(serialize_with = "hex_ser")]
    pub root: Hash,
    /// Checkpoints (stored ones and the kept one) whose signature verified and whose root
    /// matches the log at their size.
    pub checkpoints_checked: u64,
    /// Sorted: problems naming an entry first, by seq.
    pub problems: Vec<Problem>,
}

fn hex_ser<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h))
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first entry verification found wrong.
    pub fn first_bad_seq(&self) -> Option<u64> {
        self.problems.iter().filter_map(|p| p.seq).min()
    }

    /// Problems of one kind.
    pub fn of_kind(&self, kind: ProblemKind) -> Vec<&Problem> {
        self.problems.iter().filter(|p| p.kind == kind).collect()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} entries, root {}, {} checkpoint(s) verified: {}",
            self.entries,
            hex::encode(self.root),
            self.checkpoints_checked,
            if self.is_ok() {
                "OK".to_owned()
            } else {
                format!("{} problem(s)", self.problems.len())
            }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// At most this many mismatching rows are kept for classification; beyond, they are counted.
const MAX_SUSPECTS: usize = 100_000;
/// At most this many problems are listed; the rest are summarised.
const MAX_PROBLEMS: usize = 1_000;
/// Pages fetched per query.
const VERIFY_PAGES: i64 = 64;

struct Suspect {
    stored: Option<Hash>,
    /// SHA-256(0x00 ‖ stored body).
    leaf: Hash,
    /// The stored leaf hash matches the stored body.
    hash_ok: bool,
    /// The seq the body says it was appended at.
    claimed: Option<u64>,
    /// The seq this row's content was appended at, when it could be established.
    committed: Option<u64>,
}

/// The single pass over the entries: rebuilds the tree, collects rows that do not check out.
struct Pass {
    frontier: Frontier,
    expected: u64,
    suspects: BTreeMap<u64, Suspect>,
    extra_suspects: u64,
    problems: Vec<Problem>,
    targets: std::iter::Peekable<std::vec::IntoIter<u64>>,
    roots_at: BTreeMap<u64, Hash>,
    /// What the lookup table should hold, from the pages read.
    tally: PostingTally,
}

impl Pass {
    fn row(&mut self, seq: u64, body: &[u8], stored: &[u8]) {
        if seq < self.expected {
            // Pages overlap: a second copy of a seq was stored (a lookup may show it instead
            // of the first). The tree is built from the first copy.
            if self.problems.len() < MAX_PROBLEMS {
                self.problems.push(Problem {
                    seq: Some(seq),
                    kind: ProblemKind::InsertedEntry,
                    detail: format!("a second entry {seq} was stored (overlapping pages)"),
                });
            }
            return;
        }
        if seq != self.expected {
            let e = self.expected;
            self.problems.push(Problem {
                seq: Some(e),
                kind: ProblemKind::MissingEntry,
                detail: if seq - e == 1 {
                    format!("entry {e} is missing")
                } else {
                    format!("entries {e} to {} are missing", seq - 1)
                },
            });
        }
        let leaf = hash_leaf(body);
        let stored: Option<Hash> = stored.try_into().ok();
        let hash_ok = stored == Some(leaf);
        let claimed = claimed_seq(body);
        if !(hash_ok && claimed == Some(seq)) {
            if self.suspects.len() < MAX_SUSPECTS {
                self.suspects.insert(
                    seq,
                    Suspect {
                        stored,
                        leaf,
                        hash_ok,
                        claimed,
                        committed: None,
                    },
                );
            } else {
                self.extra_suspects += 1;
            }
        }
        self.frontier.push(leaf);
        self.expected = seq + 1;
        while let Some(&t) = self.targets.peek() {
            if t != self.frontier.size() {
                break;
            }
            self.roots_at.insert(t, self.frontier.root());
            self.targets.next();
        }
    }

    /// Feeds one stored page: each body with its stored leaf hash, at `first_seq + i`.
    fn page(&mut self, p: &PageRow) {
        let (bodies, whole) = split_bodies(&p.bodies);
        let hashes_ok = p.leaf_hashes.len() == bodies.len() * 32;
        if !whole || bodies.len() as u64 != p.count || !hashes_ok {
            self.problems.push(Problem {
                seq: Some(p.first_seq),
                kind: ProblemKind::EditedEntry,
                detail: format!(
                    "the page at seq {} is malformed: it says {} entries, holds {} readable bodies and {} bytes of leaf hashes",
                    p.first_seq,
                    p.count,
                    bodies.len(),
                    p.leaf_hashes.len()
                ),
            });
        }
        self.tally.add_page(p.first_seq, &bodies);
        for (i, body) in bodies.iter().enumerate() {
            let stored = leaf_at(&p.leaf_hashes, i);
            let stored: &[u8] = match &stored {
                Some(h) => h,
                None => &[],
            };
            self.row(p.first_seq + i as u64, body, stored);
        }
    }
}

/// A page as read for verification.
struct PageRow {
    first_seq: u64,
    count: u64,
    bodies: Vec<u8>,
    leaf_hashes: Vec<u8>,
}

struct CheckpointRow {
    id: i64,
    size: i64,
    note: String,
}

impl AuditLog {
    /// Verifies the whole log (see the crate docs). `kept` is a checkpoint held outside the
    /// operator's reach; with it, a rollback or rewrite is caught even if the operator also
    /// removed the stored checkpoints that would have shown it.
    pub async fn verify(
        &self,
        kept: Option<&SignedCheckpoint>,
    ) -> Result<VerifyReport, AuditError> {
        // One read transaction: a consistent snapshot while appends go on (WAL).
        let mut tx = self.pool().begin().await?;
        let meta_size: Option<i64> = sqlx::query_scalar("SELECT size FROM audit_meta WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
        let cp_rows: Vec<CheckpointRow> =
            sqlx::query("SELECT id, size, note FROM audit_checkpoints ORDER BY size, id")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|r| {
                    Ok(CheckpointRow {
                        id: r.try_get_unchecked(0)?,
                        size: r.try_get_unchecked(1)?,
                        note: r.try_get_unchecked(2)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?;

        let cp_seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'audit_checkpoints'")
                .fetch_optional(&mut *tx)
                .await?;
        // The end of the furthest stored tree node: appends store them with the entries.
        let nodes_end: Option<i64> =
            sqlx::query_scalar("SELECT MAX((idx + 1) << level) FROM audit_nodes")
                .fetch_one(&mut *tx)
                .await?;

        let mut problems: Vec<Problem> = Vec::new();
        let mut ids: Vec<i64> = cp_rows.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let gap = |from: i64, to: i64| Problem {
            seq: None,
            kind: ProblemKind::MissingCheckpoint,
            detail: if from == to {
                format!("stored checkpoint #{from} was deleted")
            } else {
                format!("stored checkpoints #{from} to #{to} were deleted")
            },
        };
        let mut prev = 0i64;
        for &id in &ids {
            if id > prev + 1 {
                problems.push(gap(prev + 1, id - 1));
            }
            prev = id;
        }
        // AUTOINCREMENT remembers the largest id ever handed out.
        if let Some(top) = cp_seq.filter(|&t| t > prev) {
            problems.push(gap(prev + 1, top));
        }

        // Parse and check signatures first: only good checkpoints are trusted for roots.
        let mut good: Vec<(String, SignedCheckpoint)> = Vec::new();
        for c in &cp_rows {
            let label = format!("stored checkpoint #{} (size {})", c.id, c.size);
            if let Some(cp) = self.check_checkpoint(&c.note, &label, &mut problems) {
                if i64::try_from(cp.size).ok() != Some(c.size) {
                    problems.push(Problem {
                        seq: None,
                        kind: ProblemKind::MalformedCheckpoint,
                        detail: format!(
                            "{label}: its size column differs from the signed size {}",
                            cp.size
                        ),
                    });
                }
                good.push((label, cp));
            }
        }
        if let Some(k) = kept {
            let label = format!("kept checkpoint (size {})", k.size);
            if let Some(cp) = self.check_checkpoint(&k.text, &label, &mut problems) {
                if cp.size != k.size || cp.root != k.root || cp.origin != k.origin {
                    problems.push(Problem {
                        seq: None,
                        kind: ProblemKind::MalformedCheckpoint,
                        detail: format!("{label}: its fields differ from its signed text"),
                    });
                }
                good.push((label, cp));
            }
        }
        let mut targets: Vec<u64> = good.iter().map(|(_, c)| c.size).collect();
        targets.sort_unstable();
        targets.dedup();
        let mut roots_at: BTreeMap<u64, Hash> = BTreeMap::new();
        if targets.first() == Some(&0) {
            roots_at.insert(0, crate::merkle::empty_root());
        }
        targets.retain(|&t| t > 0);

        let negative: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_pages WHERE first_seq < 0")
                .fetch_one(&mut *tx)
                .await?;
        if negative > 0 {
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::InsertedEntry,
                detail: format!("{negative} page(s) with a negative seq were added"),
            });
        }
        // COUNT and SUM(seq) of the lookup postings, compared with what the pages imply.
        let (lookup_count, lookup_sum): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), SUM(seq % 4294967291) FROM audit_lookup")
                .fetch_one(&mut *tx)
                .await?;

        let schema_problems = self.check_schema(&mut tx).await?;

        // One pass over the entries, in seq order, a chunk at a time. A reader task runs the
        // queries (SQLite works on its own thread) while this one hashes: the two overlap.
        let mut pass = Pass {
            frontier: Frontier::new(),
            expected: 0,
            suspects: BTreeMap::new(),
            extra_suspects: 0,
            problems: Vec::new(),
            targets: targets.into_iter().peekable(),
            roots_at,
            tally: PostingTally::default(),
        };
        let (chunks_tx, mut chunks_rx) = tokio::sync::mpsc::channel(3);
        let reader = tokio::spawn(read_chunks(tx, chunks_tx));
        while let Some(msg) = chunks_rx.recv().await {
            for p in msg? {
                pass.page(&p);
            }
        }
        reader
            .await
            .map_err(|e| AuditError::Storage(format!("verification reader failed: {e}")))?;
        problems.extend(pass.problems);
        problems.extend(schema_problems);
        let Pass {
            frontier,
            expected,
            mut suspects,
            extra_suspects,
            roots_at,
            tally,
            ..
        } = pass;
        if !lookup_matches(&tally, lookup_count, lookup_sum) {
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::LookupChanged,
                detail: format!(
                    "the query lookups hold {lookup_count} postings where the entries imply {}: \
                     entries could be hidden from (or added to) queries",
                    tally.count
                ),
            });
        }
        let rows = frontier.size();
        let root = frontier.root();

        // Tripwire: the counter kept with every append.
        if let Some(m) = meta_size.and_then(|m| u64::try_from(m).ok()) {
            if m > expected {
                problems.push(Problem {
                    seq: Some(expected),
                    kind: ProblemKind::RolledBack,
                    detail: format!(
                        "{m} entries were appended but the log ends at seq {}",
                        expected as i128 - 1
                    ),
                });
            } else if m < expected {
                problems.push(Problem {
                    seq: Some(m),
                    kind: ProblemKind::InsertedEntry,
                    detail: format!(
                        "only {m} entries were appended but the log holds entries up to seq {}",
                        expected - 1
                    ),
                });
            }
        }

        if let Some(end) = nodes_end.and_then(|e| u64::try_from(e).ok()) {
            if end > expected {
                problems.push(Problem {
                    seq: Some(expected),
                    kind: ProblemKind::RolledBack,
                    detail: format!(
                        "tree nodes were stored for {end} entries but the log ends at seq {}",
                        expected as i128 - 1
                    ),
                });
            }
        }

        classify(&mut suspects);
        let leaf_problems = describe(&suspects);
        let first_leaf_problem = |lo: u64, hi: u64| {
            leaf_problems
                .iter()
                .chain(problems.iter())
                .filter_map(|p| p.seq)
                .filter(|&s| s >= lo && s < hi)
                .min()
        };

        // Hold the rebuilt tree against every good checkpoint.
        let mut checked = 0u64;
        let mut matched_sizes: Vec<u64> = Vec::new();
        let mut cp_problems = Vec::new();
        good.sort_by_key(|(_, c)| c.size);
        for (label, cp) in &good {
            if cp.size > rows {
                cp_problems.push(Problem {
                    seq: Some(rows),
                    kind: ProblemKind::RolledBack,
                    detail: format!(
                        "{label} commits to {} entries but the log holds {rows}",
                        cp.size
                    ),
                });
                continue;
            }
            match roots_at.get(&cp.size) {
                Some(r) if *r == cp.root => {
                    checked += 1;
                    matched_sizes.push(cp.size);
                }
                _ => {
                    let lo = matched_sizes
                        .iter()
                        .copied()
                        .filter(|&s| s < cp.size)
                        .max()
                        .unwrap_or(0);
                    let seq = first_leaf_problem(lo, cp.size).unwrap_or(lo);
                    cp_problems.push(Problem {
                        seq: Some(seq),
                        kind: ProblemKind::HistoryRewritten,
                        detail: format!(
                            "the first {} entries no longer hash to the root {label} signed; \
                             the change is in entries {lo} to {}",
                            cp.size,
                            cp.size - 1
                        ),
                    });
                }
            }
        }

        problems.extend(leaf_problems);
        problems.extend(cp_problems);
        if extra_suspects > 0 {
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::EditedEntry,
                detail: format!(
                    "{extra_suspects} more entries do not match their leaf hashes (not itemised)"
                ),
            });
        }
        problems.sort_by_key(|p| (p.seq.is_none(), p.seq));
        if problems.len() > MAX_PROBLEMS {
            let more = problems.len() - MAX_PROBLEMS;
            problems.truncate(MAX_PROBLEMS);
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::EditedEntry,
                detail: format!("{more} more problems not listed"),
            });
        }
        Ok(VerifyReport {
            entries: rows,
            root,
            checkpoints_checked: checked,
            problems,
        })
    }

    /// Compares the database's tables, indexes and triggers with what this version creates.
    async fn check_schema(
        &self,
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<Vec<Problem>, AuditError> {
        use sqlx::{ConnectOptions, Connection};
        let actual = schema_rows(conn).await?;
        let mut fresh = std::str::FromStr::from_str("sqlite::memory:")
            .map(|o: sqlx::sqlite::SqliteConnectOptions| o)?
            .connect()
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&mut fresh).await?;
        let expected = schema_rows(&mut fresh).await?;
        fresh.close().await?;
        let mut out = Vec::new();
        for (key, sql) in &expected {
            match actual.get(key) {
                Some(a) if a == sql => {}
                Some(_) => out.push(Problem {
                    seq: None,
                    kind: ProblemKind::SchemaChanged,
                    detail: format!("{} {} was redefined", key.0, key.1),
                }),
                None => out.push(Problem {
                    seq: None,
                    kind: ProblemKind::SchemaChanged,
                    detail: format!("{} {} is missing", key.0, key.1),
                }),
            }
        }
        for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
            out.push(Problem {
                seq: None,
                kind: ProblemKind::SchemaChanged,
                detail: format!("{} {} was added", key.0, key.1),
            });
        }
        Ok(out)
    }

    /// Parses a checkpoint note and checks its origin and signature; records a problem and
    /// returns `None` if it cannot be trusted.
    fn check_checkpoint(
        &self,
        note: &str,
        label: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<SignedCheckpoint> {
        let cp = match SignedCheckpoint::parse(note) {
            Ok(cp) => cp,
            Err(e) => {
                problems.push(Problem {
                    seq: None,
                    kind: ProblemKind::MalformedCheckpoint,
                    detail: format!("{label}: {e}"),
                });
                return None;
            }
        };
        if cp.origin != self.origin() {
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::MalformedCheckpoint,
                detail: format!(
                    "{label}: it is for the log {:?}, not {:?}",
                    cp.origin,
                    self.origin()
                ),
            });
            return None;
        }
        if self.verifiers().iter().any(|v| cp.verify(v).is_ok()) {
            Some(cp)
        } else {
            problems.push(Problem {
                seq: None,
                kind: ProblemKind::BadCheckpointSignature,
                detail: format!("{label}: no valid signature by the log's key"),
            });
            None
        }
    }
}

type ChunkSender = tokio::sync::mpsc::Sender<Result<Vec<PageRow>, AuditError>>;

/// Reads the pages in seq order inside the verification's read transaction.
async fn read_chunks(mut tx: sqlx::Transaction<'static, sqlx::Sqlite>, out: ChunkSender) {
    if let Err(e) = read_chunks_in(&mut tx, &out).await {
        let _ = out.send(Err(e)).await;
    }
    let _ = tx.rollback().await;
}

async fn read_chunks_in(
    tx: &mut sqlx::SqliteConnection,
    out: &ChunkSender,
) -> Result<(), AuditError> {
    let mut from = i64::MIN;
    loop {
        let rows = sqlx::query(
            "SELECT first_seq, count, bodies, leaf_hashes FROM audit_pages \
             WHERE first_seq >= ? ORDER BY first_seq LIMIT ?",
        )
        .bind(from)
        .bind(VERIFY_PAGES)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        let last: i64 = last.try_get(0)?;
        let mut pages = Vec::with_capacity(rows.len());
        for r in rows {
            let first: i64 = r.try_get(0)?;
            let count: i64 = r.try_get_unchecked(1).unwrap_or(-1);
            if first < 0 {
                continue; // reported by the negative-seq check
            }
            pages.push(PageRow {
                first_seq: first.unsigned_abs(),
                // A negative or non-integer count is malformed; `page` reports it.
                count: u64::try_from(count).unwrap_or(u64::MAX),
                bodies: r
                    .try_get_unchecked::<Option<Vec<u8>>, _>(2)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                leaf_hashes: r
                    .try_get_unchecked::<Option<Vec<u8>>, _>(3)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            });
        }
        if out.send(Ok(pages)).await.is_err() {
            return Ok(());
        }
        from = last.saturating_add(1);
    }
}

/// Whether the lookup table's COUNT and SUM(seq mod P) agree with the tally.
fn lookup_matches(tally: &PostingTally, count: i64, sum: Option<i64>) -> bool {
    u64::try_from(count).ok() == Some(tally.count)
        && u128::try_from(sum.unwrap_or(0)).ok() == Some(tally.seq_sum)
}

async fn schema_rows(
    conn: &mut sqlx::SqliteConnection,
) -> Result<BTreeMap<(String, String), Option<String>>, AuditError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT type, name, sql FROM sqlite_schema WHERE name LIKE 'audit%' \
         OR tbl_name LIKE 'audit%'",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(t, n, s)| ((t, n), s)).collect())
}

/// Finds, for each row that does not check out, the seq its content was appended at, if it
/// was merely moved: either the row kept its own leaf hash (the body then names its seq), or
/// only the body moved and the leaf hash at the seq it names still commits to it.
fn classify(suspects: &mut BTreeMap<u64, Suspect>) {
    let stored_at: BTreeMap<u64, Option<Hash>> =
        suspects.iter().map(|(k, v)| (*k, v.stored)).collect();
    for (&s, sus) in suspects.iter_mut() {
        sus.committed = match sus.claimed {
            Some(c) if c != s && sus.hash_ok => Some(c),
            Some(c) if c != s && stored_at.get(&c).copied().flatten() == Some(sus.leaf) => Some(c),
            _ => None,
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Edited,
    Reordered,
    /// Content appended `d` positions earlier: `d` entries were inserted before it.
    ShiftedUp(u64),
    /// Content appended `d` positions later: `d` entries before it were removed.
    ShiftedDown(u64),
}

fn describe(suspects: &BTreeMap<u64, Suspect>) -> Vec<Problem> {
    let class_of = |s: u64, sus: &Suspect| match sus.committed {
        None => Class::Edited,
        Some(c) => {
            let swapped = suspects.get(&c).and_then(|o| o.committed) == Some(s);
            if swapped {
                Class::Reordered
            } else if c < s {
                Class::ShiftedUp(s - c)
            } else {
                Class::ShiftedDown(c - s)
            }
        }
    };
    // Runs of consecutive seqs with the same class.
    let mut runs: Vec<(u64, u64, Class)> = Vec::new();
    for (&s, sus) in suspects {
        let c = class_of(s, sus);
        match runs.last_mut() {
            Some((_, end, cls)) if *end + 1 == s && *cls == c && c != Class::Reordered => *end = s,
            _ => runs.push((s, s, c)),
        }
    }
    let mut out: Vec<Problem> = Vec::new();
    let mut inserted_at: Vec<(u64, u64)> = Vec::new();
    for &(a, b, c) in &runs {
        let span = |a: u64, b: u64| {
            if a == b {
                format!("entry {a}")
            } else {
                format!("entries {a} to {b}")
            }
        };
        match c {
            Class::Edited => out.push(Problem {
                seq: Some(a),
                kind: ProblemKind::EditedEntry,
                detail: format!(
                    "{} no longer match{} the leaf hash appended (fields or hash changed)",
                    span(a, b),
                    if a == b { "es" } else { "" }
                ),
            }),
            Class::Reordered => {
                let to = suspects.get(&a).and_then(|s| s.committed).unwrap_or(a);
                if to > a {
                    out.push(Problem {
                        seq: Some(a),
                        kind: ProblemKind::ReorderedEntry,
                        detail: format!(
                            "entries {a} and {to} were swapped: each holds what was appended at the other"
                        ),
                    });
                }
            }
            Class::ShiftedUp(d) => {
                let first = a.saturating_sub(d);
                inserted_at.push((first, a));
                out.push(Problem {
                    seq: Some(first),
                    kind: ProblemKind::InsertedEntry,
                    detail: format!(
                        "{d} entr{} inserted at seq {first}; {} {} appended {d} position(s) earlier",
                        if d == 1 { "y was" } else { "ies were" },
                        span(a, b),
                        if a == b { "was" } else { "were" }
                    ),
                });
            }
            Class::ShiftedDown(d) => out.push(Problem {
                seq: Some(a),
                kind: ProblemKind::MissingEntry,
                detail: format!(
                    "{d} entr{} removed at seq {a}; {} {} appended {d} position(s) later and renumbered",
                    if d == 1 { "y was" } else { "ies were" },
                    span(a, b),
                    if a == b { "was" } else { "were" }
                ),
            }),
        }
    }
    // A forged row that fills the gap an insertion made is part of that insertion.
    out.retain(|p| {
        !(p.kind == ProblemKind::EditedEntry
            && p.seq
                .is_some_and(|s| inserted_at.iter().any(|&(lo, hi)| s >= lo && s < hi)))
    });
    out
}
