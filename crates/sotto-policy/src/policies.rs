//! [`Policies`]: the library operations of issue 6 that act on request (the retention engine
//! acts on time). Each is one clean async function the HTTP API can call.

use crate::error::{PolicyError, Result};
use crate::modes::{self, EffectivePolicy, Routing};
use crate::webhook::{WebhookEvent, Webhooks};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sotto_audit::{Action, Entry, Outcome};
use sotto_core::{
    CaseId, Channel, ConsentPurpose, ConsentState, Direction, HoldScope, InteractionId, Lang,
    LegalBasis, ObjectId, ProcessingMode, Speaker, SubjectId, TenantId, UnixMillis,
};
use sotto_detect::Detector;
use sotto_store::{
    CaseRow, ConsentRow, InteractionFilter, InteractionPolicyRow, LegalHoldRow, PolicyRuleRow,
    RetentionChange, RuleScope,
};
use sotto_vault::transcript::{SegmentInput, TranscriptInput};
use sotto_vault::{ErasureReceipt, HeldItem, Identifier, IngestReceipt, IngestRequest, Vault};
use std::sync::Arc;

/// MiFID II Art. 16(7): records kept five years …
pub const MIFID_YEARS: i32 = 5;
/// … and up to seven where the competent authority asks.
pub const MIFID_MAX_YEARS: i32 = 7;
const MIFID_REASON_PREFIX: &str = "MiFID II";

/// Preset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HoldPreset {
    /// Five years from placing, extendable to seven; reason prefixed `MiFID II`.
    MifidII,
}

/// A request to place a legal hold.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub tenant: TenantId,
    pub scope: HoldScope,
    /// The case, subject or interaction id.
    pub target: String,
    /// Why (a matter or ticket reference; no personal data).
    pub reason: String,
    /// Who placed it (`user:anna`).
    pub created_by: String,
    /// Until when; `None` with no preset: until released.
    pub until_ms: Option<UnixMillis>,
    pub preset: Option<HoldPreset>,
}

/// A consent given or withdrawn, or a legal basis recorded, for one purpose.
#[derive(Debug, Clone)]
pub struct ConsentChange {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub purpose: ConsentPurpose,
    pub basis: LegalBasis,
    pub state: ConsentState,
    /// Where it came from (`ivr`, `agent:agent-7`, `api`).
    pub source: String,
    pub interaction: Option<InteractionId>,
    /// Who recorded it, for the audit log.
    pub actor: String,
}

/// What a consent change did.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentReport {
    pub consent: ObjectId,
    pub recordings_deleted: u64,
    pub transcripts_deleted: u64,
    /// Data of the withdrawn purpose kept because a legal hold covers it.
    pub held: Vec<HeldItem>,
}

/// A text interaction (chat, e-mail, SMS) for a deal timeline. The text goes through the same
/// detector and sealing as a call transcript.
pub struct TextInteraction {
    pub tenant: TenantId,
    pub channel: Channel,
    pub direction: Direction,
    pub started_ms: Option<UnixMillis>,
    pub identifiers: Vec<Identifier>,
    pub subject: Option<SubjectId>,
    pub case_id: Option<CaseId>,
    pub lang: Option<Lang>,
    /// The messages in order: who wrote, when (ms after `started_ms`), and the text.
    pub messages: Vec<(Speaker, i64, String)>,
    pub source: String,
}

/// A committed interaction as webhooks and schedules see it: ids, routing and counts.
#[derive(Debug, Clone)]
pub struct LiveCall {
    pub tenant: TenantId,
    pub interaction: InteractionId,
    pub subject: SubjectId,
    pub case: Option<CaseId>,
    pub channel: Channel,
    pub direction: Direction,
    pub duration_ms: u64,
    pub audio_stored: bool,
    pub redactions: std::collections::BTreeMap<sotto_core::Kind, u32>,
    pub routing: Routing,
}

/// The policy layer over one vault. Cheap to clone.
#[derive(Clone)]
pub struct Policies {
    pub(crate) vault: Vault,
    pub(crate) detector: Arc<Detector>,
    pub(crate) hooks: Option<Webhooks>,
}

fn audit_err(e: sotto_audit::AuditError) -> PolicyError {
    PolicyError::Audit(e)
}

impl Policies {
    pub fn new(vault: Vault, detector: Arc<Detector>) -> Self {
        Self {
            vault,
            detector,
            hooks: None,
        }
    }

    /// Events go to the outbox of `hooks` (without it none are written).
    pub fn with_webhooks(mut self, hooks: Webhooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }
    pub fn webhooks(&self) -> Option<&Webhooks> {
        self.hooks.as_ref()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit(
        &self,
        tenant: &TenantId,
        actor: &str,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        purpose: Option<String>,
        outcome: Outcome,
    ) -> Result<u64> {
        let mut e = Entry::new(tenant.clone(), self.vault.now_ms(), actor, action, outcome);
        e.subject = subject;
        e.object = object;
        e.purpose = purpose;
        self.vault.audit().append(e).await.map_err(audit_err)
    }

    /// Writes a webhook event to the outbox (no-op without webhooks).
    pub(crate) async fn emit(
        &self,
        tenant: &TenantId,
        event: WebhookEvent,
        ids: Map<String, Value>,
        extra: Map<String, Value>,
    ) -> Result<()> {
        let Some(h) = &self.hooks else {
            return Ok(());
        };
        let fields = self
            .effective(tenant, &Routing::default())
            .await?
            .webhook_fields;
        h.enqueue(tenant, event, ids, extra, &fields).await?;
        Ok(())
    }

    // ------------------------------------------------------------------ modes

    /// Sets the rule for (scope, key); `retention_days` defaults to the mode's default. Recorded
    /// in the audit log as a policy change.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_rule(
        &self,
        tenant: &TenantId,
        scope: RuleScope,
        key: &str,
        mode: ProcessingMode,
        retention_days: Option<u32>,
        basis: Option<LegalBasis>,
        webhook_fields: Vec<String>,
        actor: &str,
    ) -> Result<PolicyRuleRow> {
        self.vault.tenant(tenant).await?;
        let key = if scope == RuleScope::Tenant {
            ""
        } else {
            key.trim()
        };
        if scope != RuleScope::Tenant && key.is_empty() {
            return Err(PolicyError::invalid(
                "rule key",
                "a campaign, queue or number is needed",
            ));
        }
        if key.len() > 128 || key.chars().any(char::is_control) {
            return Err(PolicyError::invalid(
                "rule key",
                "at most 128 printable characters",
            ));
        }
        for f in &webhook_fields {
            if !crate::webhook::ALLOWED_EXTRA_FIELDS.contains(&f.as_str()) {
                return Err(PolicyError::invalid(
                    "webhook field",
                    format!(
                        "unknown or not allowed (allowed: {})",
                        crate::webhook::ALLOWED_EXTRA_FIELDS.join(", ")
                    ),
                ));
            }
        }
        let row = PolicyRuleRow {
            tenant: tenant.clone(),
            scope,
            key: key.to_owned(),
            mode,
            retention_days: retention_days.unwrap_or_else(|| modes::default_days(mode)),
            basis,
            webhook_fields,
            updated_ms: self.vault.now_ms(),
        };
        self.audit(
            tenant,
            actor,
            Action::PolicyChange,
            None,
            Some(format!("rule:{scope}:{}", row.key)),
            Some(format!("mode={mode} days={}", row.retention_days)),
            Outcome::Ok,
        )
        .await?;
        self.vault.store().put_policy_rule(&row).await?;
        Ok(row)
    }

    pub async fn remove_rule(
        &self,
        tenant: &TenantId,
        scope: RuleScope,
        key: &str,
        actor: &str,
    ) -> Result<bool> {
        self.audit(
            tenant,
            actor,
            Action::PolicyChange,
            None,
            Some(format!("rule:{scope}:{key}")),
            Some("removed".into()),
            Outcome::Ok,
        )
        .await?;
        Ok(self
            .vault
            .store()
            .delete_policy_rule(tenant, scope, key)
            .await?)
    }

    pub async fn rules(&self, tenant: &TenantId) -> Result<Vec<PolicyRuleRow>> {
        Ok(self.vault.store().policy_rules(tenant).await?)
    }

    /// The rule that applies to an interaction routed like `routing`.
    pub async fn effective(&self, tenant: &TenantId, routing: &Routing) -> Result<EffectivePolicy> {
        let t = self.vault.tenant(tenant).await?;
        let rules = self.vault.store().policy_rules(tenant).await?;
        Ok(modes::resolve(&rules, t.mode, routing))
    }

    /// Ingests through the vault under the rule for `routing`: a `record` rule supplies the
    /// recording basis (its own, or legitimate interest), the interaction gets its retention
    /// schedule, and `call.completed` / `recording.available` go to the outbox.
    pub async fn ingest(&self, mut req: IngestRequest, routing: Routing) -> Result<IngestReceipt> {
        let eff = self.effective(&req.tenant, &routing).await?;
        if eff.mode == ProcessingMode::Record && req.recording_basis.is_none() {
            req.recording_basis = Some(eff.basis.unwrap_or(LegalBasis::LegitimateInterest));
            if req.basis_source.is_empty() {
                req.basis_source = "policy".into();
            }
        }
        let channel = req.channel;
        let direction = req.direction;
        let case = req.case_id;
        let receipt = self.vault.ingest(req).await?;
        self.schedule(&receipt, &eff, &routing).await?;
        self.announce_ingest(&receipt, channel, direction, case, &routing)
            .await?;
        Ok(receipt)
    }

    async fn schedule(
        &self,
        r: &IngestReceipt,
        eff: &EffectivePolicy,
        routing: &Routing,
    ) -> Result<()> {
        self.schedule_interaction(&r.tenant, r.interaction, eff, routing)
            .await
    }

    async fn schedule_interaction(
        &self,
        tenant: &TenantId,
        interaction: InteractionId,
        eff: &EffectivePolicy,
        routing: &Routing,
    ) -> Result<()> {
        let row = self
            .vault
            .store()
            .get_interaction(tenant, interaction)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("interaction {interaction}")))?;
        let (next, due) =
            modes::first_step(eff.mode, eff.retention_days, row.started_ms, row.ended_ms);
        self.vault
            .store()
            .put_interaction_policy(&InteractionPolicyRow {
                interaction,
                tenant: tenant.clone(),
                campaign: routing.campaign.clone(),
                queue: routing.queue.clone(),
                called_number: routing.called_number.clone(),
                mode: eff.mode,
                retention_days: eff.retention_days,
                next_action: next,
                due_ms: Some(due),
                stats_done: false,
            })
            .await?;
        Ok(())
    }

    async fn announce_ingest(
        &self,
        r: &IngestReceipt,
        channel: Channel,
        direction: Direction,
        case: Option<CaseId>,
        routing: &Routing,
    ) -> Result<()> {
        let call = LiveCall {
            tenant: r.tenant.clone(),
            interaction: r.interaction,
            subject: r.subject,
            case,
            channel,
            direction,
            duration_ms: r.duration_ms,
            audio_stored: r.audio_stored,
            redactions: r.redactions.clone(),
            routing: routing.clone(),
        };
        self.announce(&call, WebhookEvent::CallCompleted).await?;
        if r.audio_stored {
            self.announce(&call, WebhookEvent::RecordingAvailable)
                .await?;
        }
        Ok(())
    }

    /// `call.completed` or `recording.available` for one interaction: ids always, the extra
    /// fields only where the tenant's rule allows them.
    async fn announce(&self, c: &LiveCall, event: WebhookEvent) -> Result<()> {
        if self.hooks.is_none() {
            return Ok(());
        }
        let mut ids = Map::new();
        ids.insert("interaction".into(), json!(c.interaction.to_string()));
        ids.insert("subject".into(), json!(c.subject.to_string()));
        if let Some(case) = c.case {
            ids.insert("case".into(), json!(case.to_string()));
        }
        let mut extra = Map::new();
        extra.insert("channel".into(), json!(c.channel.as_str()));
        extra.insert("direction".into(), json!(c.direction.as_str()));
        extra.insert("duration_ms".into(), json!(c.duration_ms));
        extra.insert("audio_stored".into(), json!(c.audio_stored));
        extra.insert(
            "redactions".into(),
            json!(c
                .redactions
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect::<std::collections::BTreeMap<_, _>>()),
        );
        if let Some(q) = &c.routing.queue {
            extra.insert("queue".into(), json!(q));
        }
        self.emit(&c.tenant, event, ids, extra).await
    }

    /// A live call committed by the ingest side: its retention schedule under the rule for its
    /// routing (the same rule that picked its mode when it started) and `call.completed`.
    pub async fn live_call_completed(&self, c: &LiveCall) -> Result<()> {
        let eff = self.effective(&c.tenant, &c.routing).await?;
        self.schedule_interaction(&c.tenant, c.interaction, &eff, &c.routing)
            .await?;
        self.announce(c, WebhookEvent::CallCompleted).await
    }

    /// `recording.available` for a committed live call that kept audio.
    pub async fn live_recording_available(&self, c: &LiveCall) -> Result<()> {
        if !c.audio_stored {
            return Ok(());
        }
        self.announce(c, WebhookEvent::RecordingAvailable).await
    }

    /// Ingests a chat, e-mail or SMS exchange (each message one segment) under the rule for
    /// `routing`. Text channels carry no audio.
    pub async fn ingest_text(&self, t: TextInteraction, routing: Routing) -> Result<IngestReceipt> {
        if t.messages.is_empty() {
            return Err(PolicyError::invalid(
                "messages",
                "at least one message is needed",
            ));
        }
        let mut segments = Vec::with_capacity(t.messages.len());
        for (speaker, at, text) in t.messages {
            let at = at.max(0);
            segments.push(SegmentInput {
                speaker,
                start_ms: at,
                end_ms: at,
                text,
                words: None,
                kind: None,
                lang: None,
            });
        }
        let transcript = TranscriptInput {
            lang: t.lang.map(|l| l.code().to_owned()),
            segments,
        };
        let req = IngestRequest {
            tenant: t.tenant,
            channel: t.channel,
            direction: t.direction,
            started_ms: t.started_ms,
            identifiers: t.identifiers,
            subject: t.subject,
            agent: None,
            case_id: t.case_id,
            lang: t.lang,
            audio: None,
            transcript: Some(transcript),
            recording_basis: None,
            basis_source: t.source,
        };
        self.ingest(req, routing).await
    }

    // ------------------------------------------------------------------ cases

    /// Opens a case (a deal: first contact to close).
    pub async fn open_case(
        &self,
        tenant: &TenantId,
        reference: &str,
        actor: &str,
    ) -> Result<CaseRow> {
        self.vault.tenant(tenant).await?;
        if reference.trim().is_empty() || reference.len() > 128 {
            return Err(PolicyError::invalid("case reference", "1-128 characters"));
        }
        let row = CaseRow {
            tenant: tenant.clone(),
            id: CaseId::new(),
            reference: reference.trim().to_owned(),
            opened_ms: self.vault.now_ms(),
            closed_ms: None,
        };
        self.vault.store().put_case(&row).await?;
        self.audit(
            tenant,
            actor,
            Action::Other,
            None,
            Some(row.id.to_string()),
            Some("case.open".into()),
            Outcome::Ok,
        )
        .await?;
        Ok(row)
    }

    /// Links an interaction to a case (or unlinks it with `None`).
    pub async fn link_to_case(
        &self,
        tenant: &TenantId,
        interaction: InteractionId,
        case: Option<CaseId>,
        actor: &str,
    ) -> Result<()> {
        if let Some(c) = case {
            self.vault
                .store()
                .get_case(tenant, c)
                .await?
                .ok_or_else(|| PolicyError::NotFound(format!("case {c}")))?;
        }
        self.vault
            .store()
            .set_interaction_case(tenant, interaction, case)
            .await?;
        self.audit(
            tenant,
            actor,
            Action::Other,
            None,
            Some(interaction.to_string()),
            Some(format!(
                "case.link:{}",
                case.map(|c| c.to_string()).unwrap_or_else(|| "none".into())
            )),
            Outcome::Ok,
        )
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ holds

    /// Places a legal hold. With [`HoldPreset::MifidII`] it lasts five years unless `until_ms`
    /// says otherwise (at most seven).
    pub async fn place_hold(&self, req: HoldRequest) -> Result<LegalHoldRow> {
        self.vault.tenant(&req.tenant).await?;
        let now = self.vault.now_ms();
        if req.reason.trim().is_empty() || req.reason.len() > 256 {
            return Err(PolicyError::invalid("hold reason", "1-256 characters"));
        }
        if req.target.parse::<sotto_core::ObjectId>().is_err() {
            return Err(PolicyError::invalid(
                "hold target",
                "expected a case, subject or interaction id",
            ));
        }
        let (reason, until) = match req.preset {
            Some(HoldPreset::MifidII) => {
                let max = add_years(now, MIFID_MAX_YEARS);
                let until = req.until_ms.unwrap_or_else(|| add_years(now, MIFID_YEARS));
                if until > max {
                    return Err(PolicyError::invalid(
                        "until",
                        "a MiFID II hold lasts at most seven years",
                    ));
                }
                (
                    format!("{MIFID_REASON_PREFIX}: {}", req.reason.trim()),
                    Some(until),
                )
            }
            None => (req.reason.trim().to_owned(), req.until_ms),
        };
        if until.is_some_and(|u| u <= now) {
            return Err(PolicyError::invalid("until", "must be in the future"));
        }
        let row = LegalHoldRow {
            tenant: req.tenant.clone(),
            id: ObjectId::new(),
            scope: req.scope,
            target: req.target.clone(),
            reason,
            created_by: req.created_by.clone(),
            created_ms: now,
            until_ms: until,
            released_ms: None,
        };
        self.audit(
            &req.tenant,
            &req.created_by,
            Action::LegalHoldChange,
            subject_of(&row),
            Some(row.id.to_string()),
            Some(format!("place {}:{}", row.scope, row.target)),
            Outcome::Ok,
        )
        .await?;
        self.vault.store().put_legal_hold(&row).await?;
        Ok(row)
    }

    /// Extends a hold to `until_ms` (never shortens it; a MiFID II hold at most to seven years
    /// after it was placed).
    pub async fn extend_hold(
        &self,
        tenant: &TenantId,
        id: ObjectId,
        until_ms: UnixMillis,
        actor: &str,
    ) -> Result<LegalHoldRow> {
        let mut row = self.hold(tenant, id).await?;
        if row.released_ms.is_some() {
            return Err(PolicyError::Hold {
                hold: id.to_string(),
                reason: "released; place a new hold".into(),
            });
        }
        if row.until_ms.is_some_and(|u| until_ms < u) {
            return Err(PolicyError::invalid(
                "until",
                "a hold can be extended, not shortened",
            ));
        }
        if row.reason.starts_with(MIFID_REASON_PREFIX)
            && until_ms > add_years(row.created_ms, MIFID_MAX_YEARS)
        {
            return Err(PolicyError::invalid(
                "until",
                "a MiFID II hold can be extended to at most seven years after it was placed",
            ));
        }
        row.until_ms = Some(until_ms);
        self.audit(
            tenant,
            actor,
            Action::LegalHoldChange,
            subject_of(&row),
            Some(id.to_string()),
            Some(format!("extend until {until_ms}")),
            Outcome::Ok,
        )
        .await?;
        self.vault.store().put_legal_hold(&row).await?;
        Ok(row)
    }

    /// Releases a hold; what it kept becomes subject to retention and pending erasures again
    /// (the next retention run completes them).
    pub async fn release_hold(
        &self,
        tenant: &TenantId,
        id: ObjectId,
        actor: &str,
    ) -> Result<LegalHoldRow> {
        let mut row = self.hold(tenant, id).await?;
        if row.released_ms.is_none() {
            row.released_ms = Some(self.vault.now_ms());
            self.audit(
                tenant,
                actor,
                Action::LegalHoldChange,
                subject_of(&row),
                Some(id.to_string()),
                Some("release".into()),
                Outcome::Ok,
            )
            .await?;
            self.vault.store().put_legal_hold(&row).await?;
        }
        Ok(row)
    }

    async fn hold(&self, tenant: &TenantId, id: ObjectId) -> Result<LegalHoldRow> {
        self.vault
            .store()
            .get_legal_hold(tenant, id)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("legal hold {id}")))
    }

    /// Every hold of the tenant (released and expired ones too).
    pub async fn holds(&self, tenant: &TenantId) -> Result<Vec<LegalHoldRow>> {
        Ok(self.vault.store().legal_holds(tenant).await?)
    }

    /// The active hold covering an interaction, if any (subject holds first).
    pub(crate) fn covering(
        holds: &[LegalHoldRow],
        subject: SubjectId,
        interaction: InteractionId,
        case: Option<CaseId>,
    ) -> Option<&LegalHoldRow> {
        let s = subject.to_string();
        let i = interaction.to_string();
        let c = case.map(|c| c.to_string());
        holds
            .iter()
            .find(|h| h.scope == HoldScope::Subject && h.target == s)
            .or_else(|| {
                holds.iter().find(|h| match h.scope {
                    HoldScope::Interaction => h.target == i,
                    HoldScope::Case => c.as_deref() == Some(h.target.as_str()),
                    HoldScope::Subject => false,
                })
            })
    }

    // ------------------------------------------------------------------ consent

    /// Records consent or a legal basis for one purpose. Refuses to move a purpose that rests on
    /// a legal obligation to another basis or to withdraw it ([`PolicyError::LegalObligation`]).
    /// Withdrawing a consent-based `recording` deletes the subject's recordings kept on consent,
    /// withdrawing `transcript` their transcripts — except what a legal hold covers (listed in
    /// the report). `analytics` and `ai_training` keep no per-subject data (statistics are
    /// aggregates), so withdrawing them deletes nothing.
    pub async fn set_consent(&self, c: ConsentChange) -> Result<ConsentReport> {
        let store = self.vault.store();
        store
            .get_subject(&c.tenant, c.subject)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("subject {}", c.subject)))?;
        let history = store.consents_for_subject(&c.tenant, c.subject).await?;
        let current = history
            .iter()
            .rfind(|r| r.purpose == c.purpose && r.interaction.is_none())
            .or_else(|| history.iter().rfind(|r| r.purpose == c.purpose));
        if let Some(cur) = current {
            if cur.basis == LegalBasis::LegalObligation && cur.state == ConsentState::Given {
                let what = if c.state == ConsentState::Withdrawn {
                    Some("withdrawn")
                } else if c.basis != LegalBasis::LegalObligation {
                    Some("switched to another basis")
                } else {
                    None
                };
                if let Some(what) = what {
                    self.audit(
                        &c.tenant,
                        &c.actor,
                        Action::ConsentChange,
                        Some(c.subject),
                        None,
                        Some(format!(
                            "{}/{}/{} refused: legal obligation",
                            c.purpose, c.basis, c.state
                        )),
                        Outcome::Denied,
                    )
                    .await?;
                    return Err(PolicyError::LegalObligation {
                        purpose: c.purpose,
                        requested: c.basis,
                        what,
                    });
                }
            }
        }
        if c.source.trim().is_empty() || c.source.len() > 128 {
            return Err(PolicyError::invalid("consent source", "1-128 characters"));
        }
        let row = ConsentRow {
            tenant: c.tenant.clone(),
            id: ObjectId::new(),
            subject: c.subject,
            purpose: c.purpose,
            basis: c.basis,
            state: c.state,
            source: c.source.clone(),
            at_ms: self.vault.now_ms(),
            interaction: c.interaction,
        };
        self.audit(
            &c.tenant,
            &c.actor,
            Action::ConsentChange,
            Some(c.subject),
            Some(row.id.to_string()),
            Some(format!(
                "{}/{}/{} source={}",
                c.purpose,
                c.basis,
                c.state,
                printable(&c.source)
            )),
            Outcome::Ok,
        )
        .await?;
        store.put_consent(&row).await?;

        let mut report = ConsentReport {
            consent: row.id,
            recordings_deleted: 0,
            transcripts_deleted: 0,
            held: Vec::new(),
        };
        if c.state == ConsentState::Withdrawn
            && c.basis == LegalBasis::Consent
            && matches!(
                c.purpose,
                ConsentPurpose::Recording | ConsentPurpose::Transcript
            )
        {
            self.delete_purpose_data(&c, &history, &mut report).await?;
        }
        let mut ids = Map::new();
        ids.insert("subject".into(), json!(c.subject.to_string()));
        ids.insert("consent".into(), json!(row.id.to_string()));
        let mut extra = Map::new();
        extra.insert("purpose".into(), json!(c.purpose.as_str()));
        extra.insert("basis".into(), json!(c.basis.as_str()));
        extra.insert("state".into(), json!(c.state.as_str()));
        self.emit(&c.tenant, WebhookEvent::ConsentChanged, ids, extra)
            .await?;
        Ok(report)
    }

    async fn delete_purpose_data(
        &self,
        c: &ConsentChange,
        history: &[ConsentRow],
        report: &mut ConsentReport,
    ) -> Result<()> {
        let store = self.vault.store();
        let now = self.vault.now_ms();
        let holds = store.active_holds(&c.tenant, now).await?;
        let interactions = store
            .list_interactions(
                &c.tenant,
                &InteractionFilter {
                    subject: Some(c.subject),
                    ..Default::default()
                },
            )
            .await?;
        let recording = c.purpose == ConsentPurpose::Recording;
        for i in interactions {
            if c.interaction.is_some_and(|only| only != i.id) {
                continue;
            }
            // The basis this interaction's data of the purpose was kept on: its own consent row,
            // else the subject-wide one. Data kept on another basis (a legal duty) stays.
            let basis = history
                .iter()
                .rfind(|r| r.purpose == c.purpose && r.interaction == Some(i.id))
                .or_else(|| {
                    history
                        .iter()
                        .rfind(|r| r.purpose == c.purpose && r.interaction.is_none())
                })
                .map(|r| r.basis);
            if basis.is_some_and(|b| b != LegalBasis::Consent) {
                continue;
            }
            let has = if recording {
                !store.recordings(i.id).await?.is_empty()
            } else {
                !store.segments(i.id).await?.is_empty()
            };
            if !has {
                continue;
            }
            if let Some(h) = Self::covering(&holds, i.subject, i.id, i.case_id) {
                report.held.push(HeldItem {
                    interaction: i.id,
                    hold: h.id,
                    scope: h.scope,
                    reason: h.reason.clone(),
                    until_ms: h.until_ms,
                });
                continue;
            }
            let r = store
                .apply_retention(&[(
                    None,
                    RetentionChange::Strip {
                        interaction: i.id,
                        segments: !recording,
                        recordings: recording,
                        next: None,
                    },
                )])
                .await?;
            for d in &r {
                for k in &d.blob_keys {
                    self.vault.blobs().delete(k).await?;
                }
                report.recordings_deleted += d.recordings;
                report.transcripts_deleted += u64::from(d.segments > 0);
            }
            self.audit(
                &c.tenant,
                &c.actor,
                Action::Erasure,
                Some(c.subject),
                Some(i.id.to_string()),
                Some(format!("consent withdrawn: {}", c.purpose)),
                Outcome::Ok,
            )
            .await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ erasure

    /// "Forget me" through the vault (holds → restricted, Art. 18), then `subject.erased`.
    pub async fn erase_subject(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        actor: &str,
    ) -> Result<ErasureReceipt> {
        if subject == sotto_vault::retention::anonymous_subject_id(tenant) {
            return Err(PolicyError::invalid(
                "subject",
                "the anonymous pool subject holds no personal data and is not erased",
            ));
        }
        let r = self.vault.forget(tenant, subject, actor).await?;
        self.announce_erasure(&r).await?;
        Ok(r)
    }

    /// Tells the CRM (webhook `subject.erased`, ids and counts only) about an erasure done
    /// through the vault directly (e.g. the API's, which carries the caller's access context).
    pub async fn announce_erasure(&self, r: &ErasureReceipt) -> Result<()> {
        let mut ids = Map::new();
        ids.insert("subject".into(), json!(r.subject.to_string()));
        ids.insert("receipt".into(), json!(r.receipt.to_string()));
        let mut extra = Map::new();
        extra.insert("key_erased".into(), json!(r.key_erased));
        extra.insert("held".into(), json!(r.held.len()));
        self.emit(&r.tenant, WebhookEvent::SubjectErased, ids, extra)
            .await
    }

    pub(crate) fn detector(&self) -> &Detector {
        &self.detector
    }
}

fn subject_of(h: &LegalHoldRow) -> Option<SubjectId> {
    (h.scope == HoldScope::Subject)
        .then(|| h.target.parse().ok())
        .flatten()
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// `ms` plus `years` calendar years (29 February becomes 28 February).
pub fn add_years(ms: UnixMillis, years: i32) -> UnixMillis {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return ms.saturating_add(i64::from(years) * 365 * modes::DAY_MS);
    };
    let y = t.year() + years;
    let d = t
        .date()
        .replace_year(y)
        .or_else(|_| t.date().replace_day(28).and_then(|d| d.replace_year(y)));
    match d {
        Ok(d) => {
            let nt = t.replace_date(d);
            (nt.unix_timestamp_nanos() / 1_000_000) as i64
        }
        Err(_) => ms.saturating_add(i64::from(years) * 365 * modes::DAY_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_calendar_years() {
        // 2024-02-29T00:00:00Z
        let leap = 1_709_164_800_000;
        let five = add_years(leap, 5);
        assert_eq!(
            sotto_core::clock::format_rfc3339(five),
            "2029-02-28T00:00:00Z"
        );
        let jan = 1_704_067_200_000; // 2024-01-01
        assert_eq!(
            sotto_core::clock::format_rfc3339(add_years(jan, 7)),
            "2031-01-01T00:00:00Z"
        );
    }
}
