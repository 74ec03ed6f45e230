//! Decoded audio: interleaved signed 16-bit samples.

use crate::AudioError;
use std::fmt;

/// Lowest sample rate accepted anywhere in this crate (narrow-band telephony).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest sample rate accepted anywhere in this crate.
pub const MAX_SAMPLE_RATE: u32 = 48_000;
/// Mono or stereo (caller and agent on separate channels).
pub const MAX_CHANNELS: u16 = 2;

/// Interleaved signed 16-bit PCM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pcm16 {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved: for stereo `[l0, r0, l1, r1, …]`.
    pub samples: Vec<i16>,
}

impl Pcm16 {
    /// Wraps samples; no validation (see [`Pcm16::validate`]).
    pub fn new(sample_rate: u32, channels: u16, samples: Vec<i16>) -> Self {
        Self {
            sample_rate,
            channels,
            samples,
        }
    }

    /// Number of whole sample frames (one sample per channel). 0 when `channels` is 0.
    pub fn frames(&self) -> usize {
        match self.channels {
            0 => 0,
            c => self.samples.len() / usize::from(c),
        }
    }

    /// Duration in whole milliseconds (rounded down). 0 when `sample_rate` is 0.
    pub fn duration_ms(&self) -> u64 {
        if self.sample_rate == 0 {
            return 0;
        }
        let ms = (self.frames() as u128) * 1000 / u128::from(self.sample_rate);
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// The frame index at time `ms`, rounded down and clamped to `frames()`.
    pub fn frame_at_ms(&self, ms: u64) -> usize {
        self.frame_at_ms_rounded(ms, false)
    }

    pub(crate) fn frame_at_ms_rounded(&self, ms: u64, round_up: bool) -> usize {
        let rate = u128::from(self.sample_rate);
        let num = u128::from(ms) * rate;
        let f = if round_up {
            num.div_ceil(1000)
        } else {
            num / 1000
        };
        usize::try_from(f).unwrap_or(usize::MAX).min(self.frames())
    }

    /// Checks the invariants every encoder relies on: rate 8000..=48000, mono or stereo, and a
    /// whole number of frames.
    pub fn validate(&self) -> Result<(), AudioError> {
        check_rate(self.sample_rate)?;
        check_channels(self.channels)?;
        if self.samples.len() % usize::from(self.channels) != 0 {
            return Err(AudioError::Corrupt(
                "sample count is not a multiple of the channel count",
            ));
        }
        Ok(())
    }

    /// Downmixes to mono by averaging the channels (a copy when already mono).
    pub fn to_mono(&self) -> Pcm16 {
        if self.channels <= 1 {
            return self.clone();
        }
        let c = usize::from(self.channels);
        let samples = self
            .samples
            .chunks_exact(c)
            .map(|f| {
                let sum: i32 = f.iter().map(|&s| i32::from(s)).sum();
                // The mean of i16 values always fits an i16.
                i16::try_from(sum / c as i32).unwrap_or(0)
            })
            .collect();
        Pcm16 {
            sample_rate: self.sample_rate,
            channels: 1,
            samples,
        }
    }

    /// Interleaves two mono tracks (e.g. a media stream's inbound and outbound tracks, already
    /// aligned by timestamp) into stereo; the shorter track is padded with silence.
    pub fn from_tracks(sample_rate: u32, left: &[i16], right: &[i16]) -> Pcm16 {
        let n = left.len().max(right.len());
        let mut samples = Vec::with_capacity(2 * n);
        for i in 0..n {
            samples.push(left.get(i).copied().unwrap_or(0));
            samples.push(right.get(i).copied().unwrap_or(0));
        }
        Pcm16 {
            sample_rate,
            channels: 2,
            samples,
        }
    }

    /// One channel (0-based) as mono, or `None` when it does not exist.
    pub fn channel(&self, index: u16) -> Option<Pcm16> {
        if index >= self.channels {
            return None;
        }
        let c = usize::from(self.channels);
        let samples = self
            .samples
            .iter()
            .skip(usize::from(index))
            .step_by(c)
            .copied()
            .collect();
        Some(Pcm16 {
            sample_rate: self.sample_rate,
            channels: 1,
            samples,
        })
    }
}

pub(crate) fn check_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::BadSampleRate(rate))
    }
}

pub(crate) fn check_channels(channels: u16) -> Result<(), AudioError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(AudioError::BadChannels(channels))
    }
}

/// How the audio was encoded before it was decoded to [`Pcm16`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceEncoding {
    /// Linear 16-bit PCM.
    Pcm16,
    /// G.711 μ-law (PCMU).
    MuLaw,
    /// G.711 A-law (PCMA).
    ALaw,
}

impl SourceEncoding {
    pub const ALL: [SourceEncoding; 3] = [
        SourceEncoding::Pcm16,
        SourceEncoding::MuLaw,
        SourceEncoding::ALaw,
    ];

    /// Stable wire name: `"pcm16"`, `"mulaw"` or `"alaw"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SourceEncoding::Pcm16 => "pcm16",
            SourceEncoding::MuLaw => "mulaw",
            SourceEncoding::ALaw => "alaw",
        }
    }

    /// Bytes one sample of one channel takes in this encoding.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            SourceEncoding::Pcm16 => 2,
            SourceEncoding::MuLaw | SourceEncoding::ALaw => 1,
        }
    }
}

impl fmt::Display for SourceEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown [`SourceEncoding`] wire name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source encoding `{0}` (expected one of: pcm16 mulaw alaw)")]
pub struct ParseSourceEncodingError(pub String);

impl std::str::FromStr for SourceEncoding {
    type Err = ParseSourceEncodingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pcm16" => Ok(SourceEncoding::Pcm16),
            "mulaw" => Ok(SourceEncoding::MuLaw),
            "alaw" => Ok(SourceEncoding::ALaw),
            other => Err(ParseSourceEncodingError(other.chars().take(40).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_duration() {
        let p = Pcm16::new(8000, 2, vec![0; 16_000]);
        assert_eq!(p.frames(), 8000);
        assert_eq!(p.duration_ms(), 1000);
        assert_eq!(Pcm16::new(8000, 0, vec![1, 2]).frames(), 0);
        assert_eq!(Pcm16::new(0, 1, vec![1, 2]).duration_ms(), 0);
        assert_eq!(Pcm16::new(8000, 1, vec![0; 12]).duration_ms(), 1);
    }

    #[test]
    fn wire_names_round_trip() {
        for e in SourceEncoding::ALL {
            assert_eq!(e.as_str().parse::<SourceEncoding>().unwrap(), e);
        }
        assert!("opus".parse::<SourceEncoding>().is_err());
    }

    #[test]
    fn mono_and_channel() {
        let p = Pcm16::new(8000, 2, vec![10, 20, -10, -30]);
        assert_eq!(p.to_mono().samples, vec![15, -20]);
        assert_eq!(p.channel(1).unwrap().samples, vec![20, -30]);
        assert!(p.channel(2).is_none());
        let t = Pcm16::from_tracks(8000, &[1, 2, 3], &[4]);
        assert_eq!(t.samples, vec![1, 4, 2, 0, 3, 0]);
        assert_eq!(t.channel(0).unwrap().samples, vec![1, 2, 3]);
    }

    #[test]
    fn validate_rejects_bad_shapes() {
        assert!(Pcm16::new(8000, 1, vec![]).validate().is_ok());
        assert_eq!(
            Pcm16::new(7999, 1, vec![]).validate(),
            Err(AudioError::BadSampleRate(7999))
        );
        assert_eq!(
            Pcm16::new(8000, 3, vec![]).validate(),
            Err(AudioError::BadChannels(3))
        );
        assert!(Pcm16::new(8000, 2, vec![1]).validate().is_err());
    }
}
