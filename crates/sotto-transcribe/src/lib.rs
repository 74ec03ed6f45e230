//! Streaming transcription engines behind one trait.
//!
//! Owns: the [`Transcriber`] trait a live call leg pushes audio into and reads timed words out
//! of; the `bot` engine (transcripts supplied by a voicebot over the native protocol, no audio
//! recognition); the `openai-http` engine (any OpenAI-compatible `/v1/audio/transcriptions`
//! server with word timestamps, utterances cut by an energy VAD); the `whisper` engine
//! (whisper.cpp in-process, cargo feature `whisper`, see [`whisper`]); the VAD itself; the ggml
//! Whisper model format ([`ggml_model`]: checking a file before whisper.cpp sees it, writing
//! synthetic models with the real shapes for tests and benchmarks).
//!
//! Must never: log or put into an error the words it hears (they are [`Personal`]); send audio
//! anywhere but the one endpoint an operator configured (guarantee 6); report a watermark past
//! audio it has not finished with — the live pipeline releases audio to disk on the strength of
//! [`Transcriber::watermark_ms`], so an engine that fails must say so ([`EngineEvent::Failed`])
//! and the pipeline silences that audio.
//!
//! Time: every time is in milliseconds of the leg's own timeline (0 = the start of the call).

pub mod bot;
pub mod ggml_model;
pub mod openai;
pub mod speech;
pub mod vad;
#[cfg(feature = "whisper")]
pub mod whisper;

pub use bot::BotEngine;
pub use openai::{OpenAiConfig, OpenAiHttpEngine};
pub use vad::{EnergyVad, VadConfig};
#[cfg(feature = "whisper")]
pub use whisper::{WhisperConfig, WhisperEngine, WhisperHandle, WhisperStats};

/// Whether this build has the in-process `whisper` engine (cargo feature `whisper`).
pub const WHISPER_BUILT: bool = cfg!(feature = "whisper");

use sotto_core::{Personal, SegmentKind};

/// One recognised word with its audio interval.
#[derive(Clone, PartialEq)]
pub struct Word {
    pub text: Personal,
    pub start_ms: u64,
    pub end_ms: u64,
    /// 0.0..=1.0; 1.0 when the engine gives none (a bot knows what it said).
    pub confidence: f32,
}

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Word")
            .field("len", &self.text.len())
            .field("start_ms", &self.start_ms)
            .field("end_ms", &self.end_ms)
            .finish()
    }
}

/// What an engine reports.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// Words that may still change (for live display only; never stored).
    Partial { words: Vec<Word> },
    /// A final utterance: its words, and for a bot its segment kind (static / dynamic answer).
    Final {
        words: Vec<Word>,
        kind: Option<SegmentKind>,
    },
    /// The engine could not transcribe this interval: the pipeline must treat it as unchecked
    /// (silence it) — when in doubt, redact.
    Failed { start_ms: u64, end_ms: u64 },
}

/// A streaming transcription engine for one call leg.
pub trait Transcriber: Send {
    /// Stable engine name (`bot`, `openai-http`, `whisper`).
    fn name(&self) -> &'static str;
    /// Audio for the leg: PCM16 mono at the engine's configured rate, starting at `at_ms`.
    fn push_audio(&mut self, at_ms: u64, samples: &[i16]);
    /// Everything before this time has been transcribed (its words, if any, were reported).
    fn watermark_ms(&self) -> u64;
    /// Moves reported events into `out`. Never blocks.
    fn poll(&mut self, out: &mut Vec<EngineEvent>);
    /// No more audio: finish what is buffered. Events keep arriving through `poll` until
    /// [`Transcriber::is_done`].
    fn finish(&mut self);
    fn is_done(&self) -> bool;
    /// Transcript events a voicebot supplies itself (the `bot` engine; others ignore them).
    fn supply(&mut self, _ev: Supplied) {}
}

/// A transcript event supplied by the far end (native protocol `transcript` / `heard`).
#[derive(Debug, Clone)]
pub enum Supplied {
    /// Final words; `until_ms` (default: the last word's end) is how far the bot has listened.
    Words {
        words: Vec<Word>,
        kind: Option<SegmentKind>,
        until_ms: Option<u64>,
    },
    /// The bot has heard the leg up to here with nothing (more) said.
    Heard { until_ms: u64 },
}

/// Engine selection by name (configuration).
#[derive(Debug, Clone, PartialEq)]
pub enum EngineConfig {
    Bot,
    OpenAiHttp(OpenAiConfig),
    /// whisper.cpp in-process: one loaded model and worker pool shared by every leg.
    #[cfg(feature = "whisper")]
    Whisper(WhisperHandle),
}

impl EngineConfig {
    /// A new engine for one leg whose audio arrives at `sample_rate`.
    pub fn build(&self, sample_rate: u32) -> Box<dyn Transcriber> {
        match self {
            EngineConfig::Bot => Box::new(BotEngine::new()),
            EngineConfig::OpenAiHttp(c) => Box::new(OpenAiHttpEngine::new(c.clone(), sample_rate)),
            #[cfg(feature = "whisper")]
            EngineConfig::Whisper(h) => Box::new(h.engine(sample_rate)),
        }
    }
    pub fn wants_audio(&self) -> bool {
        !matches!(self, EngineConfig::Bot)
    }
    /// The engine's stable name (as [`Transcriber::name`] of the engines it builds).
    pub fn name(&self) -> &'static str {
        match self {
            EngineConfig::Bot => "bot",
            EngineConfig::OpenAiHttp(_) => "openai-http",
            #[cfg(feature = "whisper")]
            EngineConfig::Whisper(_) => "whisper",
        }
    }
}

/// Errors building an engine.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("invalid engine configuration: {0}")]
    Config(String),
    #[error("transcription server: {0}")]
    Server(String),
    #[error("transcription response: {0}")]
    Response(String),
    #[error(transparent)]
    ModelFile(#[from] ggml_model::ModelFileError),
    #[error("whisper model: {0}")]
    Model(String),
}
