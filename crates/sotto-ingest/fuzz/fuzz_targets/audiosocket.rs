#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_ingest::proto::audiosocket;

fuzz_target!(|data: &[u8]| {
    // a stream of messages, parsed the way the TCP transport does
    let mut off = 0;
    while let Ok(Some((_, used))) = audiosocket::parse(&data[off..], 3200) {
        assert!(used >= audiosocket::HEADER_LEN && off + used <= data.len());
        off += used;
    }
});
