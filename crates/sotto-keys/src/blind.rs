//! Blind indexes: find a subject by phone number or e-mail without storing either in clear.

use crate::context::put_lp;
use crate::primitives::Key32;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sotto_core::{IdentifierKind, TenantId};
use std::fmt;

const BLIND_DOMAIN: &[u8] = b"sotto/v1/blind-index";

/// Computes blind indexes for one tenant: HMAC-SHA256 under the tenant's blind-index key,
/// separated by identifier kind, so the same string as a phone number and as a customer id
/// gives unrelated digests, and equal identifiers in two tenants cannot be linked.
///
/// The blind-index key is **not** rotated with the tenant key: every stored index would have to
/// be recomputed from clear identifiers we do not keep. It is only re-wrapped when the master key
/// rotates. Digests are stable for the life of the tenant.
pub struct BlindIndexer {
    tenant: TenantId,
    key: Key32,
}

impl BlindIndexer {
    pub(crate) fn new(tenant: TenantId, key: Key32) -> Self {
        Self { tenant, key }
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The digest of an identifier that the caller has already normalised (E.164 phone number,
    /// lower-cased e-mail, …): `HMAC(key, lp(domain) || lp(kind) || lp(normalised))`.
    pub fn digest(&self, kind: IdentifierKind, normalised: &str) -> [u8; 32] {
        let mut msg = Vec::with_capacity(normalised.len() + 48);
        put_lp(&mut msg, BLIND_DOMAIN);
        put_lp(&mut msg, kind.as_str().as_bytes());
        put_lp(&mut msg, normalised.as_bytes());
        let mut out = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.key.as_slice()) {
            mac.update(&msg);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        zeroize::Zeroize::zeroize(&mut msg);
        out
    }
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexer")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::random_key;

    #[test]
    fn digests_are_stable_and_separated_by_kind_and_key() {
        let t = TenantId::new("t").unwrap();
        let k = random_key();
        let a = BlindIndexer::new(t.clone(), k.clone());
        let b = BlindIndexer::new(t.clone(), k);
        let c = BlindIndexer::new(t, random_key());
        let d = a.digest(IdentifierKind::Phone, "+4512345678");
        assert_eq!(d, b.digest(IdentifierKind::Phone, "+4512345678"));
        assert_ne!(d, a.digest(IdentifierKind::CustomerId, "+4512345678"));
        assert_ne!(d, c.digest(IdentifierKind::Phone, "+4512345678"));
        assert_ne!(d, a.digest(IdentifierKind::Phone, "+4512345679"));
        assert!(!format!("{a:?}").contains("key:"));
    }
}
