//! Asterisk AudioSocket over TCP: every message is `type: u8 | length: u16 BE | payload`.
//! `0x00` hang-up · `0x01` call UUID (16 bytes, first) · `0x03` DTMF (one ASCII byte) · `0x10`
//! signed 16-bit little-endian PCM (8 kHz on the default listener; 320 bytes = 20 ms) · `0xff`
//! error (payload: error code). Higher-rate slin types changed codes between Asterisk releases;
//! a listener's rate is configured instead, and frame sizes are sanity-checked.

use super::ProtoError;

pub const KIND_HANGUP: u8 = 0x00;
pub const KIND_UUID: u8 = 0x01;
pub const KIND_DTMF: u8 = 0x03;
pub const KIND_SLIN: u8 = 0x10;
pub const KIND_ERROR: u8 = 0xff;
/// Header length.
pub const HEADER_LEN: usize = 3;

/// One message.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Hangup,
    Uuid([u8; 16]),
    /// The key is deliberately not kept (keyed digits may be card data).
    Dtmf,
    Audio(&'a [u8]),
    Error(u8),
}

/// Parses the next message from `buf`. `Ok(None)`: more bytes needed. Returns the message and
/// the bytes it used. `max_audio` bounds a slin payload (e.g. 200 ms of audio).
pub fn parse(buf: &[u8], max_audio: usize) -> Result<Option<(Message<'_>, usize)>, ProtoError> {
    let Some(h) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let kind = h[0];
    let len = usize::from(u16::from_be_bytes([h[1], h[2]]));
    let limit = match kind {
        KIND_HANGUP => 0,
        KIND_UUID => 16,
        KIND_DTMF => 1,
        KIND_SLIN => max_audio,
        KIND_ERROR => 16,
        other => {
            return Err(ProtoError::Unexpected(format!(
                "message type 0x{other:02x} (this listener takes 0x10 slin)"
            )))
        }
    };
    if len > limit {
        return Err(ProtoError::TooLarge { size: len, limit });
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Ok(None);
    };
    let msg = match kind {
        KIND_HANGUP => Message::Hangup,
        KIND_UUID => {
            let id: [u8; 16] = payload
                .try_into()
                .map_err(|_| ProtoError::Malformed("uuid must be 16 bytes".into()))?;
            Message::Uuid(id)
        }
        KIND_DTMF => {
            if len != 1 {
                return Err(ProtoError::Malformed("dtmf must be 1 byte".into()));
            }
            Message::Dtmf
        }
        KIND_SLIN => {
            if len % 2 != 0 {
                return Err(ProtoError::Malformed(
                    "slin payload has an odd length".into(),
                ));
            }
            Message::Audio(payload)
        }
        _ => Message::Error(payload.first().copied().unwrap_or(0)),
    };
    Ok(Some((msg, HEADER_LEN + len)))
}

/// Builds a message.
pub fn encode(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind);
    out.extend_from_slice(&(payload.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(&payload[..payload.len().min(u16::MAX as usize)]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_recorded_sequence() {
        let mut b = Vec::new();
        encode(KIND_UUID, &[7; 16], &mut b);
        encode(KIND_SLIN, &[0; 320], &mut b);
        encode(KIND_DTMF, b"5", &mut b);
        encode(KIND_HANGUP, &[], &mut b);
        let mut off = 0;
        let mut got = Vec::new();
        while let Some((m, n)) = parse(&b[off..], 3200).unwrap() {
            got.push(format!("{m:?}").chars().take(5).collect::<String>());
            off += n;
        }
        assert_eq!(off, b.len());
        assert_eq!(got, ["Uuid(", "Audio", "Dtmf", "Hangu"]);
    }

    #[test]
    fn refuses_bad_frames() {
        assert!(parse(&[KIND_SLIN, 0x10, 0x00], 3200).is_err()); // 4096 > limit
        assert!(parse(&[KIND_SLIN, 0x00, 0x03, 1, 2, 3], 3200).is_err()); // odd
        assert!(parse(&[0x42, 0, 0], 3200).is_err());
        assert_eq!(parse(&[KIND_SLIN, 0, 4, 1], 3200).unwrap(), None);
    }

    proptest! {
        #[test]
        fn never_panics_and_consumes_within_bounds(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(Some((_, n))) = parse(&b, 3200) {
                prop_assert!(n <= b.len() && n >= HEADER_LEN);
            }
        }
    }
}
