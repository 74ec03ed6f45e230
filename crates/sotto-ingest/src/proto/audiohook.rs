//! Genesys Cloud AudioHook v2 (`GET /v1/ingest/audiohook`): JSON control text frames and binary
//! audio. Client messages carry `version`, `id` (session), `type`, `seq`, `serverseq`, `position`
//! (ISO-8601 duration) and `parameters`; the server answers with `clientseq`.
//! Handled: `open` → `opened` (exactly one of the offered media; PCMU preferred, both channels
//! `external` = customer, `internal` = agent), `ping` → `pong`, `paused` / `resumed` (Genesys
//! secure pause: a timeline event with the discarded duration, never missing audio), `discarded`,
//! `update`, `error`, `close` → `closed`. Binary frames interleave the chosen channels.
//! Routing for the processing mode: `participant.dnis` (the number dialled, the tenant's line)
//! and `customConfig.campaign` / `customConfig.queue`.
//!
//! The upgrade request is signed (HTTP Message Signatures, HMAC-SHA256 with the client secret
//! over `@request-target @authority audiohook-organization-id audiohook-session-id
//! audiohook-correlation-id x-api-key`, with `nonce`, `created`, `expires`):
//! [`verify_signature`].

use super::{json_err, ProtoError};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// A client message.
#[derive(Deserialize)]
pub struct ClientMessage {
    pub version: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub seq: u64,
    #[serde(default)]
    pub serverseq: u64,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub parameters: serde_json::Value,
}

/// A media offer from `open`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaOffer {
    #[serde(rename = "type")]
    pub kind: String,
    pub format: String,
    pub channels: Vec<String>,
    pub rate: u32,
}

/// Parses one text frame (version 2 only).
pub fn parse(text: &str) -> Result<ClientMessage, ProtoError> {
    let m: ClientMessage = serde_json::from_str(text).map_err(|e| json_err(&e))?;
    if m.version != "2" {
        return Err(ProtoError::Unexpected(format!(
            "AudioHook version `{}` (this server speaks 2)",
            m.version.chars().take(8).collect::<String>()
        )));
    }
    Ok(m)
}

/// The media offers of an `open` message.
pub fn offers(m: &ClientMessage) -> Result<Vec<MediaOffer>, ProtoError> {
    let v = m
        .parameters
        .get("media")
        .cloned()
        .ok_or_else(|| ProtoError::Malformed("open without media".into()))?;
    serde_json::from_value(v).map_err(|e| json_err(&e))
}

/// Picks one offer: PCMU at 8 kHz with the most channels, else L16.
pub fn choose_media(
    offers: &[MediaOffer],
) -> Result<(MediaOffer, sotto_audio::SourceEncoding), ProtoError> {
    let ok = |o: &&MediaOffer| {
        o.kind == "audio"
            && (1..=2).contains(&o.channels.len())
            && (8_000..=48_000).contains(&o.rate)
    };
    let pick = offers
        .iter()
        .filter(ok)
        .filter(|o| o.format == "PCMU" && o.rate == 8_000)
        .max_by_key(|o| o.channels.len())
        .map(|o| (o.clone(), sotto_audio::SourceEncoding::MuLaw))
        .or_else(|| {
            offers
                .iter()
                .filter(ok)
                .filter(|o| o.format == "L16")
                .max_by_key(|o| o.channels.len())
                .map(|o| (o.clone(), sotto_audio::SourceEncoding::Pcm16))
        });
    pick.ok_or_else(|| {
        ProtoError::UnknownCodec(
            offers
                .first()
                .map(|o| o.format.chars().take(16).collect())
                .unwrap_or_else(|| "none offered".into()),
        )
    })
}

/// An ISO-8601 duration of the form AudioHook uses (`PT12.34S`, `PT1M2S`, `PT1H`) in ms.
pub fn parse_duration_ms(s: &str) -> Result<u64, ProtoError> {
    let bad = || ProtoError::Malformed("position is not an ISO-8601 duration".into());
    let rest = s.strip_prefix("PT").ok_or_else(bad)?;
    if rest.is_empty() || rest.len() > 32 {
        return Err(bad());
    }
    let mut ms: u64 = 0;
    let mut num = String::new();
    let mut seen = 0u8;
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' | 'S' => {
                let order = match c {
                    'H' => 1,
                    'M' => 2,
                    _ => 3,
                };
                if order <= seen || num.is_empty() {
                    return Err(bad());
                }
                seen = order;
                let v: f64 = num.parse().map_err(|_| bad())?;
                if !v.is_finite() || v < 0.0 || (c != 'S' && num.contains('.')) {
                    return Err(bad());
                }
                let mult = match c {
                    'H' => 3_600_000.0,
                    'M' => 60_000.0,
                    _ => 1_000.0,
                };
                let add = (v * mult).round();
                if add > 1e15 {
                    return Err(bad());
                }
                ms = ms.saturating_add(add as u64);
                num.clear();
            }
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() || seen == 0 {
        return Err(bad());
    }
    Ok(ms)
}

/// A server message.
pub fn server_message(
    id: &str,
    kind: &str,
    seq: u64,
    clientseq: u64,
    parameters: serde_json::Value,
) -> String {
    serde_json::json!({
        "version": "2",
        "type": kind,
        "seq": seq,
        "clientseq": clientseq,
        "id": id,
        "parameters": parameters,
    })
    .to_string()
}

/// Splits interleaved audio into per-channel byte vectors (appended to `out[i]`).
pub fn deinterleave(data: &[u8], channels: usize, bytes_per_sample: usize, out: &mut [Vec<u8>]) {
    let step = channels * bytes_per_sample;
    if step == 0 {
        return;
    }
    for frame in data.chunks_exact(step) {
        for (c, o) in out.iter_mut().enumerate().take(channels) {
            o.extend_from_slice(&frame[c * bytes_per_sample..(c + 1) * bytes_per_sample]);
        }
    }
}

/// Why a signature was refused (never echoes header values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("malformed signature headers: {0}")]
    Malformed(&'static str),
    #[error("unknown client (X-API-KEY)")]
    UnknownClient,
    #[error("signature expired or not yet valid")]
    Expired,
    #[error("signature does not verify")]
    Mismatch,
    /// The nonce was already used by a verified request within the signature window.
    #[error("signature nonce already used (replay)")]
    Replayed,
    /// Too many distinct nonces are live at once to remember them all (fail closed).
    #[error("too many signed requests in the signature window")]
    TooMany,
}

/// What a verified signature says about its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The client's `X-API-KEY`.
    pub api_key: String,
    /// The signature's `nonce` (unique per request; [`NonceGuard`] refuses a second use).
    pub nonce: String,
}

/// Remembers the nonces of verified AudioHook signatures for as long as a signature can be
/// valid (its `created` at most `max_age_s` old and at most 5 s ahead), so a captured upgrade
/// request cannot be replayed within that window. Bounded: when `capacity` nonces are live at
/// once, further requests are refused until old ones age out (fail closed, never forget early).
#[derive(Debug)]
pub struct NonceGuard {
    capacity: usize,
    /// (api key, nonce) → second until which it must be remembered
    seen: std::collections::HashMap<(String, String), u64>,
}

/// Nonces remembered at most (≈100 bytes each).
pub const DEFAULT_NONCE_CAPACITY: usize = 100_000;

impl NonceGuard {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            seen: std::collections::HashMap::new(),
        }
    }

    /// Accepts `v`'s nonce once within the window; a repeat is [`SignatureError::Replayed`].
    /// Call only after the signature verified (unverified requests must not fill the memory).
    pub fn check(
        &mut self,
        v: &Verified,
        now_s: u64,
        max_age_s: u64,
    ) -> Result<(), SignatureError> {
        let key = (v.api_key.clone(), v.nonce.clone());
        if let Some(until) = self.seen.get(&key) {
            if *until >= now_s {
                return Err(SignatureError::Replayed);
            }
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, until| *until >= now_s);
            if self.seen.len() >= self.capacity {
                return Err(SignatureError::TooMany);
            }
        }
        // A signature accepted now has `created >= now - 5`, so it verifies until at most
        // `now + 5 + max_age_s`; remember the nonce one second longer than that.
        self.seen.insert(key, now_s + max_age_s + 6);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The components Genesys signs, in order.
pub const SIGNED_COMPONENTS: [&str; 6] = [
    "@request-target",
    "@authority",
    "audiohook-organization-id",
    "audiohook-session-id",
    "audiohook-correlation-id",
    "x-api-key",
];

/// Verifies the upgrade request's HTTP Message Signature. `header` looks a header up by
/// lower-case name; `request_target` is the path and query; `secrets` maps API keys to client
/// secrets (raw bytes). Returns the API key of the verified client.
pub fn verify_signature<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    request_target: &str,
    authority: &str,
    secrets: &[(String, Vec<u8>)],
    now_s: u64,
    max_age_s: u64,
) -> Result<Verified, SignatureError> {
    let input = header("signature-input").ok_or(SignatureError::Missing("Signature-Input"))?;
    let sig = header("signature").ok_or(SignatureError::Missing("Signature"))?;
    let api_key = header("x-api-key").ok_or(SignatureError::Missing("X-API-KEY"))?;
    let (label, params) = input
        .split_once('=')
        .ok_or(SignatureError::Malformed("Signature-Input"))?;
    let label = label.trim();
    let sig_b64 = sig
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(l, _)| l.trim() == label)
        .map(|(_, v)| v.trim())
        .and_then(|v| v.strip_prefix(':')?.strip_suffix(':'))
        .ok_or(SignatureError::Malformed("Signature"))?;
    let sig_bytes = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .map_err(|_| SignatureError::Malformed("Signature is not base64"))?;
    let params = params.trim();
    let close = params
        .find(')')
        .ok_or(SignatureError::Malformed("Signature-Input"))?;
    let list = params
        .get(..=close)
        .and_then(|l| l.strip_prefix('('))
        .and_then(|l| l.strip_suffix(')'))
        .ok_or(SignatureError::Malformed("Signature-Input"))?;
    let components: Vec<&str> = list
        .split_whitespace()
        .map(|c| c.trim_matches('"'))
        .collect();
    if SIGNED_COMPONENTS.iter().any(|c| !components.contains(c)) {
        return Err(SignatureError::Malformed(
            "a required component is not signed",
        ));
    }
    let mut keyid = None;
    let mut nonce = None;
    let mut alg = None;
    let mut created = None;
    let mut expires = None;
    for p in params[close + 1..].split(';').filter(|p| !p.is_empty()) {
        let (k, v) = p
            .split_once('=')
            .ok_or(SignatureError::Malformed("Signature-Input parameter"))?;
        let v = v.trim_matches('"');
        match k {
            "keyid" => keyid = Some(v),
            "nonce" => nonce = Some(v),
            "alg" => alg = Some(v),
            "created" => created = v.parse::<u64>().ok(),
            "expires" => expires = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    if nonce.is_none_or(str::is_empty) {
        return Err(SignatureError::Malformed("nonce missing"));
    }
    if alg.is_some_and(|a| a != "hmac-sha256") {
        return Err(SignatureError::Malformed("alg must be hmac-sha256"));
    }
    if keyid != Some(api_key) {
        return Err(SignatureError::Malformed("keyid is not the X-API-KEY"));
    }
    let created = created.ok_or(SignatureError::Malformed("created missing"))?;
    if created > now_s + 5 || now_s.saturating_sub(created) > max_age_s {
        return Err(SignatureError::Expired);
    }
    if expires.is_some_and(|e| e < now_s) {
        return Err(SignatureError::Expired);
    }
    let secret = secrets
        .iter()
        .find(|(k, _)| k == api_key)
        .map(|(_, s)| s)
        .ok_or(SignatureError::UnknownClient)?;
    let mut base = String::new();
    for c in &components {
        let v = match *c {
            "@request-target" => request_target,
            "@authority" => authority,
            name => header(name).ok_or(SignatureError::Missing("a signed header"))?,
        };
        base.push_str(&format!("\"{c}\": {}\n", v.trim()));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::UnknownClient)?;
    mac.update(base.as_bytes());
    mac.verify_slice(&sig_bytes)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(Verified {
        api_key: api_key.to_owned(),
        nonce: nonce.unwrap_or_default().to_owned(),
    })
}

/// Signs like a Genesys client would (tests, loadgen). Returns (Signature-Input, Signature).
pub fn sign(
    headers: &[(&str, &str)],
    request_target: &str,
    authority: &str,
    secret: &[u8],
    created: u64,
    nonce: &str,
) -> (String, String) {
    let api_key = headers
        .iter()
        .find(|(k, _)| *k == "x-api-key")
        .map_or("", |(_, v)| *v);
    let list = SIGNED_COMPONENTS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params = format!(
        "({list});keyid=\"{api_key}\";nonce=\"{nonce}\";alg=\"hmac-sha256\";created={created};expires={}",
        created + 10
    );
    let mut base = String::new();
    for c in SIGNED_COMPONENTS {
        let v = match c {
            "@request-target" => request_target,
            "@authority" => authority,
            name => headers
                .iter()
                .find(|(k, _)| *k == name)
                .map_or("", |(_, v)| *v),
        };
        base.push_str(&format!("\"{c}\": {v}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let sig = Hmac::<Sha256>::new_from_slice(secret)
        .map(|mut m| {
            m.update(base.as_bytes());
            m.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    (
        format!("sig1={params}"),
        format!(
            "sig1=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sig)
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("PT12.34S").unwrap(), 12_340);
        assert_eq!(parse_duration_ms("PT1M2S").unwrap(), 62_000);
        assert_eq!(parse_duration_ms("PT1H").unwrap(), 3_600_000);
        assert_eq!(parse_duration_ms("PT0S").unwrap(), 0);
        for bad in ["", "P1D", "PT", "PTS", "PT1S2M", "PT1.5M", "PTxS", "PT-1S"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn open_and_media_choice() {
        let open = r#"{"version":"2","type":"open","seq":1,"serverseq":0,"id":"e160e428-53e2-487c-977d-96989bf5c99d","position":"PT0S","parameters":{"organizationId":"o","conversationId":"c","participant":{"id":"p","ani":"+4520123456","aniName":"x","dnis":"+4570000000"},"media":[{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000},{"type":"audio","format":"PCMU","channels":["external"],"rate":8000}],"language":"da-DK"}}"#;
        let m = parse(open).unwrap();
        assert_eq!(m.kind, "open");
        let (o, enc) = choose_media(&offers(&m).unwrap()).unwrap();
        assert_eq!(o.channels.len(), 2);
        assert_eq!(enc, sotto_audio::SourceEncoding::MuLaw);
        let bad = [MediaOffer {
            kind: "audio".into(),
            format: "opus".into(),
            channels: vec!["external".into()],
            rate: 48000,
        }];
        assert!(matches!(
            choose_media(&bad),
            Err(ProtoError::UnknownCodec(_))
        ));
        let mut out = vec![Vec::new(), Vec::new()];
        deinterleave(&[1, 2, 3, 4, 5], 2, 1, &mut out);
        assert_eq!(out, vec![vec![1, 3], vec![2, 4]]);
    }

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let headers = [
            ("audiohook-organization-id", "org-1"),
            ("audiohook-session-id", "sess-1"),
            ("audiohook-correlation-id", "corr-1"),
            ("x-api-key", "key-1"),
        ];
        let secret = b"0123456789abcdef".to_vec();
        let (input, sig) = sign(
            &headers,
            "/v1/ingest/audiohook",
            "127.0.0.1:9",
            &secret,
            1000,
            "n1",
        );
        let all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([
                ("signature-input".into(), input.clone()),
                ("signature".into(), sig.clone()),
            ])
            .collect();
        let look = |all: &Vec<(String, String)>, n: &str| {
            all.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        };
        let secrets = vec![("key-1".to_string(), secret.clone())];
        let ok = verify_signature(
            |n| look(&all, n).map(|s| &*Box::leak(s.into_boxed_str())),
            "/v1/ingest/audiohook",
            "127.0.0.1:9",
            &secrets,
            1003,
            10,
        );
        let v = ok.unwrap();
        assert_eq!(v.api_key, "key-1");
        assert_eq!(v.nonce, "n1");
        // The same signed request again within the window is a replay; after it, the nonce
        // is forgotten (the signature itself has expired by then).
        let mut guard = NonceGuard::new(10);
        assert_eq!(guard.check(&v, 1003, 10), Ok(()));
        assert_eq!(guard.check(&v, 1003, 10), Err(SignatureError::Replayed));
        assert_eq!(guard.check(&v, 1019, 10), Err(SignatureError::Replayed));
        let other = Verified {
            api_key: "key-1".into(),
            nonce: "n2".into(),
        };
        assert_eq!(guard.check(&other, 1003, 10), Ok(()));
        assert_eq!(
            guard.check(&v, 1020, 10),
            Ok(()),
            "remembered past the window"
        );
        // Bounded memory: full of live nonces, new ones are refused rather than old forgotten.
        let mut small = NonceGuard::new(2);
        for (i, want) in [(0, Ok(())), (1, Ok(())), (2, Err(SignatureError::TooMany))] {
            let n = Verified {
                api_key: "k".into(),
                nonce: format!("n{i}"),
            };
            assert_eq!(small.check(&n, 100, 10), want);
        }
        let late = Verified {
            api_key: "k".into(),
            nonce: "late".into(),
        };
        assert_eq!(
            small.check(&late, 200, 10),
            Ok(()),
            "aged-out nonces make room"
        );
        assert_eq!(small.len(), 1);
        // wrong secret, tampered header, expired
        let wrong = vec![("key-1".to_string(), b"other".to_vec())];
        let r = verify_signature(
            |n| look(&all, n).map(|s| &*Box::leak(s.into_boxed_str())),
            "/v1/ingest/audiohook",
            "127.0.0.1:9",
            &wrong,
            1003,
            10,
        );
        assert_eq!(r, Err(SignatureError::Mismatch));
        let r = verify_signature(
            |n| look(&all, n).map(|s| &*Box::leak(s.into_boxed_str())),
            "/v1/ingest/audiohook",
            "127.0.0.1:9",
            &secrets,
            2000,
            10,
        );
        assert_eq!(r, Err(SignatureError::Expired));
        let mut tampered = all.clone();
        tampered[1].1 = "sess-2".into();
        let r = verify_signature(
            |n| look(&tampered, n).map(|s| &*Box::leak(s.into_boxed_str())),
            "/v1/ingest/audiohook",
            "127.0.0.1:9",
            &secrets,
            1003,
            10,
        );
        assert_eq!(r, Err(SignatureError::Mismatch));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,200}") {
            let _ = parse_duration_ms(&s);
            if let Ok(m) = parse(&s) { let _ = offers(&m); }
        }
    }
}
