//! Live calls through the real router: a call made over the native ingest protocol on loopback
//! (the espeak-ng fixture of sotto-ingest: a card number, a name, a health statement), followed
//! by the agent's screen over Server-Sent Events and the REST "so far" call, paused and resumed
//! through the API and the protocol (each audited), its timeline kept with the interaction and
//! in the subject export; without a legal basis the audio is discarded, and consent given
//! mid-call keeps the rest, aligned. Uploads of finished recordings: good, bad, too large,
//! unknown codec, no transcript — nothing half-stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Harness, Session};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use sotto_access::Role;
use sotto_audit::{Action, Outcome};
use sotto_core::{ProcessingMode, TenantId};
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(serde::Deserialize, Clone)]
struct W {
    w: String,
    start_ms: u64,
    end_ms: u64,
}

#[derive(serde::Deserialize)]
struct Meta {
    caller: Vec<W>,
    agent: Vec<W>,
}

struct Fixture {
    caller: Vec<u8>,
    agent: Vec<u8>,
    meta: Meta,
}

fn fixture() -> Fixture {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sotto-ingest/tests/fixtures");
    Fixture {
        caller: std::fs::read(d.join("caller.ulaw")).unwrap(),
        agent: std::fs::read(d.join("agent.ulaw")).unwrap(),
        meta: serde_json::from_slice(&std::fs::read(d.join("call.json")).unwrap()).unwrap(),
    }
}

fn phrases(words: &[W]) -> Vec<Vec<W>> {
    let mut out: Vec<Vec<W>> = Vec::new();
    for w in words {
        match out.last_mut() {
            Some(p) if w.start_ms <= p.last().unwrap().end_ms + 400 => p.push(w.clone()),
            _ => out.push(vec![w.clone()]),
        }
    }
    out
}

fn transcript_msg(speaker: &str, p: &[W]) -> String {
    let words: Vec<_> = p
        .iter()
        .map(|w| json!({"w": w.w, "start_ms": w.start_ms, "end_ms": w.end_ms}))
        .collect();
    json!({"type":"transcript","speaker":speaker,"words":words}).to_string()
}

fn heard_msg(speaker: &str, until_ms: u64) -> String {
    json!({"type":"heard","speaker":speaker,"until_ms":until_ms}).to_string()
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(_) => return json!({"type":"socket_closed"}),
            _ => {}
        }
    }
}

/// Starts a native call; returns the socket and the call id.
async fn start_call(h: &Harness, tenant: &str, agent: &str, consent: bool) -> (Ws, String) {
    let url = format!("ws://{}/v1/ingest/native", h.ingest.ws_addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut start = json!({"type":"start","tenant":tenant,"caller":"+4520987654","lang":"en",
        "agent":agent,
        "legs":[{"speaker":"caller","encoding":"mulaw","rate":8000},
                {"speaker":"agent","encoding":"mulaw","rate":8000}]});
    if consent {
        start["consent"] = "consent".into();
    }
    ws.send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    assert_eq!(started["type"], "started", "{started}");
    let id = started["call_id"].as_str().unwrap().to_owned();
    (ws, id)
}

/// Streams frames `[from, to)` of the fixture (20 ms each, both legs) with the transcript a
/// bot would send as each phrase's audio passes, and `heard` every second.
async fn stream(ws: &mut Ws, fx: &Fixture, from: usize, to: usize) {
    let mut frame = Vec::new();
    let n = fx.caller.len().div_ceil(160);
    let t0 = from as u64 * 20;
    let mut cp = phrases(&fx.meta.caller)
        .into_iter()
        .filter(|p| p.last().unwrap().end_ms > t0)
        .peekable();
    let mut ap = phrases(&fx.meta.agent)
        .into_iter()
        .filter(|p| p.last().unwrap().end_ms > t0)
        .peekable();
    for i in from..to.min(n) {
        let c = &fx.caller[i * 160..((i + 1) * 160).min(fx.caller.len())];
        let a = &fx.agent[i * 160..((i + 1) * 160).min(fx.agent.len())];
        sotto_ingest::proto::native::encode_binary(0, None, c, &mut frame);
        ws.send(Message::Binary(frame.clone().into()))
            .await
            .unwrap();
        sotto_ingest::proto::native::encode_binary(1, None, a, &mut frame);
        ws.send(Message::Binary(frame.clone().into()))
            .await
            .unwrap();
        let t = (i as u64 + 1) * 20;
        while cp.peek().is_some_and(|p| p.last().unwrap().end_ms <= t) {
            let p = cp.next().unwrap();
            ws.send(Message::Text(transcript_msg("caller", &p).into()))
                .await
                .unwrap();
        }
        while ap.peek().is_some_and(|p| p.last().unwrap().end_ms <= t) {
            let p = ap.next().unwrap();
            ws.send(Message::Text(transcript_msg("agent", &p).into()))
                .await
                .unwrap();
        }
        if i % 50 == 49 {
            for s in ["caller", "agent"] {
                ws.send(Message::Text(heard_msg(s, t).into()))
                    .await
                    .unwrap();
            }
        }
    }
    // A ping answered means every message before it was applied.
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(ws).await["type"], "pong");
}

async fn finish_call(h: &Harness, mut ws: Ws, fx: &Fixture) {
    let end = fx.caller.len() as u64 / 8;
    for s in ["caller", "agent"] {
        ws.send(Message::Text(heard_msg(s, end).into()))
            .await
            .unwrap();
    }
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    let closed = next_json(&mut ws).await;
    assert_eq!(closed["type"], "closed", "{closed}");
    let _ = h;
}

/// Waits until the call `id` is stored.
async fn wait_stored(h: &Harness, tenant: &TenantId, id: &str) {
    let iid = id.parse().unwrap();
    for _ in 0..500 {
        if h.vault
            .interaction_facts(tenant, iid)
            .await
            .unwrap()
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("call {id} was not stored");
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    data: Value,
}

/// Follows an SSE stream in the background until `ended` (or the stream closes).
async fn follow(
    h: &Harness,
    path: &str,
    s: &Session,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Sse>) {
    let mut r = h
        .http
        .get(h.url(path))
        .header(
            "cookie",
            format!("{}={}", sotto_api::SESSION_COOKIE, s.cookie),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    if status == 200 {
        assert_eq!(ct.as_deref(), Some("text/event-stream"));
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(at) = buf.find("\n\n") {
                    let block: String = buf.drain(..at + 2).collect();
                    let mut event = String::new();
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if event.is_empty() {
                        continue; // keep-alive comment
                    }
                    let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                    let end = event == "ended";
                    let _ = tx.send(Sse { event, data });
                    if end {
                        return;
                    }
                }
            }
        });
    }
    (status, rx)
}

async fn collect_until_ended(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Sse>) -> Vec<Sse> {
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(e)) => {
                let end = e.event == "ended";
                out.push(e);
                if end {
                    return out;
                }
            }
            Ok(None) => panic!("stream closed before `ended`: {out:?}"),
            Err(_) => panic!("no `ended` event within 30 s: {} events", out.len()),
        }
    }
}

fn kinds(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .map(|t| {
            t.get("type")
                .or_else(|| t.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_transcript_control_and_timeline_of_a_live_call() {
    let h = common::harness().await;
    let fx = fixture();
    let agent = h.login_role(Role::Agent).await;
    let sup = h.login_role(Role::Supervisor).await;
    let billing = h.login_role(Role::Billing).await;

    let (mut ws, id) = start_call(&h, "default", "a1", false).await;

    // The call is listed for its agent and the agent's supervisor, not for billing.
    let r = h
        .send(
            Method::GET,
            "/api/v1/live/calls",
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r.json()["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&id), "{ids:?}");
    assert!(
        !ids.contains(&h.live_theirs.id.to_string()),
        "another team's call is not listed for an agent"
    );
    let r = h
        .send(
            Method::GET,
            "/api/v1/live/calls",
            &Auth::Session(sup.clone()),
            None,
            &[],
        )
        .await;
    assert!(r.body_text().contains(&id));
    let r = h
        .send(
            Method::GET,
            "/api/v1/live/calls",
            &Auth::Session(billing.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 403);

    // The agent's screen subscribes before anything is said.
    let events_path = format!("/api/v1/live/calls/{id}/events");
    let (status, mut screen) = follow(&h, &events_path, &agent).await;
    assert_eq!(status, 200);

    let n = fx.caller.len().div_ceil(160);
    let half = n / 2;
    stream(&mut ws, &fx, 0, half / 2).await;
    // Paused and resumed by the agent through the API, with a reason.
    for (cmd, reason) in [
        ("pause", "caller asked for a break"),
        ("resume", "caller is back"),
    ] {
        let r = h
            .send(
                Method::POST,
                &format!("/api/v1/live/calls/{id}/control"),
                &Auth::Session(agent.clone()),
                Some(&json!({"command": cmd, "reason": reason})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(r.json()["command"], cmd);
    }
    // And over the protocol (audited too).
    for cmd in ["pause", "resume"] {
        ws.send(Message::Text(
            json!({"type":"control","command":cmd,"reason":"ivr flow"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    }
    // Bad commands are refused with a code, nothing applied.
    for (body, code) in [
        (json!({"command": "explode"}), "invalid_command"),
        (json!({"command": "consent_given"}), "invalid_basis"),
        (
            json!({"command": "pause", "reason": "x".repeat(300)}),
            "invalid_reason",
        ),
    ] {
        let r = h
            .send(
                Method::POST,
                &format!("/api/v1/live/calls/{id}/control"),
                &Auth::Session(agent.clone()),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body_text());
        assert_eq!(r.code(), code);
    }
    stream(&mut ws, &fx, half / 2, n).await;

    // REST: the transcript so far, redacted.
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/live/calls/{id}/transcript"),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    let so_far = r.json();
    let texts: Vec<String> = so_far["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_owned())
        .collect();
    let all = texts.join(" | ");
    assert!(
        all.contains("[PAYMENT_CARD]"),
        "card redacted for live subscribers"
    );
    assert!(!all.contains("eight two one one"), "card words gone");
    assert!(!all.contains("diabetes"), "health statement gone");
    assert!(
        all.contains("Quenfeldt"),
        "the name stays: the agent needs it"
    );
    let tl = so_far["timeline"].as_array().unwrap().clone();
    let k = kinds(&tl);
    for want in [
        "recording_started",
        "recording_paused",
        "recording_resumed",
        "pci_pause",
    ] {
        assert!(k.contains(&want.to_owned()), "{want} in {k:?}");
    }
    let paused = tl.iter().find(|t| t["type"] == "recording_paused").unwrap();
    assert_eq!(paused["actor"], agent.actor.as_str());
    assert_eq!(paused["reason"], "caller asked for a break");
    assert!(
        tl.iter()
            .any(|t| t["type"] == "recording_paused" && t["actor"] == "protocol:native"),
        "{tl:?}"
    );

    finish_call(&h, ws, &fx).await;
    wait_stored(&h, &h.tenant, &id).await;

    // What the screen saw: the same redacted segments, the timeline, then `ended`.
    let seen = collect_until_ended(&mut screen).await;
    let seen_text: String = seen
        .iter()
        .filter(|e| e.event == "segment")
        .map(|e| e.data["text"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(seen_text.contains("[PAYMENT_CARD]"));
    assert!(!seen_text.contains("eight two one one"));
    assert!(seen_text.contains("Quenfeldt"));
    let seqs: Vec<u64> = seen
        .iter()
        .filter(|e| e.event == "segment")
        .map(|e| e.data["seq"].as_u64().unwrap())
        .collect();
    let mut sorted = seqs.clone();
    sorted.dedup();
    assert_eq!(seqs, sorted, "every segment once, in order");
    let seen_tl: Vec<Value> = seen
        .iter()
        .filter(|e| e.event == "timeline")
        .map(|e| e.data.clone())
        .collect();
    let k = kinds(&seen_tl);
    for want in [
        "recording_paused",
        "recording_resumed",
        "pci_pause",
        "closed",
    ] {
        assert!(k.contains(&want.to_owned()), "{want} in {k:?}");
    }
    assert_eq!(seen.last().unwrap().event, "ended");

    // The call has ended: its live endpoints say so with a code.
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/live/calls/{id}/transcript"),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "call_ended");
    let r = h
        .send(
            Method::POST,
            &format!("/api/v1/live/calls/{id}/control"),
            &Auth::Session(agent.clone()),
            Some(&json!({"command": "pause"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "call_ended");
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/live/calls/{}/transcript", uuid::Uuid::now_v7()),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);

    // The timeline was kept with the interaction: in the transcript answer...
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/interactions/{id}/transcript"),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    let stored = r.json();
    let tl = stored["timeline"].as_array().unwrap().clone();
    let k = kinds(&tl);
    for want in [
        "recording_started",
        "recording_paused",
        "recording_resumed",
        "pci_pause",
        "closed",
    ] {
        assert!(k.contains(&want.to_owned()), "{want} in stored {k:?}");
    }
    let paused = tl.iter().find(|t| t["kind"] == "recording_paused").unwrap();
    assert_eq!(paused["actor"], agent.actor.as_str());
    assert_eq!(paused["reason"], "caller asked for a break");
    let pci = tl.iter().find(|t| t["kind"] == "pci_pause").unwrap();
    assert!(pci["detail"]["until_ms"].as_u64().unwrap() > pci["at_ms"].as_u64().unwrap());
    assert_eq!(
        stored["interaction"]["recordings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // ... and in the subject export.
    let dpo = h.login_role(Role::Dpo).await;
    let r = h
        .send(
            Method::POST,
            "/api/v1/subjects/export",
            &Auth::Session(dpo),
            Some(&json!({"phone": "+4520987654", "format": "json"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    let export = r.json();
    let call = export["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap()
        .clone();
    let k = kinds(call["timeline"].as_array().unwrap());
    assert!(k.contains(&"recording_paused".to_owned()), "{k:?}");
    assert!(call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["reason"] == "caller asked for a break"));

    // The reason is sealed: not in clear anywhere under the data directory.
    common::scan_for(h.dir.path(), &[b"caller asked for a break".as_slice()]);

    // Audited: every read of the live transcript (subscription and so-far) and every control,
    // from the API and from the protocol, with ids only.
    let by_agent = h.entries(&h.tenant, &agent.actor, Outcome::Ok).await;
    let reads = by_agent
        .iter()
        .filter(|e| {
            e.entry.action == Action::TranscriptRead
                && e.entry.object.as_deref() == Some(id.as_str())
        })
        .count();
    assert!(reads >= 2, "subscription and so-far read audited: {reads}");
    let controls: Vec<_> = by_agent
        .iter()
        .filter(|e| e.entry.action == Action::RecordingControl)
        .map(|e| e.entry.purpose.clone().unwrap_or_default())
        .collect();
    assert_eq!(controls, vec!["pause", "resume"], "API controls audited");
    let native = h.entries(&h.tenant, "protocol:native", Outcome::Ok).await;
    let native_controls: Vec<_> = native
        .iter()
        .filter(|e| e.entry.action == Action::RecordingControl)
        .map(|e| e.entry.purpose.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        native_controls,
        vec!["pause", "resume"],
        "protocol controls audited"
    );
    assert!(native
        .iter()
        .all(|e| !format!("{:?}", e.entry).contains("ivr flow")));
    // Billing's attempt to list was refused and audited.
    assert!(!h
        .entries(&h.tenant, &billing.actor, Outcome::Denied)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_legal_basis_the_audio_is_discarded_and_consent_mid_call_keeps_the_rest() {
    // A short delay line: audio is released (and, before consent, discarded) during the call.
    let h = common::harness_with(common::Options {
        ingest_delay_ms: Some(2_000),
        ..Default::default()
    })
    .await;
    let fx = fixture();
    let t = TenantId::new("nobasis").unwrap();
    h.vault
        .put_tenant(&t, "No basis", ProcessingMode::Anonymise)
        .await
        .unwrap();
    let u = common::create_user(
        &h.access,
        &t,
        "nb-agent",
        Role::Agent,
        Some("t9"),
        Some("a9"),
    )
    .await;
    let agent = h.login(&u).await;

    // 1. No consent, no legal duty, not in record mode: transcribed, audio discarded.
    let (mut ws, id) = start_call(&h, "nobasis", "a9", false).await;
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/live/calls/{id}/transcript"),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert!(kinds(r.json()["timeline"].as_array().unwrap()).contains(&"no_legal_basis".to_owned()));
    // Recording cannot be started without a basis.
    for cmd in ["start", "resume"] {
        let r = h
            .send(
                Method::POST,
                &format!("/api/v1/live/calls/{id}/control"),
                &Auth::Session(agent.clone()),
                Some(&json!({"command": cmd})),
                &[],
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.body_text());
        assert_eq!(r.code(), "no_legal_basis");
    }
    assert!(
        !h.entries(&t, &agent.actor, Outcome::Denied)
            .await
            .is_empty(),
        "the refused start is audited"
    );
    let n = fx.caller.len().div_ceil(160);
    stream(&mut ws, &fx, 0, n).await;
    finish_call(&h, ws, &fx).await;
    wait_stored(&h, &t, &id).await;
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/interactions/{id}/transcript"),
            &Auth::Session(agent.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    let j = r.json();
    assert_eq!(
        j["interaction"]["recordings"].as_array().unwrap().len(),
        0,
        "no audio without a legal basis"
    );
    assert!(
        !j["segments"].as_array().unwrap().is_empty(),
        "the transcript is kept"
    );
    assert!(kinds(j["timeline"].as_array().unwrap()).contains(&"no_legal_basis".to_owned()));

    // 2. Consent given mid-call through the API: the audio from then on is kept, the part
    //    before is silence, and the recording stays aligned with the call.
    let (mut ws, id) = start_call(&h, "nobasis", "a9", false).await;
    let third = n / 3;
    stream(&mut ws, &fx, 0, third).await;
    let r = h
        .send(
            Method::POST,
            &format!("/api/v1/live/calls/{id}/control"),
            &Auth::Session(agent.clone()),
            Some(&json!({"command": "consent_given", "basis": "consent"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    stream(&mut ws, &fx, third, n).await;
    finish_call(&h, ws, &fx).await;
    wait_stored(&h, &t, &id).await;
    let iid = id.parse().unwrap();
    let facts = h.vault.interaction_facts(&t, iid).await.unwrap().unwrap();
    assert_eq!(facts.recordings.len(), 2, "audio kept after consent");
    let call_ms = (fx.caller.len() / 8) as i64;
    for rec in &facts.recordings {
        assert!(
            (rec.duration_ms - call_ms).abs() <= 100,
            "recording aligned with the call: {} vs {call_ms} ms",
            rec.duration_ms
        );
        let pcm = h
            .vault
            .read_recording(&t, facts.summary.subject, rec, "test")
            .await
            .unwrap();
        // Before consent (minus the release batch): silence.
        let before = (third as i64 * 20 - 1_000).max(0) as usize * 8;
        assert!(
            pcm.samples[..before].iter().all(|&s| s.abs() < 16),
            "audio before consent was not kept"
        );
    }
    let consent_changes = h
        .entries(&t, &agent.actor, Outcome::Ok)
        .await
        .into_iter()
        .filter(|e| e.entry.action == Action::ConsentChange)
        .count();
    assert_eq!(consent_changes, 1, "consent given mid-call audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_run_the_batch_path_and_refuse_bad_input_without_storing_anything() {
    let h = common::harness_with(common::Options {
        upload_limit_bytes: Some(200_000),
        ..Default::default()
    })
    .await;
    let agent = h.login_role(Role::Agent).await;
    let auth = Auth::Session(agent.clone());
    let count = || async { h.vault.store().count_interactions(&h.tenant).await.unwrap() };
    let before = count().await;
    let meta = json!({"caller": "+4520555111", "channel": "voicemail", "lang": "en",
        "recording_basis": "consent"})
    .to_string();
    let card = "my card number is four five three nine one four eight eight zero three \
                four three six four six seven";
    let transcript = json!({"segments": [{"speaker": "caller", "start_ms": 0, "end_ms": 1900,
        "text": card}]})
    .to_string();

    // Unknown codec: 415.
    let (ct, body) = common::multipart(&[
        ("audio", "audio/ogg", b"OggS...."),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 415, "{}", r.body_text());
    assert_eq!(r.code(), "unsupported_codec");
    // A bad WAV: 400 with a code.
    let (ct, body) = common::multipart(&[
        ("audio", "audio/wav", b"RIFF\x10\x00\x00\x00WAVEjunkjunk"),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(r.code(), "bad_wav");
    // Too large: 413.
    let big = common::tone_wav(20);
    let (ct, body) = common::multipart(&[
        ("audio", "audio/wav", &big),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 413, "{}", r.body_text());
    assert_eq!(r.code(), "payload_too_large");
    // No transcript and an engine that cannot transcribe audio: refused, not stored unchecked.
    let wav = common::tone_wav(2);
    let (ct, body) = common::multipart(&[
        ("audio", "audio/wav", &wav),
        ("metadata", "application/json", meta.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 422, "{}", r.body_text());
    assert_eq!(r.code(), "transcript_required");
    // Bad metadata: 400.
    let (ct, body) = common::multipart(&[
        ("audio", "audio/wav", &wav),
        (
            "metadata",
            "application/json",
            br#"{"direction":"sideways"}"#,
        ),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(r.code(), "invalid_metadata");
    // Another team's agent: refused by scope.
    let other = json!({"agent": "a2"}).to_string();
    let (ct, body) = common::multipart(&[
        ("audio", "audio/wav", &wav),
        ("metadata", "application/json", other.as_bytes()),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 403, "{}", r.body_text());
    assert_eq!(
        count().await,
        before,
        "nothing stored by any refused upload"
    );

    // Raw 8 kHz μ-law voicemail with its transcript: stored through the batch path, the card
    // removed from the text and silenced in the audio.
    let pcm: Vec<i16> = (0..16_000).map(|i| ((i % 40) as i16 - 20) * 300).collect();
    let ulaw: Vec<u8> = pcm
        .iter()
        .map(|&s| sotto_audio::g711::ulaw_encode(s))
        .collect();
    let (ct, body) = common::multipart(&[
        ("audio", "audio/basic", &ulaw),
        ("metadata", "application/json", meta.as_bytes()),
        ("transcript", "application/json", transcript.as_bytes()),
    ]);
    let r = h
        .send_raw(Method::POST, "/api/v1/uploads", &auth, &ct, body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body_text());
    let receipt = r.json();
    assert_eq!(receipt["audio_stored"], true);
    assert_eq!(receipt["transcribed_by"], "supplied");
    assert!(
        receipt["redactions"]["payment_card"].as_u64().unwrap() >= 1,
        "{receipt}"
    );
    assert_eq!(count().await, before + 1);
    let id = receipt["interaction"].as_str().unwrap();
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/interactions/{id}/transcript"),
            &auth,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body_text());
    let text = r.json()["segments"][0]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("[PAYMENT_CARD]"), "card redacted");
    assert!(!text.contains("four five three nine"));
    assert_eq!(r.json()["interaction"]["channel"], "voicemail");
    // The upload is audited under the uploader.
    let ingests = h
        .entries(&h.tenant, &agent.actor, Outcome::Ok)
        .await
        .into_iter()
        .filter(|e| e.entry.action == Action::Ingest && e.entry.object.as_deref() == Some(id))
        .count();
    assert_eq!(ingests, 1);
}
