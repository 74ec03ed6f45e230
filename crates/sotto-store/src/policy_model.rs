//! Rows of the policy tables (migration `0002_policy.sql`, issue 6): processing-mode rules, the
//! per-interaction retention schedule, the retention journal, the webhook outbox and the
//! pseudonymised statistics. Ids, enums, times and counts only — never content.

use crate::model::InteractionBundle;
use sotto_core::{
    CaseId, Channel, InteractionId, LegalBasis, ObjectId, ProcessingMode, SubjectId, TenantId,
    UnixMillis,
};
use std::fmt;
use std::str::FromStr;

/// A wire name that is not one of an enum's values (the value is not kept: it may be anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {0} value")]
pub struct ParsePolicyEnumError(pub &'static str);

macro_rules! wire {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $( $(#[$vdoc:meta])* $variant:ident => $w:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $(#[$vdoc])* $variant, )* }
        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            pub const fn as_str(self) -> &'static str { match self { $( $name::$variant => $w, )* } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ParsePolicyEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $( $w => Ok($name::$variant), )* _ => Err(ParsePolicyEnumError($what)) }
            }
        }
    };
}

wire!(
    /// What a processing-mode rule applies to. Resolution: number > queue > campaign > tenant.
    RuleScope, "rule scope", {
    Tenant => "tenant", Campaign => "campaign", Queue => "queue", Number => "number",
});
wire!(
    /// The next retention step of an interaction.
    RetentionAction, "retention action", {
    /// Minimal mode: drop transcript and audio, keep the number for invoicing.
    Reduce => "reduce",
    /// Anonymise mode: replace personal spans by placeholders, unlink from the subject.
    Anonymise => "anonymise",
    /// Delete the interaction.
    Delete => "delete",
    /// Nothing more to do (anonymised data).
    None => "none",
});
wire!(
    /// An entry of the retention journal.
    JournalAction, "journal action", {
    Reduce => "reduce", Anonymise => "anonymise", Delete => "delete",
    /// Erase the subject (key destroyed when nothing of it is held) — "forget" by the system.
    EraseSubject => "erase_subject",
});
wire!(
    /// Progress of a journal entry: planned → done (data changed, atomically with this state)
    /// → audited (audit entry written).
    JournalState, "journal state", { Planned => "planned", Done => "done", Audited => "audited" });
wire!(OutboxState, "outbox state", { Pending => "pending", Delivered => "delivered", Failed => "failed" });

/// A processing-mode rule.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRuleRow {
    pub tenant: TenantId,
    pub scope: RuleScope,
    /// `""` for [`RuleScope::Tenant`]; the campaign, queue or called number otherwise.
    pub key: String,
    pub mode: ProcessingMode,
    pub retention_days: u32,
    /// The legal basis for recordings kept under this rule (record mode).
    pub basis: Option<LegalBasis>,
    /// Extra webhook fields this tenant allows (names, not values).
    pub webhook_fields: Vec<String>,
    pub updated_ms: UnixMillis,
}

/// The retention schedule of one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionPolicyRow {
    pub interaction: InteractionId,
    pub tenant: TenantId,
    pub campaign: Option<String>,
    pub queue: Option<String>,
    /// The number that was called (the tenant's line), never the caller's.
    pub called_number: Option<String>,
    pub mode: ProcessingMode,
    pub retention_days: u32,
    pub next_action: RetentionAction,
    pub due_ms: Option<UnixMillis>,
    pub stats_done: bool,
}

/// An interaction whose next retention step is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueInteraction {
    pub interaction: InteractionId,
    pub subject: SubjectId,
    pub case_id: Option<CaseId>,
    pub mode: ProcessingMode,
    pub retention_days: u32,
    pub next_action: RetentionAction,
    pub due_ms: UnixMillis,
    pub started_ms: UnixMillis,
}

/// One planned retention action.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRow {
    pub run: ObjectId,
    pub seq: i64,
    pub tenant: TenantId,
    pub action: JournalAction,
    pub interaction: Option<InteractionId>,
    pub subject: SubjectId,
    pub state: JournalState,
    pub planned_ms: UnixMillis,
    /// JSON: blob keys still to delete, counts. Ids only.
    pub detail: String,
}

/// Identifies a journal row.
pub type JournalKey = (ObjectId, i64);

/// A change the retention engine makes to stored data, in one transaction with its journal row.
#[derive(Debug, Clone, PartialEq)]
pub enum RetentionChange {
    /// Deletes the interaction with its segments, recordings, schedule and the consents tied to
    /// it. A missing interaction is a no-op (idempotent).
    Delete(InteractionId),
    /// Deletes the segments and/or recordings of an interaction, keeps its row (minimal mode:
    /// the number stays for invoicing; consent withdrawal: the audio goes) and sets its next step.
    Strip {
        interaction: InteractionId,
        segments: bool,
        recordings: bool,
        next: Option<(RetentionAction, Option<UnixMillis>)>,
    },
    /// Inserts `new` (the anonymised copy, under another subject) with its schedule and deletes
    /// `old` like [`RetentionChange::Delete`]. If `old` no longer exists nothing is inserted.
    Replace {
        old: InteractionId,
        new: Box<InteractionBundle>,
        policy: Box<InteractionPolicyRow>,
    },
}

/// A webhook event waiting for delivery (or delivered, or given up).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: ObjectId,
    pub tenant: TenantId,
    /// Name of the configured endpoint this copy goes to.
    pub endpoint: String,
    pub event: String,
    /// The JSON body as it will be signed and sent (ids and allowed fields only).
    pub payload: String,
    pub created_ms: UnixMillis,
    pub attempts: u32,
    pub next_ms: UnixMillis,
    pub state: OutboxState,
    /// Status code or error class of the last failed attempt (never a response body).
    pub last_error: Option<String>,
}

/// Aggregates of one day (UTC, days since the epoch), queue (`""`: none) and channel.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsDayRow {
    pub day: i64,
    pub queue: String,
    pub channel: Channel,
    pub interactions: u64,
    pub duration_ms: u64,
    /// Interactions in which a bot spoke.
    pub bot: u64,
    /// Interactions in which a bot spoke and then an agent did (hand-over).
    pub handovers: u64,
}

/// Redactions of one kind on one day and queue.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRedactionRow {
    pub day: i64,
    pub queue: String,
    pub kind: String,
    pub n: u64,
}
