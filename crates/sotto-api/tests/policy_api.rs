//! Issue 6 over HTTP: rules, legal holds, consent, cases and deal timelines, statistics and
//! retention, driven through the real router over loopback with signed-in users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Harness, Resp, Session, Stored};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sotto_access::Role;
use sotto_audit::{Action, Query};
use sotto_core::{Clock, SubjectId, TenantId};
use std::collections::BTreeSet;

const DAY_MS: i64 = 86_400_000;

async fn subject_of(h: &Harness, tenant: &TenantId, s: &Stored) -> SubjectId {
    h.vault
        .interaction_facts(tenant, s.id)
        .await
        .unwrap()
        .unwrap()
        .summary
        .subject
}

async fn call(h: &Harness, s: &Session, m: Method, path: &str, body: Option<Value>) -> Resp {
    h.send(m, path, &Auth::Session(s.clone()), body.as_ref(), &[])
        .await
}

fn show(r: &Resp) -> String {
    format!(
        "{} {}",
        r.status,
        String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
    )
}

/// Uploads raw bytes (an export file) for verification.
async fn verify(h: &Harness, s: &Session, bytes: &[u8]) -> Resp {
    let r = h
        .http
        .post(h.url("/api/v1/cases/verify"))
        .header(
            "cookie",
            format!("{}={}", sotto_api::SESSION_COOKIE, s.cookie),
        )
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_hold_placed_through_the_api_blocks_erasure_with_a_clear_report() {
    let h = common::harness().await;
    let dpo = h.login_role(Role::Dpo).await;
    let held = common::ingest(&h.vault, &h.clock, &h.tenant, "+4521000001", "a1").await;
    let subject = subject_of(&h, &h.tenant, &held).await;

    // MiFID II preset on the subject: five years, reason prefixed.
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/holds",
        Some(json!({"scope": "subject", "target": subject.to_string(),
            "reason": "deal 2026-117", "preset": "mifid_ii"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", show(&r));
    let hold = r.json();
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    assert_eq!(hold["reason"], "MiFID II: deal 2026-117");
    assert_eq!(hold["active"], true);
    let until = hold["until_ms"].as_i64().unwrap();
    let now = h.clock.now_ms();
    assert!(
        until > now + 4 * 365 * DAY_MS && until < now + 6 * 365 * DAY_MS,
        "{until}"
    );
    assert_eq!(hold["created_by"], dpo.actor.as_str());

    // Erasure through the API: the subject is restricted, nothing is deleted, the receipt
    // names the hold.
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/subjects/erase",
        Some(json!({"phone": held.phone})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let receipt = r.json();
    assert_eq!(receipt["key_erased"], false, "{receipt}");
    let items = receipt["held"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{receipt}");
    assert_eq!(items[0]["hold"], hold_id.as_str());
    assert_eq!(items[0]["interaction"], held.id.to_string());
    assert!(items[0]["reason"].as_str().unwrap().starts_with("MiFID II"));
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/interactions/{}/transcript", held.id),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "held data stays: {}", show(&r));

    // Retention's dry run reports nothing to erase while the hold stands.
    let r = call(&h, &dpo, Method::POST, "/api/v1/retention/dry-run", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["dry_run"], true);
    assert_eq!(r.json()["subjects_erased"], 0, "{}", show(&r));

    // Extend to six years: fine; to eight: refused (MiFID II: at most seven).
    let six = h.clock.now_ms() + 6 * 365 * DAY_MS;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        &format!("/api/v1/holds/{hold_id}/extend"),
        Some(json!({"until_ms": six})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["until_ms"], six);
    let r = call(
        &h,
        &dpo,
        Method::POST,
        &format!("/api/v1/holds/{hold_id}/extend"),
        Some(json!({"until_ms": h.clock.now_ms() + 8 * 365 * DAY_MS})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", show(&r));
    assert_eq!(r.code(), "invalid_until");

    // Listing shows it; active only as well.
    let r = call(&h, &dpo, Method::GET, "/api/v1/holds?active=true", None).await;
    assert!(r.json()["holds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == hold_id.as_str()));

    // Released: the next retention run (started through the API) completes the erasure.
    let r = call(
        &h,
        &dpo,
        Method::POST,
        &format!("/api/v1/holds/{hold_id}/release"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["active"], false);
    assert!(r.json()["released_ms"].as_i64().is_some());
    let admin = h.login_role(Role::Admin).await;
    let r = call(&h, &admin, Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["dry_run"], false);
    assert_eq!(r.json()["subjects_erased"], 1, "{}", show(&r));
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/interactions/{}/transcript", held.id),
        None,
    )
    .await;
    assert!(!r.status.is_success(), "erased: {}", show(&r));
    // The run-now request itself is in the audit log under the admin.
    let mine = h
        .entries(&h.tenant, &admin.actor, sotto_audit::Outcome::Ok)
        .await;
    assert!(mine.iter().any(|e| e
        .entry
        .object
        .as_deref()
        .is_some_and(|o| o.starts_with("retention-run:"))));

    // Bad input and other tenants.
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/holds",
        Some(json!({"scope": "planet", "target": subject.to_string(), "reason": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_scope");
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/holds",
        Some(json!({"scope": "interaction", "target": h.mine.id.to_string(), "reason": "  "})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", show(&r));
    assert_eq!(r.code(), "invalid_reason");
    let foreign_subject = subject_of(&h, &h.other, &h.foreign).await;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/holds",
        Some(json!({"scope": "subject", "target": foreign_subject.to_string(), "reason": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", show(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_through_the_api_deletes_the_purpose_s_audio() {
    let h = common::harness().await;
    let dpo = h.login_role(Role::Dpo).await;
    let c = common::ingest(&h.vault, &h.clock, &h.tenant, "+4522000001", "a1").await;
    let subject = subject_of(&h, &h.tenant, &c).await;
    let listen = format!(
        "/api/v1/interactions/{}/recordings/{}/listen",
        c.id, c.recording
    );
    assert_eq!(call(&h, &dpo, Method::GET, &listen, None).await.status, 200);

    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/consents",
        Some(
            json!({"subject_id": subject.to_string(), "purpose": "recording",
            "state": "withdrawn", "source": "ivr"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let rep = r.json();
    assert_eq!(rep["recordings_deleted"], 1, "{rep}");
    assert_eq!(rep["held"].as_array().unwrap().len(), 0);
    // The audio is gone; the transcript (another purpose) stays.
    assert_eq!(
        call(&h, &dpo, Method::GET, &listen, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(h.vault.store().recordings(c.id).await.unwrap().is_empty());
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/interactions/{}/transcript", c.id),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // The history, audited as a read of the subject's data.
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/subjects/{subject}/consents"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let hist = r.json();
    assert_eq!(hist["current"]["recording"]["state"], "withdrawn", "{hist}");
    assert_eq!(hist["current"]["recording"]["source"], "ivr");
    let reads = h
        .entries(&h.tenant, &dpo.actor, sotto_audit::Outcome::Ok)
        .await;
    assert!(reads.iter().any(|e| e.entry.object.as_deref()
        == Some(&format!("consents:{subject}"))
        && e.entry.subject == Some(subject)));

    // Held data of the purpose stays, and the answer says which hold kept it.
    let k = common::ingest(&h.vault, &h.clock, &h.tenant, "+4522000002", "a1").await;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/holds",
        Some(json!({"scope": "interaction", "target": k.id.to_string(), "reason": "dispute 9"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", show(&r));
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/consents",
        Some(
            json!({"interaction_id": k.id.to_string(), "purpose": "recording",
            "state": "withdrawn", "source": "agent:a1"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["recordings_deleted"], 0);
    assert_eq!(r.json()["held"][0]["interaction"], k.id.to_string());
    assert_eq!(h.vault.store().recordings(k.id).await.unwrap().len(), 1);

    // A legal duty is never withdrawn or switched: 409, audited as denied.
    let l = common::ingest(&h.vault, &h.clock, &h.tenant, "+4522000003", "a1").await;
    let ls = subject_of(&h, &h.tenant, &l).await;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/consents",
        Some(
            json!({"subject_id": ls.to_string(), "purpose": "transcript",
            "basis": "legal_obligation", "state": "given", "source": "mifid"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/consents",
        Some(
            json!({"subject_id": ls.to_string(), "purpose": "transcript",
            "state": "withdrawn", "source": "caller"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", show(&r));
    assert_eq!(r.code(), "legal_obligation");
    assert!(!h.vault.store().segments(l.id).await.unwrap().is_empty());

    // Bad input: specific codes.
    for (body, code) in [
        (
            json!({"subject_id": ls.to_string(), "purpose": "marketing", "state": "given", "source": "x"}),
            "invalid_purpose",
        ),
        (
            json!({"subject_id": ls.to_string(), "purpose": "analytics", "state": "maybe", "source": "x"}),
            "invalid_state",
        ),
        (
            json!({"purpose": "analytics", "state": "given", "source": "x"}),
            "subject_required",
        ),
        (
            json!({"subject_id": ls.to_string(), "interaction_id": c.id.to_string(),
                "purpose": "analytics", "state": "given", "source": "x"}),
            "subject_mismatch",
        ),
        (
            json!({"subject_id": ls.to_string(), "purpose": "analytics", "state": "given", "source": ""}),
            "invalid_source",
        ),
    ] {
        let r = call(&h, &dpo, Method::POST, "/api/v1/consents", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", show(&r));
        assert_eq!(r.code(), code, "{}", show(&r));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_of_fifty_interactions_over_four_channels_is_exported_and_its_seal_verified() {
    let h = common::harness().await;
    let dpo = h.login_role(Role::Dpo).await;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/cases",
        Some(json!({"reference": "DEAL-2026-0042"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", show(&r));
    let case = r.json()["id"].as_str().unwrap().to_owned();

    // 14 calls (audio + transcript) linked through the API …
    for i in 0..14 {
        h.clock.advance_ms(60_000);
        let s = common::ingest(
            &h.vault,
            &h.clock,
            &h.tenant,
            &format!("+452300{i:04}"),
            "a1",
        )
        .await;
        let r = call(
            &h,
            &dpo,
            Method::POST,
            &format!("/api/v1/cases/{case}/interactions"),
            Some(json!({"interaction": s.id.to_string()})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    }
    // … and 12 chats, 12 e-mails, 12 SMS ingested into it.
    let mut texts = Vec::new();
    for channel in ["chat", "email", "sms"] {
        for i in 0..12 {
            h.clock.advance_ms(60_000);
            let r = call(
                &h,
                &dpo,
                Method::POST,
                &format!("/api/v1/cases/{case}/messages"),
                Some(json!({
                    "channel": channel,
                    "direction": if i % 2 == 0 { "inbound" } else { "outbound" },
                    "phone": "+4523009999",
                    "lang": "en",
                    "source": "crm",
                    "queue": "trading",
                    "messages": [
                        {"speaker": "caller", "at_ms": 0, "text": format!("order {i}: buy 100 shares at market")},
                        {"speaker": "agent", "at_ms": 30_000, "text": "confirmed, executing now"},
                    ],
                })),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", show(&r));
            texts.push(r.json()["interaction"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(texts.len(), 36);

    let auditor = h.login_role(Role::Auditor).await;
    for format in ["pdf", "xlsx", "json"] {
        let t0 = std::time::Instant::now();
        let r = call(
            &h,
            &dpo,
            Method::GET,
            &format!("/api/v1/cases/{case}/export?format={format}"),
            None,
        )
        .await;
        let took = t0.elapsed();
        assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
        println!(
            "export {format}: {} bytes in {:.3} s wall (debug build)",
            r.body.len(),
            took.as_secs_f64()
        );
        let ctype = r.headers["content-type"].to_str().unwrap();
        let disp = r.headers["content-disposition"].to_str().unwrap();
        assert_eq!(
            disp,
            format!("attachment; filename=\"case-{case}.{format}\"")
        );
        match format {
            "pdf" => {
                assert_eq!(ctype, "application/pdf");
                assert!(r.body.starts_with(b"%PDF-"));
            }
            "xlsx" => {
                assert_eq!(
                    ctype,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                );
                assert!(r.body.starts_with(b"PK"));
            }
            _ => {
                assert_eq!(ctype, "application/json");
                let doc: Value = serde_json::from_slice(&r.body).unwrap();
                let items = doc["interactions"].as_array().unwrap();
                assert_eq!(items.len(), 50);
                let channels: BTreeSet<&str> = items
                    .iter()
                    .map(|i| i["channel"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    channels,
                    ["call", "chat", "email", "sms"].into_iter().collect()
                );
                let starts: Vec<i64> = items
                    .iter()
                    .map(|i| i["started_ms"].as_i64().unwrap())
                    .collect();
                assert!(starts.windows(2).all(|w| w[0] <= w[1]), "ordered");
                // Each recording is listed with the hash of its WAV file.
                let recs: Vec<&Value> = items
                    .iter()
                    .flat_map(|i| i["recordings"].as_array().unwrap())
                    .collect();
                assert_eq!(recs.len(), 14);
                assert!(recs
                    .iter()
                    .all(|r| r["sha256"].as_str().unwrap().len() == 64));
                assert!(!doc["audit_trail"].as_array().unwrap().is_empty());
            }
        }
        // The seal: the header is the hash of the bytes, and the audit log has it.
        let sha = hex::encode(Sha256::digest(&r.body));
        let seal = r.headers["x-sotto-seal"].to_str().unwrap();
        assert_eq!(seal, format!("sha256:{sha}"));
        let seq: u64 = r.headers["x-sotto-audit-seq"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let exports = h
            .audit
            .query(
                &h.tenant,
                &Query {
                    action: Some(Action::Export),
                    limit: Some(100_000),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let entry = exports
            .iter()
            .find(|e| e.entry.purpose.as_deref() == Some(seal))
            .expect("the export's hash is in the audit log");
        assert_eq!(entry.seq, seq);
        assert_eq!(entry.entry.object.as_deref(), Some(case.as_str()));
        assert_eq!(entry.entry.actor, dpo.actor);

        // Verified through the API (by an auditor) …
        let v = verify(&h, &auditor, &r.body).await;
        assert_eq!(v.status, StatusCode::OK, "{}", show(&v));
        let v = v.json();
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["sha256"], sha.as_str());
        assert_eq!(v["sealed"]["seq"], seq);
        assert_eq!(v["sealed"]["case"], case.as_str());
        // … and one changed byte is not sealed.
        let mut bad = r.body.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        let v = verify(&h, &auditor, &bad).await.json();
        assert_eq!(v["ok"], false, "{v}");
        assert!(v["sealed"].is_null());
    }

    // Another tenant's auditor cannot find this tenant's seal.
    let stranger = common::create_user(
        &h.access,
        &h.other,
        "other-auditor",
        Role::Auditor,
        None,
        None,
    )
    .await;
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/cases/{case}/export?format=pdf"),
        None,
    )
    .await;
    let s = h.login(&stranger).await;
    let v = verify(&h, &s, &r.body).await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.json()["ok"], false);
    assert_eq!(
        call(
            &h,
            &s,
            Method::GET,
            &format!("/api/v1/cases/{case}/export?format=pdf"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN,
        "an auditor may not export"
    );

    // Bad input.
    let r = call(
        &h,
        &dpo,
        Method::GET,
        &format!("/api/v1/cases/{case}/export?format=doc"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_format");
    let r = call(
        &h,
        &dpo,
        Method::POST,
        &format!("/api/v1/cases/{case}/messages"),
        Some(json!({"channel": "call", "phone": "+4523009999",
            "messages": [{"speaker": "caller", "at_ms": 0, "text": "hi"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_channel");
    let r = call(
        &h,
        &dpo,
        Method::POST,
        &format!("/api/v1/cases/{case}/messages"),
        Some(json!({"channel": "sms", "phone": "+4523009999", "messages": []})),
    )
    .await;
    assert_eq!(r.code(), "invalid_messages");
    let r = verify(&h, &auditor, b"").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "empty_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_through_the_api_carry_no_personal_content() {
    let h = common::harness().await;
    let dpo = h.login_role(Role::Dpo).await;
    let r = call(
        &h,
        &dpo,
        Method::POST,
        "/api/v1/cases",
        Some(json!({"reference": "stats-1"})),
    )
    .await;
    let case = r.json()["id"].as_str().unwrap().to_owned();
    let phone = "+4524681357";
    let email = "karen.jensen@example.dk";
    let mut ids = Vec::new();
    for (i, channel) in ["chat", "email", "sms", "chat"].iter().enumerate() {
        let r = call(
            &h,
            &dpo,
            Method::POST,
            &format!("/api/v1/cases/{case}/messages"),
            Some(json!({
                "channel": channel, "phone": phone, "email": email, "lang": "en",
                "queue": "support",
                "messages": [
                    {"speaker": "bot", "at_ms": 0, "text": "Hello, how can I help?"},
                    {"speaker": "caller", "at_ms": 2000, "text": format!(
                        "My name is Karen Jensen, mail {email}, call me on {phone} ({i})")},
                    {"speaker": "agent", "at_ms": 9000, "text": "Thanks Karen, I will call you back"},
                ],
            })),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", show(&r));
        ids.push(r.json()["interaction"].as_str().unwrap().to_owned());
        ids.push(r.json()["subject"].as_str().unwrap().to_owned());
    }

    let analyst = h.login_role(Role::Analyst).await;
    let r = call(
        &h,
        &analyst,
        Method::GET,
        "/api/v1/stats?from=2026-01-01&to=2026-01-31&queue=support",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let s = r.json();
    assert_eq!(s["total"]["interactions"], 4, "{s}");
    assert_eq!(s["total"]["by_channel"]["chat"], 2, "{s}");
    assert_eq!(s["total"]["bot_interactions"], 4, "{s}");
    assert_eq!(s["total"]["handovers"], 4, "{s}");
    let redactions = s["total"]["redactions"].as_object().unwrap();
    assert!(!redactions.is_empty(), "{s}");
    let text = String::from_utf8_lossy(&r.body).to_lowercase();
    for needle in [
        "karen",
        "jensen",
        "example.dk",
        "24681357",
        "4524681357",
        "help",
        "call me",
    ] {
        assert!(
            !text.contains(needle),
            "statistics contain `{needle}`: {text}"
        );
    }
    for id in &ids {
        assert!(
            !text.contains(id.as_str()),
            "statistics contain an id: {text}"
        );
    }
    // Another queue and another range are empty.
    let r = call(
        &h,
        &analyst,
        Method::GET,
        "/api/v1/stats?from=2026-01-01&to=2026-01-31&queue=sales",
        None,
    )
    .await;
    assert_eq!(r.json()["total"]["interactions"], 0);
    let r = call(
        &h,
        &analyst,
        Method::GET,
        "/api/v1/stats?from=2025-01-01&to=2025-12-31",
        None,
    )
    .await;
    assert_eq!(r.json()["total"]["interactions"], 0);

    // Bad input.
    for (q, code) in [
        ("from=2026-02-30&to=2026-03-01", "invalid_date"),
        ("from=2026-03-01&to=2026-02-01", "invalid_range"),
        ("from=1990-01-01&to=2026-01-01", "invalid_range"),
    ] {
        let r = call(
            &h,
            &analyst,
            Method::GET,
            &format!("/api/v1/stats?{q}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert_eq!(r.code(), code, "{q}");
    }
    // An analyst reaches nothing else of issue 6.
    for (m, p) in [
        (Method::GET, "/api/v1/holds".to_owned()),
        (Method::GET, format!("/api/v1/cases/{case}/export")),
        (Method::POST, "/api/v1/retention/run".to_owned()),
    ] {
        let r = call(&h, &analyst, m, &p, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_mode_rules_are_set_resolved_and_removed() {
    let h = common::harness().await;
    let dpo = h.login_role(Role::Dpo).await;
    let r = call(
        &h,
        &dpo,
        Method::PUT,
        "/api/v1/policy/rules",
        Some(json!({"scope": "queue", "key": "sales", "mode": "minimal", "retention_days": 14})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    assert_eq!(r.json()["retention_days"], 14);
    let r = call(
        &h,
        &dpo,
        Method::PUT,
        "/api/v1/policy/rules",
        Some(json!({"scope": "tenant", "mode": "anonymise"})),
    )
    .await;
    assert_eq!(r.json()["retention_days"], 30, "{}", show(&r));

    let r = call(
        &h,
        &dpo,
        Method::GET,
        "/api/v1/policy/effective?queue=sales",
        None,
    )
    .await;
    let e = r.json();
    assert_eq!(e["mode"], "minimal", "{e}");
    assert_eq!(e["matched_scope"], "queue");
    assert_eq!(e["matched_key"], "sales");
    let r = call(
        &h,
        &dpo,
        Method::GET,
        "/api/v1/policy/effective?queue=other",
        None,
    )
    .await;
    assert_eq!(r.json()["mode"], "anonymise");
    assert_eq!(r.json()["matched_scope"], "tenant");

    let r = call(&h, &dpo, Method::GET, "/api/v1/policy/rules", None).await;
    assert_eq!(r.json()["rules"].as_array().unwrap().len(), 2);
    let r = call(
        &h,
        &dpo,
        Method::DELETE,
        "/api/v1/policy/rules?scope=queue&key=sales",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", show(&r));
    let r = call(
        &h,
        &dpo,
        Method::DELETE,
        "/api/v1/policy/rules?scope=queue&key=sales",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "rule_not_found");
    let r = call(
        &h,
        &dpo,
        Method::GET,
        "/api/v1/policy/effective?queue=sales",
        None,
    )
    .await;
    assert_eq!(r.json()["mode"], "anonymise");

    // Each change is in the audit log under the DPO.
    let changes = h
        .entries(&h.tenant, &dpo.actor, sotto_audit::Outcome::Ok)
        .await
        .into_iter()
        .filter(|e| e.entry.action == Action::PolicyChange)
        .count();
    assert!(changes >= 3, "{changes}");

    for (body, code) in [
        (
            json!({"scope": "queue", "key": "x", "mode": "keep"}),
            "invalid_mode",
        ),
        (
            json!({"scope": "desk", "key": "x", "mode": "record"}),
            "invalid_scope",
        ),
        (json!({"scope": "queue", "mode": "record"}), "invalid_key"),
        (
            json!({"scope": "queue", "key": "x", "mode": "record", "basis": "whim"}),
            "invalid_basis",
        ),
        (
            json!({"scope": "queue", "key": "x", "mode": "record", "retention_days": 100000}),
            "invalid_retention_days",
        ),
        (
            json!({"scope": "tenant", "mode": "record", "webhook_fields": ["caller_number"]}),
            "invalid_webhook_field",
        ),
    ] {
        let r = call(&h, &dpo, Method::PUT, "/api/v1/policy/rules", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", show(&r));
        assert_eq!(r.code(), code, "{}", show(&r));
    }
}

#[tokio::test]
async fn without_the_policy_layer_the_endpoints_say_so() {
    let h = common::harness().await;
    let state = sotto_api::ApiState::new(
        h.vault.clone(),
        h.access.clone(),
        std::sync::Arc::new(h.clock.clone()),
        sotto_api::ApiSettings::new(h.tenant.clone()),
    );
    assert!(state.policy_state().is_none());
    assert!(state.retention_engine().is_none());
    let router = sotto_api::router(state).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = sotto_api::serve(listener, router, None, std::future::pending()).await;
    });
    let dpo = h.login_role(Role::Dpo).await;
    let r = h
        .http
        .get(format!("http://{addr}/api/v1/holds"))
        .header(
            "cookie",
            format!("{}={}", sotto_api::SESSION_COOKIE, dpo.cookie),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "policies_unavailable");
    server.abort();
}
