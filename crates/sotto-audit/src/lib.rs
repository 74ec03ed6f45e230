//! The audit log: who did what to which personal data, when, from where, and with what outcome.
//!
//! Owns: the append-only entry log, its RFC 9162 Merkle tree, signed checkpoints in the C2SP
//! signed-note format, inclusion and consistency proofs, and verification that names the first
//! bad entry.
//!
//! Must never: contain personal data in clear (entries carry ids, never names, numbers or text),
//! or offer a way to change or remove an entry.
//!
//! # How tampering is caught
//! - Every entry is stored with its leaf hash: SHA-256(0x00 ‖ canonical encoding), where the
//!   encoding ([`ENCODING_V1`]) includes the entry's seq and tenant. Editing a field, moving
//!   an entry, or renumbering entries breaks the leaf check at that seq; verification also
//!   recognises swapped, shifted (inserted/removed-then-renumbered) entries and names them.
//! - The leaves form an RFC 9162 Merkle tree. Checkpoints sign (origin, size, root) with an
//!   Ed25519 key in the C2SP signed-note format; they are stored in the log and should also be
//!   copied somewhere the operator cannot rewrite (a DPO's mailbox, a witness, a WORM bucket).
//!   An operator who rewrites entries *and* their hashes changes the root, which no longer
//!   matches the checkpoints; one who also deletes the checkpoints is caught by a kept copy
//!   ([`AuditLog::verify`] with `kept`), as is a rollback.
//! - What cannot be caught without an outside checkpoint: entries appended (or removed) at the
//!   end after the last checkpoint the verifier holds, by someone who also updates the log's
//!   own counter. Checkpoint often and keep them elsewhere.

mod bench;
mod entry;
mod error;
mod log;
pub mod merkle;
mod note;
mod verify;

pub use bench::{bench, sample_entry, BenchReport};
pub use entry::{Action, Entry, Outcome, Query, Record, ENCODING_V1};
pub use error::AuditError;
pub use log::{AuditLog, AuditOptions};
pub use merkle::{verify_consistency, verify_inclusion, Hash};
pub use note::{CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
pub use verify::{Problem, ProblemKind, VerifyReport};
