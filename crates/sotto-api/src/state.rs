//! What every handler shares: the vault, the access service, the clock and the settings.

use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use sotto_access::AccessService;
use sotto_core::{Clock, TenantId, UnixMillis};
use sotto_policy::{Policies, RetentionEngine};
use sotto_vault::Vault;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// Server settings (the `[server]` table of the configuration, minus listening and TLS).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest request body accepted (default 1 MiB).
    pub body_limit_bytes: usize,
    /// Largest recording upload (`POST /api/v1/uploads`, default 256 MiB: about 4.6 hours of
    /// 8 kHz 16-bit mono, 9 hours of G.711).
    pub upload_limit_bytes: usize,
    /// Requests per minute per client address (0 = no limit; default 600).
    pub rate_per_minute: u32,
    /// Requests a client may make at once before the rate applies (default 60).
    pub rate_burst: u32,
    /// The tenant of logins that name none, and where refusals of unidentified callers are
    /// recorded.
    pub default_tenant: TenantId,
    /// ISO 3166 region national phone numbers are read in (subject lookups).
    pub default_region: String,
}

impl ApiSettings {
    pub fn new(default_tenant: TenantId) -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            upload_limit_bytes: 256 * 1024 * 1024,
            rate_per_minute: 600,
            rate_burst: 60,
            default_tenant,
            default_region: "DK".into(),
        }
    }
}

struct Inner {
    vault: Vault,
    access: AccessService,
    clock: Arc<dyn Clock>,
    settings: ApiSettings,
    limiter: RateLimiter,
    openapi: OnceLock<Arc<String>>,
    /// Issue 6: processing-mode rules, holds, consent, cases, statistics, retention. Without
    /// it those endpoints answer 503 `policies_unavailable`.
    policies: OnceLock<PolicyState>,
    /// Live calls (`sotto-ingest`), when this server runs the ingest listeners.
    live: OnceLock<sotto_ingest::IngestState>,
}

/// The policy layer and the retention engine the API drives (see [`ApiState::with_policies`]).
#[derive(Clone)]
pub struct PolicyState {
    pub policies: Policies,
    /// Shared with the scheduler, so a run started through the API and a scheduled run never
    /// overlap (the engine runs one at a time).
    pub retention: Arc<RetentionEngine>,
}

/// Shared state. Cheap to clone.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

impl ApiState {
    pub fn new(
        vault: Vault,
        access: AccessService,
        clock: Arc<dyn Clock>,
        settings: ApiSettings,
    ) -> Self {
        let limiter = RateLimiter::new(settings.rate_per_minute, settings.rate_burst);
        Self(Arc::new(Inner {
            vault,
            access,
            clock,
            settings,
            limiter,
            openapi: OnceLock::new(),
            policies: OnceLock::new(),
            live: OnceLock::new(),
        }))
    }

    /// Serves the policy endpoints (issue 6) over `policies`, with a retention engine of its
    /// own; [`ApiState::retention_engine`] hands that engine to the scheduler. Set once: a
    /// second call is ignored.
    pub fn with_policies(self, policies: Policies) -> Self {
        let retention = Arc::new(RetentionEngine::new(policies.clone()));
        let _ = self.0.policies.set(PolicyState {
            policies,
            retention,
        });
        self
    }

    /// The policy layer, when configured.
    pub fn policy_state(&self) -> Option<&PolicyState> {
        self.0.policies.get()
    }

    /// The retention engine the API's "run now" uses (share it with the scheduler).
    pub fn retention_engine(&self) -> Option<Arc<RetentionEngine>> {
        self.0.policies.get().map(|p| p.retention.clone())
    }

    /// Serves the live-call endpoints (hand-over transcript, recording control) over the
    /// ingest side's registry and hub. Without it those endpoints answer 503.
    pub fn with_live(self, ingest: sotto_ingest::IngestState) -> Self {
        let _ = self.0.live.set(ingest);
        self
    }

    pub fn live(&self) -> Option<&sotto_ingest::IngestState> {
        self.0.live.get()
    }

    pub fn vault(&self) -> &Vault {
        &self.0.vault
    }
    pub fn access(&self) -> &AccessService {
        &self.0.access
    }
    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }
    pub fn now_ms(&self) -> UnixMillis {
        self.0.clock.now_ms()
    }
    pub(crate) fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    pub(crate) fn set_openapi(&self, doc: utoipa::openapi::OpenApi) {
        let json = doc.to_json().unwrap_or_else(|_| "{}".into());
        let _ = self.0.openapi.set(Arc::new(json));
    }

    pub(crate) fn openapi_json(&self) -> Arc<String> {
        self.0
            .openapi
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new("{}".into()))
    }

    /// The agent references of a team's members (what `Scope::Team` reaches).
    pub async fn team_agents(
        &self,
        tenant: &TenantId,
        team: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        Ok(self
            .access()
            .team_agents(tenant, team)
            .await?
            .into_iter()
            .collect())
    }
}
