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
pub mod policy_model;
pub mod sqlite;

pub use blob::BlobStore;
pub use error::StoreError;
pub use model::*;
pub use policy_model::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use sotto_core::{
    CaseId, IdentifierKind, InteractionId, ObjectId, ProcessingMode, SubjectId, SubjectState,
    TenantId, UnixMillis,
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
    /// [`Store::insert_interactions`] with the bundles' timeline events, in the same
    /// transaction. A timeline row whose `interaction` is not one of the bundles' is
    /// `StoreError::Conflict`; a kind outside [`TIMELINE_KINDS`] is refused by the schema.
    async fn insert_interactions_with_timeline(
        &self,
        bundles: &[InteractionBundle],
        timeline: &[TimelineRow],
    ) -> Result<(), StoreError>;
    /// The timeline of one interaction, ordered by `seq` (empty for batch ingests).
    async fn timeline(&self, interaction: InteractionId) -> Result<Vec<TimelineRow>, StoreError>;
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
    /// For a batch erasure of subjects that have nothing stored any more: deletes each one's
    /// remaining consents and index entries, in one transaction. A subject that still has an
    /// interaction (or does not exist) is left alone and answered `None`; the others with
    /// `Some(report)`. Default: one [`Store::delete_subject_content`] each.
    async fn clear_empty_subjects(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
    ) -> Result<Vec<Option<DeletionReport>>, StoreError> {
        let mut out = Vec::with_capacity(subjects.len());
        for s in subjects {
            let exists = self.get_subject(tenant, *s).await?.is_some();
            if !exists || self.count_subject_interactions(tenant, *s).await? > 0 {
                out.push(None);
            } else {
                out.push(Some(self.delete_subject_content(tenant, *s, &[]).await?));
            }
        }
        Ok(out)
    }
    /// Marks each receipt's subject erased (at the receipt's time) and stores the receipts, in
    /// one transaction. Default: [`Store::set_subject_state`] and
    /// [`Store::insert_erasure_receipt`] per receipt.
    async fn record_erasures(&self, receipts: &[ErasureReceiptRow]) -> Result<(), StoreError> {
        for r in receipts {
            self.set_subject_state(&r.tenant, r.subject, SubjectState::Erased, r.at_ms)
                .await?;
            self.insert_erasure_receipt(r).await?;
        }
        Ok(())
    }
    async fn erasure_receipts(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ErasureReceiptRow>, StoreError>;

    /// Makes deletions durable and final on disk: engines with a write-ahead log move it into
    /// the main file and truncate it, so deleted page images do not linger. Default: nothing.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    // --- policies and retention (issue 6; migration 0002, SQLite in `sqlite/policy.rs`)
    /// Inserts or replaces the rule for (tenant, scope, key).
    async fn put_policy_rule(&self, r: &PolicyRuleRow) -> Result<(), StoreError>;
    /// Removes a rule; `false` if there was none.
    async fn delete_policy_rule(
        &self,
        tenant: &TenantId,
        scope: RuleScope,
        key: &str,
    ) -> Result<bool, StoreError>;
    /// Ordered by scope, then key.
    async fn policy_rules(&self, tenant: &TenantId) -> Result<Vec<PolicyRuleRow>, StoreError>;
    /// Inserts or replaces an interaction's schedule; an unknown interaction is `NotFound`.
    async fn put_interaction_policy(&self, p: &InteractionPolicyRow) -> Result<(), StoreError>;
    async fn get_interaction_policy(
        &self,
        id: InteractionId,
    ) -> Result<Option<InteractionPolicyRow>, StoreError>;
    /// Gives every interaction of the tenant without a schedule one under `mode` and
    /// `retention_days` (minimal: reduce at its end, then delete after the period; anonymise:
    /// anonymise after the period; record: delete after the period). Returns how many.
    async fn schedule_unscheduled(
        &self,
        tenant: &TenantId,
        mode: ProcessingMode,
        retention_days: u32,
    ) -> Result<u64, StoreError>;
    /// Interactions whose next step is due at `now_ms`, ordered by (due_ms, id), after the
    /// keyset position `after`.
    async fn due_interactions(
        &self,
        tenant: &TenantId,
        now_ms: UnixMillis,
        after: Option<(UnixMillis, InteractionId)>,
        limit: u32,
    ) -> Result<Vec<DueInteraction>, StoreError>;
    /// Links an interaction to a case (or unlinks it). A missing interaction is `NotFound`.
    async fn set_interaction_case(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        case: Option<CaseId>,
    ) -> Result<(), StoreError>;
    async fn subjects_in_state(
        &self,
        tenant: &TenantId,
        state: SubjectState,
    ) -> Result<Vec<SubjectId>, StoreError>;
    async fn count_subject_interactions(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<u64, StoreError>;
    async fn get_legal_hold(
        &self,
        tenant: &TenantId,
        id: ObjectId,
    ) -> Result<Option<LegalHoldRow>, StoreError>;
    /// Every hold of the tenant, released and expired ones included, ordered by creation.
    async fn legal_holds(&self, tenant: &TenantId) -> Result<Vec<LegalHoldRow>, StoreError>;
    async fn insert_journal(&self, rows: &[JournalRow]) -> Result<(), StoreError>;
    /// Journal rows not yet `audited`, ordered by (run, seq).
    async fn open_journal(&self) -> Result<Vec<JournalRow>, StoreError>;
    async fn set_journal_state(
        &self,
        keys: &[JournalKey],
        state: JournalState,
    ) -> Result<(), StoreError>;
    /// Applies the changes in one transaction; each change with a journal key also marks that
    /// journal row `done` (with the blob keys left to delete in its detail), so a change and its
    /// journal state can never disagree. One report per change.
    async fn apply_retention(
        &self,
        changes: &[(Option<JournalKey>, RetentionChange)],
    ) -> Result<Vec<DeletionReport>, StoreError>;
    /// Writes the journal `rows` (one per change, given as `planned`) and applies the changes,
    /// atomically: afterwards the rows are `done` with their details and the data changed, or
    /// neither happened. Saves the separate `planned` write of [`Store::insert_journal`] when a
    /// whole batch is executed at once. Default: the two steps, as two transactions (still safe:
    /// a planned row is completed by the next run).
    async fn apply_retention_journaled(
        &self,
        rows: &[JournalRow],
        changes: &[RetentionChange],
    ) -> Result<Vec<DeletionReport>, StoreError> {
        self.insert_journal(rows).await?;
        let keyed: Vec<(Option<JournalKey>, RetentionChange)> = rows
            .iter()
            .zip(changes)
            .map(|(r, c)| (Some((r.run, r.seq)), c.clone()))
            .collect();
        self.apply_retention(&keyed).await
    }
    async fn enqueue_webhooks(&self, rows: &[OutboxRow]) -> Result<(), StoreError>;
    /// Pending events with `next_ms <= now_ms`, oldest first.
    async fn due_webhooks(
        &self,
        now_ms: UnixMillis,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;
    async fn get_webhook(&self, id: ObjectId) -> Result<Option<OutboxRow>, StoreError>;
    /// Updates attempts, next_ms, state and last_error.
    async fn update_webhook(&self, row: &OutboxRow) -> Result<(), StoreError>;
    /// Adds every scheduled, not yet counted interaction of the tenant to the daily aggregates
    /// (volume, duration, bot and hand-over counts, redactions per kind) and marks it counted.
    /// Returns how many were counted.
    async fn fold_stats(&self, tenant: &TenantId) -> Result<u64, StoreError>;
    /// Aggregates for days `from_day..to_day` (days since the epoch, UTC, end exclusive),
    /// optionally of one queue.
    async fn stats(
        &self,
        tenant: &TenantId,
        from_day: i64,
        to_day: i64,
        queue: Option<&str>,
    ) -> Result<(Vec<StatsDayRow>, Vec<StatsRedactionRow>), StoreError>;
}
