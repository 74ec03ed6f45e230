#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_ingest::proto::audiohook;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = audiohook::parse_duration_ms(s);
        if let Ok(m) = audiohook::parse(s) {
            if let Ok(o) = audiohook::offers(&m) {
                let _ = audiohook::choose_media(&o);
            }
        }
        // signature headers from fuzz input: never panics, never verifies
        let mut parts = s.splitn(2, '\n');
        let input = parts.next().unwrap_or("");
        let sig = parts.next().unwrap_or("");
        let look = |n: &str| match n {
            "signature-input" => Some(input),
            "signature" => Some(sig),
            "x-api-key" => Some("k"),
            _ => Some("v"),
        };
        let secrets = vec![("k".to_string(), b"secret".to_vec())];
        assert!(audiohook::verify_signature(look, "/", "h", &secrets, 100, 10).is_err() || sig.len() > 40);
        let mut out = vec![Vec::new(), Vec::new()];
        audiohook::deinterleave(data, 2, 1, &mut out);
    }
});
