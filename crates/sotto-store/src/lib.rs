//! Storage of what the vault sealed.
//!
//! Owns: the metadata [`Store`] trait and its SQLite implementation ([`SqliteStore`]; PostgreSQL
//! joins later and runs the same test suite), migrations, and the [`BlobStore`] over
//! `object_store`.
//!
//! Must never: hold plaintext content — every content column it is given is ciphertext — or
//! decide what may be deleted (the vault decides; the store executes).

pub mod blob;
pub mod error;
pub mod model;
pub mod sqlite;

pub use blob::BlobStore;
pub use error::StoreError;
pub use model::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use sotto_core::{
    CaseId, IdentifierKind, InteractionId, SubjectId, SubjectState, TenantId, UnixMillis,
};

/// Metadata storage. Every method is one transaction. Implementations must pass the shared
/// suite in `tests/store_suite.rs`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- tenants
    /// Insert, or update name and mode of an existing tenant.
    async fn put_tenant(&self, t: &TenantRow) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<TenantRow>, StoreError>;
    async fn list_tenants(&self) -> Result<Vec<TenantRow>, StoreError>;

    // --- subjects and blind indexes
    /// A duplicate id is `StoreError::Conflict`; an unknown tenant is `StoreError::NotFound`.
    async fn insert_subject(&self, s: &SubjectRow) -> Result<(), StoreError>;
    async fn get_subject(
        &self,
        tenant: &TenantId,
        id: SubjectId,
    ) -> Result<Option<SubjectRow>, StoreError>;
    /// Sets the state; `Erased` also sets `erased_ms` to `at_ms`. Erasing an erased subject again
    /// is a no-op that keeps the first `erased_ms`; moving an erased subject to any other state is
    /// `StoreError::Conflict` (its key is gone). A missing subject is `StoreError::NotFound`.
    async fn set_subject_state(
        &self,
        tenant: &TenantId,
        id: SubjectId,
        state: SubjectState,
        at_ms: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Adds a blind-index entry. The same (tenant, kind, digest) pointing at another subject is
    /// `StoreError::Conflict`; pointing at the same subject again is a no-op.
    async fn put_subject_index(&self, row: &SubjectIndexRow) -> Result<(), StoreError>;
    async fn find_subject(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        digest: &[u8],
    ) -> Result<Option<SubjectId>, StoreError>;
    async fn count_subjects(&self, tenant: &TenantId) -> Result<u64, StoreError>;

    // --- interactions
    /// Writes every bundle (interaction, segments, recordings) in one transaction: all or nothing.
    /// The subject must exist (`StoreError::NotFound` otherwise); a duplicate interaction id or
    /// segment `seq` is `StoreError::Conflict`, and so is a segment or recording whose
    /// `interaction` is not its bundle's.
    async fn insert_interactions(&self, bundles: &[InteractionBundle]) -> Result<(), StoreError>;
    async fn get_interaction(
        &self,
        tenant: &TenantId,
        id: InteractionId,
    ) -> Result<Option<InteractionRow>, StoreError>;
    /// Ordered by `started_ms`, then id.
    async fn list_interactions(
        &self,
        tenant: &TenantId,
        filter: &InteractionFilter,
    ) -> Result<Vec<InteractionRow>, StoreError>;
    async fn count_interactions(&self, tenant: &TenantId) -> Result<u64, StoreError>;
    /// Ordered by `seq`.
    async fn segments(&self, interaction: InteractionId) -> Result<Vec<SegmentRow>, StoreError>;
    async fn recordings(&self, interaction: InteractionId)
        -> Result<Vec<RecordingRow>, StoreError>;

    // --- consent, cases, holds
    // The `put_*` methods insert or replace by id (a hold is released by putting it again with
    // `released_ms`); an id that exists under another tenant is `StoreError::Conflict`.
    async fn put_consent(&self, c: &ConsentRow) -> Result<(), StoreError>;
    /// Ordered by `at_ms`.
    async fn consents_for_subject(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<Vec<ConsentRow>, StoreError>;
    async fn put_case(&self, c: &CaseRow) -> Result<(), StoreError>;
    async fn get_case(&self, tenant: &TenantId, id: CaseId) -> Result<Option<CaseRow>, StoreError>;
    async fn put_legal_hold(&self, h: &LegalHoldRow) -> Result<(), StoreError>;
    /// Holds not released and not expired at `now_ms`.
    async fn active_holds(
        &self,
        tenant: &TenantId,
        now_ms: UnixMillis,
    ) -> Result<Vec<LegalHoldRow>, StoreError>;

    // --- erasure
    /// Deletes the subject's interactions (with segments and recordings), consents and blind
    /// index entries, except the interactions in `keep` (held) and the consents and index entries
    /// still needed by them when `keep` is not empty. Returns what went, including the blob keys
    /// of deleted recordings. The subject row itself stays (tombstone).
    ///
    /// Precisely: if any of the subject's interactions remain (they are in `keep`), all index
    /// entries stay (the held data must stay findable), and so do consents tied to a kept
    /// interaction or to none (subject-wide); consents tied to deleted interactions go. If none
    /// remain — `keep` empty, or naming only other subjects' interactions — every consent and
    /// index entry of the subject goes. Idempotent: a second call returns an empty report.
    async fn delete_subject_content(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        keep: &[InteractionId],
    ) -> Result<DeletionReport, StoreError>;
    async fn insert_erasure_receipt(&self, r: &ErasureReceiptRow) -> Result<(), StoreError>;
    async fn erasure_receipts(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ErasureReceiptRow>, StoreError>;

    /// Makes deletions durable and final on disk: engines with a write-ahead log move it into
    /// the main file and truncate it, so deleted page images do not linger. Default: nothing.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
