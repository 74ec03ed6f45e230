//! Test harness: a vault with two tenants and three interactions, an access service with one
//! user per role, and the API served over loopback (plain HTTP; TLS has its own test).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_arguments
)]

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sotto_access::{AccessConfig, AccessService, ExposeSecret, Role, SecretString, UserId};
use sotto_audio::{DecodedWav, Pcm16, SourceEncoding};
use sotto_audit::{AuditLog, CheckpointSigner, Outcome, Query, Record};
use sotto_core::{
    Channel, Clock, Direction, InteractionId, Lang, LegalBasis, ManualClock, ProcessingMode,
    Speaker, TenantId,
};
use sotto_detect::Detector;
use sotto_keys::{LocalKeyStore, MasterKey};
use sotto_store::{BlobStore, SqliteStore};
use sotto_vault::transcript::{SegmentInput, TranscriptInput};
use sotto_vault::{AudioInput, Identifier, IngestRequest, Vault};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery staple";
pub const START_MS: i64 = 1_767_225_600_000; // 2026-01-01

/// One stored interaction and who handled it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: InteractionId,
    pub recording: String,
    pub tenant: TenantId,
    pub agent: String,
    pub phone: String,
}

pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub tenant: TenantId,
    pub totp_secret: Vec<u8>,
    pub recovery: Vec<String>,
    pub team: Option<String>,
    pub agent_ref: Option<String>,
}

/// A call in progress (through sotto-ingest) and who handles it.
#[derive(Clone, Debug)]
pub struct LiveRef {
    pub id: InteractionId,
    pub agent: String,
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub vault: Vault,
    pub access: AccessService,
    pub audit: Arc<AuditLog>,
    /// The policy layer the API serves (issue 6).
    pub policies: sotto_policy::Policies,
    pub tenant: TenantId,
    pub other: TenantId,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub users: HashMap<Role, User>,
    /// Handled by agent `a1` (team `t1`).
    pub mine: Stored,
    /// Handled by agent `a2` (team `t2`).
    pub theirs: Stored,
    /// In the other tenant.
    pub foreign: Stored,
    /// The live-call listeners, sharing their registry and hub with the API.
    pub ingest: sotto_ingest::IngestServer,
    /// Calls in progress: handled by `a1`, by `a2`, and one in the other tenant.
    pub live_mine: LiveRef,
    pub live_theirs: LiveRef,
    pub live_foreign: LiveRef,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn tone(secs: u32) -> DecodedWav {
    let n = (secs * 8000) as usize;
    DecodedWav {
        pcm: Pcm16 {
            sample_rate: 8000,
            channels: 1,
            samples: (0..n).map(|i| ((i % 40) as i16 - 20) * 300).collect(),
        },
        source: SourceEncoding::Pcm16,
    }
}

pub async fn ingest(
    vault: &Vault,
    clock: &ManualClock,
    tenant: &TenantId,
    phone: &str,
    agent: &str,
) -> Stored {
    let r = vault
        .ingest(IngestRequest {
            tenant: tenant.clone(),
            channel: Channel::Call,
            direction: Direction::Inbound,
            started_ms: Some(clock.now_ms()),
            identifiers: vec![Identifier::phone(phone, "DK").unwrap()],
            subject: None,
            agent: Some(agent.into()),
            case_id: None,
            lang: Some(Lang::En),
            audio: Some(AudioInput { wav: tone(1) }),
            transcript: Some(TranscriptInput {
                lang: None,
                segments: vec![SegmentInput {
                    speaker: Speaker::Caller,
                    start_ms: 0,
                    end_ms: 900,
                    text: "hello I would like to change my delivery address".into(),
                    words: None,
                    kind: None,
                    lang: None,
                }],
            }),
            recording_basis: Some(LegalBasis::Consent),
            basis_source: "test".into(),
        })
        .await
        .unwrap();
    let recs = vault.store().recordings(r.interaction).await.unwrap();
    Stored {
        id: r.interaction,
        recording: recs[0].id.to_string(),
        tenant: tenant.clone(),
        agent: agent.into(),
        phone: phone.into(),
    }
}

pub struct Options {
    pub trusted_proxies: Vec<sotto_access::IpNet>,
    pub rate_per_minute: u32,
    pub rate_burst: u32,
    pub upload_limit_bytes: Option<usize>,
    /// The live calls' delay line (default: sotto-ingest's 20 s).
    pub ingest_delay_ms: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            rate_per_minute: 0,
            rate_burst: 1,
            upload_limit_bytes: None,
            ingest_delay_ms: None,
        }
    }
}

pub async fn harness() -> Harness {
    harness_with(Options::default()).await
}

pub async fn harness_with(opts: Options) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    std::fs::create_dir_all(data.join("audit")).unwrap();
    let clock = ManualClock::new(START_MS);
    let master = MasterKey::create_file(&dir.path().join("master.key")).unwrap();
    let keys = LocalKeyStore::open(&data.join("keys/keys.db"), master)
        .await
        .unwrap();
    let store = SqliteStore::open(&data.join("sotto.db")).await.unwrap();
    let blobs = BlobStore::local(&data.join("blobs")).unwrap();
    let signer =
        CheckpointSigner::create_file(&data.join("audit/checkpoint.key"), "sotto-test").unwrap();
    let audit = Arc::new(
        AuditLog::open(&data.join("audit/audit.db"), signer)
            .await
            .unwrap(),
    );
    let vault = Vault::new(
        Arc::new(store),
        blobs,
        Arc::new(keys),
        audit.clone(),
        Arc::new(Detector::new()),
        Arc::new(clock.clone()),
    );
    let tenant = TenantId::default_tenant();
    let other = TenantId::new("other").unwrap();
    vault
        .put_tenant(&tenant, "Test", ProcessingMode::Record)
        .await
        .unwrap();
    vault
        .put_tenant(&other, "Other", ProcessingMode::Record)
        .await
        .unwrap();
    let mine = ingest(&vault, &clock, &tenant, "+4520123456", "a1").await;
    let theirs = ingest(&vault, &clock, &tenant, "+4520654321", "a2").await;
    let foreign = ingest(&vault, &clock, &other, "+4520999999", "a1").await;

    let access = AccessService::in_memory(
        audit.clone(),
        Arc::new(clock.clone()),
        AccessConfig {
            trusted_proxies: opts.trusted_proxies.clone(),
            ..AccessConfig::default()
        },
    )
    .await
    .unwrap();

    let mut users = HashMap::new();
    for role in Role::ALL {
        let (team, agent_ref) = match role {
            Role::Agent => (Some("t1"), Some("a1")),
            Role::Supervisor => (Some("t1"), Some("s1")),
            _ => (None, None),
        };
        let u = create_user(&access, &tenant, role.as_str(), *role, team, agent_ref).await;
        users.insert(*role, u);
    }
    // The other agent, so team t2 has a member.
    create_user(
        &access,
        &tenant,
        "agent2",
        Role::Agent,
        Some("t2"),
        Some("a2"),
    )
    .await;

    let mut settings = sotto_api::ApiSettings::new(tenant.clone());
    settings.rate_per_minute = opts.rate_per_minute;
    settings.rate_burst = opts.rate_burst;
    let policies = sotto_policy::Policies::new(vault.clone(), Arc::new(Detector::new()));
    if let Some(n) = opts.upload_limit_bytes {
        settings.upload_limit_bytes = n;
    }
    let mut icfg = sotto_ingest::IngestConfig::new(dir.path().join("spool"));
    icfg.audiosocket_addr = None;
    icfg.idle_timeout = std::time::Duration::from_secs(600);
    if let Some(d) = opts.ingest_delay_ms {
        icfg.delay_ms = d;
    }
    let ingest =
        sotto_ingest::IngestServer::start_with(sotto_ingest::IngestState::new(icfg, vault.clone()))
            .await
            .unwrap();
    let live_mine = open_live(&ingest, &tenant, "a1").await;
    let live_theirs = open_live(&ingest, &tenant, "a2").await;
    let live_foreign = open_live(&ingest, &other, "a1").await;
    let state = sotto_api::ApiState::new(
        vault.clone(),
        access.clone(),
        Arc::new(clock.clone()),
        settings,
    )
    .with_policies(policies.clone())
    .with_live(ingest.state.clone());
    let router = sotto_api::router(state).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = sotto_api::serve(listener, router, None, std::future::pending()).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness {
        dir,
        clock,
        vault,
        access,
        audit,
        policies,
        tenant,
        other,
        addr,
        http,
        users,
        mine,
        theirs,
        foreign,
        ingest,
        live_mine,
        live_theirs,
        live_foreign,
        server,
    }
}

/// Opens a call in progress handled by `agent` (one caller leg, μ-law), as a protocol would.
pub async fn open_live(
    ingest: &sotto_ingest::IngestServer,
    tenant: &TenantId,
    agent: &str,
) -> LiveRef {
    let s = sotto_ingest::CallSession::open(
        &ingest.state,
        sotto_ingest::CallStart {
            tenant: Some(tenant.clone()),
            caller: Some(sotto_core::Personal::new("+4520111111".to_owned())),
            consent: None,
            campaign: None,
            queue: None,
            called_number: None,
            direction: Direction::Inbound,
            lang: Some(Lang::En),
            agent: Some(agent.to_owned()),
            protocol: "native",
            external_id: None,
            legs: vec![sotto_vault::LiveLeg {
                speaker: Speaker::Caller,
                encoding: SourceEncoding::MuLaw,
                sample_rate: 8000,
            }],
        },
    )
    .await
    .unwrap();
    let id = s.lock().unwrap().id();
    LiveRef {
        id,
        agent: agent.to_owned(),
    }
}

pub async fn create_user(
    access: &AccessService,
    tenant: &TenantId,
    username: &str,
    role: Role,
    team: Option<&str>,
    agent_ref: Option<&str>,
) -> User {
    let (id, enrol) = access
        .create_user(
            tenant,
            username,
            &SecretString::from(PASSWORD.to_owned()),
            &[role],
            team,
            agent_ref,
            "test",
        )
        .await
        .unwrap();
    User {
        id,
        username: username.into(),
        role,
        tenant: tenant.clone(),
        totp_secret: sotto_access::totp::base32_decode(enrol.secret_base32.expose_secret())
            .unwrap(),
        recovery: enrol
            .recovery_codes
            .iter()
            .map(|c| c.expose_secret().to_owned())
            .collect(),
        team: team.map(str::to_owned),
        agent_ref: agent_ref.map(str::to_owned),
    }
}

/// A signed-in console session.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub actor: String,
}

/// The credentials a request carries.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Session(Session),
    /// Cookie without the CSRF header.
    CookieOnly(String),
    Bearer(String),
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn code_now(&self, u: &User) -> String {
        sotto_access::totp::code_at(&u.totp_secret, self.clock.now_ms())
    }

    /// Moves to the next TOTP step (so a fresh code is accepted).
    pub fn next_step(&self) {
        self.clock.advance_ms(30_000);
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        match auth {
            Auth::None => {}
            Auth::Session(s) => {
                rb = rb
                    .header(
                        "cookie",
                        format!("{}={}", sotto_api::SESSION_COOKIE, s.cookie),
                    )
                    .header("x-csrf-token", &s.csrf);
            }
            Auth::CookieOnly(c) => {
                rb = rb.header("cookie", format!("{}={}", sotto_api::SESSION_COOKIE, c));
            }
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Sends a raw body with its content type (multipart uploads).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        match auth {
            Auth::None => {}
            Auth::Session(s) => {
                rb = rb
                    .header(
                        "cookie",
                        format!("{}={}", sotto_api::SESSION_COOKIE, s.cookie),
                    )
                    .header("x-csrf-token", &s.csrf);
            }
            Auth::CookieOnly(c) => {
                rb = rb.header("cookie", format!("{}={}", sotto_api::SESSION_COOKIE, c));
            }
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Like [`Harness::send`] for an endpoint that streams (Server-Sent Events): a success
    /// answer's body is not read (the stream would not end); an error's is.
    pub async fn send_stream(&self, path: &str, auth: &Auth) -> Resp {
        let mut rb = self.http.get(self.url(path));
        match auth {
            Auth::None => {}
            Auth::Session(s) => {
                rb = rb.header(
                    "cookie",
                    format!("{}={}", sotto_api::SESSION_COOKIE, s.cookie),
                );
            }
            Auth::CookieOnly(c) => {
                rb = rb.header("cookie", format!("{}={}", sotto_api::SESSION_COOKIE, c));
            }
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = if status.is_success() {
            Vec::new()
        } else {
            r.bytes().await.unwrap().to_vec()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn login_raw(&self, u: &User, code: &str, headers: &[(&str, &str)]) -> Resp {
        let body = serde_json::json!({
            "tenant": u.tenant.as_str(),
            "username": u.username,
            "password": PASSWORD,
            "totp": code,
        });
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(&body),
            headers,
        )
        .await
    }

    /// Signs `u` in at the next TOTP step.
    pub async fn login(&self, u: &User) -> Session {
        self.next_step();
        let code = self.code_now(u);
        let r = self.login_raw(u, &code, &[]).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "login of {}: {}",
            u.username,
            String::from_utf8_lossy(&r.body)
        );
        session_of(&r)
    }

    pub async fn login_role(&self, role: Role) -> Session {
        self.login(&self.users[&role]).await
    }

    /// Entries of `tenant` by `actor` with `outcome` (all actions).
    pub async fn entries(&self, tenant: &TenantId, actor: &str, outcome: Outcome) -> Vec<Record> {
        self.audit
            .query(
                tenant,
                &Query {
                    actor: Some(actor.to_owned()),
                    limit: Some(100_000),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.outcome == outcome)
            .collect()
    }

    pub async fn all_entries(&self, tenant: &TenantId) -> Vec<Record> {
        self.audit
            .query(
                tenant,
                &Query {
                    limit: Some(100_000),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }
}

/// The session cookie and CSRF token a login answer carries.
pub fn session_of(r: &Resp) -> Session {
    let set = r
        .headers
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    assert!(set.starts_with("__Host-sotto_session="), "{set}");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "cookie lacks {attr}: {set}");
    }
    let cookie = set
        .trim_start_matches("__Host-sotto_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let j = r.json();
    Session {
        cookie,
        csrf: j["csrf_token"].as_str().unwrap().to_owned(),
        actor: j["whoami"]["actor"].as_str().unwrap().to_owned(),
    }
}

/// A `multipart/form-data` body: (name, content type, bytes) per part. Returns the content
/// type (with its boundary) and the body.
pub fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "sotto-test-boundary-7d3f9a";
    let mut body = Vec::new();
    for (name, ct, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
                 Content-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A WAV of `secs` seconds of tone (8 kHz 16-bit mono).
pub fn tone_wav(secs: u32) -> Vec<u8> {
    sotto_audio::encode_wav(&tone(secs).pcm)
}

/// Fails when any of `canaries` is found in clear in a file under `dir`.
pub fn scan_for(dir: &std::path::Path, canaries: &[&[u8]]) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            scan_for(&p, canaries);
        } else if let Ok(bytes) = std::fs::read(&p) {
            for c in canaries {
                assert!(
                    !bytes.windows(c.len()).any(|w| w == *c),
                    "a planted value is in clear in {}",
                    p.display()
                );
            }
        }
    }
}
