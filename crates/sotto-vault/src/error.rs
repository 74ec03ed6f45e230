//! Vault errors: a kind callers can branch on and a message that never carries personal data.

use sotto_core::{SubjectId, TenantId};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("unknown tenant `{0}`; create it with `sotto tenant add {0}`")]
    UnknownTenant(TenantId),
    #[error("no subject matches that identifier in tenant `{0}`")]
    SubjectNotFound(TenantId),
    #[error("subject {0} has been erased; its data cannot be read or re-created")]
    SubjectErased(SubjectId),
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error(
        "integrity check failed for {what}: the stored data was altered, swapped or truncated"
    )]
    Integrity { what: String },
    #[error(transparent)]
    Keys(#[from] sotto_keys::KeyError),
    #[error(transparent)]
    Store(#[from] sotto_store::StoreError),
    #[error("audio: {0}")]
    Audio(#[from] sotto_audio::AudioError),
    #[error("audit log: {0}; the operation was refused because it could not be recorded")]
    Audit(#[from] sotto_audit::AuditError),
    #[error("export failed: {0}")]
    Export(String),
    #[error("I/O error while {op}: {message}")]
    Io { op: &'static str, message: String },
}

impl VaultError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        VaultError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;
