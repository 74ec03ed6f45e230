//! Data subjects' rights: access export (GDPR Art. 15, JSON or Excel, with the subject's own
//! access log) and erasure ("forget me", Art. 17, legal holds respected). The subject is named
//! by phone, e-mail, customer id or subject id; identifiers are only ever compared through
//! their blind index. Both need the permission at tenant reach.

use crate::error::{ApiError, ApiResult};
use crate::guard::{require_tenant_scope, Caller};
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sotto_access::{Permission, Principal};
use sotto_audit::Action;
use sotto_core::SubjectId;
use sotto_vault::{ExportFormat, Identifier};

/// Exactly one way to name the subject.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectSelector {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub subject_id: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub subject_id: Option<String>,
    /// `json` (default) or `xlsx`.
    pub format: Option<String>,
}

async fn resolve(st: &ApiState, p: &Principal, who: &SubjectSelector) -> ApiResult<SubjectId> {
    let given = [
        who.phone.is_some(),
        who.email.is_some(),
        who.customer_id.is_some(),
        who.subject_id.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(ApiError::bad_request(
            "name the subject with exactly one of phone, email, customer_id, subject_id",
        ));
    }
    let not_found = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "subject_not_found",
            "no subject matches that identifier",
        )
        .refused(crate::error::Refusal::default())
    };
    if let Some(s) = &who.subject_id {
        let id: SubjectId = s.parse().map_err(|_| not_found())?;
        return match st.vault().store().get_subject(&p.tenant, id).await {
            Ok(Some(_)) => Ok(id),
            Ok(None) => Err(not_found().with_object(Some(id), Some(format!("subject:{id}")))),
            Err(e) => Err(ApiError::internal(&e)),
        };
    }
    let ident = if let Some(v) = &who.phone {
        Identifier::phone(v, &st.settings().default_region)?
    } else if let Some(v) = &who.email {
        Identifier::email(v)?
    } else if let Some(v) = &who.customer_id {
        Identifier::customer_id(v)?
    } else {
        return Err(not_found());
    };
    st.vault()
        .find_subject(&p.tenant, &ident)
        .await?
        .ok_or_else(not_found)
}

/// Everything stored about one subject, decrypted, with its access log. Audited as `export`.
#[utoipa::path(post, path = "/api/v1/subjects/export", tag = "subjects",
    request_body = ExportRequest,
    responses((status = 200, description = "The export (JSON schema sotto.subject-export.v1, or XLSX)"),
        (status = 404, description = "subject_not_found", body = crate::error::ErrorBody),
        (status = 410, description = "subject_erased", body = crate::error::ErrorBody)))]
pub async fn export(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<ExportRequest>,
) -> ApiResult<Response> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::SubjectExport)?;
    let format = match req.format.as_deref().unwrap_or("json") {
        "json" => ExportFormat::Json,
        "xlsx" => ExportFormat::Xlsx,
        _ => return Err(ApiError::bad_request("format must be json or xlsx")),
    };
    let who = SubjectSelector {
        phone: req.phone,
        email: req.email,
        customer_id: req.customer_id,
        subject_id: req.subject_id,
    };
    let subject = resolve(&st, p, &who).await?;
    let data = st
        .vault()
        .collect_export_ctx(&p.tenant, subject, &caller.ctx)
        .await?;
    let bytes = sotto_vault::context::export_bytes(&data, format)?;
    let (ctype, ext) = match format {
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"subject-{subject}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Erases the subject (crypto-shredding when nothing is held); returns the erasure receipt.
#[utoipa::path(post, path = "/api/v1/subjects/erase", tag = "subjects",
    request_body = SubjectSelector,
    responses((status = 200, description = "The erasure receipt (ids and counts only)"),
        (status = 404, description = "subject_not_found", body = crate::error::ErrorBody)))]
pub async fn erase(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<SubjectSelector>,
) -> ApiResult<Response> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::SubjectErase)?;
    let subject = resolve(&st, p, &req).await?;
    let receipt = st
        .vault()
        .forget_ctx(&p.tenant, subject, &caller.ctx)
        .await?;
    // The CRM hears of it like of every other erasure (webhook `subject.erased`).
    // The erasure is done either way; a webhook that could not be queued is logged, not
    // reported as a failed erasure.
    if let Some(ps) = st.policy_state() {
        if let Err(e) = ps.policies.announce_erasure(&receipt).await {
            tracing::warn!(error = %e, "the subject.erased webhook could not be queued");
        }
    }
    Ok(Json(receipt).into_response())
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        route::<__path_export, _, _>(
            Rule::Permission(Permission::SubjectExport),
            Action::Export,
            true,
            export,
        ),
        route::<__path_erase, _, _>(
            Rule::Permission(Permission::SubjectErase),
            Action::Erasure,
            true,
            erase,
        ),
    ]
}
