//! Policies that run by themselves (issue 6).
//!
//! Owns: processing-mode rules per tenant, overridable per campaign, queue or called number
//! ([`modes`]); the retention engine that reduces, anonymises and deletes on time through a
//! crash-safe journal, and its scheduler ([`retention`]); legal holds with the MiFID II preset,
//! consent and legal basis per purpose, erasure with webhooks ([`Policies`]); deal timelines —
//! the case export as JSON, Excel or PDF sealed by a SHA-256 hash recorded in the audit log
//! ([`timeline`]); the webhook outbox with HMAC-signed delivery ([`webhook`]); and pseudonymised
//! statistics ([`stats`]).
//!
//! Must never: decrypt or seal anything itself (the vault does, through the subject's key), act
//! on data without an audit entry (actor `system:retention` for the engine), delete or erase
//! what an active legal hold covers, silently move a purpose off a legal obligation, or put
//! personal data into a webhook, a statistic, a log line or an error.

pub mod error;
pub mod modes;
mod pdf;
mod policies;
pub mod retention;
pub mod stats;
pub mod timeline;
pub mod webhook;

pub use error::{PolicyError, Result};
pub use modes::{EffectivePolicy, Routing};
pub use policies::{
    ConsentChange, ConsentReport, HoldPreset, HoldRequest, LiveCall, Policies, TextInteraction,
    MIFID_MAX_YEARS, MIFID_YEARS,
};
pub use retention::{spawn_scheduler, BlockedItem, RetentionEngine, RetentionReport};
pub use stats::{Stats, StatsDay, StatsQuery};
pub use timeline::{CaseExportFormat, CaseExportReceipt, ExportVerification};
pub use webhook::{
    spawn_dispatcher, spawn_dispatcher_until, DeliveryReport, WebhookConfig, WebhookEndpoint,
    WebhookEvent, Webhooks,
};

/// The actor the retention engine records in the audit log.
pub const RETENTION_ACTOR: &str = "system:retention";
