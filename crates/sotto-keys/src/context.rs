//! What an encrypted object is, bound into every AEAD operation as associated data.

use sotto_core::{ObjectId, SubjectId, TenantId};
use std::fmt;

/// Domain string of the canonical object-context encoding (format v1).
pub const OBJECT_CONTEXT_DOMAIN: &str = "sotto/v1/object";

/// What an object holds. Part of the associated data, so a transcript cannot be passed off as
/// a recording or an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectPurpose {
    Recording,
    Transcript,
    Metadata,
    Export,
    Note,
}

impl ObjectPurpose {
    pub const ALL: [ObjectPurpose; 5] = [
        ObjectPurpose::Recording,
        ObjectPurpose::Transcript,
        ObjectPurpose::Metadata,
        ObjectPurpose::Export,
        ObjectPurpose::Note,
    ];

    /// Stable wire name; part of the associated data, so it never changes.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectPurpose::Recording => "recording",
            ObjectPurpose::Transcript => "transcript",
            ObjectPurpose::Metadata => "metadata",
            ObjectPurpose::Export => "export",
            ObjectPurpose::Note => "note",
        }
    }
}

impl fmt::Display for ObjectPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of one encrypted object. Ids only — safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectContext {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub object: ObjectId,
    pub purpose: ObjectPurpose,
}

impl ObjectContext {
    pub fn new(
        tenant: TenantId,
        subject: SubjectId,
        object: ObjectId,
        purpose: ObjectPurpose,
    ) -> Self {
        Self {
            tenant,
            subject,
            object,
            purpose,
        }
    }

    /// Canonical, unambiguous encoding used as associated data: every field is length-prefixed
    /// (u32 big-endian), starting with the domain string `sotto/v1/object`:
    ///
    /// `lp("sotto/v1/object") || lp(tenant) || lp(subject uuid, 16 bytes) || lp(object uuid,
    /// 16 bytes) || lp(purpose)`.
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        put_lp(&mut out, OBJECT_CONTEXT_DOMAIN.as_bytes());
        put_lp(&mut out, self.tenant.as_str().as_bytes());
        put_lp(&mut out, self.subject.as_bytes());
        put_lp(&mut out, self.object.as_bytes());
        put_lp(&mut out, self.purpose.as_str().as_bytes());
        out
    }
}

/// Appends `u32 BE length || bytes`. Every length we encode is far below 4 GiB (ids, domain
/// strings, field names); anything longer is cut at `u32::MAX`, which cannot happen for them.
pub(crate) fn put_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..len as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ObjectContext {
        ObjectContext::new(
            TenantId::new("acme").unwrap(),
            SubjectId::new(),
            ObjectId::new(),
            ObjectPurpose::Recording,
        )
    }

    #[test]
    fn aad_is_canonical_and_distinguishes_every_field() {
        let a = ctx();
        assert_eq!(a.aad(), a.clone().aad());
        assert!(a.aad().starts_with(&[0, 0, 0, 15]));
        let mut b = a.clone();
        b.purpose = ObjectPurpose::Transcript;
        assert_ne!(a.aad(), b.aad());
        let mut c = a.clone();
        c.tenant = TenantId::new("acmf").unwrap();
        assert_ne!(a.aad(), c.aad());
        let mut d = a.clone();
        d.object = ObjectId::new();
        assert_ne!(a.aad(), d.aad());
        let mut e = a.clone();
        e.subject = SubjectId::new();
        assert_ne!(a.aad(), e.aad());
    }

    #[test]
    fn purposes_have_stable_names() {
        let names: Vec<_> = ObjectPurpose::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            ["recording", "transcript", "metadata", "export", "note"]
        );
    }
}
