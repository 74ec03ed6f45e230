//! The `whisper` engine without real weights: missing and corrupt model files are specific
//! errors (no panic, no abort inside whisper.cpp); a synthetic model with the real shapes of
//! `base` (written here, at test time) is loaded and run by whisper.cpp through the live-leg
//! interface; the queue bound fails closed. With `SOTTO_WHISPER_MODEL` pointing at a real ggml
//! model, a real transcription of espeak-ng speech is checked too.
#![cfg(feature = "whisper")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_transcribe::ggml_model::{self, Fill, Hparams, ModelFileError};
use sotto_transcribe::{
    EngineConfig, EngineEvent, TranscribeError, Transcriber, WhisperConfig, WhisperHandle,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The synthetic base model, written once per target directory (other test processes reuse it;
/// written under a temporary name and renamed, so a half-written file is never seen).
fn synthetic_base() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("ggml-base-synthetic.bin");
    if ggml_model::inspect(&path).is_ok() {
        return path;
    }
    let tmp = dir.join(format!("ggml-base-synthetic.{}.part", std::process::id()));
    ggml_model::write_synthetic(&tmp, &Hparams::base(), Fill::Noise).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn cfg(model: PathBuf) -> WhisperConfig {
    WhisperConfig {
        model,
        threads: 2,
        workers: 1,
        language: Some("en".into()),
        ..WhisperConfig::default()
    }
}

/// Voiced audio at 8 kHz: espeak-ng speech when it is installed, else a warbling tone.
fn speech(text: &str) -> Vec<i16> {
    match sotto_transcribe::speech::espeak(text, "en", 8000) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("note: {e}; using a synthetic tone instead of speech");
            (0..8000 * 2)
                .map(|i| {
                    let t = i as f64 / 8000.0;
                    ((t * 2.0 * std::f64::consts::PI * (300.0 + 100.0 * (t * 3.0).sin())).sin()
                        * 9000.0) as i16
                })
                .collect()
        }
    }
}

/// Pushes `audio` in 20 ms frames with `gap_ms` of silence after it, then finishes and collects
/// every event until the engine is done.
fn run(engine: &mut dyn Transcriber, audio: &[i16], gap_ms: u64) -> Vec<EngineEvent> {
    let mut all = audio.to_vec();
    all.extend(std::iter::repeat_n(0i16, (gap_ms * 8) as usize));
    let mut out = Vec::new();
    for (i, c) in all.chunks(160).enumerate() {
        engine.push_audio(i as u64 * 20, c);
        engine.poll(&mut out);
    }
    engine.finish();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !engine.is_done() {
        assert!(Instant::now() < deadline, "the engine never finished");
        std::thread::sleep(Duration::from_millis(20));
        engine.poll(&mut out);
    }
    engine.poll(&mut out);
    out
}

#[test]
fn missing_model_is_a_specific_error() {
    let e = WhisperHandle::load(cfg("/nonexistent/ggml-base.bin".into())).unwrap_err();
    assert!(
        matches!(e, TranscribeError::ModelFile(ModelFileError::NotFound(_))),
        "{e}"
    );
    assert!(e.to_string().contains("not found"), "{e}");
}

#[test]
fn corrupt_models_are_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    // random bytes
    let p = dir.path().join("random.bin");
    std::fs::write(
        &p,
        (0..4096u32)
            .map(|i| (i * 37 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let e = WhisperHandle::load(cfg(p)).unwrap_err();
    assert!(
        matches!(e, TranscribeError::ModelFile(ModelFileError::BadMagic(_))),
        "{e}"
    );
    // empty file
    let p = dir.path().join("empty.bin");
    std::fs::write(&p, b"").unwrap();
    let e = WhisperHandle::load(cfg(p)).unwrap_err();
    assert!(
        matches!(
            e,
            TranscribeError::ModelFile(ModelFileError::Truncated { .. })
        ),
        "{e}"
    );
    // a real-shaped model cut short (an interrupted download)
    let base = synthetic_base();
    let bytes = std::fs::read(&base).unwrap();
    let p = dir.path().join("cut.bin");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = WhisperHandle::load(cfg(p)).unwrap_err();
    assert!(
        matches!(
            e,
            TranscribeError::ModelFile(ModelFileError::Truncated { .. })
        ),
        "{e}"
    );
    // hyper-parameters whisper.cpp would assert on or allocate from
    let mut b = bytes[..4096].to_vec();
    b[4 + 4 * 6..4 + 4 * 7].copy_from_slice(&1024i32.to_le_bytes()); // n_text_state ≠ n_audio_state
    let p = dir.path().join("mismatch.bin");
    std::fs::write(&p, &b).unwrap();
    let e = WhisperHandle::load(cfg(p)).unwrap_err();
    assert!(e.to_string().contains("n_text_state"), "{e}");
    // an unknown language is refused before anything is loaded
    let mut c = cfg(base);
    c.language = Some("xx".into());
    let e = WhisperHandle::load(c).unwrap_err();
    assert!(matches!(e, TranscribeError::Config(_)), "{e}");
}

#[test]
fn synthetic_base_model_loads_and_runs_through_the_leg_interface() {
    let h = WhisperHandle::load(cfg(synthetic_base())).unwrap();
    let info = h.0.model_info().clone();
    assert_eq!(info.hparams, Hparams::base());
    assert_eq!(info.describe(), "base f16, multilingual, 245 tensors");
    let engine_cfg = EngineConfig::Whisper(h.clone());
    let mut engine = engine_cfg.build(8000);
    assert_eq!(engine.name(), "whisper");
    let audio = speech("my card number is four five seven one");
    let audio_ms = audio.len() as u64 / 8;
    let t = Instant::now();
    let events = run(engine.as_mut(), &audio, 1500);
    let took = t.elapsed();
    assert_eq!(engine.watermark_ms(), u64::MAX);
    let finals: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Final { words, .. } => Some(words),
            _ => None,
        })
        .collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EngineEvent::Failed { .. })),
        "{events:?}"
    );
    assert!(!finals.is_empty(), "no utterance was transcribed");
    let end = audio_ms + 1500;
    for w in finals.iter().flat_map(|w| w.iter()) {
        assert!(w.start_ms <= w.end_ms && w.end_ms <= end, "{w:?}");
        assert!((0.0..=1.0).contains(&w.confidence));
    }
    let s = h.stats();
    assert!(
        s.transcribed_utterances >= 1 && s.transcribed_audio_ms > 0,
        "{s:?}"
    );
    assert_eq!(s.queued_utterances, 0);
    eprintln!(
        "synthetic base: {audio_ms} ms of audio in {} ms wall, {} ms compute, {} words (meaningless)",
        took.as_millis(),
        s.compute_ms,
        finals.iter().map(|w| w.len()).sum::<usize>()
    );
}

#[test]
fn a_full_queue_fails_closed_and_loses_no_interval() {
    let mut c = cfg(synthetic_base());
    c.max_queue_ms = 2_500;
    c.vad.max_utterance_ms = 2_000;
    let h = WhisperHandle::load(c).unwrap();
    // Three legs each push 6 s of continuous voice at once: 9 utterances of 2 s for a queue of
    // 2.5 s — most are refused at once and reported failed (their audio is silenced).
    let tone: Vec<i16> = (0..8000 * 6)
        .map(|i| ((i as f64 * 0.3).sin() * 9000.0) as i16)
        .collect();
    let mut legs: Vec<_> = (0..3).map(|_| h.engine(8000)).collect();
    for leg in &mut legs {
        for (i, c) in tone.chunks(160).enumerate() {
            leg.push_audio(i as u64 * 20, c);
        }
        leg.finish();
    }
    let mut failed = 0;
    let mut covered = 0u64;
    for leg in &mut legs {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(300);
        while !leg.is_done() {
            assert!(Instant::now() < deadline);
            leg.wait(Duration::from_millis(200), &mut out);
        }
        for e in &out {
            match e {
                EngineEvent::Failed { start_ms, end_ms } => {
                    failed += 1;
                    covered += end_ms - start_ms;
                }
                EngineEvent::Final { .. } => covered += 2000,
                EngineEvent::Partial { .. } => {}
            }
        }
        assert_eq!(leg.watermark_ms(), u64::MAX);
    }
    let s = h.stats();
    assert!(failed >= 4, "only {failed} refused: {s:?}");
    assert_eq!(s.rejected_utterances, failed);
    assert_eq!(
        covered,
        3 * 6000,
        "every interval is either transcribed or failed"
    );
}

#[test]
fn real_model_transcribes_speech_when_one_is_given() {
    let Some(model) = std::env::var_os("SOTTO_WHISPER_MODEL") else {
        eprintln!(
            "skipped: SOTTO_WHISPER_MODEL is not set (point it at a ggml model, e.g. from `sotto models fetch base.en`)"
        );
        return;
    };
    let audio = match sotto_transcribe::speech::espeak(
        "please read me the card number on the front of your card",
        "en",
        8000,
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let h = WhisperHandle::load(cfg(PathBuf::from(model))).unwrap();
    let mut engine = h.engine(8000);
    let events = run(&mut engine, &audio, 1500);
    let text: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Final { words, .. } => Some(words),
            _ => None,
        })
        .flatten()
        .map(|w| w.text.expose().to_lowercase())
        .collect();
    let joined = text.join(" ");
    assert!(
        joined.contains("card") && joined.contains("number"),
        "{} words, none of the expected",
        text.len()
    );
}
