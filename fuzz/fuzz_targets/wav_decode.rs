//! Arbitrary bytes into the two parsers that see outside input: `decode_wav` (uploads) and
//! `archive::decode` (stored recordings). Neither may panic, allocate more than the input
//! justifies, or return PCM that breaks its own invariants.
//!
//! Run (from the repository root; `fuzz/seeds/` holds valid WAV files and archives to start from):
//! `cargo +nightly fuzz run wav_decode fuzz/corpus/wav_decode fuzz/seeds/wav_decode -- -dict=fuzz/wav.dict`
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_audio::{archive, decode_wav, encode_wav_as};

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = decode_wav(data) {
        // Every sample came from the input: at most one sample per input byte.
        assert!(w.pcm.samples.len() <= data.len());
        assert!(w.pcm.validate().is_ok());
        // What we decoded re-encodes, in its own encoding, to a file that decodes identically.
        let again = decode_wav(&encode_wav_as(&w.pcm, w.source));
        assert_eq!(again.map(|d| d.pcm).as_ref(), Ok(&w.pcm));
    }
    // zstd legitimately expands digital silence ~30 000-fold; cap what one input may decode to.
    if let Ok(p) = archive::decode_limited(data, 16 << 20) {
        assert!(p.validate().is_ok());
        let codec = archive::inspect(data).map(|h| h.codec);
        // A decoded archive re-archives to the same PCM.
        if let Ok(codec) = codec {
            let re = archive::encode(&p, codec).and_then(|a| archive::decode(&a));
            assert_eq!(re.as_ref(), Ok(&p));
        }
    }
});
