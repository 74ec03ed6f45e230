//! Rows as the store keeps them. Content fields (`sealed_*`, `wrapped_key`) are ciphertext made
//! by `sotto-keys`; the store never sees plaintext. Clear columns are limited to ids, timestamps,
//! enums and counts — nothing a person could be recognised by.

use sotto_core::{
    CaseId, Channel, ConsentPurpose, ConsentState, Direction, HoldScope, IdentifierKind,
    InteractionId, LegalBasis, ObjectId, ProcessingMode, SegmentId, SegmentKind, Speaker,
    SubjectId, SubjectState, TenantId, UnixMillis,
};

#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow {
    pub id: TenantId,
    /// Display name of the organisation (not personal data).
    pub name: String,
    pub mode: ProcessingMode,
    pub created_ms: UnixMillis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRow {
    pub tenant: TenantId,
    pub id: SubjectId,
    pub state: SubjectState,
    pub created_ms: UnixMillis,
    /// When the subject was erased (the row stays as a tombstone).
    pub erased_ms: Option<UnixMillis>,
}

/// A blind index entry: HMAC of a normalised identifier, pointing at one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectIndexRow {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub kind: IdentifierKind,
    pub digest: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRow {
    pub tenant: TenantId,
    pub id: InteractionId,
    pub subject: SubjectId,
    pub channel: Channel,
    pub direction: Direction,
    pub started_ms: UnixMillis,
    pub ended_ms: UnixMillis,
    pub case_id: Option<CaseId>,
    pub created_ms: UnixMillis,
    /// Data key of this interaction (object id = interaction id), wrapped by the subject key.
    pub wrapped_key: Vec<u8>,
    /// Sealed JSON: numbers, agent id, language, notes — everything beyond ids and timestamps.
    pub sealed_meta: Vec<u8>,
    /// Number of redactions per kind, as JSON `{"payment_card":1}` (counts only, no content).
    pub redaction_counts: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub interaction: InteractionId,
    pub id: SegmentId,
    /// Order within the interaction.
    pub seq: i64,
    pub speaker: Speaker,
    pub kind: SegmentKind,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Sealed text (already redacted per policy) and sealed word timings (JSON).
    pub sealed_text: Vec<u8>,
    pub sealed_words: Option<Vec<u8>>,
}

/// One event of a live call's timeline (migration 0003). Clear columns are media time, leg,
/// kind, a JSON of enums and numbers, and the actor id; the free-text reason is sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub interaction: InteractionId,
    /// Order within the interaction.
    pub seq: i64,
    /// Media time, ms since the call started.
    pub at_ms: i64,
    pub leg: Option<i64>,
    /// `recording_paused`, `gap`, `pci_pause`, ... (the CHECK in 0003 lists them).
    pub kind: String,
    /// JSON object of the event's non-personal fields (`{"until_ms":..}`, `{"basis":..}`).
    pub detail: String,
    pub actor: String,
    pub sealed_reason: Option<Vec<u8>>,
}

/// The timeline event kinds the store accepts (the CHECK of migration 0003).
pub const TIMELINE_KINDS: &[&str] = &[
    "recording_started",
    "recording_stopped",
    "recording_paused",
    "recording_resumed",
    "consent_given",
    "consent_withdrawn",
    "no_legal_basis",
    "gap",
    "transcription_failed",
    "pci_pause",
    "dtmf",
    "stream_paused",
    "stream_resumed",
    "closed",
];

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingRow {
    pub interaction: InteractionId,
    /// Object id of the blob; also the AEAD context's object id.
    pub id: ObjectId,
    /// Key of the blob in the blob store.
    pub blob_key: String,
    /// Archive codec name (`g711-ulaw-zstd`, …).
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_ms: i64,
    pub size_bytes: i64,
    /// Data key of the blob, wrapped by the subject key.
    pub wrapped_key: Vec<u8>,
    pub created_ms: UnixMillis,
}

/// An interaction with everything stored beside it, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionBundle {
    pub interaction: InteractionRow,
    pub segments: Vec<SegmentRow>,
    pub recordings: Vec<RecordingRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRow {
    pub tenant: TenantId,
    pub id: ObjectId,
    pub subject: SubjectId,
    pub purpose: ConsentPurpose,
    pub basis: LegalBasis,
    pub state: ConsentState,
    /// Where the consent came from (`ivr`, `agent:agent-7`, `api`), not personal data.
    pub source: String,
    pub at_ms: UnixMillis,
    pub interaction: Option<InteractionId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub tenant: TenantId,
    pub id: CaseId,
    /// The tenant's own reference (deal number), as given by the CRM.
    pub reference: String,
    pub opened_ms: UnixMillis,
    pub closed_ms: Option<UnixMillis>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegalHoldRow {
    pub tenant: TenantId,
    pub id: ObjectId,
    pub scope: HoldScope,
    /// The held case, subject or interaction id (as a string).
    pub target: String,
    pub reason: String,
    pub created_by: String,
    pub created_ms: UnixMillis,
    pub until_ms: Option<UnixMillis>,
    pub released_ms: Option<UnixMillis>,
}

impl LegalHoldRow {
    pub fn is_active(&self, now_ms: UnixMillis) -> bool {
        self.released_ms.is_none() && self.until_ms.is_none_or(|u| u > now_ms)
    }
}

/// Proof that an erasure happened: what, when, by whom, counts. No personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct ErasureReceiptRow {
    pub tenant: TenantId,
    pub id: ObjectId,
    pub subject: SubjectId,
    pub at_ms: UnixMillis,
    pub actor: String,
    /// JSON object with counts and held items (ids and reasons only).
    pub details: String,
}

/// Which interactions to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InteractionFilter {
    pub subject: Option<SubjectId>,
    pub case_id: Option<CaseId>,
    pub started_from_ms: Option<UnixMillis>,
    pub started_before_ms: Option<UnixMillis>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// What `delete_subject_content` removed; the vault deletes the listed blobs afterwards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletionReport {
    pub interactions: u64,
    pub segments: u64,
    pub recordings: u64,
    pub consents: u64,
    pub index_entries: u64,
    /// Blob keys of the deleted recordings.
    pub blob_keys: Vec<String>,
}
