//! RFC 4226 HOTP / RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps), Base32 (RFC 4648),
//! `otpauth://` URIs and their QR code as SVG.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Secret length in bytes (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// RFC 4226 HOTP value of `counter` with `digits` digits (6..=9), zero-padded.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[off]) & 0x7f) << 24
        | u32::from(h[off + 1]) << 16
        | u32::from(h[off + 2]) << 8
        | u32::from(h[off + 3]);
    let digits = digits.clamp(6, 9);
    let code = bin % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The TOTP step at `unix_ms` (floor division; times before 1970 give negative steps).
pub fn step_at(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(STEP_SECONDS * 1000)
}

/// The code for a step (steps before 1970 have none).
pub fn code_at_step(secret: &[u8], step: i64, digits: u32) -> Option<String> {
    u64::try_from(step).ok().map(|c| hotp(secret, c, digits))
}

/// The 6-digit code valid at `unix_ms`.
pub fn code_at(secret: &[u8], unix_ms: i64) -> String {
    code_at_step(secret, step_at(unix_ms), DIGITS).unwrap_or_default()
}

/// Finds the step in `now - 1 ..= now + 1` whose code equals `code` (at most one step of
/// drift). Every candidate is compared, in constant time, so timing tells nothing.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        if let Some(c) = code_at_step(secret, step, DIGITS) {
            if bool::from(c.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
    }
    found
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 Base32 without padding (what authenticator apps expect).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buf: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        buf = (buf << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(B32[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 Base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut buf: u64 = 0;
    let mut bits = 0u32;
    for c in s.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let v = B32.iter().position(|x| *x == c.to_ascii_uppercase())? as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Key Uri Format understood by authenticator apps.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent_encode(account),
        base32_encode(secret)
    )
}

/// `text` as a QR code in SVG (empty on the impossible case of a too-long URI).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, i as u64, 6), *e, "counter {i}");
        }
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA-1 column (8 digits).
        let cases: [(i64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, code) in cases {
            let step = step_at(t * 1000);
            assert_eq!(code_at_step(RFC_SECRET, step, 8).unwrap(), code, "T={t}");
            // The 6-digit code is the same value's last six digits.
            assert_eq!(code_at(RFC_SECRET, t * 1000), code[2..], "T={t}");
        }
    }

    #[test]
    fn drift_of_one_step_is_accepted_two_refused() {
        let now = 1_700_000_000_000i64;
        let s = step_at(now);
        for (d, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at_step(RFC_SECRET, s + d, 6).unwrap();
            let got = matching_step(RFC_SECRET, &code, now);
            // A code of another step can collide by chance (1 in 10^6); not for this secret.
            assert_eq!(got, ok.then_some(s + d), "drift {d}");
        }
        assert_eq!(matching_step(RFC_SECRET, "12345", now), None);
        assert_eq!(matching_step(RFC_SECRET, "12345a", now), None);
    }

    #[test]
    fn base32_matches_rfc4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), raw.as_bytes());
        }
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_none());
    }

    #[test]
    fn uri_and_qr() {
        let uri = otpauth_uri("Sotto acme", "anna@x", RFC_SECRET);
        assert!(uri.starts_with("otpauth://totp/Sotto%20acme:anna%40x?secret="));
        assert!(uri.contains("&digits=6&period=30"));
        let svg = qr_svg(&uri);
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    proptest::proptest! {
        #[test]
        fn base32_round_trips(data: Vec<u8>) {
            proptest::prop_assert_eq!(base32_decode(&base32_encode(&data)).unwrap(), data);
        }
    }
}
