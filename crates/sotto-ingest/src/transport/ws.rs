//! WebSocket transports (native, Twilio, AudioHook) on one axum router.

use super::end;
use crate::proto::{audiohook, native, twilio, ProtoError};
use crate::server::IngestState;
use crate::session::{CallSession, CallStart, CloseReason, SharedSession};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sotto_audio::SourceEncoding;
use sotto_core::{Direction, InteractionId, Lang, LegalBasis, Personal, Speaker, TenantId};
use sotto_transcribe::{Supplied, Word};
use sotto_vault::LiveLeg;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(200);

pub(crate) fn router(state: IngestState) -> axum::Router {
    axum::Router::new()
        .route("/v1/ingest/native", get(native_ws))
        .route("/v1/ingest/twilio", get(twilio_ws))
        .route("/v1/ingest/audiohook", get(audiohook_ws))
        .with_state(state)
}

fn limits(ws: WebSocketUpgrade, st: &IngestState) -> WebSocketUpgrade {
    let n = st.cfg.max_frame_bytes;
    ws.max_message_size(n).max_frame_size(n)
}

async fn native_ws(ws: WebSocketUpgrade, State(st): State<IngestState>) -> Response {
    limits(ws, &st).on_upgrade(move |s| native_run(st, s))
}

async fn twilio_ws(ws: WebSocketUpgrade, State(st): State<IngestState>) -> Response {
    limits(ws, &st).on_upgrade(move |s| twilio_run(st, s))
}

async fn audiohook_ws(
    ws: WebSocketUpgrade,
    State(st): State<IngestState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let authority = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let verified = audiohook::verify_signature(
        |n| headers.get(n).and_then(|v| v.to_str().ok()),
        &target,
        &authority,
        &st.cfg.audiohook_clients,
        now,
        st.cfg.audiohook_max_age_s,
    );
    // A verified signature is accepted once: its nonce is remembered for the signature's
    // whole validity window, so a captured upgrade request cannot be replayed.
    let verified = verified.and_then(|v| match st.audiohook_nonces.lock() {
        Ok(mut g) => g.check(&v, now, st.cfg.audiohook_max_age_s),
        Err(_) => Err(audiohook::SignatureError::TooMany),
    });
    if let Err(e) = verified {
        st.metrics.closed("bad_signature");
        tracing::warn!(error = %e, "AudioHook upgrade refused");
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let session_id = headers
        .get("audiohook-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    limits(ws, &st).on_upgrade(move |s| audiohook_run(st, s, session_id))
}

/// Why the socket's read side ended.
fn read_error(e: &axum::Error) -> CloseReason {
    let t = e.to_string();
    if t.contains("too long") || t.contains("Space limit") || t.contains("too big") {
        CloseReason::FrameTooLarge
    } else {
        CloseReason::Disconnected
    }
}

fn proto_reason(e: ProtoError) -> CloseReason {
    match e {
        ProtoError::UnknownCodec(c) => CloseReason::UnknownCodec(c),
        ProtoError::TooLarge { .. } => CloseReason::FrameTooLarge,
        other => CloseReason::Protocol(other.to_string()),
    }
}

async fn send_json(socket: &mut WebSocket, v: serde_json::Value) {
    let _ = socket.send(Message::Text(v.to_string().into())).await;
}

fn words_of(ws: Vec<native::WordMsg>) -> Vec<Word> {
    ws.into_iter()
        .map(|w| Word {
            text: Personal::new(w.w),
            start_ms: w.start_ms,
            end_ms: w.end_ms,
            confidence: w.conf.unwrap_or(1.0).clamp(0.0, 1.0),
        })
        .collect()
}

fn tenant_of(s: Option<&str>) -> Result<Option<TenantId>, CloseReason> {
    match s {
        None => Ok(None),
        Some(t) => TenantId::new(t)
            .map(Some)
            .map_err(|_| CloseReason::Protocol("invalid tenant id".into())),
    }
}

fn lang_of(s: Option<&str>) -> Option<Lang> {
    s.and_then(|l| l.split(['-', '_']).next())
        .and_then(|l| l.to_ascii_lowercase().parse().ok())
}

// ------------------------------------------------------------------ native

enum NativeMode {
    Waiting,
    Own(SharedSession),
    Attached(InteractionId),
}

async fn native_run(st: IngestState, mut socket: WebSocket) {
    let mut mode = NativeMode::Waiting;
    let mut tick = tokio::time::interval(TICK);
    let mut last = Instant::now();
    let mut last_tick = Instant::now();
    let reason: CloseReason = loop {
        tokio::select! {
            msg = socket.recv() => {
                last = Instant::now();
                let msg = match msg {
                    None => break CloseReason::Disconnected,
                    Some(Err(e)) => break read_error(&e),
                    Some(Ok(m)) => m,
                };
                match msg {
                    Message::Text(t) => {
                        let parsed = match native::parse_text(t.as_str()) {
                            Ok(m) => m,
                            Err(e) => break proto_reason(e),
                        };
                        match native_text(&st, &mut mode, parsed, &mut socket).await {
                            Ok(None) => {}
                            Ok(Some(r)) => break r,
                            Err(r) => break r,
                        }
                    }
                    Message::Binary(b) => {
                        let NativeMode::Own(s) = &mode else {
                            break CloseReason::Protocol("audio before start".into());
                        };
                        let f = match native::parse_binary(&b, st.cfg.max_frame_bytes) {
                            Ok(f) => f,
                            Err(e) => break proto_reason(e),
                        };
                        let r = s.lock().map_err(|_| CloseReason::Protocol("session failed".into())).and_then(|mut g| {
                            g.push_audio(usize::from(f.leg), f.media_ms.map(u64::from), f.samples)
                                .map_err(|e| CloseReason::Protocol(e.to_string()))
                        });
                        if let Err(r) = r { break r; }
                    }
                    Message::Close(_) => break CloseReason::Completed,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            _ = tick.tick() => {
                // A loop that was busy handling a message (a call open queued behind others)
                // missed ticks: that is not the client being idle.
                let now = Instant::now();
                if now.duration_since(last_tick) > TICK * 5 {
                    last = now;
                }
                last_tick = now;
                if last.elapsed() > st.cfg.idle_timeout {
                    break CloseReason::IdleTimeout;
                }
                if let NativeMode::Own(s) = &mode {
                    if let Ok(mut g) = s.lock() {
                        g.tick();
                        if let Some(r) = g.close_requested() { break r; }
                    }
                }
            }
        }
    };
    let line = match &mode {
        NativeMode::Own(s) => end(&st, s, reason).await,
        _ => {
            st.metrics.closed(reason.as_str());
            reason.describe()
        }
    };
    send_json(
        &mut socket,
        serde_json::json!({"type":"closed","reason":line}),
    )
    .await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Handles one text message; `Ok(Some(reason))` ends the call normally.
async fn native_text(
    st: &IngestState,
    mode: &mut NativeMode,
    m: native::ClientMsg,
    socket: &mut WebSocket,
) -> Result<Option<CloseReason>, CloseReason> {
    use native::ClientMsg as M;
    match (m, &*mode) {
        (M::Start(s), NativeMode::Waiting) => {
            let mut legs = Vec::new();
            for l in &s.legs {
                legs.push(LiveLeg {
                    speaker: l.speaker,
                    encoding: native::encoding(&l.encoding).map_err(proto_reason)?,
                    sample_rate: l.rate,
                });
            }
            let start = CallStart {
                tenant: tenant_of(s.tenant.as_deref())?,
                caller: s.caller.map(Personal::new),
                consent: s.consent,
                campaign: s.campaign,
                queue: s.queue,
                called_number: s.called,
                direction: s.direction.unwrap_or(Direction::Inbound),
                lang: lang_of(s.lang.as_deref()),
                agent: s.agent,
                protocol: "native",
                external_id: s.external_id,
                legs,
            };
            let session = CallSession::open(st, start)
                .await
                .map_err(|e| CloseReason::Protocol(e.to_string()))?;
            let id = session
                .lock()
                .map(|g| g.id())
                .map_err(|_| CloseReason::Protocol("session failed".into()))?;
            send_json(
                socket,
                serde_json::json!({"type":"started","call_id":id.to_string()}),
            )
            .await;
            *mode = NativeMode::Own(session);
            Ok(None)
        }
        (M::Attach { call_id }, NativeMode::Waiting) => {
            let id = call_id
                .parse::<uuid::Uuid>()
                .ok()
                .map(InteractionId)
                .filter(|id| st.registry.info(*id).is_some())
                .or_else(|| st.registry.by_external(&call_id))
                .ok_or_else(|| CloseReason::Protocol("attach: no such live call".into()))?;
            send_json(
                socket,
                serde_json::json!({"type":"attached","call_id":id.to_string()}),
            )
            .await;
            *mode = NativeMode::Attached(id);
            Ok(None)
        }
        (M::Start(_) | M::Attach { .. }, _) => {
            Err(CloseReason::Protocol("start or attach sent twice".into()))
        }
        (_, NativeMode::Waiting) => Err(CloseReason::Protocol(
            "first message must be start or attach".into(),
        )),
        (M::Transcript(t), _) => {
            let ev = Supplied::Words {
                words: words_of(t.words),
                kind: t.kind,
                until_ms: t.until_ms,
            };
            supply(st, mode, t.speaker, ev)?;
            Ok(None)
        }
        (M::Heard { speaker, until_ms }, _) => {
            supply(st, mode, speaker, Supplied::Heard { until_ms })?;
            Ok(None)
        }
        (M::Dtmf { speaker }, NativeMode::Own(s)) => {
            if let Ok(mut g) = s.lock() {
                if let Some(leg) = g.leg_of(speaker) {
                    g.dtmf(leg, "protocol:native");
                }
            }
            Ok(None)
        }
        (M::Dtmf { .. }, _) => Ok(None),
        (M::Control { command }, NativeMode::Own(_) | NativeMode::Attached(_)) => {
            let id = match &*mode {
                NativeMode::Own(s) => s
                    .lock()
                    .map_err(|_| CloseReason::Protocol("session failed".into()))?
                    .id(),
                NativeMode::Attached(id) => *id,
                NativeMode::Waiting => return Ok(None),
            };
            let r = crate::server::control_audited(st, id, &command, "protocol:native", None).await;
            if let Err(e) = r {
                send_json(
                    socket,
                    serde_json::json!({"type":"error","reason":e.to_string()}),
                )
                .await;
            }
            Ok(None)
        }
        (M::Stop { .. }, _) => Ok(Some(CloseReason::Completed)),
        (M::Ping, _) => {
            send_json(socket, serde_json::json!({"type":"pong"})).await;
            Ok(None)
        }
    }
}

fn supply(
    st: &IngestState,
    mode: &NativeMode,
    speaker: Speaker,
    ev: Supplied,
) -> Result<(), CloseReason> {
    match mode {
        NativeMode::Own(s) => {
            let mut g = s
                .lock()
                .map_err(|_| CloseReason::Protocol("session failed".into()))?;
            let leg = g
                .leg_of(speaker)
                .ok_or_else(|| CloseReason::Protocol(format!("call has no {speaker} leg")))?;
            g.supply(leg, ev)
                .map_err(|e| CloseReason::Protocol(e.to_string()))
        }
        NativeMode::Attached(id) => st
            .registry
            .supply(*id, speaker, ev)
            .map_err(|e| CloseReason::Protocol(e.to_string())),
        NativeMode::Waiting => Err(CloseReason::Protocol("no call".into())),
    }
}

// ------------------------------------------------------------------ Twilio

fn consent_of(v: Option<&String>) -> Option<LegalBasis> {
    let v = v?.trim().to_ascii_lowercase();
    match v.as_str() {
        "yes" | "true" | "1" | "given" => Some(LegalBasis::Consent),
        other => other.parse().ok(),
    }
}

async fn twilio_run(st: IngestState, mut socket: WebSocket) {
    let mut session: Option<SharedSession> = None;
    let mut tick = tokio::time::interval(TICK);
    let mut last = Instant::now();
    let mut last_tick = Instant::now();
    let mut buf = Vec::with_capacity(512);
    let reason: CloseReason = loop {
        tokio::select! {
            msg = socket.recv() => {
                last = Instant::now();
                let msg = match msg {
                    None => break CloseReason::Disconnected,
                    Some(Err(e)) => break read_error(&e),
                    Some(Ok(m)) => m,
                };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Binary(_) => break CloseReason::Protocol("Twilio sends text frames only".into()),
                    Message::Close(_) => break CloseReason::Disconnected,
                    _ => continue,
                };
                let m = match twilio::parse(text.as_str()) {
                    Ok(m) => m,
                    Err(e) => break proto_reason(e),
                };
                match m {
                    twilio::Msg::Connected {} | twilio::Msg::Mark {} => {}
                    twilio::Msg::Start { start, stream_sid } => {
                        if session.is_some() {
                            break CloseReason::Protocol("second start".into());
                        }
                        let enc = match twilio::check_format(&start.media_format) {
                            Ok(e) => e,
                            Err(e) => break proto_reason(e),
                        };
                        let p = &start.custom_parameters;
                        let outbound = if p.get("outbound").map(String::as_str) == Some("bot") { Speaker::Bot } else { Speaker::Agent };
                        let tenant = match tenant_of(p.get("tenant").map(String::as_str)) {
                            Ok(t) => t,
                            Err(r) => break r,
                        };
                        let cs = CallStart {
                            tenant,
                            caller: p.get("caller").cloned().map(Personal::new),
                            consent: consent_of(p.get("consent")),
                            campaign: p.get("campaign").cloned(),
                            queue: p.get("queue").cloned(),
                            called_number: p.get("called").cloned(),
                            direction: if p.get("direction").map(String::as_str) == Some("outbound") { Direction::Outbound } else { Direction::Inbound },
                            lang: lang_of(p.get("lang").map(String::as_str)),
                            agent: None,
                            protocol: "twilio",
                            external_id: start.call_sid.clone().or(stream_sid),
                            legs: vec![
                                LiveLeg { speaker: Speaker::Caller, encoding: enc, sample_rate: 8_000 },
                                LiveLeg { speaker: outbound, encoding: enc, sample_rate: 8_000 },
                            ],
                        };
                        match CallSession::open(&st, cs).await {
                            Ok(s) => session = Some(s),
                            Err(e) => break CloseReason::Protocol(e.to_string()),
                        }
                    }
                    twilio::Msg::Media { media } => {
                        let Some(s) = &session else { break CloseReason::Protocol("media before start".into()) };
                        let leg = match twilio::track_leg(&media.track) { Ok(l) => l, Err(e) => break proto_reason(e) };
                        let ts = match twilio::decode_payload(&media, &mut buf) { Ok(t) => t, Err(e) => break proto_reason(e) };
                        let r = match s.lock() {
                            Ok(mut g) => g.push_audio(leg, ts, &buf).map_err(|e| CloseReason::Protocol(e.to_string())),
                            Err(_) => Err(CloseReason::Protocol("session failed".into())),
                        };
                        if let Err(r) = r { break r; }
                    }
                    twilio::Msg::Dtmf { dtmf } => {
                        if let Some(s) = &session {
                            if let (Ok(leg), Ok(mut g)) = (twilio::track_leg(&dtmf.track), s.lock()) {
                                g.dtmf(leg, "protocol:twilio");
                            }
                        }
                    }
                    twilio::Msg::Stop {} => break CloseReason::Completed,
                }
            }
            _ = tick.tick() => {
                // A loop that was busy handling a message (a call open queued behind others)
                // missed ticks: that is not the client being idle.
                let now = Instant::now();
                if now.duration_since(last_tick) > TICK * 5 {
                    last = now;
                }
                last_tick = now;
                if last.elapsed() > st.cfg.idle_timeout {
                    break CloseReason::IdleTimeout;
                }
                if let Some(s) = &session {
                    if let Ok(mut g) = s.lock() {
                        g.tick();
                        if let Some(r) = g.close_requested() { break r; }
                    }
                }
            }
        }
    };
    match &session {
        Some(s) => {
            end(&st, s, reason).await;
        }
        None => st.metrics.closed(reason.as_str()),
    }
    let _ = socket.send(Message::Close(None)).await;
}

// ------------------------------------------------------------------ AudioHook

struct Hook {
    seq: u64,
    id: String,
    channels: usize,
    bps: usize,
    bufs: Vec<Vec<u8>>,
}

impl Hook {
    async fn send(
        &mut self,
        socket: &mut WebSocket,
        kind: &str,
        clientseq: u64,
        params: serde_json::Value,
    ) {
        self.seq += 1;
        let m = audiohook::server_message(&self.id, kind, self.seq, clientseq, params);
        let _ = socket.send(Message::Text(m.into())).await;
    }
}

async fn audiohook_run(st: IngestState, mut socket: WebSocket, session_id: Option<String>) {
    let mut session: Option<SharedSession> = None;
    let mut hook = Hook {
        seq: 0,
        id: session_id.clone().unwrap_or_default(),
        channels: 0,
        bps: 1,
        bufs: Vec::new(),
    };
    let mut tick = tokio::time::interval(TICK);
    let mut last = Instant::now();
    let mut last_tick = Instant::now();
    let mut closed_sent = false;
    let reason: CloseReason = loop {
        tokio::select! {
            msg = socket.recv() => {
                last = Instant::now();
                let msg = match msg {
                    None => break CloseReason::Disconnected,
                    Some(Err(e)) => break read_error(&e),
                    Some(Ok(m)) => m,
                };
                match msg {
                    Message::Binary(b) => {
                        let Some(s) = &session else { break CloseReason::Protocol("audio before open".into()) };
                        if b.len() % (hook.channels * hook.bps).max(1) != 0 {
                            break CloseReason::Protocol("audio frame is not whole samples of every channel".into());
                        }
                        for v in &mut hook.bufs { v.clear(); }
                        audiohook::deinterleave(&b, hook.channels, hook.bps, &mut hook.bufs);
                        let r = match s.lock() {
                            Ok(mut g) => {
                                let mut r = Ok(());
                                for (i, v) in hook.bufs.iter().enumerate() {
                                    if let Err(e) = g.push_audio(i, None, v) { r = Err(CloseReason::Protocol(e.to_string())); break; }
                                }
                                r
                            }
                            Err(_) => Err(CloseReason::Protocol("session failed".into())),
                        };
                        if let Err(r) = r { break r; }
                    }
                    Message::Text(t) => {
                        let m = match audiohook::parse(t.as_str()) { Ok(m) => m, Err(e) => break proto_reason(e) };
                        if let Some(sid) = &session_id {
                            if &m.id != sid { break CloseReason::Protocol("message id is not the session id".into()); }
                        }
                        hook.id.clone_from(&m.id);
                        match m.kind.as_str() {
                            "open" => {
                                if session.is_some() { break CloseReason::Protocol("second open".into()); }
                                let offers = match audiohook::offers(&m) { Ok(o) => o, Err(e) => break proto_reason(e) };
                                let (offer, enc) = match audiohook::choose_media(&offers) { Ok(x) => x, Err(e) => {
                                    hook.send(&mut socket, "disconnect", m.seq, serde_json::json!({"reason":"error","info":"no supported media format"})).await;
                                    break proto_reason(e);
                                } };
                                let p = &m.parameters;
                                let ani = p.pointer("/participant/ani").and_then(|v| v.as_str()).map(|s| Personal::new(s.to_owned()));
                                let legs = offer.channels.iter().map(|c| LiveLeg {
                                    speaker: if c == "internal" { Speaker::Agent } else { Speaker::Caller },
                                    encoding: enc,
                                    sample_rate: offer.rate,
                                }).collect::<Vec<_>>();
                                let consent = p.pointer("/customConfig/consent").and_then(|v| v.as_str()).map(str::to_owned);
                                let cs = CallStart {
                                    tenant: None,
                                    caller: ani,
                                    consent: consent_of(consent.as_ref()),
                                    campaign: p.pointer("/customConfig/campaign").and_then(|v| v.as_str()).map(str::to_owned),
                                    queue: p.pointer("/customConfig/queue").and_then(|v| v.as_str()).map(str::to_owned),
                                    called_number: p.pointer("/participant/dnis").and_then(|v| v.as_str()).map(str::to_owned),
                                    direction: Direction::Inbound,
                                    lang: lang_of(p.get("language").and_then(|v| v.as_str())),
                                    agent: None,
                                    protocol: "audiohook",
                                    external_id: Some(m.id.clone()),
                                    legs,
                                };
                                match CallSession::open(&st, cs).await {
                                    Ok(s) => session = Some(s),
                                    Err(e) => break CloseReason::Protocol(e.to_string()),
                                }
                                hook.channels = offer.channels.len();
                                hook.bps = if enc == SourceEncoding::Pcm16 { 2 } else { 1 };
                                hook.bufs = vec![Vec::new(); hook.channels];
                                hook.send(&mut socket, "opened", m.seq, serde_json::json!({"startPaused": false, "media": [offer]})).await;
                            }
                            "ping" => hook.send(&mut socket, "pong", m.seq, serde_json::json!({})).await,
                            "paused" | "resumed" | "discarded" => {
                                if let Some(s) = &session {
                                    let discarded = m.parameters.get("discarded").and_then(|v| v.as_str()).and_then(|d| audiohook::parse_duration_ms(d).ok()).unwrap_or(0);
                                    if let Ok(mut g) = s.lock() {
                                        if m.kind == "resumed" { g.stream_resumed("protocol:audiohook"); } else { g.stream_paused(discarded, "protocol:audiohook"); }
                                    }
                                }
                            }
                            "update" | "error" => {}
                            "close" => {
                                hook.send(&mut socket, "closed", m.seq, serde_json::json!({})).await;
                                closed_sent = true;
                                break CloseReason::Completed;
                            }
                            _ => break CloseReason::Protocol("unknown message type".into()),
                        }
                    }
                    Message::Close(_) => break CloseReason::Disconnected,
                    _ => {}
                }
            }
            _ = tick.tick() => {
                // A loop that was busy handling a message (a call open queued behind others)
                // missed ticks: that is not the client being idle.
                let now = Instant::now();
                if now.duration_since(last_tick) > TICK * 5 {
                    last = now;
                }
                last_tick = now;
                if last.elapsed() > st.cfg.idle_timeout {
                    break CloseReason::IdleTimeout;
                }
                if let Some(s) = &session {
                    if let Ok(mut g) = s.lock() {
                        g.tick();
                        if let Some(r) = g.close_requested() { break r; }
                    }
                }
            }
        }
    };
    if !closed_sent && !matches!(reason, CloseReason::Disconnected) {
        let r = if matches!(reason, CloseReason::Hangup) {
            "completed"
        } else {
            "error"
        };
        hook.send(
            &mut socket,
            "disconnect",
            0,
            serde_json::json!({"reason": r, "info": reason.describe()}),
        )
        .await;
    }
    match &session {
        Some(s) => {
            end(&st, s, reason).await;
        }
        None => st.metrics.closed(reason.as_str()),
    }
    let _ = socket.send(Message::Close(None)).await;
}
