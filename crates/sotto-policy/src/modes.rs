//! Processing modes (BRIEF.md): `minimal`, `anonymise`, `record`, per tenant and overridable per
//! campaign, queue or called number.
//!
//! Resolution order, most specific first: **called number > queue > campaign > tenant rule >
//! the tenant's `mode` column** (with the mode's default period). The webhook fields a tenant
//! allows always come from its tenant rule.
//!
//! What each mode keeps and when the retention engine acts (N = the rule's `retention_days`,
//! counted from the interaction's start):
//! - `minimal`: at the end of the interaction the transcript and any audio are dropped and only
//!   the row with the sealed caller number stays (invoicing); at N days it is deleted.
//! - `anonymise`: the redacted transcript stays sealed under the subject's key; at N days it is
//!   anonymised (every personal span replaced by its placeholder, unlinked from the subject,
//!   audio deleted) and the subject's key is destroyed once nothing of the subject remains.
//! - `record`: audio and transcript are kept (with the rule's legal basis) and deleted at N days.
//!
//! In every mode payment-card data is removed and special-category data replaced by its
//! placeholder at ingest, before anything is stored (the vault's `transcript::process`).

use serde::Serialize;
use sotto_core::{LegalBasis, ProcessingMode, UnixMillis};
use sotto_store::{PolicyRuleRow, RetentionAction, RuleScope};

pub const DAY_MS: i64 = 86_400_000;
/// Default invoicing period of `minimal`.
pub const DEFAULT_MINIMAL_DAYS: u32 = 90;
/// Default period before anonymisation in `anonymise`.
pub const DEFAULT_ANONYMISE_DAYS: u32 = 30;
/// Default period of `record`: five years (MiFID II Art. 16(7)).
pub const DEFAULT_RECORD_DAYS: u32 = 1827;

pub fn default_days(mode: ProcessingMode) -> u32 {
    match mode {
        ProcessingMode::Minimal => DEFAULT_MINIMAL_DAYS,
        ProcessingMode::Anonymise => DEFAULT_ANONYMISE_DAYS,
        ProcessingMode::Record => DEFAULT_RECORD_DAYS,
    }
}

/// Where an interaction came in: the keys the override rules match on. Campaign and queue are
/// the tenant's own names; the called number is the tenant's line, never the caller's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub campaign: Option<String>,
    pub queue: Option<String>,
    pub called_number: Option<String>,
}

/// The rule that applies to one interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    pub mode: ProcessingMode,
    pub retention_days: u32,
    pub basis: Option<LegalBasis>,
    /// Which rule matched (`None`: the tenant's mode column with its default period).
    pub matched: Option<(RuleScope, String)>,
    pub webhook_fields: Vec<String>,
}

/// Resolves the rule for `routing` (see the module docs for the order).
pub fn resolve(
    rules: &[PolicyRuleRow],
    tenant_mode: ProcessingMode,
    routing: &Routing,
) -> EffectivePolicy {
    let find = |scope: RuleScope, key: Option<&String>| {
        key.and_then(|k| rules.iter().find(|r| r.scope == scope && &r.key == k))
    };
    let tenant_rule = rules.iter().find(|r| r.scope == RuleScope::Tenant);
    let webhook_fields = tenant_rule
        .map(|r| r.webhook_fields.clone())
        .unwrap_or_default();
    let hit = find(RuleScope::Number, routing.called_number.as_ref())
        .or_else(|| find(RuleScope::Queue, routing.queue.as_ref()))
        .or_else(|| find(RuleScope::Campaign, routing.campaign.as_ref()))
        .or(tenant_rule);
    match hit {
        Some(r) => EffectivePolicy {
            mode: r.mode,
            retention_days: r.retention_days,
            basis: r.basis,
            matched: Some((r.scope, r.key.clone())),
            webhook_fields,
        },
        None => EffectivePolicy {
            mode: tenant_mode,
            retention_days: default_days(tenant_mode),
            basis: None,
            matched: None,
            webhook_fields,
        },
    }
}

/// The first retention step of an interaction under `mode`.
pub fn first_step(
    mode: ProcessingMode,
    days: u32,
    started_ms: UnixMillis,
    ended_ms: UnixMillis,
) -> (RetentionAction, UnixMillis) {
    let after = started_ms + i64::from(days) * DAY_MS;
    match mode {
        ProcessingMode::Minimal => (RetentionAction::Reduce, ended_ms),
        ProcessingMode::Anonymise => (RetentionAction::Anonymise, after),
        ProcessingMode::Record => (RetentionAction::Delete, after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_core::TenantId;

    fn rule(scope: RuleScope, key: &str, mode: ProcessingMode, days: u32) -> PolicyRuleRow {
        PolicyRuleRow {
            tenant: TenantId::default_tenant(),
            scope,
            key: key.into(),
            mode,
            retention_days: days,
            basis: None,
            webhook_fields: vec![],
            updated_ms: 0,
        }
    }

    #[test]
    fn most_specific_rule_wins() {
        let rules = vec![
            rule(RuleScope::Tenant, "", ProcessingMode::Anonymise, 30),
            rule(RuleScope::Campaign, "spring", ProcessingMode::Minimal, 60),
            rule(RuleScope::Queue, "trading", ProcessingMode::Record, 1827),
            rule(RuleScope::Number, "+4570000000", ProcessingMode::Minimal, 7),
        ];
        let r = |c: Option<&str>, q: Option<&str>, n: Option<&str>| Routing {
            campaign: c.map(Into::into),
            queue: q.map(Into::into),
            called_number: n.map(Into::into),
        };
        let m = ProcessingMode::Record;
        assert_eq!(resolve(&rules, m, &r(None, None, None)).retention_days, 30);
        assert_eq!(
            resolve(&rules, m, &r(Some("spring"), None, None)).mode,
            ProcessingMode::Minimal
        );
        assert_eq!(
            resolve(&rules, m, &r(Some("spring"), Some("trading"), None)).mode,
            ProcessingMode::Record
        );
        let e = resolve(
            &rules,
            m,
            &r(Some("spring"), Some("trading"), Some("+4570000000")),
        );
        assert_eq!((e.mode, e.retention_days), (ProcessingMode::Minimal, 7));
        // No rules at all: the tenant's mode column with its default period.
        let e = resolve(&[], ProcessingMode::Record, &Routing::default());
        assert_eq!(e.retention_days, DEFAULT_RECORD_DAYS);
        assert!(e.matched.is_none());
    }

    #[test]
    fn first_steps() {
        assert_eq!(
            first_step(ProcessingMode::Minimal, 10, 0, 500),
            (RetentionAction::Reduce, 500)
        );
        assert_eq!(
            first_step(ProcessingMode::Anonymise, 2, 0, 500),
            (RetentionAction::Anonymise, 2 * DAY_MS)
        );
        assert_eq!(
            first_step(ProcessingMode::Record, 1, 7, 500),
            (RetentionAction::Delete, DAY_MS + 7)
        );
    }
}
