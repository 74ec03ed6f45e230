#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_ingest::proto::twilio;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        match twilio::parse(s) {
            Ok(twilio::Msg::Media { media }) => {
                let mut out = Vec::new();
                let _ = twilio::decode_payload(&media, &mut out);
                let _ = twilio::track_leg(&media.track);
            }
            Ok(twilio::Msg::Start { start, .. }) => {
                let _ = twilio::check_format(&start.media_format);
            }
            _ => {}
        }
    }
});
