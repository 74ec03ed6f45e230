//! The `whisper` engine: whisper.cpp in-process (through `whisper-rs`), behind the cargo feature
//! `whisper`.
//!
//! One [`WhisperRuntime`] per process: the model is loaded once (checked first by
//! [`crate::ggml_model::inspect`], so a damaged file is a specific error, never an abort inside
//! C++), and `workers` threads each own a whisper.cpp state and take utterances from one queue
//! shared by every call leg. Each transcription uses `threads` threads, so the engine uses at most
//! `workers × threads` cores however many calls are live. When more audio is waiting than
//! `max_queue_ms`, a new utterance is refused at once and reported as
//! [`EngineEvent::Failed`] (the pipeline silences it: fail closed) instead of letting the delay
//! line fill; [`WhisperRuntime::stats`] reports the queue and the lag.
//!
//! A leg's [`WhisperEngine`] cuts its audio into utterances with the energy VAD, resamples each to
//! 16 kHz (`sotto_audio::whisper_input`, as the live path does), queues it, and turns the answer's
//! tokens into words: a token that starts with a space starts a word, special and timestamp
//! tokens are dropped, a word spans its first token's start to its last token's end (whisper.cpp
//! token timestamps, 10 ms steps, shifted onto the leg's timeline), and its confidence is the mean
//! probability of its tokens.
//!
//! Privacy: every transcription runs with `no_context` (no text of one call is ever the prompt of
//! another's), whisper.cpp's own log output is switched off (`install_logging_hooks` without a
//! backend: debug builds of whisper.cpp log token text), and words are [`Personal`] from the
//! moment they leave the C library.

use crate::ggml_model::{inspect, ModelInfo};
use crate::vad::{EnergyVad, Utterance, VadConfig};
use crate::{EngineEvent, TranscribeError, Transcriber, Word};
use sotto_core::Personal;
use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// How the whisper engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperConfig {
    /// A ggml Whisper model (`sotto models fetch base` puts one in the models directory).
    pub model: PathBuf,
    /// Threads per transcription (whisper.cpp `n_threads`).
    pub threads: usize,
    /// Transcriptions at once (each worker owns a whisper.cpp state, tens of MB).
    pub workers: usize,
    /// ISO 639-1 code (`da`, `sv`, `en` …); `None` lets Whisper detect it per utterance (one
    /// more decoder pass).
    pub language: Option<String>,
    pub vad: VadConfig,
    /// Audio (all legs together) allowed to wait for a worker; past it new utterances fail and
    /// are silenced.
    pub max_queue_ms: u64,
    /// Re-decode at higher temperatures when the greedy result looks wrong (whisper.cpp's
    /// fallback). Off by default: it can multiply the cost of an utterance by six.
    pub temperature_fallback: bool,
    /// Use a GPU backend if the binary was built with one (whisper-rs `cuda`/`vulkan`/`metal`).
    pub use_gpu: bool,
}

impl Default for WhisperConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            model: PathBuf::from("models/ggml-base.bin"),
            threads: cores.clamp(1, 4),
            workers: 1,
            language: None,
            vad: VadConfig::default(),
            max_queue_ms: 120_000,
            temperature_fallback: false,
            use_gpu: false,
        }
    }
}

/// The queue and what the workers report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WhisperStats {
    pub workers: usize,
    pub busy_workers: usize,
    pub queued_utterances: usize,
    pub queued_audio_ms: u64,
    /// How long the oldest queued utterance has waited.
    pub oldest_wait_ms: u64,
    pub transcribed_utterances: u64,
    pub transcribed_audio_ms: u64,
    /// Wall time the workers spent transcribing.
    pub compute_ms: u64,
    /// Utterances refused because the queue was full (their audio was silenced).
    pub rejected_utterances: u64,
    /// Utterances whisper.cpp failed on (their audio was silenced).
    pub failed_utterances: u64,
}

struct Job {
    pcm: Vec<f32>,
    start_ms: u64,
    end_ms: u64,
    enqueued: Instant,
    cancelled: Arc<AtomicBool>,
    reply: mpsc::Sender<Answer>,
}

/// A transcribed (or failed) utterance, and when it was queued.
struct Answer {
    start_ms: u64,
    end_ms: u64,
    enqueued: Instant,
    words: Result<Vec<Word>, TranscribeError>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    queued_ms: u64,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    cv: Condvar,
    busy: AtomicUsize,
    done: AtomicU64,
    done_ms: AtomicU64,
    compute_ms: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The loaded model and its worker pool, shared by every leg (clone the [`WhisperHandle`]).
pub struct WhisperRuntime {
    shared: Arc<Shared>,
    cfg: WhisperConfig,
    info: ModelInfo,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for WhisperRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperRuntime")
            .field("model", &self.cfg.model)
            .field("workers", &self.threads.len())
            .finish()
    }
}

impl WhisperRuntime {
    /// Checks and loads the model, and starts the workers.
    pub fn load(cfg: WhisperConfig) -> Result<Self, TranscribeError> {
        // whisper.cpp and ggml log to stderr by default: route both into whisper-rs hooks that,
        // without a logging backend, discard them (nothing of a call reaches a log).
        whisper_rs::install_logging_hooks();
        if cfg.threads == 0 || cfg.workers == 0 {
            return Err(TranscribeError::Config(
                "whisper threads and workers must be at least 1".into(),
            ));
        }
        if let Some(l) = &cfg.language {
            let known = !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphabetic())
                && whisper_rs::get_lang_id(l).is_some();
            if !known {
                return Err(TranscribeError::Config(format!(
                    "whisper does not know the language `{l}`"
                )));
            }
        }
        let info = inspect(&cfg.model)?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(cfg.use_gpu);
        let path = cfg
            .model
            .to_str()
            .ok_or_else(|| TranscribeError::Config("the model path is not UTF-8".into()))?;
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
            TranscribeError::Model(format!("whisper.cpp could not load {path}: {e}"))
        })?;
        let eot = ctx.token_eot();
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::with_capacity(cfg.workers);
        for i in 0..cfg.workers {
            let state = ctx.create_state().map_err(|e| {
                TranscribeError::Model(format!("whisper.cpp could not create a state: {e}"))
            })?;
            let shared = shared.clone();
            let wcfg = cfg.clone();
            let h = std::thread::Builder::new()
                .name(format!("whisper-{i}"))
                .spawn(move || worker(state, &shared, &wcfg, eot))
                .map_err(|e| TranscribeError::Config(format!("cannot start a worker: {e}")))?;
            threads.push(h);
        }
        Ok(Self {
            shared,
            cfg,
            info,
            threads,
        })
    }

    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn config(&self) -> &WhisperConfig {
        &self.cfg
    }

    pub fn stats(&self) -> WhisperStats {
        let q = self.shared.lock();
        let oldest = q
            .jobs
            .front()
            .map_or(0, |j| j.enqueued.elapsed().as_millis() as u64);
        WhisperStats {
            workers: self.threads.len(),
            busy_workers: self.shared.busy.load(Ordering::Relaxed),
            queued_utterances: q.jobs.len(),
            queued_audio_ms: q.queued_ms,
            oldest_wait_ms: oldest,
            transcribed_utterances: self.shared.done.load(Ordering::Relaxed),
            transcribed_audio_ms: self.shared.done_ms.load(Ordering::Relaxed),
            compute_ms: self.shared.compute_ms.load(Ordering::Relaxed),
            rejected_utterances: self.shared.rejected.load(Ordering::Relaxed),
            failed_utterances: self.shared.failed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for WhisperRuntime {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.cv.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(mut state: whisper_rs::WhisperState, shared: &Shared, cfg: &WhisperConfig, eot: i32) {
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if let Some(j) = q.jobs.pop_front() {
                    q.queued_ms = q.queued_ms.saturating_sub(j.end_ms - j.start_ms);
                    break j;
                }
                if q.shutdown {
                    return;
                }
                q = match shared.cv.wait(q) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
        };
        if job.cancelled.load(Ordering::Relaxed) {
            continue; // the leg is gone: nobody will read the words
        }
        shared.busy.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let words = transcribe(&mut state, cfg, eot, &job.pcm, job.start_ms, job.end_ms);
        let compute = t.elapsed();
        shared.busy.fetch_sub(1, Ordering::Relaxed);
        shared.done.fetch_add(1, Ordering::Relaxed);
        shared
            .done_ms
            .fetch_add(job.end_ms - job.start_ms, Ordering::Relaxed);
        shared
            .compute_ms
            .fetch_add(compute.as_millis() as u64, Ordering::Relaxed);
        if words.is_err() {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
        let _ = job.reply.send(Answer {
            start_ms: job.start_ms,
            end_ms: job.end_ms,
            enqueued: job.enqueued,
            words,
        });
    }
}

/// At least this much audio goes to whisper.cpp (it refuses shorter input); shorter
/// utterances are padded with silence.
const MIN_INPUT_SAMPLES: usize = 16_000 / 4;

fn transcribe(
    state: &mut whisper_rs::WhisperState,
    cfg: &WhisperConfig,
    eot: i32,
    pcm: &[f32],
    start_ms: u64,
    end_ms: u64,
) -> Result<Vec<Word>, TranscribeError> {
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(cfg.threads.min(64) as i32);
    params.set_language(Some(cfg.language.as_deref().unwrap_or("auto")));
    params.set_no_context(true);
    params.set_token_timestamps(true);
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    params.set_suppress_blank(true);
    // One segment per utterance (utterances are ≤ 12 s, the window is 30 s): one encoder pass
    // per utterance, never a re-run per timestamp the decoder emits.
    params.set_single_segment(true);
    if !cfg.temperature_fallback {
        params.set_temperature_inc(0.0);
    }
    // Bounded cost per second of audio: speech runs at 3–4 tokens a second; a decoder stuck in a
    // loop (or a meaningless model) stops here.
    let secs = (end_ms - start_ms).div_ceil(1000);
    params.set_max_tokens((secs * 8 + 8).min(224) as i32);
    let padded;
    let input = if pcm.len() < MIN_INPUT_SAMPLES {
        let mut p = pcm.to_vec();
        p.resize(MIN_INPUT_SAMPLES, 0.0);
        padded = p;
        &padded[..]
    } else {
        pcm
    };
    state
        .full(params, input)
        .map_err(|e| TranscribeError::Model(format!("whisper.cpp failed: {e}")))?;
    let mut words = WordBuilder::new(start_ms, end_ms);
    for seg in state.as_iter() {
        for i in 0..seg.n_tokens() {
            let Some(tok) = seg.get_token(i) else {
                continue;
            };
            let id = tok.token_id();
            if id >= eot {
                continue; // end of text, language, task, timestamp and other special tokens
            }
            let data = tok.token_data();
            let bytes = tok.to_bytes().unwrap_or(&[]);
            words.token(bytes, data.t0, data.t1, data.p);
        }
    }
    Ok(words.finish())
}

/// Joins BPE tokens into words (a leading space starts a word; bytes are joined before UTF-8
/// decoding because a token may hold half a character).
struct WordBuilder {
    offset_ms: u64,
    end_ms: u64,
    out: Vec<Word>,
    cur: Vec<u8>,
    t0: i64,
    t1: i64,
    probs: Vec<f32>,
}

impl WordBuilder {
    fn new(offset_ms: u64, end_ms: u64) -> Self {
        Self {
            offset_ms,
            end_ms,
            out: Vec::new(),
            cur: Vec::new(),
            t0: 0,
            t1: 0,
            probs: Vec::new(),
        }
    }

    /// `t0`/`t1`: the token's times in 10 ms steps from the start of the utterance.
    fn token(&mut self, bytes: &[u8], t0: i64, t1: i64, p: f32) {
        if bytes.first() == Some(&b' ') && !self.cur.is_empty() {
            self.flush();
        }
        if self.cur.is_empty() {
            self.t0 = t0;
        }
        self.cur.extend_from_slice(bytes);
        self.t1 = t1.max(t0);
        self.probs.push(if p.is_finite() { p } else { 0.0 });
    }

    fn at(&self, t: i64) -> u64 {
        (self.offset_ms + u64::try_from(t.max(0)).unwrap_or(0) * 10).min(self.end_ms)
    }

    fn flush(&mut self) {
        let text = String::from_utf8_lossy(&self.cur).trim().to_owned();
        if !text.is_empty() {
            let start_ms = self.at(self.t0);
            let end_ms = self.at(self.t1).max(start_ms);
            let conf = self.probs.iter().sum::<f32>() / self.probs.len().max(1) as f32;
            self.out.push(Word {
                text: Personal::new(text),
                start_ms,
                end_ms,
                confidence: conf.clamp(0.0, 1.0),
            });
        }
        self.cur.clear();
        self.probs.clear();
    }

    fn finish(mut self) -> Vec<Word> {
        self.flush();
        // Token timestamps can step back a little between words; keep the order monotonic.
        let mut last = 0;
        for w in &mut self.out {
            w.start_ms = w.start_ms.max(last);
            w.end_ms = w.end_ms.max(w.start_ms);
            last = w.start_ms;
        }
        self.out
    }
}

/// A cheap, shareable reference to the runtime: what [`crate::EngineConfig::Whisper`] holds.
#[derive(Clone, Debug)]
pub struct WhisperHandle(pub Arc<WhisperRuntime>);

impl PartialEq for WhisperHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl WhisperHandle {
    pub fn load(cfg: WhisperConfig) -> Result<Self, TranscribeError> {
        Ok(Self(Arc::new(WhisperRuntime::load(cfg)?)))
    }
    /// A new engine for one leg whose audio arrives at `sample_rate`.
    pub fn engine(&self, sample_rate: u32) -> WhisperEngine {
        WhisperEngine::new(self.0.clone(), sample_rate)
    }
    pub fn stats(&self) -> WhisperStats {
        self.0.stats()
    }
}

/// One leg's engine.
pub struct WhisperEngine {
    rt: Arc<WhisperRuntime>,
    rate: u32,
    vad: EnergyVad,
    tx: mpsc::Sender<Answer>,
    rx: mpsc::Receiver<Answer>,
    cancelled: Arc<AtomicBool>,
    inflight: BTreeSet<(u64, u64)>,
    /// Intervals refused (queue full) or not convertible, reported at the next poll.
    refused: VecDeque<(u64, u64)>,
    finished: bool,
    cut: Vec<Utterance>,
    /// Utterance latencies (cut by the VAD → words back), when asked for.
    latencies: Option<Vec<Duration>>,
}

impl std::fmt::Debug for WhisperEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperEngine")
            .field("inflight", &self.inflight.len())
            .field("refused", &self.refused.len())
            .finish()
    }
}

impl WhisperEngine {
    pub fn new(rt: Arc<WhisperRuntime>, sample_rate: u32) -> Self {
        let (tx, rx) = mpsc::channel();
        Self {
            vad: EnergyVad::new(rt.cfg.vad, sample_rate),
            rate: sample_rate.max(1),
            rt,
            tx,
            rx,
            cancelled: Arc::new(AtomicBool::new(false)),
            inflight: BTreeSet::new(),
            refused: VecDeque::new(),
            finished: false,
            cut: Vec::new(),
            latencies: None,
        }
    }

    /// Keeps each utterance's latency (from the VAD cutting it to its words) for
    /// [`WhisperEngine::take_latencies`] — benchmarks and tests; off on the live path.
    pub fn record_latencies(&mut self) {
        self.latencies = Some(Vec::new());
    }

    pub fn take_latencies(&mut self) -> Vec<Duration> {
        self.latencies
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn submit(&mut self) {
        for u in std::mem::take(&mut self.cut) {
            let dur = u.samples.len() as u64 * 1000 / u64::from(self.rate);
            let (start_ms, end_ms) = (u.start_ms, u.start_ms + dur);
            if dur == 0 {
                continue;
            }
            let pcm =
                match sotto_audio::whisper_input(&sotto_audio::Pcm16::new(self.rate, 1, u.samples))
                {
                    Ok(p) => p,
                    Err(_) => {
                        self.refused.push_back((start_ms, end_ms));
                        continue;
                    }
                };
            let shared = &self.rt.shared;
            let mut q = shared.lock();
            if q.queued_ms + dur > self.rt.cfg.max_queue_ms {
                drop(q);
                shared.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    start_ms,
                    end_ms,
                    "whisper queue full; the utterance is silenced"
                );
                self.refused.push_back((start_ms, end_ms));
                continue;
            }
            q.queued_ms += dur;
            q.jobs.push_back(Job {
                pcm,
                start_ms,
                end_ms,
                enqueued: Instant::now(),
                cancelled: self.cancelled.clone(),
                reply: self.tx.clone(),
            });
            drop(q);
            shared.cv.notify_one();
            self.inflight.insert((start_ms, end_ms));
        }
    }

    /// Waits up to `timeout` for the next answer (tests and the benchmark; the live path polls).
    pub fn wait(&mut self, timeout: Duration, out: &mut Vec<EngineEvent>) {
        if let Ok(a) = self.rx.recv_timeout(timeout) {
            self.answer(a, out);
        }
        self.poll(out);
    }

    fn answer(&mut self, a: Answer, out: &mut Vec<EngineEvent>) {
        self.inflight.remove(&(a.start_ms, a.end_ms));
        if let Some(l) = &mut self.latencies {
            l.push(a.enqueued.elapsed());
        }
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
}

impl Drop for WhisperEngine {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

impl Transcriber for WhisperEngine {
    fn name(&self) -> &'static str {
        "whisper"
    }
    fn push_audio(&mut self, at_ms: u64, samples: &[i16]) {
        let mut cut = std::mem::take(&mut self.cut);
        self.vad.push(at_ms, samples, &mut cut);
        self.cut = cut;
        if !self.cut.is_empty() {
            self.submit();
        }
    }
    fn watermark_ms(&self) -> u64 {
        if self.is_done() {
            return u64::MAX;
        }
        let mut w = self.vad.end_ms();
        if let Some(s) = self.vad.open_since_ms() {
            w = w.min(s);
        }
        if let Some((s, _)) = self.inflight.iter().next() {
            w = w.min(*s);
        }
        if let Some((s, _)) = self.refused.front() {
            w = w.min(*s);
        }
        w
    }
    fn poll(&mut self, out: &mut Vec<EngineEvent>) {
        while let Some((start_ms, end_ms)) = self.refused.pop_front() {
            out.push(EngineEvent::Failed { start_ms, end_ms });
        }
        while let Ok(a) = self.rx.try_recv() {
            self.answer(a, out);
        }
    }
    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            let mut cut = std::mem::take(&mut self.cut);
            self.vad.flush(&mut cut);
            self.cut = cut;
            self.submit();
        }
    }
    fn is_done(&self) -> bool {
        self.finished && self.inflight.is_empty() && self.refused.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_into_words_with_times_and_confidence() {
        let mut b = WordBuilder::new(1000, 5000);
        b.token(b" my", 10, 30, 0.9);
        b.token(b" card", 30, 60, 0.8);
        b.token(b"holder", 60, 90, 0.6);
        b.token(b",", 90, 92, 1.0);
        // "é" split across two tokens
        b.token(b" caf\xc3", 100, 120, 0.5);
        b.token(b"\xa9", 120, 130, 0.5);
        b.token(b" late", 900, 2000, 0.5); // past the utterance's end: clamped
        let w = b.finish();
        let texts: Vec<&str> = w.iter().map(|w| w.text.expose()).collect();
        assert_eq!(texts, ["my", "cardholder,", "café", "late"]);
        assert_eq!((w[0].start_ms, w[0].end_ms), (1100, 1300));
        assert_eq!((w[1].start_ms, w[1].end_ms), (1300, 1920));
        assert!((w[1].confidence - (0.8 + 0.6 + 1.0) / 3.0).abs() < 1e-6);
        assert_eq!(w[3].end_ms, 5000);
    }
}
