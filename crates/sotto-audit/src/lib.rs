//! The audit log: who did what to which personal data, when, from where, and with what outcome.
//!
//! Owns: the append-only entry log, its RFC 9162 Merkle tree, signed checkpoints in the C2SP
//! signed-note format, inclusion and consistency proofs, and verification that names the first
//! bad entry.
//!
//! Must never: contain personal data in clear (entries carry ids, never names, numbers or text),
//! or offer a way to change or remove an entry.
