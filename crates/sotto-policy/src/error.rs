//! Policy errors: a kind callers can branch on and a message with ids and names only.

use sotto_core::{ConsentPurpose, LegalBasis, TenantId};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Vault(#[from] sotto_vault::VaultError),
    #[error(transparent)]
    Store(#[from] sotto_store::StoreError),
    #[error("audit log: {0}; the operation was refused because it could not be recorded")]
    Audit(#[from] sotto_audit::AuditError),
    #[error("unknown tenant `{0}`")]
    UnknownTenant(TenantId),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "purpose `{purpose}` rests on a legal obligation; it cannot be {what} (basis `{requested}` refused). \
         A legal duty is never silently replaced by another basis: end the duty first (release its legal hold) \
         and record the new basis explicitly"
    )]
    LegalObligation {
        purpose: ConsentPurpose,
        requested: LegalBasis,
        what: &'static str,
    },
    #[error("legal hold {hold}: {reason}")]
    Hold { hold: String, reason: String },
    #[error("export: {0}")]
    Export(String),
    #[error("I/O error while {op}: {message}")]
    Io { op: &'static str, message: String },
    #[error("webhook: {0}")]
    Webhook(String),
    #[error("retention run interrupted after {0} actions (injected fault for tests)")]
    InjectedFault(usize),
}

impl PolicyError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        PolicyError::Invalid {
            field,
            reason: reason.into(),
        }
    }
    pub(crate) fn io(op: &'static str, e: std::io::Error) -> Self {
        PolicyError::Io {
            op,
            message: e.kind().to_string(),
        }
    }
}

pub type Result<T, E = PolicyError> = std::result::Result<T, E>;
