//! Transports: WebSocket (axum) for native, Twilio and AudioHook; TCP for AudioSocket.

pub(crate) mod tcp;
pub(crate) mod ws;

use crate::server::IngestState;
use crate::session::{CallSession, CloseReason, SharedSession};

/// Ends a session the transport owns; returns the reason line for the client.
pub(crate) async fn end(state: &IngestState, s: &SharedSession, reason: CloseReason) -> String {
    let line = reason.describe();
    match CallSession::finish(s, reason, state.engine_wait()).await {
        Some(Err(e)) => {
            tracing::warn!(error = %e, "live call not committed");
            format!("{line}; not stored: storage failure")
        }
        _ => line,
    }
}
