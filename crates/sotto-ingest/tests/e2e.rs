//! End to end over each protocol on loopback, with the bot engine and espeak-ng speech: a call
//! with a spoken card number, a name and a health statement → the stored transcript has card
//! and health redacted and the name sealed; the stored audio is silent (< −60 dBFS) over the
//! card and unchanged elsewhere; no planted value is in clear anywhere under the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use futures::SinkExt;
use sotto_core::{InteractionId, ProcessingMode};
use sotto_ingest::proto::{audiohook, audiosocket, native, twilio};
use sotto_ingest::{Command, LiveEvent, TimelineKind};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn start_native(consent: bool) -> String {
    let mut v = serde_json::json!({"type":"start","caller":"+4520987654","lang":"en",
        "legs":[{"speaker":"caller","encoding":"mulaw","rate":8000},{"speaker":"agent","encoding":"mulaw","rate":8000}]});
    if consent {
        v["consent"] = "consent".into();
    }
    v.to_string()
}

/// Streams the fixture over the native protocol, transcripts interleaved as a bot would send
/// them (each phrase once its audio has passed), `heard` every second.
async fn stream_native(ws: &mut Ws, fx: &Fixture, upto_frames: Option<usize>) {
    let mut cp = phrases(&fx.meta.caller).into_iter().peekable();
    let mut ap = phrases(&fx.meta.agent).into_iter().peekable();
    let mut frame = Vec::new();
    let n = fx.caller.len().div_ceil(160);
    for i in 0..upto_frames.unwrap_or(n).min(n) {
        let c = &fx.caller[i * 160..((i + 1) * 160).min(fx.caller.len())];
        let a = &fx.agent[i * 160..((i + 1) * 160).min(fx.agent.len())];
        native::encode_binary(0, None, c, &mut frame);
        if let Err(e) = ws.send(Message::Binary(frame.clone().into())).await {
            let why = futures::StreamExt::next(ws).await;
            panic!("send failed at frame {i}: {e}; {why:?}");
        }
        native::encode_binary(1, None, a, &mut frame);
        if let Err(e) = ws.send(Message::Binary(frame.clone().into())).await {
            let why = futures::StreamExt::next(ws).await;
            panic!("send failed at frame {i}: {e}; {why:?}");
        }
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
            ws.send(Message::Text(heard_msg("caller", t).into()))
                .await
                .unwrap();
            ws.send(Message::Text(heard_msg("agent", t).into()))
                .await
                .unwrap();
        }
    }
    if upto_frames.is_none() {
        let end = fx.caller.len() as u64 / 8;
        ws.send(Message::Text(heard_msg("caller", end).into()))
            .await
            .unwrap();
        ws.send(Message::Text(heard_msg("agent", end).into()))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_call_end_to_end() {
    let h = harness(ProcessingMode::Anonymise, |_| {}).await;
    let fx = fixture();
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    assert_eq!(started["type"], "started", "{started}");
    let id: InteractionId = InteractionId(started["call_id"].as_str().unwrap().parse().unwrap());
    let mut sub = h.server.hub().subscribe(id).expect("live");
    stream_native(&mut ws, &fx, None).await;
    // the live hand-over view has the redacted transcript so far
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    let so_far = h.server.hub().transcript_so_far(id).unwrap();
    assert!(so_far.len() >= 4);
    assert!(so_far
        .iter()
        .any(|s| s.text.expose().contains("[PAYMENT_CARD]")));
    assert!(!so_far.iter().any(|s| s.text.expose().contains("diabetes")));
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    let closed = next_json(&mut ws).await;
    assert_eq!(closed["type"], "closed");
    assert_eq!(closed["reason"], "completed");
    wait_ended(&h).await;
    let mut segs = 0;
    let mut ended = false;
    while let Ok(ev) = sub.try_recv() {
        match ev {
            LiveEvent::Segment(_) => segs += 1,
            LiveEvent::Ended { .. } => ended = true,
            LiveEvent::Timeline(_) => {}
        }
    }
    assert!(segs >= 4 && ended);
    check_stored_call(&h, &fx, 2, false).await;
    let m = h.server.metrics();
    assert!(m.redactions_of(sotto_core::Kind::PaymentCard) >= 1);
    assert!(m
        .render_prometheus()
        .contains("sotto_ingest_calls_finished_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_call_end_to_end() {
    let h = harness(ProcessingMode::Anonymise, |_| {}).await;
    let fx = fixture();
    let mut ws = connect(&h, "/v1/ingest/twilio").await;
    ws.send(Message::Text(
        r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#.into(),
    ))
    .await
    .unwrap();
    let start = r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA-e2e-1","tracks":["inbound","outbound"],"customParameters":{"caller":"+4520987654","consent":"yes","lang":"en"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#;
    ws.send(Message::Text(start.into())).await.unwrap();
    for _ in 0..200 {
        if h.server.registry().by_external("CA-e2e-1").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(h.server.registry().by_external("CA-e2e-1").is_some());
    attach_and_supply(&h, "CA-e2e-1", &fx, "agent").await;
    let n = fx.caller.len().div_ceil(160);
    let mut seq = 2;
    for i in 0..n {
        let ts = i as u64 * 20;
        let c = &fx.caller[i * 160..((i + 1) * 160).min(fx.caller.len())];
        let a = &fx.agent[i * 160..((i + 1) * 160).min(fx.agent.len())];
        // outbound first on odd frames: the tracks are de-interleaved by timestamp
        let (first, second) = if i % 2 == 0 {
            (("inbound", c), ("outbound", a))
        } else {
            (("outbound", a), ("inbound", c))
        };
        for (track, p) in [first, second] {
            seq += 1;
            ws.send(Message::Text(
                twilio::media_json("MZ1", track, seq, ts, p).into(),
            ))
            .await
            .unwrap();
        }
    }
    ws.send(Message::Text(r#"{"event":"stop","sequenceNumber":"99999","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA-e2e-1"}}"#.into()))
        .await
        .unwrap();
    wait_ended(&h).await;
    check_stored_call(&h, &fx, 2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audiosocket_call_end_to_end() {
    // AudioSocket carries no metadata: a tenant in record mode keeps the audio.
    let h = harness(ProcessingMode::Record, |_| {}).await;
    let fx = fixture();
    let addr = h.server.audiosocket_addr.unwrap();
    let uuid = uuid::Uuid::new_v4();
    let mut conns = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut b = Vec::new();
        audiosocket::encode(audiosocket::KIND_UUID, uuid.as_bytes(), &mut b);
        s.write_all(&b).await.unwrap();
        conns.push(s);
    }
    for _ in 0..200 {
        if h.server.registry().by_external(&uuid.to_string()).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await; // the second connection joins
    attach_and_supply(&h, &uuid.to_string(), &fx, "agent").await;
    let legs = [&fx.caller, &fx.agent];
    let mut b = Vec::new();
    let n = fx.caller.len().div_ceil(160);
    for i in 0..n {
        for (c, leg) in conns.iter_mut().zip(legs) {
            let s = &leg[i * 160..((i + 1) * 160).min(leg.len())];
            let pcm: Vec<u8> = sotto_audio::g711::ulaw_decode_slice(s)
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect();
            b.clear();
            audiosocket::encode(audiosocket::KIND_SLIN, &pcm, &mut b);
            c.write_all(&b).await.unwrap();
        }
    }
    for c in &mut conns {
        b.clear();
        audiosocket::encode(audiosocket::KIND_HANGUP, &[], &mut b);
        c.write_all(&b).await.unwrap();
    }
    wait_ended(&h).await;
    check_stored_call(&h, &fx, 2, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audiohook_call_end_to_end_and_bad_signature() {
    let secret = b"audiohook-test-secret".to_vec();
    let h = harness(ProcessingMode::Anonymise, |c| {
        c.audiohook_clients = vec![("key-1".into(), secret.clone())];
    })
    .await;
    let fx = fixture();
    let session = uuid::Uuid::new_v4().to_string();
    let authority = h.server.ws_addr.to_string();
    let headers = [
        ("audiohook-organization-id", "org-1"),
        ("audiohook-session-id", session.as_str()),
        ("audiohook-correlation-id", "corr-1"),
        ("x-api-key", "key-1"),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let request = |secret: &[u8]| {
        let (input, sig) = audiohook::sign(
            &headers,
            "/v1/ingest/audiohook",
            &authority,
            secret,
            now,
            "nonce-1",
        );
        let mut req = format!("ws://{authority}/v1/ingest/audiohook")
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(k, v.parse().unwrap());
        }
        req.headers_mut()
            .insert("signature-input", input.parse().unwrap());
        req.headers_mut().insert("signature", sig.parse().unwrap());
        req
    };
    // a wrong secret is refused at the upgrade
    let bad = tokio_tungstenite::connect_async(request(b"wrong")).await;
    assert!(bad.is_err(), "wrong signature refused");

    let (mut ws, _) = tokio_tungstenite::connect_async(request(&secret))
        .await
        .unwrap();
    // The very same signed upgrade request again (a replay within the signature window) is
    // refused: its nonce was used.
    let replay = tokio_tungstenite::connect_async(request(&secret)).await;
    match replay {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 401, "replayed nonce refused with 401")
        }
        other => panic!(
            "a replayed AudioHook signature was accepted: {:?}",
            other.is_ok()
        ),
    }
    let open = serde_json::json!({"version":"2","type":"open","seq":1,"serverseq":0,"id":session,"position":"PT0S",
        "parameters":{"organizationId":"org-1","conversationId":"c1","participant":{"id":"p","ani":"+4520987654","aniName":"","dnis":"+4570000000"},
        "media":[{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000}],"language":"en-US","customConfig":{"consent":"consent"}}});
    ws.send(Message::Text(open.to_string().into()))
        .await
        .unwrap();
    let opened = next_json(&mut ws).await;
    assert_eq!(opened["type"], "opened", "{opened}");
    assert_eq!(opened["clientseq"], 1);
    assert_eq!(opened["parameters"]["media"][0]["format"], "PCMU");
    attach_and_supply(&h, &session, &fx, "agent").await;
    let ping = serde_json::json!({"version":"2","type":"ping","seq":2,"serverseq":1,"id":session,"position":"PT0.1S","parameters":{}});
    ws.send(Message::Text(ping.to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    let n = fx.caller.len().div_ceil(160);
    for i in 0..n {
        let c = &fx.caller[i * 160..((i + 1) * 160).min(fx.caller.len())];
        let a = &fx.agent[i * 160..((i + 1) * 160).min(fx.agent.len())];
        let mut inter = Vec::with_capacity(320);
        for (x, y) in c.iter().zip(a) {
            inter.push(*x);
            inter.push(*y);
        }
        ws.send(Message::Binary(inter.into())).await.unwrap();
    }
    let close = serde_json::json!({"version":"2","type":"close","seq":3,"serverseq":2,"id":session,"position":"PT25S","parameters":{"reason":"end"}});
    ws.send(Message::Text(close.to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "closed");
    wait_ended(&h).await;
    check_stored_call(&h, &fx, 2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_only_that_call_and_keeps_what_was_checked() {
    // the good call waits idle while the bad ones run: a generous idle timeout
    let h = harness(ProcessingMode::Anonymise, |c| {
        c.idle_timeout = Duration::from_secs(300)
    })
    .await;
    let fx = fixture();
    // a good call runs beside the bad ones
    let mut good = connect(&h, "/v1/ingest/native").await;
    good.send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut good).await["type"], "started");

    // malformed JSON
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let c = next_json(&mut ws).await;
    assert!(
        c["reason"].as_str().unwrap().starts_with("protocol error"),
        "{c}"
    );
    // unknown codec
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(
        r#"{"type":"start","legs":[{"speaker":"caller","encoding":"opus","rate":8000}]}"#.into(),
    ))
    .await
    .unwrap();
    let c = next_json(&mut ws).await;
    assert_eq!(c["reason"], "unknown codec `opus`");
    // oversized frame
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "started");
    let _ = ws.send(Message::Binary(vec![0u8; 100_000].into())).await;
    let c = next_json(&mut ws).await;
    assert_eq!(c["reason"], "frame too large", "{c}");
    // twilio: unknown codec
    let mut tw = connect(&h, "/v1/ingest/twilio").await;
    tw.send(Message::Text(r#"{"event":"start","start":{"callSid":"CA2","mediaFormat":{"encoding":"audio/opus","sampleRate":48000,"channels":1}}}"#.into())).await.unwrap();
    let c = next_json(&mut tw).await;
    assert_eq!(c["type"], "socket_closed", "{c}");
    // an abrupt disconnect mid-call: what was checked is kept
    let mut abrupt = connect(&h, "/v1/ingest/native").await;
    abrupt
        .send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut abrupt).await["type"], "started");
    stream_native(&mut abrupt, &fx, Some(500)).await; // 10 s, with its transcripts
    abrupt
        .send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut abrupt).await["type"], "pong");
    drop(abrupt);

    // the good call is still live and finishes normally
    stream_native(&mut good, &fx, Some(100)).await;
    good.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    let c = next_json(&mut good).await;
    assert_eq!(c["reason"], "completed");
    wait_ended(&h).await;
    let list = h
        .vault
        .list_interactions(&h.tenant, &Default::default())
        .await
        .unwrap();
    // good + oversized + abrupt were opened and are committed; the others never opened
    assert_eq!(list.len(), 3, "{}", list.len());
    let m = h.server.metrics().render_prometheus();
    for r in [
        "frame_too_large",
        "disconnected",
        "unknown_codec",
        "protocol_error",
    ] {
        assert!(m.contains(&format!("reason=\"{r}\"")), "{r} counted");
    }
    // the abrupt call kept its checked first seconds, transcript included
    let mut found = false;
    for s in &list {
        let v = h
            .vault
            .read_interaction(&h.tenant, s.id, "test")
            .await
            .unwrap();
        if v.segments
            .iter()
            .any(|x| x.text.expose().contains("Quenfeldt"))
        {
            found = true;
        }
    }
    assert!(found, "the abrupt call's transcript was committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_no_basis() {
    let h = harness(ProcessingMode::Anonymise, |_| {}).await;
    let fx = fixture();
    // no consent: transcribed, audio discarded
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(start_native(false).into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    let id = InteractionId(started["call_id"].as_str().unwrap().parse().unwrap());
    stream_native(&mut ws, &fx, None).await;
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    next_json(&mut ws).await;
    wait_ended(&h).await;
    let v = h
        .vault
        .read_interaction(&h.tenant, id, "test")
        .await
        .unwrap();
    assert!(v.recordings.is_empty(), "no audio without a legal basis");
    assert!(!v.segments.is_empty(), "but the transcript is kept");

    // consent, then a pause by an agent between 2 s and the end
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    let id = InteractionId(started["call_id"].as_str().unwrap().parse().unwrap());
    stream_native(&mut ws, &fx, Some(100)).await;
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    next_json(&mut ws).await;
    h.server
        .registry()
        .control(
            id,
            Command::Pause {
                reason: Some("card payment".into()),
            },
            "user:anna",
        )
        .unwrap();
    let tl = h.server.registry().timeline(id).unwrap();
    let p = tl
        .iter()
        .find(|e| e.kind == TimelineKind::RecordingPaused)
        .unwrap();
    assert_eq!(p.actor, "user:anna");
    assert_eq!(p.reason.as_deref(), Some("card payment"));
    assert_eq!(p.at_ms, 2000);
    h.server
        .registry()
        .control(id, Command::Hangup { reason: None }, "user:anna")
        .unwrap();
    let c = next_json(&mut ws).await;
    assert_eq!(c["reason"], "hangup");
    wait_ended(&h).await;
    let v = h
        .vault
        .read_interaction(&h.tenant, id, "test")
        .await
        .unwrap();
    assert_eq!(v.recordings.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcription_behind_the_memory_bound_silences_and_marks_a_gap() {
    let h = harness(ProcessingMode::Anonymise, |c| {
        c.delay_ms = 2_000;
        c.max_hold_ms = 3_000;
    })
    .await;
    let fx = fixture();
    let mut ws = connect(&h, "/v1/ingest/native").await;
    ws.send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    let started = next_json(&mut ws).await;
    let id = InteractionId(started["call_id"].as_str().unwrap().parse().unwrap());
    let mut sub = h.server.hub().subscribe(id).unwrap();
    // 10 s of audio and no transcript at all: the bot "fell behind"
    let mut frame = Vec::new();
    for i in 0..500 {
        native::encode_binary(0, None, &fx.agent[i * 160..(i + 1) * 160], &mut frame);
        ws.send(Message::Binary(frame.clone().into()))
            .await
            .unwrap();
    }
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    next_json(&mut ws).await;
    let mem = h.server.registry().memory_bytes(id).unwrap();
    assert!(mem < 200_000, "memory per call stays bounded: {mem}");
    ws.send(Message::Text(heard_msg("caller", 10_000).into()))
        .await
        .unwrap();
    ws.send(Message::Text(heard_msg("agent", 10_000).into()))
        .await
        .unwrap();
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .unwrap();
    next_json(&mut ws).await;
    wait_ended(&h).await;
    let mut gap = false;
    while let Ok(ev) = sub.try_recv() {
        if let LiveEvent::Timeline(t) = ev {
            if matches!(t.kind, TimelineKind::Gap { .. }) {
                gap = true;
            }
        }
    }
    assert!(gap, "a gap event was recorded");
    assert!(
        h.server
            .metrics()
            .gap_ms
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 6_000
    );
    let v = h
        .vault
        .read_interaction(&h.tenant, id, "test")
        .await
        .unwrap();
    let rec = &v.recordings[0];
    let pcm = h
        .vault
        .read_recording(&h.tenant, v.summary.subject, rec, "test")
        .await
        .unwrap();
    // the agent's speech (0.3–2.7 s) was never checked in time: it is silence in the recording
    assert!(rms_dbfs(&pcm.samples[..3 * 8000]) < -60.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_by_the_idle_timeout() {
    let h = harness(ProcessingMode::Anonymise, |c| {
        c.idle_timeout = Duration::from_millis(600);
    })
    .await;
    let mut silent = connect(&h, "/v1/ingest/native").await;
    silent
        .send(Message::Text(start_native(true).into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut silent).await["type"], "started");
    let c = next_json(&mut silent).await;
    assert_eq!(c["reason"], "idle timeout", "{c}");
    wait_ended(&h).await;
    assert!(h
        .server
        .metrics()
        .render_prometheus()
        .contains("reason=\"idle_timeout\""));
}
