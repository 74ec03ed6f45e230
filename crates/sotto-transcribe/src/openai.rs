//! The `openai-http` engine: utterances cut by the energy VAD are posted, as 16-bit WAV, to an
//! OpenAI-compatible `POST {base_url}/v1/audio/transcriptions` (`response_format=verbose_json`,
//! `timestamp_granularities[]=word`) — faster-whisper servers, vLLM, the whisper.cpp server, or
//! OpenAI itself if an operator configures it. Word times in the answer are relative to the
//! utterance and are shifted onto the leg's timeline.
//!
//! Requests run on the tokio runtime, at most `max_inflight` per leg; answers come back through a
//! channel that [`Transcriber::poll`] drains. A failed or unparsable answer reports
//! [`EngineEvent::Failed`] for the utterance's interval (the pipeline silences it). The request
//! body and the answer are never logged.

use crate::vad::{EnergyVad, Utterance, VadConfig};
use crate::{EngineEvent, TranscribeError, Transcriber, Word};
use serde::Deserialize;
use sotto_core::Personal;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where and how to transcribe.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// e.g. `http://127.0.0.1:8000` (the path `/v1/audio/transcriptions` is appended).
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// ISO 639-1 hint, e.g. `da`.
    pub language: Option<String>,
    pub timeout: Duration,
    pub max_inflight: usize,
    pub vad: VadConfig,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000".into(),
            model: "whisper-1".into(),
            api_key: None,
            language: None,
            timeout: Duration::from_secs(30),
            max_inflight: 4,
            vad: VadConfig::default(),
        }
    }
}

/// The OpenAI `verbose_json` answer (only what we use).
#[derive(Deserialize)]
pub struct VerboseJson {
    #[serde(default)]
    pub words: Vec<VerboseWord>,
}

#[derive(Deserialize)]
pub struct VerboseWord {
    pub word: String,
    pub start: f64,
    pub end: f64,
    #[serde(default)]
    pub probability: Option<f32>,
}

/// Parses a `verbose_json` answer into words on the leg's timeline (`offset_ms` = where the
/// utterance started). Errors never quote the body.
pub fn parse_verbose_json(body: &[u8], offset_ms: u64) -> Result<Vec<Word>, TranscribeError> {
    let v: VerboseJson = serde_json::from_slice(body).map_err(|e| {
        TranscribeError::Response(format!(
            "not verbose_json (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let mut out = Vec::with_capacity(v.words.len());
    for w in v.words {
        if !(w.start.is_finite() && w.end.is_finite()) || w.start < 0.0 || w.end < w.start {
            return Err(TranscribeError::Response("a word has invalid times".into()));
        }
        let text = w.word.trim();
        if text.is_empty() {
            continue;
        }
        out.push(Word {
            text: Personal::new(text),
            start_ms: offset_ms + (w.start * 1000.0) as u64,
            end_ms: offset_ms + (w.end * 1000.0) as u64,
            confidence: w.probability.unwrap_or(1.0).clamp(0.0, 1.0),
        });
    }
    Ok(out)
}

struct Answer {
    start_ms: u64,
    end_ms: u64,
    words: Result<Vec<Word>, TranscribeError>,
}

/// One leg's engine.
pub struct OpenAiHttpEngine {
    cfg: OpenAiConfig,
    rate: u32,
    vad: EnergyVad,
    client: reqwest::Client,
    tx: mpsc::UnboundedSender<Answer>,
    rx: mpsc::UnboundedReceiver<Answer>,
    /// start times of utterances sent and not yet answered
    inflight: BTreeSet<(u64, u64)>,
    /// utterances waiting for a free request slot
    queued: std::collections::VecDeque<Utterance>,
    finished: bool,
    cut: Vec<Utterance>,
}

impl std::fmt::Debug for OpenAiHttpEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiHttpEngine")
            .field("inflight", &self.inflight.len())
            .field("queued", &self.queued.len())
            .finish()
    }
}

impl OpenAiHttpEngine {
    pub fn new(cfg: OpenAiConfig, sample_rate: u32) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .unwrap_or_default();
        Self {
            vad: EnergyVad::new(cfg.vad, sample_rate),
            rate: sample_rate,
            cfg,
            client,
            tx,
            rx,
            inflight: BTreeSet::new(),
            queued: std::collections::VecDeque::new(),
            finished: false,
            cut: Vec::new(),
        }
    }

    fn dispatch(&mut self) {
        self.queued.extend(self.cut.drain(..));
        while self.inflight.len() < self.cfg.max_inflight.max(1) {
            let Some(u) = self.queued.pop_front() else {
                break;
            };
            let end_ms = u.start_ms + u.samples.len() as u64 * 1000 / u64::from(self.rate.max(1));
            self.inflight.insert((u.start_ms, end_ms));
            let wav = wav_bytes(&u.samples, self.rate);
            let client = self.client.clone();
            let cfg = self.cfg.clone();
            let tx = self.tx.clone();
            let start_ms = u.start_ms;
            let send = async move {
                let words = request(&client, &cfg, wav, start_ms).await;
                let _ = tx.send(Answer {
                    start_ms,
                    end_ms,
                    words,
                });
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(send);
                }
                Err(_) => {
                    let _ = self.tx.send(Answer {
                        start_ms,
                        end_ms,
                        words: Err(TranscribeError::Config("no async runtime".into())),
                    });
                }
            }
        }
    }
}

async fn request(
    client: &reqwest::Client,
    cfg: &OpenAiConfig,
    wav: Vec<u8>,
    offset_ms: u64,
) -> Result<Vec<Word>, TranscribeError> {
    let url = format!(
        "{}/v1/audio/transcriptions",
        cfg.base_url.trim_end_matches('/')
    );
    let part = reqwest::multipart::Part::bytes(wav)
        .file_name("utterance.wav")
        .mime_str("audio/wav")
        .map_err(|e| TranscribeError::Config(e.to_string()))?;
    let mut form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("model", cfg.model.clone())
        .text("response_format", "verbose_json")
        .text("timestamp_granularities[]", "word");
    if let Some(l) = &cfg.language {
        form = form.text("language", l.clone());
    }
    let mut rb = client.post(url).multipart(form);
    if let Some(k) = &cfg.api_key {
        rb = rb.bearer_auth(k);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| TranscribeError::Server(format!("request failed: {}", e.without_url())))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(TranscribeError::Server(format!("HTTP {status}")));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| TranscribeError::Server(format!("reading the answer: {}", e.without_url())))?;
    parse_verbose_json(&body, offset_ms)
}

/// A 16-bit mono WAV file of `samples`.
pub fn wav_bytes(samples: &[i16], rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut v = Vec::with_capacity(44 + samples.len() * 2);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

impl Transcriber for OpenAiHttpEngine {
    fn name(&self) -> &'static str {
        "openai-http"
    }
    fn push_audio(&mut self, at_ms: u64, samples: &[i16]) {
        let mut cut = std::mem::take(&mut self.cut);
        self.vad.push(at_ms, samples, &mut cut);
        self.cut = cut;
        if !self.cut.is_empty() {
            self.dispatch();
        }
    }
    fn watermark_ms(&self) -> u64 {
        let mut w = self.vad.end_ms();
        if let Some(s) = self.vad.open_since_ms() {
            w = w.min(s);
        }
        if let Some((s, _)) = self.inflight.iter().next() {
            w = w.min(*s);
        }
        if let Some(u) = self.queued.front() {
            w = w.min(u.start_ms);
        }
        if self.is_done() {
            return u64::MAX;
        }
        w
    }
    fn poll(&mut self, out: &mut Vec<EngineEvent>) {
        while let Ok(a) = self.rx.try_recv() {
            self.inflight.remove(&(a.start_ms, a.end_ms));
            match a.words {
                Ok(words) => out.push(EngineEvent::Final { words, kind: None }),
                Err(e) => {
                    tracing::warn!(error = %e, start_ms = a.start_ms, "transcription failed; the interval is silenced");
                    out.push(EngineEvent::Failed {
                        start_ms: a.start_ms,
                        end_ms: a.end_ms,
                    });
                }
            }
        }
        self.dispatch();
    }
    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            let mut cut = std::mem::take(&mut self.cut);
            self.vad.flush(&mut cut);
            self.cut = cut;
            self.dispatch();
        }
    }
    fn is_done(&self) -> bool {
        self.finished && self.inflight.is_empty() && self.queued.is_empty() && self.cut.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_openai_verbose_json_words() {
        let body = br#"{"task":"transcribe","language":"english","duration":2.0,"text":"hello there",
            "words":[{"word":"hello","start":0.0,"end":0.4},{"word":" there","start":0.5,"end":0.9,"probability":0.8}]}"#;
        let w = parse_verbose_json(body, 1000).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start_ms, w[0].end_ms), (1000, 1400));
        assert_eq!(w[1].text.expose(), "there");
        assert!((w[1].confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn errors_do_not_quote_the_body() {
        let e = parse_verbose_json(b"{\"words\": secret-words", 0).unwrap_err();
        assert!(!e.to_string().contains("secret"));
        assert!(parse_verbose_json(br#"{"words":[{"word":"x","start":2,"end":1}]}"#, 0).is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_verbose_json(&body, 0);
        }
    }
}
