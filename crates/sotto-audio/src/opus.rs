//! Opus in Ogg (RFC 6716, RFC 7845): the compact, lossy archive encoding a tenant's policy may
//! choose instead of the lossless G.711/PCM + zstd original.
//!
//! The codec is `opus-rs` (pure Rust, a port of libopus 1.6); the container is written with the
//! `ogg` crate: an `OpusHead` page, an `OpusTags` page, then 20 ms audio packets, granule
//! positions in 48 kHz samples counted from the start of the pre-skip, the last page's granule
//! trimming the padding of the last frame. The stream is a standard `.opus` file.
//!
//! Rates Opus does not code (e.g. 44.1 kHz, 22.05 kHz, 32 kHz) are resampled up to the next rate
//! it does, and back on decoding, so a decoded archive has the frame count and rate it was made
//! with — silenced intervals stay where they were.

use crate::pcm::Pcm16;
use crate::resample::resample;
use crate::AudioError;
use std::io::Cursor;

/// The bit rate [`encode_ogg_opus`] uses when a policy names none: 20 kbit/s, the middle of the
/// 16–24 kbit/s band that keeps telephone speech transparent to a listener at about a third of
/// the lossless archive's size.
pub const DEFAULT_BITRATE_BPS: u32 = 20_000;
/// Bit rates a policy may choose.
pub const BITRATE_RANGE: std::ops::RangeInclusive<u32> = 6_000..=64_000;
/// Samples per channel the encoder looks ahead, at 48 kHz (libopus: 2.5 ms + 4 ms for the VoIP
/// and audio applications). Written as the stream's pre-skip; the decoder drops them.
pub const PRE_SKIP_48K: u16 = 312;
/// The Ogg stream serial number (one logical stream per file; any value is valid).
const SERIAL: u32 = 0x534f_5441; // "SOTA"
/// 20 ms frames: the usual packet size for speech.
const FRAME_MS: usize = 20;
/// Largest Opus packet (RFC 6716 §3.2.1: 1275 bytes per frame).
const MAX_PACKET: usize = 1275;

/// Sample rates the Opus coder takes and gives directly.
const OPUS_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

/// The rate audio at `rate` is coded at: itself when Opus codes it, else the next higher one.
pub fn coded_rate(rate: u32) -> u32 {
    OPUS_RATES
        .into_iter()
        .find(|r| *r >= rate)
        .unwrap_or(48_000)
}

fn codec_err(what: &str, e: &str) -> AudioError {
    AudioError::Archive(format!("opus {what}: {e}"))
}

/// Encodes PCM as an Ogg Opus stream at `bitrate_bps` (see [`BITRATE_RANGE`]).
pub fn encode_ogg_opus(pcm: &Pcm16, bitrate_bps: u32) -> Result<Vec<u8>, AudioError> {
    pcm.validate()?;
    if !BITRATE_RANGE.contains(&bitrate_bps) {
        return Err(AudioError::Archive(format!(
            "opus bit rate {bitrate_bps} bit/s is outside {}..={}",
            BITRATE_RANGE.start(),
            BITRATE_RANGE.end()
        )));
    }
    let rate = coded_rate(pcm.sample_rate);
    let coded;
    let input = if rate == pcm.sample_rate {
        pcm
    } else {
        coded = resample(pcm, rate)?;
        &coded
    };
    let channels = usize::from(input.channels);
    let mut enc = opus_rs::OpusEncoder::new(rate as i32, channels, opus_rs::Application::Voip)
        .map_err(|e| codec_err("encoder", e))?;
    enc.bitrate_bps = bitrate_bps as i32;
    // constant bit rate: archive sizes a policy can plan storage with
    enc.use_cbr = true;
    enc.complexity = 5;

    let frame = rate as usize * FRAME_MS / 1000;
    let per_48k = 48_000 / rate as u64;
    let total = input.frames() as u64;
    let mut w = ogg::PacketWriter::new(Cursor::new(Vec::with_capacity(
        (total as usize / rate as usize + 1) * bitrate_bps as usize / 8 + 256,
    )));
    let werr = |e: std::io::Error| AudioError::Archive(format!("ogg writing failed: {e}"));
    w.write_packet(
        opus_head(input.channels as u8, pcm.sample_rate),
        SERIAL,
        ogg::PacketWriteEndInfo::EndPage,
        0,
    )
    .map_err(werr)?;
    w.write_packet(opus_tags(), SERIAL, ogg::PacketWriteEndInfo::EndPage, 0)
        .map_err(werr)?;

    let mut buf = vec![0i16; frame * channels];
    let mut packet = vec![0u8; MAX_PACKET * 2];
    // enough frames to cover the encoder's look-ahead too, so the decoder (which drops the
    // pre-skip) gets every sample back
    let lookahead = usize::from(PRE_SKIP_48K) / per_48k as usize;
    let frames_total = (total as usize + lookahead).div_ceil(frame).max(1);
    let end_granule = u64::from(PRE_SKIP_48K) + total * per_48k;
    for i in 0..frames_total {
        let from = i * frame * channels;
        let to = ((i + 1) * frame * channels).min(input.samples.len());
        buf.fill(0);
        if from < to {
            buf[..to - from].copy_from_slice(&input.samples[from..to]);
        }
        let n = enc
            .encode_i16(&buf, frame, &mut packet)
            .map_err(|e| codec_err("encoding", e))?;
        let last = i + 1 == frames_total;
        let granule = if last {
            end_granule
        } else {
            u64::from(PRE_SKIP_48K) + ((i + 1) * frame) as u64 * per_48k
        };
        let info = if last {
            ogg::PacketWriteEndInfo::EndStream
        } else if (i + 1) % 50 == 0 {
            // one page a second keeps seeking granular and pages small
            ogg::PacketWriteEndInfo::EndPage
        } else {
            ogg::PacketWriteEndInfo::NormalPacket
        };
        w.write_packet(packet[..n].to_vec(), SERIAL, info, granule)
            .map_err(werr)?;
    }
    Ok(w.into_inner().into_inner())
}

/// RFC 7845 §5.1 identification header.
fn opus_head(channels: u8, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(channels);
    h.extend_from_slice(&PRE_SKIP_48K.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // channel mapping family 0: mono or stereo
    h
}

/// RFC 7845 §5.2 comment header: vendor string, no comments (nothing about the call).
fn opus_tags() -> Vec<u8> {
    let vendor = b"sotto";
    let mut t = Vec::with_capacity(8 + 4 + vendor.len() + 4);
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor);
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

/// What an Ogg Opus stream's identification header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u16,
    pub pre_skip_48k: u16,
    pub input_rate: u32,
}

fn parse_head(p: &[u8]) -> Result<OpusHead, AudioError> {
    if p.len() < 19 || &p[..8] != b"OpusHead" {
        return Err(AudioError::Corrupt(
            "the Ogg stream does not start with OpusHead",
        ));
    }
    if p[8] >> 4 != 0 {
        return Err(AudioError::Archive(format!(
            "Ogg Opus version {} is not supported",
            p[8]
        )));
    }
    let channels = u16::from(p[9]);
    if !(1..=2).contains(&channels) || p[18] != 0 {
        return Err(AudioError::Archive(
            "only mono and stereo Ogg Opus (mapping family 0) are supported".into(),
        ));
    }
    Ok(OpusHead {
        channels,
        pre_skip_48k: u16::from_le_bytes([p[10], p[11]]),
        input_rate: u32::from_le_bytes([p[12], p[13], p[14], p[15]]),
    })
}

/// Decodes an Ogg Opus stream to PCM at `rate` (the rate it was made from), at most
/// `max_frames` frames per channel. The pre-skip is dropped and the end trimmed to the last
/// page's granule position. Damage — a bad page checksum, a missing header, a packet the
/// decoder refuses — is an error.
pub fn decode_ogg_opus(bytes: &[u8], rate: u32, max_frames: u64) -> Result<Pcm16, AudioError> {
    let rerr = |e: ogg::OggReadError| AudioError::Archive(format!("damaged Ogg stream: {e}"));
    let mut r = ogg::PacketReader::new(Cursor::new(bytes));
    let head = r
        .read_packet()
        .map_err(rerr)?
        .ok_or(AudioError::Truncated("the Ogg Opus identification header"))?;
    let head = parse_head(&head.data)?;
    let tags = r
        .read_packet()
        .map_err(rerr)?
        .ok_or(AudioError::Truncated("the Ogg Opus comment header"))?;
    if tags.data.get(..8) != Some(b"OpusTags".as_slice()) {
        return Err(AudioError::Corrupt(
            "the Ogg Opus comment header is missing",
        ));
    }
    let coded = coded_rate(rate);
    let channels = usize::from(head.channels);
    let mut dec =
        opus_rs::OpusDecoder::new(coded as i32, channels).map_err(|e| codec_err("decoder", e))?;
    let per_48k = u64::from(48_000 / coded);
    let skip = (u64::from(head.pre_skip_48k) / per_48k) as usize;
    // frames at the coded rate the result may hold (+ the pre-skip)
    let max_packet_frames = coded as usize * 120 / 1000;
    // the last packet may run past the end (padding): allow one packet more
    let max_coded = max_frames
        .saturating_mul(u64::from(coded))
        .div_ceil(u64::from(rate.max(1)))
        .saturating_add(skip as u64)
        .saturating_add(max_packet_frames as u64);
    let mut out: Vec<i16> = Vec::new();
    let mut fbuf = vec![0f32; max_packet_frames * channels];
    let mut end_granule = None;
    while let Some(p) = r.read_packet().map_err(rerr)? {
        if p.data.is_empty() {
            continue;
        }
        let n = dec
            .decode(&p.data, max_packet_frames, &mut fbuf)
            .map_err(|e| codec_err("decoding", e))?;
        if (out.len() / channels) as u64 + n as u64 > max_coded {
            return Err(AudioError::TooLarge {
                declared: (out.len() / channels + n) as u64,
                limit: max_coded,
            });
        }
        out.extend(
            fbuf[..n * channels]
                .iter()
                .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
        if p.last_in_stream() {
            end_granule = Some(p.absgp_page());
            break;
        }
    }
    let end = match end_granule {
        Some(g) => (g / per_48k) as usize,
        None => return Err(AudioError::Truncated("the Ogg Opus stream (no last page)")),
    };
    let end = end.min(out.len() / channels);
    if skip > end {
        return Err(AudioError::Corrupt("Ogg Opus pre-skip exceeds the stream"));
    }
    let samples = out[skip * channels..end * channels].to_vec();
    let decoded = Pcm16::new(coded, head.channels, samples);
    if coded == rate {
        Ok(decoded)
    } else {
        resample(&decoded, rate)
    }
}

/// Reads the identification header of an Ogg Opus stream.
pub fn inspect_ogg_opus(bytes: &[u8]) -> Result<OpusHead, AudioError> {
    let mut r = ogg::PacketReader::new(Cursor::new(bytes));
    let head = r
        .read_packet()
        .map_err(|e| AudioError::Archive(format!("damaged Ogg stream: {e}")))?
        .ok_or(AudioError::Truncated("the Ogg Opus identification header"))?;
    parse_head(&head.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::rms_dbfs;

    fn speechish(rate: u32, ms: u64) -> Pcm16 {
        let n = (u64::from(rate) * ms / 1000) as usize;
        let samples = (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                let env = (t * 3.0 * std::f64::consts::PI).sin().abs();
                let w = 2.0 * std::f64::consts::PI * 190.0 * t;
                // a voiced-speech-like spectrum: a fundamental and falling harmonics
                (env * 7000.0
                    * (w.sin()
                        + 0.5 * (2.0 * w).sin()
                        + 0.3 * (3.0 * w).sin()
                        + 0.2 * (5.0 * w).sin())) as i16
            })
            .collect();
        Pcm16::new(rate, 1, samples)
    }

    #[test]
    fn round_trip_keeps_length_rate_and_level() {
        for rate in [8_000, 16_000, 44_100] {
            let pcm = speechish(rate, 3_000);
            let ogg = encode_ogg_opus(&pcm, DEFAULT_BITRATE_BPS).unwrap();
            assert_eq!(&ogg[..4], b"OggS");
            let kbps = ogg.len() as f64 * 8.0 / 3.0 / 1000.0;
            assert!(kbps < 26.0, "{rate} Hz: {kbps:.1} kbit/s");
            let back = decode_ogg_opus(&ogg, rate, u64::MAX).unwrap();
            assert_eq!(back.sample_rate, rate);
            assert_eq!(back.frames(), pcm.frames(), "{rate} Hz");
            let (a, b) = (rms_dbfs(&pcm, 200, 2_800), rms_dbfs(&back, 200, 2_800));
            assert!((a - b).abs() < 2.0, "{rate} Hz: {a:.1} vs {b:.1} dBFS");
        }
    }

    #[test]
    fn decoded_audio_is_time_aligned() {
        // A burst from 1000 to 1200 ms in silence: the decoded energy must sit there too, or
        // silenced card-number intervals would move.
        let rate = 8_000;
        let mut pcm = Pcm16::new(rate, 1, vec![0; 16_000]);
        for i in 8_000..9_600 {
            pcm.samples[i] = ((i as f64 * 0.7).sin() * 12_000.0) as i16;
        }
        let back =
            decode_ogg_opus(&encode_ogg_opus(&pcm, 24_000).unwrap(), rate, u64::MAX).unwrap();
        assert!(rms_dbfs(&back, 1_020, 1_180) > -30.0);
        assert!(rms_dbfs(&back, 0, 980) < -60.0, "before the burst");
        assert!(rms_dbfs(&back, 1_230, 2_000) < -60.0, "after the burst");
    }

    #[test]
    fn stereo_and_empty() {
        let l = speechish(8_000, 1_000).samples;
        let r: Vec<i16> = l.iter().map(|s| s / 2).collect();
        let pcm = Pcm16::from_tracks(8_000, &l, &r);
        let back =
            decode_ogg_opus(&encode_ogg_opus(&pcm, 24_000).unwrap(), 8_000, u64::MAX).unwrap();
        assert_eq!(back.channels, 2);
        assert_eq!(back.frames(), pcm.frames());
        let empty = Pcm16::new(8_000, 1, vec![]);
        let back = decode_ogg_opus(&encode_ogg_opus(&empty, 16_000).unwrap(), 8_000, 10).unwrap();
        assert_eq!(back.frames(), 0);
    }

    #[test]
    fn refuses_bad_input() {
        let pcm = speechish(8_000, 1_000);
        assert!(encode_ogg_opus(&pcm, 1_000).is_err());
        let ogg = encode_ogg_opus(&pcm, 16_000).unwrap();
        assert!(decode_ogg_opus(&ogg[..ogg.len() / 2], 8_000, u64::MAX).is_err());
        assert!(decode_ogg_opus(b"OggS", 8_000, u64::MAX).is_err());
        assert!(matches!(
            decode_ogg_opus(&ogg, 8_000, 100),
            Err(AudioError::TooLarge { .. })
        ));
        let mut x = ogg.clone();
        let mid = x.len() / 2;
        x[mid] ^= 0x55;
        assert!(decode_ogg_opus(&x, 8_000, u64::MAX).is_err(), "page CRC");
        assert_eq!(inspect_ogg_opus(&ogg).unwrap().channels, 1);
    }
}
