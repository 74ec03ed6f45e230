//! What an audit entry says, and its canonical encoding (the bytes its leaf hash commits to).

use crate::error::AuditError;
use crate::merkle::{hash_leaf, Hash};
use serde::{Deserialize, Serialize};
use sotto_core::{SubjectId, TenantId, UnixMillis};
use std::fmt;
use std::str::FromStr;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable wire name, as stored and hashed. Never change one.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = AuditError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(AuditError::InvalidEntry {
                        field: stringify!($name),
                        reason: "is not a known value",
                    }),
                }
            }
        }
    };
}

wire_enum!(
    /// What was done.
    Action {
        /// A (redacted or clear) transcript was shown.
        TranscriptRead => "transcript.read",
        /// A recording was played (streamed, not handed over).
        RecordingPlay => "recording.play",
        /// A recording was downloaded.
        RecordingDownload => "recording.download",
        /// A subject access export (or another bulk export) was produced.
        Export => "export",
        /// Personal data was erased ("forget me", retention, anonymisation).
        Erasure => "erasure",
        /// An interaction was ingested and stored.
        Ingest => "ingest",
        PolicyChange => "policy.change",
        ConsentChange => "consent.change",
        PermissionChange => "permission.change",
        LoginSuccess => "login.success",
        LoginFailure => "login.failure",
        /// A key was created, rotated, destroyed or its master key changed.
        KeyOperation => "key.operation",
        LegalHoldChange => "legal_hold.change",
        /// Recording of a live call started, stopped, paused or resumed (by API, agent or the
        /// telephony side), or the call hung up through recording control.
        RecordingControl => "recording.control",
        /// The audit log itself was verified.
        AuditVerify => "audit.verify",
        Other => "other",
    }
);

wire_enum!(
    /// How it ended.
    Outcome {
        Ok => "ok",
        /// Refused by access control, a legal hold, a missing consent...
        Denied => "denied",
        Error => "error",
    }
);

/// What callers append: ids only, never personal data (no names, numbers or transcript text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub tenant: TenantId,
    pub at_ms: UnixMillis,
    /// The user or token id: `user:anna`, `token:3f9a`, `cli`, `system:retention`.
    pub actor: String,
    pub action: Action,
    pub subject: Option<SubjectId>,
    /// Interaction, recording or case id, or a policy name.
    pub object: Option<String>,
    /// The client address.
    pub from: Option<String>,
    /// Why: a ticket number or a legal basis.
    pub purpose: Option<String>,
    pub outcome: Outcome,
}

/// A stored entry with its position in the log and its leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub entry: Entry,
    #[serde(with = "hex_hash")]
    pub leaf_hash: Hash,
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("hash is not 32 bytes"))
    }
}

/// A filter over one tenant's entries. All set fields must match; results are in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub subject: Option<SubjectId>,
    pub actor: Option<String>,
    /// Inclusive.
    pub from_ms: Option<UnixMillis>,
    /// Exclusive.
    pub to_ms: Option<UnixMillis>,
    /// At most this many records (default 1000, capped at 100,000).
    pub limit: Option<u32>,
    /// Only entries with a larger seq (paging: pass the last seq you got).
    pub after_seq: Option<u64>,
    pub action: Option<Action>,
}

pub(crate) const MAX_ACTOR: usize = 128;
pub(crate) const MAX_OBJECT: usize = 256;
pub(crate) const MAX_FROM: usize = 128;
pub(crate) const MAX_PURPOSE: usize = 512;

fn check_text(
    field: &'static str,
    s: &str,
    max: usize,
    allow_empty: bool,
) -> Result<(), AuditError> {
    if s.is_empty() && !allow_empty {
        return Err(AuditError::InvalidEntry {
            field,
            reason: "must not be empty",
        });
    }
    if s.len() > max {
        return Err(AuditError::InvalidEntry {
            field,
            reason: "is too long",
        });
    }
    if s.chars().any(char::is_control) {
        return Err(AuditError::InvalidEntry {
            field,
            reason: "must not contain control characters",
        });
    }
    Ok(())
}

impl Entry {
    /// A minimal entry; set the optional fields directly.
    pub fn new(
        tenant: TenantId,
        at_ms: UnixMillis,
        actor: impl Into<String>,
        action: Action,
        outcome: Outcome,
    ) -> Self {
        Self {
            tenant,
            at_ms,
            actor: actor.into(),
            action,
            subject: None,
            object: None,
            from: None,
            purpose: None,
            outcome,
        }
    }

    /// Checks lengths and characters (the log refuses entries that could not be shown or
    /// exported safely). It cannot check that a field holds an id rather than personal data:
    /// that is the caller's duty.
    pub fn validate(&self) -> Result<(), AuditError> {
        check_text("actor", &self.actor, MAX_ACTOR, false)?;
        if let Some(o) = &self.object {
            check_text("object", o, MAX_OBJECT, false)?;
        }
        if let Some(f) = &self.from {
            check_text("from", f, MAX_FROM, false)?;
        }
        if let Some(p) = &self.purpose {
            check_text("purpose", p, MAX_PURPOSE, false)?;
        }
        Ok(())
    }

    /// Appends the canonical encoding of this entry at position `seq` to `buf` (see
    /// [`ENCODING_V1`]).
    pub(crate) fn encode_into(&self, seq: u64, buf: &mut Vec<u8>) {
        let c = CanonRef {
            v: ENCODING_V1,
            seq,
            tenant: self.tenant.as_str(),
            at_ms: self.at_ms,
            actor: &self.actor,
            action: self.action,
            subject: self.subject.as_ref(),
            object: self.object.as_deref(),
            from: self.from.as_deref(),
            purpose: self.purpose.as_deref(),
            outcome: self.outcome,
        };
        // Writing plain strings, integers and enums into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, &c);
    }

    /// The canonical encoding of this entry at position `seq` (see [`ENCODING_V1`]).
    pub fn canonical_bytes(&self, seq: u64) -> Vec<u8> {
        let mut buf = Vec::with_capacity(256);
        self.encode_into(seq, &mut buf);
        buf
    }

    /// The RFC 9162 leaf hash of this entry at position `seq`.
    pub fn leaf_hash(&self, seq: u64) -> Hash {
        hash_leaf(&self.canonical_bytes(seq))
    }

    /// Decodes a canonical encoding; returns the seq it was encoded at and the entry.
    pub fn from_canonical(bytes: &[u8]) -> Result<(u64, Entry), AuditError> {
        let c: CanonOwned =
            serde_json::from_slice(bytes).map_err(|_| AuditError::InvalidEntry {
                field: "encoding",
                reason: "is not a canonical audit entry",
            })?;
        if c.v != ENCODING_V1 {
            return Err(AuditError::InvalidEntry {
                field: "encoding",
                reason: "has an unknown version",
            });
        }
        let e = Entry {
            tenant: c.tenant,
            at_ms: c.at_ms,
            actor: c.actor,
            action: c.action,
            subject: c.subject,
            object: c.object,
            from: c.from,
            purpose: c.purpose,
            outcome: c.outcome,
        };
        // Canonical means byte-identical when re-encoded.
        if e.canonical_bytes(c.seq) != bytes {
            return Err(AuditError::InvalidEntry {
                field: "encoding",
                reason: "is not in canonical form",
            });
        }
        Ok((c.seq, e))
    }
}

/// The canonical entry encoding, version 1: one line of compact JSON, fields in this fixed
/// order, every field present (`null` when absent), strings escaped as `serde_json` does
/// (only `"`, `\` and control characters, which entries never contain), no whitespace:
///
/// ```text
/// {"v":1,"seq":5,"tenant":"acme","at_ms":1700000000000,"actor":"user:anna",
///  "action":"recording.play","subject":"0190a5e2-...","object":"interaction:42",
///  "from":null,"purpose":"TICKET-7","outcome":"ok"}
/// ```
///
/// (shown wrapped). The leaf hash is SHA-256(0x00 ‖ these bytes). Seq and tenant are
/// inside, so an entry cannot be moved to another position or tenant without changing its
/// hash. The bytes are stored as they were hashed; verification hashes the stored bytes and
/// never re-serialises them, and the log's query columns are generated from them, so what is
/// shown is always what was hashed.
pub const ENCODING_V1: u8 = 1;

#[derive(Serialize)]
struct CanonRef<'a> {
    v: u8,
    seq: u64,
    tenant: &'a str,
    at_ms: i64,
    actor: &'a str,
    action: Action,
    subject: Option<&'a SubjectId>,
    object: Option<&'a str>,
    from: Option<&'a str>,
    purpose: Option<&'a str>,
    outcome: Outcome,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanonOwned {
    v: u8,
    seq: u64,
    tenant: TenantId,
    at_ms: i64,
    actor: String,
    action: Action,
    subject: Option<SubjectId>,
    object: Option<String>,
    from: Option<String>,
    purpose: Option<String>,
    outcome: Outcome,
}

/// The prefix every canonical encoding at `seq` starts with.
#[cfg(test)]
pub(crate) fn canonical_prefix(seq: u64) -> String {
    format!("{{\"v\":{ENCODING_V1},\"seq\":{seq},")
}

/// The seq a canonical encoding claims, read from its fixed prefix without parsing the rest.
pub(crate) fn claimed_seq(body: &[u8]) -> Option<u64> {
    let rest = body.strip_prefix(b"{\"v\":1,\"seq\":")?;
    let end = rest.iter().position(|&b| b == b',')?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 20 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
            assert!(seen.insert(a.as_str()));
            assert_eq!(
                serde_json::to_string(a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
        }
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
        }
        assert!("transcript.write".parse::<Action>().is_err());
    }

    #[test]
    fn encoding_is_stable_and_binds_seq_and_tenant() {
        let e = Entry {
            tenant: TenantId::new("acme").unwrap(),
            at_ms: 1_700_000_000_000,
            actor: "user:anna".into(),
            action: Action::RecordingPlay,
            subject: Some("01010101-0101-0101-0101-010101010101".parse().unwrap()),
            object: Some("interaction:42".into()),
            from: None,
            purpose: Some("TICKET-7 \"urgent\" æøå".into()),
            outcome: Outcome::Ok,
        };
        let b = e.canonical_bytes(5);
        // Pinned: changing the encoding breaks every existing log.
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            r#"{"v":1,"seq":5,"tenant":"acme","at_ms":1700000000000,"actor":"user:anna","action":"recording.play","subject":"01010101-0101-0101-0101-010101010101","object":"interaction:42","from":null,"purpose":"TICKET-7 \"urgent\" æøå","outcome":"ok"}"#
        );
        assert!(b.starts_with(canonical_prefix(5).as_bytes()));
        assert_eq!(claimed_seq(&b), Some(5));
        assert_eq!(Entry::from_canonical(&b).unwrap(), (5, e.clone()));
        assert_ne!(e.leaf_hash(5), e.leaf_hash(6));
        let mut other = e.clone();
        other.tenant = TenantId::new("acmf").unwrap();
        assert_ne!(e.leaf_hash(5), other.leaf_hash(5));
        let mut a = e.clone();
        a.object = None;
        a.from = Some("interaction:42".into());
        assert_ne!(a.leaf_hash(5), e.leaf_hash(5));
        assert_eq!(e.leaf_hash(5), hash_leaf(&b));
        // Non-canonical spellings of the same JSON are refused.
        let spaced = String::from_utf8(b)
            .unwrap()
            .replace(",\"tenant\"", ", \"tenant\"");
        assert!(Entry::from_canonical(spaced.as_bytes()).is_err());
        assert_eq!(claimed_seq(b"{\"v\":1,\"seq\":007,"), None);
    }

    #[test]
    fn validation_refuses_control_characters_and_overlong_fields() {
        let mut e = Entry::new(
            TenantId::default_tenant(),
            0,
            "cli",
            Action::Export,
            Outcome::Ok,
        );
        assert!(e.validate().is_ok());
        e.actor = "user:anna\nforged line".into();
        assert!(e.validate().is_err());
        e.actor = "x".repeat(MAX_ACTOR + 1);
        assert!(e.validate().is_err());
        e.actor = String::new();
        assert!(e.validate().is_err());
        e.actor = "cli".into();
        e.purpose = Some("p".repeat(MAX_PURPOSE + 1));
        assert!(matches!(
            e.validate(),
            Err(AuditError::InvalidEntry {
                field: "purpose",
                ..
            })
        ));
    }
}
