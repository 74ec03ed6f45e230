//! `cargo +nightly fuzz run detect` (from crates/sotto-detect): any bytes, as text, through
//! every entry point; spans must lie within the text, on char boundaries, sorted and disjoint,
//! and nothing may panic. The same property runs in CI as a proptest (tests/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_core::Lang;
use sotto_detect::{apply, Detector, Policy, StreamingDetector};
use std::sync::{Arc, OnceLock};

fn det() -> &'static Arc<Detector> {
    static D: OnceLock<Arc<Detector>> = OnceLock::new();
    D.get_or_init(|| Arc::new(Detector::new()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let lang = Lang::ALL.get(usize::from(sel) % 8).copied();
    let n = text.chars().count();
    let spans = det().detect(&text, lang);
    let mut last = 0;
    for s in &spans {
        assert!(s.start < s.end && s.end <= n && s.start >= last);
        last = s.end;
    }
    for c in det().detect_candidates(&text, lang.unwrap_or(Lang::En)) {
        assert!(c.end <= text.len() && text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
    }
    let _ = apply(&text, &spans, &Policy::redact_all(), Some(b"k"));
    let mut sd = StreamingDetector::new(det().clone(), lang);
    for (i, w) in text.split_whitespace().enumerate() {
        let _ = sd.push(w, i as u64 * 100, i as u64 * 100 + 90);
    }
    let _ = sd.flush();
});
