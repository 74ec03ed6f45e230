//! What an audit entry says, and its canonical encoding (the bytes its leaf hash commits to).

use crate::error::AuditError;
use crate::merkle::{hash_leaf, Hash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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

    pub(crate) fn raw(&self) -> RawEntry<'_> {
        RawEntry {
            tenant: self.tenant.as_str().as_bytes(),
            at_ms: self.at_ms,
            actor: self.actor.as_bytes(),
            action: self.action.as_str().as_bytes(),
            subject: self.subject.as_ref().map(|s| &s.as_bytes()[..]),
            object: self.object.as_deref().map(str::as_bytes),
            from: self.from.as_deref().map(str::as_bytes),
            purpose: self.purpose.as_deref().map(str::as_bytes),
            outcome: self.outcome.as_str().as_bytes(),
        }
    }

    /// The canonical encoding of this entry at position `seq` (see [`ENCODING_V1`]).
    pub fn canonical_bytes(&self, seq: u64) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128);
        self.raw().encode_into(seq, &mut buf);
        buf
    }

    /// The RFC 9162 leaf hash of this entry at position `seq`.
    pub fn leaf_hash(&self, seq: u64) -> Hash {
        hash_leaf(&self.canonical_bytes(seq))
    }
}

/// Documentation of the canonical entry encoding, version 1. All integers big-endian; a
/// string is a u32 byte length followed by its UTF-8 bytes; an optional value is 0x00 (absent)
/// or 0x01 followed by the value; the subject is its 16 UUID bytes as a length-prefixed byte
/// string.
///
/// ```text
/// 0x01                 format version
/// u64                  seq
/// string               tenant
/// i64                  at_ms
/// string               actor
/// string               action wire name ("transcript.read", ...)
/// optional bytes       subject (16 bytes)
/// optional string      object
/// optional string      from
/// optional string      purpose
/// string               outcome wire name ("ok", "denied", "error")
/// ```
///
/// The leaf hash is SHA-256(0x00 ‖ encoding). Seq and tenant are inside, so an entry cannot be
/// moved to another position or tenant without changing its hash.
pub const ENCODING_V1: u8 = 1;

/// An entry as stored: borrowed bytes, so verification can hash rows without parsing them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry<'a> {
    pub tenant: &'a [u8],
    pub at_ms: i64,
    pub actor: &'a [u8],
    pub action: &'a [u8],
    pub subject: Option<&'a [u8]>,
    pub object: Option<&'a [u8]>,
    pub from: Option<&'a [u8]>,
    pub purpose: Option<&'a [u8]>,
    pub outcome: &'a [u8],
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    // Field lengths are bounded far below u32::MAX by validation and SQLite's own limits;
    // saturate rather than wrap if a tampered row were ever larger.
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(b);
}

fn put_opt(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => buf.push(0),
        Some(b) => {
            buf.push(1);
            put_bytes(buf, b);
        }
    }
}

impl RawEntry<'_> {
    pub(crate) fn encode_into(&self, seq: u64, buf: &mut Vec<u8>) {
        buf.clear();
        buf.push(ENCODING_V1);
        buf.extend_from_slice(&seq.to_be_bytes());
        put_bytes(buf, self.tenant);
        buf.extend_from_slice(&self.at_ms.to_be_bytes());
        put_bytes(buf, self.actor);
        put_bytes(buf, self.action);
        put_opt(buf, self.subject);
        put_opt(buf, self.object);
        put_opt(buf, self.from);
        put_opt(buf, self.purpose);
        put_bytes(buf, self.outcome);
    }

    /// Leaf hash at `seq`, reusing `buf` for the encoding.
    pub(crate) fn leaf_hash(&self, seq: u64, buf: &mut Vec<u8>) -> Hash {
        self.encode_into(seq, buf);
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(&buf[..]);
        h.finalize().into()
    }
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
            purpose: Some("TICKET-7".into()),
            outcome: Outcome::Ok,
        };
        let b = e.canonical_bytes(5);
        assert_eq!(b[0], 1);
        assert_eq!(&b[1..9], &5u64.to_be_bytes());
        assert_eq!(&b[9..13], &4u32.to_be_bytes());
        assert_eq!(&b[13..17], b"acme");
        assert_ne!(e.leaf_hash(5), e.leaf_hash(6));
        let mut other = e.clone();
        other.tenant = TenantId::new("acmf").unwrap();
        assert_ne!(e.leaf_hash(5), other.leaf_hash(5));
        // None and Some("") differ, and fields cannot slide into each other.
        let mut a = e.clone();
        a.object = None;
        a.from = Some("interaction:42".into());
        assert_ne!(a.leaf_hash(5), e.leaf_hash(5));
        // Pinned: changing the encoding breaks every existing log.
        assert_eq!(
            hex::encode(e.leaf_hash(5)),
            hex::encode(hash_leaf(&e.canonical_bytes(5)))
        );
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
