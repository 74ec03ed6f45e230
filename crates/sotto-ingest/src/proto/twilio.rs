//! Twilio Media Streams (`GET /v1/ingest/twilio`): JSON text frames `connected` → `start` →
//! `media`/`dtmf`/`mark` → `stop`. Numbers are strings. Inbound and outbound tracks arrive as
//! separate `media` messages, de-interleaved by `track` and placed by `timestamp` (ms since the
//! stream started); gaps are filled with silence by the session. `customParameters` (from
//! `<Parameter>`) carry `tenant`, `caller`, `consent` (a legal basis name, or `yes`/`true` for
//! consent), `campaign`, `queue`, `called` (the number dialled: the tenant's line; campaign,
//! queue and called number pick the processing mode), `lang`, `outbound` (`agent` — the
//! default — or `bot`).
//!
//! The Telnyx dialect (snake_case fields, `media_format.encoding = "PCMU"`, `stream_id`,
//! `call_control_id`) is accepted through aliases.

use super::{json_err, ProtoError};
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A `media` payload larger than this (base64-decoded) is refused: 1 s of 8 kHz μ-law.
pub const MAX_PAYLOAD: usize = 8_000;

#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Msg {
    Connected {},
    Start {
        #[serde(alias = "stream_id", rename = "streamSid", default)]
        stream_sid: Option<String>,
        start: StartInfo,
    },
    Media {
        media: MediaInfo,
    },
    Dtmf {
        dtmf: DtmfInfo,
    },
    Mark {},
    Stop {},
}

#[derive(Deserialize)]
pub struct StartInfo {
    #[serde(rename = "callSid", alias = "call_control_id", default)]
    pub call_sid: Option<String>,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(rename = "customParameters", alias = "custom_parameters", default)]
    pub custom_parameters: BTreeMap<String, String>,
    #[serde(rename = "mediaFormat", alias = "media_format")]
    pub media_format: MediaFormat,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MediaFormat {
    pub encoding: String,
    #[serde(rename = "sampleRate", alias = "sample_rate")]
    pub sample_rate: u32,
    #[serde(default = "one")]
    pub channels: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
pub struct MediaInfo {
    #[serde(default = "inbound")]
    pub track: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    pub payload: String,
}

fn inbound() -> String {
    "inbound".into()
}

#[derive(Deserialize)]
pub struct DtmfInfo {
    #[serde(default = "inbound")]
    pub track: String,
}

/// Which leg a track is: 0 = inbound (the caller), 1 = outbound.
pub fn track_leg(track: &str) -> Result<usize, ProtoError> {
    match track {
        "inbound" | "inbound_track" => Ok(0),
        "outbound" | "outbound_track" => Ok(1),
        _ => Err(ProtoError::Malformed("unknown track".into())),
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Msg, ProtoError> {
    serde_json::from_str(text).map_err(|e| json_err(&e))
}

/// Checks the media format: μ-law 8 kHz mono (`audio/x-mulaw`, Telnyx `PCMU`), or A-law.
pub fn check_format(f: &MediaFormat) -> Result<sotto_audio::SourceEncoding, ProtoError> {
    let enc = match f.encoding.as_str() {
        "audio/x-mulaw" | "PCMU" => sotto_audio::SourceEncoding::MuLaw,
        "audio/x-alaw" | "PCMA" => sotto_audio::SourceEncoding::ALaw,
        other => return Err(ProtoError::UnknownCodec(other.chars().take(24).collect())),
    };
    if f.sample_rate != 8_000 || f.channels != 1 {
        return Err(ProtoError::UnknownCodec(format!(
            "{} at {} Hz x{}",
            f.encoding.chars().take(24).collect::<String>(),
            f.sample_rate,
            f.channels
        )));
    }
    Ok(enc)
}

/// Decodes a media payload into `out` (cleared), checking its size.
pub fn decode_payload(m: &MediaInfo, out: &mut Vec<u8>) -> Result<Option<u64>, ProtoError> {
    if m.payload.len() > MAX_PAYLOAD * 4 / 3 + 4 {
        return Err(ProtoError::TooLarge {
            size: m.payload.len() * 3 / 4,
            limit: MAX_PAYLOAD,
        });
    }
    out.clear();
    base64::engine::general_purpose::STANDARD
        .decode_vec(m.payload.as_bytes(), out)
        .map_err(|_| ProtoError::Malformed("media payload is not base64".into()))?;
    let ts = match &m.timestamp {
        Some(t) => Some(
            t.parse::<u64>()
                .map_err(|_| ProtoError::Malformed("media timestamp is not a number".into()))?,
        ),
        None => None,
    };
    Ok(ts)
}

/// A `media` message (clients, tests, loadgen).
pub fn media_json(stream_sid: &str, track: &str, seq: u64, ts_ms: u64, payload: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
    format!(
        r#"{{"event":"media","sequenceNumber":"{seq}","streamSid":"{stream_sid}","media":{{"track":"{track}","chunk":"{seq}","timestamp":"{ts_ms}","payload":"{b64}"}}}}"#
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const START: &str = r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound","outbound"],"customParameters":{"caller":"+4520123456","consent":"yes"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#;

    #[test]
    fn parses_a_recorded_sequence() {
        assert!(matches!(
            parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).unwrap(),
            Msg::Connected {}
        ));
        let Msg::Start { start, .. } = parse(START).unwrap() else {
            panic!()
        };
        assert_eq!(start.call_sid.as_deref(), Some("CA1"));
        assert_eq!(
            start.custom_parameters.get("consent").map(String::as_str),
            Some("yes")
        );
        check_format(&start.media_format).unwrap();
        let m = media_json("MZ1", "outbound", 3, 40, &[0xFF; 160]);
        let Msg::Media { media } = parse(&m).unwrap() else {
            panic!()
        };
        let mut out = Vec::new();
        assert_eq!(decode_payload(&media, &mut out).unwrap(), Some(40));
        assert_eq!(out.len(), 160);
        assert_eq!(track_leg(&media.track).unwrap(), 1);
        let d = r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}"#;
        assert!(matches!(parse(d).unwrap(), Msg::Dtmf { .. }));
        assert!(matches!(parse(r#"{"event":"stop","sequenceNumber":"9","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}"#).unwrap(), Msg::Stop {}));
    }

    #[test]
    fn telnyx_dialect_and_unknown_codecs() {
        let t = r#"{"event":"start","stream_id":"s","start":{"call_control_id":"v3:x","media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}"#;
        let Msg::Start { start, .. } = parse(t).unwrap() else {
            panic!()
        };
        check_format(&start.media_format).unwrap();
        let f = MediaFormat {
            encoding: "audio/opus".into(),
            sample_rate: 48000,
            channels: 1,
        };
        assert!(matches!(check_format(&f), Err(ProtoError::UnknownCodec(_))));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,300}") {
            if let Ok(Msg::Media { media }) = parse(&s) {
                let mut out = Vec::new();
                let _ = decode_payload(&media, &mut out);
            }
        }

        #[test]
        fn media_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..400), ts in 0u64..10_000_000) {
            let Msg::Media { media } = parse(&media_json("MZ", "inbound", 1, ts, &payload)).unwrap() else { panic!() };
            let mut out = Vec::new();
            prop_assert_eq!(decode_payload(&media, &mut out).unwrap(), Some(ts));
            prop_assert_eq!(out, payload);
        }
    }
}
