//! RIFF/WAVE decoding and encoding.
//!
//! A small hand-written chunk walker rather than symphonia: the input is hostile (uploads), the
//! formats we accept are three, and the walker checks every declared size against the real
//! length before it allocates or slices. Allocation is bounded by the input length.

use crate::g711;
use crate::pcm::{check_channels, check_rate, Pcm16, SourceEncoding};
use crate::AudioError;

const TAG_PCM: u16 = 0x0001;
const TAG_ALAW: u16 = 0x0006;
const TAG_MULAW: u16 = 0x0007;
const TAG_EXTENSIBLE: u16 = 0xFFFE;
/// The tail shared by every `KSDATAFORMAT_SUBTYPE_*` GUID derived from a format tag
/// (`{0000xxxx-0000-0010-8000-00AA00389B71}`), after the 4 bytes of the tag.
const KSDATAFORMAT_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// Streaming writers that cannot seek back put this in the RIFF and `data` sizes.
const SIZE_UNKNOWN: u32 = u32::MAX;

/// A decoded WAV file: the PCM and how it was encoded in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedWav {
    pub pcm: Pcm16,
    pub source: SourceEncoding,
}

#[derive(Debug, Clone, Copy)]
struct Fmt {
    encoding: SourceEncoding,
    channels: u16,
    sample_rate: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse_fmt(body: &[u8]) -> Result<Fmt, AudioError> {
    let short = || AudioError::Corrupt("fmt chunk is shorter than 16 bytes");
    let mut tag = u16_at(body, 0).ok_or_else(short)?;
    let channels = u16_at(body, 2).ok_or_else(short)?;
    let sample_rate = u32_at(body, 4).ok_or_else(short)?;
    let block_align = u16_at(body, 12).ok_or_else(short)?;
    let bits = u16_at(body, 14).ok_or_else(short)?;
    if tag == TAG_EXTENSIBLE {
        // cbSize (16), wValidBitsPerSample (18), dwChannelMask (20), SubFormat GUID (24..40).
        let guid = body.get(24..40).ok_or(AudioError::Corrupt(
            "WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes",
        ))?;
        if guid[2..4] != [0, 0] || guid[4..16] != KSDATAFORMAT_TAIL {
            return Err(AudioError::UnknownSubformat);
        }
        tag = u16::from_le_bytes([guid[0], guid[1]]);
        let valid_bits = u16_at(body, 18).unwrap_or(bits);
        if valid_bits > bits {
            return Err(AudioError::Corrupt(
                "valid bits per sample exceed the container size",
            ));
        }
    }
    let encoding = match tag {
        TAG_PCM => SourceEncoding::Pcm16,
        TAG_ALAW => SourceEncoding::ALaw,
        TAG_MULAW => SourceEncoding::MuLaw,
        other => return Err(AudioError::UnsupportedFormat { tag: other }),
    };
    let want_bits = 8 * encoding.bytes_per_sample() as u16;
    if bits != want_bits {
        return Err(AudioError::UnsupportedBits(bits));
    }
    check_channels(channels)?;
    check_rate(sample_rate)?;
    if usize::from(block_align) != usize::from(channels) * encoding.bytes_per_sample() {
        return Err(AudioError::Corrupt(
            "block align does not match channels × bytes per sample",
        ));
    }
    Ok(Fmt {
        encoding,
        channels,
        sample_rate,
    })
}

/// Decodes a RIFF/WAVE file with 16-bit PCM, A-law or μ-law samples (also as
/// WAVE_FORMAT_EXTENSIBLE), mono or stereo, 8000 to 48000 Hz.
///
/// Unknown chunks (`LIST`, `fact`, `cue `, …) are skipped. The RIFF size is not trusted (many
/// writers get it wrong); the `data` size must fit the input, except the streaming marker
/// `0xFFFFFFFF`, and a `data` size of 0 in a file whose RIFF size is 0 or `0xFFFFFFFF` too (a
/// recorder that stopped before patching its header): both mean "to the end of the file", whole
/// frames only. Otherwise the data must be whole sample frames.
pub fn decode_wav(bytes: &[u8]) -> Result<DecodedWav, AudioError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(AudioError::NotWav);
    }
    let riff_size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    // A writer that died before it could patch the header leaves both sizes at 0.
    let header_never_patched = riff_size == 0 || riff_size == SIZE_UNKNOWN;
    let mut fmt: Option<Fmt> = None;
    let mut pos = 12usize;
    loop {
        let Some(header) = bytes.get(pos..pos.saturating_add(8)) else {
            return Err(if fmt.is_some() {
                AudioError::Corrupt("no data chunk")
            } else {
                AudioError::Corrupt("no fmt chunk")
            });
        };
        let id = [header[0], header[1], header[2], header[3]];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body_start = pos + 8;
        let remaining = bytes.len() - body_start;
        if &id == b"data" {
            let Some(f) = fmt else {
                return Err(AudioError::Corrupt("data chunk comes before the fmt chunk"));
            };
            let len = if size == SIZE_UNKNOWN || (size == 0 && header_never_patched) {
                let block = usize::from(f.channels) * f.encoding.bytes_per_sample();
                remaining - remaining % block
            } else {
                let size =
                    usize::try_from(size).map_err(|_| AudioError::Truncated("data chunk"))?;
                if size > remaining {
                    return Err(AudioError::Truncated("the data chunk"));
                }
                size
            };
            return decode_data(f, &bytes[body_start..body_start + len]);
        }
        let size = usize::try_from(size).map_err(|_| AudioError::Truncated("a chunk"))?;
        if size > remaining {
            return Err(AudioError::Truncated(if &id == b"fmt " {
                "the fmt chunk"
            } else {
                "a chunk"
            }));
        }
        if &id == b"fmt " {
            if fmt.is_some() {
                return Err(AudioError::Corrupt("more than one fmt chunk"));
            }
            fmt = Some(parse_fmt(&bytes[body_start..body_start + size])?);
        }
        // Chunks are padded to an even length; a missing pad byte at the very end is tolerated.
        pos = body_start + size + (size & 1);
    }
}

fn decode_data(f: Fmt, data: &[u8]) -> Result<DecodedWav, AudioError> {
    let block = usize::from(f.channels) * f.encoding.bytes_per_sample();
    if data.len() % block != 0 {
        return Err(AudioError::Corrupt(
            "data chunk size is not a whole number of sample frames",
        ));
    }
    let samples = match f.encoding {
        SourceEncoding::Pcm16 => data
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
        SourceEncoding::MuLaw => g711::ulaw_decode_slice(data),
        SourceEncoding::ALaw => g711::alaw_decode_slice(data),
    };
    Ok(DecodedWav {
        pcm: Pcm16 {
            sample_rate: f.sample_rate,
            channels: f.channels,
            samples,
        },
        source: f.encoding,
    })
}

/// Encodes 16-bit PCM as a canonical 44-byte-header WAV file (for export and playback).
///
/// Only whole frames are written. Audio larger than 4 GiB gets the streaming size marker
/// `0xFFFFFFFF`, which [`decode_wav`] reads as "to the end of the file".
pub fn encode_wav(pcm: &Pcm16) -> Vec<u8> {
    encode_wav_as(pcm, SourceEncoding::Pcm16)
}

/// Encodes PCM as a WAV file in the given encoding: 16-bit PCM (tag 1), or μ-law (tag 7) / A-law
/// (tag 6) with the `fact` chunk non-PCM formats carry. G.711 is lossy unless the samples came
/// from G.711 (then it is bit-exact, see [`crate::g711`]).
pub fn encode_wav_as(pcm: &Pcm16, encoding: SourceEncoding) -> Vec<u8> {
    let channels = pcm.channels;
    let n = pcm.frames() * usize::from(channels);
    let samples = &pcm.samples[..n];
    let bps = encoding.bytes_per_sample();
    let data_len = n * bps;
    let is_pcm = encoding == SourceEncoding::Pcm16;
    let fmt_len: u32 = if is_pcm { 16 } else { 18 };
    let fact_len: usize = if is_pcm { 0 } else { 12 };
    let header_len = 12 + 8 + fmt_len as usize + fact_len + 8;
    let mut out = Vec::with_capacity(header_len + data_len + 1);
    let size32 = |n: usize| u32::try_from(n).unwrap_or(SIZE_UNKNOWN);
    let riff_len = header_len - 8 + data_len + (data_len & 1);

    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size32(riff_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&fmt_len.to_le_bytes());
    let tag = match encoding {
        SourceEncoding::Pcm16 => TAG_PCM,
        SourceEncoding::MuLaw => TAG_MULAW,
        SourceEncoding::ALaw => TAG_ALAW,
    };
    let block_align = u32::from(channels) * bps as u32;
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&pcm.sample_rate.to_le_bytes());
    out.extend_from_slice(&pcm.sample_rate.saturating_mul(block_align).to_le_bytes());
    out.extend_from_slice(&(block_align as u16).to_le_bytes());
    out.extend_from_slice(&(8 * bps as u16).to_le_bytes());
    if !is_pcm {
        out.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&size32(pcm.frames()).to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&size32(data_len).to_le_bytes());
    match encoding {
        SourceEncoding::Pcm16 => {
            for s in samples {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        SourceEncoding::MuLaw => g711::ulaw_encode_into(samples, &mut out),
        SourceEncoding::ALaw => g711::alaw_encode_into(samples, &mut out),
    }
    if data_len & 1 == 1 {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(rate: u32, ch: u16, samples: Vec<i16>) -> Pcm16 {
        Pcm16::new(rate, ch, samples)
    }

    #[test]
    fn pcm_round_trip() {
        let p = pcm(16_000, 2, vec![0, 1, -1, i16::MAX, i16::MIN, 1234]);
        let w = encode_wav(&p);
        assert_eq!(w.len(), 44 + 12);
        let d = decode_wav(&w).unwrap();
        assert_eq!(d.pcm, p);
        assert_eq!(d.source, SourceEncoding::Pcm16);
    }

    #[test]
    fn g711_round_trip_is_exact_for_g711_samples() {
        let mu: Vec<i16> = (0..=255u8).map(g711::ulaw_decode).collect();
        let p = pcm(8000, 1, mu);
        let w = encode_wav_as(&p, SourceEncoding::MuLaw);
        assert_eq!(w.len() % 2, 0);
        let d = decode_wav(&w).unwrap();
        assert_eq!((d.pcm, d.source), (p, SourceEncoding::MuLaw));
        let a: Vec<i16> = (0..=255u8).map(g711::alaw_decode).collect();
        let p = pcm(8000, 2, a);
        let d = decode_wav(&encode_wav_as(&p, SourceEncoding::ALaw)).unwrap();
        assert_eq!((d.pcm, d.source), (p, SourceEncoding::ALaw));
    }

    #[test]
    fn odd_g711_data_gets_pad_byte() {
        let p = pcm(8000, 1, vec![0, 100, 200]);
        let w = encode_wav_as(&p, SourceEncoding::MuLaw);
        assert_eq!(w.len() % 2, 0);
        assert_eq!(decode_wav(&w).unwrap().pcm.samples.len(), 3);
    }

    fn extensible(sub_tag: u16, bits: u16, tail: [u8; 12]) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&TAG_EXTENSIBLE.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&(8000u32 * u32::from(bits / 8)).to_le_bytes());
        fmt.extend_from_slice(&(bits / 8).to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&4u32.to_le_bytes());
        fmt.extend_from_slice(&u32::from(sub_tag).to_le_bytes());
        fmt.extend_from_slice(&tail);
        let data: Vec<u8> = vec![0xFF, 0x7F, 0x00, 0x80];
        let mut w = Vec::new();
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(4 + 8 + 40 + 8 + 4u32).to_le_bytes());
        w.extend_from_slice(b"WAVE");
        w.extend_from_slice(b"fmt ");
        w.extend_from_slice(&40u32.to_le_bytes());
        w.extend_from_slice(&fmt);
        w.extend_from_slice(b"data");
        w.extend_from_slice(&4u32.to_le_bytes());
        w.extend_from_slice(&data);
        w
    }

    #[test]
    fn extensible_subformats() {
        let d = decode_wav(&extensible(TAG_MULAW, 8, KSDATAFORMAT_TAIL)).unwrap();
        assert_eq!(d.source, SourceEncoding::MuLaw);
        assert_eq!(d.pcm.samples, vec![0, -1, -32124, 32124]);
        let d = decode_wav(&extensible(TAG_PCM, 16, KSDATAFORMAT_TAIL)).unwrap();
        assert_eq!(d.source, SourceEncoding::Pcm16);
        assert_eq!(d.pcm.samples, vec![0x7FFF, -32768]);
        assert_eq!(
            decode_wav(&extensible(3, 32, KSDATAFORMAT_TAIL)),
            Err(AudioError::UnsupportedFormat { tag: 3 })
        );
        let mut bad = KSDATAFORMAT_TAIL;
        bad[11] ^= 1;
        assert_eq!(
            decode_wav(&extensible(TAG_PCM, 16, bad)),
            Err(AudioError::UnknownSubformat)
        );
    }

    #[test]
    fn skips_unknown_chunks_and_odd_padding() {
        let p = pcm(8000, 1, vec![1, 2, 3]);
        let w = encode_wav(&p);
        let mut x = w[..12].to_vec();
        x.extend_from_slice(b"LIST");
        x.extend_from_slice(&3u32.to_le_bytes());
        x.extend_from_slice(b"abc\0");
        x.extend_from_slice(&w[12..]);
        assert_eq!(decode_wav(&x).unwrap().pcm, p);
    }

    #[test]
    fn streaming_size_marker_reads_to_end() {
        let p = pcm(8000, 2, vec![1, 2, 3, 4]);
        let mut w = encode_wav(&p);
        w[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        w.push(9); // a partial trailing frame is dropped
        assert_eq!(decode_wav(&w).unwrap().pcm, p);
    }

    #[test]
    fn unpatched_header_reads_to_end() {
        let p = pcm(8000, 1, vec![5, 6, 7]);
        let mut w = encode_wav(&p);
        w[4..8].copy_from_slice(&0u32.to_le_bytes());
        w[40..44].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(decode_wav(&w).unwrap().pcm, p);
        // With a patched RIFF size, a 0-byte data chunk is just empty.
        let mut w = encode_wav(&p);
        w[40..44].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(decode_wav(&w).unwrap().pcm.samples.len(), 0);
    }

    #[test]
    fn errors() {
        let p = pcm(8000, 1, vec![1, 2, 3, 4]);
        let w = encode_wav(&p);
        assert_eq!(decode_wav(b""), Err(AudioError::NotWav));
        assert_eq!(decode_wav(b"RIFF\0\0\0\0WAVX"), Err(AudioError::NotWav));
        assert_eq!(
            decode_wav(&w[..12]),
            Err(AudioError::Corrupt("no fmt chunk"))
        );
        assert_eq!(
            decode_wav(&w[..36]),
            Err(AudioError::Corrupt("no data chunk"))
        );
        assert_eq!(
            decode_wav(&w[..30]),
            Err(AudioError::Truncated("the fmt chunk"))
        );
        assert_eq!(
            decode_wav(&w[..w.len() - 1]),
            Err(AudioError::Truncated("the data chunk"))
        );
        let mut x = w.clone();
        x[40..44].copy_from_slice(&7u32.to_le_bytes());
        assert!(matches!(decode_wav(&x), Err(AudioError::Corrupt(_))));
        let mut x = w.clone();
        x[24..28].copy_from_slice(&96_000u32.to_le_bytes());
        assert_eq!(decode_wav(&x), Err(AudioError::BadSampleRate(96_000)));
        let mut x = w.clone();
        x[22..24].copy_from_slice(&6u16.to_le_bytes());
        assert_eq!(decode_wav(&x), Err(AudioError::BadChannels(6)));
        let mut x = w.clone();
        x[34..36].copy_from_slice(&24u16.to_le_bytes());
        assert_eq!(decode_wav(&x), Err(AudioError::UnsupportedBits(24)));
        let mut x = w.clone();
        x[20..22].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            decode_wav(&x),
            Err(AudioError::UnsupportedFormat { tag: 3 })
        );
        let mut x = w.clone();
        x[32..34].copy_from_slice(&4u16.to_le_bytes());
        assert!(matches!(decode_wav(&x), Err(AudioError::Corrupt(_))));
        let mut x = w.clone();
        x[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_wav(&x), Err(AudioError::Truncated("the fmt chunk")));
    }

    #[test]
    fn error_messages_say_what_is_supported() {
        let m = AudioError::UnsupportedFormat { tag: 0x55 }.to_string();
        assert!(m.contains("0x0055") && m.contains("μ-law"), "{m}");
        assert!(AudioError::BadSampleRate(5)
            .to_string()
            .contains("8000 to 48000"));
    }
}
