//! Signed checkpoints: the C2SP tlog-checkpoint body (`<origin>\n<size>\n<base64 root>\n`)
//! inside a C2SP signed note, signed with Ed25519.
//!
//! Key formats follow the Go `golang.org/x/mod/sumdb/note` conventions, so the verifier key can
//! be handed to any signed-note tool:
//! - verifier key: `<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte public key)>`
//! - private key file: `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte seed)>`
//!
//! where key id = first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).

use crate::error::AuditError;
use crate::merkle::Hash;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use zeroize::Zeroizing;

/// Algorithm byte for Ed25519 in signed-note keys.
const ALG_ED25519: u8 = 0x01;
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// The signature line prefix: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '+')
}

/// Checks a checkpoint origin: non-empty, one line, printable.
pub(crate) fn valid_origin(origin: &str) -> bool {
    !origin.is_empty()
        && origin.len() <= 256
        && !origin.chars().any(|c| c.is_control())
        && origin.trim() == origin
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The Ed25519 key that signs checkpoints. Its `Debug` never shows the secret.
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CheckpointSigner({}+{})",
            self.name,
            hex::encode(self.id)
        )
    }
}

impl CheckpointSigner {
    /// A fresh random key called `name` (no spaces or '+'; conventionally the log's origin).
    pub fn generate(name: &str) -> Result<Self, AuditError> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_key(name, key)
    }

    /// A key from a 32-byte seed (tests, and callers that derive keys from their own secret).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, AuditError> {
        Self::from_key(name, SigningKey::from_bytes(seed))
    }

    fn from_key(name: &str, key: SigningKey) -> Result<Self, AuditError> {
        if !valid_key_name(name) {
            return Err(AuditError::InvalidKeyName);
        }
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key in the signed-note private key format.
    pub fn to_private_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 33]);
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(&raw[..])
        ))
    }

    /// Parses the signed-note private key format.
    pub fn from_private_string(s: &str) -> Result<Self, AuditError> {
        let rest = s
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(AuditError::InvalidKey("not a signed-note private key"))?;
        let mut parts = rest.splitn(3, '+');
        let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => return Err(AuditError::InvalidKey("private key has too few fields")),
        };
        let raw = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| AuditError::InvalidKey("private key is not valid base64"))?,
        );
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(AuditError::InvalidKey("private key is not an Ed25519 key"));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let signer = Self::from_seed(name, &seed)?;
        if hex::encode(signer.id) != id_hex.to_ascii_lowercase() {
            return Err(AuditError::InvalidKey(
                "private key id does not match the key",
            ));
        }
        Ok(signer)
    }

    /// Loads a key written by [`CheckpointSigner::create_file`].
    pub fn load_file(path: &Path) -> Result<Self, AuditError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            AuditError::Io(format!(
                "cannot read checkpoint key {}: {e}",
                path.display()
            ))
        })?);
        Self::from_private_string(&text)
    }

    /// Generates a key called `name` and writes it to `path` (mode 0600). Refuses to overwrite
    /// an existing file: losing the checkpoint key loses the ability to sign, and overwriting
    /// it would silently change who the checkpoints say signed them.
    pub fn create_file(path: &Path, name: &str) -> Result<Self, AuditError> {
        let signer = Self::generate(name)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                AuditError::KeyFileExists(path.to_path_buf())
            } else {
                AuditError::Io(format!(
                    "cannot create checkpoint key {}: {e}",
                    path.display()
                ))
            }
        })?;
        let text = signer.to_private_string();
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_all())
            .map_err(|e| {
                AuditError::Io(format!(
                    "cannot write checkpoint key {}: {e}",
                    path.display()
                ))
            })?;
        Ok(signer)
    }

    /// The public half.
    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs a checkpoint of `origin` at (`size`, `root`).
    pub fn sign_checkpoint(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
    ) -> Result<SignedCheckpoint, AuditError> {
        if !valid_origin(origin) {
            return Err(AuditError::InvalidOrigin);
        }
        let body = checkpoint_body(origin, size, root);
        let sig = self.key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&sig.to_bytes());
        let text = format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob));
        Ok(SignedCheckpoint {
            origin: origin.to_owned(),
            size,
            root: *root,
            text,
        })
    }
}

/// The public key that checks checkpoint signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl fmt::Debug for CheckpointVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointVerifier({})", self.vkey())
    }
}

impl fmt::Display for CheckpointVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

impl CheckpointVerifier {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, 8 hex digits.
    pub fn key_id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// `name+keyidhex+base64(0x01 ‖ public key)`.
    pub fn vkey(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(raw))
    }

    /// Parses a verifier key string.
    pub fn from_vkey(s: &str) -> Result<Self, AuditError> {
        let s = s.trim();
        let mut parts = s.rsplitn(3, '+');
        let (b64, id_hex, name) = match (parts.next(), parts.next(), parts.next()) {
            (Some(b), Some(i), Some(n)) => (b, i, n),
            _ => return Err(AuditError::InvalidKey("verifier key has too few fields")),
        };
        if !valid_key_name(name) {
            return Err(AuditError::InvalidKeyName);
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| AuditError::InvalidKey("verifier key is not valid base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(AuditError::InvalidKey("verifier key is not an Ed25519 key"));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[1..]);
        let key = VerifyingKey::from_bytes(&pk)
            .map_err(|_| AuditError::InvalidKey("verifier key is not a valid Ed25519 point"))?;
        let id = key_id(name, &pk);
        if hex::encode(id) != id_hex.to_ascii_lowercase() {
            return Err(AuditError::InvalidKey(
                "verifier key id does not match the key",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

fn checkpoint_body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// A signed checkpoint: the log's origin, size and root hash, and the full signed note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The full signed note: body, blank line, signature lines.
    pub text: String,
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

struct NoteSig {
    name: String,
    id: [u8; 4],
    sig: [u8; 64],
}

/// Splits a signed note into its body (ending in "\n") and its signature lines.
fn split_note(note: &str) -> Result<(&str, Vec<NoteSig>), AuditError> {
    if note.len() > 1 << 16 {
        return Err(AuditError::MalformedCheckpoint("note is too long"));
    }
    if !note.ends_with('\n') {
        return Err(AuditError::MalformedCheckpoint(
            "note does not end in a newline",
        ));
    }
    let cut = note.rfind("\n\n").ok_or(AuditError::MalformedCheckpoint(
        "note has no signature block",
    ))?;
    let body = &note[..=cut];
    let sig_block = &note[cut + 2..];
    let mut sigs = Vec::new();
    for line in sig_block.lines() {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(AuditError::MalformedCheckpoint(
                "signature line does not start with an em dash",
            ))?;
        let (name, b64) = rest.split_once(' ').ok_or(AuditError::MalformedCheckpoint(
            "signature line has no signature",
        ))?;
        if !valid_key_name(name) {
            return Err(AuditError::MalformedCheckpoint(
                "signature line has an invalid key name",
            ));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| AuditError::MalformedCheckpoint("signature is not valid base64"))?;
        if raw.len() < 4 {
            return Err(AuditError::MalformedCheckpoint("signature is too short"));
        }
        let mut id = [0u8; 4];
        id.copy_from_slice(&raw[..4]);
        // Signatures of other algorithms (witness cosignatures) are kept out of the way.
        if raw.len() == 68 {
            let mut sig = [0u8; 64];
            sig.copy_from_slice(&raw[4..]);
            sigs.push(NoteSig {
                name: name.to_owned(),
                id,
                sig,
            });
        }
    }
    if sig_block.is_empty() {
        return Err(AuditError::MalformedCheckpoint("note has no signatures"));
    }
    Ok((body, sigs))
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note. Does not check signatures: call
    /// [`SignedCheckpoint::verify`].
    pub fn parse(note: &str) -> Result<Self, AuditError> {
        let (body, _) = split_note(note)?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .ok_or(AuditError::MalformedCheckpoint("missing origin line"))?;
        if !valid_origin(origin) {
            return Err(AuditError::MalformedCheckpoint("invalid origin line"));
        }
        let size_s = lines
            .next()
            .ok_or(AuditError::MalformedCheckpoint("missing size line"))?;
        if size_s.is_empty()
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(AuditError::MalformedCheckpoint(
                "size is not a decimal number",
            ));
        }
        let size: u64 = size_s
            .parse()
            .map_err(|_| AuditError::MalformedCheckpoint("size is out of range"))?;
        let root_s = lines
            .next()
            .ok_or(AuditError::MalformedCheckpoint("missing root hash line"))?;
        let root_v = B64
            .decode(root_s)
            .map_err(|_| AuditError::MalformedCheckpoint("root hash is not valid base64"))?;
        let root: Hash = root_v
            .try_into()
            .map_err(|_| AuditError::MalformedCheckpoint("root hash is not 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            text: note.to_owned(),
        })
    }

    /// Checks that the note carries a valid signature by `v` over its body, and that the
    /// parsed fields are the ones in that body.
    pub fn verify(&self, v: &CheckpointVerifier) -> Result<(), AuditError> {
        let (body, sigs) = split_note(&self.text)?;
        // Extension lines after the root are allowed by the checkpoint format.
        if !body.starts_with(&checkpoint_body(&self.origin, self.size, &self.root)) {
            return Err(AuditError::MalformedCheckpoint(
                "origin, size or root differ from the signed text",
            ));
        }
        let mut found = false;
        for s in sigs.iter().filter(|s| s.name == v.name && s.id == v.id) {
            found = true;
            let sig = Signature::from_bytes(&s.sig);
            if v.key.verify_strict(body.as_bytes(), &sig).is_ok() {
                return Ok(());
            }
        }
        if found {
            Err(AuditError::BadSignature(format!(
                "{}+{}",
                v.name,
                hex::encode(v.id)
            )))
        } else {
            Err(AuditError::NoSignature(format!(
                "{}+{}",
                v.name,
                hex::encode(v.id)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_parse_verify_round_trip() {
        let s = CheckpointSigner::from_seed("sotto.local/audit/test", &[7u8; 32]).unwrap();
        let root = crate::merkle::hash_leaf(b"x");
        let cp = s
            .sign_checkpoint("sotto.local/audit/test", 42, &root)
            .unwrap();
        assert!(cp.text.starts_with("sotto.local/audit/test\n42\n"));
        assert!(cp.text.contains("\n\n\u{2014} sotto.local/audit/test "));
        let parsed = SignedCheckpoint::parse(&cp.text).unwrap();
        assert_eq!(parsed, cp);
        parsed.verify(&s.verifier()).unwrap();

        // The vkey round-trips and has the documented shape.
        let vk = s.verifier().vkey();
        let parts: Vec<&str> = vk.split('+').collect();
        assert_eq!(parts[0], "sotto.local/audit/test");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(CheckpointVerifier::from_vkey(&vk).unwrap(), s.verifier());

        // Another key with the same name does not verify; nor does an edited body.
        let other = CheckpointSigner::from_seed("sotto.local/audit/test", &[8u8; 32]).unwrap();
        assert!(parsed.verify(&other.verifier()).is_err());
        let edited = cp.text.replacen("\n42\n", "\n41\n", 1);
        let e = SignedCheckpoint::parse(&edited).unwrap();
        assert!(matches!(
            e.verify(&s.verifier()),
            Err(AuditError::BadSignature(_))
        ));
        let mut lied = parsed.clone();
        lied.size = 43;
        assert!(lied.verify(&s.verifier()).is_err());
    }

    /// The key id and signature format match the Go reference implementation's example key
    /// (golang.org/x/mod/sumdb/note: "PeterNeumann").
    #[test]
    fn go_note_vectors() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let v = CheckpointVerifier::from_vkey(vkey).unwrap();
        assert_eq!(v.vkey(), vkey);
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let s = CheckpointSigner::from_private_string(skey).unwrap();
        assert_eq!(s.verifier(), v);
        assert_eq!(s.to_private_string().as_str(), skey);
        let msg = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let (body, sigs) = split_note(msg).unwrap();
        assert_eq!(sigs.len(), 1);
        assert_eq!(sigs[0].id, v.id);
        let sig = Signature::from_bytes(&sigs[0].sig);
        assert!(v.key.verify_strict(body.as_bytes(), &sig).is_ok());
    }

    #[test]
    fn key_files_are_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.key");
        let s = CheckpointSigner::create_file(&p, "sotto.local/audit/x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = CheckpointSigner::load_file(&p).unwrap();
        assert_eq!(loaded.verifier(), s.verifier());
        assert!(matches!(
            CheckpointSigner::create_file(&p, "other"),
            Err(AuditError::KeyFileExists(_))
        ));
        assert_eq!(
            CheckpointSigner::load_file(&p).unwrap().verifier(),
            s.verifier()
        );
        assert!(format!("{s:?}").len() < 80);
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            "",
            "origin\n1\n",
            "origin\n01\nAAAA\n\n\u{2014} k AAAA\n",
            "origin\nx\nAAAA\n\n\u{2014} k AAAA\n",
            "origin\n1\nAAAA\n\n- k AAAA\n",
            "origin\n1\nnot base64\n\n\u{2014} k AAAAAA==\n",
        ] {
            assert!(SignedCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CheckpointSigner::generate("has space").is_err());
        assert!(CheckpointSigner::generate("has+plus").is_err());
    }
}
