//! Interactions: metadata lists, one interaction's metadata, its caller number (billing), its
//! redacted transcript, and its recordings streamed for listening or handed over as a download.
//! Every endpoint applies the caller's scope (own calls, the team's, the tenant's) before the
//! vault opens anything; another tenant's id is answered 404, exactly like a missing one.

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::guard::{check_interaction, Caller};
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::{Permission, Principal, Scope};
use sotto_audit::Action;
use sotto_core::{InteractionId, ObjectId};
use sotto_store::InteractionFilter;
use sotto_vault::InteractionFacts;
use std::collections::BTreeMap;

/// Filters: times and paging only — never a subject's identifiers.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Started at or after (Unix ms).
    pub from_ms: Option<i64>,
    /// Started before (Unix ms).
    pub to_ms: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// Include each caller's number (needs `caller_number_read`; every number is audited).
    pub caller: Option<bool>,
}

/// Metadata of one interaction: ids, times, channel, counts — no content.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InteractionMeta {
    pub id: String,
    pub subject: String,
    pub channel: String,
    pub direction: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub duration_ms: i64,
    pub case_id: Option<String>,
    /// Kinds removed or found, with counts.
    pub redactions: BTreeMap<String, u32>,
    pub recordings: Vec<RecordingMeta>,
    /// Only with `?caller=true` and `caller_number_read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordingMeta {
    pub id: String,
    pub codec: String,
    pub duration_ms: i64,
}

impl InteractionMeta {
    fn of(f: &InteractionFacts) -> Self {
        let s = &f.summary;
        Self {
            id: s.id.to_string(),
            subject: s.subject.to_string(),
            channel: s.channel.to_string(),
            direction: s.direction.to_string(),
            started_ms: s.started_ms,
            ended_ms: s.ended_ms,
            duration_ms: s.ended_ms - s.started_ms,
            case_id: s.case_id.map(|c| c.to_string()),
            redactions: s.redactions.clone(),
            recordings: f
                .recordings
                .iter()
                .map(|r| RecordingMeta {
                    id: r.id.to_string(),
                    codec: r.codec.clone(),
                    duration_ms: r.duration_ms,
                })
                .collect(),
            caller: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InteractionList {
    pub interactions: Vec<InteractionMeta>,
    /// How far the listing reached: `own`, `team` or `tenant`.
    pub scope: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallerNumber {
    pub interaction: String,
    /// E.164, or null when the caller withheld the number (or the subject was erased).
    pub caller: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Transcript {
    pub interaction: InteractionMeta,
    pub language: Option<String>,
    pub segments: Vec<Segment>,
    /// A live call's timeline (recording paused/resumed/stopped with actor and reason, consent
    /// changes, gaps, PCI pauses); empty for batch ingests.
    pub timeline: Vec<TimelineEntry>,
}

/// One stored timeline event (media time, ms since the call started).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at_ms: i64,
    pub leg: Option<i64>,
    /// `recording_paused`, `consent_given`, `gap`, `pci_pause`, ...
    pub kind: String,
    /// The event's numbers and enums (`until_ms`, `basis`, ...).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// `user:<id>`, `token:<id>`, `protocol:<name>`, `pipeline`, `detector` or `engine`.
    pub actor: String,
    pub reason: Option<String>,
}

/// One stored segment: card and special-category data were removed before storage.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Segment {
    pub speaker: String,
    pub kind: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

/// The interaction's facts, or 404 for an id this tenant does not hold.
async fn facts(st: &ApiState, p: &Principal, raw: &str) -> ApiResult<InteractionFacts> {
    let id: InteractionId = parse_id("interaction", raw)?;
    st.vault()
        .interaction_facts(&p.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("interaction", id.to_string()))
}

/// Interactions the caller's scope reaches (metadata only).
#[utoipa::path(get, path = "/api/v1/interactions", tag = "interactions", params(ListQuery),
    responses((status = 200, description = "Metadata, newest first", body = InteractionList)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<InteractionList>> {
    let p = caller.principal()?;
    let scope = p
        .scope_for(Permission::InteractionList)
        .ok_or_else(|| ApiError::forbidden("no interaction_list permission"))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let offset = q.offset.unwrap_or(0) as usize;
    let tenant_wide = scope == Scope::Tenant;
    let filter = InteractionFilter {
        started_from_ms: q.from_ms,
        started_before_ms: q.to_ms,
        // Narrower scopes filter after reading, so page after filtering.
        limit: tenant_wide.then_some(limit as u32),
        offset: tenant_wide.then_some(offset as u32),
        ..Default::default()
    };
    let all = st
        .vault()
        .list_interaction_facts(&p.tenant, &filter)
        .await?;
    let visible: Vec<InteractionFacts> = if tenant_wide {
        all
    } else {
        let team = match (scope, p.team.as_deref()) {
            (Scope::Team, Some(t)) => st.team_agents(&p.tenant, t).await?,
            _ => Default::default(),
        };
        all.into_iter()
            .filter(|f| match (&f.agent, &p.agent_ref) {
                (Some(a), Some(mine)) if a == mine => true,
                (Some(a), _) => team.contains(a),
                _ => false,
            })
            .skip(offset)
            .take(limit)
            .collect()
    };
    let mut interactions: Vec<InteractionMeta> = visible.iter().map(InteractionMeta::of).collect();
    if q.caller == Some(true) {
        // Billing: numbers only for what the listing reached, and only at tenant reach.
        if p.scope_for(Permission::CallerNumberRead) != Some(Scope::Tenant) {
            return Err(ApiError::forbidden(
                "caller numbers need the `caller_number_read` permission",
            ));
        }
        let ids: Vec<InteractionId> = visible.iter().map(|f| f.summary.id).collect();
        let numbers = st
            .vault()
            .caller_numbers_ctx(&p.tenant, &ids, &caller.ctx)
            .await?;
        let by_id: BTreeMap<InteractionId, String> = numbers
            .into_iter()
            .filter_map(|(id, n)| n.map(|n| (id, n.expose().to_owned())))
            .collect();
        for m in &mut interactions {
            if let Ok(id) = m.id.parse::<InteractionId>() {
                m.caller = by_id.get(&id).cloned();
            }
        }
    }
    Ok(Json(InteractionList {
        interactions,
        scope: scope.as_str().to_owned(),
    }))
}

/// One interaction's metadata.
#[utoipa::path(get, path = "/api/v1/interactions/{id}", tag = "interactions",
    params(("id" = String, Path, description = "Interaction id")),
    responses((status = 200, description = "Metadata", body = InteractionMeta),
        (status = 404, description = "No such interaction in this tenant", body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<InteractionMeta>> {
    let p = caller.principal()?;
    let f = facts(&st, p, &id).await?;
    check_interaction(&st, p, Permission::InteractionList, &f).await?;
    Ok(Json(InteractionMeta::of(&f)))
}

/// The caller's phone number, for invoicing. Audited.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/caller-number", tag = "interactions",
    params(("id" = String, Path, description = "Interaction id")),
    responses((status = 200, description = "The number", body = CallerNumber)))]
pub async fn caller_number(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<CallerNumber>> {
    let p = caller.principal()?;
    let f = facts(&st, p, &id).await?;
    check_interaction(&st, p, Permission::CallerNumberRead, &f).await?;
    let got = st
        .vault()
        .caller_numbers_ctx(&p.tenant, &[f.summary.id], &caller.ctx)
        .await?;
    let number = got.into_iter().next().and_then(|(_, n)| n);
    Ok(Json(CallerNumber {
        interaction: f.summary.id.to_string(),
        caller: number.map(|n| n.expose().to_owned()),
    }))
}

/// The stored (redacted) transcript. Audited.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/transcript", tag = "interactions",
    params(("id" = String, Path, description = "Interaction id")),
    responses((status = 200, description = "The redacted transcript", body = Transcript)))]
pub async fn transcript(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Transcript>> {
    let p = caller.principal()?;
    let f = facts(&st, p, &id).await?;
    check_interaction(&st, p, Permission::TranscriptRead, &f).await?;
    let view = st
        .vault()
        .read_interaction_ctx(&p.tenant, f.summary.id, &caller.ctx)
        .await?;
    Ok(Json(Transcript {
        interaction: InteractionMeta::of(&f),
        language: view.meta.lang.clone(),
        segments: view
            .segments
            .iter()
            .map(|s| Segment {
                speaker: s.speaker.to_string(),
                kind: s.kind.to_string(),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.expose().to_owned(),
            })
            .collect(),
        timeline: view
            .timeline
            .iter()
            .map(|t| TimelineEntry {
                at_ms: t.at_ms,
                leg: t.leg,
                kind: t.kind.clone(),
                detail: t.detail.clone(),
                actor: t.actor.clone(),
                reason: t.reason.as_ref().map(|r| r.expose().to_owned()),
            })
            .collect(),
    }))
}

async fn recording(
    st: &ApiState,
    caller: &Caller,
    id: &str,
    rec: &str,
    perm: Permission,
    action: Action,
    disposition: &str,
) -> ApiResult<Response> {
    let p = caller.principal()?;
    let f = facts(st, p, id).await?;
    check_interaction(st, p, perm, &f).await?;
    let rec_id: ObjectId = parse_id("recording", rec)?;
    let row = f
        .recordings
        .iter()
        .find(|r| r.id == rec_id)
        .ok_or_else(|| ApiError::not_found("recording", rec_id.to_string()))?;
    let pcm = st
        .vault()
        .read_recording_ctx(&p.tenant, f.summary.subject, row, &caller.ctx, action)
        .await?;
    let wav = bytes::Bytes::from(sotto_audio::encode_wav(&pcm));
    let len = wav.len();
    // Streamed in 64 KiB chunks; the whole file is never a single write.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..len)
        .step_by(64 * 1024)
        .map(|at| Ok(wav.slice(at..(at + 64 * 1024).min(len))))
        .collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let name = format!("{}-{}.wav", f.summary.id, rec_id);
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::ACCEPT_RANGES, "none".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// Plays a recording (streamed WAV, `Content-Disposition: inline`). Audited as `recording.play`.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/recordings/{rec}/listen", tag = "interactions",
    params(("id" = String, Path, description = "Interaction id"),
        ("rec" = String, Path, description = "Recording id")),
    responses((status = 200, description = "WAV audio", content_type = "audio/wav")))]
pub async fn listen(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, rec)): Path<(String, String)>,
) -> ApiResult<Response> {
    recording(
        &st,
        &caller,
        &id,
        &rec,
        Permission::RecordingListen,
        Action::RecordingPlay,
        "inline",
    )
    .await
}

/// Downloads a recording (`Content-Disposition: attachment`). Audited as `recording.download`.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/recordings/{rec}/download", tag = "interactions",
    params(("id" = String, Path, description = "Interaction id"),
        ("rec" = String, Path, description = "Recording id")),
    responses((status = 200, description = "WAV file", content_type = "audio/wav")))]
pub async fn download(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, rec)): Path<(String, String)>,
) -> ApiResult<Response> {
    recording(
        &st,
        &caller,
        &id,
        &rec,
        Permission::RecordingDownload,
        Action::RecordingDownload,
        "attachment",
    )
    .await
}

pub fn routes() -> Vec<RouteDef> {
    let perm = Rule::Permission;
    vec![
        route::<__path_list, _, _>(
            perm(Permission::InteractionList),
            Action::Other,
            false,
            list,
        ),
        route::<__path_get_one, _, _>(
            perm(Permission::InteractionList),
            Action::Other,
            false,
            get_one,
        ),
        route::<__path_caller_number, _, _>(
            perm(Permission::CallerNumberRead),
            Action::Other,
            true,
            caller_number,
        ),
        route::<__path_transcript, _, _>(
            perm(Permission::TranscriptRead),
            Action::TranscriptRead,
            true,
            transcript,
        ),
        route::<__path_listen, _, _>(
            perm(Permission::RecordingListen),
            Action::RecordingPlay,
            true,
            listen,
        ),
        route::<__path_download, _, _>(
            perm(Permission::RecordingDownload),
            Action::RecordingDownload,
            true,
            download,
        ),
    ]
}
