//! Ingest settings.

use sotto_core::TenantId;
use sotto_transcribe::EngineConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default delay line: how long audio stays in memory behind the transcription watermark.
///
/// The streaming detector's window is half of it ([`IngestConfig::detector_window_ms`]); a
/// 16-digit card number read at normal pace (four groups, ~0.4 s a digit, short pauses) takes
/// 8–10 s, so a 10 s window sees it whole. Audio is released only once the transcript has moved a
/// full delay past it — by then every span touching it has been emitted (the window evicted the
/// words, or a pause of half a delay flushed the detector). The trade-off: a longer delay catches
/// slower readers and longer spans but holds more memory (8 kHz G.711: 8 KB per second per leg,
/// 20 s ≈ 160 KB a leg) and delays the stored recording; a shorter one risks emitting a span in
/// two halves (both still silenced, but a 4-digit fragment alone may not look like a card).
pub const DEFAULT_DELAY_MS: u64 = 20_000;
/// Default bound on audio held per leg when transcription falls behind; past it the oldest
/// audio is replaced by silence and a `gap` event is recorded.
pub const DEFAULT_MAX_HOLD_MS: u64 = 60_000;

/// Settings for the ingest listeners and the call pipeline.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// WebSocket listener (native, Twilio, AudioHook). Port 0 picks a free port.
    pub ws_addr: SocketAddr,
    /// AudioSocket TCP listener; `None` disables it.
    pub audiosocket_addr: Option<SocketAddr>,
    /// Sample rate of AudioSocket slin frames on this listener (8000 for type 0x10).
    pub audiosocket_rate: u32,
    /// Encrypted spool files of calls in progress.
    pub spool_dir: PathBuf,
    pub delay_ms: u64,
    pub max_hold_ms: u64,
    /// Padding around silenced intervals.
    pub silence_padding_ms: u64,
    /// Release checked audio to the writer in batches of at least this much.
    pub release_batch_ms: u64,
    pub default_tenant: TenantId,
    /// Region for caller numbers without `+` (ISO 3166 alpha-2).
    pub phone_region: String,
    pub engine: EngineConfig,
    /// A client silent for this long is disconnected (`idle timeout`).
    pub idle_timeout: Duration,
    /// Largest WebSocket message / AudioSocket payload accepted.
    pub max_frame_bytes: usize,
    /// AudioHook: client id (`X-API-KEY`) → client secret (base64) for signature verification.
    /// Empty: AudioHook connections are refused.
    pub audiohook_clients: Vec<(String, Vec<u8>)>,
    /// Largest clock skew / age accepted on an AudioHook signature.
    pub audiohook_max_age_s: u64,
}

impl IngestConfig {
    pub fn new(spool_dir: PathBuf) -> Self {
        Self {
            ws_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            audiosocket_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            audiosocket_rate: 8_000,
            spool_dir,
            delay_ms: DEFAULT_DELAY_MS,
            max_hold_ms: DEFAULT_MAX_HOLD_MS,
            silence_padding_ms: sotto_vault::live::DEFAULT_SILENCE_PADDING_MS,
            release_batch_ms: 500,
            default_tenant: TenantId::default_tenant(),
            phone_region: "DK".into(),
            engine: EngineConfig::Bot,
            idle_timeout: Duration::from_secs(15),
            max_frame_bytes: 64 * 1024,
            audiohook_clients: Vec::new(),
            audiohook_max_age_s: 10,
        }
    }

    /// The streaming detector's window: half the delay.
    pub fn detector_window_ms(&self) -> u64 {
        self.delay_ms / 2
    }
}
