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
//!
//! ```
//! use sotto_audio::{archive, decode_wav, encode_wav_as, g711, rms_dbfs, silence_intervals};
//! use sotto_audio::{Pcm16, SourceEncoding};
//!
//! // One second of μ-law, as a PBX would record it.
//! let tone: Vec<i16> = (0..8000).map(|i| ((i % 40) * 400 - 8000) as i16).collect();
//! let wav = encode_wav_as(&Pcm16::new(8000, 1, tone), SourceEncoding::MuLaw);
//!
//! let mut decoded = decode_wav(&wav)?;
//! assert_eq!(decoded.source.as_str(), "mulaw");
//! // Remove a card number spoken from 200 to 700 ms, with 50 ms to spare either side.
//! silence_intervals(&mut decoded.pcm, &[(200, 700)], 50);
//! assert!(rms_dbfs(&decoded.pcm, 200, 700) <= -60.0);
//! // Keep the original losslessly: μ-law stays μ-law, bit for bit.
//! let kept = archive::encode(&decoded.pcm, archive::codec_for_source(decoded.source))?;
//! assert_eq!(archive::decode(&kept)?, decoded.pcm);
//! # let _ = g711::ulaw_encode(0);
//! # Ok::<(), sotto_audio::AudioError>(())
//! ```

pub mod archive;
mod error;
pub mod g711;
mod level;
pub mod opus;
mod pcm;
mod resample;
mod wav;

pub use error::AudioError;
pub use level::{rms_dbfs, silence_intervals, tone_intervals, SILENCE_FLOOR_DBFS};
pub use pcm::{
    ParseSourceEncodingError, Pcm16, SourceEncoding, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
};
pub use resample::{resample, whisper_input, WHISPER_RATE};
pub use wav::{decode_wav, encode_wav, encode_wav_as, DecodedWav};
