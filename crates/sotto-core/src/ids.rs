//! Typed ids. Ids are random (UUID v7: time-ordered, so indexes stay compact) and carry no
//! personal data, which is why they — and only they — may appear in logs and audit entries.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A data subject: one caller, known or not (a withheld number still gets its own subject).
    SubjectId, "Subject");
uuid_id!(
    /// One call, voicemail, chat, e-mail or SMS.
    InteractionId, "Interaction");
uuid_id!(
    /// One transcript segment of an interaction.
    SegmentId, "Segment");
uuid_id!(
    /// One encrypted object (blob or sealed record) with its own data key.
    ObjectId, "Object");
uuid_id!(
    /// A deal (MiFID II): first contact to close.
    CaseId, "Case");

/// A tenant: an organisation using this installation. Tenant ids are short slugs chosen by the
/// operator (`default`, `acme-bank`), validated so they are safe in paths and logs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Why a tenant id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tenant id: use 1-63 characters a-z, 0-9 and '-', starting with a letter or digit")]
pub struct InvalidTenantId;

impl TenantId {
    pub fn new(s: &str) -> Result<Self, InvalidTenantId> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidTenantId)
        }
    }
    /// The tenant every installation starts with.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TenantId::new(&s)
    }
}
impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}
impl FromStr for TenantId {
    type Err = InvalidTenantId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TenantId::new(s)
    }
}
impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tenant({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_validated() {
        assert!(TenantId::new("acme-bank").is_ok());
        assert!(TenantId::new("Acme").is_err());
        assert!(TenantId::new("../etc").is_err());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("-x").is_err());
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id = SubjectId::new();
        assert_eq!(id.to_string().parse::<SubjectId>().unwrap(), id);
    }
}
