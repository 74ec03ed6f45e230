//! The fuzzer's seed corpus stays valid input; the archive seeds were written by the reference
//! `zstd` command-line tool, so they also show the archive is readable by other zstd writers.

use sotto_audio::{archive, decode_wav};

#[test]
fn fuzz_seeds_decode() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/seeds/wav_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".wav") {
            decode_wav(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if name.ends_with(".sota") {
            let p = archive::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(p.frames() > 0, "{name}");
        }
        n += 1;
    }
    assert!(n >= 7);
}
