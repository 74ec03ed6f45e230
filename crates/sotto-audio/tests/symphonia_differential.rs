//! Our hand-written WAV decoder against symphonia's, on files both should read.
#![allow(clippy::unwrap_used)] // a test helper: a failure here is a failed test

use sotto_audio::{decode_wav, encode_wav, encode_wav_as, g711, Pcm16, SourceEncoding};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

fn symphonia_decode(bytes: &[u8]) -> (u32, usize, Vec<i16>) {
    let mss = MediaSourceStream::new(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        Default::default(),
    );
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap().clone();
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .unwrap();
    let mut out = Vec::new();
    while let Ok(packet) = format.next_packet() {
        let buf = dec.decode(&packet).unwrap();
        let mut sb = SampleBuffer::<i16>::new(buf.capacity() as u64, *buf.spec());
        sb.copy_interleaved_ref(buf);
        out.extend_from_slice(sb.samples());
    }
    let rate = track.codec_params.sample_rate.unwrap();
    let ch = track.codec_params.channels.unwrap().count();
    (rate, ch, out)
}

#[test]
fn pcm16_matches_symphonia_exactly() {
    let samples: Vec<i16> = (0..20_000)
        .map(|i: i32| ((i * 7919) % 65_536 - 32_768) as i16)
        .collect();
    let p = Pcm16::new(16_000, 2, samples);
    let w = encode_wav(&p);
    let (rate, ch, s) = symphonia_decode(&w);
    assert_eq!((rate, ch), (16_000, 2));
    assert_eq!(s, decode_wav(&w).unwrap().pcm.samples);
}

#[test]
fn g711_matches_symphonia_on_every_code() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    for law in [SourceEncoding::MuLaw, SourceEncoding::ALaw] {
        let p = Pcm16::new(
            8000,
            1,
            match law {
                SourceEncoding::MuLaw => g711::ulaw_decode_slice(&bytes),
                _ => g711::alaw_decode_slice(&bytes),
            },
        );
        let w = encode_wav_as(&p, law);
        let (_, _, theirs) = symphonia_decode(&w);
        let ours = decode_wav(&w).unwrap().pcm.samples;
        assert_eq!(theirs.len(), ours.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            // The one deliberate difference: μ-law 0x7F ("negative zero") decodes to −1 here.
            let allowed = if law == SourceEncoding::MuLaw && bytes[i] == 0x7F {
                1
            } else {
                0
            };
            assert!(
                (i32::from(*a) - i32::from(*b)).abs() <= allowed,
                "{law} code {:#04x}: ours {a} theirs {b}",
                bytes[i]
            );
        }
    }
}

#[test]
fn demo_call_matches_symphonia() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sotto/assets/demo/call1.wav"
    );
    let w = std::fs::read(path).unwrap();
    let (rate, ch, theirs) = symphonia_decode(&w);
    let ours = decode_wav(&w).unwrap().pcm;
    assert_eq!((rate, ch), (ours.sample_rate, usize::from(ours.channels)));
    assert_eq!(theirs.len(), ours.samples.len());
    assert!(ours
        .samples
        .iter()
        .zip(&theirs)
        .all(|(a, b)| (a - b).abs() <= 1));
}
