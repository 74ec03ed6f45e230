#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Sessions (expiry, rotation, fixation, CSRF, sign-out everywhere), API tokens (scopes,
//! expiry, revocation) and IP allowlists (v4/v6, per role, behind proxies).

mod common;

use common::*;
use sotto_access::{
    AccessConfig, AccessError, ExposeSecret, IpNet, Permission, Role, Scope, SecretString,
};
use sotto_audit::{Action, Outcome};
use std::net::SocketAddr;

const MIN: i64 = 60_000;

async fn signed_in(e: &Env, name: &str, roles: &[Role]) -> (TestUser, sotto_access::IssuedSession) {
    let u = e.user(name, roles).await;
    let code = e.fresh_code(&u);
    let s = e
        .svc
        .login(&e.tenant, name, &pw(PASSWORD), &code, ip("192.0.2.1"))
        .await
        .unwrap();
    (u, s)
}

#[tokio::test]
async fn idle_expiry_is_extended_by_use() {
    let e = env().await;
    let (_, s) = signed_in(&e, "anna", &[Role::Agent]).await;
    assert_eq!(
        s.absolute_expires_ms - s.idle_expires_ms,
        12 * 60 * MIN - 30 * MIN
    );
    let secret = s.secret.expose_secret().to_owned();
    for _ in 0..3 {
        e.clock.advance_ms(29 * MIN);
        let p = e
            .svc
            .authenticate_session(&secret, ip("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(p.session, s.principal.session);
    }
    e.clock.advance_ms(30 * MIN);
    assert!(matches!(
        e.svc.authenticate_session(&secret, ip("192.0.2.1")).await,
        Err(AccessError::SessionExpired)
    ));
    // An expired session is gone.
    assert!(matches!(
        e.svc.authenticate_session(&secret, ip("192.0.2.1")).await,
        Err(AccessError::SessionUnknown)
    ));
    let expired = e
        .records()
        .await
        .into_iter()
        .filter(|r| r.entry.purpose.as_deref() == Some("session_expired"))
        .count();
    assert_eq!(expired, 1);
}

#[tokio::test]
async fn absolute_expiry_ends_even_a_busy_session() {
    let e = env().await;
    let (_, s) = signed_in(&e, "bo", &[Role::Agent]).await;
    let secret = s.secret.expose_secret().to_owned();
    let mut t = 0;
    while t + 20 * MIN < 12 * 60 * MIN {
        e.clock.advance_ms(20 * MIN);
        t += 20 * MIN;
        e.svc
            .authenticate_session(&secret, ip("192.0.2.1"))
            .await
            .unwrap();
    }
    e.clock.advance_ms(12 * 60 * MIN - t);
    assert!(matches!(
        e.svc.authenticate_session(&secret, ip("192.0.2.1")).await,
        Err(AccessError::SessionExpired)
    ));
}

#[tokio::test]
async fn every_login_gets_a_new_secret_and_fixation_fails() {
    let e = env().await;
    let u = e.user("cy", &[Role::Supervisor]).await;
    // An attacker plants a session value before the victim logs in.
    let planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert!(matches!(
        e.svc.authenticate_session(planted, ip("192.0.2.1")).await,
        Err(AccessError::SessionUnknown)
    ));
    let c1 = e.fresh_code(&u);
    let s1 = e
        .svc
        .login(&e.tenant, "cy", &pw(PASSWORD), &c1, ip("192.0.2.1"))
        .await
        .unwrap();
    let c2 = e.fresh_code(&u);
    let s2 = e
        .svc
        .login(&e.tenant, "cy", &pw(PASSWORD), &c2, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_ne!(s1.secret.expose_secret(), s2.secret.expose_secret());
    assert_ne!(s1.csrf, s2.csrf);
    assert_ne!(s1.principal.session, s2.principal.session);
    assert!(matches!(
        e.svc.authenticate_session(planted, ip("192.0.2.1")).await,
        Err(AccessError::SessionUnknown)
    ));
    // Logout ends one session; sign-out everywhere ends the rest.
    let p1 = e
        .svc
        .authenticate_session(s1.secret.expose_secret(), ip("192.0.2.1"))
        .await
        .unwrap();
    e.svc.logout(&p1).await.unwrap();
    assert!(matches!(
        e.svc
            .authenticate_session(s1.secret.expose_secret(), ip("192.0.2.1"))
            .await,
        Err(AccessError::SessionUnknown)
    ));
    e.svc
        .authenticate_session(s2.secret.expose_secret(), ip("192.0.2.1"))
        .await
        .unwrap();
    let c3 = e.fresh_code(&u);
    let s3 = e
        .svc
        .login(&e.tenant, "cy", &pw(PASSWORD), &c3, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(e.svc.logout_everywhere(u.id).await.unwrap(), 2);
    for s in [&s2, &s3] {
        assert!(matches!(
            e.svc
                .authenticate_session(s.secret.expose_secret(), ip("192.0.2.1"))
                .await,
            Err(AccessError::SessionUnknown)
        ));
    }
    let text = e.audit_text().await;
    for s in [&s1, &s2, &s3] {
        assert!(!text.contains(s.secret.expose_secret()));
        assert!(!text.contains(&s.csrf));
    }
}

#[tokio::test]
async fn csrf_token_is_per_session_and_refusals_are_audited() {
    let e = env().await;
    let (u, s1) = signed_in(&e, "dag", &[Role::Supervisor]).await;
    let c = e.fresh_code(&u);
    let s2 = e
        .svc
        .login(&e.tenant, "dag", &pw(PASSWORD), &c, ip("192.0.2.1"))
        .await
        .unwrap();
    let p1 = e
        .svc
        .authenticate_session(s1.secret.expose_secret(), ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(
        s1.csrf,
        sotto_access::csrf_token_for(s1.secret.expose_secret())
    );
    e.svc.verify_csrf(&p1, &s1.csrf).await.unwrap();
    for bad in [s2.csrf.as_str(), "", "x"] {
        let err = e.svc.verify_csrf(&p1, bad).await.unwrap_err();
        assert!(matches!(err, AccessError::CsrfMismatch));
        assert_eq!(err.http_status(), 403);
    }
    let refused = e
        .records()
        .await
        .into_iter()
        .filter(|r| {
            r.entry.outcome == Outcome::Denied
                && r.entry.purpose.as_deref() == Some("csrf_mismatch")
        })
        .count();
    assert_eq!(refused, 3);
}

#[tokio::test]
async fn tokens_are_scoped_shown_once_revocable_and_expire() {
    let e = env().await;
    let (tid, tok) = e
        .svc
        .create_token(
            &e.tenant,
            "crm",
            &[Permission::InteractionList, Permission::TranscriptRead],
            Some(e.clock_now() + 10 * MIN),
            "cli",
        )
        .await
        .unwrap();
    let t = tok.expose_secret().to_owned();
    assert!(t.starts_with(&format!("sotto_{}_", tid.0.simple())));
    let p = e.svc.authenticate_token(&t, ip("192.0.2.1")).await.unwrap();
    assert_eq!(p.actor_label(), format!("token:{tid}"));
    assert_eq!(p.scope_for(Permission::TranscriptRead), Some(Scope::Tenant));
    assert_eq!(p.scope_for(Permission::RecordingDownload), None);
    assert_eq!(p.scope_for(Permission::TokenManage), None);
    // A token cannot mint a token beyond its scopes.
    assert!(matches!(
        e.svc
            .create_token(&e.tenant, "escalate", &[Permission::SubjectErase], None, &p)
            .await,
        Err(AccessError::Forbidden)
    ));
    // A wrong secret with a valid id is refused (and audited: the tenant is known).
    let last = if t.ends_with('x') { "y" } else { "x" };
    let forged = format!("{}{last}", &t[..t.len() - 1]);
    assert!(matches!(
        e.svc.authenticate_token(&forged, ip("192.0.2.1")).await,
        Err(AccessError::TokenUnknown)
    ));
    assert!(matches!(
        e.svc
            .authenticate_token("sotto_nonsense", ip("192.0.2.1"))
            .await,
        Err(AccessError::TokenUnknown)
    ));
    // Listed without the secret.
    let list = e.svc.list_tokens(&e.tenant).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(!serde_json::to_string(&list).unwrap().contains(&t[40..]));
    // Expiry.
    e.clock.advance_ms(10 * MIN);
    assert!(matches!(
        e.svc.authenticate_token(&t, ip("192.0.2.1")).await,
        Err(AccessError::TokenExpired)
    ));
    // Revocation.
    let (tid2, tok2) = e
        .svc
        .create_token(
            &e.tenant,
            "webhook",
            &[Permission::InteractionList],
            None,
            "cli",
        )
        .await
        .unwrap();
    e.svc
        .authenticate_token(tok2.expose_secret(), ip("192.0.2.1"))
        .await
        .unwrap();
    e.svc.revoke_token(&e.tenant, tid2, "cli").await.unwrap();
    assert!(matches!(
        e.svc
            .authenticate_token(tok2.expose_secret(), ip("192.0.2.1"))
            .await,
        Err(AccessError::TokenRevoked)
    ));
    assert!(matches!(
        e.svc.revoke_token(&e.tenant, tid2, "cli").await,
        Err(AccessError::NotFound(_))
    ));
    // Revoking from another tenant does nothing.
    let other = sotto_core::TenantId::new("other").unwrap();
    assert!(matches!(
        e.svc.revoke_token(&other, tid, "cli").await,
        Err(AccessError::NotFound(_))
    ));
    let recs = e.records().await;
    let changes = recs
        .iter()
        .filter(|r| r.entry.action == Action::PermissionChange)
        .count();
    assert_eq!(changes, 3, "two creations and one revocation");
    let denied = recs
        .iter()
        .filter(|r| r.entry.action == Action::LoginFailure && r.entry.outcome == Outcome::Denied)
        .count();
    assert_eq!(denied, 3, "forged secret, expired, revoked");
    let text = e.audit_text().await;
    assert!(!text.contains(&t[10..]));
}

#[tokio::test]
async fn allowlists_by_tenant_and_role_v4_and_v6() {
    let e = env().await;
    let admin = e.user("admin1", &[Role::Admin]).await;
    let agent = e.user("agent1", &[Role::Agent]).await;
    let office4: IpNet = "192.0.2.0/24".parse().unwrap();
    let office6: IpNet = "2001:db8:1::/48".parse().unwrap();
    e.svc
        .allowlist_add(&e.tenant, Some(Role::Admin), office4, "cli")
        .await
        .unwrap();
    e.svc
        .allowlist_add(&e.tenant, Some(Role::Admin), office6, "cli")
        .await
        .unwrap();
    assert!(matches!(
        e.svc
            .allowlist_add(
                &e.tenant,
                Some(Role::Admin),
                "192.0.2.7/24".parse().unwrap(),
                "cli"
            )
            .await,
        Err(AccessError::Conflict(_))
    ));
    // Admins only from the office, agents from anywhere.
    let code = e.fresh_code(&admin);
    let err = e
        .svc
        .login(
            &e.tenant,
            "admin1",
            &pw(PASSWORD),
            &code,
            ip("198.51.100.3"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::IpNotAllowed));
    let code = e.fresh_code(&admin);
    let s4 = e
        .svc
        .login(&e.tenant, "admin1", &pw(PASSWORD), &code, ip("192.0.2.55"))
        .await
        .unwrap();
    let code = e.fresh_code(&admin);
    e.svc
        .login(
            &e.tenant,
            "admin1",
            &pw(PASSWORD),
            &code,
            ip("2001:db8:1:2::9"),
        )
        .await
        .unwrap();
    let code = e.fresh_code(&agent);
    let sa = e
        .svc
        .login(
            &e.tenant,
            "agent1",
            &pw(PASSWORD),
            &code,
            ip("198.51.100.3"),
        )
        .await
        .unwrap();
    // The list is checked at every authentication, not just at login.
    assert!(matches!(
        e.svc
            .authenticate_session(s4.secret.expose_secret(), ip("2001:db8:2::1"))
            .await,
        Err(AccessError::IpNotAllowed)
    ));
    e.svc
        .authenticate_session(s4.secret.expose_secret(), ip("::ffff:192.0.2.80"))
        .await
        .unwrap();
    // A tenant-wide list then binds everyone, tokens included.
    e.svc
        .allowlist_add(&e.tenant, None, "203.0.113.0/24".parse().unwrap(), "cli")
        .await
        .unwrap();
    assert!(matches!(
        e.svc
            .authenticate_session(sa.secret.expose_secret(), ip("198.51.100.3"))
            .await,
        Err(AccessError::IpNotAllowed)
    ));
    e.svc
        .authenticate_session(sa.secret.expose_secret(), ip("203.0.113.4"))
        .await
        .unwrap();
    // Restrictions add up: an admin needs both lists.
    assert!(matches!(
        e.svc
            .authenticate_session(s4.secret.expose_secret(), ip("192.0.2.55"))
            .await,
        Err(AccessError::IpNotAllowed)
    ));
    let (_, tok) = e
        .svc
        .create_token(
            &e.tenant,
            "crm",
            &[Permission::InteractionList],
            None,
            "cli",
        )
        .await
        .unwrap();
    assert!(matches!(
        e.svc
            .authenticate_token(tok.expose_secret(), ip("198.51.100.3"))
            .await,
        Err(AccessError::IpNotAllowed)
    ));
    e.svc
        .authenticate_token(tok.expose_secret(), ip("203.0.113.200"))
        .await
        .unwrap();

    let list = e.svc.allowlist_list(&e.tenant).await.unwrap();
    assert_eq!(list.len(), 3);
    e.svc
        .allowlist_remove(&e.tenant, None, "203.0.113.0/24".parse().unwrap(), "cli")
        .await
        .unwrap();
    assert!(matches!(
        e.svc
            .allowlist_remove(&e.tenant, None, "203.0.113.0/24".parse().unwrap(), "cli")
            .await,
        Err(AccessError::NotFound(_))
    ));
    let recs = e.records().await;
    let refusals = recs
        .iter()
        .filter(|r| r.entry.purpose.as_deref() == Some("ip_not_allowed"))
        .collect::<Vec<_>>();
    assert_eq!(refusals.len(), 5);
    assert!(refusals.iter().all(|r| r.entry.outcome == Outcome::Denied));
    assert!(refusals
        .iter()
        .any(|r| r.entry.from.as_deref() == Some("198.51.100.3")));
}

#[tokio::test]
async fn forwarded_for_spoofing_does_not_pass_the_allowlist() {
    let cfg = AccessConfig {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..AccessConfig::default()
    };
    let e = env_with(cfg).await;
    let admin = e.user("root", &[Role::Admin]).await;
    e.svc
        .allowlist_add(
            &e.tenant,
            Some(Role::Admin),
            "192.0.2.0/24".parse().unwrap(),
            "cli",
        )
        .await
        .unwrap();
    // Straight from the internet, claiming to be in the office.
    let peer: SocketAddr = "198.51.100.9:40000".parse().unwrap();
    let client = e.svc.client_ip(peer, Some("192.0.2.10"));
    assert_eq!(client, ip("198.51.100.9"));
    let code = e.fresh_code(&admin);
    assert!(matches!(
        e.svc
            .login(&e.tenant, "root", &pw(PASSWORD), &code, client)
            .await,
        Err(AccessError::IpNotAllowed)
    ));
    // Through our proxy, the spoofed hop on the left is ignored too.
    let proxy: SocketAddr = "10.0.0.2:50000".parse().unwrap();
    let client = e.svc.client_ip(proxy, Some("192.0.2.10, 198.51.100.9"));
    assert_eq!(client, ip("198.51.100.9"));
    // A real office client behind the proxy is honoured.
    let client = e.svc.client_ip(proxy, Some("192.0.2.10"));
    assert_eq!(client, ip("192.0.2.10"));
    let code = e.fresh_code(&admin);
    e.svc
        .login(&e.tenant, "root", &pw(PASSWORD), &code, client)
        .await
        .unwrap();
    assert_eq!(e.svc.trusted_proxies().len(), 1);
}

#[tokio::test]
async fn role_and_override_changes_apply_at_once_and_are_audited() {
    let e = env().await;
    let (u, s) = signed_in(&e, "sup", &[Role::Supervisor]).await;
    let secret = s.secret.expose_secret().to_owned();
    let p = e
        .svc
        .authenticate_session(&secret, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(
        p.scope_for(Permission::RecordingDownload),
        Some(Scope::Team)
    );
    e.svc
        .set_overrides(
            u.id,
            sotto_access::Overrides {
                listen: None,
                download: Some(sotto_access::OverrideRule::Deny),
            },
            &p,
        )
        .await
        .unwrap();
    let p = e
        .svc
        .authenticate_session(&secret, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(p.scope_for(Permission::RecordingDownload), None);
    assert_eq!(p.scope_for(Permission::RecordingListen), Some(Scope::Team));
    e.svc
        .set_roles(u.id, &[Role::Billing], "cli")
        .await
        .unwrap();
    let p = e
        .svc
        .authenticate_session(&secret, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(p.scope_for(Permission::RecordingListen), None);
    assert_eq!(
        p.scope_for(Permission::CallerNumberRead),
        Some(Scope::Tenant)
    );
    let text = e.audit_text().await;
    assert!(text.contains("user.overrides listen=none download=deny"));
    assert!(text.contains("user.roles supervisor -> billing"));
    assert!(text.contains(&format!("\"actor\":\"user:{}\"", u.id)));
    // Team lookups for Scope::Team.
    assert_eq!(
        e.svc
            .team_of_agent(&e.tenant, "sup")
            .await
            .unwrap()
            .as_deref(),
        Some("north")
    );
    assert_eq!(
        e.svc.team_agents(&e.tenant, "north").await.unwrap(),
        vec!["sup"]
    );
    // Passwords can be replaced; that ends the sessions.
    e.svc
        .set_password(
            u.id,
            &SecretString::from("another long passphrase".to_owned()),
            "cli",
        )
        .await
        .unwrap();
    assert!(matches!(
        e.svc.authenticate_session(&secret, ip("192.0.2.1")).await,
        Err(AccessError::SessionUnknown)
    ));
}

trait Now {
    fn clock_now(&self) -> i64;
}
impl Now for Env {
    fn clock_now(&self) -> i64 {
        use sotto_core::Clock;
        self.clock.now_ms()
    }
}
