//! Deal timeline export (≥ 50 interactions over 4 channels, < 2 s, hash verifiable from the
//! audit log), webhooks against a loopback receiver, pseudonymised statistics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sotto_core::{Channel, Direction, Lang, ProcessingMode, SecretBytes, Speaker};
use sotto_policy::webhook::verify_signature;
use sotto_policy::{
    CaseExportFormat, Routing, StatsQuery, TextInteraction, WebhookConfig, WebhookEndpoint,
    Webhooks,
};
use sotto_vault::Identifier;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[tokio::test]
async fn a_deal_timeline_of_52_interactions_exports_sealed_and_verifies() {
    let h = harness(ProcessingMode::Record).await;
    let case = h
        .policies
        .open_case(&h.tenant, "DEAL-2026-0042 Ærø/Söderström", "user:advisor")
        .await
        .unwrap();
    let phone = "+4520300000";
    let mut channels = Vec::new();
    for i in 0..52i64 {
        h.clock.set(T0 + i * 3_600_000);
        let channel =
            [Channel::Call, Channel::Chat, Channel::Email, Channel::Sms][(i % 4) as usize];
        channels.push(channel);
        let r = if channel == Channel::Call {
            let mut req = call(
                &h,
                phone,
                vec![
                    seg(
                        Speaker::Caller,
                        0,
                        2000,
                        "Jeg vil gerne købe 100 aktier i Ørsted",
                    ),
                    seg(Speaker::Agent, 2000, 4000, "Godt, ordren er noteret"),
                ],
                true,
            );
            req.case_id = Some(case.id);
            req.lang = Some(Lang::Da);
            h.policies.ingest(req, Routing::default()).await.unwrap()
        } else {
            h.policies
                .ingest_text(
                    TextInteraction {
                        tenant: h.tenant.clone(),
                        channel,
                        direction: if i % 3 == 0 {
                            Direction::Outbound
                        } else {
                            Direction::Inbound
                        },
                        started_ms: None,
                        identifiers: vec![Identifier::phone(phone, "DK").unwrap()],
                        subject: None,
                        case_id: Some(case.id),
                        lang: Some(Lang::Da),
                        messages: vec![
                            (
                                Speaker::Caller,
                                0,
                                format!("Besked {i}: hvad er kursen på Ørsted i dag?"),
                            ),
                            (
                                Speaker::Agent,
                                60_000,
                                "Kursen er 412 kr. Vil du handle?".into(),
                            ),
                        ],
                        source: "crm".into(),
                    },
                    Routing::default(),
                )
                .await
                .unwrap()
        };
        assert_eq!(r.segments, 2);
    }
    let out = h.dir.path().join("exports");
    std::fs::create_dir_all(&out).unwrap();
    for format in [
        CaseExportFormat::Json,
        CaseExportFormat::Xlsx,
        CaseExportFormat::Pdf,
    ] {
        let path = out.join(format!("case.{}", format.extension()));
        let t = Instant::now();
        let rc = h
            .policies
            .export_case(&h.tenant, case.id, format, &path, "user:compliance")
            .await
            .unwrap();
        let took = t.elapsed();
        assert!(took.as_secs_f64() < 2.0, "{format:?} export took {took:?}");
        eprintln!(
            "{format:?}: {} interactions, {} recordings, {:?}, {} bytes",
            rc.interactions,
            rc.recordings,
            took,
            std::fs::metadata(&path).unwrap().len()
        );
        assert_eq!(rc.interactions, 52);
        assert_eq!(rc.recordings, 13);
        // The hash is in the audit log, as an export of this case.
        let rec = h.vault().audit().get(rc.audit_seq).await.unwrap().unwrap();
        assert_eq!(
            rec.entry.object.as_deref(),
            Some(case.id.to_string().as_str())
        );
        assert_eq!(rec.entry.purpose, Some(format!("sha256:{}", rc.sha256)));
        let v = h.policies.verify_case_export(&path).await.unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!(v.sealed.unwrap().case, case.id.to_string());
        if format == CaseExportFormat::Json {
            assert_eq!(rc.audio_files.len(), 13);
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let items = doc["interactions"].as_array().unwrap();
            let starts: Vec<i64> = items
                .iter()
                .map(|i| i["started_ms"].as_i64().unwrap())
                .collect();
            assert!(starts.windows(2).all(|w| w[0] <= w[1]), "ordered timeline");
            let chans: std::collections::BTreeSet<&str> = items
                .iter()
                .map(|i| i["channel"].as_str().unwrap())
                .collect();
            assert_eq!(chans.len(), 4);
            assert!(
                doc["audit_trail"].as_array().unwrap().len() >= 52,
                "ingests are in the trail"
            );
            assert!(items[0]["segments"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Ørsted"));
            // Tampering with one audio file is caught.
            std::fs::write(&rc.audio_files[0], b"RIFF tampered").unwrap();
            let v = h.policies.verify_case_export(&path).await.unwrap();
            assert!(!v.ok && v.bad_audio.len() == 1);
        }
        if format == CaseExportFormat::Pdf {
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(b"%PDF-1.4"));
            // Nordic letters in WinAnsi (Æ = 0xC6, ø = 0xF8).
            assert!(bytes.windows(3).any(|w| w == b"\xc6r\xf8"));
        }
        // A changed byte breaks the seal.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(!h.policies.verify_case_export(&path).await.unwrap().ok);
    }
}

#[derive(Default)]
struct Received {
    calls: u32,
    bodies: Vec<(String, String, Vec<u8>)>, // event, signature, body
}

#[tokio::test]
async fn webhooks_are_signed_retried_with_backoff_and_carry_ids_only() {
    use axum::{
        body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router,
    };
    let got = Arc::new(Mutex::new(Received::default()));
    async fn hook(
        State(got): State<Arc<Mutex<Received>>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let mut g = got.lock().unwrap();
        g.calls += 1;
        if g.calls == 1 {
            return StatusCode::SERVICE_UNAVAILABLE; // the first attempt fails
        }
        let h = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        g.bodies
            .push((h("sotto-event"), h("sotto-signature"), body.to_vec()));
        StatusCode::NO_CONTENT
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });

    let h = harness(ProcessingMode::Record).await;
    let secret = b"whsec-test".to_vec();
    let hooks = Webhooks::new(
        h.vault().store().clone(),
        WebhookConfig {
            endpoints: vec![WebhookEndpoint {
                name: "crm".into(),
                tenant: None,
                url: format!("http://{addr}/hook"),
                secret: SecretBytes::new(secret.clone()),
                events: vec![],
                fields: None,
            }],
            max_attempts: 3,
            base_backoff_ms: 60_000,
            ..Default::default()
        },
        Arc::new(h.clock.clone()),
    )
    .unwrap();
    let policies = h.policies.clone().with_webhooks(hooks.clone());
    // The tenant allows `channel` as an extra field; `duration_ms` is not allowed.
    policies
        .set_rule(
            &h.tenant,
            sotto_store::RuleScope::Tenant,
            "",
            ProcessingMode::Record,
            Some(1),
            None,
            vec!["channel".into()],
            "dpo",
        )
        .await
        .unwrap();
    let r = policies
        .ingest(
            call(
                &h,
                "+4520777777",
                vec![seg(Speaker::Caller, 0, 1000, "ring til mig på 20 77 77 77")],
                true,
            ),
            Routing::default(),
        )
        .await
        .unwrap();

    // First pass: both events (call.completed, recording.available) fail once → retried.
    let rep = hooks.deliver_due().await.unwrap();
    assert_eq!((rep.delivered, rep.retried), (1, 1), "{rep:?}");
    // Nothing is due before the backoff has passed.
    h.clock.advance_ms(59_000);
    assert_eq!(hooks.deliver_due().await.unwrap().delivered, 0);
    h.clock.advance_ms(1_000);
    assert_eq!(hooks.deliver_due().await.unwrap().delivered, 1);

    let bodies = got.lock().unwrap().bodies.clone();
    assert_eq!(bodies.len(), 2);
    let now_s = h.now() / 1000;
    for (event, sig, body) in &bodies {
        assert!(
            verify_signature(&secret, sig, body, now_s, 300),
            "signature of {event}"
        );
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(
            !text.contains("20 77") && !text.contains("4520777777"),
            "no personal data: {text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["data"]["interaction"], r.interaction.to_string());
        assert_eq!(v["data"]["channel"], "call", "allowed extra field");
        assert!(
            v["data"].get("duration_ms").is_none(),
            "field not allowed by the tenant"
        );
    }
    let events: Vec<&str> = bodies.iter().map(|b| b.0.as_str()).collect();
    assert!(events.contains(&"call.completed") && events.contains(&"recording.available"));

    // Retention applied and subject erased go out too.
    h.clock.set(T0 + 2 * 86_400_000);
    let rep = sotto_policy::RetentionEngine::new(policies.clone())
        .run(h.now(), false)
        .await
        .unwrap();
    assert_eq!(rep.subjects_erased, 1);
    assert_eq!(hooks.deliver_due().await.unwrap().delivered, 2);
    let g = got.lock().unwrap();
    let events: Vec<&str> = g.bodies.iter().map(|b| b.0.as_str()).collect();
    assert!(
        events.contains(&"retention.applied") && events.contains(&"subject.erased"),
        "{events:?}"
    );
}

#[tokio::test]
async fn webhook_delivery_gives_up_after_max_attempts() {
    let h = harness(ProcessingMode::Record).await;
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hooks = Webhooks::new(
        h.vault().store().clone(),
        WebhookConfig {
            endpoints: vec![WebhookEndpoint {
                name: "down".into(),
                tenant: Some(h.tenant.clone()),
                url: format!("http://127.0.0.1:{port}/x"),
                secret: SecretBytes::new(b"s".to_vec()),
                events: vec![sotto_policy::WebhookEvent::CallCompleted],
                fields: None,
            }],
            max_attempts: 3,
            base_backoff_ms: 1_000,
            ..Default::default()
        },
        Arc::new(h.clock.clone()),
    )
    .unwrap();
    let policies = h.policies.clone().with_webhooks(hooks.clone());
    policies
        .ingest(
            call(
                &h,
                "+4520888888",
                vec![seg(Speaker::Caller, 0, 1000, "hej")],
                false,
            ),
            Routing::default(),
        )
        .await
        .unwrap();
    let mut failed = 0;
    for _ in 0..5 {
        let r = hooks.deliver_due().await.unwrap();
        failed += r.failed;
        h.clock.advance_ms(10_000);
    }
    assert_eq!(failed, 1);
}

#[tokio::test]
async fn statistics_are_aggregates_per_day_and_queue() {
    let h = harness(ProcessingMode::Anonymise).await;
    let routing = |q: &str| Routing {
        queue: Some(q.into()),
        ..Default::default()
    };
    // Two bot calls handed over to an agent, one bot-only, one agent-only on day 0.
    for (q, segs) in [
        (
            "sales",
            vec![
                (Speaker::Bot, "Velkommen"),
                (Speaker::Agent, "Hej, det er Anna"),
            ],
        ),
        (
            "sales",
            vec![
                (Speaker::Bot, "Velkommen"),
                (Speaker::Caller, "Min e-mail er a@b.dk"),
                (Speaker::Agent, "Tak"),
            ],
        ),
        ("sales", vec![(Speaker::Bot, "Åbningstider: 8-16")]),
        ("support", vec![(Speaker::Agent, "Support, goddag")]),
    ] {
        let s = segs
            .iter()
            .enumerate()
            .map(|(i, (sp, t))| seg(*sp, i as i64 * 1000, i as i64 * 1000 + 900, t))
            .collect();
        h.policies
            .ingest(call(&h, "+4520999999", s, false), routing(q))
            .await
            .unwrap();
    }
    h.clock.advance_ms(86_400_000);
    h.policies
        .ingest(
            call(
                &h,
                "+4520999998",
                vec![seg(Speaker::Bot, 0, 500, "Hej")],
                false,
            ),
            routing("sales"),
        )
        .await
        .unwrap();

    let st = h
        .policies
        .stats(&StatsQuery {
            tenant: h.tenant.clone(),
            from_ms: T0,
            to_ms: T0 + 2 * 86_400_000,
            queue: None,
        })
        .await
        .unwrap();
    assert_eq!(st.total.interactions, 5);
    assert_eq!(st.total.bot_interactions, 4);
    assert_eq!(st.total.handovers, 2);
    assert_eq!(st.total.handover_rate, Some(0.5));
    assert_eq!(st.total.redactions.get("email"), Some(&1));
    assert_eq!(st.days.len(), 3, "day 0 sales, day 0 support, day 1 sales");
    let d0 = &st.days[0];
    assert_eq!(
        (d0.day.as_str(), d0.queue.as_str(), d0.interactions),
        ("2026-01-01", "sales", 3)
    );
    assert_eq!(d0.by_channel.get("call"), Some(&3));
    // Counting twice changes nothing; the numbers survive retention.
    let again = h
        .policies
        .stats(&StatsQuery {
            tenant: h.tenant.clone(),
            from_ms: T0,
            to_ms: T0 + 2 * 86_400_000,
            queue: Some("support".into()),
        })
        .await
        .unwrap();
    assert_eq!(again.total.interactions, 1);
    h.clock.set(T0 + 400 * 86_400_000);
    sotto_policy::RetentionEngine::new(h.policies.clone())
        .run(h.now(), false)
        .await
        .unwrap();
    let later = h
        .policies
        .stats(&StatsQuery {
            tenant: h.tenant.clone(),
            from_ms: T0,
            to_ms: T0 + 2 * 86_400_000,
            queue: None,
        })
        .await
        .unwrap();
    assert_eq!(later.total, st.total);
    let json = serde_json::to_string(&later).unwrap();
    assert!(!json.contains("a@b.dk") && !json.contains("4520999999"));
}
