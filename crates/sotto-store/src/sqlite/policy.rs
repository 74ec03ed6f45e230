//! SQLite side of the policy tables (migration `0002_policy.sql`): the trait methods of
//! [`Store`](crate::Store) for issue 6 delegate here, so `sqlite.rs` keeps one line each.

use super::{
    count, get, insert_chunked, int, map_err, parse, parse_opt, rows, SqliteStore,
    INTERACTION_INSERT_COLS, SEGMENT_INSERT_COLS,
};
use crate::model::*;
use crate::policy_model::*;
use crate::StoreError;
use sotto_core::{
    CaseId, InteractionId, ObjectId, ProcessingMode, SubjectId, SubjectState, TenantId, UnixMillis,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, Transaction};

const DAY_MS: i64 = 86_400_000;

const RULE_COLS: &str =
    "tenant, scope, key, mode, retention_days, basis, webhook_fields, updated_ms";
fn rule_row(r: &SqliteRow) -> Result<PolicyRuleRow, StoreError> {
    const T: &str = "policy_rules";
    let fields: String = get(r, "webhook_fields", T)?;
    Ok(PolicyRuleRow {
        tenant: parse(r, "tenant", T)?,
        scope: parse(r, "scope", T)?,
        key: get(r, "key", T)?,
        mode: parse(r, "mode", T)?,
        retention_days: int(r, "retention_days", T)?,
        basis: parse_opt(r, "basis", T)?,
        webhook_fields: serde_json::from_str(&fields)
            .map_err(|_| StoreError::Corrupt(format!("{T}.webhook_fields is not a JSON array")))?,
        updated_ms: get(r, "updated_ms", T)?,
    })
}

const IP_COLS: &str = "interaction, tenant, campaign, queue, called_number, mode, retention_days, \
     next_action, due_ms, stats_done";
fn ip_row(r: &SqliteRow) -> Result<InteractionPolicyRow, StoreError> {
    const T: &str = "interaction_policy";
    let done: i64 = get(r, "stats_done", T)?;
    Ok(InteractionPolicyRow {
        interaction: parse(r, "interaction", T)?,
        tenant: parse(r, "tenant", T)?,
        campaign: get(r, "campaign", T)?,
        queue: get(r, "queue", T)?,
        called_number: get(r, "called_number", T)?,
        mode: parse(r, "mode", T)?,
        retention_days: int(r, "retention_days", T)?,
        next_action: parse(r, "next_action", T)?,
        due_ms: get(r, "due_ms", T)?,
        stats_done: done != 0,
    })
}

const JOURNAL_COLS: &str =
    "run, seq, tenant, action, interaction, subject, state, planned_ms, detail";
fn journal_row(r: &SqliteRow) -> Result<JournalRow, StoreError> {
    const T: &str = "retention_journal";
    Ok(JournalRow {
        run: parse(r, "run", T)?,
        seq: get(r, "seq", T)?,
        tenant: parse(r, "tenant", T)?,
        action: parse(r, "action", T)?,
        interaction: parse_opt(r, "interaction", T)?,
        subject: parse(r, "subject", T)?,
        state: parse(r, "state", T)?,
        planned_ms: get(r, "planned_ms", T)?,
        detail: get(r, "detail", T)?,
    })
}

const OUTBOX_COLS: &str =
    "id, tenant, endpoint, event, payload, created_ms, attempts, next_ms, state, last_error";
fn outbox_row(r: &SqliteRow) -> Result<OutboxRow, StoreError> {
    const T: &str = "webhook_outbox";
    Ok(OutboxRow {
        id: parse(r, "id", T)?,
        tenant: parse(r, "tenant", T)?,
        endpoint: get(r, "endpoint", T)?,
        event: get(r, "event", T)?,
        payload: get(r, "payload", T)?,
        created_ms: get(r, "created_ms", T)?,
        attempts: int(r, "attempts", T)?,
        next_ms: get(r, "next_ms", T)?,
        state: parse(r, "state", T)?,
        last_error: get(r, "last_error", T)?,
    })
}

/// SQL for the first step of a mode: (next_action, due_ms) from `i.started_ms`, `i.ended_ms`.
fn first_step_sql(mode: ProcessingMode) -> (&'static str, &'static str) {
    match mode {
        ProcessingMode::Minimal => ("reduce", "i.ended_ms"),
        ProcessingMode::Anonymise => ("anonymise", "i.started_ms + ? * 86400000"),
        ProcessingMode::Record => ("delete", "i.started_ms + ? * 86400000"),
    }
}

/// Deletes one interaction with everything beside it; returns what went.
async fn delete_interaction(
    tx: &mut Transaction<'static, Sqlite>,
    id: InteractionId,
    op: &'static str,
) -> Result<DeletionReport, StoreError> {
    let s = id.to_string();
    let segments = sqlx::query("DELETE FROM segments WHERE interaction = ?")
        .bind(&s)
        .execute(&mut **tx)
        .await
        .map_err(map_err(op))?
        .rows_affected();
    let blob_keys: Vec<String> =
        sqlx::query_scalar("DELETE FROM recordings WHERE interaction = ? RETURNING blob_key")
            .bind(&s)
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err(op))?;
    let consents = sqlx::query("DELETE FROM consents WHERE interaction = ?")
        .bind(&s)
        .execute(&mut **tx)
        .await
        .map_err(map_err(op))?
        .rows_affected();
    let interactions = sqlx::query("DELETE FROM interactions WHERE id = ?")
        .bind(&s)
        .execute(&mut **tx)
        .await
        .map_err(map_err(op))?
        .rows_affected();
    Ok(DeletionReport {
        interactions,
        segments,
        recordings: blob_keys.len() as u64,
        consents,
        index_entries: 0,
        blob_keys,
    })
}

/// Deletes many interactions with everything beside them in a handful of statements (one per
/// table for the whole set, not one per interaction); one report per id, in order.
async fn delete_interactions(
    tx: &mut Transaction<'static, Sqlite>,
    ids: &[InteractionId],
    op: &'static str,
) -> Result<Vec<DeletionReport>, StoreError> {
    use std::collections::HashMap;
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let json = serde_json::Value::from(list.clone()).to_string();
    let mut reports: HashMap<&str, DeletionReport> = HashMap::with_capacity(ids.len());
    let segs: Vec<String> = sqlx::query_scalar(
        "DELETE FROM segments WHERE interaction IN (SELECT value FROM json_each(?))          RETURNING interaction",
    )
    .bind(&json)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err(op))?;
    let recs: Vec<(String, String)> = sqlx::query_as(
        "DELETE FROM recordings WHERE interaction IN (SELECT value FROM json_each(?))          RETURNING interaction, blob_key",
    )
    .bind(&json)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err(op))?;
    let cons: Vec<String> = sqlx::query_scalar(
        "DELETE FROM consents WHERE interaction IN (SELECT value FROM json_each(?))          RETURNING interaction",
    )
    .bind(&json)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err(op))?;
    let gone: Vec<String> = sqlx::query_scalar(
        "DELETE FROM interactions WHERE id IN (SELECT value FROM json_each(?)) RETURNING id",
    )
    .bind(&json)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err(op))?;
    for id in &list {
        reports.insert(id.as_str(), DeletionReport::default());
    }
    for i in &segs {
        if let Some(r) = reports.get_mut(i.as_str()) {
            r.segments += 1;
        }
    }
    for (i, k) in recs {
        if let Some(r) = reports.get_mut(i.as_str()) {
            r.recordings += 1;
            r.blob_keys.push(k);
        }
    }
    for i in &cons {
        if let Some(r) = reports.get_mut(i.as_str()) {
            r.consents += 1;
        }
    }
    for i in &gone {
        if let Some(r) = reports.get_mut(i.as_str()) {
            r.interactions += 1;
        }
    }
    Ok(list
        .iter()
        .map(|id| reports.remove(id.as_str()).unwrap_or_default())
        .collect())
}

/// The journal detail of a change: counts and the blob keys left to delete.
fn journal_detail(report: &DeletionReport) -> String {
    serde_json::json!({
        "interactions": report.interactions,
        "segments": report.segments,
        "recordings": report.recordings,
        "consents": report.consents,
        "blob_keys": report.blob_keys,
    })
    .to_string()
}

/// The body of `apply_retention`: runs of plain deletions go set-based, the rest one by one;
/// each change with a journal key moves that journal row from `planned` to `done` with its
/// detail (one statement per run of rows).
async fn apply_in_tx(
    tx: &mut Transaction<'static, Sqlite>,
    changes: &[(Option<JournalKey>, &RetentionChange)],
    op: &'static str,
) -> Result<Vec<DeletionReport>, StoreError> {
    let mut out: Vec<DeletionReport> = Vec::with_capacity(changes.len());
    let mut i = 0;
    while i < changes.len() {
        let mut end = i;
        while end < changes.len() && matches!(changes[end].1, RetentionChange::Delete(_)) {
            end += 1;
        }
        if end > i {
            let ids: Vec<InteractionId> = changes[i..end]
                .iter()
                .filter_map(|(_, c)| match c {
                    RetentionChange::Delete(id) => Some(*id),
                    _ => None,
                })
                .collect();
            out.extend(delete_interactions(tx, &ids, op).await?);
            i = end;
            continue;
        }
        let report = match changes[i].1 {
            RetentionChange::Delete(id) => delete_interaction(tx, *id, op).await?,
            RetentionChange::Strip {
                interaction,
                segments,
                recordings,
                next,
            } => {
                let s = interaction.to_string();
                let mut r = DeletionReport::default();
                if *segments {
                    r.segments = sqlx::query("DELETE FROM segments WHERE interaction = ?")
                        .bind(&s)
                        .execute(&mut **tx)
                        .await
                        .map_err(map_err(op))?
                        .rows_affected();
                }
                if *recordings {
                    r.blob_keys = sqlx::query_scalar(
                        "DELETE FROM recordings WHERE interaction = ? RETURNING blob_key",
                    )
                    .bind(&s)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(map_err(op))?;
                    r.recordings = r.blob_keys.len() as u64;
                }
                if let Some((action, due)) = next {
                    sqlx::query(
                        "UPDATE interaction_policy SET next_action = ?, due_ms = ? \
                         WHERE interaction = ?",
                    )
                    .bind(action.as_str())
                    .bind(*due)
                    .bind(&s)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err(op))?;
                }
                r
            }
            RetentionChange::Replace { old, new, policy } => {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT 1 FROM interactions WHERE id = ?")
                        .bind(old.to_string())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(map_err(op))?;
                if exists.is_some() {
                    insert_bundle(tx, new).await?;
                    upsert_ip(tx, policy, op).await?;
                    delete_interaction(tx, *old, op).await?
                } else {
                    DeletionReport::default()
                }
            }
        };
        out.push(report);
        i += 1;
    }
    // Journal rows planned → done, with their details.
    for ((key, _), r) in changes.iter().zip(&out) {
        if let Some((run, seq)) = key {
            sqlx::query(
                "UPDATE retention_journal SET state = 'done', detail = ? \
                 WHERE run = ? AND seq = ? AND state = 'planned'",
            )
            .bind(journal_detail(r))
            .bind(run.to_string())
            .bind(*seq)
            .execute(&mut **tx)
            .await
            .map_err(map_err(op))?;
        }
    }
    Ok(out)
}

/// Inserts journal rows inside a transaction.
async fn insert_journal_rows(
    tx: &mut Transaction<'static, Sqlite>,
    refs: &[&JournalRow],
) -> Result<(), StoreError> {
    insert_chunked(
        tx,
        "retention_journal",
        &[
            "run",
            "seq",
            "tenant",
            "action",
            "interaction",
            "subject",
            "state",
            "planned_ms",
            "detail",
        ],
        refs,
        |q, r| {
            q.bind(r.run.to_string())
                .bind(r.seq)
                .bind(r.tenant.as_str())
                .bind(r.action.as_str())
                .bind(r.interaction.map(|i| i.to_string()))
                .bind(r.subject.to_string())
                .bind(r.state.as_str())
                .bind(r.planned_ms)
                .bind(r.detail.as_str())
        },
    )
    .await
}

async fn upsert_ip(
    tx: &mut Transaction<'static, Sqlite>,
    p: &InteractionPolicyRow,
    op: &'static str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO interaction_policy ({IP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (interaction) DO UPDATE SET campaign = excluded.campaign, \
         queue = excluded.queue, called_number = excluded.called_number, mode = excluded.mode, \
         retention_days = excluded.retention_days, next_action = excluded.next_action, \
         due_ms = excluded.due_ms, stats_done = excluded.stats_done"
    ))
    .bind(p.interaction.to_string())
    .bind(p.tenant.as_str())
    .bind(p.campaign.as_deref())
    .bind(p.queue.as_deref())
    .bind(p.called_number.as_deref())
    .bind(p.mode.as_str())
    .bind(i64::from(p.retention_days))
    .bind(p.next_action.as_str())
    .bind(p.due_ms)
    .bind(i64::from(p.stats_done))
    .execute(&mut **tx)
    .await
    .map_err(map_err(op))?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn p_put_policy_rule(&self, r: &PolicyRuleRow) -> Result<(), StoreError> {
        const OP: &str = "put_policy_rule";
        let fields = serde_json::to_string(&r.webhook_fields).unwrap_or_else(|_| "[]".into());
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(&format!(
            "INSERT OR REPLACE INTO policy_rules ({RULE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(r.tenant.as_str())
        .bind(r.scope.as_str())
        .bind(r.key.as_str())
        .bind(r.mode.as_str())
        .bind(i64::from(r.retention_days))
        .bind(r.basis.map(|b| b.as_str()))
        .bind(fields)
        .bind(r.updated_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_delete_policy_rule(
        &self,
        tenant: &TenantId,
        scope: RuleScope,
        key: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "delete_policy_rule";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query("DELETE FROM policy_rules WHERE tenant = ? AND scope = ? AND key = ?")
            .bind(tenant.as_str())
            .bind(scope.as_str())
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?
            .rows_affected();
        tx.commit().await.map_err(map_err(OP))?;
        Ok(n > 0)
    }

    pub(super) async fn p_policy_rules(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<PolicyRuleRow>, StoreError> {
        let rs = sqlx::query(&format!(
            "SELECT {RULE_COLS} FROM policy_rules WHERE tenant = ? ORDER BY scope, key"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_err("policy_rules"))?;
        rows(rs, rule_row)
    }

    pub(super) async fn p_put_interaction_policy(
        &self,
        p: &InteractionPolicyRow,
    ) -> Result<(), StoreError> {
        const OP: &str = "put_interaction_policy";
        let mut tx = self.begin_write(OP).await?;
        upsert_ip(&mut tx, p, OP).await?;
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_get_interaction_policy(
        &self,
        id: InteractionId,
    ) -> Result<Option<InteractionPolicyRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {IP_COLS} FROM interaction_policy WHERE interaction = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err("get_interaction_policy"))?
        .as_ref()
        .map(ip_row)
        .transpose()
    }

    pub(super) async fn p_schedule_unscheduled(
        &self,
        tenant: &TenantId,
        mode: ProcessingMode,
        retention_days: u32,
    ) -> Result<u64, StoreError> {
        const OP: &str = "schedule_unscheduled";
        let (action, due) = first_step_sql(mode);
        let sql = format!(
            "INSERT INTO interaction_policy ({IP_COLS}) \
             SELECT i.id, i.tenant, NULL, NULL, NULL, ?, ?, '{action}', {due}, 0 \
             FROM interactions i WHERE i.tenant = ? \
             AND NOT EXISTS (SELECT 1 FROM interaction_policy p WHERE p.interaction = i.id)"
        );
        let mut q = sqlx::query(&sql)
            .bind(mode.as_str())
            .bind(i64::from(retention_days));
        if mode != ProcessingMode::Minimal {
            q = q.bind(i64::from(retention_days));
        }
        let mut tx = self.begin_write(OP).await?;
        let n = q
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?
            .rows_affected();
        tx.commit().await.map_err(map_err(OP))?;
        Ok(n)
    }

    pub(super) async fn p_due_interactions(
        &self,
        tenant: &TenantId,
        now_ms: UnixMillis,
        after: Option<(UnixMillis, InteractionId)>,
        limit: u32,
    ) -> Result<Vec<DueInteraction>, StoreError> {
        const T: &str = "interaction_policy";
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT p.interaction, i.subject, i.case_id, p.mode, p.retention_days, p.next_action, \
             p.due_ms, i.started_ms FROM interaction_policy p JOIN interactions i \
             ON i.id = p.interaction WHERE p.tenant = ",
        );
        qb.push_bind(tenant.as_str().to_owned())
            .push(" AND p.next_action <> 'none' AND p.due_ms <= ")
            .push_bind(now_ms);
        if let Some((d, id)) = after {
            qb.push(" AND (p.due_ms, p.interaction) > (")
                .push_bind(d)
                .push(", ")
                .push_bind(id.to_string())
                .push(")");
        }
        qb.push(" ORDER BY p.due_ms, p.interaction LIMIT ")
            .push_bind(i64::from(limit));
        let rs = qb
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("due_interactions"))?;
        rs.iter()
            .map(|r| {
                Ok(DueInteraction {
                    interaction: parse(r, "interaction", T)?,
                    subject: parse(r, "subject", T)?,
                    case_id: parse_opt(r, "case_id", T)?,
                    mode: parse(r, "mode", T)?,
                    retention_days: int(r, "retention_days", T)?,
                    next_action: parse(r, "next_action", T)?,
                    due_ms: get(r, "due_ms", T)?,
                    started_ms: get(r, "started_ms", T)?,
                })
            })
            .collect()
    }

    pub(super) async fn p_set_interaction_case(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        case: Option<CaseId>,
    ) -> Result<(), StoreError> {
        const OP: &str = "set_interaction_case";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query("UPDATE interactions SET case_id = ? WHERE tenant = ? AND id = ?")
            .bind(case.map(|c| c.to_string()))
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("{OP}: interaction {id}")));
        }
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_subjects_in_state(
        &self,
        tenant: &TenantId,
        state: SubjectState,
    ) -> Result<Vec<SubjectId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM subjects WHERE tenant = ? AND state = ? ORDER BY id",
        )
        .bind(tenant.as_str())
        .bind(state.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_err("subjects_in_state"))?;
        ids.iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt("subjects.id is not a uuid".into()))
            })
            .collect()
    }

    pub(super) async fn p_count_subject_interactions(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM interactions WHERE tenant = ? AND subject = ?",
        )
        .bind(tenant.as_str())
        .bind(subject.to_string())
        .fetch_one(&self.reader)
        .await
        .map_err(map_err("count_subject_interactions"))?;
        Ok(count(n))
    }

    pub(super) async fn p_get_legal_hold(
        &self,
        tenant: &TenantId,
        id: ObjectId,
    ) -> Result<Option<LegalHoldRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM legal_holds WHERE tenant = ? AND id = ?",
            super::HOLD_COLS
        ))
        .bind(tenant.as_str())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err("get_legal_hold"))?
        .as_ref()
        .map(super::hold_row)
        .transpose()
    }

    pub(super) async fn p_legal_holds(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<LegalHoldRow>, StoreError> {
        let rs = sqlx::query(&format!(
            "SELECT {} FROM legal_holds WHERE tenant = ? ORDER BY created_ms, id",
            super::HOLD_COLS
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_err("legal_holds"))?;
        rows(rs, super::hold_row)
    }

    pub(super) async fn p_insert_journal(&self, jr: &[JournalRow]) -> Result<(), StoreError> {
        const OP: &str = "insert_journal";
        if jr.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write(OP).await?;
        let refs: Vec<&JournalRow> = jr.iter().collect();
        insert_chunked(
            &mut tx,
            "retention_journal",
            &[
                "run",
                "seq",
                "tenant",
                "action",
                "interaction",
                "subject",
                "state",
                "planned_ms",
                "detail",
            ],
            &refs,
            |q, r| {
                q.bind(r.run.to_string())
                    .bind(r.seq)
                    .bind(r.tenant.as_str())
                    .bind(r.action.as_str())
                    .bind(r.interaction.map(|i| i.to_string()))
                    .bind(r.subject.to_string())
                    .bind(r.state.as_str())
                    .bind(r.planned_ms)
                    .bind(r.detail.as_str())
            },
        )
        .await?;
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_open_journal(&self) -> Result<Vec<JournalRow>, StoreError> {
        let rs = sqlx::query(&format!(
            "SELECT {JOURNAL_COLS} FROM retention_journal WHERE state <> 'audited' \
             ORDER BY run, seq"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(map_err("open_journal"))?;
        rows(rs, journal_row)
    }

    pub(super) async fn p_set_journal_state(
        &self,
        keys: &[JournalKey],
        state: JournalState,
    ) -> Result<(), StoreError> {
        const OP: &str = "set_journal_state";
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write(OP).await?;
        // One statement per run for the whole set of sequence numbers.
        let mut by_run: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
        for (run, seq) in keys {
            by_run.entry(run.to_string()).or_default().push(*seq);
        }
        for (run, seqs) in by_run {
            sqlx::query(
                "UPDATE retention_journal SET state = ? \
                 WHERE run = ? AND seq IN (SELECT value FROM json_each(?))",
            )
            .bind(state.as_str())
            .bind(run)
            .bind(serde_json::Value::from(seqs).to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?;
        }
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_apply_retention(
        &self,
        changes: &[(Option<JournalKey>, RetentionChange)],
    ) -> Result<Vec<DeletionReport>, StoreError> {
        const OP: &str = "apply_retention";
        let mut tx = self.begin_write(OP).await?;
        let refs: Vec<(Option<JournalKey>, &RetentionChange)> =
            changes.iter().map(|(k, c)| (*k, c)).collect();
        let out = apply_in_tx(&mut tx, &refs, OP).await?;
        tx.commit().await.map_err(map_err(OP))?;
        Ok(out)
    }

    /// Writes the journal rows and applies their changes in one transaction: the rows land as
    /// `done` together with the data change, or not at all (then the next run finds the same
    /// interactions due and plans them again).
    pub(super) async fn p_apply_retention_journaled(
        &self,
        rows: &[JournalRow],
        changes: &[RetentionChange],
    ) -> Result<Vec<DeletionReport>, StoreError> {
        const OP: &str = "apply_retention_journaled";
        if rows.len() != changes.len() {
            return Err(StoreError::Database {
                op: OP,
                message: format!("{} journal rows for {} changes", rows.len(), changes.len()),
            });
        }
        let mut tx = self.begin_write(OP).await?;
        let unkeyed: Vec<(Option<JournalKey>, &RetentionChange)> =
            changes.iter().map(|c| (None, c)).collect();
        let out = apply_in_tx(&mut tx, &unkeyed, OP).await?;
        // The rows go in as `done`, with their details, in the transaction of the change.
        let done: Vec<JournalRow> = rows
            .iter()
            .zip(&out)
            .map(|(r, d)| JournalRow {
                state: JournalState::Done,
                detail: journal_detail(d),
                ..r.clone()
            })
            .collect();
        let refs: Vec<&JournalRow> = done.iter().collect();
        insert_journal_rows(&mut tx, &refs).await?;
        tx.commit().await.map_err(map_err(OP))?;
        Ok(out)
    }

    pub(super) async fn p_enqueue_webhooks(&self, rs: &[OutboxRow]) -> Result<(), StoreError> {
        const OP: &str = "enqueue_webhooks";
        if rs.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write(OP).await?;
        for r in rs {
            sqlx::query(&format!(
                "INSERT INTO webhook_outbox ({OUTBOX_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(r.id.to_string())
            .bind(r.tenant.as_str())
            .bind(r.endpoint.as_str())
            .bind(r.event.as_str())
            .bind(r.payload.as_str())
            .bind(r.created_ms)
            .bind(i64::from(r.attempts))
            .bind(r.next_ms)
            .bind(r.state.as_str())
            .bind(r.last_error.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(map_err(OP))?;
        }
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_due_webhooks(
        &self,
        now_ms: UnixMillis,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rs = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE state = 'pending' AND next_ms <= ? \
             ORDER BY next_ms, created_ms, id LIMIT ?"
        ))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_err("due_webhooks"))?;
        rows(rs, outbox_row)
    }

    pub(super) async fn p_get_webhook(
        &self,
        id: ObjectId,
    ) -> Result<Option<OutboxRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err("get_webhook"))?
        .as_ref()
        .map(outbox_row)
        .transpose()
    }

    pub(super) async fn p_update_webhook(&self, r: &OutboxRow) -> Result<(), StoreError> {
        const OP: &str = "update_webhook";
        let mut tx = self.begin_write(OP).await?;
        let n = sqlx::query(
            "UPDATE webhook_outbox SET attempts = ?, next_ms = ?, state = ?, last_error = ? \
             WHERE id = ?",
        )
        .bind(i64::from(r.attempts))
        .bind(r.next_ms)
        .bind(r.state.as_str())
        .bind(r.last_error.as_deref())
        .bind(r.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("{OP}: event {}", r.id)));
        }
        tx.commit().await.map_err(map_err(OP))
    }

    pub(super) async fn p_fold_stats(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        const OP: &str = "fold_stats";
        let t = tenant.as_str();
        let mut tx = self.begin_write(OP).await?;
        // One pass over the uncounted interactions: a bot spoke / a bot then an agent spoke.
        sqlx::query(&format!(
            "INSERT INTO stats_daily (tenant, day, queue, channel, interactions, duration_ms, bot, \
             handovers) \
             SELECT i.tenant, i.started_ms / {DAY_MS}, COALESCE(p.queue, ''), i.channel, COUNT(*), \
             SUM(MAX(i.ended_ms - i.started_ms, 0)), \
             SUM(EXISTS (SELECT 1 FROM segments b WHERE b.interaction = i.id AND b.speaker = 'bot')), \
             SUM(EXISTS (SELECT 1 FROM segments b JOIN segments a ON a.interaction = b.interaction \
                 AND a.seq > b.seq AND a.speaker = 'agent' \
                 WHERE b.interaction = i.id AND b.speaker = 'bot')) \
             FROM interaction_policy p JOIN interactions i ON i.id = p.interaction \
             WHERE p.tenant = ? AND p.stats_done = 0 \
             GROUP BY 1, 2, 3, 4 \
             ON CONFLICT (tenant, day, queue, channel) DO UPDATE SET \
             interactions = interactions + excluded.interactions, \
             duration_ms = duration_ms + excluded.duration_ms, bot = bot + excluded.bot, \
             handovers = handovers + excluded.handovers"
        ))
        .bind(t)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        sqlx::query(&format!(
            "INSERT INTO stats_redactions (tenant, day, queue, kind, n) \
             SELECT i.tenant, i.started_ms / {DAY_MS}, COALESCE(p.queue, ''), j.key, SUM(j.value) \
             FROM interaction_policy p JOIN interactions i ON i.id = p.interaction, \
             json_each(i.redaction_counts) j \
             WHERE p.tenant = ? AND p.stats_done = 0 AND json_valid(i.redaction_counts) \
             GROUP BY 1, 2, 3, 4 \
             ON CONFLICT (tenant, day, queue, kind) DO UPDATE SET n = n + excluded.n"
        ))
        .bind(t)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?;
        let n = sqlx::query(
            "UPDATE interaction_policy SET stats_done = 1 WHERE tenant = ? AND stats_done = 0",
        )
        .bind(t)
        .execute(&mut *tx)
        .await
        .map_err(map_err(OP))?
        .rows_affected();
        tx.commit().await.map_err(map_err(OP))?;
        Ok(n)
    }

    pub(super) async fn p_stats(
        &self,
        tenant: &TenantId,
        from_day: i64,
        to_day: i64,
        queue: Option<&str>,
    ) -> Result<(Vec<StatsDayRow>, Vec<StatsRedactionRow>), StoreError> {
        const T: &str = "stats_daily";
        let q_filter = if queue.is_some() {
            " AND queue = ?"
        } else {
            ""
        };
        let sql = format!(
            "SELECT day, queue, channel, interactions, duration_ms, bot, handovers FROM stats_daily \
             WHERE tenant = ? AND day >= ? AND day < ?{q_filter} ORDER BY day, queue, channel"
        );
        let mut q = sqlx::query_as::<_, (i64, String, String, i64, i64, i64, i64)>(&sql)
            .bind(tenant.as_str())
            .bind(from_day)
            .bind(to_day);
        if let Some(qu) = queue {
            q = q.bind(qu);
        }
        let days = q
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("stats"))?
            .into_iter()
            .map(|(day, queue, channel, n, d, b, h)| {
                Ok(StatsDayRow {
                    day,
                    queue,
                    channel: channel
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("{T}.channel unknown")))?,
                    interactions: count(n),
                    duration_ms: count(d),
                    bot: count(b),
                    handovers: count(h),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sql = format!(
            "SELECT day, queue, kind, n FROM stats_redactions \
             WHERE tenant = ? AND day >= ? AND day < ?{q_filter} ORDER BY day, queue, kind"
        );
        let mut q = sqlx::query_as::<_, (i64, String, String, i64)>(&sql)
            .bind(tenant.as_str())
            .bind(from_day)
            .bind(to_day);
        if let Some(qu) = queue {
            q = q.bind(qu);
        }
        let red = q
            .fetch_all(&self.reader)
            .await
            .map_err(map_err("stats"))?
            .into_iter()
            .map(|(day, queue, kind, n)| StatsRedactionRow {
                day,
                queue,
                kind,
                n: count(n),
            })
            .collect();
        Ok((days, red))
    }
}

/// Inserts one bundle's interaction and segments (anonymised copies carry no recordings).
async fn insert_bundle(
    tx: &mut Transaction<'static, Sqlite>,
    b: &InteractionBundle,
) -> Result<(), StoreError> {
    let i = &b.interaction;
    insert_chunked(tx, "interactions", INTERACTION_INSERT_COLS, &[i], |q, i| {
        q.bind(i.tenant.as_str())
            .bind(i.id.to_string())
            .bind(i.subject.to_string())
            .bind(i.channel.as_str())
            .bind(i.direction.as_str())
            .bind(i.started_ms)
            .bind(i.ended_ms)
            .bind(i.case_id.map(|c| c.to_string()))
            .bind(i.created_ms)
            .bind(i.wrapped_key.as_slice())
            .bind(i.sealed_meta.as_slice())
            .bind(i.redaction_counts.as_str())
    })
    .await?;
    let segs: Vec<&SegmentRow> = b.segments.iter().collect();
    insert_chunked(tx, "segments", SEGMENT_INSERT_COLS, &segs, |q, s| {
        q.bind(s.interaction.to_string())
            .bind(s.id.to_string())
            .bind(s.seq)
            .bind(s.speaker.as_str())
            .bind(s.kind.as_str())
            .bind(s.start_ms)
            .bind(s.end_ms)
            .bind(s.sealed_text.as_slice())
            .bind(s.sealed_words.as_deref())
    })
    .await?;
    Ok(())
}
