//! The authorisation matrix, generated from the route registry: every role × every endpoint
//! (and, for endpoints on an interaction, one the caller handled, one of another team, and one
//! of another tenant) gets the answer `sotto_access::grant` and the documented scope rules
//! predict — over loopback, through the real guard. An endpoint without a probe here fails the
//! test; every refusal and every allowed access to personal data must leave an audit entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Harness, Session, Stored, User, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use sotto_access::{grant, Permission, Role, Scope, SecretString};
use sotto_api::{Registry, RouteDef, Rule};
use sotto_audit::Outcome;
use sotto_core::Clock;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    NotFound,
}

#[derive(Debug, Clone)]
enum Target {
    /// No object: a listing (its content is filtered by scope) or a public/own endpoint.
    Listing,
    /// Needs the permission at tenant reach (subjects, audit, administration).
    TenantWide,
    /// One interaction, handled by `agent`, in this tenant or another.
    Interaction { agent: String, foreign: bool },
    /// An object (user, token) of another tenant.
    Foreign,
}

struct Probe {
    path: String,
    body: Option<Value>,
    target: Target,
    /// Use a session of its own (logout endpoints end it).
    fresh_session: bool,
    /// Public login endpoints: no credentials sent.
    anonymous: bool,
    /// A stream (Server-Sent Events): a success answer's body is not read.
    stream: bool,
    /// A raw body (content type, bytes) instead of JSON: multipart uploads.
    raw: Option<(String, Vec<u8>)>,
}

impl Probe {
    fn new(path: impl Into<String>, target: Target) -> Self {
        Self {
            path: path.into(),
            body: None,
            target,
            fresh_session: false,
            anonymous: false,
            stream: false,
            raw: None,
        }
    }
    fn body(mut self, b: Value) -> Self {
        self.body = Some(b);
        self
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);
fn next() -> u32 {
    SEQ.fetch_add(1, Ordering::SeqCst)
}

fn team_of(agent: &str) -> &'static str {
    match agent {
        "a1" => "t1",
        _ => "t2",
    }
}

fn reaches(scope: Scope, user: &User, agent: &str) -> bool {
    match scope {
        Scope::Tenant => true,
        Scope::Own => user.agent_ref.as_deref() == Some(agent),
        Scope::Team => {
            user.agent_ref.as_deref() == Some(agent) || user.team.as_deref() == Some(team_of(agent))
        }
    }
}

fn expected(user: &User, rule: Rule, target: &Target) -> Expect {
    let perm = match rule {
        Rule::Public | Rule::Authenticated => return Expect::Allowed,
        Rule::Permission(p) => p,
    };
    let Some(scope) = grant(user.role, perm) else {
        return Expect::Forbidden;
    };
    match target {
        Target::Listing => Expect::Allowed,
        Target::TenantWide if scope == Scope::Tenant => Expect::Allowed,
        Target::TenantWide => Expect::Forbidden,
        Target::Foreign => Expect::NotFound,
        Target::Interaction { foreign: true, .. } => Expect::NotFound,
        Target::Interaction { agent, .. } if reaches(scope, user, agent) => Expect::Allowed,
        Target::Interaction { .. } => Expect::Forbidden,
    }
}

fn on_interactions(suffix: impl Fn(&Stored) -> String, h: &Harness) -> Vec<Probe> {
    [(&h.mine, false), (&h.theirs, false), (&h.foreign, true)]
        .into_iter()
        .map(|(s, foreign)| {
            Probe::new(
                suffix(s),
                Target::Interaction {
                    agent: s.agent.clone(),
                    foreign,
                },
            )
        })
        .collect()
}

fn on_live_calls(suffix: impl Fn(&common::LiveRef) -> String, h: &Harness) -> Vec<Probe> {
    [
        (&h.live_mine, false),
        (&h.live_theirs, false),
        (&h.live_foreign, true),
    ]
    .into_iter()
    .map(|(c, foreign)| {
        Probe::new(
            suffix(c),
            Target::Interaction {
                agent: c.agent.clone(),
                foreign,
            },
        )
    })
    .collect()
}

struct Foreign {
    user: String,
    token: String,
}

/// The requests that exercise one endpoint for one role, with any setup they need.
async fn probes(h: &Harness, r: &RouteDef, user: &User, foreign: &Foreign) -> Vec<Probe> {
    let m = r.method.as_str();
    let n = next();
    match (m, r.path.as_str()) {
        ("GET", "/healthz") | ("GET", "/api/v1/openapi.json") => {
            vec![Probe::new(r.path.clone(), Target::Listing)]
        }
        ("POST", "/api/v1/auth/login") => {
            h.next_step();
            let mut p = Probe::new(r.path.clone(), Target::Listing).body(json!({
                "username": user.username, "password": PASSWORD, "totp": h.code_now(user)
            }));
            p.anonymous = true;
            vec![p]
        }
        ("POST", "/api/v1/auth/login/recovery") => {
            let mut p = Probe::new(r.path.clone(), Target::Listing).body(json!({
                "username": user.username, "password": PASSWORD,
                "recovery_code": user.recovery[n as usize % user.recovery.len()]
            }));
            p.anonymous = true;
            vec![p]
        }
        ("POST", "/api/v1/auth/logout") | ("POST", "/api/v1/auth/logout-everywhere") => {
            let mut p = Probe::new(r.path.clone(), Target::Listing);
            p.fresh_session = true;
            vec![p]
        }
        ("GET", "/api/v1/auth/whoami") => vec![Probe::new(r.path.clone(), Target::Listing)],
        ("POST", "/api/v1/auth/totp/confirm") => {
            h.next_step();
            vec![Probe::new(r.path.clone(), Target::Listing).body(json!({"code": h.code_now(user)}))]
        }
        ("GET", "/api/v1/interactions") => vec![Probe::new(r.path.clone(), Target::Listing)],
        ("GET", "/api/v1/interactions/{id}") => {
            on_interactions(|s| format!("/api/v1/interactions/{}", s.id), h)
        }
        ("GET", "/api/v1/interactions/{id}/caller-number") => on_interactions(
            |s| format!("/api/v1/interactions/{}/caller-number", s.id),
            h,
        ),
        ("GET", "/api/v1/interactions/{id}/transcript") => {
            on_interactions(|s| format!("/api/v1/interactions/{}/transcript", s.id), h)
        }
        ("GET", "/api/v1/interactions/{id}/recordings/{rec}/listen") => on_interactions(
            |s| {
                format!(
                    "/api/v1/interactions/{}/recordings/{}/listen",
                    s.id, s.recording
                )
            },
            h,
        ),
        ("GET", "/api/v1/interactions/{id}/recordings/{rec}/download") => on_interactions(
            |s| {
                format!(
                    "/api/v1/interactions/{}/recordings/{}/download",
                    s.id, s.recording
                )
            },
            h,
        ),
        ("GET", "/api/v1/live/calls") => vec![Probe::new(r.path.clone(), Target::Listing)],
        ("GET", "/api/v1/live/calls/{id}/transcript") => {
            on_live_calls(|c| format!("/api/v1/live/calls/{}/transcript", c.id), h)
        }
        ("GET", "/api/v1/live/calls/{id}/events") => {
            on_live_calls(|c| format!("/api/v1/live/calls/{}/events", c.id), h)
                .into_iter()
                .map(|mut p| {
                    p.stream = true;
                    p
                })
                .collect()
        }
        ("POST", "/api/v1/live/calls/{id}/control") => {
            on_live_calls(|c| format!("/api/v1/live/calls/{}/control", c.id), h)
                .into_iter()
                .map(|p| p.body(json!({"command": "pause", "reason": "matrix probe"})))
                .collect()
        }
        ("POST", "/api/v1/uploads") => ["a1", "a2"]
            .into_iter()
            .map(|agent| {
                let meta = json!({"caller": format!("+4531{:06}", n), "agent": agent,
                    "channel": "voicemail", "lang": "en"})
                .to_string();
                let transcript = json!({"segments": [{"speaker": "caller", "start_ms": 0,
                    "end_ms": 900, "text": "please call me back about my order"}]})
                .to_string();
                let wav = common::tone_wav(1);
                let mut p = Probe::new(
                    r.path.clone(),
                    Target::Interaction {
                        agent: agent.to_owned(),
                        foreign: false,
                    },
                );
                p.raw = Some(common::multipart(&[
                    ("audio", "audio/wav", &wav),
                    ("metadata", "application/json", meta.as_bytes()),
                    ("transcript", "application/json", transcript.as_bytes()),
                ]));
                p
            })
            .collect(),
        ("POST", "/api/v1/subjects/export") => vec![Probe::new(r.path.clone(), Target::TenantWide)
            .body(json!({"phone": h.mine.phone, "format": "json"}))],
        ("POST", "/api/v1/subjects/erase") => {
            let phone = format!("+4530{:06}", n);
            common::ingest(&h.vault, &h.clock, &h.tenant, &phone, "a1").await;
            vec![Probe::new(r.path.clone(), Target::TenantWide).body(json!({ "phone": phone }))]
        }
        ("GET", "/api/v1/audit/entries") => vec![Probe::new(
            format!("{}?subject={}", r.path, h.mine_subject().await),
            Target::TenantWide,
        )],
        ("POST", "/api/v1/audit/verify") | ("GET", "/api/v1/audit/checkpoint") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide)]
        }
        ("GET", "/api/v1/audit/proofs/inclusion") => {
            vec![Probe::new(format!("{}?seq=0", r.path), Target::TenantWide)]
        }
        ("GET", "/api/v1/audit/proofs/consistency") => {
            vec![Probe::new(format!("{}?from=1", r.path), Target::TenantWide)]
        }
        ("GET", "/api/v1/users") | ("GET", "/api/v1/allowlist") | ("GET", "/api/v1/tokens") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide)]
        }
        ("POST", "/api/v1/users") => vec![Probe::new(r.path.clone(), Target::TenantWide).body(
            json!({"username": format!("new{n}"), "password": PASSWORD, "roles": ["billing"]}),
        )],
        ("PUT", "/api/v1/users/{id}/roles")
        | ("PUT", "/api/v1/users/{id}/overrides")
        | ("POST", "/api/v1/users/{id}/reset-2fa") => {
            let target = common::create_user(
                &h.access,
                &h.tenant,
                &format!("target{n}"),
                Role::Agent,
                None,
                None,
            )
            .await;
            let body = if r.path.ends_with("roles") {
                Some(json!({"roles": ["analyst"]}))
            } else if r.path.ends_with("overrides") {
                Some(json!({"listen": "allow", "download": "deny"}))
            } else {
                None
            };
            let mk = |id: &str, t: Target| {
                let mut p = Probe::new(r.path.replace("{id}", id), t);
                p.body = body.clone();
                p
            };
            vec![
                mk(&target.id.to_string(), Target::TenantWide),
                mk(&foreign.user, Target::Foreign),
            ]
        }
        ("POST", "/api/v1/allowlist") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide).body(json!({"cidr": "127.0.0.0/8"}))]
        }
        ("DELETE", "/api/v1/allowlist") => {
            let _ = h
                .access
                .allowlist_add(&h.tenant, None, "127.0.0.0/8".parse().unwrap(), "test")
                .await;
            vec![Probe::new(
                format!("{}?cidr=127.0.0.0/8", r.path),
                Target::TenantWide,
            )]
        }
        ("POST", "/api/v1/tokens") => vec![Probe::new(r.path.clone(), Target::TenantWide)
            .body(json!({"name": format!("tok{n}"), "scopes": ["interaction_list"]}))],
        ("DELETE", "/api/v1/tokens/{id}") => {
            let (id, _) = h
                .access
                .create_token(
                    &h.tenant,
                    &format!("victim{n}"),
                    &[Permission::InteractionList],
                    None,
                    "test",
                )
                .await
                .unwrap();
            vec![
                Probe::new(format!("/api/v1/tokens/{id}"), Target::TenantWide),
                Probe::new(format!("/api/v1/tokens/{}", foreign.token), Target::Foreign),
            ]
        }
        ("POST", "/api/v1/keys/rotate") => vec![Probe::new(r.path.clone(), Target::TenantWide)],
        // Policies (issue 6): every endpoint needs its permission at tenant reach; objects of
        // the other tenant are answered 404.
        ("GET", "/api/v1/policy/rules") | ("GET", "/api/v1/holds") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide)]
        }
        ("PUT", "/api/v1/policy/rules") => vec![Probe::new(r.path.clone(), Target::TenantWide)
            .body(
                json!({"scope": "queue", "key": format!("q{n}"), "mode": "anonymise",
                "retention_days": 30}),
            )],
        ("DELETE", "/api/v1/policy/rules") => {
            h.policies
                .set_rule(
                    &h.tenant,
                    sotto_store::RuleScope::Queue,
                    &format!("del{n}"),
                    sotto_core::ProcessingMode::Minimal,
                    None,
                    None,
                    vec![],
                    "test",
                )
                .await
                .unwrap();
            vec![Probe::new(
                format!("{}?scope=queue&key=del{n}", r.path),
                Target::TenantWide,
            )]
        }
        ("GET", "/api/v1/policy/effective") => vec![Probe::new(
            format!("{}?queue=sales&campaign=spring", r.path),
            Target::TenantWide,
        )],
        ("POST", "/api/v1/holds") => {
            let body = |target: &Stored| {
                json!({"scope": "interaction", "target": target.id.to_string(),
                    "reason": format!("matter {n}")})
            };
            vec![
                Probe::new(r.path.clone(), Target::TenantWide).body(body(&h.mine)),
                Probe::new(r.path.clone(), Target::Foreign).body(body(&h.foreign)),
            ]
        }
        ("POST", "/api/v1/holds/{id}/extend") | ("POST", "/api/v1/holds/{id}/release") => {
            let hold = |t: &Stored| sotto_policy::HoldRequest {
                tenant: t.tenant.clone(),
                scope: sotto_core::HoldScope::Interaction,
                target: t.id.to_string(),
                reason: format!("probe {n}"),
                created_by: "test".into(),
                until_ms: Some(h.clock.now_ms() + 86_400_000),
                preset: None,
            };
            let mine = h.policies.place_hold(hold(&h.mine)).await.unwrap();
            let theirs = h.policies.place_hold(hold(&h.foreign)).await.unwrap();
            let body = json!({"until_ms": h.clock.now_ms() + 2 * 86_400_000});
            let mk = |id: String, t: Target| {
                let mut p = Probe::new(r.path.replace("{id}", &id), t);
                if r.path.ends_with("extend") {
                    p.body = Some(body.clone());
                }
                p
            };
            vec![
                mk(mine.id.to_string(), Target::TenantWide),
                mk(theirs.id.to_string(), Target::Foreign),
            ]
        }
        ("POST", "/api/v1/consents") => {
            let phone = format!("+4531{:06}", n);
            let fresh = common::ingest(&h.vault, &h.clock, &h.tenant, &phone, "a1").await;
            let consent = |key: &str, id: String| json!({key: id, "purpose": "analytics", "state": "given", "source": "ivr"});
            vec![
                Probe::new(r.path.clone(), Target::TenantWide)
                    .body(consent("interaction_id", fresh.id.to_string())),
                Probe::new(r.path.clone(), Target::Foreign)
                    .body(consent("interaction_id", h.foreign.id.to_string())),
            ]
        }
        ("GET", "/api/v1/subjects/{id}/consents") => {
            let foreign_subject = h
                .vault
                .interaction_facts(&h.other, h.foreign.id)
                .await
                .unwrap()
                .unwrap()
                .summary
                .subject;
            vec![
                Probe::new(
                    format!("/api/v1/subjects/{}/consents", h.mine_subject().await),
                    Target::TenantWide,
                ),
                Probe::new(
                    format!("/api/v1/subjects/{foreign_subject}/consents"),
                    Target::Foreign,
                ),
            ]
        }
        ("GET", "/api/v1/stats") => vec![Probe::new(
            format!("{}?from=2026-01-01&to=2026-01-31", r.path),
            Target::TenantWide,
        )],
        ("POST", "/api/v1/retention/dry-run") | ("POST", "/api/v1/retention/run") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide)]
        }
        ("POST", "/api/v1/cases") => vec![Probe::new(r.path.clone(), Target::TenantWide)
            .body(json!({"reference": format!("deal-{n}")}))],
        ("POST", "/api/v1/cases/{id}/interactions")
        | ("POST", "/api/v1/cases/{id}/messages")
        | ("GET", "/api/v1/cases/{id}/export") => {
            let mine = h
                .policies
                .open_case(&h.tenant, &format!("deal-{n}"), "test")
                .await
                .unwrap();
            let theirs = h
                .policies
                .open_case(&h.other, &format!("deal-{n}"), "test")
                .await
                .unwrap();
            h.policies
                .link_to_case(&h.tenant, h.theirs.id, Some(mine.id), "test")
                .await
                .unwrap();
            let body = if r.path.ends_with("interactions") {
                Some(json!({"interaction": h.mine.id.to_string()}))
            } else if r.path.ends_with("messages") {
                Some(
                    json!({"channel": "chat", "phone": h.mine.phone, "lang": "en",
                    "messages": [{"speaker": "caller", "at_ms": 0, "text": "is the offer still open"},
                        {"speaker": "agent", "at_ms": 5000, "text": "yes until friday"}]}),
                )
            } else {
                None
            };
            let suffix = if r.path.ends_with("export") {
                "?format=json"
            } else {
                ""
            };
            let mk = |id: String, t: Target| {
                let mut p = Probe::new(format!("{}{suffix}", r.path.replace("{id}", &id)), t);
                p.body = body.clone();
                p
            };
            vec![
                mk(mine.id.to_string(), Target::TenantWide),
                mk(theirs.id.to_string(), Target::Foreign),
            ]
        }
        ("POST", "/api/v1/cases/verify") => {
            vec![Probe::new(r.path.clone(), Target::TenantWide).body(json!({"not": "an export"}))]
        }
        (m, p) => panic!(
            "endpoint {m} {p} has no probe in the authorisation matrix test: add one, with the \
             object it acts on, so its answer for every role is checked"
        ),
    }
}

trait MineSubject {
    async fn mine_subject(&self) -> String;
}

impl MineSubject for Harness {
    async fn mine_subject(&self) -> String {
        self.vault
            .interaction_facts(&self.tenant, self.mine.id)
            .await
            .unwrap()
            .unwrap()
            .summary
            .subject
            .to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_the_documented_answer_from_every_endpoint() {
    let h = common::harness().await;
    let registry = Registry::core();

    // The OpenAPI document and the router come from the same declarations: same endpoints,
    // each with its rule.
    let doc: Value = serde_json::to_value(registry.openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op.get("x-sotto-rule").is_some(),
                "{method} {path} has no rule in the OpenAPI document"
            );
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let registered: BTreeSet<_> = registry
        .routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    assert_eq!(documented, registered);

    // Objects of the other tenant.
    let fu = common::create_user(&h.access, &h.other, "stranger", Role::Agent, None, None).await;
    let (ft, _) = h
        .access
        .create_token(&h.other, "foreign", &[Permission::AuditRead], None, "test")
        .await
        .unwrap();
    let foreign = Foreign {
        user: fu.id.to_string(),
        token: ft.to_string(),
    };

    let mut checked = 0u32;
    let mut table: Vec<String> = Vec::new();
    for role in Role::ALL {
        let user = &h.users[role];
        let mut session: Session = h.login(user).await;
        let mut row = Vec::new();
        for r in registry.routes() {
            for probe in probes(&h, r, user, &foreign).await {
                let auth = if probe.anonymous {
                    Auth::None
                } else if probe.fresh_session {
                    Auth::Session(h.login(user).await)
                } else {
                    Auth::Session(session.clone())
                };
                let actor = session.actor.clone();
                let denied_before = h.entries(&h.tenant, &actor, Outcome::Denied).await.len();
                let ok_before = h
                    .entries(&h.tenant, &actor, Outcome::Ok)
                    .await
                    .iter()
                    .filter(|e| e.entry.action == r.action)
                    .count();
                let method = Method::from_bytes(r.method.as_str().as_bytes()).unwrap();
                let resp = if let Some((ct, body)) = &probe.raw {
                    h.send_raw(method, &probe.path, &auth, ct, body.clone())
                        .await
                } else if probe.stream {
                    h.send_stream(&probe.path, &auth).await
                } else {
                    h.send(method, &probe.path, &auth, probe.body.as_ref(), &[])
                        .await
                };
                let want = expected(user, r.rule, &probe.target);
                let got = resp.status;
                let what = format!(
                    "{role} {} {} ({:?}): got {got} {}",
                    r.method,
                    probe.path,
                    probe.target,
                    String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)])
                );
                match want {
                    Expect::Allowed => assert!(got.is_success(), "expected success: {what}"),
                    Expect::Forbidden => {
                        assert_eq!(got.as_u16(), 403, "expected 403: {what}");
                        assert_eq!(resp.code(), "forbidden", "{what}");
                    }
                    Expect::NotFound => assert_eq!(got.as_u16(), 404, "expected 404: {what}"),
                }
                let denied_after = h.entries(&h.tenant, &actor, Outcome::Denied).await.len();
                if want == Expect::Allowed {
                    assert_eq!(denied_after, denied_before, "no refusal recorded: {what}");
                    if r.personal {
                        let ok_after = h
                            .entries(&h.tenant, &actor, Outcome::Ok)
                            .await
                            .iter()
                            .filter(|e| e.entry.action == r.action)
                            .count();
                        assert!(
                            ok_after > ok_before,
                            "personal data handed out without an audit entry: {what}"
                        );
                    }
                } else {
                    assert!(denied_after > denied_before, "refusal not audited: {what}");
                }
                row.push(match want {
                    Expect::Allowed => "ok",
                    Expect::Forbidden => "403",
                    Expect::NotFound => "404",
                });
                checked += 1;
                if probe.fresh_session && r.path.ends_with("logout-everywhere") {
                    session = h.login(user).await;
                }
            }
        }
        table.push(format!("{role:<10} {}", row.join(" ")));
    }
    println!("checked {checked} role × endpoint × object answers");
    for line in table {
        println!("{line}");
    }
    assert!(checked > 7 * 40, "{checked}");
}

#[tokio::test]
async fn routes_cannot_be_declared_twice() {
    let h = common::harness().await;
    let state_router = || {
        let mut r = Registry::core();
        r.add(sotto_api::routes::system::routes());
        r
    };
    let st = sotto_api::ApiState::new(
        h.vault.clone(),
        h.access.clone(),
        std::sync::Arc::new(h.clock.clone()),
        sotto_api::ApiSettings::new(h.tenant.clone()),
    );
    let err = state_router().into_router(st).unwrap_err();
    assert!(err.to_string().contains("declared twice"), "{err}");
    // The password constant is not echoed anywhere in an error.
    let _ = SecretString::from(PASSWORD.to_owned());
}
