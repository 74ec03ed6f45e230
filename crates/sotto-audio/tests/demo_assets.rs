//! The demo calls `sotto demo` embeds: they decode, they are what the README says, and their
//! transcript timings point at speech.

use sotto_audio::archive::{self, codec_for_source};
use sotto_audio::{decode_wav, rms_dbfs, SourceEncoding};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sotto/assets/demo");

#[test]
fn demo_calls_decode_and_their_timings_point_at_speech() {
    let mut total_bytes = 0;
    for i in 1..=5 {
        let wav = std::fs::read(format!("{DIR}/call{i}.wav")).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{DIR}/call{i}.json")).unwrap()).unwrap();
        total_bytes += wav.len();
        let d = decode_wav(&wav).unwrap();
        assert_eq!(d.source, SourceEncoding::MuLaw, "call{i}");
        assert_eq!((d.pcm.sample_rate, d.pcm.channels), (8000, 1), "call{i}");
        let dur = d.pcm.duration_ms();
        assert!((10_000..=25_000).contains(&dur), "call{i}: {dur} ms");

        let segs = json["segments"].as_array().unwrap();
        assert!(segs.len() >= 4, "call{i}");
        let mut prev_end = 0;
        for s in segs {
            let (a, b) = (
                s["start_ms"].as_u64().unwrap(),
                s["end_ms"].as_u64().unwrap(),
            );
            assert!(
                prev_end <= a && a < b && b <= dur,
                "call{i}: segment {a}..{b}"
            );
            assert!(
                rms_dbfs(&d.pcm, a, b) > -40.0,
                "call{i}: no speech in {a}..{b}"
            );
            // The pause before each turn is digital silence.
            assert!(
                rms_dbfs(&d.pcm, a.saturating_sub(150), a) < -60.0,
                "call{i}: noise before {a}"
            );
            for w in s["words"].as_array().unwrap() {
                let (wa, wb) = (
                    w["start_ms"].as_u64().unwrap(),
                    w["end_ms"].as_u64().unwrap(),
                );
                assert!(
                    a <= wa && wa <= wb && wb <= b,
                    "call{i}: word outside its segment"
                );
            }
            prev_end = b;
        }

        let a = archive::encode(&d.pcm, codec_for_source(d.source)).unwrap();
        assert_eq!(archive::decode(&a).unwrap(), d.pcm, "call{i}");
        assert!(
            a.len() < wav.len(),
            "call{i}: archive is not smaller than G.711"
        );
    }
    assert!(total_bytes < 1_400_000);
}
