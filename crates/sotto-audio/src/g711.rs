//! G.711 μ-law (PCMU) and A-law (PCMA), on the 16-bit linear scale.
//!
//! Encoders truncate into the segment/mantissa cell like the ITU reference; decoders return the
//! middle of the cell, so `decode(encode(x))` is within half a quantisation step of `x` (plus the
//! clipping above ±32124 for μ-law and ±32256 for A-law).
//!
//! Both laws are *bijective* on their 256 codes: `encode(decode(b)) == b` for every byte. A-law
//! is so by construction. μ-law has two codes for zero (`0xFF` = +0 and `0x7F` = −0); to keep
//! every original byte recoverable from the decoded PCM (the lossless archive relies on it),
//! `ulaw_decode(0x7F)` returns −1 instead of 0 — one least significant bit, inaudible — and
//! `ulaw_encode` maps −1 back to `0x7F`.

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

const fn ulaw_decode_calc(b: u8) -> i16 {
    if b == 0x7F {
        return -1;
    }
    let c = !b;
    let exp = ((c >> 4) & 0x07) as i32;
    let mant = (c & 0x0F) as i32;
    let mag = (((mant << 3) + ULAW_BIAS) << exp) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -mag as i16
    } else {
        mag as i16
    }
}

const fn alaw_decode_calc(b: u8) -> i16 {
    let c = b ^ 0x55;
    let exp = ((c >> 4) & 0x07) as i32;
    let mant = ((c & 0x0F) as i32) << 4;
    let mag = match exp {
        0 => mant + 8,
        1 => mant + 0x108,
        e => (mant + 0x108) << (e - 1),
    };
    if c & 0x80 != 0 {
        mag as i16
    } else {
        -mag as i16
    }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_decode_calc(i as u8)
        } else {
            ulaw_decode_calc(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_TABLE: [i16; 256] = table(false);
static ALAW_TABLE: [i16; 256] = table(true);

/// μ-law byte to linear PCM.
#[inline]
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_TABLE[usize::from(b)]
}

/// A-law byte to linear PCM.
#[inline]
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_TABLE[usize::from(b)]
}

/// Linear PCM to μ-law byte.
#[inline]
pub fn ulaw_encode(s: i16) -> u8 {
    let x = i32::from(s);
    let (sign, mag) = if x < 0 { (0x80u8, -x) } else { (0u8, x) };
    let mag = mag.min(ULAW_CLIP) + ULAW_BIAS;
    // mag is in 0x84..=0x7FFF, so its top bit is bit 7..=14.
    let exp = (31 - mag.leading_zeros() as i32 - 7).clamp(0, 7);
    let mant = ((mag >> (exp + 3)) & 0x0F) as u8;
    !(sign | ((exp as u8) << 4) | mant)
}

/// Linear PCM to A-law byte.
#[inline]
pub fn alaw_encode(s: i16) -> u8 {
    let x = i32::from(s) >> 3;
    let (mask, mag) = if x >= 0 {
        (0xD5u8, x)
    } else {
        (0x55u8, -x - 1)
    };
    // Segment ends on the 13-bit scale: 0x1F, 0x3F, 0x7F, … 0xFFF.
    let aval = if mag > 0xFFF {
        0x7F
    } else {
        let seg = if mag <= 0x1F {
            0
        } else {
            32 - mag.leading_zeros() as i32 - 5
        };
        let shift = if seg < 2 { 1 } else { seg };
        ((seg as u8) << 4) | (((mag >> shift) & 0x0F) as u8)
    };
    aval ^ mask
}

/// Decodes μ-law bytes.
pub fn ulaw_decode_slice(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|&b| ulaw_decode(b)).collect()
}

/// Decodes A-law bytes.
pub fn alaw_decode_slice(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|&b| alaw_decode(b)).collect()
}

/// Encodes samples as μ-law.
pub fn ulaw_encode_slice(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| ulaw_encode(s)).collect()
}

/// Encodes samples as A-law.
pub fn alaw_encode_slice(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| alaw_encode(s)).collect()
}

/// Appends decoded μ-law bytes to `out` (streaming ingest: one media frame at a time).
pub fn ulaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| ulaw_decode(b)));
}

/// Appends decoded A-law bytes to `out`.
pub fn alaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| alaw_decode(b)));
}

/// Appends μ-law-encoded samples to `out`.
pub fn ulaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| ulaw_encode(s)));
}

/// Appends A-law-encoded samples to `out`.
pub fn alaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| alaw_encode(s)));
}

/// μ-law code of digital silence.
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law code closest to digital silence (decodes to +8).
pub const ALAW_SILENCE: u8 = 0xD5;

/// Size of the quantisation cell that `code` stands for, on the 16-bit scale.
pub fn ulaw_step(code: u8) -> i32 {
    let exp = i32::from((!code >> 4) & 0x07);
    8 << exp
}

/// Size of the quantisation cell that `code` stands for, on the 16-bit scale.
pub fn alaw_step(code: u8) -> i32 {
    let exp = i32::from(((code ^ 0x55) >> 4) & 0x07);
    if exp <= 1 {
        16
    } else {
        16 << (exp - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), -1);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn bijective_on_all_codes() {
        for b in 0..=255u8 {
            assert_eq!(ulaw_encode(ulaw_decode(b)), b, "μ-law {b:#04x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#04x}");
        }
    }

    #[test]
    fn error_within_step_for_every_sample() {
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_encode(x);
            let e = (i32::from(ulaw_decode(u)) - i32::from(x)).abs();
            assert!(e <= ulaw_step(u), "μ-law {x}: err {e}");
            let a = alaw_encode(x);
            let e = (i32::from(alaw_decode(a)) - i32::from(x)).abs();
            assert!(e <= alaw_step(a), "A-law {x}: err {e}");
        }
    }

    #[test]
    fn monotonic() {
        let mut prev_u = i32::MIN;
        let mut prev_a = i32::MIN;
        for x in i16::MIN..=i16::MAX {
            let u = i32::from(ulaw_decode(ulaw_encode(x)));
            let a = i32::from(alaw_decode(alaw_encode(x)));
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {x}");
            prev_u = u;
            prev_a = a;
        }
    }

    #[test]
    fn slices() {
        let s = [0i16, 1000, -1000, 32000];
        assert_eq!(ulaw_decode_slice(&ulaw_encode_slice(&s)).len(), 4);
        let mut out = Vec::new();
        alaw_decode_into(&alaw_encode_slice(&s), &mut out);
        assert_eq!(out.len(), 4);
    }
}
