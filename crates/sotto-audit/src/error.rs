//! Errors. Messages name fields, sizes and paths — never the contents of an entry.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log storage error: {0}")]
    Storage(String),
    #[error("audit log I/O error: {0}")]
    Io(String),
    #[error("invalid audit entry: field `{field}` {reason}")]
    InvalidEntry {
        field: &'static str,
        reason: &'static str,
    },
    #[error("invalid checkpoint key name: use 1-128 printable characters without spaces or '+'")]
    InvalidKeyName,
    #[error("invalid checkpoint origin: use 1-256 printable characters without newlines")]
    InvalidOrigin,
    #[error("invalid checkpoint key: {0}")]
    InvalidKey(&'static str),
    #[error("checkpoint key file {0} already exists; refusing to overwrite it")]
    KeyFileExists(PathBuf),
    #[error("malformed signed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("checkpoint has no signature by key {0}")]
    NoSignature(String),
    #[error("checkpoint signature by key {0} does not verify")]
    BadSignature(String),
    #[error("the audit log at this path was created with origin {stored:?}, not {requested:?}")]
    OriginMismatch { stored: String, requested: String },
    #[error("proof request out of range: {0}")]
    OutOfRange(String),
    #[error("the audit log is damaged: {0}; run verification")]
    Damaged(String),
    #[error("too many entries in one batch ({0}); the log holds at most 2^62 entries")]
    TooLarge(usize),
}

impl AuditError {
    /// A copy for every caller of a failed group commit (the source error is not `Clone`).
    pub(crate) fn duplicate(&self) -> AuditError {
        match self {
            AuditError::Damaged(s) => AuditError::Damaged(s.clone()),
            AuditError::TooLarge(n) => AuditError::TooLarge(*n),
            AuditError::Io(s) => AuditError::Io(s.clone()),
            other => AuditError::Storage(match other {
                AuditError::Storage(s) => s.clone(),
                e => e.to_string(),
            }),
        }
    }
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx errors carry the statement and the database message, never bound values.
        AuditError::Storage(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for AuditError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        AuditError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for AuditError {
    fn from(e: std::io::Error) -> Self {
        AuditError::Io(e.to_string())
    }
}
