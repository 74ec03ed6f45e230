//! Store errors. Messages carry ids and operation names, never content.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the data directory is not writable: {0}")]
    ReadOnly(String),
    #[error("database error during {op}: {message}")]
    Database { op: &'static str, message: String },
    #[error("stored row is malformed ({0}); the database may have been edited by hand")]
    Corrupt(String),
    #[error("blob store error: {0}")]
    Blob(String),
    #[error("migration failed: {0}")]
    Migration(String),
}
