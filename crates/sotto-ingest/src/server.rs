//! The ingest listeners: one axum [`router`] for the WebSocket protocols and a TCP listener for
//! AudioSocket, started together by [`IngestServer::start`] (what `sotto serve` calls).

use crate::config::IngestConfig;
use crate::events::{CallEvents, CallPolicy, NoEvents, TenantMode};
use crate::hub::LiveHub;
use crate::metrics::Metrics;
use crate::registry::CallRegistry;
use crate::session::{CallSession, CloseReason};
use crate::{transport, Result};
use sotto_detect::policy::Policy;
use sotto_detect::Detector;
use sotto_vault::Vault;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything a transport and a session need. Cheap to clone.
#[derive(Clone)]
pub struct IngestState {
    pub vault: Vault,
    pub cfg: Arc<IngestConfig>,
    pub registry: Arc<CallRegistry>,
    pub hub: Arc<LiveHub>,
    pub metrics: Arc<Metrics>,
    pub detector: Arc<Detector>,
    pub policy: Arc<Policy>,
    /// Resolves each call's processing mode from its routing (default: the tenant's mode).
    pub call_policy: Arc<dyn CallPolicy>,
    /// Hears about committed calls (default: nobody).
    pub call_events: Arc<dyn CallEvents>,
    pub(crate) audiosocket: Arc<transport::tcp::Pending>,
    /// Nonces of verified AudioHook signatures still inside their window (replay refusal).
    pub(crate) audiohook_nonces: Arc<std::sync::Mutex<crate::proto::audiohook::NonceGuard>>,
}

impl std::fmt::Debug for IngestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestState").finish_non_exhaustive()
    }
}

impl IngestState {
    pub fn new(cfg: IngestConfig, vault: Vault) -> Self {
        Self::with_detector(cfg, vault, Arc::new(Detector::new()))
    }

    /// Shares a detector already built (building one loads its lexicons).
    pub fn with_detector(cfg: IngestConfig, vault: Vault, detector: Arc<Detector>) -> Self {
        Self {
            vault,
            cfg: Arc::new(cfg),
            registry: CallRegistry::new(),
            hub: LiveHub::new(),
            metrics: Arc::new(Metrics::new()),
            detector,
            policy: Arc::new(sotto_vault::transcript::storage_policy(None)),
            call_policy: Arc::new(TenantMode),
            call_events: Arc::new(NoEvents),
            audiosocket: Arc::new(transport::tcp::Pending::default()),
            audiohook_nonces: Arc::new(std::sync::Mutex::new(
                crate::proto::audiohook::NonceGuard::new(
                    crate::proto::audiohook::DEFAULT_NONCE_CAPACITY,
                ),
            )),
        }
    }

    /// Per-call processing modes from `p` (campaign / queue / called-number overrides).
    pub fn with_call_policy(mut self, p: Arc<dyn CallPolicy>) -> Self {
        self.call_policy = p;
        self
    }

    /// Committed calls are reported to `e` (`call.completed`, `recording.available`).
    pub fn with_call_events(mut self, e: Arc<dyn CallEvents>) -> Self {
        self.call_events = e;
        self
    }

    /// How long a closing call waits for its engines.
    pub(crate) fn engine_wait(&self) -> Duration {
        if self.cfg.engine.wants_audio() {
            Duration::from_secs(30)
        } else {
            Duration::from_millis(0)
        }
    }
}

/// Applies a recording-control command to a live call and records it in the audit log
/// (`recording.control`, or `consent.change` for consent), refusals included — the path of
/// every control, whether it came over a protocol or the API. The entry names the call and its
/// subject and the command, never the reason text.
pub async fn control_audited(
    st: &IngestState,
    id: sotto_core::InteractionId,
    cmd: &crate::Command,
    actor: &str,
    ctx: Option<(Option<String>, Option<String>)>,
) -> Result<()> {
    let info = st
        .registry
        .info(id)
        .ok_or_else(|| crate::IngestError::UnknownCall(id.to_string()))?;
    let result = st.registry.control(id, cmd.clone(), actor);
    let outcome = match &result {
        Ok(()) => sotto_audit::Outcome::Ok,
        Err(crate::IngestError::Protocol(_)) => sotto_audit::Outcome::Denied,
        Err(_) => sotto_audit::Outcome::Error,
    };
    let (from, purpose) = ctx.unwrap_or((None, None));
    let entry = info.control_entry(
        st.vault.now_ms(),
        actor,
        cmd,
        from,
        purpose.as_deref(),
        outcome,
    );
    st.vault.audit().append(entry).await?;
    result
}

/// The WebSocket routes: `/v1/ingest/native`, `/v1/ingest/twilio`, `/v1/ingest/audiohook`.
pub fn router(state: IngestState) -> axum::Router {
    transport::ws::router(state)
}

/// The running listeners.
pub struct IngestServer {
    pub ws_addr: SocketAddr,
    pub audiosocket_addr: Option<SocketAddr>,
    pub state: IngestState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for IngestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestServer")
            .field("ws_addr", &self.ws_addr)
            .field("audiosocket_addr", &self.audiosocket_addr)
            .finish()
    }
}

impl IngestServer {
    /// Sweeps spool files left by a crash, binds the listeners and serves until
    /// [`IngestServer::shutdown`].
    pub async fn start(cfg: IngestConfig, vault: Vault) -> Result<Self> {
        Self::start_with(IngestState::new(cfg, vault)).await
    }

    /// [`IngestServer::start`] with a state built by the caller (to share its registry, hub
    /// and metrics with the API).
    pub async fn start_with(state: IngestState) -> Result<Self> {
        let swept = sotto_vault::live::sweep_spool(&state.cfg.spool_dir)?;
        if swept > 0 {
            tracing::warn!(
                files = swept,
                "removed spool files of calls interrupted by a crash (unreadable ciphertext)"
            );
        }
        let (tx, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let ws = tokio::net::TcpListener::bind(state.cfg.ws_addr).await?;
        let ws_addr = ws.local_addr()?;
        let app = router(state.clone());
        let mut rx1 = rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(ws, app).with_graceful_shutdown(async move {
                let _ = rx1.wait_for(|v| *v).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "ingest WebSocket listener stopped");
            }
        }));
        let mut audiosocket_addr = None;
        if let Some(a) = state.cfg.audiosocket_addr {
            let l = tokio::net::TcpListener::bind(a).await?;
            audiosocket_addr = Some(l.local_addr()?);
            let st = state.clone();
            tasks.push(tokio::spawn(transport::tcp::accept_loop(st, l, rx.clone())));
        }
        Ok(Self {
            ws_addr,
            audiosocket_addr,
            state,
            shutdown: tx,
            tasks,
        })
    }

    pub fn registry(&self) -> &Arc<CallRegistry> {
        &self.state.registry
    }
    pub fn hub(&self) -> &Arc<LiveHub> {
        &self.state.hub
    }
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.state.metrics
    }

    /// Stops accepting, ends every live call (committing what was checked) and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for info in self.state.registry.list() {
            if let Some(s) = self.state.registry.session(info.id) {
                let _ =
                    CallSession::finish(&s, CloseReason::Shutdown, self.state.engine_wait()).await;
            }
        }
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}
