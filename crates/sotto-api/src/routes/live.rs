//! Live calls: the hand-over transcript an agent's screen follows while a call is in progress
//! (a Server-Sent Events stream, and a REST "transcript so far"), the list of calls in
//! progress, and recording control (start / stop / pause / resume, consent given / withdrawn).
//!
//! Reach follows the transcript rules: a call is visible to the agent handling it (`own`), to
//! the supervisors of that agent's team (`team`), never to another tenant (404, exactly like an
//! unknown id). Every subscription and every "so far" read is recorded in the audit log
//! (`transcript.read`, object = the call id, subject = the caller) before anything is sent;
//! every control command is recorded as `recording.control` / `consent.change` by
//! `sotto_ingest::control_audited`, the same path the protocols' control messages take.
//!
//! Why SSE rather than WebSocket: the screen only listens (controls are ordinary POSTs, which
//! get CSRF and the guard like every other change); SSE is plain HTTP, so the request passes
//! the same guard (session cookie or token, allowlist, rate limit, permission) with no second
//! authentication scheme for an upgrade, works through HTTP proxies and load balancers, and
//! browsers reconnect by themselves (`Last-Event-ID`).

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::guard::Caller;
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sotto_access::{Permission, Principal, Scope};
use sotto_audit::{Action, Outcome};
use sotto_core::{InteractionId, LegalBasis};
use sotto_ingest::{CallInfo, Command, IngestError, IngestState, LiveEvent, LiveSegment};
use std::convert::Infallible;

/// A call in progress: ids and times, no caller data.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveCall {
    /// The call id (= the interaction id it will be stored under).
    pub id: String,
    pub protocol: String,
    pub started_ms: i64,
    /// Speakers of the legs: `caller`, `agent`, `bot`.
    pub legs: Vec<String>,
    /// The agent reference handling the call.
    pub agent: Option<String>,
}

impl LiveCall {
    fn of(c: &CallInfo) -> Self {
        Self {
            id: c.id.to_string(),
            protocol: c.protocol.to_owned(),
            started_ms: c.started_ms,
            legs: c.legs.iter().map(|s| s.to_string()).collect(),
            agent: c.agent.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveCallList {
    pub calls: Vec<LiveCall>,
    /// How far the listing reached: `own`, `team` or `tenant`.
    pub scope: String,
}

/// One redacted segment of a call in progress: card and special-category data already
/// replaced by `[KIND]` placeholders.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveSegmentOut {
    pub seq: u64,
    pub speaker: String,
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

impl LiveSegmentOut {
    fn of(s: &LiveSegment) -> Self {
        Self {
            seq: s.seq,
            speaker: s.speaker.to_string(),
            kind: s.kind.to_string(),
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            text: s.text.expose().to_owned(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveTranscript {
    pub call: LiveCall,
    pub segments: Vec<LiveSegmentOut>,
    /// Timeline events: `{at_ms, leg, type, ...its numbers, actor, reason}`; `type` is
    /// `recording_paused`, `consent_given`, `no_legal_basis`, `gap`, `pci_pause`, ...
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<serde_json::Value>,
}

/// A recording-control command.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlRequest {
    /// `start`, `stop`, `pause`, `resume`, `consent_given` or `consent_withdrawn`.
    pub command: String,
    /// Why (kept on the call's timeline, sealed like the transcript; at most 200 characters).
    pub reason: Option<String>,
    /// For `consent_given`: `consent`, `contract`, `legal_obligation` or `legitimate_interest`.
    pub basis: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ControlAnswer {
    pub call: String,
    pub command: String,
    /// The call's timeline after the command.
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<serde_json::Value>,
}

fn live(st: &ApiState) -> ApiResult<&IngestState> {
    st.live().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "live_unavailable",
            "live calls are not served by this server (no ingest listener)",
        )
    })
}

/// The live call `raw` names, if the caller's tenant has it in progress. A call that has
/// ended (stored in this tenant) is 409 `call_ended`; an unknown id or another tenant's call
/// is 404.
async fn call_of(st: &ApiState, p: &Principal, raw: &str) -> ApiResult<CallInfo> {
    let id: InteractionId = parse_id("live call", raw)?;
    let ingest = live(st)?;
    match ingest.registry.info(id) {
        Some(c) if c.tenant == p.tenant => Ok(c),
        Some(_) => Err(ApiError::not_found("live call", id.to_string())),
        None => {
            if st.vault().interaction_facts(&p.tenant, id).await?.is_some() {
                Err(ended(id))
            } else {
                Err(ApiError::not_found("live call", id.to_string()))
            }
        }
    }
}

fn ended(id: InteractionId) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "call_ended",
        format!("call {id} has ended; read its stored transcript under /api/v1/interactions"),
    )
}

/// Whether `p`'s scope for `perm` reaches a call handled by `agent`.
async fn reaches(
    st: &ApiState,
    p: &Principal,
    perm: Permission,
    agent: Option<&str>,
) -> ApiResult<bool> {
    Ok(match p.scope_for(perm) {
        None => false,
        Some(Scope::Tenant) => true,
        Some(scope) => {
            let own = matches!((&p.agent_ref, agent), (Some(a), Some(b)) if a == b);
            own || match (scope, p.team.as_deref(), agent) {
                (Scope::Team, Some(team), Some(agent)) => {
                    st.team_agents(&p.tenant, team).await?.contains(agent)
                }
                _ => false,
            }
        }
    })
}

async fn check_call(st: &ApiState, p: &Principal, perm: Permission, c: &CallInfo) -> ApiResult<()> {
    if reaches(st, p, perm, c.agent.as_deref()).await? {
        Ok(())
    } else {
        Err(
            ApiError::forbidden(format!("`{perm}` does not reach this call (scope)"))
                .with_object(Some(c.subject), Some(c.id.to_string())),
        )
    }
}

/// Records an allowed read of a live transcript before anything is handed out.
async fn audit_read(st: &ApiState, caller: &Caller, c: &CallInfo) -> ApiResult<()> {
    let e = caller.ctx.entry(
        &c.tenant,
        st.now_ms(),
        Action::TranscriptRead,
        Some(c.subject),
        Some(c.id.to_string()),
        Outcome::Ok,
    );
    st.vault().audit().append(e).await?;
    Ok(())
}

fn timeline_out(t: &sotto_ingest::TimelineEvent) -> serde_json::Value {
    serde_json::to_value(t).unwrap_or_default()
}

/// Calls in progress that the caller's scope reaches (ids and times only).
#[utoipa::path(get, path = "/api/v1/live/calls", tag = "live",
    responses((status = 200, description = "Calls in progress", body = LiveCallList),
        (status = 503, description = "No live-call listener", body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<LiveCallList>> {
    let p = caller.principal()?;
    let scope = p
        .scope_for(Permission::LiveTranscript)
        .ok_or_else(|| ApiError::forbidden("no live_transcript permission"))?;
    let ingest = live(&st)?;
    let mut calls = Vec::new();
    let mut all: Vec<CallInfo> = ingest
        .registry
        .list()
        .into_iter()
        .filter(|c| c.tenant == p.tenant)
        .collect();
    all.sort_by_key(|c| (c.started_ms, c.id));
    for c in &all {
        if reaches(&st, p, Permission::LiveTranscript, c.agent.as_deref()).await? {
            calls.push(LiveCall::of(c));
        }
    }
    Ok(Json(LiveCallList {
        calls,
        scope: scope.as_str().to_owned(),
    }))
}

/// The redacted transcript and timeline of a call in progress, so far. Audited.
#[utoipa::path(get, path = "/api/v1/live/calls/{id}/transcript", tag = "live",
    params(("id" = String, Path, description = "Call id")),
    responses((status = 200, description = "Transcript so far", body = LiveTranscript),
        (status = 404, description = "No such call in progress in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "The call has ended (`call_ended`)", body = crate::error::ErrorBody)))]
pub async fn transcript(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<LiveTranscript>> {
    let p = caller.principal()?;
    let c = call_of(&st, p, &id).await?;
    check_call(&st, p, Permission::LiveTranscript, &c).await?;
    let snap = live(&st)?.hub.snapshot(c.id).ok_or_else(|| ended(c.id))?;
    audit_read(&st, &caller, &c).await?;
    Ok(Json(LiveTranscript {
        call: LiveCall::of(&c),
        segments: snap.segments.iter().map(LiveSegmentOut::of).collect(),
        timeline: snap.timeline.iter().map(timeline_out).collect(),
    }))
}

fn sse_event(ev: &LiveEvent) -> Event {
    match ev {
        LiveEvent::Segment(s) => Event::default()
            .event("segment")
            .id(s.seq.to_string())
            .json_data(LiveSegmentOut::of(s))
            .unwrap_or_else(|_| Event::default().event("segment")),
        LiveEvent::Timeline(t) => Event::default()
            .event("timeline")
            .json_data(t)
            .unwrap_or_else(|_| Event::default().event("timeline")),
        LiveEvent::Ended { reason } => Event::default()
            .event("ended")
            .json_data(serde_json::json!({ "reason": reason }))
            .unwrap_or_else(|_| Event::default().event("ended")),
    }
}

/// Follows a call in progress as Server-Sent Events: first what was said so far, then each
/// new segment (`event: segment`, `id:` its sequence number), timeline event (`event:
/// timeline`: pauses, resumes, consent, gaps, PCI pauses) and finally `event: ended`. A
/// subscriber that falls behind gets `event: lagged` and should re-read the transcript so far.
/// Audited once, at subscription.
#[utoipa::path(get, path = "/api/v1/live/calls/{id}/events", tag = "live",
    params(("id" = String, Path, description = "Call id")),
    responses((status = 200, description = "Event stream", content_type = "text/event-stream"),
        (status = 404, description = "No such call in progress in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "The call has ended (`call_ended`)", body = crate::error::ErrorBody)))]
pub async fn events(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let p = caller.principal()?;
    let c = call_of(&st, p, &id).await?;
    check_call(&st, p, Permission::LiveTranscript, &c).await?;
    let snap = live(&st)?.hub.snapshot(c.id).ok_or_else(|| ended(c.id))?;
    audit_read(&st, &caller, &c).await?;
    let mut first: Vec<Result<Event, Infallible>> = Vec::new();
    first.extend(
        snap.timeline
            .iter()
            .map(|t| Ok(sse_event(&LiveEvent::Timeline(t.clone())))),
    );
    first.extend(
        snap.segments
            .iter()
            .map(|s| Ok(sse_event(&LiveEvent::Segment(s.clone())))),
    );
    // After the snapshot: every event published since, until `ended`.
    let rest = futures::stream::unfold(Some(snap.events), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Ok(ev @ LiveEvent::Ended { .. }) => Some((Ok(sse_event(&ev)), None)),
            Ok(ev) => Some((Ok(sse_event(&ev)), Some(rx))),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                let ev = Event::default()
                    .event("lagged")
                    .data(format!("{{\"missed\":{n}}}"));
                Some((Ok(ev), Some(rx)))
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    });
    let stream = futures::stream::iter(first).chain(rest);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn command_of(req: ControlRequest) -> ApiResult<Command> {
    let reason = match req.reason {
        Some(r) if r.chars().count() > 200 || r.chars().any(char::is_control) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_reason",
                "reason: at most 200 characters, no control characters",
            ))
        }
        r => r.filter(|r| !r.trim().is_empty()),
    };
    let no_basis = |cmd: Command| -> ApiResult<Command> {
        if req.basis.is_some() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_command",
                "basis is only for consent_given",
            ));
        }
        Ok(cmd)
    };
    match req.command.as_str() {
        "start" => no_basis(Command::Start { reason }),
        "stop" => no_basis(Command::Stop { reason }),
        "pause" => no_basis(Command::Pause { reason }),
        "resume" => no_basis(Command::Resume { reason }),
        "consent_withdrawn" => no_basis(Command::ConsentWithdrawn { reason }),
        "consent_given" => {
            let basis: LegalBasis = req
                .basis
                .as_deref()
                .and_then(|b| serde_json::from_value(serde_json::Value::from(b)).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_basis",
                        "consent_given needs basis: consent, contract, legal_obligation or \
                         legitimate_interest",
                    )
                })?;
            Ok(Command::ConsentGiven { basis })
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_command",
            "command must be start, stop, pause, resume, consent_given or consent_withdrawn",
        )),
    }
}

/// Recording control and consent on a call in progress, as the signed-in user. The change is
/// a timeline event (with the user and the reason) and an audit entry (`recording.control`,
/// or `consent.change` for consent). Without a legal basis, `start`/`resume` are refused
/// (409 `no_legal_basis`): the call is transcribed and its audio discarded until consent is
/// given.
#[utoipa::path(post, path = "/api/v1/live/calls/{id}/control", tag = "live",
    params(("id" = String, Path, description = "Call id")),
    request_body = ControlRequest,
    responses((status = 200, description = "Applied", body = ControlAnswer),
        (status = 400, description = "Unknown command, bad basis or reason", body = crate::error::ErrorBody),
        (status = 404, description = "No such call in progress in this tenant", body = crate::error::ErrorBody),
        (status = 409, description = "`call_ended`, or `no_legal_basis` for start/resume", body = crate::error::ErrorBody)))]
pub async fn control(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<ControlRequest>,
) -> ApiResult<Json<ControlAnswer>> {
    let p = caller.principal()?;
    let c = call_of(&st, p, &id).await?;
    check_call(&st, p, Permission::RecordingControl, &c).await?;
    let cmd = command_of(req)?;
    let ingest = live(&st)?;
    let name = cmd.name();
    let ctx = Some((caller.ctx.from.clone(), caller.ctx.purpose.clone()));
    match sotto_ingest::control_audited(ingest, c.id, &cmd, &caller.ctx.actor, ctx).await {
        Ok(()) => {}
        Err(IngestError::UnknownCall(_) | IngestError::CallEnded(_)) => return Err(ended(c.id)),
        Err(IngestError::Protocol(m)) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "no_legal_basis", m))
        }
        Err(IngestError::Audit(e)) => return Err(e.into()),
        Err(e) => return Err(ApiError::internal(&e)),
    }
    let timeline = ingest
        .registry
        .timeline(c.id)
        .unwrap_or_default()
        .iter()
        .map(timeline_out)
        .collect();
    Ok(Json(ControlAnswer {
        call: c.id.to_string(),
        command: name.to_owned(),
        timeline,
    }))
}

pub fn routes() -> Vec<RouteDef> {
    let perm = Rule::Permission;
    vec![
        route::<__path_list, _, _>(perm(Permission::LiveTranscript), Action::Other, false, list),
        route::<__path_transcript, _, _>(
            perm(Permission::LiveTranscript),
            Action::TranscriptRead,
            true,
            transcript,
        ),
        route::<__path_events, _, _>(
            perm(Permission::LiveTranscript),
            Action::TranscriptRead,
            true,
            events,
        ),
        route::<__path_control, _, _>(
            perm(Permission::RecordingControl),
            Action::RecordingControl,
            false,
            control,
        ),
    ]
}
