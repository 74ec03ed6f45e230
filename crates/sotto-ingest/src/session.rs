//! One live call: legs, delay lines, transcription, streaming detection, silencing, the vault
//! writer, the hub and the timeline.
//!
//! ## The delay line
//! Each leg keeps the audio it received in memory. Audio at time `t` is released to the vault
//! writer only when the leg's transcription watermark `W` (everything before `W` transcribed)
//! is at least `t + D` (`D` = [`IngestConfig::delay_ms`], 20 s by default). The leg's
//! [`StreamingDetector`] has a window of `D/2`; it emits a span at the latest when its first word
//! leaves the window, and it is flushed after `D/2` without words — so by the time the watermark
//! is `D` past `t`, every span touching `t` has been emitted and its interval (plus padding) is
//! in the leg's silence list. Segment-level detection (`sotto_vault::transcript::process`, the
//! same as batch ingest) adds its intervals too, and redacts the text for the vault and the hub.
//!
//! If transcription falls behind, audio is held longer — up to [`IngestConfig::max_hold_ms`] per
//! leg. Past that bound the oldest audio is released as *silence* (never unchecked) and a
//! [`TimelineKind::Gap`] event is recorded. Memory per leg is therefore bounded by
//! `max_hold_ms` of audio plus one 64 KiB AEAD segment in the writer.
//!
//! Recording control (pause / stop / resume / start), consent given or withdrawn, and the
//! absence of a legal basis are intervals of the call's media time in which released audio is
//! replaced by silence; each change is a [`TimelineEvent`] with actor and reason.

use crate::config::IngestConfig;
use crate::events::{CallRouting, CompletedCall, LivePolicy};
use crate::hub::{LiveEvent, LiveSegment};
use crate::server::IngestState;
use crate::{IngestError, Result};
use sotto_audio::SourceEncoding;
use sotto_core::{
    Channel, Direction, InteractionId, Kind, Lang, LegalBasis, Personal, ProcessingMode,
    SegmentKind, Speaker, TenantId,
};
use sotto_detect::policy::{Action, Policy};
use sotto_detect::stream::StreamConfig;
use sotto_detect::{Detector, StreamSpan, StreamingDetector};
use sotto_transcribe::{EngineEvent, Supplied, Transcriber, Word};
use sotto_vault::live::{silence_byte, LiveLeg, LiveRecordingRequest, LiveRecordingWriter};
use sotto_vault::transcript::{self, SegmentInput, TranscriptInput, WordInput};
use sotto_vault::{Identifier, LiveReceipt};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a protocol knows when a call starts.
#[derive(Clone)]
pub struct CallStart {
    pub tenant: Option<TenantId>,
    /// The caller's number as sent (normalised here); `None` for withheld.
    pub caller: Option<Personal>,
    /// Legal basis for keeping audio given with the call (e.g. IVR consent).
    pub consent: Option<LegalBasis>,
    pub campaign: Option<String>,
    /// The queue the call came through (a processing-mode override key).
    pub queue: Option<String>,
    /// The number the caller dialled — the tenant's own line, never the caller's.
    pub called_number: Option<String>,
    pub direction: Direction,
    pub lang: Option<Lang>,
    pub agent: Option<String>,
    pub protocol: &'static str,
    /// The telephony side's id (Twilio callSid, AudioSocket uuid, AudioHook session id).
    pub external_id: Option<String>,
    pub legs: Vec<LiveLeg>,
}

impl std::fmt::Debug for CallStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStart")
            .field("protocol", &self.protocol)
            .field("legs", &self.legs.len())
            .finish_non_exhaustive()
    }
}

/// Why a call ended. The wire name is a metrics label and the `closed` reason sent to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The far end ended the stream normally (`stop`, `close`, hang-up message).
    Completed,
    /// Hung up through recording control (API / agent).
    Hangup,
    /// No data for longer than the idle timeout.
    IdleTimeout,
    /// The connection dropped without a closing message.
    Disconnected,
    /// Malformed input; the text says what (never content).
    Protocol(String),
    FrameTooLarge,
    UnknownCodec(String),
    BadSignature,
    Shutdown,
}

impl CloseReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::Completed => "completed",
            CloseReason::Hangup => "hangup",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::Disconnected => "disconnected",
            CloseReason::Protocol(_) => "protocol_error",
            CloseReason::FrameTooLarge => "frame_too_large",
            CloseReason::UnknownCodec(_) => "unknown_codec",
            CloseReason::BadSignature => "bad_signature",
            CloseReason::Shutdown => "shutdown",
        }
    }

    /// A one-line description for the client.
    pub fn describe(&self) -> String {
        match self {
            CloseReason::Protocol(m) => format!("protocol error: {m}"),
            CloseReason::UnknownCodec(c) => format!("unknown codec `{c}`"),
            CloseReason::FrameTooLarge => "frame too large".into(),
            other => other.as_str().replace('_', " "),
        }
    }
}

/// Timeline events of a call (media time, ms since the call started).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineKind {
    RecordingStarted,
    RecordingStopped,
    RecordingPaused,
    RecordingResumed,
    ConsentGiven {
        basis: LegalBasis,
    },
    ConsentWithdrawn,
    /// No legal basis for audio: the call is transcribed and its audio discarded.
    NoLegalBasis,
    /// Transcription fell behind past the memory bound: this interval was silenced unchecked.
    Gap {
        until_ms: u64,
    },
    /// The engine could not transcribe this interval; it was silenced.
    TranscriptionFailed {
        until_ms: u64,
    },
    /// Automatic PCI pause: a payment-card number (or its CVC / expiry) was spoken on this
    /// leg from `at_ms` to `until_ms`; that audio was silenced, the text says `[PAYMENT_CARD]`.
    PciPause {
        until_ms: u64,
    },
    /// A DTMF key (its value is not kept: keyed digits may be card data); audio around it silenced.
    Dtmf,
    /// The telephony side paused the stream itself (AudioHook "secure pause"), audio discarded.
    StreamPaused {
        discarded_ms: u64,
    },
    StreamResumed,
    Closed {
        reason: String,
    },
}

/// One event with who caused it and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineEvent {
    pub at_ms: u64,
    pub leg: Option<u8>,
    #[serde(flatten)]
    pub kind: TimelineKind,
    pub actor: String,
    pub reason: Option<String>,
}

impl TimelineEvent {
    /// The event as the vault stores it: kind and its numbers in clear, the reason sealed.
    pub fn to_input(&self) -> sotto_vault::TimelineInput {
        let mut detail = serde_json::to_value(&self.kind).unwrap_or_default();
        let kind = detail
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("closed")
            .to_owned();
        if let Some(m) = detail.as_object_mut() {
            m.remove("type");
        }
        sotto_vault::TimelineInput {
            at_ms: self.at_ms,
            leg: self.leg,
            kind,
            detail,
            actor: self.actor.clone(),
            reason: self.reason.clone().map(Personal::new),
        }
    }
}

struct Leg {
    spec: LiveLeg,
    bps: usize,
    delay: VecDeque<u8>,
    /// sample index of `delay[0]`
    start_sample: u64,
    received: u64,
    engine: Box<dyn Transcriber>,
    wants_audio: bool,
    det: StreamingDetector,
    last_word_end: u64,
    words_since_flush: usize,
    silence: Vec<(u64, u64)>,
    first_arrival: Option<(Instant, u64)>,
    pcm: Vec<i16>,
    out: Vec<u8>,
    gap_since: Option<u64>,
    reported_bytes: i64,
    reported_ms: i64,
    reported_lag: i64,
    /// Card intervals already on the timeline (one `pci_pause` event per spoken number).
    pci: Vec<(u64, u64)>,
}

impl Leg {
    fn ms(&self, samples: u64) -> u64 {
        samples * 1000 / u64::from(self.spec.sample_rate.max(1))
    }
    fn samples(&self, ms: u64) -> u64 {
        ms.saturating_mul(u64::from(self.spec.sample_rate)) / 1000
    }
}

/// A live call. Shared by its transport task(s) and the registry behind a mutex; every method
/// is synchronous and short (no await while locked).
pub struct CallSession {
    id: InteractionId,
    tenant: TenantId,
    protocol: &'static str,
    started_ms: i64,
    direction: Direction,
    routing: CallRouting,
    mode: Option<ProcessingMode>,
    state: IngestState,
    cfg: Arc<IngestConfig>,
    detector: Arc<Detector>,
    policy: Arc<Policy>,
    lang: Option<Lang>,
    legs: Vec<Leg>,
    writer: Option<LiveRecordingWriter>,
    timeline: Vec<TimelineEvent>,
    /// media-time intervals in which released audio is silenced (pause, stop, no basis)
    off: Vec<(u64, Option<u64>)>,
    has_basis: bool,
    paused: bool,
    stopped: bool,
    close_requested: Option<CloseReason>,
    closed: bool,
    seg_seq: u64,
    events: Vec<EngineEvent>,
    last_error: Option<String>,
}

impl std::fmt::Debug for CallSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSession")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .field("legs", &self.legs.len())
            .finish_non_exhaustive()
    }
}

/// A session shared between tasks.
pub type SharedSession = Arc<Mutex<CallSession>>;

impl CallSession {
    /// Opens a call: the vault interaction (subject, keys, spools), the hub entry, the registry
    /// entry. The call id is the interaction id it will be stored under.
    pub async fn open(state: &IngestState, start: CallStart) -> Result<SharedSession> {
        let cfg = state.cfg.clone();
        let tenant = start
            .tenant
            .clone()
            .unwrap_or_else(|| cfg.default_tenant.clone());
        let mut identifiers = Vec::new();
        let mut caller_invalid = false;
        if let Some(c) = &start.caller {
            match Identifier::phone(c.expose(), &cfg.phone_region) {
                Ok(i) => identifiers.push(i),
                Err(_) => caller_invalid = true,
            }
        }
        if start.legs.is_empty() || start.legs.len() > 8 {
            return Err(IngestError::Protocol("a call needs 1 to 8 legs".into()));
        }
        let routing = CallRouting {
            campaign: CallRouting::clean(start.campaign.clone()),
            queue: CallRouting::clean(start.queue.clone()),
            called_number: CallRouting::clean(start.called_number.clone()),
        };
        // The processing mode for this routing, before anything is opened: a call whose policy
        // cannot be resolved is refused rather than stored under a guess (fail closed).
        let live_policy = state
            .call_policy
            .resolve(&tenant, &routing)
            .await
            .map_err(IngestError::Policy)?;
        let mode = live_policy.map(|p| p.mode);
        let recording_basis = match live_policy {
            Some(LivePolicy {
                mode: ProcessingMode::Record,
                basis,
            }) => start.consent.or(basis),
            _ => start.consent,
        };
        let started_ms = state.vault.now_ms();
        let writer = state
            .vault
            .begin_live_recording(LiveRecordingRequest {
                tenant: tenant.clone(),
                channel: Channel::Call,
                direction: start.direction,
                started_ms,
                identifiers,
                agent: start.agent.clone(),
                lang: start.lang,
                legs: start.legs.clone(),
                recording_basis,
                basis_source: if start.consent.is_none() && recording_basis.is_some() {
                    format!("policy:{}", start.protocol)
                } else {
                    format!("ingest:{}", start.protocol)
                },
                mode,
                spool_dir: cfg.spool_dir.clone(),
            })
            .await?;
        let id = writer.interaction();
        let subject = writer.subject();
        // The hub first: the call's first timeline events (basis or none) reach subscribers.
        state.hub.open(id);
        let has_basis = writer.keeps_audio();
        let window = cfg.detector_window_ms().max(2_000);
        let legs = start
            .legs
            .iter()
            .map(|l| Leg {
                spec: *l,
                bps: l.encoding.bytes_per_sample(),
                delay: VecDeque::new(),
                start_sample: 0,
                received: 0,
                engine: cfg.engine.build(l.sample_rate),
                wants_audio: cfg.engine.wants_audio(),
                det: StreamingDetector::with_config(
                    state.detector.clone(),
                    start.lang,
                    StreamConfig {
                        max_ms: window,
                        ..StreamConfig::default()
                    },
                ),
                last_word_end: 0,
                words_since_flush: 0,
                silence: Vec::new(),
                first_arrival: None,
                pcm: Vec::new(),
                out: Vec::new(),
                gap_since: None,
                reported_bytes: 0,
                reported_ms: 0,
                reported_lag: 0,
                pci: Vec::new(),
            })
            .collect::<Vec<_>>();
        state
            .metrics
            .legs
            .fetch_add(legs.len() as i64, Ordering::Relaxed);
        let mut s = CallSession {
            id,
            tenant: tenant.clone(),
            protocol: start.protocol,
            started_ms,
            direction: start.direction,
            routing,
            mode,
            state: state.clone(),
            cfg: cfg.clone(),
            detector: state.detector.clone(),
            policy: state.policy.clone(),
            lang: start.lang,
            legs,
            writer: Some(writer),
            timeline: Vec::new(),
            off: Vec::new(),
            has_basis,
            paused: false,
            stopped: false,
            close_requested: None,
            closed: false,
            seg_seq: 0,
            events: Vec::new(),
            last_error: None,
        };
        let actor = format!("protocol:{}", start.protocol);
        if has_basis {
            s.event(None, TimelineKind::RecordingStarted, &actor, None);
        } else {
            s.off.push((0, None));
            s.event(None, TimelineKind::NoLegalBasis, &actor, None);
        }
        if caller_invalid {
            s.event(
                None,
                TimelineKind::NoLegalBasis,
                &actor,
                Some("caller number not understood: stored under a new subject".into()),
            )
        }
        let shared = Arc::new(Mutex::new(s));
        state.registry.insert(
            id,
            crate::registry::CallInfo {
                id,
                tenant,
                protocol: start.protocol,
                external_id: start.external_id.clone(),
                started_ms,
                legs: start.legs.iter().map(|l| l.speaker).collect(),
                agent: start.agent.clone(),
                subject,
            },
            shared.clone(),
        );
        state.metrics.active_calls.fetch_add(1, Ordering::Relaxed);
        state.metrics.calls_started.fetch_add(1, Ordering::Relaxed);
        Ok(shared)
    }

    pub fn id(&self) -> InteractionId {
        self.id
    }
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    pub fn timeline(&self) -> &[TimelineEvent] {
        &self.timeline
    }
    pub fn legs(&self) -> usize {
        self.legs.len()
    }
    /// The leg index speaking as `speaker`, if any.
    pub fn leg_of(&self, speaker: Speaker) -> Option<usize> {
        self.legs.iter().position(|l| l.spec.speaker == speaker)
    }
    /// A close asked for through the registry (hang-up), for the transport to act on.
    pub fn close_requested(&self) -> Option<CloseReason> {
        self.close_requested.clone()
    }
    pub fn is_closed(&self) -> bool {
        self.closed
    }
    /// The last error from the writer (ids only), if the pipeline failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Media time of the call: the furthest any leg has got.
    pub fn now_media_ms(&self) -> u64 {
        self.legs
            .iter()
            .map(|l| l.ms(l.received))
            .max()
            .unwrap_or(0)
    }

    /// Bytes of memory this call holds (delay lines, buffers, writer).
    pub fn memory_bytes(&self) -> usize {
        self.legs
            .iter()
            .map(|l| l.delay.capacity() + l.pcm.capacity() * 2 + l.out.capacity())
            .sum::<usize>()
            + self.writer.as_ref().map_or(0, |w| w.buffered_bytes())
    }

    fn event(&mut self, leg: Option<u8>, kind: TimelineKind, actor: &str, reason: Option<String>) {
        let at = self.now_media_ms();
        self.event_at(at, leg, kind, actor, reason);
    }

    fn event_at(
        &mut self,
        at_ms: u64,
        leg: Option<u8>,
        kind: TimelineKind,
        actor: &str,
        reason: Option<String>,
    ) {
        let ev = TimelineEvent {
            at_ms,
            leg,
            kind,
            actor: actor.chars().take(120).collect(),
            reason: reason.map(|r| r.chars().take(200).collect()),
        };
        self.state
            .hub
            .publish(self.id, LiveEvent::Timeline(ev.clone()));
        self.timeline.push(ev);
    }

    /// Audio for leg `leg` in its encoding. `media_ms` is where it belongs on the leg's
    /// timeline when the protocol says (Twilio timestamps); otherwise it follows the last frame.
    /// Gaps are filled with silence; overlaps are dropped.
    pub fn push_audio(&mut self, leg: usize, media_ms: Option<u64>, bytes: &[u8]) -> Result<()> {
        let m = &self.state.metrics;
        m.frames.fetch_add(1, Ordering::Relaxed);
        m.audio_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if self.closed {
            m.dropped_frames.fetch_add(1, Ordering::Relaxed);
            return Err(IngestError::CallEnded(self.id.to_string()));
        }
        let max_gap = self.cfg.max_hold_ms;
        let Some(l) = self.legs.get_mut(leg) else {
            m.dropped_frames.fetch_add(1, Ordering::Relaxed);
            return Err(IngestError::Protocol(format!("no leg {leg}")));
        };
        let bps = l.bps;
        let usable = bytes.len() - bytes.len() % bps;
        let mut data = &bytes[..usable];
        let at = media_ms.map_or(l.received, |ms| l.samples(ms));
        if at > l.received {
            let gap = (at - l.received).min(l.samples(max_gap));
            let fill = silence_byte(l.spec.encoding);
            l.delay
                .extend(std::iter::repeat_n(fill, (gap as usize) * bps));
            if l.wants_audio {
                l.pcm.clear();
                l.pcm.resize(gap as usize, 0);
                let t = l.ms(l.received);
                l.engine.push_audio(t, &l.pcm);
            }
            l.received += gap;
        } else if at < l.received {
            let skip = ((l.received - at) as usize * bps).min(data.len());
            data = &data[skip..];
            if data.is_empty() {
                m.dropped_frames.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        let frame_ms = l.ms(l.received);
        let now = Instant::now();
        match l.first_arrival {
            None => {
                l.first_arrival = Some((now, frame_ms));
                m.frame_latency_ms(0);
            }
            Some((t0, ms0)) => {
                let elapsed = now.duration_since(t0).as_millis() as i64;
                let media = frame_ms as i64 - ms0 as i64;
                m.frame_latency_ms((elapsed - media).max(0) as u64);
            }
        }
        l.delay.extend(data.iter().copied());
        let n = (data.len() / bps) as u64;
        if l.wants_audio {
            l.pcm.clear();
            decode_into(l.spec.encoding, data, &mut l.pcm);
            l.engine.push_audio(frame_ms, &l.pcm);
        }
        l.received += n;
        self.pump(leg, false);
        Ok(())
    }

    /// A transcript event supplied by the far end (bot engine).
    pub fn supply(&mut self, leg: usize, ev: Supplied) -> Result<()> {
        if self.closed {
            return Err(IngestError::CallEnded(self.id.to_string()));
        }
        let l = self
            .legs
            .get_mut(leg)
            .ok_or_else(|| IngestError::Protocol(format!("no leg {leg}")))?;
        l.engine.supply(ev);
        self.pump(leg, false);
        Ok(())
    }

    /// A DTMF key on `leg`: a timeline event without the digit, and the audio around it
    /// silenced (keyed digits may be a card number; their tones must not be recorded).
    pub fn dtmf(&mut self, leg: usize, actor: &str) {
        if let Some(l) = self.legs.get_mut(leg) {
            let t = l.ms(l.received);
            l.silence.push((t.saturating_sub(300), t + 200));
        }
        self.event(Some(leg as u8), TimelineKind::Dtmf, actor, None);
    }

    /// The telephony side paused the stream and discarded audio (AudioHook `paused`/`resumed`).
    pub fn stream_paused(&mut self, discarded_ms: u64, actor: &str) {
        self.event(
            None,
            TimelineKind::StreamPaused { discarded_ms },
            actor,
            None,
        );
    }
    pub fn stream_resumed(&mut self, actor: &str) {
        self.event(None, TimelineKind::StreamResumed, actor, None);
    }

    fn recording_on(&self) -> bool {
        self.has_basis && !self.paused && !self.stopped
    }

    fn set_recording(&mut self, f: impl FnOnce(&mut Self)) {
        let before = self.recording_on();
        f(self);
        let after = self.recording_on();
        let now = self.now_media_ms();
        if before && !after {
            self.off.push((now, None));
        } else if !before && after {
            if let Some(last) = self.off.last_mut() {
                if last.1.is_none() {
                    last.1 = Some(now);
                }
            }
        }
    }

    /// Recording control and consent. Errors when the command makes no sense in this state
    /// (resuming without a legal basis).
    pub fn control(&mut self, cmd: &crate::registry::Command, actor: &str) -> Result<()> {
        use crate::registry::Command;
        if self.closed {
            return Err(IngestError::CallEnded(self.id.to_string()));
        }
        match cmd {
            Command::Pause { reason } => {
                self.set_recording(|s| s.paused = true);
                self.event(None, TimelineKind::RecordingPaused, actor, reason.clone());
            }
            Command::Resume { reason } | Command::Start { reason } => {
                if !self.has_basis {
                    return Err(IngestError::Protocol(
                        "no legal basis for audio on this call: record consent first".into(),
                    ));
                }
                let started = matches!(cmd, Command::Start { .. });
                self.set_recording(|s| {
                    s.paused = false;
                    s.stopped = false;
                });
                let kind = if started {
                    TimelineKind::RecordingStarted
                } else {
                    TimelineKind::RecordingResumed
                };
                self.event(None, kind, actor, reason.clone());
            }
            Command::Stop { reason } => {
                self.set_recording(|s| s.stopped = true);
                self.event(None, TimelineKind::RecordingStopped, actor, reason.clone());
            }
            Command::ConsentGiven { basis } => {
                let b = *basis;
                if let Some(w) = self.writer.as_mut() {
                    w.set_recording_basis(Some(b));
                }
                self.set_recording(|s| s.has_basis = true);
                self.event(None, TimelineKind::ConsentGiven { basis: b }, actor, None);
            }
            Command::ConsentWithdrawn { reason } => {
                self.set_recording(|s| s.has_basis = false);
                self.event(None, TimelineKind::ConsentWithdrawn, actor, reason.clone());
            }
            Command::Hangup { reason } => {
                self.close_requested = Some(CloseReason::Hangup);
                let _ = reason;
            }
        }
        Ok(())
    }

    /// Periodic work when no frames arrive (engine answers, releases).
    pub fn tick(&mut self) {
        for i in 0..self.legs.len() {
            self.pump(i, false);
        }
    }

    fn pump(&mut self, leg: usize, closing: bool) {
        let mut events = std::mem::take(&mut self.events);
        if let Some(l) = self.legs.get_mut(leg) {
            l.engine.poll(&mut events);
        }
        for ev in events.drain(..) {
            match ev {
                EngineEvent::Final { words, kind } => self.final_words(leg, words, kind),
                EngineEvent::Partial { .. } => {}
                EngineEvent::Failed { start_ms, end_ms } => {
                    if let Some(l) = self.legs.get_mut(leg) {
                        l.silence.push((start_ms, end_ms));
                    }
                    self.event(
                        Some(leg as u8),
                        TimelineKind::TranscriptionFailed { until_ms: end_ms },
                        "engine",
                        None,
                    );
                }
            }
        }
        self.events = events;
        let delay = self.cfg.delay_ms;
        let window = self.cfg.detector_window_ms().max(2_000);
        let batch_ms = self.cfg.release_batch_ms;
        let max_hold = self.cfg.max_hold_ms;
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let w = l.engine.watermark_ms();
        let mut spans = Vec::new();
        if l.words_since_flush > 0 && (closing || w == u64::MAX || w >= l.last_word_end + window) {
            spans = l.det.flush();
            l.words_since_flush = 0;
        }
        self.apply_spans(leg, &spans);
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let received_ms = l.ms(l.received);
        let safe_ms = if w == u64::MAX {
            received_ms
        } else {
            w.saturating_sub(delay).min(received_ms)
        };
        let safe = l.samples(safe_ms).min(l.received);
        let batch = l.samples(batch_ms);
        if safe > l.start_sample && (closing || safe >= l.start_sample + batch) {
            self.release_to(leg, safe, true);
        }
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let hold = l.samples(max_hold);
        if l.received.saturating_sub(l.start_sample) > hold + batch {
            let to = l.received - hold;
            self.release_to(leg, to, false);
        }
        self.report(leg);
    }

    fn report(&mut self, leg: usize) {
        let m = self.state.metrics.clone();
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let bytes = l.delay.len() as i64;
        let ms = l.ms(l.received - l.start_sample) as i64;
        let w = l.engine.watermark_ms();
        let lag = if w == u64::MAX {
            0
        } else {
            l.ms(l.received).saturating_sub(w) as i64
        };
        m.delay_line_bytes
            .fetch_add(bytes - l.reported_bytes, Ordering::Relaxed);
        m.delay_line_ms
            .fetch_add(ms - l.reported_ms, Ordering::Relaxed);
        m.transcription_lag_ms
            .fetch_add(lag - l.reported_lag, Ordering::Relaxed);
        l.reported_bytes = bytes;
        l.reported_ms = ms;
        l.reported_lag = lag;
    }

    fn apply_spans(&mut self, leg: usize, spans: &[StreamSpan]) {
        let policy = self.policy.clone();
        let mut pci = Vec::new();
        if let Some(l) = self.legs.get_mut(leg) {
            for s in spans {
                if policy.action(s.kind) != Action::Keep {
                    l.silence.push((s.start_ms, s.end_ms));
                }
                if s.kind.category() == sotto_core::Category::Pci {
                    pci.push((s.start_ms, s.end_ms));
                }
            }
        }
        for (a, b) in pci {
            self.pci_pause(leg, a, b);
        }
    }

    /// One `pci_pause` timeline event per spoken card number (the streaming detector and the
    /// segment's own detection may both find it: an interval overlapping one already on the
    /// timeline is not repeated).
    fn pci_pause(&mut self, leg: usize, a: u64, b: u64) {
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        if l.pci.iter().any(|&(x, y)| a <= y && x <= b) {
            return;
        }
        l.pci.push((a, b));
        self.event_at(
            a,
            Some(leg as u8),
            TimelineKind::PciPause { until_ms: b },
            "detector",
            None,
        );
    }

    fn final_words(&mut self, leg: usize, words: Vec<Word>, kind: Option<SegmentKind>) {
        if words.is_empty() {
            return;
        }
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let speaker = l.spec.speaker;
        let mut spans = Vec::new();
        for w in &words {
            spans.extend(l.det.push(w.text.expose(), w.start_ms, w.end_ms));
            l.last_word_end = l.last_word_end.max(w.end_ms);
        }
        l.words_since_flush += words.len();
        self.apply_spans(leg, &spans);
        let start_ms = words.iter().map(|w| w.start_ms).min().unwrap_or(0);
        let end_ms = words.iter().map(|w| w.end_ms).max().unwrap_or(0);
        let mut text = String::new();
        let mut winput = Vec::with_capacity(words.len());
        for w in &words {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(w.text.expose());
            winput.push(WordInput {
                w: w.text.expose().to_owned(),
                start_ms: w.start_ms as i64,
                end_ms: w.end_ms as i64,
            });
        }
        let input = TranscriptInput {
            lang: self.lang.map(|l| l.code().to_owned()),
            segments: vec![SegmentInput {
                speaker,
                start_ms: start_ms as i64,
                end_ms: end_ms as i64,
                text,
                words: Some(winput),
                kind,
                lang: None,
            }],
        };
        let mut processed = transcript::process(&self.detector, &self.policy, input, self.lang);
        for (k, n) in &processed.counts {
            if self.policy.action(*k) != Action::Keep {
                self.state.metrics.redaction(*k, u64::from(*n));
            }
        }
        if let Some(l) = self.legs.get_mut(leg) {
            l.silence.extend(processed.silence_ms.iter().copied());
        }
        for &(a, b) in &processed.pci_ms {
            self.pci_pause(leg, a, b);
        }
        let Some(seg) = processed.segments.pop() else {
            return;
        };
        if let Some(w) = self.writer.as_mut() {
            if let Err(e) = w.append_segment(&seg) {
                self.last_error = Some(e.to_string());
            }
        }
        self.seg_seq += 1;
        let live = LiveSegment {
            seq: self.seg_seq,
            speaker: seg.speaker,
            kind: seg.kind,
            start_ms: seg.start_ms.max(0) as u64,
            end_ms: seg.end_ms.max(0) as u64,
            text: seg.text.clone(),
        };
        self.state.hub.publish(self.id, LiveEvent::Segment(live));
    }

    /// Releases leg audio up to sample `to` to the writer: silence intervals, recording-off
    /// intervals, and — when `checked` is false — everything, replaced by silence.
    fn release_to(&mut self, leg: usize, to: u64, checked: bool) {
        let pad = self.cfg.silence_padding_ms;
        let off = self.off.clone();
        let metrics = self.state.metrics.clone();
        let mut gap_event = None;
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let to = to.min(l.received);
        if to <= l.start_sample {
            return;
        }
        let n = (to - l.start_sample) as usize * l.bps;
        let mut out = std::mem::take(&mut l.out);
        out.clear();
        out.extend(l.delay.drain(..n.min(l.delay.len())));
        let a_ms = l.ms(l.start_sample);
        let b_ms = l.ms(to);
        let fill = silence_byte(l.spec.encoding);
        let base = l.start_sample;
        let bps = l.bps;
        let rate = u64::from(l.spec.sample_rate);
        let blank = |s_ms: u64, e_ms: u64, out: &mut Vec<u8>| -> u64 {
            let s = (s_ms.saturating_mul(rate) / 1000).max(base);
            let e = (e_ms.saturating_mul(rate) / 1000).min(to);
            if e > s {
                let from = (s - base) as usize * bps;
                let until = ((e - base) as usize * bps).min(out.len());
                if from < until {
                    out[from..until].fill(fill);
                    return (e - s) * 1000 / rate.max(1);
                }
            }
            0
        };
        if checked {
            if let Some(since) = l.gap_since.take() {
                gap_event = Some((since, a_ms));
            }
            let mut silenced = 0;
            for &(s, e) in &l.silence {
                if e + pad > a_ms && s < b_ms + pad {
                    silenced += blank(s.saturating_sub(pad), e + pad, &mut out);
                }
            }
            metrics.silenced_ms.fetch_add(silenced, Ordering::Relaxed);
            l.silence.retain(|&(_, e)| e + pad > b_ms);
        } else {
            out.fill(fill);
            metrics.gap_ms.fetch_add(b_ms - a_ms, Ordering::Relaxed);
            if l.gap_since.is_none() {
                l.gap_since = Some(a_ms);
            }
        }
        for &(s, e) in &off {
            let e = e.unwrap_or(u64::MAX / 4);
            if e > a_ms && s < b_ms {
                blank(s, e, &mut out);
            }
        }
        l.start_sample = to;
        if l.delay.capacity() > 4 * l.delay.len().max(64 * 1024) {
            l.delay.shrink_to(l.delay.len().max(64 * 1024));
        }
        let mut err = None;
        if let Some(w) = self.writer.as_mut() {
            if let Err(e) = w.append_checked(leg, &out) {
                err = Some(e.to_string());
            }
        }
        if let Some(l) = self.legs.get_mut(leg) {
            l.out = out;
        }
        if let Some(e) = err {
            tracing::warn!(call = %self.id, error = %e, "live writer failed; the call will be closed");
            self.last_error = Some(e);
            self.close_requested = Some(CloseReason::Protocol("storage failure".into()));
        }
        if let Some((since, until)) = gap_event {
            self.event(
                Some(leg as u8),
                TimelineKind::Gap { until_ms: until },
                "pipeline",
                Some(format!("transcription fell behind from {since} ms")),
            );
        }
    }

    /// Ends the call: engines finish (at most `engine_wait`), every leg is released (audio the
    /// engine could not finish is silenced), the writer commits. Idempotent: a second call
    /// returns `None`.
    pub async fn finish(
        session: &SharedSession,
        reason: CloseReason,
        engine_wait: Duration,
    ) -> Option<std::result::Result<LiveReceipt, String>> {
        let (state, id) = {
            let mut s = session.lock().ok()?;
            if s.closed {
                return None;
            }
            s.closed = true;
            for l in &mut s.legs {
                l.engine.finish();
            }
            (s.state.clone(), s.id)
        };
        let deadline = Instant::now() + engine_wait;
        loop {
            let done = {
                let Ok(mut s) = session.lock() else { break };
                for i in 0..s.legs.len() {
                    s.pump(i, true);
                }
                s.legs.iter().all(|l| l.engine.is_done())
            };
            if done || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (writer, ended_ms, mem, about) = {
            let Ok(mut s) = session.lock() else {
                return None;
            };
            for i in 0..s.legs.len() {
                let (w, received, rate) = match s.legs.get(i) {
                    Some(l) => (l.engine.watermark_ms(), l.received, l.spec.sample_rate),
                    None => continue,
                };
                // Checked: everything the engine covered (the detector was flushed by the
                // closing pump). The rest was never transcribed: silenced, and said so.
                let covered = if w == u64::MAX {
                    received
                } else {
                    (w.saturating_mul(u64::from(rate)) / 1000).min(received)
                };
                s.release_to(i, covered, true);
                if covered < received {
                    let until_ms = s.now_media_ms();
                    s.event(
                        Some(i as u8),
                        TimelineKind::TranscriptionFailed { until_ms },
                        "engine",
                        Some("audio after the last transcript was never checked: silenced".into()),
                    );
                    s.release_to(i, received, false);
                }
                s.report(i);
            }
            let actor = format!("protocol:{}", s.protocol);
            s.event(
                None,
                TimelineKind::Closed {
                    reason: reason.as_str().to_owned(),
                },
                &actor,
                None,
            );
            let ended = s.started_ms + s.now_media_ms() as i64;
            let timeline = s.timeline.iter().map(TimelineEvent::to_input).collect();
            let mut writer = s.writer.take();
            if let Some(w) = writer.as_mut() {
                if let Err(e) = w.set_timeline(timeline) {
                    tracing::warn!(call = %s.id, error = %e, "timeline not kept");
                }
            }
            let about = (
                s.protocol,
                s.direction,
                s.routing.clone(),
                s.mode,
                s.started_ms,
            );
            (writer, ended, s.legs.len() as i64, about)
        };
        let m = &state.metrics;
        m.active_calls.fetch_sub(1, Ordering::Relaxed);
        m.legs.fetch_sub(mem, Ordering::Relaxed);
        m.closed(reason.as_str());
        let result = match writer {
            Some(w) => w.finish(ended_ms).await.map_err(|e| e.to_string()),
            None => Err("no writer".to_owned()),
        };
        match &result {
            Ok(_) => m.calls_finished.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "live call could not be committed");
                m.calls_failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        state.hub.close(id, reason.as_str());
        state.registry.remove(id);
        if let Ok(r) = &result {
            let (protocol, direction, routing, mode, started_ms) = about;
            let call = CompletedCall {
                tenant: r.tenant.clone(),
                interaction: r.interaction,
                subject: r.subject,
                channel: Channel::Call,
                direction,
                protocol,
                routing,
                mode,
                started_ms,
                ended_ms,
                duration_ms: r.duration_ms,
                segments: r.segments,
                recordings: r.recordings.clone(),
                audio_stored: r.audio_stored,
                redactions: r.redactions.clone(),
                close_reason: reason.as_str(),
            };
            // After the commit: a failing observer is logged, the call stays committed.
            if let Err(e) = state.call_events.call_completed(&call).await {
                tracing::warn!(call = %id, error = %e, "call.completed observer failed");
            }
            if call.audio_stored {
                if let Err(e) = state.call_events.recording_available(&call).await {
                    tracing::warn!(call = %id, error = %e, "recording.available observer failed");
                }
            }
        }
        Some(result)
    }
}

/// PCM16 from a leg's bytes.
pub fn decode_into(enc: SourceEncoding, data: &[u8], out: &mut Vec<i16>) {
    match enc {
        SourceEncoding::MuLaw => sotto_audio::g711::ulaw_decode_into(data, out),
        SourceEncoding::ALaw => sotto_audio::g711::alaw_decode_into(data, out),
        SourceEncoding::Pcm16 => out.extend(
            data.chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]])),
        ),
    }
}

/// Which kinds the pipeline removes (for reports).
pub fn removed_kinds(policy: &Policy) -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| policy.action(*k) != Action::Keep)
        .collect()
}
