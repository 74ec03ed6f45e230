//! Argon2id password hashes (PHC strings, parameters inside), and the random secrets and
//! digests the rest of the crate uses.

use crate::error::AccessError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Argon2id cost. The default is OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1);
/// weaker settings are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Self {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

impl Argon2Cost {
    /// Refuses parameters below OWASP's minimum (19 MiB, t = 2, p = 1).
    pub fn validate(&self) -> Result<(), AccessError> {
        if self.m_kib < 19 * 1024 || self.t < 2 || self.p < 1 {
            return Err(AccessError::Invalid(
                "Argon2id cost below OWASP's minimum (m = 19 MiB, t = 2, p = 1)".into(),
            ));
        }
        Ok(())
    }

    fn hasher(&self) -> Result<Argon2<'static>, AccessError> {
        let params = Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| AccessError::Invalid(format!("Argon2id parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Passwords shorter than this are refused (NIST SP 800-63B minimum for chosen secrets is 8;
/// staff accounts reaching personal data get more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer ones are refused (Argon2 would accept them, but a megabyte password is an attack).
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub(crate) fn check_password_policy(pw: &str) -> Result<(), AccessError> {
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccessError::Invalid(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(AccessError::Invalid(format!(
            "password must have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). CPU-heavy:
/// call it from `spawn_blocking`.
pub(crate) fn hash_password(pw: &[u8], cost: Argon2Cost) -> Result<String, AccessError> {
    let salt = SaltString::generate(&mut OsRng);
    cost.hasher()?
        .hash_password(pw, &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccessError::Store(format!("cannot hash password: {e}")))
}

/// Verifies a password against a PHC string (parameters from the string). CPU-heavy.
pub(crate) fn verify_password(pw: &[u8], phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(pw, &h).is_ok(),
        Err(_) => false,
    }
}

/// Whether a stored hash uses weaker parameters than `cost` (re-hash on the next login).
pub(crate) fn needs_rehash(phc: &str, cost: Argon2Cost) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(p) = Params::try_from(&h) else {
        return true;
    };
    h.algorithm.as_str() != "argon2id"
        || p.m_cost() < cost.m_kib
        || p.t_cost() < cost.t
        || p.p_cost() < cost.p
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// A 256-bit random secret, URL-safe Base64 without padding (43 characters).
pub(crate) fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let cost = Argon2Cost::default();
        let h = hash_password(b"correct horse battery", cost).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(b"correct horse battery", &h));
        assert!(!verify_password(b"correct horse batterY", &h));
        assert!(!verify_password(b"x", "not a hash"));
        assert!(!needs_rehash(&h, cost));
        assert!(needs_rehash(
            &h,
            Argon2Cost {
                m_kib: 64 * 1024,
                ..cost
            }
        ));
        assert!(Argon2Cost { t: 1, ..cost }.validate().is_err());
    }

    #[test]
    fn policy() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough passphrase").is_ok());
        assert!(check_password_policy(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn secrets_are_random_and_long() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
    }
}
