#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Login: password + TOTP, drift, replay, recovery codes, lockout with backoff, and what the
//! audit log records (never a password, code or typed username).

mod common;

use common::*;
use sotto_access::{totp, AccessConfig, AccessError, ExposeSecret, Role, SecretString};
use sotto_audit::{Action, Outcome};
use sotto_core::Clock;

#[tokio::test]
async fn login_with_password_and_totp_then_replay_is_refused() {
    let e = env().await;
    let u = e.user("anna", &[Role::Agent]).await;
    assert!(u
        .enrolment
        .otpauth_uri
        .expose_secret()
        .starts_with("otpauth://totp/"));
    assert!(u.enrolment.qr_svg.contains("<svg"));
    assert_eq!(u.enrolment.recovery_codes.len(), 10);
    assert!(
        u.secret.len() >= 20,
        "TOTP secret must have at least 160 bits"
    );
    assert!(!e.svc.get_user(u.id).await.unwrap().totp_confirmed);

    let code = e.fresh_code(&u);
    let s = e
        .svc
        .login(&e.tenant, "anna", &pw(PASSWORD), &code, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(s.principal.roles, vec![Role::Agent]);
    assert_eq!(s.principal.agent_ref.as_deref(), Some("anna"));
    assert!(e.svc.get_user(u.id).await.unwrap().totp_confirmed);

    // The same code again, even within its step: replay.
    let err = e
        .svc
        .login(&e.tenant, "anna", &pw(PASSWORD), &code, ip("192.0.2.1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::TotpReplay), "{err:?}");
    // An earlier step's code (still inside the drift window) is refused too.
    let earlier = totp::code_at(&u.secret, e.clock.now_ms() - 30_000);
    let err = e
        .svc
        .login(&e.tenant, "anna", &pw(PASSWORD), &earlier, ip("192.0.2.1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::TotpReplay), "{err:?}");
    // The next step's code works.
    let next = e.fresh_code(&u);
    e.svc
        .login(&e.tenant, "anna", &pw(PASSWORD), &next, ip("192.0.2.1"))
        .await
        .unwrap();

    let recs = e.records().await;
    let ok = recs
        .iter()
        .filter(|r| r.entry.action == Action::LoginSuccess)
        .count();
    let replays: Vec<_> = recs
        .iter()
        .filter(|r| r.entry.action == Action::LoginFailure)
        .collect();
    assert_eq!(ok, 2);
    assert_eq!(replays.len(), 2);
    for r in &replays {
        assert_eq!(r.entry.outcome, Outcome::Denied);
        assert_eq!(r.entry.actor, format!("user:{}", u.id));
        assert_eq!(r.entry.from.as_deref(), Some("192.0.2.1"));
        assert_eq!(r.entry.purpose.as_deref(), Some("totp_replay"));
    }
    let text = e.audit_text().await;
    for secret in [PASSWORD, code.as_str(), next.as_str(), "anna"] {
        assert!(
            !text.contains(secret),
            "audit log contains a secret: {secret}"
        );
    }
}

#[tokio::test]
async fn one_step_of_drift_is_accepted_two_are_refused() {
    let e = env().await;
    let u = e.user("bo", &[Role::Agent]).await;
    let now = e.clock.now_ms();
    let at = |d: i64| totp::code_at(&u.secret, now + d * 30_000);
    let login = |code: String| {
        let svc = e.svc.clone();
        let t = e.tenant.clone();
        async move {
            svc.login(&t, "bo", &pw(PASSWORD), &code, ip("192.0.2.1"))
                .await
        }
    };
    assert!(matches!(
        login(at(-2)).await,
        Err(AccessError::InvalidCredentials)
    ));
    login(at(-1)).await.unwrap();
    assert!(matches!(
        login(at(2)).await,
        Err(AccessError::InvalidCredentials)
    ));
    login(at(1)).await.unwrap();
    // Step 0 is earlier than the +1 already used: refused as a replay.
    assert!(matches!(login(at(0)).await, Err(AccessError::TotpReplay)));
}

#[tokio::test]
async fn confirm_totp_finishes_enrolment_once() {
    let e = env().await;
    let u = e.user("cy", &[Role::Dpo]).await;
    assert!(matches!(
        e.svc.confirm_totp(u.id, "000000x").await,
        Err(AccessError::InvalidCredentials)
    ));
    let code = e.fresh_code(&u);
    e.svc.confirm_totp(u.id, &code).await.unwrap();
    assert!(e.svc.get_user(u.id).await.unwrap().totp_confirmed);
    assert!(matches!(
        e.svc.confirm_totp(u.id, &code).await,
        Err(AccessError::TotpReplay)
    ));
    // The confirming code cannot then log in either.
    assert!(matches!(
        e.svc
            .login(&e.tenant, "cy", &pw(PASSWORD), &code, ip("192.0.2.1"))
            .await,
        Err(AccessError::TotpReplay)
    ));
}

#[tokio::test]
async fn wrong_password_unknown_user_and_wrong_code_look_alike() {
    let e = env().await;
    let u = e.user("dag", &[Role::Agent]).await;
    let code = e.fresh_code(&u);
    let a = e
        .svc
        .login(
            &e.tenant,
            "dag",
            &pw("wrong password!!"),
            &code,
            ip("192.0.2.1"),
        )
        .await
        .unwrap_err();
    let b = e
        .svc
        .login(
            &e.tenant,
            "nobody-here",
            &pw(PASSWORD),
            &code,
            ip("192.0.2.1"),
        )
        .await
        .unwrap_err();
    let c = e
        .svc
        .login(&e.tenant, "dag", &pw(PASSWORD), "000000", ip("192.0.2.1"))
        .await
        .unwrap_err();
    for err in [&a, &b, &c] {
        assert!(matches!(err, AccessError::InvalidCredentials), "{err:?}");
        assert_eq!(err.code(), "invalid_credentials");
        assert_eq!(err.http_status(), 401);
        assert_eq!(err.to_string(), "invalid credentials");
    }
    // The unknown name is recorded only as a hash.
    let recs = e.records().await;
    let unknown = recs
        .iter()
        .find(|r| r.entry.actor.starts_with("unknown-user:"))
        .expect("attempt on an unknown user is audited");
    assert_eq!(unknown.entry.action, Action::LoginFailure);
    let text = e.audit_text().await;
    assert!(!text.contains("nobody-here"));
    assert!(!text.contains("wrong password"));
}

#[tokio::test]
async fn lockout_after_five_failures_with_exponential_backoff() {
    let e = env().await;
    let u = e.user("eve", &[Role::Agent]).await;
    let from = ip("198.51.100.7");
    for _ in 0..5 {
        let err = e
            .svc
            .login(&e.tenant, "eve", &pw("not the password"), "123456", from)
            .await
            .unwrap_err();
        assert!(matches!(err, AccessError::InvalidCredentials));
    }
    // Locked: even the right password and code fail, without being checked.
    let code = e.fresh_code(&u);
    let err = e
        .svc
        .login(&e.tenant, "eve", &pw(PASSWORD), &code, ip("203.0.113.1"))
        .await
        .unwrap_err();
    let AccessError::LockedOut { retry_after_ms } = err else {
        panic!("expected a lock, got {err:?}");
    };
    assert_eq!(err.http_status(), 429);
    assert!(retry_after_ms > 0 && retry_after_ms <= 60_000);
    // After the lock the user can log in...
    e.clock.advance_ms(60_000);
    let code = e.fresh_code(&u);
    e.svc
        .login(&e.tenant, "eve", &pw(PASSWORD), &code, ip("203.0.113.1"))
        .await
        .unwrap();
    // ...and the address that failed five times is still counted: one more failure from it
    // doubles its lock (backoff).
    let err = e
        .svc
        .login(&e.tenant, "eve", &pw("not the password"), "123456", from)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::InvalidCredentials));
    let code = e.fresh_code(&u);
    let err = e
        .svc
        .login(&e.tenant, "eve", &pw(PASSWORD), &code, from)
        .await
        .unwrap_err();
    let AccessError::LockedOut { retry_after_ms } = err else {
        panic!("expected a lock, got {err:?}");
    };
    assert!(
        retry_after_ms > 60_000 && retry_after_ms <= 120_000,
        "{retry_after_ms}"
    );
    e.clock.advance_ms(120_000);
    let code = e.fresh_code(&u);
    e.svc
        .login(&e.tenant, "eve", &pw(PASSWORD), &code, from)
        .await
        .unwrap();
    let locked = e
        .records()
        .await
        .iter()
        .filter(|r| r.entry.purpose.as_deref() == Some("locked_out"))
        .count();
    assert_eq!(locked, 2, "every locked attempt is audited");
}

#[tokio::test]
async fn brute_force_over_many_usernames_locks_the_address() {
    let e = env().await;
    let u = e.user("fay", &[Role::Agent]).await;
    let attacker = ip("2001:db8:bad::1");
    for i in 0..5 {
        let _ = e
            .svc
            .login(
                &e.tenant,
                &format!("guess{i}"),
                &pw(PASSWORD),
                "123456",
                attacker,
            )
            .await;
    }
    let code = e.fresh_code(&u);
    // Another address in the same /64 is locked too.
    let err = e
        .svc
        .login(
            &e.tenant,
            "fay",
            &pw(PASSWORD),
            &code,
            ip("2001:db8:bad::2"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::LockedOut { .. }), "{err:?}");
    // The user is not locked from elsewhere.
    e.svc
        .login(&e.tenant, "fay", &pw(PASSWORD), &code, ip("192.0.2.9"))
        .await
        .unwrap();
}

#[tokio::test]
async fn failures_are_forgotten_after_the_window() {
    let cfg = AccessConfig {
        max_failures: 3,
        ..AccessConfig::default()
    };
    let e = env_with(cfg).await;
    let u = e.user("gil", &[Role::Agent]).await;
    for _ in 0..2 {
        let _ = e
            .svc
            .login(
                &e.tenant,
                "gil",
                &pw("nope nope nope"),
                "1",
                ip("192.0.2.1"),
            )
            .await;
    }
    e.clock.advance_ms(2 * 60 * 60_000);
    let _ = e
        .svc
        .login(
            &e.tenant,
            "gil",
            &pw("nope nope nope"),
            "1",
            ip("192.0.2.1"),
        )
        .await;
    let code = e.fresh_code(&u);
    e.svc
        .login(&e.tenant, "gil", &pw(PASSWORD), &code, ip("192.0.2.1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn recovery_codes_work_once_and_reset_2fa_replaces_everything() {
    let e = env().await;
    let u = e.user("hal", &[Role::Supervisor]).await;
    let rc = SecretString::from(u.enrolment.recovery_codes[3].expose_secret().to_lowercase());
    let s = e
        .svc
        .login_recovery(&e.tenant, "hal", &pw(PASSWORD), &rc, ip("192.0.2.1"))
        .await
        .unwrap();
    assert!(matches!(
        e.svc
            .login_recovery(&e.tenant, "hal", &pw(PASSWORD), &rc, ip("192.0.2.1"))
            .await,
        Err(AccessError::InvalidCredentials)
    ));
    // Reset: sessions end, old secret and codes stop working, the new ones work.
    let enrol = e.svc.reset_2fa(u.id, "admin-cli").await.unwrap();
    assert!(matches!(
        e.svc
            .authenticate_session(s.secret.expose_secret(), ip("192.0.2.1"))
            .await,
        Err(AccessError::SessionUnknown)
    ));
    let old_code = e.fresh_code(&u);
    assert!(matches!(
        e.svc
            .login(&e.tenant, "hal", &pw(PASSWORD), &old_code, ip("192.0.2.1"))
            .await,
        Err(AccessError::InvalidCredentials)
    ));
    let old_rc = u.enrolment.recovery_codes[4].clone();
    assert!(matches!(
        e.svc
            .login_recovery(&e.tenant, "hal", &pw(PASSWORD), &old_rc, ip("192.0.2.1"))
            .await,
        Err(AccessError::InvalidCredentials)
    ));
    let secret = totp::base32_decode(enrol.secret_base32.expose_secret()).unwrap();
    assert_ne!(secret, u.secret);
    let code = totp::code_at(&secret, e.clock.now_ms());
    e.svc
        .login(&e.tenant, "hal", &pw(PASSWORD), &code, ip("192.0.2.1"))
        .await
        .unwrap();
    let text = e.audit_text().await;
    assert!(text.contains("user.reset_2fa"));
    for c in &u.enrolment.recovery_codes {
        assert!(!text.contains(c.expose_secret()));
    }
}

#[tokio::test]
async fn users_are_validated_and_unique_per_tenant() {
    let e = env().await;
    e.user("ida", &[Role::Agent]).await;
    let err = e
        .svc
        .create_user(
            &e.tenant,
            "ida",
            &pw(PASSWORD),
            &[Role::Agent],
            None,
            None,
            "t",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Conflict(_)));
    assert!(!err.to_string().contains("ida"));
    let other = sotto_core::TenantId::new("other").unwrap();
    e.user_in(&other, "ida", &[Role::Agent], None, None).await;
    for (name, password, roles) in [
        ("jo", "short", &[Role::Agent][..]),
        ("jo", PASSWORD, &[][..]),
        ("", PASSWORD, &[Role::Agent][..]),
        ("bad\nname", PASSWORD, &[Role::Agent][..]),
    ] {
        let err = e
            .svc
            .create_user(&e.tenant, name, &pw(password), roles, None, None, "t")
            .await
            .unwrap_err();
        assert!(matches!(err, AccessError::Invalid(_)), "{err:?}");
        assert!(!err.to_string().contains(password) || password.is_empty());
    }
    let users = e.svc.list_users(&e.tenant).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(e.svc.list_users(&other).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_user_cannot_log_in_to_another_tenant() {
    let e = env().await;
    let u = e.user("kai", &[Role::Dpo]).await;
    let other = sotto_core::TenantId::new("other").unwrap();
    let code = e.fresh_code(&u);
    assert!(matches!(
        e.svc
            .login(&other, "kai", &pw(PASSWORD), &code, ip("192.0.2.1"))
            .await,
        Err(AccessError::InvalidCredentials)
    ));
    assert_eq!(e.records_of(&other).await.len(), 1);
}
