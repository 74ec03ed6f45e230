//! Ingest metrics: lock-free counters and gauges, rendered in the Prometheus text format by
//! [`Metrics::render_prometheus`] (the API serves it at `/metrics`). Labels are kinds and reasons,
//! never ids or content.

use sotto_core::Kind;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Frame latency histogram resolution: 1 ms buckets up to this many ms (then one overflow).
pub const LATENCY_BUCKETS_MS: usize = 2_000;

/// Counters and gauges of one ingest server.
pub struct Metrics {
    pub active_calls: AtomicI64,
    pub calls_started: AtomicU64,
    pub calls_finished: AtomicU64,
    pub calls_failed: AtomicU64,
    pub frames: AtomicU64,
    pub audio_bytes: AtomicU64,
    /// Frames refused or discarded (malformed, duplicate, after the call ended).
    pub dropped_frames: AtomicU64,
    /// Bytes of audio held in delay lines, over all calls.
    pub delay_line_bytes: AtomicI64,
    /// Milliseconds of audio held in delay lines, summed over all legs.
    pub delay_line_ms: AtomicI64,
    /// Transcription lag (received − watermark) summed over legs; divide by legs for a mean.
    pub transcription_lag_ms: AtomicI64,
    pub legs: AtomicI64,
    /// Audio released unchecked-as-silence because transcription fell behind (ms).
    pub gap_ms: AtomicU64,
    pub silenced_ms: AtomicU64,
    /// Bytes of memory the sessions report holding (delay lines + writer buffers).
    pub session_bytes: AtomicI64,
    redactions: Vec<AtomicU64>,
    latency: Vec<AtomicU64>,
    closes: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("active_calls", &self.active_calls.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            active_calls: AtomicI64::new(0),
            calls_started: AtomicU64::new(0),
            calls_finished: AtomicU64::new(0),
            calls_failed: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            audio_bytes: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            delay_line_bytes: AtomicI64::new(0),
            delay_line_ms: AtomicI64::new(0),
            transcription_lag_ms: AtomicI64::new(0),
            legs: AtomicI64::new(0),
            gap_ms: AtomicU64::new(0),
            silenced_ms: AtomicU64::new(0),
            session_bytes: AtomicI64::new(0),
            redactions: (0..Kind::ALL.len()).map(|_| AtomicU64::new(0)).collect(),
            latency: (0..=LATENCY_BUCKETS_MS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            closes: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub fn redaction(&self, kind: Kind, n: u64) {
        if let Some(i) = Kind::ALL.iter().position(|k| *k == kind) {
            if let Some(c) = self.redactions.get(i) {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    pub fn redactions_of(&self, kind: Kind) -> u64 {
        Kind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| self.redactions.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Records one frame's added latency.
    pub fn frame_latency_ms(&self, ms: u64) {
        let i = (ms as usize).min(LATENCY_BUCKETS_MS);
        if let Some(c) = self.latency.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The `q` quantile (0..=1) of frame latency in ms, and the number of samples.
    pub fn latency_quantile(&self, q: f64) -> (u64, u64) {
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return (0, 0);
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= want {
                return (i as u64, total);
            }
        }
        (LATENCY_BUCKETS_MS as u64, total)
    }

    /// Clears the latency histogram (loadgen measures after its ramp-up).
    pub fn reset_latency(&self) {
        for c in &self.latency {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub fn closed(&self, reason: &'static str) {
        if let Ok(mut m) = self.closes.lock() {
            *m.entry(reason).or_insert(0) += 1;
        }
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        let mut s = String::new();
        let g = |s: &mut String, name: &str, help: &str, kind: &str, v: i64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let ld = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let lu = |a: &AtomicU64| a.load(Ordering::Relaxed) as i64;
        g(
            &mut s,
            "sotto_ingest_active_calls",
            "Live calls in progress.",
            "gauge",
            ld(&self.active_calls),
        );
        g(
            &mut s,
            "sotto_ingest_calls_started_total",
            "Live calls opened.",
            "counter",
            lu(&self.calls_started),
        );
        g(
            &mut s,
            "sotto_ingest_calls_finished_total",
            "Live calls committed to the vault.",
            "counter",
            lu(&self.calls_finished),
        );
        g(
            &mut s,
            "sotto_ingest_calls_failed_total",
            "Live calls that could not be committed.",
            "counter",
            lu(&self.calls_failed),
        );
        g(
            &mut s,
            "sotto_ingest_frames_total",
            "Audio frames received (rate() gives frames/s).",
            "counter",
            lu(&self.frames),
        );
        g(
            &mut s,
            "sotto_ingest_audio_bytes_total",
            "Audio bytes received.",
            "counter",
            lu(&self.audio_bytes),
        );
        g(
            &mut s,
            "sotto_ingest_dropped_frames_total",
            "Frames refused or discarded.",
            "counter",
            lu(&self.dropped_frames),
        );
        g(
            &mut s,
            "sotto_ingest_delay_line_bytes",
            "Audio bytes held in delay lines.",
            "gauge",
            ld(&self.delay_line_bytes),
        );
        g(
            &mut s,
            "sotto_ingest_delay_line_ms_sum",
            "Milliseconds of audio held, summed over legs.",
            "gauge",
            ld(&self.delay_line_ms),
        );
        g(
            &mut s,
            "sotto_ingest_transcription_lag_ms_sum",
            "Transcription lag summed over legs.",
            "gauge",
            ld(&self.transcription_lag_ms),
        );
        g(
            &mut s,
            "sotto_ingest_legs",
            "Legs of live calls.",
            "gauge",
            ld(&self.legs),
        );
        g(
            &mut s,
            "sotto_ingest_session_bytes",
            "Memory held by call sessions.",
            "gauge",
            ld(&self.session_bytes),
        );
        g(
            &mut s,
            "sotto_ingest_gap_ms_total",
            "Audio silenced because transcription fell behind.",
            "counter",
            lu(&self.gap_ms),
        );
        g(
            &mut s,
            "sotto_ingest_silenced_ms_total",
            "Audio silenced by redaction.",
            "counter",
            lu(&self.silenced_ms),
        );
        let _ = writeln!(s, "# HELP sotto_ingest_redactions_total Spans removed, by kind.\n# TYPE sotto_ingest_redactions_total counter");
        for (k, c) in Kind::ALL.iter().zip(&self.redactions) {
            let _ = writeln!(
                s,
                "sotto_ingest_redactions_total{{kind=\"{}\"}} {}",
                k.as_str(),
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(s, "# HELP sotto_ingest_calls_closed_total Calls closed, by reason.\n# TYPE sotto_ingest_calls_closed_total counter");
        if let Ok(m) = self.closes.lock() {
            for (r, n) in m.iter() {
                let _ = writeln!(s, "sotto_ingest_calls_closed_total{{reason=\"{r}\"}} {n}");
            }
        }
        let _ = writeln!(s, "# HELP sotto_ingest_frame_latency_ms Added frame latency.\n# TYPE sotto_ingest_frame_latency_ms histogram");
        let mut acc = 0u64;
        let mut next = 1usize;
        for (i, c) in self.latency.iter().enumerate() {
            acc += c.load(Ordering::Relaxed);
            if i + 1 == next || i == LATENCY_BUCKETS_MS - 1 {
                let _ = writeln!(
                    s,
                    "sotto_ingest_frame_latency_ms_bucket{{le=\"{}\"}} {acc}",
                    i + 1
                );
                next *= 2;
            }
        }
        let _ = writeln!(s, "sotto_ingest_frame_latency_ms_bucket{{le=\"+Inf\"}} {acc}\nsotto_ingest_frame_latency_ms_count {acc}");
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_text_format() {
        let m = Metrics::new();
        for i in 0..100 {
            m.frame_latency_ms(i);
        }
        assert_eq!(m.latency_quantile(0.5).0, 49);
        assert_eq!(m.latency_quantile(0.99).0, 98);
        m.redaction(Kind::PaymentCard, 2);
        let t = m.render_prometheus();
        assert!(t.contains("sotto_ingest_redactions_total{kind=\"payment_card\"} 2"));
        assert!(t.contains("# TYPE sotto_ingest_active_calls gauge"));
    }
}
