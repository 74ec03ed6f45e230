//! Attacks on the API, each refused with its documented code AND recorded in the audit log:
//! TOTP replay, password brute force (lockout), session fixation, CSRF, X-Forwarded-For
//! spoofing against the allowlist, a token beyond its scope, access across tenants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{session_of, Auth, Options, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sotto_access::{Permission, Role};
use sotto_audit::{Action, Outcome};
use sotto_core::Clock;

fn login_failures(rs: &[sotto_audit::Record]) -> usize {
    rs.iter()
        .filter(|r| r.entry.action == Action::LoginFailure)
        .count()
}

#[tokio::test]
async fn totp_replay_is_refused_and_audited() {
    let h = common::harness().await;
    let u = &h.users[&Role::Dpo];
    let actor = format!("user:{}", u.id);
    h.next_step();
    let code = h.code_now(u);
    let r = h.login_raw(u, &code, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    // Same code again, still inside its step.
    let r = h.login_raw(u, &code, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "totp_replay");
    let denied = h.entries(&h.tenant, &actor, Outcome::Denied).await;
    assert_eq!(login_failures(&denied), 1, "{denied:?}");
    assert_eq!(denied[0].entry.from.as_deref(), Some("127.0.0.1"));
    // The previous step's code (one step of drift is allowed) is refused too: it is earlier.
    h.next_step();
    let earlier = sotto_access::totp::code_at(&u.totp_secret, h.clock.now_ms() - 60_000);
    let r = h.login_raw(u, &earlier, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_brute_force_locks_the_account_and_is_audited() {
    let h = common::harness().await;
    let u = &h.users[&Role::Admin];
    let actor = format!("user:{}", u.id);
    for i in 0..5 {
        let body =
            json!({"username": u.username, "password": format!("guess-{i}"), "totp": "000000"});
        let r = h
            .send(
                Method::POST,
                "/api/v1/auth/login",
                &Auth::None,
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(r.code(), "invalid_credentials");
    }
    // Locked: even the right password and code are refused, with Retry-After.
    h.next_step();
    let r = h.login_raw(u, &h.code_now(u), &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "locked_out");
    assert!(r.headers.get("retry-after").is_some());
    let denied = h.entries(&h.tenant, &actor, Outcome::Denied).await;
    assert_eq!(
        login_failures(&denied),
        6,
        "five guesses and the locked attempt"
    );
    for e in &denied {
        let text = serde_json::to_string(&e.entry).unwrap();
        assert!(!text.contains("guess-") && !text.contains(PASSWORD));
    }
    // The lock ends.
    h.clock.advance_ms(61 * 60_000);
    let r = h.login_raw(u, &h.code_now(u), &[]).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[tokio::test]
async fn a_session_cookie_planted_before_login_never_becomes_authenticated() {
    let h = common::harness().await;
    let u = &h.users[&Role::Supervisor];
    let planted = "attacker-chosen-session-value";
    let cookie = format!("__Host-sotto_session={planted}");
    h.next_step();
    let r = h.login_raw(u, &h.code_now(u), &[("cookie", &cookie)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let s = session_of(&r);
    assert_ne!(s.cookie, planted, "login must issue a new secret");
    // The planted value is still nobody.
    let r = h
        .send(
            Method::GET,
            "/api/v1/auth/whoami",
            &Auth::CookieOnly(planted.into()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "session_unknown");
    let denied = h.entries(&h.tenant, "anonymous", Outcome::Denied).await;
    assert!(
        denied.iter().any(|e| e
            .entry
            .object
            .as_deref()
            .is_some_and(|o| o.ends_with("#session_unknown"))),
        "{denied:?}"
    );
    // And the issued one works.
    let r = h
        .send(
            Method::GET,
            "/api/v1/auth/whoami",
            &Auth::Session(s),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn state_changing_cookie_requests_need_the_csrf_token() {
    let h = common::harness().await;
    let s = h.login_role(Role::Admin).await;
    let missing = h
        .send(
            Method::POST,
            "/api/v1/keys/rotate",
            &Auth::CookieOnly(s.cookie.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.code(), "csrf_mismatch");
    let wrong = h
        .send(
            Method::POST,
            "/api/v1/keys/rotate",
            &Auth::CookieOnly(s.cookie.clone()),
            None,
            &[("x-csrf-token", "0123456789abcdef")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.code(), "csrf_mismatch");
    // Both refusals are recorded once each (by sotto-access, which checks the token).
    let denied = h.entries(&h.tenant, &s.actor, Outcome::Denied).await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(denied.iter().all(|e| e
        .entry
        .object
        .as_deref()
        .is_some_and(|o| o.starts_with("session:"))));
    // Nothing was rotated; with the token it is.
    let ok = h
        .send(
            Method::POST,
            "/api/v1/keys/rotate",
            &Auth::Session(s.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&ok.body)
    );
    // Safe methods need no token.
    let r = h
        .send(
            Method::GET,
            "/api/v1/users",
            &Auth::CookieOnly(s.cookie.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_does_not_pass_the_allowlist() {
    let h = common::harness().await;
    h.access
        .allowlist_add(&h.tenant, None, "203.0.113.0/24".parse().unwrap(), "test")
        .await
        .unwrap();
    let u = &h.users[&Role::Dpo];
    h.next_step();
    let r = h
        .login_raw(u, &h.code_now(u), &[("x-forwarded-for", "203.0.113.7")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "ip_not_allowed");
    let denied = h.all_entries(&h.tenant).await;
    let refusal = denied
        .iter()
        .rev()
        .find(|e| e.entry.outcome == Outcome::Denied)
        .expect("the refusal is audited");
    assert_eq!(refusal.entry.from.as_deref(), Some("127.0.0.1"));

    // Behind a trusted proxy (this loopback peer), the forwarded address is believed.
    let h2 = common::harness_with(Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Options::default()
    })
    .await;
    h2.access
        .allowlist_add(&h2.tenant, None, "203.0.113.0/24".parse().unwrap(), "test")
        .await
        .unwrap();
    let u2 = &h2.users[&Role::Dpo];
    h2.next_step();
    let r = h2
        .login_raw(
            u2,
            &h2.code_now(u2),
            &[("x-forwarded-for", "198.51.100.1, 203.0.113.7")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // A spoofed left-most hop does not help a client outside the list.
    h2.next_step();
    let r = h2
        .login_raw(
            u2,
            &h2.code_now(u2),
            &[("x-forwarded-for", "203.0.113.7, 198.51.100.1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_cannot_go_beyond_its_scopes() {
    let h = common::harness().await;
    let (id, secret) = h
        .access
        .create_token(
            &h.tenant,
            "crm",
            &[Permission::InteractionList],
            None,
            "test",
        )
        .await
        .unwrap();
    let secret = sotto_access::ExposeSecret::expose_secret(&secret).to_owned();
    let auth = Auth::Bearer(secret);
    let r = h
        .send(Method::GET, "/api/v1/interactions", &auth, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["interactions"].as_array().unwrap().len(), 2);
    let path = format!("/api/v1/interactions/{}/transcript", h.mine.id);
    let r = h.send(Method::GET, &path, &auth, None, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    // Bearer requests need no CSRF token, but still no permission they lack.
    let r = h
        .send(Method::POST, "/api/v1/keys/rotate", &auth, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let denied = h
        .entries(&h.tenant, &format!("token:{id}"), Outcome::Denied)
        .await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].entry.action, Action::TranscriptRead);
    // Revoked: refused as such.
    h.access.revoke_token(&h.tenant, id, "test").await.unwrap();
    let r = h
        .send(Method::GET, "/api/v1/interactions", &auth, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "token_revoked");
}

#[tokio::test]
async fn another_tenant_s_objects_are_not_found_and_the_attempt_is_audited() {
    let h = common::harness().await;
    let s = h.login_role(Role::Dpo).await;
    let id = h.foreign.id;
    for path in [
        format!("/api/v1/interactions/{id}"),
        format!("/api/v1/interactions/{id}/transcript"),
        format!(
            "/api/v1/interactions/{id}/recordings/{}/listen",
            h.foreign.recording
        ),
    ] {
        let r = h
            .send(Method::GET, &path, &Auth::Session(s.clone()), None, &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.code(), "not_found");
    }
    // Subject export by the foreign caller's number: not found here.
    let r = h
        .send(
            Method::POST,
            "/api/v1/subjects/export",
            &Auth::Session(s.clone()),
            Some(&json!({"phone": h.foreign.phone})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let denied = h.entries(&h.tenant, &s.actor, Outcome::Denied).await;
    assert_eq!(
        denied
            .iter()
            .filter(|e| e.entry.object.as_deref() == Some(id.to_string().as_str()))
            .count(),
        3,
        "{denied:?}"
    );
    // Nothing was recorded in (or read from) the other tenant.
    let theirs = h.all_entries(&h.other).await;
    assert!(theirs.iter().all(|e| e.entry.actor != s.actor));
}

#[tokio::test]
async fn allowed_reads_record_actor_address_and_purpose() {
    let h = common::harness().await;
    let s = h.login_role(Role::Agent).await;
    let path = format!("/api/v1/interactions/{}/transcript", h.mine.id);
    let r = h
        .send(
            Method::GET,
            &path,
            &Auth::Session(s.clone()),
            None,
            &[("x-sotto-purpose", "ticket-4711")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["segments"][0]["text"].as_str().is_some());
    let ok = h.entries(&h.tenant, &s.actor, Outcome::Ok).await;
    let e = ok
        .iter()
        .find(|e| e.entry.action == Action::TranscriptRead)
        .unwrap();
    assert_eq!(e.entry.from.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.entry.purpose.as_deref(), Some("ticket-4711"));
    assert_eq!(e.entry.object, Some(h.mine.id.to_string()));
    // Listening streams inline; the agent may not download.
    let listen = format!(
        "/api/v1/interactions/{}/recordings/{}/listen",
        h.mine.id, h.mine.recording
    );
    let r = h
        .send(Method::GET, &listen, &Auth::Session(s.clone()), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(&r.body[..4], b"RIFF");
    let r = h
        .send(
            Method::GET,
            &listen.replace("/listen", "/download"),
            &Auth::Session(s),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rate_limit_and_security_headers() {
    let h = common::harness_with(Options {
        rate_per_minute: 60,
        rate_burst: 3,
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let r = h
            .send(Method::GET, "/healthz", &Auth::None, None, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age="));
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
    }
    let r = h
        .send(Method::GET, "/healthz", &Auth::None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "rate_limited");
    h.clock.advance_ms(1_000);
    let r = h
        .send(Method::GET, "/healthz", &Auth::None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Unknown paths, oversized and malformed bodies get the same JSON error shape.
    h.clock.advance_ms(60_000);
    let r = h
        .send(Method::GET, "/api/v1/nope", &Auth::None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "no_such_endpoint");
    let big = json!({"username": "x".repeat(2 * 1024 * 1024), "password": "p", "totp": "1"});
    let r = h
        .send(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(&big),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
    let r = h
        .send(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(&json!({"username": 5})),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.code(), "invalid");
    assert!(!String::from_utf8_lossy(&r.body).contains("username"));
}

#[tokio::test]
async fn billing_sees_caller_numbers_audited_and_nobody_else_does() {
    let h = common::harness().await;
    let s = h.login_role(Role::Billing).await;
    let r = h
        .send(
            Method::GET,
            "/api/v1/interactions?caller=true",
            &Auth::Session(s.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.json()["interactions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert!(list
        .iter()
        .any(|i| i["caller"].as_str() == Some(h.mine.phone.as_str())));
    let ok = h.entries(&h.tenant, &s.actor, Outcome::Ok).await;
    assert_eq!(
        ok.iter()
            .filter(|e| e
                .entry
                .object
                .as_deref()
                .is_some_and(|o| o.ends_with("#caller")))
            .count(),
        2
    );
    // Without the flag there are no numbers; an agent asking for them is refused.
    let r = h
        .send(
            Method::GET,
            "/api/v1/interactions",
            &Auth::Session(s),
            None,
            &[],
        )
        .await;
    assert!(r.json()["interactions"][0].get("caller").is_none());
    let a = h.login_role(Role::Agent).await;
    let r = h
        .send(
            Method::GET,
            "/api/v1/interactions?caller=true",
            &Auth::Session(a.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.entries(&h.tenant, &a.actor, Outcome::Denied).await.len(),
        1
    );
}
