//! `sotto bench whisper`: the whisper engine's cost per second of audio on this machine.
//!
//! N seconds of espeak-ng speech (sentences with pauses between them, rendered at 8 kHz like a
//! telephone leg) go through the live-leg interface — energy VAD, 8 → 16 kHz resampling,
//! whisper.cpp — paced in real time (or as fast as possible with `--fast`). Without `--model`,
//! a synthetic model with the real shapes of `base` is written to a temporary file: whisper.cpp
//! runs it at full cost and produces meaningless text. Reports CPU seconds per audio second,
//! the real-time factor, utterance latency (VAD cut → words) and audio latency (pushed → the
//! watermark passed it: what the delay line waits for), and peak RSS.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
pub struct WhisperBenchArgs {
    /// A ggml Whisper model; default: a synthetic model with the shapes of `base` (meaningless
    /// text, real cost), written to a temporary file and deleted afterwards
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seconds of speech to transcribe
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Threads per transcription
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Transcriptions at once (whisper states)
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Concurrent call legs, each fed the same speech
    #[arg(long, default_value_t = 1)]
    pub legs: usize,
    /// Language of the speech and of the model's decoding
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Push the audio as fast as possible instead of in real time (latencies then include queueing)
    #[arg(long)]
    pub fast: bool,
}

#[cfg(not(feature = "whisper"))]
pub async fn run(_a: WhisperBenchArgs) -> Result<ExitCode> {
    anyhow::bail!(crate::config::WHISPER_NOT_BUILT)
}

#[cfg(feature = "whisper")]
pub async fn run(a: WhisperBenchArgs) -> Result<ExitCode> {
    tokio::task::spawn_blocking(move || imp::run(a)).await?
}

#[cfg(feature = "whisper")]
mod imp {
    use super::WhisperBenchArgs;
    use anyhow::{bail, Context, Result};
    use sotto_transcribe::ggml_model::{self, Fill, Hparams};
    use sotto_transcribe::{EngineEvent, Transcriber, WhisperConfig, WhisperHandle};
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    const SCRIPT: &[&str] = &[
        "Thank you for calling, my name is Anna, how can I help you today?",
        "Hello, I would like to pay the invoice I received last week.",
        "Of course. Can I have your customer number, please?",
        "Yes, it is four five seven one, two two three nine.",
        "Thank you. The amount is three hundred and twelve euros.",
        "I will pay with my card. The number is four five seven one six eight two three.",
        "One moment please, the payment is being processed.",
        "The payment went through. Is there anything else I can do for you?",
        "No, that was all. Thank you very much for your help.",
        "You are welcome. Have a nice day, goodbye.",
    ];

    const RATE: u32 = 8000;

    fn speech(seconds: u64, lang: &str) -> Result<Vec<i16>> {
        let want = (seconds * u64::from(RATE)) as usize;
        let mut rendered = Vec::new();
        for s in SCRIPT {
            let voice = if lang == "en" { "en" } else { lang };
            let mut pcm = sotto_transcribe::speech::espeak(s, voice, RATE)
                .context("the benchmark speaks with espeak-ng")?;
            // a turn-taking pause the VAD cuts at
            pcm.extend(std::iter::repeat_n(0i16, (RATE as usize) * 9 / 10));
            rendered.push(pcm);
        }
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            for r in &rendered {
                out.extend_from_slice(r);
            }
        }
        out.truncate(want);
        Ok(out)
    }

    fn cpu_seconds() -> f64 {
        let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
            return 0.0;
        };
        let Some(rest) = s.rsplit_once(')').map(|x| x.1) else {
            return 0.0;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        let st: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        (ut + st) / 100.0
    }

    fn peak_rss_mib() -> f64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn pct(v: &mut [u64], p: f64) -> u64 {
        if v.is_empty() {
            return 0;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    }

    pub fn run(a: WhisperBenchArgs) -> Result<ExitCode> {
        if a.seconds == 0 || a.legs == 0 {
            bail!("--seconds and --legs must be at least 1");
        }
        let synthetic = a.model.is_none();
        let (model, _cleanup) = match &a.model {
            Some(p) => (p.clone(), None),
            None => {
                let p = std::env::temp_dir()
                    .join(format!("sotto-bench-ggml-base-{}.bin", std::process::id()));
                eprintln!("writing a synthetic base model to {} …", p.display());
                ggml_model::write_synthetic(&p, &Hparams::base(), Fill::Noise)
                    .context("cannot write the synthetic model")?;
                (p.clone(), Some(RemoveOnDrop(p)))
            }
        };
        eprintln!("rendering {} s of speech with espeak-ng …", a.seconds);
        let audio = speech(a.seconds, &a.language)?;
        let audio_s = audio.len() as f64 / f64::from(RATE);

        let t_load = Instant::now();
        let h = WhisperHandle::load(WhisperConfig {
            model: model.clone(),
            threads: a.threads,
            workers: a.workers,
            language: Some(a.language.clone()),
            max_queue_ms: u64::MAX / 4,
            ..WhisperConfig::default()
        })?;
        let load_ms = t_load.elapsed().as_millis();
        let info = h.0.model_info().clone();

        let mut legs: Vec<_> = (0..a.legs).map(|_| h.engine(RATE)).collect();
        for l in &mut legs {
            l.record_latencies();
        }
        let frame = (RATE / 50) as usize; // 20 ms
        let frames: Vec<&[i16]> = audio.chunks(frame).collect();
        let mut pushed_at: Vec<Instant> = Vec::with_capacity(frames.len());
        let mut passed = vec![0usize; a.legs]; // frames below each leg's watermark
        let mut audio_lat: Vec<u64> = Vec::new();
        let mut events = Vec::new();
        let mut words = 0usize;
        let mut failed = 0usize;
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();

        let mut observe = |legs: &mut [sotto_transcribe::WhisperEngine],
                           pushed_at: &[Instant],
                           events: &mut Vec<EngineEvent>| {
            for (i, l) in legs.iter_mut().enumerate() {
                events.clear();
                l.poll(events);
                for e in events.iter() {
                    match e {
                        EngineEvent::Final { words: w, .. } => words += w.len(),
                        EngineEvent::Failed { .. } => failed += 1,
                        EngineEvent::Partial { .. } => {}
                    }
                }
                let w = l.watermark_ms();
                let upto = if w == u64::MAX {
                    pushed_at.len()
                } else {
                    ((w / 20) as usize).min(pushed_at.len())
                };
                while passed[i] < upto {
                    audio_lat.push(pushed_at[passed[i]].elapsed().as_millis() as u64);
                    passed[i] += 1;
                }
            }
        };

        for (n, f) in frames.iter().enumerate() {
            if !a.fast {
                let due = t0 + Duration::from_millis(n as u64 * 20);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            pushed_at.push(Instant::now());
            for l in &mut legs {
                l.push_audio(n as u64 * 20, f);
            }
            observe(&mut legs, &pushed_at, &mut events);
        }
        for l in &mut legs {
            l.finish();
        }
        let deadline = Instant::now() + Duration::from_secs(a.seconds * 20 + 600);
        while !legs.iter().all(|l| l.is_done()) {
            if Instant::now() > deadline {
                bail!("the engine did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(10));
            observe(&mut legs, &pushed_at, &mut events);
        }
        observe(&mut legs, &pushed_at, &mut events);
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let stats = h.stats();
        let mut seg_lat: Vec<u64> = legs
            .iter_mut()
            .flat_map(|l| l.take_latencies())
            .map(|d| d.as_millis() as u64)
            .collect();
        let total_audio = audio_s * a.legs as f64;
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

        println!("sotto bench whisper");
        println!(
            "model                 {} ({}{})",
            if synthetic {
                "synthetic".to_owned()
            } else {
                model.display().to_string()
            },
            info.describe(),
            if synthetic {
                "; meaningless text, real cost"
            } else {
                ""
            }
        );
        println!(
            "audio                 {audio_s:.1} s of espeak-ng speech × {} leg(s), 8 kHz → 16 kHz, {} utterances, {}",
            a.legs,
            stats.transcribed_utterances,
            if a.fast { "pushed as fast as possible" } else { "paced in real time" }
        );
        println!(
            "engine                {} worker(s) × {} thread(s), language {}, load {load_ms} ms",
            a.workers, a.threads, a.language
        );
        println!(
            "CPU                   {cpu:.1} s for {total_audio:.1} s of audio = {:.3} CPU-s per audio-s",
            cpu / total_audio
        );
        println!(
            "real-time factor      {:.3} (worker compute time / audio time; wall {wall:.1} s)",
            stats.compute_ms as f64 / 1000.0 / total_audio
        );
        println!(
            "utterance latency     p50 {} ms, p99 {} ms, max {} ms (VAD cut → words)",
            pct(&mut seg_lat, 0.50),
            pct(&mut seg_lat, 0.99),
            seg_lat.iter().max().copied().unwrap_or(0)
        );
        println!(
            "audio latency         p50 {} ms, p99 {} ms (pushed → watermark past it)",
            pct(&mut audio_lat, 0.50),
            pct(&mut audio_lat, 0.99)
        );
        println!("words                 {words} ({failed} utterances failed)");
        println!("peak RSS              {:.0} MiB", peak_rss_mib());
        println!(
            "machine               {} cores, load average {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }

    struct RemoveOnDrop(std::path::PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
