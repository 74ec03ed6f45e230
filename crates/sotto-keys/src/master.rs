//! The master key (key-encryption key of the whole installation).
//!
//! It comes from the `SOTTO_MASTER_KEY` environment variable (base64) or from a key file:
//!
//! ```text
//! sotto-master-key v1
//! <base64 of 32 random bytes>
//! ```
//!
//! The file must be readable by its owner only (mode 0600); a file that group or others can read
//! is refused. The master key never encrypts data: it only wraps tenant keys (through a
//! sub-key derived with HKDF), so rotating it touches a handful of rows.

use crate::primitives::{derive, random_key, Key32};
use crate::KeyError;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// First line of a master key file.
pub const MASTER_KEY_FILE_HEADER: &str = "sotto-master-key v1";
/// A key file is a few dozen bytes; anything much larger is not one.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// 32 random bytes, wiped when dropped. `Debug` shows only the fingerprint.
#[derive(Clone)]
pub struct MasterKey {
    key: Key32,
}

impl MasterKey {
    /// A fresh random master key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self { key: random_key() }
    }

    /// From raw bytes (tests, HSM/KMS integrations that hand over a key).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut b = bytes;
        let key = Zeroizing::new(b);
        zeroize::Zeroize::zeroize(&mut b);
        Self { key }
    }

    /// Parses base64 (standard or URL-safe alphabet, padded or not; surrounding whitespace is
    /// ignored) of exactly 32 bytes — the format of `SOTTO_MASTER_KEY`. The error never
    /// echoes the input.
    pub fn from_base64(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(s).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| KeyError::MasterKeyFile {
                reason: "the value is not valid base64 (expected 44 characters of base64 encoding 32 random bytes)".to_owned(),
            })?;
        if decoded.len() != 32 {
            return Err(KeyError::MasterKeyFile {
                reason: format!(
                    "the value decodes to {} bytes, but a master key is exactly 32 bytes",
                    decoded.len()
                ),
            });
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&decoded);
        Ok(Self { key })
    }

    /// The key as base64 (standard alphabet, padded). Handle with care: this is the secret.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.key.as_slice()))
    }

    /// Loads a key file written by [`MasterKey::create_file`]. Refuses a file that group or
    /// others may read (unix), and explains what is wrong with a missing or garbled file.
    pub fn load_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display();
        let fail = |reason: String| KeyError::MasterKeyFile { reason };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(format!(
                    "key file {shown} does not exist (create one with the sotto CLI, or set SOTTO_MASTER_KEY instead)"
                )))
            }
            Err(e) => {
                return Err(fail(format!(
                    "cannot read key file {shown}: {}",
                    e.kind()
                )))
            }
        };
        if !meta.is_file() {
            return Err(fail(format!("key file {shown} is not a regular file")));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "key file {shown} has permissions {mode:04o}, so other users can read it; refusing to use it (run `chmod 600 {shown}`, and consider the key compromised if others had access)"
                )));
            }
        }
        if meta.len() > MAX_KEY_FILE_LEN {
            return Err(fail(format!(
                "key file {shown} is {} bytes long; that is not a Sotto master key file",
                meta.len()
            )));
        }
        let mut text = Zeroizing::new(String::new());
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_KEY_FILE_LEN).read_to_string(&mut text))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => fail(format!(
                    "key file {shown} is not text; it is not a Sotto master key file"
                )),
                kind => fail(format!("cannot read key file {shown}: {kind}")),
            })?;
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some(MASTER_KEY_FILE_HEADER) {
            return Err(fail(format!(
                "key file {shown} does not start with `{MASTER_KEY_FILE_HEADER}`; it is not a Sotto master key file (or was written by an unsupported version)"
            )));
        }
        let body = lines.next().unwrap_or("");
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(fail(format!(
                "key file {shown} has extra lines after the key; it is damaged"
            )));
        }
        Self::from_base64(body).map_err(|e| match e {
            KeyError::MasterKeyFile { reason } => fail(format!("key file {shown}: {reason}")),
            other => other,
        })
    }

    /// Creates a new key file with a fresh key. Never overwrites an existing file; the file is
    /// created with mode 0600 (no window in which it is readable by others) and synced to disk,
    /// as is its directory entry.
    pub fn create_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display();
        let fail = |reason: String| KeyError::MasterKeyFile { reason };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => fail(format!(
                "key file {shown} already exists; refusing to overwrite it (a lost master key makes every stored object unreadable)"
            )),
            kind => fail(format!("cannot create key file {shown}: {kind}")),
        })?;
        let key = Self::generate();
        let mut content = Zeroizing::new(String::with_capacity(80));
        content.push_str(MASTER_KEY_FILE_HEADER);
        content.push('\n');
        content.push_str(&key.to_base64());
        content.push('\n');
        file.write_all(content.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| fail(format!("cannot write key file {shown}: {}", e.kind())))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the new directory entry durable too; not all platforms can open a directory.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(key)
    }

    /// A short, stable id of this key (16 hex characters, HMAC-SHA256 of a fixed label):
    /// safe to print and log, useless for recovering the key.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.key)
    }

    /// The sub-key that wraps tenant keys.
    pub(crate) fn wrapping_key(&self) -> Key32 {
        derive(&self.key, b"sotto/v1/master/wrap")
    }
}

pub(crate) fn fingerprint_of(key: &[u8; 32]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::from("????????????????");
    };
    mac.update(b"sotto/v1/master-key-fingerprint");
    let tag = mac.finalize().into_bytes();
    hex::encode(&tag[..8])
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(fingerprint={})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_errors_do_not_echo_input() {
        let k = MasterKey::generate();
        let b = k.to_base64();
        let k2 = MasterKey::from_base64(&format!("  {}\n", b.as_str())).unwrap();
        assert_eq!(k.fingerprint(), k2.fingerprint());
        let e = MasterKey::from_base64("c2VjcmV0LXZhbHVl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("12 bytes"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
        let e = MasterKey::from_base64("not base64 !!!")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("not base64 !!!"), "{e}");
    }

    #[test]
    fn debug_shows_only_fingerprint() {
        let k = MasterKey::from_bytes([7u8; 32]);
        let d = format!("{k:?}");
        assert_eq!(d, format!("MasterKey(fingerprint={})", k.fingerprint()));
        assert_eq!(k.fingerprint().len(), 16);
        assert!(!d.contains(k.to_base64().as_str()));
        assert_ne!(k.fingerprint(), MasterKey::generate().fingerprint());
    }
}
