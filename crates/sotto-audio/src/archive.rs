//! The lossless "original" archive recordings are kept in.
//!
//! Layout (all integers little-endian), 20-byte header then one zstd frame:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | magic `SOTA` |
//! | 4 | 1 | format version, 1 |
//! | 5 | 1 | codec: 1 G.711 μ-law + zstd, 2 G.711 A-law + zstd, 3 PCM16 LE + zstd, 4 Opus in Ogg |
//! | 6 | 2 | channels (1 or 2) |
//! | 8 | 4 | sample rate (8000..=48000) |
//! | 12 | 8 | frame count |
//! | 20 | … | zstd frame (with content size and checksum) of the interleaved samples; for codec 4 an Ogg Opus stream ([`crate::opus`]) |
//!
//! G.711 codecs keep a G.711 source bit-exact (about 51–52 kbit/s for 8 kHz speech against the
//! 64 kbit/s of raw G.711); for other PCM they are lossy (G.711 quantisation). Use
//! [`codec_for_source`] to pick the lossless codec for a decoded file. Opus (codec 4) is the
//! lossy option a policy may choose (16–24 kbit/s against ~52 kbit/s); decoding gives back the
//! rate and frame count it was made from, so silenced intervals stay where they were.

use crate::g711;
use crate::pcm::{check_channels, check_rate, Pcm16, SourceEncoding};
use crate::AudioError;
use std::fmt;
use std::io::Read;

/// Magic bytes at the start of every archive.
pub const MAGIC: [u8; 4] = *b"SOTA";
/// Current format version.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 20;
/// zstd level [`encode`] uses. Measured on 60 s of 8 kHz μ-law speech (`benches/archive.rs`):
/// level 3 gives 52.4 kbit/s at ~6 ms per minute of audio; level 9 52.0 kbit/s at ~22 ms;
/// level 19 50.8 kbit/s, many times slower. Level 3 keeps live archiving of thousands of
/// channels cheap; [`encode_with_level`] at 19 suits a background re-compression.
pub const DEFAULT_LEVEL: i32 = 3;
/// Largest decoded payload [`decode`] accepts: 24 hours of 48 kHz stereo PCM16.
pub const MAX_DECODED_BYTES: u64 = 24 * 3600 * 48_000 * 2 * 2;

/// How the samples inside an archive are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveCodec {
    /// G.711 μ-law bytes, zstd-compressed.
    G711UlawZstd,
    /// G.711 A-law bytes, zstd-compressed.
    G711AlawZstd,
    /// 16-bit little-endian PCM, zstd-compressed.
    Pcm16Zstd,
    /// Opus in Ogg (lossy; [`crate::opus`]).
    OpusOgg,
}

impl ArchiveCodec {
    pub const ALL: [ArchiveCodec; 4] = [
        ArchiveCodec::G711UlawZstd,
        ArchiveCodec::G711AlawZstd,
        ArchiveCodec::Pcm16Zstd,
        ArchiveCodec::OpusOgg,
    ];

    /// Stable wire name: `"g711-ulaw-zstd"`, `"g711-alaw-zstd"` or `"pcm16-zstd"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ArchiveCodec::G711UlawZstd => "g711-ulaw-zstd",
            ArchiveCodec::G711AlawZstd => "g711-alaw-zstd",
            ArchiveCodec::Pcm16Zstd => "pcm16-zstd",
            ArchiveCodec::OpusOgg => "opus-ogg",
        }
    }

    /// The byte stored in the header.
    pub const fn id(self) -> u8 {
        match self {
            ArchiveCodec::G711UlawZstd => 1,
            ArchiveCodec::G711AlawZstd => 2,
            ArchiveCodec::Pcm16Zstd => 3,
            ArchiveCodec::OpusOgg => 4,
        }
    }

    /// The codec with header byte `id`.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(ArchiveCodec::G711UlawZstd),
            2 => Some(ArchiveCodec::G711AlawZstd),
            3 => Some(ArchiveCodec::Pcm16Zstd),
            4 => Some(ArchiveCodec::OpusOgg),
            _ => None,
        }
    }

    /// The sample encoding inside the zstd frame (for Opus: what decoding gives).
    pub const fn sample_encoding(self) -> SourceEncoding {
        match self {
            ArchiveCodec::G711UlawZstd => SourceEncoding::MuLaw,
            ArchiveCodec::G711AlawZstd => SourceEncoding::ALaw,
            ArchiveCodec::Pcm16Zstd | ArchiveCodec::OpusOgg => SourceEncoding::Pcm16,
        }
    }

    /// Whether the codec keeps the samples it is given (Opus does not).
    pub const fn is_lossless(self) -> bool {
        !matches!(self, ArchiveCodec::OpusOgg)
    }

    /// Whether archiving audio that came from `source` loses nothing.
    pub const fn is_lossless_for(self, source: SourceEncoding) -> bool {
        matches!(
            (self, source),
            (ArchiveCodec::Pcm16Zstd, _)
                | (ArchiveCodec::G711UlawZstd, SourceEncoding::MuLaw)
                | (ArchiveCodec::G711AlawZstd, SourceEncoding::ALaw)
        )
    }
}

impl fmt::Display for ArchiveCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ArchiveCodec {
    type Err = AudioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArchiveCodec::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            AudioError::Archive(format!(
                "unknown archive codec `{}` (expected one of: g711-ulaw-zstd g711-alaw-zstd pcm16-zstd opus-ogg)",
                s.chars().take(40).collect::<String>()
            ))
        })
    }
}

/// How a policy wants recordings kept: the lossless original (default) or Opus at a bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveFormat {
    /// G.711 bytes as they came (or PCM16) under zstd: the regulator's "original", with
    /// silenced spans as the only change.
    #[default]
    Lossless,
    /// Opus in Ogg at this many bit/s ([`crate::opus::BITRATE_RANGE`]; 16–24 kbit/s suit speech).
    Opus { bitrate_bps: u32 },
}

impl ArchiveFormat {
    /// Checks the bit rate of an Opus format.
    pub fn validate(self) -> Result<Self, AudioError> {
        if let ArchiveFormat::Opus { bitrate_bps } = self {
            if !crate::opus::BITRATE_RANGE.contains(&bitrate_bps) {
                return Err(AudioError::Archive(format!(
                    "opus bit rate {bitrate_bps} bit/s is outside {}..={}",
                    crate::opus::BITRATE_RANGE.start(),
                    crate::opus::BITRATE_RANGE.end()
                )));
            }
        }
        Ok(self)
    }

    /// The codec audio from `source` is archived with.
    pub const fn codec_for(self, source: SourceEncoding) -> ArchiveCodec {
        match self {
            ArchiveFormat::Lossless => codec_for_source(source),
            ArchiveFormat::Opus { .. } => ArchiveCodec::OpusOgg,
        }
    }

    /// Archives decoded PCM that came from `source`.
    pub fn encode_pcm(self, pcm: &Pcm16, source: SourceEncoding) -> Result<Vec<u8>, AudioError> {
        match self {
            ArchiveFormat::Lossless => encode(pcm, codec_for_source(source)),
            ArchiveFormat::Opus { bitrate_bps } => encode_opus(pcm, bitrate_bps),
        }
    }

    /// Archives raw mono sample bytes of a live leg: G.711 bytes (μ-law, A-law) or PCM16 LE.
    pub fn encode_leg_bytes(
        self,
        bytes: &[u8],
        source: SourceEncoding,
        sample_rate: u32,
    ) -> Result<Vec<u8>, AudioError> {
        match (self, source) {
            (ArchiveFormat::Lossless, SourceEncoding::MuLaw | SourceEncoding::ALaw) => {
                encode_g711(bytes, source, sample_rate, 1)
            }
            _ => {
                let samples: Vec<i16> = match source {
                    SourceEncoding::MuLaw => g711::ulaw_decode_slice(bytes),
                    SourceEncoding::ALaw => g711::alaw_decode_slice(bytes),
                    SourceEncoding::Pcm16 => bytes
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]))
                        .collect(),
                };
                self.encode_pcm(&Pcm16::new(sample_rate, 1, samples), source)
            }
        }
    }
}

impl std::str::FromStr for ArchiveFormat {
    type Err = AudioError;
    /// `lossless`, `opus` (20 kbit/s) or `opus:<kbit/s>` (e.g. `opus:16`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            AudioError::Archive(format!(
                "unknown archive format `{}` (expected lossless, opus or opus:<kbit/s> such as opus:16)",
                s.chars().take(40).collect::<String>()
            ))
        };
        match s {
            "lossless" => Ok(ArchiveFormat::Lossless),
            "opus" => Ok(ArchiveFormat::Opus {
                bitrate_bps: crate::opus::DEFAULT_BITRATE_BPS,
            }),
            _ => {
                let kbps: u32 = s
                    .strip_prefix("opus:")
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(bad)?;
                ArchiveFormat::Opus {
                    bitrate_bps: kbps.saturating_mul(1000),
                }
                .validate()
            }
        }
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveFormat::Lossless => f.write_str("lossless"),
            ArchiveFormat::Opus { bitrate_bps } => write!(f, "opus:{}", bitrate_bps / 1000),
        }
    }
}

/// The codec that keeps audio decoded from `src` bit-exact: μ-law stays μ-law, A-law stays
/// A-law, PCM stays PCM.
pub const fn codec_for_source(src: SourceEncoding) -> ArchiveCodec {
    match src {
        SourceEncoding::Pcm16 => ArchiveCodec::Pcm16Zstd,
        SourceEncoding::MuLaw => ArchiveCodec::G711UlawZstd,
        SourceEncoding::ALaw => ArchiveCodec::G711AlawZstd,
    }
}

/// What an archive's header says, read without decompressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveHeader {
    pub version: u8,
    pub codec: ArchiveCodec,
    pub channels: u16,
    pub sample_rate: u32,
    pub frames: u64,
}

impl ArchiveHeader {
    /// Duration in whole milliseconds.
    pub fn duration_ms(&self) -> u64 {
        let ms = u128::from(self.frames) * 1000 / u128::from(self.sample_rate.max(1));
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// Bytes the samples take once decompressed (before G.711 expansion).
    pub fn payload_len(&self) -> u64 {
        self.frames
            .saturating_mul(u64::from(self.channels))
            .saturating_mul(self.codec.sample_encoding().bytes_per_sample() as u64)
    }
}

/// Archives PCM with `codec` at [`DEFAULT_LEVEL`].
pub fn encode(pcm: &Pcm16, codec: ArchiveCodec) -> Result<Vec<u8>, AudioError> {
    encode_with_level(pcm, codec, DEFAULT_LEVEL)
}

/// Archives PCM with `codec` at zstd `level` (1..=22; 3 is fast, 19 is small).
pub fn encode_with_level(
    pcm: &Pcm16,
    codec: ArchiveCodec,
    level: i32,
) -> Result<Vec<u8>, AudioError> {
    pcm.validate()?;
    let payload: Vec<u8> = match codec {
        ArchiveCodec::G711UlawZstd => g711::ulaw_encode_slice(&pcm.samples),
        ArchiveCodec::G711AlawZstd => g711::alaw_encode_slice(&pcm.samples),
        ArchiveCodec::Pcm16Zstd => pcm.samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
        ArchiveCodec::OpusOgg => return encode_opus(pcm, crate::opus::DEFAULT_BITRATE_BPS),
    };
    encode_payload(codec, pcm.sample_rate, pcm.channels, &payload, level)
}

/// Archives PCM as Opus in Ogg at `bitrate_bps` ([`crate::opus::BITRATE_RANGE`]).
pub fn encode_opus(pcm: &Pcm16, bitrate_bps: u32) -> Result<Vec<u8>, AudioError> {
    let ogg = crate::opus::encode_ogg_opus(pcm, bitrate_bps)?;
    let mut out = Vec::with_capacity(HEADER_LEN + ogg.len());
    write_header(
        &mut out,
        ArchiveCodec::OpusOgg,
        pcm.channels,
        pcm.sample_rate,
        pcm.frames() as u64,
    );
    out.extend_from_slice(&ogg);
    Ok(out)
}

fn write_header(out: &mut Vec<u8>, codec: ArchiveCodec, channels: u16, rate: u32, frames: u64) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(codec.id());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&frames.to_le_bytes());
}

/// Archives G.711 bytes as they came off the wire (no decode/encode round trip), e.g. a PCMU
/// media stream. `bytes` are interleaved when `channels` is 2.
pub fn encode_g711(
    bytes: &[u8],
    law: SourceEncoding,
    sample_rate: u32,
    channels: u16,
) -> Result<Vec<u8>, AudioError> {
    let codec = match law {
        SourceEncoding::MuLaw => ArchiveCodec::G711UlawZstd,
        SourceEncoding::ALaw => ArchiveCodec::G711AlawZstd,
        SourceEncoding::Pcm16 => {
            return Err(AudioError::Archive(
                "encode_g711 takes μ-law or A-law bytes; use encode for PCM16".into(),
            ))
        }
    };
    check_rate(sample_rate)?;
    check_channels(channels)?;
    if bytes.len() % usize::from(channels) != 0 {
        return Err(AudioError::Corrupt(
            "byte count is not a multiple of the channel count",
        ));
    }
    encode_payload(codec, sample_rate, channels, bytes, DEFAULT_LEVEL)
}

fn encode_payload(
    codec: ArchiveCodec,
    sample_rate: u32,
    channels: u16,
    payload: &[u8],
    level: i32,
) -> Result<Vec<u8>, AudioError> {
    let bps = codec.sample_encoding().bytes_per_sample();
    let frames = (payload.len() / bps / usize::from(channels)) as u64;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() / 2 + 64);
    write_header(&mut out, codec, channels, sample_rate, frames);
    let zerr = |e: std::io::Error| AudioError::Archive(format!("zstd compression failed: {e}"));
    let mut enc = zstd::stream::Encoder::new(out, level).map_err(zerr)?;
    enc.include_checksum(true).map_err(zerr)?;
    enc.include_contentsize(true).map_err(zerr)?;
    enc.set_pledged_src_size(Some(payload.len() as u64))
        .map_err(zerr)?;
    std::io::Write::write_all(&mut enc, payload).map_err(zerr)?;
    enc.finish().map_err(zerr)
}

/// Reads and checks an archive's header without decompressing.
pub fn inspect(bytes: &[u8]) -> Result<ArchiveHeader, AudioError> {
    inspect_limited(bytes, MAX_DECODED_BYTES)
}

fn inspect_limited(bytes: &[u8], limit: u64) -> Result<ArchiveHeader, AudioError> {
    let h = bytes
        .get(..HEADER_LEN)
        .ok_or(AudioError::Truncated("the archive header"))?;
    if h[0..4] != MAGIC {
        return Err(AudioError::Archive(
            "not a Sotto audio archive (the file does not start with `SOTA`)".into(),
        ));
    }
    let version = h[4];
    if version != VERSION {
        return Err(AudioError::Archive(format!(
            "archive format version {version} is not supported (this build reads version {VERSION})"
        )));
    }
    let codec = ArchiveCodec::from_id(h[5]).ok_or_else(|| {
        AudioError::Archive(format!(
            "unknown archive codec id {} (supported: 1 g711-ulaw-zstd, 2 g711-alaw-zstd, 3 pcm16-zstd, 4 opus-ogg)",
            h[5]
        ))
    })?;
    let channels = u16::from_le_bytes([h[6], h[7]]);
    let sample_rate = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    let frames = u64::from_le_bytes([h[12], h[13], h[14], h[15], h[16], h[17], h[18], h[19]]);
    check_channels(channels)?;
    check_rate(sample_rate)?;
    let header = ArchiveHeader {
        version,
        codec,
        channels,
        sample_rate,
        frames,
    };
    let declared = header.payload_len();
    if declared > limit {
        return Err(AudioError::TooLarge { declared, limit });
    }
    Ok(header)
}

/// Decodes an archive to PCM. The zstd checksum and the frame count are verified; a damaged or
/// truncated archive gives an error. Memory use is bounded by what really decompresses (never by
/// the declared frame count alone).
pub fn decode(bytes: &[u8]) -> Result<Pcm16, AudioError> {
    decode_limited(bytes, MAX_DECODED_BYTES)
}

/// [`decode`], refusing archives whose stored samples (G.711 bytes, or PCM16 bytes) exceed
/// `max_payload_bytes` before decompressing anything — for callers that want a tighter bound
/// than [`MAX_DECODED_BYTES`] (a playback endpoint, a fuzzer).
pub fn decode_limited(bytes: &[u8], max_payload_bytes: u64) -> Result<Pcm16, AudioError> {
    let header = inspect_limited(bytes, max_payload_bytes)?;
    if header.codec == ArchiveCodec::OpusOgg {
        let pcm =
            crate::opus::decode_ogg_opus(&bytes[HEADER_LEN..], header.sample_rate, header.frames)?;
        if pcm.frames() as u64 != header.frames || pcm.channels != header.channels {
            return Err(AudioError::Corrupt(
                "the Opus stream's length or channels do not match the archive header",
            ));
        }
        return Ok(pcm);
    }
    let (header, payload) = decode_payload_limited(bytes, max_payload_bytes)?;
    let samples = match header.codec {
        ArchiveCodec::G711UlawZstd => g711::ulaw_decode_slice(&payload),
        ArchiveCodec::G711AlawZstd => g711::alaw_decode_slice(&payload),
        ArchiveCodec::Pcm16Zstd | ArchiveCodec::OpusOgg => payload
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    };
    Ok(Pcm16 {
        sample_rate: header.sample_rate,
        channels: header.channels,
        samples,
    })
}

/// Decodes an archive to its stored sample bytes (G.711 bytes for G.711 codecs, PCM16 LE
/// otherwise) — the original wire bytes of a G.711 recording, e.g. for export as a μ-law WAV.
pub fn decode_payload(bytes: &[u8]) -> Result<(ArchiveHeader, Vec<u8>), AudioError> {
    decode_payload_limited(bytes, MAX_DECODED_BYTES)
}

fn decode_payload_limited(
    bytes: &[u8],
    limit: u64,
) -> Result<(ArchiveHeader, Vec<u8>), AudioError> {
    let header = inspect_limited(bytes, limit)?;
    if header.codec == ArchiveCodec::OpusOgg {
        // Opus keeps no stored sample bytes: the payload is what decoding gives, PCM16 LE.
        let pcm = decode_limited(bytes, limit)?;
        return Ok((
            header,
            pcm.samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
        ));
    }
    let want = header.payload_len();
    let body = &bytes[HEADER_LEN..];
    if let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(body) {
        if declared != want {
            return Err(AudioError::Corrupt(
                "archive payload size does not match the header's frame count",
            ));
        }
    }
    let zerr = |e: std::io::Error| AudioError::Archive(format!("damaged archive payload: {e}"));
    let dec = zstd::stream::read::Decoder::with_buffer(body).map_err(zerr)?;
    let mut dec = dec.single_frame();
    // Grow with what really decompresses, never more than the header declared (+1 to notice
    // an over-long payload).
    let mut payload = Vec::with_capacity(usize::try_from(want.min(1 << 20)).unwrap_or(0));
    (&mut dec)
        .take(want.saturating_add(1))
        .read_to_end(&mut payload)
        .map_err(zerr)?;
    if payload.len() as u64 != want {
        return Err(AudioError::Corrupt(
            "archive payload size does not match the header's frame count",
        ));
    }
    // Drain to the end of the frame so the checksum is verified.
    let mut rest = [0u8; 1];
    match dec.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => {
            return Err(AudioError::Corrupt(
                "archive payload size does not match the header's frame count",
            ))
        }
        Err(e) => return Err(zerr(e)),
    }
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speechish(frames: usize) -> Pcm16 {
        let samples = (0..frames)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let env = (t * 3.0 * std::f64::consts::PI).sin().abs();
                (env * 8000.0 * (t * 2.0 * std::f64::consts::PI * 220.0).sin()) as i16
            })
            .collect();
        Pcm16::new(8000, 1, samples)
    }

    #[test]
    fn g711_sources_round_trip_bit_exact() {
        for (law, codec) in [
            (SourceEncoding::MuLaw, ArchiveCodec::G711UlawZstd),
            (SourceEncoding::ALaw, ArchiveCodec::G711AlawZstd),
        ] {
            assert_eq!(codec_for_source(law), codec);
            let bytes: Vec<u8> = (0..16_000u32).map(|i| (i * 7 % 256) as u8).collect();
            let samples = match law {
                SourceEncoding::MuLaw => g711::ulaw_decode_slice(&bytes),
                _ => g711::alaw_decode_slice(&bytes),
            };
            let pcm = Pcm16::new(8000, 2, samples);
            let a = encode(&pcm, codec).unwrap();
            assert_eq!(decode(&a).unwrap(), pcm);
            assert_eq!(decode_payload(&a).unwrap().1, bytes);
            let b = encode_g711(&bytes, law, 8000, 2).unwrap();
            assert_eq!(decode(&b).unwrap(), pcm);
        }
    }

    #[test]
    fn pcm_round_trip_and_header() {
        let pcm = speechish(8000);
        let a = encode(&pcm, ArchiveCodec::Pcm16Zstd).unwrap();
        let h = inspect(&a).unwrap();
        assert_eq!(h.frames, 8000);
        assert_eq!(h.duration_ms(), 1000);
        assert_eq!(h.codec, ArchiveCodec::Pcm16Zstd);
        assert_eq!(decode(&a).unwrap(), pcm);
        let empty = Pcm16::new(48_000, 2, vec![]);
        assert_eq!(
            decode(&encode(&empty, ArchiveCodec::G711AlawZstd).unwrap()).unwrap(),
            empty
        );
    }

    #[test]
    fn archive_formats_parse_and_encode() {
        assert_eq!(
            "lossless".parse::<ArchiveFormat>().unwrap(),
            ArchiveFormat::Lossless
        );
        let o16: ArchiveFormat = "opus:16".parse().unwrap();
        assert_eq!(
            o16,
            ArchiveFormat::Opus {
                bitrate_bps: 16_000
            }
        );
        assert_eq!(o16.to_string(), "opus:16");
        assert_eq!(
            "opus".parse::<ArchiveFormat>().unwrap().to_string(),
            "opus:20"
        );
        for bad in ["opus:2", "opus:999", "flac", "opus:x"] {
            assert!(bad.parse::<ArchiveFormat>().is_err(), "{bad}");
        }
        let bytes: Vec<u8> = (0..8_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let l = ArchiveFormat::Lossless
            .encode_leg_bytes(&bytes, SourceEncoding::MuLaw, 8_000)
            .unwrap();
        assert_eq!(inspect(&l).unwrap().codec, ArchiveCodec::G711UlawZstd);
        assert_eq!(decode_payload(&l).unwrap().1, bytes);
        let o = o16
            .encode_leg_bytes(&bytes, SourceEncoding::MuLaw, 8_000)
            .unwrap();
        let h = inspect(&o).unwrap();
        assert_eq!((h.codec, h.frames), (ArchiveCodec::OpusOgg, 8_000));
        assert_eq!(o16.codec_for(SourceEncoding::ALaw), ArchiveCodec::OpusOgg);
    }

    #[test]
    fn opus_archive_round_trips_through_decode() {
        let pcm = speechish(16_000);
        let a = encode(&pcm, ArchiveCodec::OpusOgg).unwrap();
        let h = inspect(&a).unwrap();
        assert_eq!(
            (h.codec, h.frames, h.sample_rate),
            (ArchiveCodec::OpusOgg, 16_000, 8_000)
        );
        assert!(!h.codec.is_lossless() && ArchiveCodec::Pcm16Zstd.is_lossless());
        assert_eq!(
            "opus-ogg".parse::<ArchiveCodec>().unwrap(),
            ArchiveCodec::OpusOgg
        );
        // the default 20 kbit/s (2 s of audio), container overhead included
        assert!(
            a.len() < 2 * 20_000 / 8 * 11 / 10 + 200,
            "{} bytes",
            a.len()
        );
        let back = decode(&a).unwrap();
        assert_eq!(
            (back.frames(), back.channels, back.sample_rate),
            (16_000, 1, 8_000)
        );
        let (x, y) = (
            crate::rms_dbfs(&pcm, 100, 1_900),
            crate::rms_dbfs(&back, 100, 1_900),
        );
        assert!((x - y).abs() < 2.0, "{x} vs {y}");
        assert_eq!(decode_payload(&a).unwrap().1.len(), 32_000);
        // damage inside the Ogg stream is caught (page CRC), a wrong header frame count too
        let mut x = a.clone();
        let mid = x.len() / 2;
        x[mid] ^= 0x10;
        assert!(decode(&x).is_err());
        let mut x = a.clone();
        x[12] = x[12].wrapping_add(1);
        assert!(decode(&x).is_err());
        assert!(decode(&a[..a.len() - 3]).is_err());
    }

    #[test]
    fn rejects_damage() {
        let pcm = speechish(4000);
        let a = encode(&pcm, ArchiveCodec::G711UlawZstd).unwrap();
        let good = decode(&a).unwrap();
        assert!(decode(&a[..10]).is_err());
        assert!(decode(&a[..a.len() - 1]).is_err());
        for i in HEADER_LEN..a.len() {
            let mut x = a.clone();
            x[i] ^= 0x40;
            let r = decode(&x);
            // A flip either is detected or hits bits that do not change the output.
            assert!(r.is_err() || r.as_ref() == Ok(&good), "byte {i}");
        }
        let mut x = a.clone();
        x[12] = x[12].wrapping_add(1);
        assert!(matches!(decode(&x), Err(AudioError::Corrupt(_))));
        let mut x = a.clone();
        x[0] = b'X';
        assert!(matches!(decode(&x), Err(AudioError::Archive(_))));
        let mut x = a.clone();
        x[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode(&x), Err(AudioError::TooLarge { .. })));
        assert!(matches!(
            decode_limited(&a, 3999),
            Err(AudioError::TooLarge { declared: 4000, .. })
        ));
        assert_eq!(decode_limited(&a, 4000).unwrap(), good);
        let mut x = a.clone();
        x[5] = 9;
        assert!(decode(&x).unwrap_err().to_string().contains("codec id 9"));
        assert!(encode(&Pcm16::new(8000, 2, vec![1]), ArchiveCodec::Pcm16Zstd).is_err());
    }

    #[test]
    fn codec_names() {
        for c in ArchiveCodec::ALL {
            assert_eq!(c.as_str().parse::<ArchiveCodec>().unwrap(), c);
            assert_eq!(ArchiveCodec::from_id(c.id()), Some(c));
        }
        assert!(ArchiveCodec::G711UlawZstd.is_lossless_for(SourceEncoding::MuLaw));
        assert!(!ArchiveCodec::G711UlawZstd.is_lossless_for(SourceEncoding::ALaw));
    }
}
