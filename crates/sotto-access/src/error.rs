//! Errors. Messages name ids, fields and reasons — never a password, a code, a secret or a
//! username that was typed.

/// Why an access operation failed. [`AccessError::code`] is the machine-readable name the API
/// returns; [`AccessError::http_status`] the status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// One answer for an unknown user, a wrong password and a wrong code.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed attempts; try again in {retry_after_ms} ms")]
    LockedOut { retry_after_ms: i64 },
    #[error("this one-time code (or a later one) was already used")]
    TotpReplay,
    #[error("two-factor authentication is not set up for this user")]
    TotpNotEnrolled,
    #[error("access from this network address is not allowed")]
    IpNotAllowed,
    #[error("the session has expired; sign in again")]
    SessionExpired,
    #[error("unknown session; sign in")]
    SessionUnknown,
    #[error("missing or wrong CSRF token")]
    CsrfMismatch,
    #[error("unknown API token")]
    TokenUnknown,
    #[error("the API token has expired")]
    TokenExpired,
    #[error("the API token was revoked")]
    TokenRevoked,
    #[error("forbidden")]
    Forbidden,
    /// What was not found (an id, never a typed name).
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("access store error: {0}")]
    Store(String),
    #[error("audit log error: {0}")]
    Audit(String),
}

impl AccessError {
    /// Machine-readable code (stable; the API puts it into error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::InvalidCredentials => "invalid_credentials",
            AccessError::LockedOut { .. } => "locked_out",
            AccessError::TotpReplay => "totp_replay",
            AccessError::TotpNotEnrolled => "totp_not_enrolled",
            AccessError::IpNotAllowed => "ip_not_allowed",
            AccessError::SessionExpired => "session_expired",
            AccessError::SessionUnknown => "session_unknown",
            AccessError::CsrfMismatch => "csrf_mismatch",
            AccessError::TokenUnknown => "token_unknown",
            AccessError::TokenExpired => "token_expired",
            AccessError::TokenRevoked => "token_revoked",
            AccessError::Forbidden => "forbidden",
            AccessError::NotFound(_) => "not_found",
            AccessError::Conflict(_) => "conflict",
            AccessError::Invalid(_) => "invalid",
            AccessError::Store(_) => "store_error",
            AccessError::Audit(_) => "audit_error",
        }
    }

    /// The HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            AccessError::InvalidCredentials
            | AccessError::TotpReplay
            | AccessError::TotpNotEnrolled
            | AccessError::SessionExpired
            | AccessError::SessionUnknown
            | AccessError::TokenUnknown
            | AccessError::TokenExpired
            | AccessError::TokenRevoked => 401,
            AccessError::IpNotAllowed | AccessError::CsrfMismatch | AccessError::Forbidden => 403,
            AccessError::LockedOut { .. } => 429,
            AccessError::NotFound(_) => 404,
            AccessError::Conflict(_) => 409,
            AccessError::Invalid(_) => 400,
            AccessError::Store(_) => 500,
            // Fail closed: nothing happens without its audit entry.
            AccessError::Audit(_) => 503,
        }
    }
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx errors name tables and columns, never bound values.
        AccessError::Store(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for AccessError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        AccessError::Store(format!("migration failed: {e}"))
    }
}

impl From<sotto_audit::AuditError> for AccessError {
    fn from(e: sotto_audit::AuditError) -> Self {
        AccessError::Audit(e.to_string())
    }
}
