//! Webhooks to CRMs: a transactional outbox (table `webhook_outbox`) and a dispatcher that
//! delivers each event to each configured endpoint, HMAC-signed, retried with exponential
//! backoff up to a maximum number of attempts.
//!
//! Events: `call.completed`, `recording.available`, `subject.erased`, `consent.changed`,
//! `retention.applied`. Body (JSON): `{"id","event","tenant","at_ms","data":{…}}` where `data`
//! holds ids (interaction, subject, case, consent, receipt, run) and counts, plus only those
//! extra fields the tenant's rule names in `webhook_fields` (from a fixed list of non-personal
//! fields: `channel`, `direction`, `duration_ms`, `redactions`, `audio_stored`, `purpose`,
//! `basis`, `state`, `queue`, `key_erased`, `held`). Never a number, name or transcript.
//!
//! Signature: header `Sotto-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`; also `Sotto-Event: <event>` and `Sotto-Delivery: <outbox id>` (the same on
//! every retry, so receivers can de-duplicate). A receiver recomputes the HMAC over the raw
//! body, compares in constant time and refuses timestamps older than its tolerance
//! ([`verify_signature`] does all three). Endpoints are configured by the operator only
//! (guarantee 6: nothing goes to a third party unless configured); their secrets live in the
//! configuration, never in the database.

use crate::error::{PolicyError, Result};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use sotto_core::{Clock, ObjectId, SecretBytes, TenantId, UnixMillis};
use sotto_store::{OutboxRow, OutboxState, Store};
use std::sync::Arc;
use std::time::Duration;

/// The events Sotto sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "call.completed")]
    CallCompleted,
    #[serde(rename = "recording.available")]
    RecordingAvailable,
    #[serde(rename = "subject.erased")]
    SubjectErased,
    #[serde(rename = "consent.changed")]
    ConsentChanged,
    #[serde(rename = "retention.applied")]
    RetentionApplied,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::CallCompleted,
        WebhookEvent::RecordingAvailable,
        WebhookEvent::SubjectErased,
        WebhookEvent::ConsentChanged,
        WebhookEvent::RetentionApplied,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::CallCompleted => "call.completed",
            WebhookEvent::RecordingAvailable => "recording.available",
            WebhookEvent::SubjectErased => "subject.erased",
            WebhookEvent::ConsentChanged => "consent.changed",
            WebhookEvent::RetentionApplied => "retention.applied",
        }
    }
}

/// Extra fields a tenant may allow (none of them can hold personal data).
pub const ALLOWED_EXTRA_FIELDS: &[&str] = &[
    "channel",
    "direction",
    "duration_ms",
    "redactions",
    "audio_stored",
    "purpose",
    "basis",
    "state",
    "queue",
    "key_erased",
    "held",
];

/// One receiver.
#[derive(Clone)]
pub struct WebhookEndpoint {
    /// A name for logs and the outbox (not the URL).
    pub name: String,
    /// `None`: events of every tenant.
    pub tenant: Option<TenantId>,
    pub url: String,
    pub secret: SecretBytes,
    /// Empty: every event.
    pub events: Vec<WebhookEvent>,
    /// Extra fields this receiver gets, narrowing what the tenant's rule allows (`None`: all the
    /// tenant allows). Never widens: a field the tenant does not allow is not sent.
    pub fields: Option<Vec<String>>,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("name", &self.name)
            .field("tenant", &self.tenant)
            .field("events", &self.events)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub endpoints: Vec<WebhookEndpoint>,
    /// Attempts before an event is given up (state `failed`).
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_backoff_ms: i64,
    pub max_backoff_ms: i64,
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            max_attempts: 8,
            base_backoff_ms: 30_000,
            max_backoff_ms: 6 * 3_600_000,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookConfig {
    /// The delay before attempt `attempts + 1`, after `attempts` failures (≥ 1).
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let shift = attempts.saturating_sub(1).min(30);
        self.base_backoff_ms
            .saturating_mul(1i64 << shift)
            .min(self.max_backoff_ms)
    }
}

/// What one dispatcher pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
}

/// The outbox writer and dispatcher. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn Store>,
    cfg: Arc<WebhookConfig>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl Webhooks {
    pub fn new(store: Arc<dyn Store>, cfg: WebhookConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        for e in &cfg.endpoints {
            let ok = e.url.starts_with("https://") || e.url.starts_with("http://");
            if !ok {
                return Err(PolicyError::invalid(
                    "webhook url",
                    format!("endpoint `{}` needs an http(s) URL", e.name),
                ));
            }
        }
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PolicyError::Webhook(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            store,
            cfg: Arc::new(cfg),
            client,
            clock,
        })
    }

    pub fn config(&self) -> &WebhookConfig {
        &self.cfg
    }

    /// Writes one outbox row per endpoint that wants this event. `ids` always go out; `extra`
    /// only where `allowed` (the tenant's `webhook_fields`) names the field and the field is in
    /// [`ALLOWED_EXTRA_FIELDS`]. Returns the event ids written.
    pub async fn enqueue(
        &self,
        tenant: &TenantId,
        event: WebhookEvent,
        ids: Map<String, Value>,
        extra: Map<String, Value>,
        allowed: &[String],
    ) -> Result<Vec<ObjectId>> {
        let now = self.clock.now_ms();
        let mut rows = Vec::new();
        for ep in self.cfg.endpoints.iter().filter(|e| {
            e.tenant.as_ref().is_none_or(|t| t == tenant)
                && (e.events.is_empty() || e.events.contains(&event))
        }) {
            let mut data = ids.clone();
            for (k, v) in &extra {
                let tenant_allows =
                    allowed.iter().any(|a| a == k) && ALLOWED_EXTRA_FIELDS.contains(&k.as_str());
                let endpoint_wants = ep.fields.as_ref().is_none_or(|f| f.iter().any(|x| x == k));
                if tenant_allows && endpoint_wants {
                    data.insert(k.clone(), v.clone());
                }
            }
            let id = ObjectId::new();
            let body = serde_json::json!({
                "id": id.to_string(),
                "event": event.as_str(),
                "tenant": tenant.as_str(),
                "at_ms": now,
                "data": Value::Object(data),
            });
            rows.push(OutboxRow {
                id,
                tenant: tenant.clone(),
                endpoint: ep.name.clone(),
                event: event.as_str().to_owned(),
                payload: body.to_string(),
                created_ms: now,
                attempts: 0,
                next_ms: now,
                state: OutboxState::Pending,
                last_error: None,
            });
        }
        self.store.enqueue_webhooks(&rows).await?;
        Ok(rows.iter().map(|r| r.id).collect())
    }

    /// Delivers every due event once (one attempt each): 2xx → delivered; anything else →
    /// retried after the backoff, or `failed` after `max_attempts`.
    pub async fn deliver_due(&self) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        loop {
            let now = self.clock.now_ms();
            let due = self.store.due_webhooks(now, 100).await?;
            if due.is_empty() {
                return Ok(report);
            }
            for mut row in due {
                let outcome = match self.cfg.endpoints.iter().find(|e| e.name == row.endpoint) {
                    Some(ep) => self.post(ep, &row, now).await,
                    None => Err("endpoint no longer configured".to_owned()),
                };
                row.attempts += 1;
                match outcome {
                    Ok(()) => {
                        row.state = OutboxState::Delivered;
                        row.last_error = None;
                        report.delivered += 1;
                    }
                    Err(e) => {
                        tracing::warn!(event = %row.id, endpoint = %row.endpoint, attempt = row.attempts, error = %e, "webhook delivery failed");
                        row.last_error = Some(e);
                        if row.attempts >= self.cfg.max_attempts {
                            row.state = OutboxState::Failed;
                            report.failed += 1;
                        } else {
                            row.next_ms = now + self.cfg.backoff_ms(row.attempts);
                            report.retried += 1;
                        }
                    }
                }
                self.store.update_webhook(&row).await?;
            }
        }
    }

    async fn post(
        &self,
        ep: &WebhookEndpoint,
        row: &OutboxRow,
        now: UnixMillis,
    ) -> std::result::Result<(), String> {
        let t = now.div_euclid(1000);
        let sig = sign(ep.secret.expose(), t, row.payload.as_bytes());
        let res = self
            .client
            .post(&ep.url)
            .header("content-type", "application/json")
            .header("sotto-event", row.event.as_str())
            .header("sotto-delivery", row.id.to_string())
            .header("sotto-signature", format!("t={t},v1={sig}"))
            .body(row.payload.clone())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            // The error class only: messages may carry the URL with a token in it.
            Err(e) if e.is_timeout() => Err("timeout".into()),
            Err(e) if e.is_connect() => Err("connection failed".into()),
            Err(_) => Err("request failed".into()),
        }
    }
}

/// Hex HMAC-SHA256 of `"<t>.<body>"`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a `Sotto-Signature` header: format, timestamp within `tolerance_s` of `now_s`, and
/// the HMAC in constant time.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_s: i64,
    tolerance_s: i64,
) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now_s - t).abs() > tolerance_s {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// Runs [`Webhooks::deliver_due`] every `every` until the task is aborted. Aborting may cut a
/// delivery short after the receiver got it; that event is sent again later with the same
/// `Sotto-Delivery` (at least once). [`spawn_dispatcher_until`] stops between passes instead.
pub fn spawn_dispatcher(hooks: Webhooks, every: Duration) -> tokio::task::JoinHandle<()> {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        // The sender lives as long as the task: never signalled, so this runs until aborted.
        let _keep = _tx;
        dispatch_loop(hooks, every, rx).await;
    })
}

/// Like [`spawn_dispatcher`], but stops cleanly once `stop` turns true: the pass in progress
/// finishes (each outbox row it attempted is updated), then the task ends. Await the handle.
pub fn spawn_dispatcher_until(
    hooks: Webhooks,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(dispatch_loop(hooks, every, stop))
}

async fn dispatch_loop(
    hooks: Webhooks,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut iv = tokio::time::interval(every);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = iv.tick() => {}
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        match hooks.deliver_due().await {
            Ok(r) if r != DeliveryReport::default() => {
                tracing::info!(
                    delivered = r.delivered,
                    retried = r.retried,
                    failed = r.failed,
                    "webhooks"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook dispatcher pass failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let body = br#"{"id":"x"}"#;
        let sig = sign(b"k", 1_000, body);
        let h = format!("t=1000,v1={sig}");
        assert!(verify_signature(b"k", &h, body, 1_100, 300));
        assert!(!verify_signature(b"k", &h, body, 1_400, 300), "too old");
        assert!(!verify_signature(b"other", &h, body, 1_100, 300));
        assert!(!verify_signature(b"k", &h, b"{}", 1_100, 300));
        assert!(!verify_signature(b"k", "garbage", body, 1_100, 300));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = WebhookConfig {
            base_backoff_ms: 1_000,
            max_backoff_ms: 5_000,
            ..Default::default()
        };
        assert_eq!(c.backoff_ms(1), 1_000);
        assert_eq!(c.backoff_ms(2), 2_000);
        assert_eq!(c.backoff_ms(3), 4_000);
        assert_eq!(c.backoff_ms(4), 5_000);
        assert_eq!(c.backoff_ms(40), 5_000);
    }
}
