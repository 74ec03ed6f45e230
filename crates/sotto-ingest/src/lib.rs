//! Live calls: the path from a telephony stream to the vault (issue 4).
//!
//! Owns: one [`CallSession`] per live call with its legs kept apart (caller / agent / bot); the
//! in-memory delay line that holds each leg's audio until transcription and the streaming
//! detector have looked at it; silencing card and special-category intervals (and paused,
//! unconsented or unchecked audio) before the vault's [`sotto_vault::LiveRecordingWriter`]
//! encrypts it; the [`LiveHub`] that streams redacted transcript segments to agents' screens; the
//! [`CallRegistry`] through which recording control and consent reach a running call; the
//! protocols (native Sotto WebSocket, Twilio Media Streams, Genesys AudioHook, Asterisk
//! AudioSocket) as pure codecs ([`proto`]) plus their transports; the ingest metrics; and the
//! narrow hooks ([`events`]) through which the policy layer picks a call's processing mode and
//! hears about finished calls (ingest never depends on `sotto-policy`).
//!
//! Must never: let audio reach the writer (and so the disk) before its interval was checked —
//! audio that could not be checked in time is replaced by silence and marked as a gap; log or
//! put into errors any transcript text, number or name; keep a call alive when its input is
//! malformed (that call closes with a clear reason, every other call goes on).
//!
//! The delay line and its trade-off: see [`session`] and ARCHITECTURE.md "Live calls".

pub mod config;
pub mod events;
pub mod hub;
pub mod loadgen;
pub mod metrics;
pub mod proto;
pub mod registry;
pub mod server;
pub mod session;
mod transport;

pub use config::IngestConfig;
pub use events::{
    CallEvents, CallPolicy, CallRouting, CompletedCall, LivePolicy, NoEvents, TenantMode,
};
pub use hub::{LiveEvent, LiveHub, LiveSegment, LiveSnapshot};
pub use metrics::Metrics;
pub use registry::{CallInfo, CallRegistry, Command};
pub use server::{control_audited, router, IngestServer, IngestState};
pub use session::{CallSession, CallStart, CloseReason, TimelineEvent, TimelineKind};

/// Errors of the ingest side. Messages carry ids, counts and field names only.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("unknown call {0}")]
    UnknownCall(String),
    #[error("call {0} has ended")]
    CallEnded(String),
    /// The processing policy for a call could not be resolved (the call is refused).
    #[error("processing policy: {0}")]
    Policy(String),
    #[error("vault: {0}")]
    Vault(#[from] sotto_vault::VaultError),
    #[error("audit log: {0}")]
    Audit(#[from] sotto_audit::AuditError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
