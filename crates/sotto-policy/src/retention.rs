//! The retention engine: deletes, reduces and anonymises on time, completes erasures whose legal
//! duty ended, and destroys subject keys once nothing of the subject remains encrypted.
//!
//! One run, per tenant: (1) give unscheduled interactions a schedule under the tenant rule
//! (those ingested without [`crate::Policies::ingest`]); (2) fold not yet counted interactions
//! into the pseudonymised statistics (before anything is reduced); (3) walk the interactions
//! whose next step is due, page by page: an interaction an active legal hold covers is reported
//! as blocked, the others are written to the **journal** as planned actions and executed;
//! (4) plan `erase_subject` for subjects left with nothing, and for restricted subjects (they
//! asked for erasure while a legal duty held their data) whose data no hold covers any more.
//!
//! Crash safety: each data change commits in the same transaction as its journal row's
//! `planned → done`; blob deletion and the audit entry follow and move the row to `audited`.
//! A run first completes the open journal of an interrupted one: `planned` rows are executed,
//! `done` rows get their blobs deleted (idempotent) and their audit entry unless the log
//! already has it (matched by the `retention <run>/<seq>` purpose), so no action is done or
//! recorded twice. Every action is in the audit log as actor `system:retention`.

use crate::error::{PolicyError, Result};
use crate::modes::{self, Routing};
use crate::policies::Policies;
use crate::webhook::WebhookEvent;
use crate::RETENTION_ACTOR;
use serde::Serialize;
use serde_json::{json, Map};
use sotto_audit::{Action, Entry, Outcome, Query};
use sotto_core::{
    HoldScope, InteractionId, ObjectId, ProcessingMode, SubjectId, SubjectState, TenantId,
    UnixMillis,
};
use sotto_store::{
    DueInteraction, InteractionPolicyRow, JournalAction, JournalKey, JournalRow, JournalState,
    LegalHoldRow, RetentionAction, RetentionChange,
};
use sotto_vault::retention::anonymous_subject_id;
use sotto_vault::VaultError;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Due interactions read per page.
const PAGE: u32 = 2_000;
/// Actions per batch: one store transaction (journal rows included), one audit group commit,
/// one journal update.
const BATCH: usize = 1_000;
/// Most blocked items listed in a report (all are counted).
const MAX_LISTED: usize = 1_000;

/// An interaction retention would have acted on, kept by a legal hold.
#[derive(Debug, Clone, Serialize)]
pub struct BlockedItem {
    pub tenant: TenantId,
    pub interaction: InteractionId,
    pub action: RetentionAction,
    pub hold: ObjectId,
    pub scope: HoldScope,
    pub reason: String,
    pub until_ms: Option<UnixMillis>,
}

/// What a run did (or, dry, would do). Ids and counts only.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    pub run: Option<ObjectId>,
    pub at_ms: UnixMillis,
    pub dry_run: bool,
    /// Actions of an interrupted earlier run completed now.
    pub resumed: u64,
    pub scheduled: u64,
    pub counted_for_stats: u64,
    pub reduced: u64,
    pub anonymised: u64,
    pub deleted: u64,
    pub subjects_erased: u64,
    /// Subjects whose erasure found data still held (they stay restricted).
    pub subjects_restricted: u64,
    pub blobs_deleted: u64,
    pub blocked_total: u64,
    pub blocked: Vec<BlockedItem>,
}

/// Runs retention over every tenant. Share one per process.
pub struct RetentionEngine {
    policies: Policies,
    /// Test hook: fail after this many executed actions (after their data change committed,
    /// before their audit entry), as a crash would.
    fail_after: Option<usize>,
    executed: AtomicUsize,
    /// One run at a time per engine: the scheduler and a run started through the API share
    /// the engine, so they never plan the same due interaction twice.
    running: tokio::sync::Mutex<()>,
}

impl RetentionEngine {
    pub fn new(policies: Policies) -> Self {
        Self {
            policies,
            fail_after: None,
            executed: AtomicUsize::new(0),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// For crash tests: the run stops with [`PolicyError::InjectedFault`] once `k` actions have
    /// committed their data change, before they are audited.
    pub fn with_fault_after(mut self, k: usize) -> Self {
        self.fail_after = Some(k);
        self
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    pub fn now_ms(&self) -> UnixMillis {
        self.policies.vault.now_ms()
    }

    /// One retention run at `now`. `dry_run` changes no data (it may still record schedules of
    /// interactions that had none and fold statistics — bookkeeping, no personal data) and
    /// reports what would be done.
    pub async fn run(&self, now: UnixMillis, dry_run: bool) -> Result<RetentionReport> {
        self.run_scoped(now, dry_run, None).await
    }

    /// [`RetentionEngine::run`] for one tenant only (the API's "run now" and its dry-run
    /// report): only that tenant's interactions are acted on, and only its interrupted journal
    /// rows are completed. Waits for a run already in progress on this engine.
    pub async fn run_tenant(
        &self,
        tenant: &TenantId,
        now: UnixMillis,
        dry_run: bool,
    ) -> Result<RetentionReport> {
        self.run_scoped(now, dry_run, Some(tenant)).await
    }

    async fn run_scoped(
        &self,
        now: UnixMillis,
        dry_run: bool,
        only: Option<&TenantId>,
    ) -> Result<RetentionReport> {
        let _one_at_a_time = self.running.lock().await;
        self.executed.store(0, Ordering::SeqCst);
        let mut report = RetentionReport {
            at_ms: now,
            dry_run,
            ..Default::default()
        };
        // Subjects an interrupted run acted on: they may now be left with nothing.
        let mut resumed_subjects: Vec<(TenantId, SubjectId)> = Vec::new();
        if !dry_run {
            resumed_subjects = self.resume(&mut report, only).await?;
        }
        let run = ObjectId::new();
        report.run = Some(run);
        let mut seq = 0i64;
        let store = self.policies.vault.store().clone();
        for tenant in store.list_tenants().await? {
            let t = &tenant.id;
            if only.is_some_and(|o| o != t) {
                continue;
            }
            let eff = self.policies.effective(t, &Routing::default()).await?;
            report.scheduled += store
                .schedule_unscheduled(t, eff.mode, eff.retention_days)
                .await?;
            report.counted_for_stats += store.fold_stats(t).await?;
            let holds = store.active_holds(t, now).await?;
            let anon = anonymous_subject_id(t);
            let before = (
                report.reduced,
                report.anonymised,
                report.deleted,
                report.subjects_erased,
            );
            let mut touched: BTreeSet<SubjectId> = resumed_subjects
                .iter()
                .filter(|(rt, _)| rt == t)
                .map(|(_, s)| *s)
                .collect();
            let mut after = None;
            loop {
                let page = store.due_interactions(t, now, after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some((last.due_ms, last.interaction));
                let mut planned = Vec::new();
                for d in page {
                    if d.subject == anon && d.next_action != RetentionAction::Delete {
                        continue;
                    }
                    if let Some(h) = Policies::covering(&holds, d.subject, d.interaction, d.case_id)
                    {
                        report.blocked_total += 1;
                        if report.blocked.len() < MAX_LISTED {
                            report.blocked.push(blocked(t, &d, h));
                        }
                        continue;
                    }
                    let action = match d.next_action {
                        RetentionAction::Reduce => JournalAction::Reduce,
                        RetentionAction::Anonymise => JournalAction::Anonymise,
                        RetentionAction::Delete => JournalAction::Delete,
                        RetentionAction::None => continue,
                    };
                    touched.insert(d.subject);
                    seq += 1;
                    planned.push(JournalRow {
                        run,
                        seq,
                        tenant: t.clone(),
                        action,
                        interaction: Some(d.interaction),
                        subject: d.subject,
                        state: JournalState::Planned,
                        planned_ms: now,
                        detail: "{}".into(),
                    });
                }
                if dry_run {
                    count_planned(&mut report, &planned);
                } else {
                    // Fresh rows: each batch is journaled in the transaction of its change.
                    self.execute(&planned, &mut report, true).await?;
                }
            }

            // Subjects with nothing left, and restricted subjects whose data is held no more.
            let mut erase = Vec::new();
            for s in &touched {
                if *s != anon && (dry_run || store.count_subject_interactions(t, *s).await? == 0) {
                    erase.push(*s);
                }
            }
            let erase_set: HashSet<SubjectId> = erase.iter().copied().collect();
            for s in store.subjects_in_state(t, SubjectState::Restricted).await? {
                if s == anon || erase_set.contains(&s) {
                    continue;
                }
                if !self.still_held(t, s, &holds).await? {
                    erase.push(s);
                }
            }
            let mut planned = Vec::new();
            for s in erase {
                seq += 1;
                planned.push(JournalRow {
                    run,
                    seq,
                    tenant: t.clone(),
                    action: JournalAction::EraseSubject,
                    interaction: None,
                    subject: s,
                    state: JournalState::Planned,
                    planned_ms: now,
                    detail: "{}".into(),
                });
            }
            if dry_run {
                if !planned.is_empty() {
                    // A dry run cannot know which touched subjects would end up empty.
                    report.subjects_erased += planned.len() as u64;
                }
            } else {
                self.execute(&planned, &mut report, true).await?;
            }
            let after_counts = (
                report.reduced,
                report.anonymised,
                report.deleted,
                report.subjects_erased,
            );
            if !dry_run && after_counts != before {
                let mut ids = Map::new();
                ids.insert("run".into(), json!(run.to_string()));
                ids.insert("reduced".into(), json!(after_counts.0 - before.0));
                ids.insert("anonymised".into(), json!(after_counts.1 - before.1));
                ids.insert("deleted".into(), json!(after_counts.2 - before.2));
                ids.insert("subjects_erased".into(), json!(after_counts.3 - before.3));
                self.policies
                    .emit(t, WebhookEvent::RetentionApplied, ids, Map::new())
                    .await?;
            }
        }
        Ok(report)
    }

    /// Whether any active hold still covers a subject's data.
    async fn still_held(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        holds: &[LegalHoldRow],
    ) -> Result<bool> {
        let s = subject.to_string();
        if holds
            .iter()
            .any(|h| h.scope == HoldScope::Subject && h.target == s)
        {
            return Ok(true);
        }
        let items = self
            .policies
            .vault
            .store()
            .list_interactions(
                tenant,
                &sotto_store::InteractionFilter {
                    subject: Some(subject),
                    ..Default::default()
                },
            )
            .await?;
        Ok(items
            .iter()
            .any(|i| Policies::covering(holds, subject, i.id, i.case_id).is_some()))
    }

    /// Completes the open journal of an interrupted run; returns the subjects it acted on.
    async fn resume(
        &self,
        report: &mut RetentionReport,
        only: Option<&TenantId>,
    ) -> Result<Vec<(TenantId, SubjectId)>> {
        let mut open = self.policies.vault.store().open_journal().await?;
        if let Some(t) = only {
            open.retain(|r| &r.tenant == t);
        }
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let subjects: Vec<(TenantId, SubjectId)> = open
            .iter()
            .filter(|r| r.action != JournalAction::EraseSubject)
            .map(|r| (r.tenant.clone(), r.subject))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (planned, done): (Vec<JournalRow>, Vec<JournalRow>) = open
            .into_iter()
            .partition(|r| r.state == JournalState::Planned);
        tracing::info!(
            planned = planned.len(),
            unaudited = done.len(),
            "completing an interrupted retention run"
        );
        let before = total(report);
        self.finish_done(&done, report, true).await?;
        self.execute(&planned, report, false).await?;
        report.resumed += total(report) - before;
        Ok(subjects)
    }

    /// Executes journal rows in order, in batches of up to [`BATCH`]. `fresh`: the rows are not
    /// in the journal yet — an interaction batch is written to the journal in the transaction
    /// of its change (as `done`), subject erasures are written `planned` first and erased as a
    /// batch; otherwise (completing an interrupted run) the rows are already `planned`.
    async fn execute(
        &self,
        rows: &[JournalRow],
        report: &mut RetentionReport,
        fresh: bool,
    ) -> Result<()> {
        let mut i = 0;
        while i < rows.len() {
            let erase = rows[i].action == JournalAction::EraseSubject;
            // A batch: consecutive rows of the same kind (interaction actions or erasures).
            let mut end = i;
            while end < rows.len()
                && (rows[end].action == JournalAction::EraseSubject) == erase
                && rows[end].tenant == rows[i].tenant
                && end - i < BATCH
            {
                end += 1;
            }
            if let Some(k) = self.fail_after {
                let left = k.saturating_sub(self.executed.load(Ordering::SeqCst));
                if left == 0 {
                    return Err(PolicyError::InjectedFault(k));
                }
                end = end.min(i + left);
            }
            let batch = &rows[i..end];
            if erase {
                self.erase_subjects(batch, report, fresh).await?;
                i = end;
                continue;
            }
            let mut changes = Vec::with_capacity(batch.len());
            for r in batch {
                changes.push(self.change_for(r).await?);
            }
            let store = self.policies.vault.store();
            let reports = if fresh {
                store.apply_retention_journaled(batch, &changes).await?
            } else {
                let keyed: Vec<_> = batch
                    .iter()
                    .map(|r| Some((r.run, r.seq)))
                    .zip(changes)
                    .collect();
                store.apply_retention(&keyed).await?
            };
            self.executed.fetch_add(batch.len(), Ordering::SeqCst);
            self.check_fault()?;
            let mut finished = Vec::with_capacity(batch.len());
            for (r, d) in batch.iter().zip(&reports) {
                let mut r = r.clone();
                r.state = JournalState::Done;
                r.detail = json!({ "blob_keys": d.blob_keys }).to_string();
                finished.push(r);
            }
            self.finish_done(&finished, report, false).await?;
            i = end;
        }
        Ok(())
    }

    /// Subject erasures of one tenant. Fresh rows are journaled `planned` first; subjects with
    /// nothing stored any more are erased as one batch (the vault's `forget_empty_subjects`: one
    /// key-store and one store transaction, one audit group commit, each entry carrying its
    /// journal purpose); the rest (restricted subjects whose data is held no more, or whose
    /// state must be checked after a crash) one by one through `forget`.
    async fn erase_subjects(
        &self,
        rows: &[JournalRow],
        report: &mut RetentionReport,
        fresh: bool,
    ) -> Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        self.check_fault()?;
        if !fresh {
            for r in rows {
                self.check_fault()?;
                self.erase_subject(r, report, true).await?;
                self.executed.fetch_add(1, Ordering::SeqCst);
            }
            return Ok(());
        }
        let vault = &self.policies.vault;
        vault.store().insert_journal(rows).await?;
        let asked: Vec<(SubjectId, Option<String>)> = rows
            .iter()
            .map(|r| (r.subject, Some(journal_purpose(r))))
            .collect();
        let receipts = vault
            .forget_empty_subjects(&first.tenant, &asked, RETENTION_ACTOR)
            .await?;
        let mut audited = Vec::with_capacity(rows.len());
        let mut rest = Vec::new();
        for (r, receipt) in rows.iter().zip(receipts) {
            match receipt {
                Some(receipt) => {
                    report.subjects_erased += 1;
                    self.policies.announce_erasure(&receipt).await?;
                    audited.push((r.run, r.seq));
                }
                None => rest.push(r),
            }
        }
        vault
            .store()
            .set_journal_state(&audited, JournalState::Audited)
            .await?;
        self.executed.fetch_add(audited.len(), Ordering::SeqCst);
        for r in rest {
            self.check_fault()?;
            self.erase_subject(r, report, false).await?;
            self.executed.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn check_fault(&self) -> Result<()> {
        match self.fail_after {
            Some(k) if self.executed.load(Ordering::SeqCst) >= k => {
                Err(PolicyError::InjectedFault(k))
            }
            _ => Ok(()),
        }
    }

    /// The store change for one planned interaction action.
    async fn change_for(&self, r: &JournalRow) -> Result<RetentionChange> {
        let vault = &self.policies.vault;
        let Some(id) = r.interaction else {
            return Err(PolicyError::invalid(
                "journal",
                "interaction action without interaction",
            ));
        };
        Ok(match r.action {
            JournalAction::Delete | JournalAction::EraseSubject => RetentionChange::Delete(id),
            JournalAction::Reduce => {
                let p = vault.store().get_interaction_policy(id).await?;
                let row = vault.store().get_interaction(&r.tenant, id).await?;
                let next = match (p, row) {
                    (Some(p), Some(row)) => Some((
                        RetentionAction::Delete,
                        Some(row.started_ms + i64::from(p.retention_days) * modes::DAY_MS),
                    )),
                    _ => None,
                };
                RetentionChange::Strip {
                    interaction: id,
                    segments: true,
                    recordings: true,
                    next,
                }
            }
            JournalAction::Anonymise => {
                match vault
                    .anonymised_copy(&r.tenant, id, self.policies.detector())
                    .await
                {
                    Ok(Some(copy)) => {
                        let old = vault.store().get_interaction_policy(id).await?;
                        let policy = InteractionPolicyRow {
                            interaction: copy.bundle.interaction.id,
                            tenant: r.tenant.clone(),
                            campaign: old.as_ref().and_then(|p| p.campaign.clone()),
                            queue: old.as_ref().and_then(|p| p.queue.clone()),
                            called_number: None,
                            mode: ProcessingMode::Anonymise,
                            retention_days: old.as_ref().map_or(0, |p| p.retention_days),
                            next_action: RetentionAction::None,
                            due_ms: None,
                            // Counted already under the original.
                            stats_done: true,
                        };
                        RetentionChange::Replace {
                            old: id,
                            new: Box::new(copy.bundle),
                            policy: Box::new(policy),
                        }
                    }
                    // Gone already (no-op delete marks the row done).
                    Ok(None) => RetentionChange::Delete(id),
                    // The subject's key is gone: the ciphertext is unreadable; delete it.
                    Err(VaultError::SubjectErased(_)) => RetentionChange::Delete(id),
                    Err(e) => return Err(e.into()),
                }
            }
        })
    }

    /// For rows whose data change committed: delete their blobs, write their audit entries
    /// (unless already there, when `check_log`), mark them audited, count them.
    async fn finish_done(
        &self,
        rows: &[JournalRow],
        report: &mut RetentionReport,
        check_log: bool,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let vault = &self.policies.vault;
        let mut entries = Vec::with_capacity(rows.len());
        let mut keys: Vec<JournalKey> = Vec::with_capacity(rows.len());
        for r in rows {
            if r.action == JournalAction::EraseSubject {
                // A done erase_subject row was audited by the vault's forget already.
                keys.push((r.run, r.seq));
                continue;
            }
            let blob_keys: Vec<String> = serde_json::from_str::<serde_json::Value>(&r.detail)
                .ok()
                .and_then(|v| v.get("blob_keys").cloned())
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            for k in &blob_keys {
                vault.blobs().delete(k).await?;
                report.blobs_deleted += 1;
            }
            let purpose = journal_purpose(r);
            if check_log && self.audited_already(r, &purpose).await? {
                keys.push((r.run, r.seq));
                count_one(report, r.action);
                continue;
            }
            let mut e = Entry::new(
                r.tenant.clone(),
                vault.now_ms(),
                RETENTION_ACTOR,
                Action::Erasure,
                Outcome::Ok,
            );
            e.subject = Some(r.subject);
            e.object = r.interaction.map(|i| i.to_string());
            e.purpose = Some(purpose);
            entries.push(e);
            keys.push((r.run, r.seq));
            count_one(report, r.action);
        }
        if !entries.is_empty() {
            vault.audit().append_batch(entries).await?;
        }
        vault
            .store()
            .set_journal_state(&keys, JournalState::Audited)
            .await?;
        Ok(())
    }

    async fn audited_already(&self, r: &JournalRow, purpose: &str) -> Result<bool> {
        let found = self
            .policies
            .vault
            .audit()
            .query(
                &r.tenant,
                &Query {
                    subject: Some(r.subject),
                    actor: Some(RETENTION_ACTOR.into()),
                    from_ms: Some(r.planned_ms),
                    action: Some(Action::Erasure),
                    limit: Some(100_000),
                    ..Default::default()
                },
            )
            .await?;
        Ok(found
            .iter()
            .any(|rec| rec.entry.purpose.as_deref() == Some(purpose)))
    }

    /// Erases a subject through the vault (its key goes when nothing of it is held).
    async fn erase_subject(
        &self,
        r: &JournalRow,
        report: &mut RetentionReport,
        resuming: bool,
    ) -> Result<()> {
        let vault = &self.policies.vault;
        let state = vault
            .store()
            .get_subject(&r.tenant, r.subject)
            .await?
            .map(|s| s.state);
        let purpose = journal_purpose(r);
        // Only an interrupted run can have erased (and recorded) this row's subject already.
        let done_before = state == Some(SubjectState::Erased)
            || state.is_none()
            || (resuming && self.audited_already(r, &purpose).await?);
        if !done_before {
            let receipt = vault.forget(&r.tenant, r.subject, RETENTION_ACTOR).await?;
            // Mark the erasure with the journal's purpose, so a resumed run can tell it happened.
            let mut e = Entry::new(
                r.tenant.clone(),
                vault.now_ms(),
                RETENTION_ACTOR,
                Action::Erasure,
                Outcome::Ok,
            );
            e.subject = Some(r.subject);
            e.object = Some(format!("receipt:{}", receipt.receipt));
            e.purpose = Some(purpose);
            vault.audit().append(e).await?;
            report.blobs_deleted += receipt.blobs_deleted;
            report.deleted += receipt.interactions_erased;
            if receipt.key_erased {
                report.subjects_erased += 1;
            } else {
                report.subjects_restricted += 1;
            }
            self.policies.announce_erasure(&receipt).await?;
        }
        vault
            .store()
            .set_journal_state(&[(r.run, r.seq)], JournalState::Audited)
            .await?;
        Ok(())
    }
}

fn journal_purpose(r: &JournalRow) -> String {
    format!("retention {} {}/{}", r.action, r.run, r.seq)
}

fn blocked(t: &TenantId, d: &DueInteraction, h: &LegalHoldRow) -> BlockedItem {
    BlockedItem {
        tenant: t.clone(),
        interaction: d.interaction,
        action: d.next_action,
        hold: h.id,
        scope: h.scope,
        reason: h.reason.clone(),
        until_ms: h.until_ms,
    }
}

fn count_one(report: &mut RetentionReport, a: JournalAction) {
    match a {
        JournalAction::Reduce => report.reduced += 1,
        JournalAction::Anonymise => report.anonymised += 1,
        JournalAction::Delete => report.deleted += 1,
        JournalAction::EraseSubject => {}
    }
}

fn count_planned(report: &mut RetentionReport, rows: &[JournalRow]) {
    for r in rows {
        count_one(report, r.action);
    }
}

fn total(r: &RetentionReport) -> u64 {
    r.reduced + r.anonymised + r.deleted + r.subjects_erased + r.subjects_restricted
}

/// Runs the engine every `every` (first run at once) until the task is aborted. The server
/// starts this; errors are logged and the next tick tries again (the journal makes that safe).
pub fn spawn_scheduler(
    engine: Arc<RetentionEngine>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut iv = tokio::time::interval(every);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            iv.tick().await;
            let now = engine.now_ms();
            match engine.run(now, false).await {
                Ok(r) => tracing::info!(
                    reduced = r.reduced,
                    anonymised = r.anonymised,
                    deleted = r.deleted,
                    subjects_erased = r.subjects_erased,
                    blocked = r.blocked_total,
                    resumed = r.resumed,
                    "retention run"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "retention run failed; the next run completes it")
                }
            }
        }
    })
}
