//! Errors of the key hierarchy. Messages are for humans (operators, DPOs) and never contain key
//! material, plaintext or personal data — only ids, which are safe to log.

use sotto_core::SubjectState;

/// Everything that can go wrong with keys and ciphers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The subject (or other key) has no key in this store.
    #[error("no key exists for this subject (it was never created in this key store)")]
    NotFound,
    /// The tenant has no keys yet; call `ensure_tenant` first.
    #[error("tenant `{0}` has no keys in this key store (ensure_tenant was never called)")]
    TenantNotFound(String),
    /// A key that must be unique exists already.
    #[error("a key already exists for this subject")]
    AlreadyExists,
    /// The subject's key was destroyed (crypto-shredded). Its data can never be read again and
    /// a new key is never created for the same subject.
    #[error("this subject was erased: the key was destroyed and its data can no longer be read")]
    Erased,
    /// Authentication failed: the data was changed, swapped, or is being opened with the wrong
    /// key or the wrong context (tenant, subject, object, purpose, field).
    #[error("integrity check failed: the data was altered, swapped, or opened with the wrong key or context")]
    Integrity,
    /// A stream ends before its final segment.
    #[error("encrypted stream is truncated: its final segment is missing")]
    Truncated,
    /// Not something this version of Sotto wrote (bad magic, unknown version, impossible length).
    /// The text says what is wrong (a fixed phrase, never data).
    #[error("not a Sotto encrypted object of a supported format: {0}")]
    Format(&'static str),
    /// The master key given is not the one the key store was created with (or rotated to).
    #[error("wrong master key: it does not open this key store (check SOTTO_MASTER_KEY or the master key file; after a rotation only the new key works)")]
    WrongMasterKey,
    /// A master key file or value could not be used.
    #[error("master key: {reason}")]
    MasterKeyFile { reason: String },
    /// A subject state change that is not allowed (only active <-> restricted).
    #[error("cannot change a subject key from `{from}` to `{to}`: only active <-> restricted is allowed (erasure is erase_subject_key)")]
    InvalidTransition {
        from: SubjectState,
        to: SubjectState,
    },
    /// A key was asked to work for a context it does not belong to (another tenant or subject).
    #[error("this key belongs to another tenant or subject than the object context names")]
    ContextMismatch,
    /// An object too large for the stream format (more than 2^32 segments, i.e. 256 TiB).
    #[error("object too large for the encrypted stream format (limit 2^32 segments of 64 KiB)")]
    TooLarge,
    /// The key store database failed. The text never contains personal data.
    #[error("key store: {0}")]
    Storage(String),
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx errors carry SQL text and database messages, never bound values.
        KeyError::Storage(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for KeyError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        KeyError::Storage(format!("migration failed: {e}"))
    }
}
