//! Webhooks from `sotto serve`, end to end with the real binary: `[[webhooks]]` in sotto.toml,
//! a retention run inside the server deletes a due call and erases its subject, the outbox
//! dispatcher posts `retention.applied` and `subject.erased` to a loopback receiver that answers
//! 500 first and 200 after: the retry comes after the configured backoff with the same
//! `Sotto-Delivery`, every request carries a valid `Sotto-Signature`, and bodies hold ids and
//! counts only. Bad `[[webhooks]]` entries stop the start with one line naming the field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_policy::webhook::verify_signature;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec-0123456789abcdef";
const CALLER: &str = "+4520123456";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sotto(data: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sotto"));
    c.arg("--data-dir").arg(data).arg("--config").arg(config);
    for v in [
        "SOTTO_CONFIG",
        "SOTTO_DATA_DIR",
        "SOTTO_MASTER_KEY",
        "SOTTO_MASTER_KEY_FILE",
        "SOTTO_DEFAULT_TENANT",
        "SOTTO_DEFAULT_REGION",
    ] {
        c.env_remove(v);
    }
    c
}

fn demo_asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/demo")
        .join(name)
}

struct Received {
    at: Instant,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A loopback HTTP receiver: answers 500 to the first request, 200 to the others.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut n = 0;
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = HashMap::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            n += 1;
            let status = if n == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tx.send(Received {
                at: Instant::now(),
                headers,
                body,
            });
        }
    });
    (format!("http://{addr}/hooks/sotto"), rx)
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn serve_signs_delivers_and_retries_webhooks_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let secret_file = dir.path().join("crm.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let (url, rx) = receiver();
    let config = dir.path().join("sotto.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
retention_every_s = 1

[webhook_delivery]
base_backoff_ms = 700
poll_ms = 100

[[webhooks]]
name = "crm"
url = "{url}"
secret_file = "{}"
events = ["retention.applied", "subject.erased"]
tenant = "default"
"#,
            secret_file.display()
        ),
    )
    .unwrap();

    // A call kept for 0 days: due at once.
    let ok = |c: &mut Command| {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(sotto(&data, &config).arg("init"));
    ok(sotto(&data, &config).args(["policy", "set", "--mode", "record", "--days", "0"]));
    ok(sotto(&data, &config)
        .arg("ingest")
        .arg(demo_asset("call1.wav"))
        .args(["--caller", CALLER, "--transcript"])
        .arg(demo_asset("call1.json")));

    let log = dir.path().join("serve.stderr");
    let mut child = sotto(&data, &config)
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-http"])
        .args(["--ingest-listen", "off"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.contains("serving http://"), "{line}");

    // Two events, the first refused once: three requests.
    let mut got = Vec::new();
    while got.len() < 3 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(r) => got.push(r),
            Err(_) => panic!(
                "only {} webhook requests; server log: {}",
                got.len(),
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    }
    let mut events = Vec::new();
    for r in &got {
        let sig = r.headers.get("sotto-signature").expect("signed");
        assert!(
            verify_signature(SECRET.as_bytes(), sig, &r.body, now_s(), 300),
            "signature verifies over the raw body"
        );
        assert!(!verify_signature(
            b"another-secret-123",
            sig,
            &r.body,
            now_s(),
            300
        ));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains(CALLER) && !text.contains("20123456"),
            "no number"
        );
        assert_eq!(body["tenant"], "default");
        assert_eq!(
            r.headers.get("sotto-event").map(String::as_str),
            body["event"].as_str()
        );
        assert_eq!(
            r.headers.get("sotto-delivery").map(String::as_str),
            body["id"].as_str()
        );
        events.push(body["event"].as_str().unwrap().to_owned());
    }
    // The refused delivery came again, same id, after at least the backoff.
    let first = &got[0];
    let id = first.headers.get("sotto-delivery").unwrap();
    let retry = got[1..]
        .iter()
        .find(|r| r.headers.get("sotto-delivery") == Some(id))
        .expect("the refused event was retried");
    let waited = retry.at - first.at;
    assert!(
        waited >= Duration::from_millis(650),
        "retried after the backoff, not at once: {waited:?}"
    );
    events.sort();
    events.dedup();
    assert_eq!(events, ["retention.applied", "subject.erased"]);
    let erased: serde_json::Value = got
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .find(|b| b["event"] == "subject.erased")
        .unwrap();
    assert!(erased["data"]["subject"].is_string() && erased["data"]["receipt"].is_string());
    let applied: serde_json::Value = got
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .find(|b| b["event"] == "retention.applied")
        .unwrap();
    assert_eq!(applied["data"]["deleted"], 1, "{applied}");
    // Ids and counts only: the tenant allowed no extra fields.
    assert!(applied["data"].get("channel").is_none());
}

fn start_error(dir: &Path, webhook: &str) -> String {
    let config = dir.join("bad.toml");
    std::fs::write(&config, format!("[[webhooks]]\n{webhook}\n")).unwrap();
    let out = sotto(&dir.join("data"), &config)
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-http"])
        .args(["--ingest-listen", "off"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    lines[0].to_owned()
}

#[test]
fn bad_webhook_entries_stop_the_start_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = format!("secret = \"{SECRET}\"");
    let e = start_error(
        dir.path(),
        &format!("url = \"ftp://crm.example/x?token=abc\"\n{s}"),
    );
    assert!(e.contains("url") && !e.contains("token=abc"), "{e}");
    let e = start_error(dir.path(), "url = \"https://crm.example/x\"");
    assert!(e.contains("secret"), "{e}");
    let e = start_error(
        dir.path(),
        &format!("url = \"https://crm.example/x\"\n{s}\nevents = [\"call.finished\"]"),
    );
    assert!(e.contains("events") && e.contains("call.finished"), "{e}");
    let e = start_error(
        dir.path(),
        &format!("url = \"https://crm.example/x\"\n{s}\nfields = [\"caller\"]"),
    );
    assert!(e.contains("fields"), "{e}");
    let e = start_error(
        dir.path(),
        "url = \"https://crm.example/x\"\nsecret_file = \"/nonexistent/crm.secret\"",
    );
    assert!(e.contains("secret_file"), "{e}");
    let e = start_error(
        dir.path(),
        &format!("url = \"https://crm.example/x\"\n{s}\nsecrett = \"x\""),
    );
    assert!(e.contains("secrett"), "{e}");
    assert!(!e.contains(SECRET));
}
