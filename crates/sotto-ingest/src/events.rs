//! Narrow hooks through which the policy layer reaches live calls without `sotto-ingest`
//! depending on it (ingest comes before policy on the data path):
//!
//! - [`CallPolicy`] resolves the processing mode of a call from its routing (campaign, queue,
//!   called number — what the protocols carry in their start messages / `customParameters`)
//!   *before* the vault opens it. Default [`TenantMode`]: the tenant's own mode (the vault
//!   decides).
//! - [`CallEvents`] hears about finished calls (`call_completed`, and `recording_available`
//!   when audio was kept). Default [`NoEvents`]. The binary implements both over
//!   `sotto-policy` (schedule + webhook outbox).
//!
//! What crosses these traits is ids, routing keys (the tenant's own names and lines) and
//! counts — never the caller's number, a name or transcript text.

use async_trait::async_trait;
use sotto_core::{
    Channel, Direction, InteractionId, Kind, LegalBasis, ObjectId, ProcessingMode, SubjectId,
    TenantId, UnixMillis,
};
use std::collections::BTreeMap;

/// Where a live call came in: the keys processing-mode overrides match on. The called number is
/// the tenant's own line (the number dialled), never the caller's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallRouting {
    pub campaign: Option<String>,
    pub queue: Option<String>,
    pub called_number: Option<String>,
}

impl CallRouting {
    /// Longest routing key accepted (longer values are dropped, not truncated: a truncated key
    /// could match another rule).
    pub const MAX_KEY: usize = 128;

    /// Keeps a key only when it is 1..=128 printable characters.
    pub fn clean(v: Option<String>) -> Option<String> {
        v.map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s.len() <= Self::MAX_KEY)
            .filter(|s| !s.chars().any(char::is_control))
    }
}

/// What the policy decided for one live call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePolicy {
    /// `minimal`: only the caller's number is kept (no audio, no transcript stored; the live
    /// hand-over view still works). `anonymise`: the redacted transcript is kept, audio only with
    /// the call's own consent. `record`: audio and transcript are kept.
    pub mode: ProcessingMode,
    /// The basis audio is kept on in `record` mode when the call brings none (default:
    /// legitimate interest).
    pub basis: Option<LegalBasis>,
}

/// Resolves a live call's processing mode. Errors are one line without personal data; a call
/// whose policy cannot be resolved is refused (fail closed), never stored under a guess.
#[async_trait]
pub trait CallPolicy: Send + Sync + 'static {
    /// `Ok(None)`: no decision, the tenant's mode (the vault's default) applies.
    async fn resolve(
        &self,
        tenant: &TenantId,
        routing: &CallRouting,
    ) -> Result<Option<LivePolicy>, String>;
}

/// The default: no per-call decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantMode;

#[async_trait]
impl CallPolicy for TenantMode {
    async fn resolve(
        &self,
        _tenant: &TenantId,
        _routing: &CallRouting,
    ) -> Result<Option<LivePolicy>, String> {
        Ok(None)
    }
}

/// A committed live call, ids and counts only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompletedCall {
    pub tenant: TenantId,
    pub interaction: InteractionId,
    pub subject: SubjectId,
    pub channel: Channel,
    pub direction: Direction,
    pub protocol: &'static str,
    pub routing: CallRouting,
    /// The mode the call was stored under (`None`: the tenant's mode).
    pub mode: Option<ProcessingMode>,
    pub started_ms: UnixMillis,
    pub ended_ms: UnixMillis,
    pub duration_ms: u64,
    pub segments: usize,
    pub recordings: Vec<ObjectId>,
    pub audio_stored: bool,
    pub redactions: BTreeMap<Kind, u32>,
    /// Why the call ended (`completed`, `hangup`, `idle_timeout`, …).
    pub close_reason: &'static str,
}

/// Hears about finished live calls. Called after the call was committed; a failing observer
/// is logged and never undoes the call. Implementations should be quick (write an outbox row,
/// not deliver it).
#[async_trait]
pub trait CallEvents: Send + Sync + 'static {
    /// Every committed call.
    async fn call_completed(&self, _call: &CompletedCall) -> Result<(), String> {
        Ok(())
    }
    /// A committed call that kept audio (after `call_completed`).
    async fn recording_available(&self, _call: &CompletedCall) -> Result<(), String> {
        Ok(())
    }
}

/// The default: nobody listens.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl CallEvents for NoEvents {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_are_cleaned_not_truncated() {
        assert_eq!(
            CallRouting::clean(Some(" sales ".into())),
            Some("sales".into())
        );
        assert_eq!(CallRouting::clean(Some(String::new())), None);
        assert_eq!(CallRouting::clean(Some("a\u{7}b".into())), None);
        assert_eq!(CallRouting::clean(Some("x".repeat(129))), None);
        assert_eq!(CallRouting::clean(None), None);
    }
}
