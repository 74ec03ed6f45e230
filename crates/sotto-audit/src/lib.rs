//! The audit log: who did what to which personal data, when, from where, and with what outcome.
//!
//! Owns: the append-only entry log, its RFC 9162 Merkle tree, signed checkpoints in the C2SP
//! signed-note format, inclusion and consistency proofs, and verification that names the first
//! bad entry.
//!
//! Must never: contain personal data in clear (entries carry ids, never names, numbers or text),
//! or offer a way to change or remove an entry.
//!
//! # Storage
//! One SQLite file of its own (WAL, `synchronous=FULL`, mode 0600). Entries are stored in
//! pages, one row per run of up to 1024 consecutive entries written together: each entry once,
//! as its canonical encoding ([`ENCODING_V1`]: compact JSON, fixed field order, seq and tenant
//! inside), next to its leaf hash. A batch is therefore one row, and verification reads large
//! blobs instead of stepping through a row per entry. Queries by subject, actor and tenant go
//! through a lookup table of 16-byte digests derived from the bodies; every result is decoded
//! from the hashed body and filtered again, so a lookup can hide an entry (verification notices)
//! but never change what one says. Triggers refuse UPDATE and DELETE; subtree hashes of 256+
//! leaves are stored so proofs and reopening need O(log n) lookups; the compact frontier lives
//! in memory.
//!
//! # How tampering is caught
//! - Every leaf is recomputed from the stored bytes and compared with the stored leaf hash;
//!   the body names its own seq, so moved, swapped, inserted-and-renumbered or
//!   deleted-and-renumbered entries are recognised and named by seq.
//! - The leaves form an RFC 9162 Merkle tree. Checkpoints sign (origin, size, root) with an
//!   Ed25519 key in the C2SP signed-note format; they are stored in the log and should also be
//!   copied somewhere the operator cannot rewrite (a DPO's mailbox, a witness, a WORM bucket).
//!   An operator who rewrites entries *and* their hashes changes the root, which no longer
//!   matches the checkpoints (the report narrows the change to between two checkpoints); one
//!   who also deletes the checkpoints is caught by a kept copy ([`AuditLog::verify`] with
//!   `kept`), as is a rollback. Deleted checkpoints, tree nodes beyond the last entry, the
//!   log's own entry counter and a changed schema are further tripwires.
//! - What cannot be caught without an outside checkpoint: entries appended (or removed) at the
//!   end after the last checkpoint the verifier holds, by someone who also updates the log's
//!   own counters. Checkpoint often and keep them elsewhere.

mod bench;
mod entry;
mod error;
mod log;
pub mod merkle;
mod note;
mod page;
mod verify;

pub use bench::{bench, sample_entry, BenchReport};
pub use entry::{Action, Entry, Outcome, Query, Record, ENCODING_V1};
pub use error::AuditError;
pub use log::{AuditLog, AuditOptions};
pub use merkle::{verify_consistency, verify_inclusion, Hash};
pub use note::{CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
pub use verify::{Problem, ProblemKind, VerifyReport};
