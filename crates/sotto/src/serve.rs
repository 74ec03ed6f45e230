//! `sotto serve`: the HTTPS REST API (sotto-api) on this data directory.
//!
//! Embedded default: listen on 127.0.0.1:8443 with a self-signed certificate generated into
//! `<data>/tls/` (a clear warning says so); `[server] tls_cert` / `tls_key` name a real one.
//! Users, roles and allowlists live in `<data>/access.db` (see `sotto user add`).

use crate::app::App;
use crate::config::Config;
use anyhow::{bail, Context, Result};
use sotto_access::{AccessConfig, AccessService, IpNet};
use sotto_api::{ApiSettings, ApiState};
use sotto_core::{Clock, SystemClock};
use sotto_detect::Detector;
use sotto_ingest::{IngestConfig, IngestServer, IngestState};
use sotto_policy::{spawn_dispatcher_until, spawn_scheduler, Policies, Webhooks};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// The default listening address (loopback: put a reverse proxy in front to publish it).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Default live-call listeners (loopback; telephony reaches them through the operator's SBC
/// or a reverse proxy).
pub const DEFAULT_INGEST_LISTEN: &str = "127.0.0.1:8089";
pub const DEFAULT_AUDIOSOCKET_LISTEN: &str = "127.0.0.1:8090";
/// Default seconds between retention runs.
pub const DEFAULT_RETENTION_EVERY_S: u64 = 3600;

/// `None` for "off", else the address (or the default).
fn listener_addr(v: &Option<String>, default: &str, key: &str) -> Result<Option<SocketAddr>> {
    match v.as_deref() {
        Some("off") => Ok(None),
        Some(a) => a
            .parse()
            .map(Some)
            .with_context(|| format!("[server] {key} `{a}` is not an address:port (or \"off\")")),
        None => Ok(Some(default.parse().context("default listen address")?)),
    }
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: `[server] listen`, else 127.0.0.1:8443]; port 0 picks one
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Plain HTTP instead of HTTPS, on a loopback address only (local tooling and tests)
    #[arg(long)]
    pub insecure_http: bool,
    /// Live-call WebSocket listener, or `off` [default: `[server] ingest_listen`, else 127.0.0.1:8089]
    #[arg(long, value_name = "ADDR|off")]
    pub ingest_listen: Option<String>,
    /// AudioSocket TCP listener, or `off` [default: `[server] audiosocket_listen`, else 127.0.0.1:8090]
    #[arg(long, value_name = "ADDR|off")]
    pub audiosocket_listen: Option<String>,
}

pub async fn run(cfg: Config, a: ServeArgs) -> Result<ExitCode> {
    let app = if cfg.data_dir.is_dir() {
        App::open_for_write(cfg).await?
    } else {
        let (app, created) = App::init(cfg).await?;
        if created {
            eprintln!(
                "created data directory {} with a new master key",
                app.cfg.data_dir.display()
            );
        }
        app
    };
    let s = app.cfg.server.clone();
    let listen = match (a.listen, &s.listen) {
        (Some(l), _) => l,
        (None, Some(l)) => l
            .parse()
            .with_context(|| format!("[server] listen `{l}` is not an address:port"))?,
        (None, None) => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    if a.insecure_http && !listen.ip().is_loopback() {
        bail!("--insecure-http is only allowed on a loopback address (got {listen})");
    }
    let trusted_proxies = s
        .trusted_proxies
        .iter()
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .with_context(|| format!("[server] trusted_proxies: `{p}` is not a CIDR network"))
        })
        .collect::<Result<Vec<_>>>()?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let access_cfg = AccessConfig {
        trusted_proxies,
        ..AccessConfig::default()
    };
    let access_path = app.cfg.data_dir.join("access.db");
    let access = AccessService::open(
        &access_path,
        app.vault.audit().clone(),
        clock.clone(),
        access_cfg,
    )
    .await
    .with_context(|| format!("cannot open {}", access_path.display()))?;

    let mut settings = ApiSettings::new(app.cfg.default_tenant.clone());
    settings.default_region = app.cfg.default_region.clone();
    if let Some(v) = s.body_limit_bytes {
        settings.body_limit_bytes = v;
    }
    if let Some(v) = s.rate_per_minute {
        settings.rate_per_minute = v;
    }
    if let Some(v) = s.rate_burst {
        settings.rate_burst = v;
    }
    let ingest_addr = listener_addr(
        &a.ingest_listen.clone().or(s.ingest_listen.clone()),
        DEFAULT_INGEST_LISTEN,
        "ingest_listen",
    )?;
    let audiosocket_addr = listener_addr(
        &a.audiosocket_listen
            .clone()
            .or(s.audiosocket_listen.clone()),
        DEFAULT_AUDIOSOCKET_LISTEN,
        "audiosocket_listen",
    )?;
    let retention_every = s.retention_every_s.unwrap_or(DEFAULT_RETENTION_EVERY_S);
    // Webhooks (issue 6): validated before anything listens; a bad entry stops the start with
    // one line naming the receiver and the field.
    let webhook_cfg = app.cfg.webhook_config()?;
    let detector = Arc::new(Detector::new());
    let mut policies = Policies::new(app.vault.clone(), detector.clone());
    let hooks = if webhook_cfg.endpoints.is_empty() {
        None
    } else {
        let n = webhook_cfg.endpoints.len();
        let h = Webhooks::new(app.vault.store().clone(), webhook_cfg, clock.clone())
            .context("[[webhooks]]")?;
        policies = policies.with_webhooks(h.clone());
        eprintln!("sotto: webhooks to {n} receiver(s)");
        Some(h)
    };
    // Live calls share their registry and hub with the API (hand-over transcript, control).
    // Each call's mode comes from the policy rules for its routing (campaign, queue, called
    // number); committed calls are scheduled and announced to webhooks.
    // The transcription engine (`[transcribe]`); a Whisper model is loaded once, here.
    let engine_cfg = match ingest_addr {
        Some(_) => {
            let choice = app.cfg.engine.clone();
            eprintln!("sotto: transcription engine {}", choice.describe());
            Some(
                tokio::task::spawn_blocking(move || choice.load())
                    .await
                    .context("loading the transcription engine")?
                    .context("cannot start the transcription engine")?,
            )
        }
        None => None,
    };
    let ingest_state = ingest_addr.map(|ws| {
        let mut icfg = IngestConfig::new(app.cfg.data_dir.join("spool"));
        icfg.ws_addr = ws;
        icfg.audiosocket_addr = audiosocket_addr;
        icfg.default_tenant = app.cfg.default_tenant.clone();
        icfg.phone_region = app.cfg.default_region.clone();
        if let Some(e) = engine_cfg {
            icfg.engine = e;
        }
        let call_hooks = Arc::new(crate::live_policy::PolicyHooks::new(policies.clone()));
        IngestState::with_detector(icfg, app.vault.clone(), detector.clone())
            .with_call_policy(call_hooks.clone())
            .with_call_events(call_hooks)
    });
    // Policies (issue 6): the API and the retention scheduler share one engine.
    let mut state =
        ApiState::new(app.vault.clone(), access, clock, settings).with_policies(policies);
    if let Some(i) = &ingest_state {
        state = state.with_live(i.clone());
    }
    let engine = state.retention_engine();
    let router = sotto_api::router(state)?;

    let tls = if a.insecure_http {
        None
    } else {
        let setup = match (&s.tls_cert, &s.tls_key) {
            (Some(c), Some(k)) => sotto_api::tls::from_files(c, k)?,
            (None, None) => {
                let dir = app.cfg.data_dir.join("tls");
                let setup = sotto_api::tls::self_signed(&dir)?;
                eprintln!(
                    "WARNING: serving with a SELF-SIGNED certificate ({}); browsers will warn. \
                     Clients may trust {} — for production set [server] tls_cert and tls_key.",
                    setup.cert_path.display(),
                    setup
                        .self_signed_ca
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
                setup
            }
            _ => bail!("[server] tls_cert and tls_key must be given together"),
        };
        Some(setup.config)
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if tls.is_none() {
        eprintln!("WARNING: plain HTTP (--insecure-http): for local testing only");
    }
    println!("sotto: serving {scheme}://{addr} (OpenAPI: {scheme}://{addr}/api/v1/openapi.json); Ctrl-C stops");

    // Live calls: WebSocket protocols and AudioSocket, each call checked before disk.
    let ingest = match ingest_state {
        Some(ist) => {
            let server = IngestServer::start_with(ist)
                .await
                .context("cannot start the live-call listeners")?;
            // stderr: stdout's first line is the API URL, which scripts read and then close.
            eprintln!(
                "sotto: live calls on ws://{}/v1/ingest/{{native,twilio,audiohook}}{}",
                server.ws_addr,
                server
                    .audiosocket_addr
                    .map(|a| format!(", AudioSocket on tcp://{a}"))
                    .unwrap_or_default()
            );
            Some(server)
        }
        None => None,
    };
    // Retention, holds and anonymisation run by themselves (issue 6).
    let retention = engine
        .filter(|_| retention_every > 0)
        .map(|engine| spawn_scheduler(engine, std::time::Duration::from_secs(retention_every)));
    // The outbox dispatcher: delivers, signs, retries with backoff; stops between passes.
    let (stop_hooks, stop_rx) = tokio::sync::watch::channel(false);
    let dispatcher = hooks.map(|h| spawn_dispatcher_until(h, app.cfg.webhook_poll(), stop_rx));

    let served = sotto_api::serve(listener, router, tls, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("server failed");
    if let Some(r) = retention {
        r.abort();
    }
    if let Some(i) = ingest {
        // Ends every live call, committing what was already checked.
        i.shutdown().await;
    }
    // Events of the calls just finished stay in the outbox for the next start; the pass in
    // progress completes so no attempt is left unrecorded.
    let _ = stop_hooks.send(true);
    if let Some(d) = dispatcher {
        let _ = d.await;
    }
    served?;
    Ok(ExitCode::SUCCESS)
}
