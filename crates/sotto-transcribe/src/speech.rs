//! Speech for tests and benchmarks: espeak-ng renders text to a WAV on stdout, which is decoded
//! and resampled to the rate a telephone leg carries (8 kHz). Nothing here runs on the live path.

use std::process::{Command, Stdio};

/// Why no speech could be made.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("espeak-ng is not installed (apt-get install espeak-ng)")]
    NotInstalled,
    #[error("espeak-ng failed: {0}")]
    Failed(String),
}

/// `text` spoken by espeak-ng (`voice` e.g. `en`, `da`), as mono PCM16 at `rate` Hz.
pub fn espeak(text: &str, voice: &str, rate: u32) -> Result<Vec<i16>, SpeechError> {
    // A file, not stdout: on stdout espeak-ng cannot patch the WAV header's sizes.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "sotto-espeak-{}-{}.wav",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SpeechError::NotInstalled,
            _ => SpeechError::Failed(e.to_string()),
        })?;
    let bytes = std::fs::read(&path);
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        return Err(SpeechError::Failed(format!("exit status {status}")));
    }
    let bytes = bytes.map_err(|e| SpeechError::Failed(e.to_string()))?;
    let wav = sotto_audio::decode_wav(&bytes).map_err(|e| SpeechError::Failed(e.to_string()))?;
    let pcm = sotto_audio::resample(&wav.pcm.to_mono(), rate)
        .map_err(|e| SpeechError::Failed(e.to_string()))?;
    Ok(pcm.samples)
}
