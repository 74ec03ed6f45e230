//! The native Sotto WebSocket protocol, for voicebots (`GET /v1/ingest/native`).
//!
//! Text frames are JSON control messages; binary frames carry audio.
//!
//! Client → server:
//! - `{"type":"start","tenant":"t","caller":"+4520…","consent":"consent","campaign":"c",
//!   "queue":"q","called":"+4570…",
//!   "direction":"inbound","lang":"da","legs":[{"speaker":"caller","encoding":"pcm16","rate":8000},
//!   {"speaker":"bot","encoding":"mulaw","rate":8000}]}` — first message; `encoding` is `pcm16`
//!   (16-bit little-endian), `mulaw` or `alaw`. Every field but `legs` is optional.
//! - `{"type":"attach","call_id":"<uuid>"}` — instead of `start`: supply transcripts to a call
//!   that arrives over another protocol (Twilio, AudioHook, AudioSocket) — no audio then.
//! - binary: `leg: u8 | media_ms: u32 LE | samples` (`media_ms` = `0xFFFFFFFF`: right after the
//!   previous frame of that leg). At most 64 KiB.
//! - `{"type":"transcript","speaker":"bot","kind":"static","until_ms":N,
//!   "words":[{"w":"Hello","start_ms":0,"end_ms":300,"conf":0.9}]}` — final words the bot
//!   recognised (caller legs) or spoke (its own answers, `kind` static or dynamic).
//! - `{"type":"heard","speaker":"caller","until_ms":N}` — nothing (more) said up to `N`.
//! - `{"type":"dtmf","speaker":"caller"}` — a key was pressed (the digit is not sent).
//! - `{"type":"control","command":"pause","reason":"card payment"}` — recording control.
//! - `{"type":"stop"}` — the call ended.
//!
//! Server → client: `{"type":"started","call_id":"<uuid>"}`, `{"type":"error","reason":"…"}`,
//! `{"type":"closed","reason":"…"}`.

use super::{json_err, ProtoError};
use crate::registry::Command;
use serde::Deserialize;
use sotto_audio::SourceEncoding;
use sotto_core::{Direction, LegalBasis, SegmentKind, Speaker};

/// Binary frame header length.
pub const HEADER_LEN: usize = 5;
/// `media_ms` meaning "right after the previous frame".
pub const FOLLOWS: u32 = u32::MAX;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Start(StartMsg),
    Attach {
        call_id: String,
    },
    Transcript(TranscriptMsg),
    Heard {
        speaker: Speaker,
        until_ms: u64,
    },
    Dtmf {
        speaker: Speaker,
    },
    Control {
        #[serde(flatten)]
        command: Command,
    },
    Stop {
        #[serde(default)]
        reason: Option<String>,
    },
    Ping,
}

#[derive(Deserialize)]
pub struct StartMsg {
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub consent: Option<LegalBasis>,
    #[serde(default)]
    pub campaign: Option<String>,
    /// The queue the call came through (processing-mode override key).
    #[serde(default)]
    pub queue: Option<String>,
    /// The number dialled: the tenant's own line (processing-mode override key).
    #[serde(default)]
    pub called: Option<String>,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    pub legs: Vec<LegMsg>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LegMsg {
    pub speaker: Speaker,
    pub encoding: String,
    pub rate: u32,
}

#[derive(Deserialize)]
pub struct TranscriptMsg {
    pub speaker: Speaker,
    #[serde(default)]
    pub kind: Option<SegmentKind>,
    #[serde(default)]
    pub until_ms: Option<u64>,
    pub words: Vec<WordMsg>,
}

#[derive(Deserialize)]
pub struct WordMsg {
    pub w: String,
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(default)]
    pub conf: Option<f32>,
}

/// Largest number of words in one transcript message.
pub const MAX_WORDS: usize = 2_000;

/// Parses one text frame.
pub fn parse_text(text: &str) -> Result<ClientMsg, ProtoError> {
    let m: ClientMsg = serde_json::from_str(text).map_err(|e| json_err(&e))?;
    match &m {
        ClientMsg::Start(s) => {
            if s.legs.is_empty() || s.legs.len() > 8 {
                return Err(ProtoError::Malformed("start: 1 to 8 legs".into()));
            }
            for l in &s.legs {
                encoding(&l.encoding)?;
                if !(8_000..=48_000).contains(&l.rate) {
                    return Err(ProtoError::Malformed(
                        "start: rate must be 8000..=48000".into(),
                    ));
                }
            }
        }
        ClientMsg::Transcript(t) => {
            if t.words.len() > MAX_WORDS {
                return Err(ProtoError::TooLarge {
                    size: t.words.len(),
                    limit: MAX_WORDS,
                });
            }
            if t.words.iter().any(|w| w.end_ms < w.start_ms) {
                return Err(ProtoError::Malformed(
                    "transcript: a word ends before it starts".into(),
                ));
            }
        }
        _ => {}
    }
    Ok(m)
}

/// The sample encoding a leg names.
pub fn encoding(name: &str) -> Result<SourceEncoding, ProtoError> {
    match name {
        "pcm16" | "l16" | "slin" => Ok(SourceEncoding::Pcm16),
        "mulaw" | "pcmu" | "ulaw" => Ok(SourceEncoding::MuLaw),
        "alaw" | "pcma" => Ok(SourceEncoding::ALaw),
        other => Err(ProtoError::UnknownCodec(other.chars().take(24).collect())),
    }
}

/// A parsed binary audio frame.
#[derive(Debug, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    pub leg: u8,
    pub media_ms: Option<u32>,
    pub samples: &'a [u8],
}

/// Parses one binary frame.
pub fn parse_binary(b: &[u8], limit: usize) -> Result<AudioFrame<'_>, ProtoError> {
    if b.len() > limit {
        return Err(ProtoError::TooLarge {
            size: b.len(),
            limit,
        });
    }
    if b.len() < HEADER_LEN {
        return Err(ProtoError::Malformed(
            "audio frame shorter than its 5-byte header".into(),
        ));
    }
    let ms = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    Ok(AudioFrame {
        leg: b[0],
        media_ms: (ms != FOLLOWS).then_some(ms),
        samples: &b[HEADER_LEN..],
    })
}

/// Builds a binary frame (clients, tests, loadgen).
pub fn encode_binary(leg: u8, media_ms: Option<u32>, samples: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.push(leg);
    out.extend_from_slice(&media_ms.unwrap_or(FOLLOWS).to_le_bytes());
    out.extend_from_slice(samples);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_a_start_and_a_transcript() {
        let m = parse_text(r#"{"type":"start","caller":"+4520123456","consent":"consent","legs":[{"speaker":"caller","encoding":"pcm16","rate":8000},{"speaker":"bot","encoding":"mulaw","rate":8000}]}"#).unwrap();
        let ClientMsg::Start(s) = m else { panic!() };
        assert_eq!(s.legs.len(), 2);
        assert_eq!(s.consent, Some(LegalBasis::Consent));
        let m = parse_text(r#"{"type":"transcript","speaker":"bot","kind":"static","words":[{"w":"hi","start_ms":0,"end_ms":200}]}"#).unwrap();
        assert!(matches!(m, ClientMsg::Transcript(_)));
        let m = parse_text(r#"{"type":"control","command":"pause","reason":"card"}"#).unwrap();
        assert!(matches!(
            m,
            ClientMsg::Control {
                command: Command::Pause { .. }
            }
        ));
    }

    #[test]
    fn refuses_unknown_codecs_and_bad_frames_without_echo() {
        let e = parse_text(
            r#"{"type":"start","legs":[{"speaker":"caller","encoding":"opus","rate":8000}]}"#,
        )
        .err()
        .unwrap();
        assert_eq!(e, ProtoError::UnknownCodec("opus".into()));
        let e = parse_text(r#"{"type":"transcript","speaker":"caller","words":[{"w":"4571 secret","start_ms":"x"}]}"#).err().unwrap();
        assert!(!e.to_string().contains("secret"));
        assert!(parse_binary(&[0, 1], 100).is_err());
        assert!(matches!(
            parse_binary(&[0; 200], 100),
            Err(ProtoError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn binary_round_trip(leg in any::<u8>(), ms in proptest::option::of(0u32..u32::MAX), body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut out = Vec::new();
            encode_binary(leg, ms, &body, &mut out);
            let f = parse_binary(&out, 1 << 16).unwrap();
            prop_assert_eq!(f.leg, leg);
            prop_assert_eq!(f.media_ms, ms);
            prop_assert_eq!(f.samples, &body[..]);
        }

        #[test]
        fn text_parser_never_panics(s in ".{0,300}") {
            let _ = parse_text(&s);
        }
    }
}
