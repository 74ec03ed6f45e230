//! Verification: recompute every leaf from the stored fields, rebuild the tree in one pass,
//! and hold the result against every stored checkpoint and an optional one kept elsewhere.

use crate::entry::{Action, Outcome, RawEntry};
use crate::error::AuditError;
use crate::log::AuditLog;
use crate::merkle::{Frontier, Hash};
use crate::note::SignedCheckpoint;
use futures::TryStreamExt;
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
    /// The log is shorter than a checkpoint (or its own counter) says it was.
    RolledBack,
    /// The first entries no longer hash to the root a checkpoint signed.
    HistoryRewritten,
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
            ProblemKind::RolledBack => "rolled back",
            ProblemKind::HistoryRewritten => "history rewritten",
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
const MAX_SUSPECTS: usize = 10_000;
/// How far an entry may have been shifted for verification to recognise it.
const SHIFT_WINDOW: u64 = 64;
/// At most this many problems are listed; the rest are summarised.
const MAX_PROBLEMS: usize = 1_000;

struct OwnedRow {
    tenant: Vec<u8>,
    at_ms: i64,
    actor: Vec<u8>,
    action: Vec<u8>,
    subject: Option<Vec<u8>>,
    object: Option<Vec<u8>>,
    from: Option<Vec<u8>>,
    purpose: Option<Vec<u8>>,
    outcome: Vec<u8>,
}

impl OwnedRow {
    fn raw(&self) -> RawEntry<'_> {
        RawEntry {
            tenant: &self.tenant,
            at_ms: self.at_ms,
            actor: &self.actor,
            action: &self.action,
            subject: self.subject.as_deref(),
            object: self.object.as_deref(),
            from: self.from.as_deref(),
            purpose: self.purpose.as_deref(),
            outcome: &self.outcome,
        }
    }
}

struct Suspect {
    stored: Option<Hash>,
    row: Option<OwnedRow>,
    /// The seq this row's content was appended at, when it could be found.
    committed: Option<u64>,
}

fn raw_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<(RawEntry<'_>, &[u8]), sqlx::Error> {
    Ok((
        RawEntry {
            tenant: r.try_get_unchecked(1)?,
            // Checked: a text that merely starts with the number must not pass.
            at_ms: r.try_get(2)?,
            actor: r.try_get_unchecked(3)?,
            action: r.try_get_unchecked(4)?,
            subject: r.try_get_unchecked(5)?,
            object: r.try_get_unchecked(6)?,
            from: r.try_get_unchecked(7)?,
            purpose: r.try_get_unchecked(8)?,
            outcome: r.try_get_unchecked(9)?,
        },
        r.try_get_unchecked(10)?,
    ))
}

fn known_values(e: &RawEntry<'_>) -> bool {
    let action_ok = std::str::from_utf8(e.action)
        .ok()
        .and_then(|s| s.parse::<Action>().ok())
        .is_some();
    let outcome_ok = std::str::from_utf8(e.outcome)
        .ok()
        .and_then(|s| s.parse::<Outcome>().ok())
        .is_some();
    action_ok && outcome_ok && e.subject.is_none_or(|s| s.len() == 16)
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
        let mut next_target = targets.iter().copied().filter(|&t| t > 0).peekable();

        // One pass over the entries.
        let mut frontier = Frontier::new();
        let mut expected: u64 = 0;
        let mut suspects: BTreeMap<u64, Suspect> = BTreeMap::new();
        let mut extra_suspects: u64 = 0;
        let mut buf = Vec::with_capacity(256);
        {
            let mut rows = sqlx::query(
                "SELECT seq, tenant, at_ms, actor, action, subject, object, from_addr, purpose, \
                 outcome, leaf_hash FROM audit_entries ORDER BY seq",
            )
            .fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                let seq_i: i64 = r.try_get_unchecked(0)?;
                let Ok(seq) = u64::try_from(seq_i) else {
                    problems.push(Problem {
                        seq: None,
                        kind: ProblemKind::InsertedEntry,
                        detail: format!("a row has the negative seq {seq_i}"),
                    });
                    continue;
                };
                if seq != expected {
                    problems.push(Problem {
                        seq: Some(expected),
                        kind: ProblemKind::MissingEntry,
                        detail: if seq - expected == 1 {
                            format!("entry {expected} is missing")
                        } else {
                            format!("entries {expected} to {} are missing", seq - 1)
                        },
                    });
                }
                let (leaf, ok, stored, owned) = match raw_from_row(&r) {
                    Ok((raw, stored)) => {
                        let leaf = raw.leaf_hash(seq, &mut buf);
                        let stored: Option<Hash> = stored.try_into().ok();
                        let ok = stored == Some(leaf) && known_values(&raw);
                        let owned = (!ok && suspects.len() < MAX_SUSPECTS).then(|| OwnedRow {
                            tenant: raw.tenant.to_vec(),
                            at_ms: raw.at_ms,
                            actor: raw.actor.to_vec(),
                            action: raw.action.to_vec(),
                            subject: raw.subject.map(<[u8]>::to_vec),
                            object: raw.object.map(<[u8]>::to_vec),
                            from: raw.from.map(<[u8]>::to_vec),
                            purpose: raw.purpose.map(<[u8]>::to_vec),
                            outcome: raw.outcome.to_vec(),
                        });
                        (leaf, ok, stored, owned)
                    }
                    // A value of the wrong type or NULL where none belongs: edited.
                    Err(_) => ([0u8; 32], false, None, None),
                };
                if !ok {
                    if suspects.len() < MAX_SUSPECTS {
                        suspects.insert(
                            seq,
                            Suspect {
                                stored,
                                row: owned,
                                committed: None,
                            },
                        );
                    } else {
                        extra_suspects += 1;
                    }
                }
                frontier.push(leaf);
                expected = seq + 1;
                while let Some(&t) = next_target.peek() {
                    if t == frontier.size() {
                        roots_at.insert(t, frontier.root());
                        next_target.next();
                    } else {
                        break;
                    }
                }
            }
        }
        tx.commit().await?;
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

        classify(&mut suspects, &mut buf);
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

/// Finds, for each row whose leaf does not match, the seq its content was appended at (if it
/// was merely moved): either the row kept its own leaf hash, or only the fields moved and the
/// leaf hash at the original seq still commits to them.
fn classify(suspects: &mut BTreeMap<u64, Suspect>, buf: &mut Vec<u8>) {
    let seqs: Vec<u64> = suspects.keys().copied().collect();
    let small = seqs.len() <= 64;
    let stored_at: BTreeMap<u64, Option<Hash>> =
        suspects.iter().map(|(k, v)| (*k, v.stored)).collect();
    let mut last_shift: i64 = 0;
    for &s in &seqs {
        let Some(sus) = suspects.get(&s) else {
            continue;
        };
        let Some(row) = &sus.row else {
            continue;
        };
        if !known_values(&row.raw()) {
            continue;
        }
        let mut cands: Vec<u64> = Vec::new();
        let mut push = |c: i128| {
            if c >= 0 && c as u64 != s {
                cands.push(c as u64);
            }
        };
        push(i128::from(s) + i128::from(last_shift));
        for d in 1..=SHIFT_WINDOW {
            push(i128::from(s) - i128::from(d));
            push(i128::from(s) + i128::from(d));
        }
        if small {
            seqs.iter().for_each(|&c| push(i128::from(c)));
        }
        let mut found = None;
        for &c in &cands {
            let h = row.raw().leaf_hash(c, buf);
            // The row kept its own leaf hash, or the fields moved to another row's hash.
            if Some(h) == sus.stored || stored_at.get(&c).copied().flatten() == Some(h) {
                found = Some(c);
                break;
            }
        }
        if let Some(c) = found {
            last_shift = c as i64 - s as i64;
        }
        if let Some(m) = suspects.get_mut(&s) {
            m.committed = found;
        }
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
