//! TLS with rustls (ring provider): a certificate chain and key from PEM files, or — for the
//! embedded default — a generated self-signed setup: a one-off CA (its private key is
//! discarded at once, so nothing can be signed with it later) and a server certificate for
//! `localhost` / `127.0.0.1` / `::1`, kept in `<data>/tls/`. Clients trust `ca.pem`.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("certificate generation failed: {0}")]
    Generate(String),
    #[error("TLS configuration rejected: {0}")]
    Config(String),
}

/// A ready server configuration, and where its files are.
pub struct TlsSetup {
    pub config: Arc<ServerConfig>,
    pub cert_path: PathBuf,
    /// The CA clients must trust, when the certificate was self-signed here.
    pub self_signed_ca: Option<PathBuf>,
    /// True when this call generated the certificate.
    pub generated: bool,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("cert_path", &self.cert_path)
            .field("self_signed_ca", &self.self_signed_ca)
            .field("generated", &self.generated)
            .finish()
    }
}

/// Loads a PEM chain and key.
pub fn from_files(cert: &Path, key: &Path) -> Result<TlsSetup, TlsError> {
    let read = |p: &Path, e: rustls::pki_types::pem::Error| TlsError::Read {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(cert, e))?;
    if certs.is_empty() {
        return Err(TlsError::Read {
            path: cert.to_path_buf(),
            reason: "no certificate in the file".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| read(key, e))?;
    Ok(TlsSetup {
        config: server_config(certs, key_der)?,
        cert_path: cert.to_path_buf(),
        self_signed_ca: None,
        generated: false,
    })
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The self-signed default in `dir` (`ca.pem`, `cert.pem`, `key.pem`), generated on first use.
pub fn self_signed(dir: &Path) -> Result<TlsSetup, TlsError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ca = dir.join("ca.pem");
    let mut generated = false;
    if !(cert.is_file() && key.is_file()) {
        generate(dir, &ca, &cert, &key)?;
        generated = true;
    }
    let mut setup = from_files(&cert, &key)?;
    setup.self_signed_ca = Some(ca);
    setup.generated = generated;
    Ok(setup)
}

fn generate(dir: &Path, ca_path: &Path, cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let g = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let w = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| TlsError::Write {
            path: p,
            reason: e.kind().to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(w(dir))?;

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(g)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name.push(
        DnType::CommonName,
        "Sotto self-signed CA (this server only)",
    );
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(g)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(g)?;

    let mut leaf = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(g)?;
    leaf.distinguished_name.push(DnType::CommonName, "sotto");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_key = KeyPair::generate().map_err(g)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(g)?;
    // The CA key goes out of scope here, never written: nothing else can be signed with it.

    write_private(key_path, leaf_key.serialize_pem().as_bytes()).map_err(w(key_path))?;
    let chain = format!("{}{}", leaf_cert.pem(), ca_cert.pem());
    std::fs::write(cert_path, chain).map_err(w(cert_path))?;
    std::fs::write(ca_path, ca_cert.pem()).map_err(w(ca_path))?;
    tracing::warn!(
        ca = %ca_path.display(),
        "WARNING: generated a SELF-SIGNED TLS certificate for localhost; browsers will not trust it. \
         Configure [server] tls_cert and tls_key for production, or have clients trust the CA file"
    );
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_generated_once_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let a = self_signed(d.path()).unwrap();
        assert!(a.generated);
        let ca = std::fs::read_to_string(d.path().join("ca.pem")).unwrap();
        assert!(ca.contains("BEGIN CERTIFICATE"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = self_signed(d.path()).unwrap();
        assert!(!b.generated);
        assert_eq!(
            std::fs::read_to_string(d.path().join("ca.pem")).unwrap(),
            ca
        );
        assert!(from_files(&d.path().join("nope.pem"), &d.path().join("key.pem")).is_err());
    }
}
