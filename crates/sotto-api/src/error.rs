//! The one place errors become HTTP answers: a status, a machine-readable code and a human
//! message, as `{"error": {"code": "...", "message": "..."}}`. Messages never carry personal
//! data: they come from error types that only name ids and fields, and internal failures are
//! answered with a generic message (the detail goes to the log, which also carries no values).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sotto_access::AccessError;
use sotto_core::SubjectId;
use sotto_vault::VaultError;

/// A refusal the guard must record in the audit log (outcome `denied`): permission, scope,
/// tenant, allowlist, CSRF or token-scope refusals. Travels in the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct Refusal {
    pub subject: Option<SubjectId>,
    pub object: Option<String>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub refusal: Option<Refusal>,
    pub retry_after_s: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `forbidden`, `csrf_mismatch`, `invalid_credentials`.
    pub code: String,
    /// A sentence for humans. Never contains personal data.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            refusal: None,
            retry_after_s: None,
        }
    }

    /// A permission or scope refusal (403), audited by the guard.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message).refused(Refusal::default())
    }

    /// An object that does not exist *for this caller's tenant* (404). Another tenant's id
    /// gets exactly this answer; the guard records the attempt as a refusal.
    pub fn not_found(what: &str, object: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
        .refused(Refusal {
            subject: None,
            object: Some(object.into()),
        })
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in (session cookie) or send an API token (Authorization: Bearer)",
        )
    }

    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    /// Marks this error as a refusal to audit.
    pub fn refused(mut self, r: Refusal) -> Self {
        self.refusal = Some(r);
        self
    }

    pub fn with_object(mut self, subject: Option<SubjectId>, object: Option<String>) -> Self {
        if let Some(r) = &mut self.refusal {
            r.subject = r.subject.or(subject);
            if r.object.is_none() {
                r.object = object;
            }
        }
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sotto\""),
            );
        }
        if let Some(r) = self.refusal {
            resp.extensions_mut().insert(r);
        }
        resp
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            let mut err = ApiError::internal(&e);
            if matches!(e, AccessError::Audit(_)) {
                err.status = StatusCode::SERVICE_UNAVAILABLE;
                err.code = "audit_unavailable";
                err.message = "the audit log cannot be written; the request was refused".to_owned();
            }
            return err;
        }
        let retry = match &e {
            AccessError::LockedOut { retry_after_ms } => {
                Some(((*retry_after_ms).max(0) as u64).div_ceil(1000))
            }
            _ => None,
        };
        let mut err = ApiError::new(status, e.code(), e.to_string());
        err.retry_after_s = retry;
        // Refusals of an authenticated caller are audited by the guard. (Login failures and
        // allowlist refusals are recorded by sotto-access itself.)
        if matches!(e, AccessError::Forbidden | AccessError::CsrfMismatch) {
            err.refusal = Some(Refusal::default());
        }
        err
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match &e {
            VaultError::UnknownTenant(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "unknown tenant")
            }
            VaultError::SubjectNotFound(_) => ApiError::new(
                StatusCode::NOT_FOUND,
                "subject_not_found",
                "no subject matches that identifier",
            ),
            VaultError::SubjectErased(_) => ApiError::new(
                StatusCode::GONE,
                "subject_erased",
                "the subject has been erased; the data cannot be read",
            ),
            VaultError::InvalidInput { .. } => ApiError::bad_request(e.to_string()),
            VaultError::Store(sotto_store::StoreError::NotFound(_)) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found")
            }
            VaultError::Audit(_) => {
                tracing::error!(error = %e, "audit log unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "the audit log cannot be written; the request was refused",
                )
            }
            VaultError::Integrity { .. } => {
                tracing::error!(error = %e, "integrity failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "integrity",
                    "stored data failed its integrity check",
                )
            }
            _ => ApiError::internal(&e),
        }
    }
}

impl From<sotto_audit::AuditError> for ApiError {
    fn from(e: sotto_audit::AuditError) -> Self {
        tracing::error!(error = %e, "audit log error");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log cannot be read or written",
        )
    }
}

impl From<sotto_policy::PolicyError> for ApiError {
    fn from(e: sotto_policy::PolicyError) -> Self {
        use sotto_policy::PolicyError as P;
        match e {
            P::Vault(v) => v.into(),
            P::Audit(a) => a.into(),
            P::Store(sotto_store::StoreError::NotFound(_)) | P::NotFound(_) => {
                // Ids only; another tenant's id reads exactly like a missing one. Audited.
                let what = match &e {
                    P::NotFound(w) => w.clone(),
                    _ => "object".to_owned(),
                };
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no such {what}"),
                )
                .refused(Refusal {
                    subject: None,
                    object: Some(what),
                })
            }
            P::UnknownTenant(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "unknown tenant")
            }
            P::Invalid { field, .. } => {
                let code = match field {
                    "until" => "invalid_until",
                    "hold reason" => "invalid_reason",
                    "hold target" => "invalid_target",
                    "rule key" => "invalid_key",
                    "webhook field" => "invalid_webhook_field",
                    "case reference" => "invalid_reference",
                    "consent source" => "invalid_source",
                    "messages" => "invalid_messages",
                    "format" => "invalid_format",
                    "subject" => "invalid_subject",
                    _ => "invalid",
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
            }
            P::LegalObligation { .. } => {
                ApiError::new(StatusCode::CONFLICT, "legal_obligation", e.to_string())
            }
            P::Hold { .. } => ApiError::new(StatusCode::CONFLICT, "hold_released", e.to_string()),
            other => ApiError::internal(&other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
