#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_ingest::proto::native;

fuzz_target!(|data: &[u8]| {
    let _ = native::parse_binary(data, 64 * 1024);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = native::parse_text(s);
    }
});
