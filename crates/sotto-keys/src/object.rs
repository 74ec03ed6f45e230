//! Subject keys and per-object data keys.

use crate::context::{put_lp, ObjectContext};
use crate::primitives::{
    aad_of, derive, open_v1, random_key, seal_v1, unwrap_key, wrap_key, Key32,
};
use crate::stream::{StreamDecryptor, StreamEncryptor};
use crate::KeyError;
use sotto_core::{SecretBytes, SubjectId, SubjectState, TenantId};
use std::fmt;

const OBJECT_KEY_DOMAIN: &[u8] = b"sotto/v1/object-key";
const RECORD_DOMAIN: &[u8] = b"sotto/v1/record";

/// The unwrapped key of one data subject, for one call. Wiped when dropped; never cached by
/// the key store, so nothing survives an erasure except what a caller still holds.
pub struct SubjectCipher {
    tenant: TenantId,
    subject: SubjectId,
    state: SubjectState,
    key: Key32,
}

impl SubjectCipher {
    pub(crate) fn new(
        tenant: TenantId,
        subject: SubjectId,
        state: SubjectState,
        key: Key32,
    ) -> Self {
        Self {
            tenant,
            subject,
            state,
            key,
        }
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    pub fn subject(&self) -> SubjectId {
        self.subject
    }
    /// The subject's state when the key was fetched (`Active` or `Restricted`). The key store
    /// hands out ciphers for restricted subjects too (an access export must still read their
    /// data); deciding what a restriction forbids is the caller's policy.
    pub fn state(&self) -> SubjectState {
        self.state
    }

    /// A fresh random data key for one object, and its wrapping under this subject key with the
    /// object context as associated data. Store the wrapped bytes beside the object.
    pub fn new_object_key(&self, ctx: &ObjectContext) -> Result<(ObjectKey, Vec<u8>), KeyError> {
        self.check_ctx(ctx)?;
        let data_key = random_key();
        let wrapped = wrap_key(&self.key, &object_key_aad(ctx), &data_key)?;
        Ok((ObjectKey::from_data_key(ctx.clone(), &data_key), wrapped))
    }

    /// Unwraps an object's data key. Another object's wrapped key, or the right one with a
    /// different context, is `Integrity`.
    pub fn open_object_key(
        &self,
        ctx: &ObjectContext,
        wrapped: &[u8],
    ) -> Result<ObjectKey, KeyError> {
        if ctx.tenant != self.tenant || ctx.subject != self.subject {
            return Err(KeyError::Integrity);
        }
        let data_key = unwrap_key(&self.key, &object_key_aad(ctx), wrapped)?;
        Ok(ObjectKey::from_data_key(ctx.clone(), &data_key))
    }

    fn check_ctx(&self, ctx: &ObjectContext) -> Result<(), KeyError> {
        if ctx.tenant == self.tenant && ctx.subject == self.subject {
            Ok(())
        } else {
            Err(KeyError::ContextMismatch)
        }
    }
}

impl fmt::Debug for SubjectCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectCipher")
            .field("tenant", &self.tenant)
            .field("subject", &self.subject)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn object_key_aad(ctx: &ObjectContext) -> Vec<u8> {
    let mut aad = aad_of(&[OBJECT_KEY_DOMAIN]);
    aad.extend_from_slice(&ctx.aad());
    aad
}

/// The data key of one object, with the context it belongs to. Two sub-keys are derived from
/// it with HKDF: one for sealed records (XChaCha20-Poly1305), one for streams (AES-256-GCM), so
/// the same key never feeds two algorithms.
pub struct ObjectKey {
    ctx: ObjectContext,
    record_key: Key32,
    stream_key: Key32,
}

/// Version byte of sealed records.
pub const RECORD_VERSION: u8 = crate::primitives::WRAP_V1;

impl ObjectKey {
    fn from_data_key(ctx: ObjectContext, data_key: &[u8; 32]) -> Self {
        Self {
            ctx,
            record_key: derive(data_key, b"sotto/v1/data-key/record"),
            stream_key: derive(data_key, b"sotto/v1/data-key/stream"),
        }
    }

    /// A random data key that is wrapped nowhere: for benchmarks and tests only. Whatever is
    /// encrypted under it is unreadable once it is dropped.
    pub fn ephemeral(ctx: ObjectContext) -> Self {
        Self::from_data_key(ctx, &random_key())
    }

    pub fn context(&self) -> &ObjectContext {
        &self.ctx
    }

    /// Seals a small record (a field of metadata, a note, a transcript segment):
    /// XChaCha20-Poly1305 with a random 192-bit nonce; associated data = context || field name.
    /// Output: `version (1) || nonce (24) || ciphertext || tag (16)`.
    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        seal_v1(&self.record_key, &self.record_aad(field), plaintext)
    }

    /// Opens a sealed record; wrong field, context, key or altered bytes are `Integrity`.
    pub fn open(&self, field: &str, sealed: &[u8]) -> Result<SecretBytes, KeyError> {
        let mut pt = open_v1(&self.record_key, &self.record_aad(field), sealed)?;
        Ok(SecretBytes::new(std::mem::take(&mut *pt)))
    }

    /// An encryptor for a large blob (audio, long text) in the chunked stream format.
    pub fn stream_encryptor(&self) -> StreamEncryptor {
        StreamEncryptor::new(&self.stream_key, &self.ctx)
    }

    /// A decryptor for blobs written by [`ObjectKey::stream_encryptor`].
    pub fn stream_decryptor(&self) -> StreamDecryptor {
        StreamDecryptor::new(&self.stream_key, &self.ctx)
    }

    fn record_aad(&self, field: &str) -> Vec<u8> {
        let mut aad = aad_of(&[RECORD_DOMAIN]);
        aad.extend_from_slice(&self.ctx.aad());
        put_lp(&mut aad, field.as_bytes());
        aad
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectKey")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectPurpose;
    use sotto_core::ObjectId;

    fn cipher() -> SubjectCipher {
        SubjectCipher::new(
            TenantId::new("t").unwrap(),
            SubjectId::new(),
            SubjectState::Active,
            random_key(),
        )
    }
    fn ctx_for(c: &SubjectCipher) -> ObjectContext {
        ObjectContext::new(
            c.tenant.clone(),
            c.subject,
            ObjectId::new(),
            ObjectPurpose::Note,
        )
    }

    #[test]
    fn seal_open_round_trip_and_field_binding() {
        let c = cipher();
        let ctx = ctx_for(&c);
        let (k, wrapped) = c.new_object_key(&ctx).unwrap();
        let sealed = k.seal("name", b"Jens Hansen").unwrap();
        assert_eq!(sealed[0], RECORD_VERSION);
        assert_eq!(sealed.len(), 1 + 24 + 11 + 16);
        let k2 = c.open_object_key(&ctx, &wrapped).unwrap();
        assert_eq!(k2.open("name", &sealed).unwrap().expose(), b"Jens Hansen");
        assert!(matches!(
            k2.open("email", &sealed),
            Err(KeyError::Integrity)
        ));
        assert!(!format!("{k2:?}").contains("key:"));
        // Two seals of the same plaintext differ (random nonce).
        assert_ne!(k.seal("name", b"x").unwrap(), k.seal("name", b"x").unwrap());
    }

    #[test]
    fn new_object_key_refuses_foreign_context() {
        let c = cipher();
        let mut ctx = ctx_for(&c);
        ctx.subject = SubjectId::new();
        assert!(matches!(
            c.new_object_key(&ctx),
            Err(KeyError::ContextMismatch)
        ));
    }
}
