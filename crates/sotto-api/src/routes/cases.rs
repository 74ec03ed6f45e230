//! Cases and deal timelines (MiFID II): open a case, link an interaction, ingest a chat, e-mail
//! or SMS exchange into it, export the complete timeline (`?format=pdf|xlsx|json`, sealed by a
//! SHA-256 recorded in the audit log) and verify an export file against that log.
//!
//! The export is built in memory and sealed before it is sent: its hash is in the
//! `X-Sotto-Seal` header and in the audit entry (`export`, object = case id, purpose
//! `sha256:<hex>`). A JSON export lists each recording with the name and hash of its WAV file;
//! the audio itself is fetched through the recording endpoints (audited on their own).

use super::policy::{
    case_in_tenant, interaction_in_tenant, parse_enum, policy_state, subject_in_tenant,
    tenant_principal, unprocessable,
};
use crate::error::{ApiError, ApiResult};
use crate::guard::Caller;
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::Permission;
use sotto_audit::Action;
use sotto_core::{Channel, Direction, Lang, Speaker};
use sotto_policy::{CaseExportFormat, Routing, TextInteraction};
use sotto_vault::Identifier;

/// Most messages one text interaction may carry.
const MAX_MESSAGES: usize = 10_000;

/// The header carrying an export's seal.
pub const SEAL_HEADER: &str = "x-sotto-seal";
/// The header carrying the sequence number of the sealing audit entry.
pub const SEAL_SEQ_HEADER: &str = "x-sotto-audit-seq";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    /// The tenant's own deal reference (from the CRM), 1–128 characters; no personal data.
    pub reference: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    pub reference: String,
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
}

/// Opens a case (a deal, first contact to close).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = OpenCase,
    responses((status = 201, description = "The case", body = CaseView),
        (status = 422, description = "invalid_reference", body = crate::error::ErrorBody)))]
pub async fn open_case(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<OpenCase>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::CaseManage)?;
    let ps = policy_state(&st)?;
    let row = ps
        .policies
        .open_case(&p.tenant, &req.reference, &p.actor_label())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CaseView {
            id: row.id.to_string(),
            reference: row.reference,
            opened_ms: row.opened_ms,
            closed_ms: row.closed_ms,
        }),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// An interaction of this tenant.
    pub interaction: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Linked {
    pub case: String,
    pub interaction: String,
}

/// Links an interaction (call, chat, e-mail, SMS) to the case. Audited.
#[utoipa::path(post, path = "/api/v1/cases/{id}/interactions", tag = "cases", request_body = LinkRequest,
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "Linked", body = Linked),
        (status = 404, description = "No such case or interaction in this tenant", body = crate::error::ErrorBody)))]
pub async fn link(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<LinkRequest>,
) -> ApiResult<Json<Linked>> {
    let p = tenant_principal(&caller, Permission::CaseManage)?;
    let ps = policy_state(&st)?;
    let case = case_in_tenant(&st, &p.tenant, &id).await?;
    let i = interaction_in_tenant(&st, &p.tenant, &req.interaction).await?;
    ps.policies
        .link_to_case(&p.tenant, i.id, Some(case.id), &p.actor_label())
        .await?;
    Ok(Json(Linked {
        case: case.id.to_string(),
        interaction: i.id.to_string(),
    }))
}

/// One message of a text exchange.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// `caller` (the customer), `agent` or `bot`.
    pub speaker: String,
    /// Milliseconds after `started_ms`.
    pub at_ms: i64,
    pub text: String,
}

/// A chat, e-mail or SMS exchange for the case. The text goes through the same detection,
/// removal (card and special-category data) and sealing as a call transcript.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextIn {
    /// `chat`, `email` or `sms`.
    pub channel: String,
    /// `inbound` (default), `outbound` or `internal`.
    pub direction: Option<String>,
    /// When the exchange started (Unix ms); default now.
    pub started_ms: Option<i64>,
    /// The subject, by id …
    pub subject_id: Option<String>,
    /// … or by identifiers (blind-indexed; a new subject when none matches).
    pub phone: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    /// `da`, `sv`, `nb`, `fi`, `et`, `de`, `en`.
    pub lang: Option<String>,
    /// Where it came from (`crm`, `mail-gateway`); recorded, no personal data.
    pub source: Option<String>,
    /// Routing, for the processing-mode rule.
    pub campaign: Option<String>,
    pub queue: Option<String>,
    pub messages: Vec<MessageIn>,
}

/// Ingests a chat, e-mail or SMS exchange into the case. Audited as `ingest`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", tag = "cases", request_body = TextIn,
    params(("id" = String, Path, description = "Case id")),
    responses((status = 201, description = "The ingest receipt (ids and counts only)"),
        (status = 404, description = "No such case or subject in this tenant", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_channel, invalid_direction, invalid_speaker, invalid_lang, invalid_messages, subject_required", body = crate::error::ErrorBody)))]
pub async fn ingest_text(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<TextIn>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::CaseManage)?;
    let ps = policy_state(&st)?;
    let case = case_in_tenant(&st, &p.tenant, &id).await?;
    let channel = match req.channel.as_str() {
        "chat" => Channel::Chat,
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        _ => {
            return Err(unprocessable(
                "invalid_channel",
                "channel must be one of: chat, email, sms (calls come in as audio)",
            ))
        }
    };
    let direction: Direction = match req.direction.as_deref() {
        None => Direction::Inbound,
        Some(d) => parse_enum(
            "invalid_direction",
            "direction",
            d,
            "inbound, outbound, internal",
        )?,
    };
    let lang: Option<Lang> = req
        .lang
        .as_deref()
        .map(|l| parse_enum("invalid_lang", "lang", l, "da, sv, nb, fi, et, de, en"))
        .transpose()?;
    if req.messages.is_empty() || req.messages.len() > MAX_MESSAGES {
        return Err(unprocessable(
            "invalid_messages",
            format!("1 to {MAX_MESSAGES} messages"),
        ));
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in req.messages {
        let speaker: Speaker = parse_enum(
            "invalid_speaker",
            "speaker",
            &m.speaker,
            "caller, agent, bot",
        )?;
        if m.at_ms < 0 {
            return Err(unprocessable(
                "invalid_messages",
                "at_ms must not be negative",
            ));
        }
        messages.push((speaker, m.at_ms, m.text));
    }
    let mut identifiers = Vec::new();
    if let Some(v) = &req.phone {
        identifiers.push(Identifier::phone(v, &st.settings().default_region)?);
    }
    if let Some(v) = &req.email {
        identifiers.push(Identifier::email(v)?);
    }
    if let Some(v) = &req.customer_id {
        identifiers.push(Identifier::customer_id(v)?);
    }
    let subject = match &req.subject_id {
        Some(s) => Some(subject_in_tenant(&st, &p.tenant, s).await?),
        None => None,
    };
    if subject.is_none() && identifiers.is_empty() {
        return Err(unprocessable(
            "subject_required",
            "name the subject: subject_id, phone, email or customer_id",
        ));
    }
    let source = req.source.unwrap_or_else(|| "api".into());
    if source.trim().is_empty() || source.len() > 64 || source.chars().any(char::is_control) {
        return Err(unprocessable(
            "invalid_source",
            "source: 1-64 printable characters",
        ));
    }
    let receipt = ps
        .policies
        .ingest_text(
            TextInteraction {
                tenant: p.tenant.clone(),
                channel,
                direction,
                started_ms: req.started_ms,
                identifiers,
                subject,
                case_id: Some(case.id),
                lang,
                messages,
                source,
            },
            Routing {
                campaign: req.campaign,
                queue: req.queue,
                called_number: None,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `pdf` (default), `xlsx` or `json`.
    pub format: Option<String>,
}

/// The case's complete timeline — every interaction in order with its (redacted) transcript,
/// its recordings and the case's audit trail — as a download, sealed in the audit log before
/// it is sent (`X-Sotto-Seal: sha256:<hex>`, `X-Sotto-Audit-Seq`). Reading the content is
/// audited too (transcript reads, recording downloads for JSON hashes).
#[utoipa::path(get, path = "/api/v1/cases/{id}/export", tag = "cases", params(
        ("id" = String, Path, description = "Case id"), ExportParams),
    responses((status = 200, description = "The export file (application/pdf, XLSX or application/json), Content-Disposition: attachment"),
        (status = 404, description = "No such case in this tenant", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_format", body = crate::error::ErrorBody)))]
pub async fn export(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<ExportParams>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::CaseExport)?;
    let ps = policy_state(&st)?;
    let format: CaseExportFormat = parse_enum(
        "invalid_format",
        "format",
        q.format.as_deref().unwrap_or("pdf"),
        "pdf, xlsx, json",
    )?;
    let case = case_in_tenant(&st, &p.tenant, &id).await?;
    let (bytes, receipt) = ps
        .policies
        .export_case_bytes(&p.tenant, case.id, format, &p.actor_label())
        .await?;
    let ctype = match format {
        CaseExportFormat::Pdf => "application/pdf",
        CaseExportFormat::Xlsx => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
        CaseExportFormat::Json => "application/json",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"case-{}.{}\"",
                    case.id,
                    format.extension()
                ),
            ),
            (
                header::HeaderName::from_static(SEAL_HEADER),
                format!("sha256:{}", receipt.sha256),
            ),
            (
                header::HeaderName::from_static(SEAL_SEQ_HEADER),
                receipt.audit_seq.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The seal found for an export.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SealView {
    pub case: String,
    /// The sealing audit entry.
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub sha256: String,
    /// The `export` entry of this tenant's audit log that seals exactly these bytes.
    pub sealed: Option<SealView>,
    /// Always false here: the JSON's audio files are not uploaded (`sotto case verify FILE`
    /// checks them beside the file).
    pub audio_checked: bool,
    pub ok: bool,
}

/// Verifies an uploaded export file (the raw bytes as the body): its SHA-256 must be sealed by
/// an `export` entry in this tenant's audit log. 200 with `ok: false` when it is not.
#[utoipa::path(post, path = "/api/v1/cases/verify", tag = "cases",
    request_body(content = String, content_type = "application/octet-stream", description = "The export file as it was downloaded"),
    responses((status = 200, description = "The verification", body = Verification),
        (status = 400, description = "empty_body", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Json<Verification>> {
    let p = tenant_principal(&caller, Permission::AuditVerify)?;
    let ps = policy_state(&st)?;
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "send the export file as the request body",
        ));
    }
    let v = ps
        .policies
        .verify_case_export_bytes(Some(&p.tenant), &body, None)
        .await?;
    Ok(Json(Verification {
        sha256: v.sha256,
        ok: v.sealed.is_some(),
        sealed: v.sealed.map(|s| SealView {
            case: s.case,
            seq: s.seq,
            at_ms: s.at_ms,
            actor: s.actor,
        }),
        audio_checked: false,
    }))
}

pub fn routes() -> Vec<RouteDef> {
    let perm = Rule::Permission;
    vec![
        route::<__path_open_case, _, _>(
            perm(Permission::CaseManage),
            Action::Other,
            false,
            open_case,
        ),
        route::<__path_link, _, _>(perm(Permission::CaseManage), Action::Other, false, link),
        route::<__path_ingest_text, _, _>(
            perm(Permission::CaseManage),
            Action::Ingest,
            false,
            ingest_text,
        ),
        route::<__path_export, _, _>(perm(Permission::CaseExport), Action::Export, true, export),
        route::<__path_verify, _, _>(
            perm(Permission::AuditVerify),
            Action::AuditVerify,
            false,
            verify,
        ),
    ]
}
