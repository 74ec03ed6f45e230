//! Who asks, from where and why: the [`AccessContext`] every audited operation can carry, and
//! the `_ctx` variants of the vault's reads, erasure and export that record all three.
//!
//! The plain variants (`read_interaction(…, actor)`) remain for the CLI; they are the `_ctx`
//! variants with only an actor. Servers pass the authenticated principal's actor label, the
//! client address and an optional purpose (a ticket number, a legal basis).
//!
//! [`Vault::interaction_facts`] gives access control what it needs to decide (the interaction's
//! owner and the agent who handled it) without handing out content: the agent reference is an
//! employee id, and the caller's number in the same sealed field is dropped unread.

use crate::error::{Result, VaultError};
use crate::export::{ExportFormat, SubjectExport};
use crate::vault::{ErasureReceipt, InteractionSummary, InteractionView, Meta, Vault};
use sotto_audio::Pcm16;
use sotto_audit::{Action, Entry, Outcome};
use sotto_core::{InteractionId, Personal, SubjectId, TenantId};
use sotto_store::{InteractionFilter, InteractionRow, RecordingRow};

/// Who asked (`user:<id>`, `token:<id>`, `cli`), from which address, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessContext {
    pub actor: String,
    /// The client address, as the server determined it (never a header it does not trust).
    pub from: Option<String>,
    /// Why: a ticket number or legal basis the caller gave (`X-Sotto-Purpose`). No personal data.
    pub purpose: Option<String>,
}

impl AccessContext {
    /// A context naming only the actor (the CLI's case).
    pub fn actor(actor: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            from: None,
            purpose: None,
        }
    }

    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    pub fn with_purpose(mut self, purpose: Option<String>) -> Self {
        self.purpose = purpose.filter(|p| !p.is_empty());
        self
    }

    /// An audit entry for this context.
    pub fn entry(
        &self,
        tenant: &TenantId,
        at_ms: sotto_core::UnixMillis,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        outcome: Outcome,
    ) -> Entry {
        let mut e = Entry::new(tenant.clone(), at_ms, self.actor.clone(), action, outcome);
        e.subject = subject;
        e.object = object;
        e.from = self.from.clone();
        e.purpose = self.purpose.clone();
        e
    }
}

/// What access control needs to know about one interaction. Ids, times and the handling
/// agent's reference only — no caller data.
#[derive(Debug, Clone)]
pub struct InteractionFacts {
    pub summary: InteractionSummary,
    /// The agent reference the interaction was stored with (`None` when there was none, or when
    /// the subject's key is erased and the sealed field can no longer be opened).
    pub agent: Option<String>,
    pub recordings: Vec<RecordingRow>,
}

fn outcome_of<T>(r: &Result<T>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(VaultError::SubjectErased(_)) | Err(VaultError::SubjectNotFound(_)) => Outcome::Denied,
        Err(_) => Outcome::Error,
    }
}

impl Vault {
    /// Appends one entry for `ctx`.
    pub async fn record_ctx(
        &self,
        tenant: &TenantId,
        ctx: &AccessContext,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        outcome: Outcome,
    ) -> Result<()> {
        let e = ctx.entry(tenant, self.now_ms(), action, subject, object, outcome);
        self.audit().append(e).await?;
        Ok(())
    }

    pub(crate) async fn audited_ctx<T>(
        &self,
        tenant: &TenantId,
        ctx: &AccessContext,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        result: Result<T>,
    ) -> Result<T> {
        let outcome = outcome_of(&result);
        self.record_ctx(tenant, ctx, action, subject, object, outcome)
            .await?;
        result
    }

    /// Facts about one interaction for an access decision, or `None` when the tenant holds no
    /// such interaction (another tenant's id looks exactly like a missing one).
    pub async fn interaction_facts(
        &self,
        tenant: &TenantId,
        id: InteractionId,
    ) -> Result<Option<InteractionFacts>> {
        match self.store().get_interaction(tenant, id).await? {
            Some(row) => Ok(Some(self.facts_of(row).await?)),
            None => Ok(None),
        }
    }

    /// Facts about every interaction matching `filter`, in the store's order.
    pub async fn list_interaction_facts(
        &self,
        tenant: &TenantId,
        filter: &InteractionFilter,
    ) -> Result<Vec<InteractionFacts>> {
        self.tenant(tenant).await?;
        let rows = self.store().list_interactions(tenant, filter).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.facts_of(row).await?);
        }
        Ok(out)
    }

    async fn facts_of(&self, row: InteractionRow) -> Result<InteractionFacts> {
        let recordings = self.store().recordings(row.id).await?;
        let agent = match self.open_meta(&row).await {
            Ok(m) => m.agent,
            Err(VaultError::SubjectErased(_)) => None,
            Err(e) => return Err(e),
        };
        let summary = crate::vault::summary(&row, !recordings.is_empty());
        Ok(InteractionFacts {
            summary,
            agent,
            recordings,
        })
    }

    async fn open_meta(&self, row: &InteractionRow) -> Result<Meta> {
        let cipher = self.cipher_for(&row.tenant, row.subject).await?;
        let okey = self.interaction_key(&cipher, row)?;
        let what = || VaultError::Integrity {
            what: format!("interaction {} metadata", row.id),
        };
        let bytes = okey.open("meta", &row.sealed_meta).map_err(|_| what())?;
        serde_json::from_slice(bytes.expose()).map_err(|_| what())
    }

    /// The caller numbers of these interactions (billing). Each number handed out is recorded
    /// first (action `other`, object `<interaction>#caller`), in one batch.
    pub async fn caller_numbers_ctx(
        &self,
        tenant: &TenantId,
        ids: &[InteractionId],
        ctx: &AccessContext,
    ) -> Result<Vec<(InteractionId, Option<Personal>)>> {
        let mut out = Vec::with_capacity(ids.len());
        let mut entries = Vec::new();
        let now = self.now_ms();
        for id in ids {
            let Some(row) = self.store().get_interaction(tenant, *id).await? else {
                continue;
            };
            let caller = match self.open_meta(&row).await {
                Ok(m) => m.caller.map(Personal::new),
                Err(VaultError::SubjectErased(_)) => None,
                Err(e) => return Err(e),
            };
            if caller.is_some() {
                entries.push(ctx.entry(
                    tenant,
                    now,
                    Action::Other,
                    Some(row.subject),
                    Some(format!("{id}#caller")),
                    Outcome::Ok,
                ));
            }
            out.push((*id, caller));
        }
        if !entries.is_empty() {
            self.audit().append_batch(entries).await?;
        }
        Ok(out)
    }

    /// [`Vault::read_interaction`] with a full context.
    pub async fn read_interaction_ctx(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        ctx: &AccessContext,
    ) -> Result<InteractionView> {
        let row = self
            .store()
            .get_interaction(tenant, id)
            .await?
            .ok_or_else(|| sotto_store::StoreError::NotFound(format!("interaction {id}")))?;
        let subject = row.subject;
        let result = match self.cipher_for(tenant, subject).await {
            Ok(cipher) => self.open_interaction(&cipher, row).await,
            Err(e) => Err(e),
        };
        self.audited_ctx(
            tenant,
            ctx,
            Action::TranscriptRead,
            Some(subject),
            Some(id.to_string()),
            result,
        )
        .await
    }

    /// [`Vault::read_recording_as`] with a full context (`action`: play or download).
    pub async fn read_recording_ctx(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        rec: &RecordingRow,
        ctx: &AccessContext,
        action: Action,
    ) -> Result<Pcm16> {
        let result = self.decrypt_recording(tenant, subject, rec).await;
        self.audited_ctx(
            tenant,
            ctx,
            action,
            Some(subject),
            Some(rec.id.to_string()),
            result,
        )
        .await
    }

    /// [`Vault::forget`] with a full context.
    pub async fn forget_ctx(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        ctx: &AccessContext,
    ) -> Result<ErasureReceipt> {
        self.tenant(tenant).await?;
        let result = self.forget_unaudited(tenant, subject, &ctx.actor).await;
        let object = result
            .as_ref()
            .ok()
            .map(|r| format!("receipt:{}", r.receipt));
        self.audited_ctx(tenant, ctx, Action::Erasure, Some(subject), object, result)
            .await
    }

    /// [`Vault::collect_export`] with a full context; the export carries the subject's access
    /// log, this export included.
    pub async fn collect_export_ctx(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        ctx: &AccessContext,
    ) -> Result<SubjectExport> {
        self.collect_export_with(tenant, subject, ctx, &|_, _| {})
            .await
    }
}

/// The bytes of an export in `format`, for handing out over a connection instead of a file.
pub fn export_bytes(export: &SubjectExport, format: ExportFormat) -> Result<Vec<u8>> {
    match format {
        ExportFormat::Json => {
            serde_json::to_vec_pretty(export).map_err(|e| VaultError::Export(e.to_string()))
        }
        ExportFormat::Xlsx => crate::export::xlsx_bytes(export),
    }
}
