//! Property tests over the public API.

use proptest::prelude::*;
use sotto_audio::archive::{self, codec_for_source, ArchiveCodec};
use sotto_audio::g711::{self, alaw_step, ulaw_step};
use sotto_audio::{
    decode_wav, encode_wav, encode_wav_as, rms_dbfs, silence_intervals, Pcm16, SourceEncoding,
};

fn rate() -> impl Strategy<Value = u32> {
    prop_oneof![Just(8000u32), Just(16_000), Just(48_000), 8000u32..=48_000]
}

/// Arbitrary valid PCM: rate, mono/stereo, whole frames.
fn pcm() -> impl Strategy<Value = Pcm16> {
    (rate(), 1u16..=2, 0usize..600).prop_flat_map(|(r, c, frames)| {
        prop::collection::vec(any::<i16>(), frames * usize::from(c))
            .prop_map(move |s| Pcm16::new(r, c, s))
    })
}

/// PCM as decoded from a G.711 source: (the wire bytes, the law, the PCM).
fn g711_source() -> impl Strategy<Value = (Vec<u8>, SourceEncoding, Pcm16)> {
    (rate(), 1u16..=2, 0usize..800, prop::bool::ANY).prop_flat_map(|(r, c, frames, mu)| {
        prop::collection::vec(any::<u8>(), frames * usize::from(c)).prop_map(move |bytes| {
            let (law, samples) = if mu {
                (SourceEncoding::MuLaw, g711::ulaw_decode_slice(&bytes))
            } else {
                (SourceEncoding::ALaw, g711::alaw_decode_slice(&bytes))
            };
            (bytes, law, Pcm16::new(r, c, samples))
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ulaw_error_within_quantisation_step(x in any::<i16>()) {
        let b = g711::ulaw_encode(x);
        let err = (i32::from(g711::ulaw_decode(b)) - i32::from(x)).abs();
        prop_assert!(err <= ulaw_step(b), "x={x} code={b:#04x} err={err}");
    }

    #[test]
    fn alaw_error_within_quantisation_step(x in any::<i16>()) {
        let b = g711::alaw_encode(x);
        let err = (i32::from(g711::alaw_decode(b)) - i32::from(x)).abs();
        prop_assert!(err <= alaw_step(b), "x={x} code={b:#04x} err={err}");
    }

    #[test]
    fn g711_codes_survive_decode_encode(b in any::<u8>()) {
        prop_assert_eq!(g711::ulaw_encode(g711::ulaw_decode(b)), b);
        prop_assert_eq!(g711::alaw_encode(g711::alaw_decode(b)), b);
    }

    #[test]
    fn wav_round_trip(p in pcm()) {
        let d = decode_wav(&encode_wav(&p)).unwrap();
        prop_assert_eq!(d.source, SourceEncoding::Pcm16);
        prop_assert_eq!(d.pcm, p);
    }

    #[test]
    fn g711_wav_round_trip_bit_exact((bytes, law, p) in g711_source()) {
        let w = encode_wav_as(&p, law);
        let d = decode_wav(&w).unwrap();
        prop_assert_eq!(d.source, law);
        prop_assert_eq!(&d.pcm, &p);
        // The data chunk holds exactly the original bytes.
        let at = w.windows(4).position(|x| x == b"data").unwrap() + 8;
        prop_assert_eq!(&w[at..at + bytes.len()], &bytes[..]);
    }

    #[test]
    fn archive_bit_exact_for_g711_sources((bytes, law, p) in g711_source()) {
        let a = archive::encode(&p, codec_for_source(law)).unwrap();
        prop_assert_eq!(archive::decode(&a).unwrap(), p.clone());
        let (h, payload) = archive::decode_payload(&a).unwrap();
        prop_assert_eq!(payload, bytes.clone());
        prop_assert_eq!(h.frames as usize, p.frames());
        let b = archive::encode_g711(&bytes, law, p.sample_rate, p.channels).unwrap();
        prop_assert_eq!(archive::decode(&b).unwrap(), p);
    }

    #[test]
    fn archive_pcm16_round_trip(p in pcm()) {
        let a = archive::encode(&p, ArchiveCodec::Pcm16Zstd).unwrap();
        prop_assert_eq!(archive::decode(&a).unwrap(), p);
    }

    #[test]
    fn silence_is_silent_and_leaves_the_rest_alone(
        p in pcm(),
        intervals in prop::collection::vec((0u64..120, 0u64..120), 0..4),
        padding in 0u64..20,
    ) {
        let mut q = p.clone();
        let n = silence_intervals(&mut q, &intervals, padding);
        let ch = usize::from(p.channels);
        let rate = u64::from(p.sample_rate);
        let frames = p.frames();
        let mut inside = vec![false; frames];
        for &(s, e) in &intervals {
            if e <= s { continue; }
            let a = (s.saturating_sub(padding) * rate / 1000) as usize;
            let b = ((e + padding) * rate).div_ceil(1000) as usize;
            for f in inside.iter_mut().take(b.min(frames)).skip(a.min(frames)) { *f = true; }
            prop_assert!(rms_dbfs(&q, s, e) <= -60.0);
        }
        let mut count = 0u64;
        for (f, &silenced) in inside.iter().enumerate() {
            let (o, r) = (&p.samples[f * ch..(f + 1) * ch], &q.samples[f * ch..(f + 1) * ch]);
            if silenced {
                count += ch as u64;
                prop_assert!(r.iter().all(|&x| x == 0));
            } else {
                prop_assert_eq!(o, r, "frame {} changed", f);
            }
        }
        prop_assert_eq!(n, count);
    }

    /// A poor man's fuzzer: arbitrary bytes, and damaged valid files, never panic.
    #[test]
    fn hostile_input_never_panics(junk in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_wav(&junk);
        let _ = archive::decode(&junk);
        let mut wav = b"RIFF\0\0\0\0WAVE".to_vec();
        wav.extend_from_slice(&junk);
        let _ = decode_wav(&wav);
        let mut arc = b"SOTA\x01".to_vec();
        arc.extend_from_slice(&junk);
        let _ = archive::decode(&arc);
    }

    #[test]
    fn damaged_files_error_or_decode(
        (_, law, p) in g711_source(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let codec = codec_for_source(law);
        for good in [encode_wav_as(&p, law), archive::encode(&p, codec).unwrap()] {
            let _ = decode_wav(&good[..cut.index(good.len())]);
            let _ = archive::decode(&good[..cut.index(good.len())]);
            let mut bad = good.clone();
            for (i, x) in &flips {
                let i = i.index(bad.len());
                bad[i] ^= x;
            }
            if let Ok(d) = decode_wav(&bad) {
                prop_assert!(d.pcm.samples.len() <= bad.len());
            }
            let _ = archive::decode(&bad);
        }
    }
}
