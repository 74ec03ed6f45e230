//! The master key file: created 0600 without overwriting, loaded with clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use sotto_keys::{KeyError, MasterKey, MASTER_KEY_FILE_HEADER};
use std::os::unix::fs::PermissionsExt;

fn reason(e: KeyError) -> String {
    match e {
        KeyError::MasterKeyFile { reason } => reason,
        other => panic!("expected MasterKeyFile, got {other:?}"),
    }
}

#[test]
fn create_is_0600_well_formed_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.key");
    let k = MasterKey::create_file(&p).unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(MASTER_KEY_FILE_HEADER));
    assert_eq!(lines.next().unwrap().len(), 44);
    assert!(text.ends_with('\n'));
    assert_eq!(
        MasterKey::load_file(&p).unwrap().fingerprint(),
        k.fingerprint()
    );
    // Env-var form of the same key.
    let b64 = text.lines().nth(1).unwrap();
    assert_eq!(
        MasterKey::from_base64(b64).unwrap().fingerprint(),
        k.fingerprint()
    );
}

#[test]
fn create_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.key");
    MasterKey::create_file(&p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let r = reason(MasterKey::create_file(&p).unwrap_err());
    assert!(
        r.contains("already exists") && r.contains("refusing to overwrite"),
        "{r}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn missing_file_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.key");
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(
        r.contains("does not exist") && r.contains("nope.key"),
        "{r}"
    );
    let r = reason(MasterKey::load_file(dir.path()).unwrap_err());
    assert!(r.contains("not a regular file"), "{r}");
}

#[test]
fn too_open_permissions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.key");
    let k = MasterKey::create_file(&p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("0644") && r.contains("chmod 600"), "{r}");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(MasterKey::load_file(&p).is_err());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(
        MasterKey::load_file(&p).unwrap().fingerprint(),
        k.fingerprint()
    );
}

fn write_0600(p: &std::path::Path, content: &[u8]) {
    std::fs::write(p, content).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn garbled_files_get_clear_errors_that_never_echo_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.key");
    let good = MasterKey::generate();
    let b64 = good.to_base64();

    write_0600(&p, format!("{}\n", b64.as_str()).as_bytes());
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("does not start with"), "{r}");
    assert!(!r.contains(b64.as_str()), "{r}");

    write_0600(
        &p,
        format!("{MASTER_KEY_FILE_HEADER}\n!!{}\n", &b64[2..]).as_bytes(),
    );
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("not valid base64"), "{r}");
    assert!(!r.contains(&b64[2..]), "{r}");

    write_0600(&p, format!("{MASTER_KEY_FILE_HEADER}\nAAAA\n").as_bytes());
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("3 bytes") && r.contains("exactly 32"), "{r}");

    write_0600(&p, format!("{MASTER_KEY_FILE_HEADER}\n").as_bytes());
    assert!(reason(MasterKey::load_file(&p).unwrap_err()).contains("bytes"));

    write_0600(
        &p,
        format!("{MASTER_KEY_FILE_HEADER}\n{}\nmore\n", b64.as_str()).as_bytes(),
    );
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("extra lines"), "{r}");

    write_0600(&p, &[0xff, 0xfe, 0x00, 0x41]);
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(
        r.contains("not text") || r.contains("does not start"),
        "{r}"
    );

    write_0600(&p, &vec![b'a'; 10_000]);
    let r = reason(MasterKey::load_file(&p).unwrap_err());
    assert!(r.contains("10000 bytes"), "{r}");

    // Trailing whitespace / CRLF from an editor is fine.
    write_0600(
        &p,
        format!("{MASTER_KEY_FILE_HEADER}\r\n{}\r\n\n", b64.as_str()).as_bytes(),
    );
    assert_eq!(
        MasterKey::load_file(&p).unwrap().fingerprint(),
        good.fingerprint()
    );
}
