//! The audit log through the API: queries (by subject, actor, time, action), verification,
//! the signed checkpoint (C2SP signed note), and RFC 9162 inclusion and consistency proofs.
//! Queries and inclusion proofs are limited to the caller's tenant; checkpoints and
//! consistency proofs cover the whole log (hashes only).

use crate::error::{ApiError, ApiResult};
use crate::guard::{require_tenant_scope, Caller};
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::Permission;
use sotto_audit::{Action, AuditError, Outcome, Record, SignedCheckpoint, VerifyReport};
use sotto_core::SubjectId;

fn audit_err(e: AuditError) -> ApiError {
    match e {
        AuditError::OutOfRange(m) => ApiError::bad_request(m),
        other => ApiError::from(other),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    pub subject: Option<String>,
    /// `user:<id>`, `token:<id>`, `cli`, ...
    pub actor: Option<String>,
    /// Inclusive (Unix ms).
    pub from_ms: Option<i64>,
    /// Exclusive (Unix ms).
    pub to_ms: Option<i64>,
    /// e.g. `transcript.read`, `recording.play`, `login.failure`.
    pub action: Option<String>,
    /// Paging: entries after this seq.
    pub after_seq: Option<u64>,
    /// Default 1000, at most 100,000.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Entries {
    /// Records in log order: `seq`, `entry` (ids only), `leaf_hash`.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<Record>,
}

/// The tenant's audit entries matching the filter.
#[utoipa::path(get, path = "/api/v1/audit/entries", tag = "audit", params(EntriesQuery),
    responses((status = 200, description = "Entries", body = Entries)))]
pub async fn entries(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<EntriesQuery>,
) -> ApiResult<Json<Entries>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AuditRead)?;
    let subject = q
        .subject
        .as_deref()
        .map(|s| s.parse::<SubjectId>())
        .transpose()
        .map_err(|_| ApiError::bad_request("subject is not a subject id"))?;
    let action = q
        .action
        .as_deref()
        .map(|a| a.parse::<Action>())
        .transpose()
        .map_err(|_| ApiError::bad_request("action is not a known audit action"))?;
    let query = sotto_audit::Query {
        subject,
        actor: q.actor,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        limit: q.limit,
        after_seq: q.after_seq,
        action,
    };
    let entries = st
        .vault()
        .audit()
        .query(&p.tenant, &query)
        .await
        .map_err(audit_err)?;
    Ok(Json(Entries { entries }))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// A checkpoint kept outside the operator's reach (signed note text): also catches a log
    /// rolled back or rewritten since.
    pub checkpoint: Option<String>,
}

/// Verifies the whole log; names the first bad entry. A clean verification is recorded.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    request_body = VerifyRequest,
    responses((status = 200, description = "The report; `problems` is empty when the log is intact")))]
pub async fn verify(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> ApiResult<Json<VerifyReport>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AuditVerify)?;
    // The body is optional: an empty one verifies without a kept checkpoint.
    let req: VerifyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VerifyRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::bad_request("expected {\"checkpoint\": \"<signed note>\"}"))?
    };
    let kept = match &req.checkpoint {
        Some(t) => Some(
            SignedCheckpoint::parse(t)
                .map_err(|_| ApiError::bad_request("checkpoint is not a signed checkpoint"))?,
        ),
        None => None,
    };
    // `AuditLog::verify` is not `Send` (it holds a statement across awaits); drive it on a
    // blocking thread of the same runtime.
    let log = st.vault().audit().clone();
    let handle = tokio::runtime::Handle::current();
    let report = tokio::task::spawn_blocking(move || handle.block_on(log.verify(kept.as_ref())))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(audit_err)?;
    if report.problems.is_empty() {
        st.vault()
            .record_ctx(
                &p.tenant,
                &caller.ctx,
                Action::AuditVerify,
                None,
                None,
                Outcome::Ok,
            )
            .await?;
    }
    Ok(Json(report))
}

/// The signed head of the log (C2SP signed note: origin, size, base64 root, Ed25519 signature
/// line). Keep a copy outside the operator's reach. `X-Sotto-Verifier-Key` carries the
/// verifier key.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, description = "Signed note", content_type = "text/plain")))]
pub async fn checkpoint(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AuditRead)?;
    let log = st.vault().audit();
    let cp = log.checkpoint().await.map_err(audit_err)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::HeaderName::from_static("x-sotto-verifier-key"),
                log.verifier().vkey(),
            ),
        ],
        cp.text,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub seq: u64,
    /// Tree size (default: the current size).
    pub size: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    /// Hex.
    pub leaf_hash: String,
    /// Hex hashes, RFC 9162 order.
    pub proof: Vec<String>,
    /// Hex root of the tree of `size` entries.
    pub root: String,
}

/// RFC 9162 inclusion proof of one of the tenant's entries.
#[utoipa::path(get, path = "/api/v1/audit/proofs/inclusion", tag = "audit", params(InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionProof)))]
pub async fn inclusion(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AuditRead)?;
    let log = st.vault().audit();
    let rec = log.get(q.seq).await.map_err(audit_err)?;
    let Some(rec) = rec.filter(|r| r.entry.tenant == p.tenant) else {
        return Err(ApiError::not_found(
            "audit entry",
            format!("audit:{}", q.seq),
        ));
    };
    let size = match q.size {
        Some(s) => s,
        None => log.size().await.map_err(audit_err)?,
    };
    let proof = log.inclusion_proof(q.seq, size).await.map_err(audit_err)?;
    let root = log.root_at(size).await.map_err(audit_err)?;
    Ok(Json(InclusionProof {
        seq: q.seq,
        size,
        leaf_hash: hex::encode(rec.leaf_hash),
        proof: proof.iter().map(hex::encode).collect(),
        root: hex::encode(root),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Default: the current size.
    pub to: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub proof: Vec<String>,
    pub root_from: String,
    pub root_to: String,
}

/// RFC 9162 consistency proof between two sizes of the log (e.g. a kept checkpoint and now).
#[utoipa::path(get, path = "/api/v1/audit/proofs/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProof)))]
pub async fn consistency(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AuditRead)?;
    let log = st.vault().audit();
    let to = match q.to {
        Some(s) => s,
        None => log.size().await.map_err(audit_err)?,
    };
    let proof = log.consistency_proof(q.from, to).await.map_err(audit_err)?;
    let root_from = log.root_at(q.from).await.map_err(audit_err)?;
    let root_to = log.root_at(to).await.map_err(audit_err)?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to,
        proof: proof.iter().map(hex::encode).collect(),
        root_from: hex::encode(root_from),
        root_to: hex::encode(root_to),
    }))
}

pub fn routes() -> Vec<RouteDef> {
    let read = Rule::Permission(Permission::AuditRead);
    vec![
        route::<__path_entries, _, _>(read, Action::Other, false, entries),
        route::<__path_verify, _, _>(
            Rule::Permission(Permission::AuditVerify),
            Action::AuditVerify,
            false,
            verify,
        ),
        route::<__path_checkpoint, _, _>(read, Action::Other, false, checkpoint),
        route::<__path_inclusion, _, _>(read, Action::Other, false, inclusion),
        route::<__path_consistency, _, _>(read, Action::Other, false, consistency),
    ]
}
