//! Policies (issue 6) over HTTP: processing-mode rules and the effective policy of a routing,
//! legal holds (MiFID II preset), consent and legal basis per purpose, pseudonymised
//! statistics, and retention (a dry-run report and "run now"). Cases and deal timelines are in
//! [`super::cases`].
//!
//! Everything is scoped to the caller's tenant and needs the permission at tenant reach; an id
//! of another tenant (hold, subject, interaction, case) is answered 404 like a missing one, and
//! the guard records the attempt. Changes are audited by `sotto-policy` under the caller's
//! actor label (`user:<id>` / `token:<id>`).

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::guard::{require_tenant_scope, Caller};
use crate::registry::{route, RouteDef, Rule};
use crate::state::{ApiState, PolicyState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::{Permission, Principal};
use sotto_audit::{Action, Outcome};
use sotto_core::{
    CaseId, ConsentPurpose, ConsentState, HoldScope, InteractionId, LegalBasis, ObjectId,
    ProcessingMode, SubjectId, TenantId, UnixMillis,
};
use sotto_policy::{ConsentChange, HoldPreset, HoldRequest, Routing, StatsQuery};
use sotto_store::{LegalHoldRow, PolicyRuleRow, RuleScope};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
/// Longest statistics range one request may ask for.
const MAX_STATS_DAYS: i64 = 3_660;
/// Longest retention period a rule may set (100 years).
const MAX_RETENTION_DAYS: u32 = 36_500;

/// The policy layer, or 503 when the server runs without it.
pub(crate) fn policy_state(st: &ApiState) -> ApiResult<&PolicyState> {
    st.policy_state().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "policies_unavailable",
            "this server runs without the policy layer",
        )
    })
}

/// The principal, after checking the permission reaches the whole tenant.
pub(crate) fn tenant_principal(caller: &Caller, perm: Permission) -> ApiResult<&Principal> {
    let p = caller.principal()?;
    require_tenant_scope(p, perm)?;
    Ok(p)
}

/// Parses a wire enum value; a bad one is a 422 with a code naming the field.
pub(crate) fn parse_enum<T: std::str::FromStr>(
    code: &'static str,
    field: &str,
    raw: &str,
    known: &str,
) -> ApiResult<T> {
    raw.parse::<T>().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!("{field} must be one of: {known}"),
        )
    })
}

pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn not_found(what: &str, id: String) -> ApiError {
    ApiError::not_found(what, id)
}

pub(crate) async fn interaction_in_tenant(
    st: &ApiState,
    tenant: &TenantId,
    raw: &str,
) -> ApiResult<sotto_store::InteractionRow> {
    let id: InteractionId = parse_id("interaction", raw)?;
    st.vault()
        .store()
        .get_interaction(tenant, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| not_found("interaction", id.to_string()))
}

pub(crate) async fn subject_in_tenant(
    st: &ApiState,
    tenant: &TenantId,
    raw: &str,
) -> ApiResult<SubjectId> {
    let id: SubjectId = parse_id("subject", raw)?;
    match st.vault().store().get_subject(tenant, id).await {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(not_found("subject", format!("subject:{id}"))
            .with_object(Some(id), Some(format!("subject:{id}")))),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

pub(crate) async fn case_in_tenant(
    st: &ApiState,
    tenant: &TenantId,
    raw: &str,
) -> ApiResult<sotto_store::CaseRow> {
    let id: CaseId = parse_id("case", raw)?;
    st.vault()
        .store()
        .get_case(tenant, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| not_found("case", id.to_string()))
}

// ---------------------------------------------------------------------- rules

/// A processing-mode rule.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// `tenant`, `campaign`, `queue` or `number`.
    pub scope: String,
    /// The campaign, queue or called number; `""` for the tenant rule.
    pub key: String,
    /// `minimal`, `anonymise` or `record`.
    pub mode: String,
    pub retention_days: u32,
    /// Legal basis of recordings kept under a `record` rule.
    pub basis: Option<String>,
    /// Extra (non-personal) webhook fields the tenant allows.
    pub webhook_fields: Vec<String>,
    pub updated_ms: i64,
}

impl RuleView {
    fn of(r: &PolicyRuleRow) -> Self {
        Self {
            scope: r.scope.as_str().to_owned(),
            key: r.key.clone(),
            mode: r.mode.as_str().to_owned(),
            retention_days: r.retention_days,
            basis: r.basis.map(|b| b.as_str().to_owned()),
            webhook_fields: r.webhook_fields.clone(),
            updated_ms: r.updated_ms,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RuleList {
    pub rules: Vec<RuleView>,
}

/// Sets the rule for (scope, key).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// `tenant` (the tenant default), `campaign`, `queue` or `number` (the called number).
    pub scope: String,
    /// Required unless `scope` is `tenant`.
    pub key: Option<String>,
    /// `minimal`, `anonymise` or `record`.
    pub mode: String,
    /// Defaults to the mode's period (minimal 90, anonymise 30, record 1827).
    pub retention_days: Option<u32>,
    /// Basis of recordings under a `record` rule: `consent`, `contract`, `legal_obligation`,
    /// `vital_interest`, `public_task`, `legitimate_interest`.
    pub basis: Option<String>,
    pub webhook_fields: Option<Vec<String>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleKey {
    pub scope: String,
    pub key: Option<String>,
}

const SCOPES: &str = "tenant, campaign, queue, number";
const MODES: &str = "minimal, anonymise, record";
const BASES: &str =
    "consent, contract, legal_obligation, vital_interest, public_task, legitimate_interest";

fn rule_scope(raw: &str) -> ApiResult<RuleScope> {
    parse_enum("invalid_scope", "scope", raw, SCOPES)
}

/// Every processing-mode rule of the tenant.
#[utoipa::path(get, path = "/api/v1/policy/rules", tag = "policy",
    responses((status = 200, description = "The rules", body = RuleList)))]
pub async fn list_rules(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<RuleList>> {
    let p = tenant_principal(&caller, Permission::PolicyManage)?;
    let rules = policy_state(&st)?.policies.rules(&p.tenant).await?;
    Ok(Json(RuleList {
        rules: rules.iter().map(RuleView::of).collect(),
    }))
}

/// Sets (creates or replaces) the rule for a scope and key. Audited as `policy.change`.
#[utoipa::path(put, path = "/api/v1/policy/rules", tag = "policy", request_body = RuleRequest,
    responses((status = 200, description = "The rule as stored", body = RuleView),
        (status = 422, description = "invalid_scope, invalid_mode, invalid_basis, invalid_key, invalid_retention_days, invalid_webhook_field", body = crate::error::ErrorBody)))]
pub async fn set_rule(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<RuleRequest>,
) -> ApiResult<Json<RuleView>> {
    let p = tenant_principal(&caller, Permission::PolicyManage)?;
    let ps = policy_state(&st)?;
    let scope = rule_scope(&req.scope)?;
    let mode: ProcessingMode = parse_enum("invalid_mode", "mode", &req.mode, MODES)?;
    let basis: Option<LegalBasis> = req
        .basis
        .as_deref()
        .map(|b| parse_enum("invalid_basis", "basis", b, BASES))
        .transpose()?;
    if req.retention_days.is_some_and(|d| d > MAX_RETENTION_DAYS) {
        return Err(unprocessable(
            "invalid_retention_days",
            format!("retention_days must be at most {MAX_RETENTION_DAYS}"),
        ));
    }
    let row = ps
        .policies
        .set_rule(
            &p.tenant,
            scope,
            req.key.as_deref().unwrap_or(""),
            mode,
            req.retention_days,
            basis,
            req.webhook_fields.unwrap_or_default(),
            &p.actor_label(),
        )
        .await?;
    Ok(Json(RuleView::of(&row)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub removed: bool,
}

/// Removes the rule for a scope and key (`?scope=queue&key=sales`). Audited.
#[utoipa::path(delete, path = "/api/v1/policy/rules", tag = "policy", params(RuleKey),
    responses((status = 200, description = "Removed", body = Removed),
        (status = 404, description = "rule_not_found", body = crate::error::ErrorBody)))]
pub async fn remove_rule(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<RuleKey>,
) -> ApiResult<Json<Removed>> {
    let p = tenant_principal(&caller, Permission::PolicyManage)?;
    let ps = policy_state(&st)?;
    let scope = rule_scope(&q.scope)?;
    let key = if scope == RuleScope::Tenant {
        ""
    } else {
        q.key.as_deref().map(str::trim).unwrap_or("")
    };
    let removed = ps
        .policies
        .remove_rule(&p.tenant, scope, key, &p.actor_label())
        .await?;
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "rule_not_found",
            "no rule for that scope and key",
        ));
    }
    Ok(Json(Removed { removed }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoutingQuery {
    pub campaign: Option<String>,
    pub queue: Option<String>,
    /// The tenant's line that was called (never the caller's number).
    pub called_number: Option<String>,
}

/// The policy an interaction routed like this would get.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EffectiveView {
    pub mode: String,
    pub retention_days: u32,
    pub basis: Option<String>,
    /// The rule that decided (`scope`, `key`), or null for the tenant's own mode.
    pub matched_scope: Option<String>,
    pub matched_key: Option<String>,
    pub webhook_fields: Vec<String>,
}

/// The effective policy for a routing: called number > queue > campaign > tenant rule >
/// tenant mode.
#[utoipa::path(get, path = "/api/v1/policy/effective", tag = "policy", params(RoutingQuery),
    responses((status = 200, description = "The effective policy", body = EffectiveView)))]
pub async fn effective(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<RoutingQuery>,
) -> ApiResult<Json<EffectiveView>> {
    let p = tenant_principal(&caller, Permission::PolicyManage)?;
    let ps = policy_state(&st)?;
    let routing = Routing {
        campaign: q.campaign,
        queue: q.queue,
        called_number: q.called_number,
    };
    let e = ps.policies.effective(&p.tenant, &routing).await?;
    Ok(Json(EffectiveView {
        mode: e.mode.as_str().to_owned(),
        retention_days: e.retention_days,
        basis: e.basis.map(|b| b.as_str().to_owned()),
        matched_scope: e.matched.as_ref().map(|(s, _)| s.as_str().to_owned()),
        matched_key: e.matched.map(|(_, k)| k),
        webhook_fields: e.webhook_fields,
    }))
}

// ---------------------------------------------------------------------- holds

/// A legal hold.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HoldView {
    pub id: String,
    /// `case`, `subject` or `interaction`.
    pub scope: String,
    pub target: String,
    pub reason: String,
    pub created_by: String,
    pub created_ms: i64,
    /// Null: until released.
    pub until_ms: Option<i64>,
    pub released_ms: Option<i64>,
    /// Whether it blocks retention and erasure now.
    pub active: bool,
}

impl HoldView {
    fn of(h: &LegalHoldRow, now: UnixMillis) -> Self {
        Self {
            id: h.id.to_string(),
            scope: h.scope.as_str().to_owned(),
            target: h.target.clone(),
            reason: h.reason.clone(),
            created_by: h.created_by.clone(),
            created_ms: h.created_ms,
            until_ms: h.until_ms,
            released_ms: h.released_ms,
            active: h.is_active(now),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HoldList {
    pub holds: Vec<HoldView>,
}

/// Places a hold on a case, subject or interaction of this tenant.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceHold {
    /// `case`, `subject` or `interaction`.
    pub scope: String,
    /// The id of the case, subject or interaction.
    pub target: String,
    /// Why (a matter or ticket reference — no personal data), 1–256 characters.
    pub reason: String,
    /// Until when (Unix ms); omitted: until released (MiFID II preset: five years).
    pub until_ms: Option<i64>,
    /// `mifid_ii`: five years, extendable to seven, reason prefixed `MiFID II`.
    pub preset: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendHold {
    /// The new end (Unix ms); never earlier than the current one.
    pub until_ms: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldFilter {
    /// Only holds active now.
    pub active: Option<bool>,
}

/// Every legal hold of the tenant (released and expired ones too, unless `?active=true`).
#[utoipa::path(get, path = "/api/v1/holds", tag = "holds", params(HoldFilter),
    responses((status = 200, description = "The holds", body = HoldList)))]
pub async fn list_holds(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HoldFilter>,
) -> ApiResult<Json<HoldList>> {
    let p = tenant_principal(&caller, Permission::LegalHoldManage)?;
    let ps = policy_state(&st)?;
    let now = st.now_ms();
    let holds = ps.policies.holds(&p.tenant).await?;
    Ok(Json(HoldList {
        holds: holds
            .iter()
            .filter(|h| q.active != Some(true) || h.is_active(now))
            .map(|h| HoldView::of(h, now))
            .collect(),
    }))
}

/// Places a legal hold. The target must be a case, subject or interaction of the caller's
/// tenant (else 404). Audited as `legal_hold.change`.
#[utoipa::path(post, path = "/api/v1/holds", tag = "holds", request_body = PlaceHold,
    responses((status = 201, description = "The hold", body = HoldView),
        (status = 404, description = "The target is not in this tenant", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_scope, invalid_preset, invalid_reason, invalid_until", body = crate::error::ErrorBody)))]
pub async fn place_hold(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<PlaceHold>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::LegalHoldManage)?;
    let ps = policy_state(&st)?;
    let scope: HoldScope = parse_enum(
        "invalid_scope",
        "scope",
        &req.scope,
        "case, subject, interaction",
    )?;
    let preset = match req.preset.as_deref() {
        None => None,
        Some("mifid_ii") => Some(HoldPreset::MifidII),
        Some(_) => return Err(unprocessable("invalid_preset", "preset must be mifid_ii")),
    };
    let target = match scope {
        HoldScope::Case => case_in_tenant(&st, &p.tenant, &req.target)
            .await?
            .id
            .to_string(),
        HoldScope::Subject => subject_in_tenant(&st, &p.tenant, &req.target)
            .await?
            .to_string(),
        HoldScope::Interaction => interaction_in_tenant(&st, &p.tenant, &req.target)
            .await?
            .id
            .to_string(),
    };
    let row = ps
        .policies
        .place_hold(HoldRequest {
            tenant: p.tenant.clone(),
            scope,
            target,
            reason: req.reason,
            created_by: p.actor_label(),
            until_ms: req.until_ms,
            preset,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(HoldView::of(&row, st.now_ms()))).into_response())
}

async fn hold_id(st: &ApiState, tenant: &TenantId, raw: &str) -> ApiResult<ObjectId> {
    let id: ObjectId = parse_id("legal hold", raw)?;
    match st.vault().store().get_legal_hold(tenant, id).await {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(not_found("legal hold", id.to_string())),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// Extends a hold (never shortens it; MiFID II: at most seven years after it was placed).
#[utoipa::path(post, path = "/api/v1/holds/{id}/extend", tag = "holds", request_body = ExtendHold,
    params(("id" = String, Path, description = "Hold id")),
    responses((status = 200, description = "The hold", body = HoldView),
        (status = 404, description = "No such hold in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "hold_released", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_until", body = crate::error::ErrorBody)))]
pub async fn extend_hold(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<ExtendHold>,
) -> ApiResult<Json<HoldView>> {
    let p = tenant_principal(&caller, Permission::LegalHoldManage)?;
    let ps = policy_state(&st)?;
    let id = hold_id(&st, &p.tenant, &id).await?;
    if req.until_ms <= st.now_ms() {
        return Err(unprocessable(
            "invalid_until",
            "until_ms must be in the future",
        ));
    }
    let row = ps
        .policies
        .extend_hold(&p.tenant, id, req.until_ms, &p.actor_label())
        .await?;
    Ok(Json(HoldView::of(&row, st.now_ms())))
}

/// Releases a hold; what it kept becomes subject to retention and pending erasures again.
#[utoipa::path(post, path = "/api/v1/holds/{id}/release", tag = "holds",
    params(("id" = String, Path, description = "Hold id")),
    responses((status = 200, description = "The hold", body = HoldView),
        (status = 404, description = "No such hold in this tenant", body = crate::error::ErrorBody)))]
pub async fn release_hold(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<HoldView>> {
    let p = tenant_principal(&caller, Permission::LegalHoldManage)?;
    let ps = policy_state(&st)?;
    let id = hold_id(&st, &p.tenant, &id).await?;
    let row = ps
        .policies
        .release_hold(&p.tenant, id, &p.actor_label())
        .await?;
    Ok(Json(HoldView::of(&row, st.now_ms())))
}

// ---------------------------------------------------------------------- consent

/// Consent given or withdrawn, or a legal basis recorded, for one purpose of a subject — or of
/// one interaction (then the subject is the interaction's).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub subject_id: Option<String>,
    pub interaction_id: Option<String>,
    /// `recording`, `transcript`, `analytics` or `ai_training`.
    pub purpose: String,
    /// Default `consent`.
    pub basis: Option<String>,
    /// `given` or `withdrawn`.
    pub state: String,
    /// Where it came from (`ivr`, `agent:agent-7`, `crm`), 1–128 characters; no personal data.
    pub source: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HeldView {
    pub interaction: String,
    pub hold: String,
    pub scope: String,
    pub reason: String,
    pub until_ms: Option<i64>,
}

/// What recording the consent did. The time is the server's (when it was recorded).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsentResult {
    pub consent: String,
    pub subject: String,
    pub at_ms: i64,
    /// Recordings deleted because consent-based `recording` was withdrawn.
    pub recordings_deleted: u64,
    /// Interactions whose transcript was deleted (`transcript` withdrawn).
    pub transcripts_deleted: u64,
    /// Data of the purpose kept because a legal hold covers it.
    pub held: Vec<HeldView>,
}

const PURPOSES: &str = "recording, transcript, analytics, ai_training";

/// Records consent or a legal basis. Withdrawing consent-based `recording` deletes the
/// recordings kept on it (`transcript`: the transcripts), except held ones; a purpose that
/// rests on a legal obligation is never withdrawn or switched (409 `legal_obligation`).
#[utoipa::path(post, path = "/api/v1/consents", tag = "consent", request_body = ConsentRequest,
    responses((status = 200, description = "What was recorded and deleted", body = ConsentResult),
        (status = 404, description = "No such subject or interaction in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "legal_obligation", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_purpose, invalid_basis, invalid_state, invalid_source, subject_required, subject_mismatch", body = crate::error::ErrorBody)))]
pub async fn set_consent(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<ConsentRequest>,
) -> ApiResult<Json<ConsentResult>> {
    let p = tenant_principal(&caller, Permission::ConsentManage)?;
    let ps = policy_state(&st)?;
    let purpose: ConsentPurpose = parse_enum("invalid_purpose", "purpose", &req.purpose, PURPOSES)?;
    let basis: LegalBasis = match req.basis.as_deref() {
        None => LegalBasis::Consent,
        Some(b) => parse_enum("invalid_basis", "basis", b, BASES)?,
    };
    let state: ConsentState = parse_enum("invalid_state", "state", &req.state, "given, withdrawn")?;
    let (subject, interaction) = match (&req.subject_id, &req.interaction_id) {
        (None, None) => {
            return Err(unprocessable(
                "subject_required",
                "name the subject_id or the interaction_id",
            ))
        }
        (s, Some(i)) => {
            let row = interaction_in_tenant(&st, &p.tenant, i).await?;
            if let Some(s) = s {
                let named = subject_in_tenant(&st, &p.tenant, s).await?;
                if named != row.subject {
                    return Err(unprocessable(
                        "subject_mismatch",
                        "the interaction belongs to another subject",
                    ));
                }
            }
            (row.subject, Some(row.id))
        }
        (Some(s), None) => (subject_in_tenant(&st, &p.tenant, s).await?, None),
    };
    let report = ps
        .policies
        .set_consent(ConsentChange {
            tenant: p.tenant.clone(),
            subject,
            purpose,
            basis,
            state,
            source: req.source,
            interaction,
            actor: p.actor_label(),
        })
        .await?;
    Ok(Json(ConsentResult {
        consent: report.consent.to_string(),
        subject: subject.to_string(),
        at_ms: st.now_ms(),
        recordings_deleted: report.recordings_deleted,
        transcripts_deleted: report.transcripts_deleted,
        held: report
            .held
            .iter()
            .map(|h| HeldView {
                interaction: h.interaction.to_string(),
                hold: h.hold.to_string(),
                scope: h.scope.as_str().to_owned(),
                reason: h.reason.clone(),
                until_ms: h.until_ms,
            })
            .collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub id: String,
    pub purpose: String,
    pub basis: String,
    pub state: String,
    pub source: String,
    pub at_ms: i64,
    /// Set when the record concerns one interaction only.
    pub interaction: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsentHistory {
    pub subject: String,
    /// Every record, oldest first.
    pub history: Vec<ConsentView>,
    /// The subject-wide record in force per purpose (the latest one).
    pub current: BTreeMap<String, ConsentView>,
}

/// The consent and legal-basis history of a subject. Audited (`other`, object `consents:<id>`).
#[utoipa::path(get, path = "/api/v1/subjects/{id}/consents", tag = "consent",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The history", body = ConsentHistory),
        (status = 404, description = "No such subject in this tenant", body = crate::error::ErrorBody)))]
pub async fn consents(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsentHistory>> {
    let p = tenant_principal(&caller, Permission::ConsentManage)?;
    policy_state(&st)?;
    let subject = subject_in_tenant(&st, &p.tenant, &id).await?;
    let rows = st
        .vault()
        .store()
        .consents_for_subject(&p.tenant, subject)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    // The read is recorded before anything is handed out.
    let entry = caller.ctx.entry(
        &p.tenant,
        st.now_ms(),
        Action::Other,
        Some(subject),
        Some(format!("consents:{subject}")),
        Outcome::Ok,
    );
    st.vault().audit().append(entry).await?;
    let view = |r: &sotto_store::ConsentRow| ConsentView {
        id: r.id.to_string(),
        purpose: r.purpose.as_str().to_owned(),
        basis: r.basis.as_str().to_owned(),
        state: r.state.as_str().to_owned(),
        source: r.source.clone(),
        at_ms: r.at_ms,
        interaction: r.interaction.map(|i| i.to_string()),
    };
    let mut current = BTreeMap::new();
    for r in rows.iter().filter(|r| r.interaction.is_none()) {
        current.insert(r.purpose.as_str().to_owned(), view(r));
    }
    Ok(Json(ConsentHistory {
        subject: subject.to_string(),
        history: rows.iter().map(view).collect(),
        current,
    }))
}

// ---------------------------------------------------------------------- statistics

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, inclusive, `YYYY-MM-DD` (UTC).
    pub to: String,
    /// One queue only (`""`: interactions without a queue).
    pub queue: Option<String>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` → Unix ms of its midnight (UTC); checks the day exists.
fn parse_day(field: &str, raw: &str) -> ApiResult<i64> {
    let bad = || unprocessable("invalid_date", format!("{field} must be a date YYYY-MM-DD"));
    let parts: Vec<&str> = raw.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * DAY_MS)
}

/// Pseudonymised statistics per day and queue: volume, durations, redactions per kind, bot
/// interactions and hand-overs. No subject or interaction ids, no content.
#[utoipa::path(get, path = "/api/v1/stats", tag = "statistics", params(StatsParams),
    responses((status = 200, description = "`{days: [...], total: {...}}` — aggregates only"),
        (status = 422, description = "invalid_date, invalid_range", body = crate::error::ErrorBody)))]
pub async fn stats(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<StatsParams>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::StatisticsRead)?;
    let ps = policy_state(&st)?;
    let from = parse_day("from", &q.from)?;
    let to = parse_day("to", &q.to)?;
    if to < from {
        return Err(unprocessable("invalid_range", "`to` is before `from`"));
    }
    if (to - from) / DAY_MS >= MAX_STATS_DAYS {
        return Err(unprocessable(
            "invalid_range",
            format!("at most {MAX_STATS_DAYS} days per request"),
        ));
    }
    if q.queue.as_ref().is_some_and(|x| x.len() > 128) {
        return Err(unprocessable(
            "invalid_queue",
            "queue: at most 128 characters",
        ));
    }
    let s = ps
        .policies
        .stats(&StatsQuery {
            tenant: p.tenant.clone(),
            from_ms: from,
            to_ms: to + DAY_MS,
            queue: q.queue,
        })
        .await?;
    Ok(Json(s).into_response())
}

// ---------------------------------------------------------------------- retention

/// What retention would do now for this tenant (nothing is deleted; schedules of interactions
/// that had none are recorded and statistics folded — bookkeeping without personal data).
#[utoipa::path(post, path = "/api/v1/retention/dry-run", tag = "retention",
    responses((status = 200, description = "The report: counts, and the interactions legal holds keep")))]
pub async fn retention_dry_run(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::PolicyManage)?;
    let ps = policy_state(&st)?;
    let r = ps
        .retention
        .run_tenant(&p.tenant, st.now_ms(), true)
        .await?;
    Ok(Json(r).into_response())
}

/// Runs retention for this tenant now (the scheduler runs it anyway). Each action is audited by
/// `system:retention`; the request itself is recorded (`other`, object `retention-run:<id>`).
#[utoipa::path(post, path = "/api/v1/retention/run", tag = "retention",
    responses((status = 200, description = "The report: counts, and the interactions legal holds keep")))]
pub async fn retention_run(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let p = tenant_principal(&caller, Permission::RetentionRun)?;
    let ps = policy_state(&st)?;
    let r = ps
        .retention
        .run_tenant(&p.tenant, st.now_ms(), false)
        .await?;
    let entry = caller.ctx.entry(
        &p.tenant,
        st.now_ms(),
        Action::Other,
        None,
        Some(format!(
            "retention-run:{}",
            r.run.map(|x| x.to_string()).unwrap_or_default()
        )),
        Outcome::Ok,
    );
    st.vault().audit().append(entry).await?;
    Ok(Json(r).into_response())
}

pub fn routes() -> Vec<RouteDef> {
    let perm = Rule::Permission;
    vec![
        route::<__path_list_rules, _, _>(
            perm(Permission::PolicyManage),
            Action::Other,
            false,
            list_rules,
        ),
        route::<__path_set_rule, _, _>(
            perm(Permission::PolicyManage),
            Action::PolicyChange,
            false,
            set_rule,
        ),
        route::<__path_remove_rule, _, _>(
            perm(Permission::PolicyManage),
            Action::PolicyChange,
            false,
            remove_rule,
        ),
        route::<__path_effective, _, _>(
            perm(Permission::PolicyManage),
            Action::Other,
            false,
            effective,
        ),
        route::<__path_list_holds, _, _>(
            perm(Permission::LegalHoldManage),
            Action::Other,
            false,
            list_holds,
        ),
        route::<__path_place_hold, _, _>(
            perm(Permission::LegalHoldManage),
            Action::LegalHoldChange,
            false,
            place_hold,
        ),
        route::<__path_extend_hold, _, _>(
            perm(Permission::LegalHoldManage),
            Action::LegalHoldChange,
            false,
            extend_hold,
        ),
        route::<__path_release_hold, _, _>(
            perm(Permission::LegalHoldManage),
            Action::LegalHoldChange,
            false,
            release_hold,
        ),
        route::<__path_set_consent, _, _>(
            perm(Permission::ConsentManage),
            Action::ConsentChange,
            false,
            set_consent,
        ),
        route::<__path_consents, _, _>(
            perm(Permission::ConsentManage),
            Action::Other,
            true,
            consents,
        ),
        route::<__path_stats, _, _>(
            perm(Permission::StatisticsRead),
            Action::Other,
            false,
            stats,
        ),
        route::<__path_retention_dry_run, _, _>(
            perm(Permission::PolicyManage),
            Action::Other,
            false,
            retention_dry_run,
        ),
        route::<__path_retention_run, _, _>(
            perm(Permission::RetentionRun),
            Action::Other,
            false,
            retention_run,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_are_checked() {
        assert_eq!(parse_day("from", "1970-01-01").unwrap(), 0);
        assert_eq!(parse_day("from", "2026-01-01").unwrap(), 1_767_225_600_000);
        assert_eq!(parse_day("from", "2024-02-29").unwrap(), 1_709_164_800_000);
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "x",
            "2026-01-32",
            "",
        ] {
            let e = parse_day("from", bad).unwrap_err();
            assert_eq!(e.code, "invalid_date", "{bad}");
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
}
