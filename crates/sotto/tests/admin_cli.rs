//! End-to-end tests of the access-control commands: `sotto user …`, `sotto token …`,
//! `sotto allowlist …` against a real data directory, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use std::path::Path;

const PASSWORD: &str = "a long enough test passphrase";

fn sotto(data: &Path) -> Command {
    let mut c = Command::cargo_bin("sotto").unwrap();
    c.arg("--data-dir").arg(data);
    for v in [
        "SOTTO_CONFIG",
        "SOTTO_DATA_DIR",
        "SOTTO_MASTER_KEY",
        "SOTTO_MASTER_KEY_FILE",
        "SOTTO_DEFAULT_TENANT",
        "SOTTO_DEFAULT_REGION",
        "SOTTO_NEW_PASSWORD",
    ] {
        c.env_remove(v);
    }
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        !out.status.success(),
        "expected failure; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn init() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(sotto(&data).arg("init"));
    dir
}

#[test]
fn user_lifecycle_through_the_cli() {
    let dir = init();
    let data = dir.path().join("data");
    let qr = dir.path().join("anna.svg");
    let out = ok(sotto(&data)
        .args([
            "user",
            "add",
            "default",
            "anna",
            "--role",
            "agent",
            "--role",
            "supervisor",
            "--team",
            "north",
            "--agent-ref",
            "agent-7",
            "--qr-svg",
        ])
        .arg(&qr)
        .env("SOTTO_NEW_PASSWORD", PASSWORD));
    assert!(out.contains("otpauth://totp/Sotto:anna?secret="), "{out}");
    assert!(!out.contains(PASSWORD));
    let codes: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 19 && l.matches('-').count() == 3)
        .collect();
    assert_eq!(codes.len(), 10, "{out}");
    let svg = std::fs::read_to_string(&qr).unwrap();
    assert!(svg.contains("<svg"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&qr).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(data.join("access.db"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The same username again is refused; so is a weak password, without echoing it.
    let err = fails(
        sotto(&data)
            .args(["user", "add", "default", "anna", "--role", "agent"])
            .env("SOTTO_NEW_PASSWORD", PASSWORD),
    );
    assert!(err.contains("exists"), "{err}");
    let err = fails(
        sotto(&data)
            .args(["user", "add", "default", "bo", "--role", "agent"])
            .env("SOTTO_NEW_PASSWORD", "hunter2"),
    );
    assert!(err.contains("at least 12"), "{err}");
    assert!(!err.contains("hunter2"));
    let err = fails(
        sotto(&data)
            .args(["user", "add", "default", "bo", "--role", "root"])
            .env("SOTTO_NEW_PASSWORD", PASSWORD),
    );
    assert!(err.contains("unknown Role"), "{err}");
    let err = fails(
        sotto(&data)
            .args(["user", "add", "nosuch", "bo", "--role", "agent"])
            .env("SOTTO_NEW_PASSWORD", PASSWORD),
    );
    assert!(err.contains("does not exist"), "{err}");

    let list = ok(sotto(&data).args(["user", "list", "default"]));
    assert!(
        list.contains("anna") && list.contains("supervisor,agent"),
        "{list}"
    );
    assert!(list.contains("pending"));

    ok(sotto(&data).args(["user", "roles", "default", "anna", "--role", "billing"]));
    ok(sotto(&data).args(["user", "override", "default", "anna", "--download", "deny"]));
    let json = ok(sotto(&data).args(["user", "list", "default", "--json"]));
    let u: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(u["roles"], serde_json::json!(["billing"]));
    assert_eq!(u["overrides"]["download"], "deny");

    let out = ok(sotto(&data).args(["user", "reset-2fa", "default", "anna"]));
    assert!(out.contains("otpauth://"));
    for c in &codes {
        assert!(!out.contains(c), "old recovery codes are replaced");
    }
    let err = fails(sotto(&data).args(["user", "reset-2fa", "default", "nobody"]));
    assert!(!err.contains("nobody"), "{err}");

    // Every change is in the audit log, by `cli`, without the username or secrets.
    let log = ok(sotto(&data).args(["audit", "log", "--tenant", "default", "--actor", "cli"]));
    assert!(log.matches("permission.change").count() >= 4, "{log}");
    assert!(!log.contains("anna"));
    assert!(!log.contains(PASSWORD));
    ok(sotto(&data).args(["audit", "verify"]));
}

#[test]
fn tokens_and_allowlists_through_the_cli() {
    let dir = init();
    let data = dir.path().join("data");
    let out = ok(sotto(&data).args([
        "token",
        "create",
        "default",
        "crm",
        "--scope",
        "interaction_list",
        "--scope",
        "transcript_read",
        "--expires-days",
        "30",
    ]));
    let token = out
        .lines()
        .find(|l| l.starts_with("sotto_"))
        .expect("the token is printed once")
        .to_owned();
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let list = ok(sotto(&data).args(["token", "list", "default"]));
    assert!(list.contains("crm") && list.contains("interaction_list,transcript_read"));
    assert!(list.contains("expires"));
    assert!(!list.contains(&token[40..]), "the secret is never listed");
    let err =
        fails(sotto(&data).args(["token", "create", "default", "x", "--scope", "everything"]));
    assert!(err.contains("unknown Permission"), "{err}");
    ok(sotto(&data).args(["token", "revoke", "default", &id]));
    assert!(ok(sotto(&data).args(["token", "list", "default"])).contains("revoked"));
    fails(sotto(&data).args(["token", "revoke", "default", &id]));

    ok(sotto(&data).args([
        "allowlist",
        "add",
        "default",
        "192.0.2.0/24",
        "--role",
        "admin",
    ]));
    ok(sotto(&data).args(["allowlist", "add", "default", "2001:db8::/32"]));
    ok(sotto(&data).args(["allowlist", "add", "default", "198.51.100.7"]));
    let err = fails(sotto(&data).args(["allowlist", "add", "default", "2001:db8::/32"]));
    assert!(err.contains("already"), "{err}");
    fails(sotto(&data).args(["allowlist", "add", "default", "not-a-net"]));
    let list = ok(sotto(&data).args(["allowlist", "list", "default"]));
    assert!(
        list.contains("192.0.2.0/24") && list.contains("admin"),
        "{list}"
    );
    assert!(list.contains("2001:db8::/32") && list.contains("198.51.100.7/32"));
    ok(sotto(&data).args([
        "allowlist",
        "remove",
        "default",
        "192.0.2.0/24",
        "--role",
        "admin",
    ]));
    assert!(!ok(sotto(&data).args(["allowlist", "list", "default"])).contains("192.0.2.0/24"));
    let log = ok(sotto(&data).args(["audit", "log", "--tenant", "default"]));
    assert!(log.matches("permission.change").count() >= 6, "{log}");
    assert!(!log.contains(&token[10..]));
    ok(sotto(&data).args(["audit", "verify"]));
}
