//! Per-call processing modes and call events over the native protocol: a policy resolver picks
//! the mode from the routing the start message carries (campaign / queue / called number), and
//! an observer hears `call_completed` / `recording_available` with ids and counts only.
//!
//! - `minimal` (by campaign): only the row with the sealed caller number is stored — no
//!   transcript, no audio, even with the caller's consent; the live hand-over view still worked.
//! - `record` (by queue, basis from the rule): audio and transcript kept without call consent.
//! - no decision (tenant `anonymise`): transcript kept, audio discarded without consent.
//! - a resolver that fails refuses the call (fail closed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use async_trait::async_trait;
use common::*;
use futures::SinkExt;
use sotto_core::{InteractionId, LegalBasis, ProcessingMode, TenantId};
use sotto_ingest::proto::native;
use sotto_ingest::{CallEvents, CallPolicy, CallRouting, CompletedCall, LivePolicy};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Campaign `invoice-only` → minimal; queue `trading` → record on a legal obligation; called
/// number `+4570000666` → an error; anything else → no decision.
struct Rules {
    seen: Mutex<Vec<CallRouting>>,
}

#[async_trait]
impl CallPolicy for Rules {
    async fn resolve(
        &self,
        _tenant: &TenantId,
        r: &CallRouting,
    ) -> Result<Option<LivePolicy>, String> {
        self.seen.lock().unwrap().push(r.clone());
        if r.called_number.as_deref() == Some("+4570000666") {
            return Err("rules unavailable".into());
        }
        if r.campaign.as_deref() == Some("invoice-only") {
            return Ok(Some(LivePolicy {
                mode: ProcessingMode::Minimal,
                basis: None,
            }));
        }
        if r.queue.as_deref() == Some("trading") {
            return Ok(Some(LivePolicy {
                mode: ProcessingMode::Record,
                basis: Some(LegalBasis::LegalObligation),
            }));
        }
        Ok(None)
    }
}

#[derive(Default)]
struct Recorder {
    completed: Mutex<Vec<CompletedCall>>,
    recordings: Mutex<Vec<InteractionId>>,
}

#[async_trait]
impl CallEvents for Recorder {
    async fn call_completed(&self, c: &CompletedCall) -> Result<(), String> {
        self.completed.lock().unwrap().push(c.clone());
        Ok(())
    }
    async fn recording_available(&self, c: &CompletedCall) -> Result<(), String> {
        self.recordings.lock().unwrap().push(c.interaction);
        Ok(())
    }
}

/// One whole call over the native protocol; returns its id.
async fn call(h: &Harness, fx: &Fixture, extra: serde_json::Value) -> InteractionId {
    let mut start = serde_json::json!({"type":"start","caller":"+4520987654","lang":"en",
        "legs":[{"speaker":"caller","encoding":"mulaw","rate":8000},{"speaker":"agent","encoding":"mulaw","rate":8000}]});
    for (k, v) in extra.as_object().unwrap() {
        start[k] = v.clone();
    }
    let mut ws = connect(h, "/v1/ingest/native").await;
    ws.send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    assert_eq!(started["type"], "started", "{started}");
    let id = InteractionId(started["call_id"].as_str().unwrap().parse().unwrap());
    let mut frame = Vec::new();
    let n = fx.caller.len().div_ceil(160);
    for i in 0..n {
        for (leg, audio) in [(0u8, &fx.caller), (1u8, &fx.agent)] {
            let a = &audio[(i * 160).min(audio.len())..((i + 1) * 160).min(audio.len())];
            native::encode_binary(leg, None, a, &mut frame);
            ws.send(Message::Binary(frame.clone().into()))
                .await
                .unwrap();
        }
    }
    supply_all(&mut ws, fx, "agent").await;
    let end = fx.caller.len() as u64 / 8;
    for s in ["caller", "agent"] {
        ws.send(Message::Text(heard_msg(s, end).into()))
            .await
            .unwrap();
    }
    // Before hanging up, the live hand-over view has the (redacted) transcript in every mode.
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    let live = h.server.hub().transcript_so_far(id).unwrap();
    assert!(!live.is_empty(), "live transcript served the call");
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    let closed = next_json(&mut ws).await;
    assert_eq!(closed["reason"], "completed", "{closed}");
    id
}

async fn completed(rec: &Recorder, id: InteractionId) -> CompletedCall {
    for _ in 0..500 {
        if let Some(c) = rec
            .completed
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.interaction == id)
        {
            return c.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no call_completed for {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routing_picks_the_mode_and_completed_calls_are_reported() {
    let rules = Arc::new(Rules {
        seen: Mutex::new(Vec::new()),
    });
    let rec = Arc::new(Recorder::default());
    let (r2, e2) = (rules.clone(), rec.clone());
    let h = harness_with(
        ProcessingMode::Anonymise,
        |_| {},
        move |s| s.with_call_policy(r2).with_call_events(e2),
    )
    .await;
    let fx = fixture();

    // minimal by campaign — even with the caller's consent, nothing but the number is stored.
    let minimal = call(
        &h,
        &fx,
        serde_json::json!({"campaign":"invoice-only","consent":"consent","called":"+4570000001"}),
    )
    .await;
    let c = completed(&rec, minimal).await;
    assert_eq!(c.mode, Some(ProcessingMode::Minimal));
    assert!(!c.audio_stored && c.recordings.is_empty() && c.segments == 0);
    assert_eq!(c.routing.campaign.as_deref(), Some("invoice-only"));
    assert_eq!(c.routing.called_number.as_deref(), Some("+4570000001"));
    assert!(
        c.redactions
            .get(&sotto_core::Kind::PaymentCard)
            .copied()
            .unwrap_or(0)
            >= 1,
        "counts stay for statistics: {:?}",
        c.redactions
    );
    let view = h
        .vault
        .read_interaction(&h.tenant, minimal, "test")
        .await
        .unwrap();
    assert!(view.segments.is_empty(), "minimal: no transcript stored");
    assert!(view.recordings.is_empty(), "minimal: no audio stored");
    assert_eq!(
        view.meta.caller.as_deref(),
        Some("+4520987654"),
        "the number is kept for invoicing"
    );

    // record by queue — no consent on the call, the rule's legal basis keeps the audio.
    let record = call(&h, &fx, serde_json::json!({"queue":"trading"})).await;
    let c = completed(&rec, record).await;
    assert_eq!(c.mode, Some(ProcessingMode::Record));
    assert!(c.audio_stored && c.recordings.len() == 2 && c.segments >= 4);
    let view = h
        .vault
        .read_interaction(&h.tenant, record, "test")
        .await
        .unwrap();
    assert_eq!(view.recordings.len(), 2);
    assert!(view
        .segments
        .iter()
        .any(|s| s.text.expose().contains("[PAYMENT_CARD]")));

    // no decision: the tenant's anonymise — transcript kept, audio discarded without consent.
    let plain = call(&h, &fx, serde_json::json!({})).await;
    let c = completed(&rec, plain).await;
    assert_eq!(c.mode, None);
    assert!(!c.audio_stored && c.segments >= 4);

    // recording_available only for the call that kept audio
    for _ in 0..200 {
        if !rec.recordings.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*rec.recordings.lock().unwrap(), vec![record]);
    // the resolver saw the cleaned routing of each call
    let seen = rules.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].queue.as_deref(), Some("trading"));
    assert_eq!(seen[2], CallRouting::default());

    // a resolver failure refuses the call before anything is opened
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(
        serde_json::json!({"type":"start","caller":"+4520987654","called":"+4570000666",
            "legs":[{"speaker":"caller","encoding":"mulaw","rate":8000}]})
        .to_string()
        .into(),
    ))
    .await
    .unwrap();
    let m = next_json(&mut ws).await;
    assert_ne!(m["type"], "started", "{m}");
    assert!(
        m.to_string().contains("processing policy"),
        "the refusal names the policy: {m}"
    );
    let stored = h
        .vault
        .list_interactions(&h.tenant, &Default::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 3, "the refused call stored nothing");
}
