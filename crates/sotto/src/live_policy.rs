//! The policy layer behind live calls: `sotto-ingest` asks [`PolicyHooks`] (through its narrow
//! `CallPolicy` / `CallEvents` traits) for each call's processing mode — campaign, queue and
//! called-number overrides included — and reports committed calls, which get their retention
//! schedule and go to the webhook outbox (`call.completed`, `recording.available`).

use async_trait::async_trait;
use sotto_core::{Channel, TenantId};
use sotto_ingest::{CallEvents, CallPolicy, CallRouting, CompletedCall, LivePolicy};
use sotto_policy::{LiveCall, Policies, Routing};

/// Adapts [`Policies`] to the ingest hooks.
#[derive(Clone)]
pub struct PolicyHooks {
    policies: Policies,
}

impl PolicyHooks {
    pub fn new(policies: Policies) -> Self {
        Self { policies }
    }
}

fn routing(r: &CallRouting) -> Routing {
    Routing {
        campaign: r.campaign.clone(),
        queue: r.queue.clone(),
        called_number: r.called_number.clone(),
    }
}

fn live_call(c: &CompletedCall) -> LiveCall {
    LiveCall {
        tenant: c.tenant.clone(),
        interaction: c.interaction,
        subject: c.subject,
        case: None,
        channel: Channel::Call,
        direction: c.direction,
        duration_ms: c.duration_ms,
        audio_stored: c.audio_stored,
        redactions: c.redactions.clone(),
        routing: routing(&c.routing),
    }
}

#[async_trait]
impl CallPolicy for PolicyHooks {
    async fn resolve(
        &self,
        tenant: &TenantId,
        r: &CallRouting,
    ) -> Result<Option<LivePolicy>, String> {
        let eff = self
            .policies
            .effective(tenant, &routing(r))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(LivePolicy {
            mode: eff.mode,
            basis: eff.basis,
        }))
    }
}

#[async_trait]
impl CallEvents for PolicyHooks {
    async fn call_completed(&self, c: &CompletedCall) -> Result<(), String> {
        self.policies
            .live_call_completed(&live_call(c))
            .await
            .map_err(|e| e.to_string())
    }

    async fn recording_available(&self, c: &CompletedCall) -> Result<(), String> {
        self.policies
            .live_recording_available(&live_call(c))
            .await
            .map_err(|e| e.to_string())
    }
}
