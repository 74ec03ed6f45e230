//! `sotto serve` end to end: the real binary on embedded defaults (a fresh data directory),
//! over plain HTTP on loopback and over HTTPS with the generated self-signed certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sotto serve` on a free loopback port; returns the child, the URL it printed and
/// what it wrote to stderr before that line (warnings come first).
fn start(data: &Path, extra: &[&str]) -> (Server, String, String) {
    let log = data.with_extension(format!("stderr-{}", extra.len()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sotto"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--ingest-listen", "127.0.0.1:0"])
        .args(["--audiosocket-listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for v in [
        "SOTTO_CONFIG",
        "SOTTO_DATA_DIR",
        "SOTTO_MASTER_KEY",
        "SOTTO_MASTER_KEY_FILE",
    ] {
        cmd.env_remove(v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    (server, url, err)
}

#[test]
fn serves_plain_http_on_loopback_and_https_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let (server, url, _) = start(&data, &["--insecure-http"]);
    let addr = url.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp
        .to_ascii_lowercase()
        .contains("strict-transport-security"));
    assert!(resp.contains("\"status\":\"ok\""));
    drop(server);
    assert!(
        data.join("master.key").is_file(),
        "serve initialised the data directory"
    );

    let (_server, url, err) = start(&data, &[]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(
        err.contains("WARNING") && err.contains("SELF-SIGNED"),
        "{err}"
    );
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        assert!(data.join("tls").join(f).is_file(), "{f}");
    }
    // A plain request to the TLS port gets no HTTP answer.
    let addr = url.trim_start_matches("https://").to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[test]
fn insecure_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--listen", "0.0.0.0:0", "--insecure-http"])
        .env_remove("SOTTO_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}
