//! Telephony audio.
//!
//! Owns: decoding WAV files (PCM16, μ-law, A-law) and G.711 frames to 16-bit PCM, silencing time
//! intervals, measuring levels, and the archive encodings recordings are kept in.
//!
//! Must never: know about calls, tenants, keys or storage; write anything to disk.
//!
//! Everything here is a pure function over bytes and samples. Input from outside (uploaded WAV
//! files, stored archives) is treated as hostile: every declared size is checked against the real
//! length of the input before anything is allocated, and malformed input gives an [`AudioError`],
//! never a panic.

pub mod archive;
mod error;
pub mod g711;
mod level;
mod pcm;
mod resample;
mod wav;

pub use error::AudioError;
pub use level::{rms_dbfs, silence_intervals, tone_intervals, SILENCE_FLOOR_DBFS};
pub use pcm::{Pcm16, SourceEncoding, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
pub use resample::{resample, whisper_input, WHISPER_RATE};
pub use wav::{decode_wav, encode_wav, encode_wav_as, DecodedWav};
