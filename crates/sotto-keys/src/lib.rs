//! Keys and ciphers. The only crate in Sotto that touches a cipher.
//!
//! Owns: the master key (KEK), tenant keys wrapped by it, subject keys wrapped by their tenant key
//! (active / restricted / erased, with tombstones), per-object data keys wrapped by the subject
//! key, AEAD with associated data binding tenant, subject, object and purpose, the chunked
//! streaming format for blobs, and blind indexes for finding subjects without clear identifiers.
//!
//! Must never: be bypassed (nothing else encrypts), log key material or plaintext, or re-create
//! a key that was erased.
//!
//! # Key hierarchy
//!
//! ```text
//! master key (32 B; SOTTO_MASTER_KEY or a 0600 key file; never stored in the key store)
//!  ├─ wraps ─ tenant key, version n        (keys.db: tenant_keys)      rotate_tenant_key
//!  │           └─ wraps ─ subject key      (keys.db: subject_keys)     one per data subject
//!  │                       └─ wraps ─ object data key (stored beside each object, 73 bytes)
//!  │                                   ├─ HKDF → record key: XChaCha20-Poly1305 sealed fields
//!  │                                   └─ HKDF → stream key: AES-256-GCM chunked blobs
//!  └─ wraps ─ tenant blind-index key       (keys.db: tenants)          never rotated
//!              └─ HMAC-SHA256 blind indexes of phone numbers, e-mails, customer ids, …
//! ```
//!
//! Every wrapping and every ciphertext carries associated data naming what it is
//! (`sotto/v1/...` domain strings, the tenant, the subject, the object, the purpose, the
//! field), so nothing can be moved from one place to another without failing authentication.
//! Rotating the master key re-wraps a few rows (tenant and blind-index keys); rotating a tenant
//! key re-wraps that tenant's subject keys. Neither touches stored data.
//!
//! # Erasure is crypto-shredding
//!
//! Every piece of a subject's personal data — recordings, transcripts, metadata, exports, in
//! the object store, in replicas and in backups — is encrypted under data keys that only the
//! subject key can unwrap. [`KeyStore::erase_subject_key`] deletes the one wrapped subject key
//! (SQLite `secure_delete` zeroes the row, a `TRUNCATE` checkpoint empties the write-ahead log)
//! and leaves a tombstone. From then on no copy of that data can be decrypted by anyone, and
//! the tombstone makes sure the key is never re-created and that a key row restored from an
//! old backup of `keys.db` is refused.
//!
//! **Honest limit.** Deleting is not the same as overwriting the disk: the wrapped subject key
//! may survive in freed file-system blocks, an SSD's remapped cells, a snapshot or a backup of
//! `keys.db` itself. Such a copy is useless without the *tenant* key that wrapped it — so
//! rotating the tenant key ([`KeyStore::rotate_tenant_key`], which destroys the old version)
//! finishes the job. Run it on a schedule (e.g. nightly after erasures) and keep backups of
//! `keys.db` shorter-lived than that schedule, or re-apply [`KeyStore::tombstones`] after a
//! restore (erasing is idempotent). The master key must never be stored next to `keys.db`.

mod bench;
mod blind;
mod context;
mod error;
mod master;
mod object;
mod primitives;
mod store;
pub mod stream;

pub use bench::bench_stream_throughput;
pub use blind::BlindIndexer;
pub use context::{ObjectContext, ObjectPurpose, OBJECT_CONTEXT_DOMAIN};
pub use error::KeyError;
pub use master::{MasterKey, MASTER_KEY_FILE_HEADER};
pub use object::{ObjectKey, SubjectCipher, RECORD_VERSION};
pub use store::{KeyStore, LocalKeyStore, RotationReport};
pub use stream::{StreamDecryptor, StreamEncryptor, SEGMENT_SIZE};
