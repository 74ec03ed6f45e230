//! Small building blocks shared by every layer: random keys, key derivation, key wrapping.

use crate::context::put_lp;
use crate::KeyError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// A 256-bit symmetric key, wiped when dropped.
pub(crate) type Key32 = Zeroizing<[u8; 32]>;

/// Version byte of wrapped keys and sealed records (format v1: XChaCha20-Poly1305).
pub(crate) const WRAP_V1: u8 = 1;
pub(crate) const XNONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;
/// Length of a wrapped 32-byte key: version || nonce || ciphertext || tag.
pub(crate) const WRAPPED_KEY_LEN: usize = 1 + XNONCE_LEN + 32 + TAG_LEN;

pub(crate) fn random_key() -> Key32 {
    let mut k = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(k.as_mut());
    k
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// HKDF-SHA256 of a 32-byte key into a 32-byte sub-key for one purpose.
pub(crate) fn derive(ikm: &[u8; 32], info: &[u8]) -> Key32 {
    let hk = Hkdf::<Sha256>::new(None, ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit; the error cannot occur.
    if hk.expand(info, out.as_mut()).is_err() {
        out.as_mut().fill(0);
    }
    out
}

/// Builds associated data from length-prefixed parts.
pub(crate) fn aad_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        put_lp(&mut out, p);
    }
    out
}

/// XChaCha20-Poly1305 with a random 192-bit nonce: `version || nonce || ciphertext || tag`.
pub(crate) fn seal_v1(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce: [u8; XNONCE_LEN] = random_bytes();
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| KeyError::TooLarge)?;
    let mut out = Vec::with_capacity(1 + XNONCE_LEN + ct.len());
    out.push(WRAP_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens what [`seal_v1`] produced. The result is wiped when dropped.
pub(crate) fn open_v1(
    key: &[u8; 32],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if sealed.len() < 1 + XNONCE_LEN + TAG_LEN || sealed[0] != WRAP_V1 {
        return Err(KeyError::Format(
            "sealed value too short or of an unknown version",
        ));
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = XNonce::from_slice(&sealed[1..1 + XNONCE_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &sealed[1 + XNONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Integrity)
}

/// Wraps a key under a key-encryption key.
pub(crate) fn wrap_key(kek: &[u8; 32], aad: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
    seal_v1(kek, aad, key.as_slice())
}

/// Unwraps a key; a wrong KEK or wrong associated data is `Integrity`.
pub(crate) fn unwrap_key(kek: &[u8; 32], aad: &[u8], wrapped: &[u8]) -> Result<Key32, KeyError> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(KeyError::Format("wrapped key has the wrong length"));
    }
    let pt = open_v1(kek, aad, wrapped)?;
    let mut k = Zeroizing::new([0u8; 32]);
    if pt.len() != 32 {
        return Err(KeyError::Format("wrapped key has the wrong length"));
    }
    k.copy_from_slice(&pt);
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_binding() {
        let kek = random_key();
        let k = random_key();
        let w = wrap_key(&kek, b"a", &k).unwrap();
        assert_eq!(w.len(), WRAPPED_KEY_LEN);
        assert_eq!(*unwrap_key(&kek, b"a", &w).unwrap(), *k);
        assert!(matches!(
            unwrap_key(&kek, b"b", &w),
            Err(KeyError::Integrity)
        ));
        assert!(matches!(
            unwrap_key(&random_key(), b"a", &w),
            Err(KeyError::Integrity)
        ));
        let mut bad = w.clone();
        bad[0] = 9;
        assert!(matches!(
            unwrap_key(&kek, b"a", &bad),
            Err(KeyError::Format(_))
        ));
    }

    #[test]
    fn derive_separates_purposes() {
        let k = random_key();
        assert_ne!(*derive(&k, b"x"), *derive(&k, b"y"));
        assert_eq!(*derive(&k, b"x"), *derive(&k, b"x"));
    }
}
