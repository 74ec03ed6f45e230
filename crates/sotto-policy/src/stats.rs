//! Pseudonymised statistics for analysts: volume, durations, redactions per kind and the
//! bot-to-human hand-over rate, per day (UTC) and queue.
//!
//! Computed from data without personal content: the clear columns of interactions (channel,
//! times, redaction counts) and segments (speaker) are folded into aggregate tables
//! (`stats_daily`, `stats_redactions`) that carry no subject or interaction ids, once per
//! interaction and before retention reduces or anonymises it — so the numbers outlive the data.

use crate::error::Result;
use crate::modes::DAY_MS;
use crate::policies::Policies;
use serde::Serialize;
use sotto_core::{TenantId, UnixMillis};
use std::collections::BTreeMap;

/// Which statistics: a tenant, a time range (by interaction start), optionally one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub tenant: TenantId,
    pub from_ms: UnixMillis,
    /// Exclusive; rounded up to whole days.
    pub to_ms: UnixMillis,
    pub queue: Option<String>,
}

/// One day and queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// `""`: interactions without a queue.
    pub queue: String,
    pub interactions: u64,
    pub by_channel: BTreeMap<String, u64>,
    pub duration_ms_total: u64,
    pub duration_ms_avg: u64,
    pub redactions: BTreeMap<String, u64>,
    pub bot_interactions: u64,
    pub handovers: u64,
    /// Hand-overs per bot interaction; `None` without bot interactions.
    pub handover_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub days: Vec<StatsDay>,
    pub total: StatsDay,
}

impl Policies {
    /// Statistics for `q`. Counts interactions not yet counted first (scheduling them under the
    /// tenant rule if they have no schedule), so the answer is current.
    pub async fn stats(&self, q: &StatsQuery) -> Result<Stats> {
        let store = self.vault.store();
        let eff = self
            .effective(&q.tenant, &crate::modes::Routing::default())
            .await?;
        store
            .schedule_unscheduled(&q.tenant, eff.mode, eff.retention_days)
            .await?;
        store.fold_stats(&q.tenant).await?;
        let from_day = q.from_ms.div_euclid(DAY_MS);
        let to_day = (q.to_ms + DAY_MS - 1).div_euclid(DAY_MS);
        let (days, reds) = store
            .stats(&q.tenant, from_day, to_day, q.queue.as_deref())
            .await?;
        let mut map: BTreeMap<(i64, String), StatsDay> = BTreeMap::new();
        let mut total = StatsDay {
            day: "total".into(),
            queue: q.queue.clone().unwrap_or_default(),
            ..Default::default()
        };
        for d in days {
            let e = map
                .entry((d.day, d.queue.clone()))
                .or_insert_with(|| StatsDay {
                    day: day_string(d.day),
                    queue: d.queue.clone(),
                    ..Default::default()
                });
            for s in [&mut *e, &mut total] {
                s.interactions += d.interactions;
                *s.by_channel
                    .entry(d.channel.as_str().to_owned())
                    .or_insert(0) += d.interactions;
                s.duration_ms_total += d.duration_ms;
                s.bot_interactions += d.bot;
                s.handovers += d.handovers;
            }
        }
        for r in reds {
            let e = map
                .entry((r.day, r.queue.clone()))
                .or_insert_with(|| StatsDay {
                    day: day_string(r.day),
                    queue: r.queue.clone(),
                    ..Default::default()
                });
            *e.redactions.entry(r.kind.clone()).or_insert(0) += r.n;
            *total.redactions.entry(r.kind).or_insert(0) += r.n;
        }
        let mut days: Vec<StatsDay> = map.into_values().collect();
        for s in days.iter_mut().chain(std::iter::once(&mut total)) {
            s.duration_ms_avg = s.duration_ms_total.checked_div(s.interactions).unwrap_or(0);
            s.handover_rate =
                (s.bot_interactions > 0).then(|| s.handovers as f64 / s.bot_interactions as f64);
        }
        Ok(Stats { days, total })
    }
}

fn day_string(day: i64) -> String {
    let s = sotto_core::clock::format_rfc3339(day * DAY_MS);
    s.get(..10).unwrap_or(&s).to_owned()
}
