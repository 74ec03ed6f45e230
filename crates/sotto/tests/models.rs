//! `sotto models fetch` / `sotto models list` through the real binary, against a loopback HTTP
//! server (tests never reach the internet): checksum verification, resume of a partial download,
//! atomic placement, the one-line error without a network, refusals of unverifiable models; and
//! the engine choice of a binary built without the `whisper` feature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use sha1::{Digest, Sha1};
use sotto_transcribe::ggml_model::{write_synthetic, Fill, Hparams};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn sotto(data: &Path) -> Command {
    let mut c = Command::cargo_bin("sotto").unwrap();
    c.arg("--data-dir").arg(data);
    for v in [
        "SOTTO_CONFIG",
        "SOTTO_DATA_DIR",
        "SOTTO_MODELS_DIR",
        "SOTTO_MODELS_URL",
        "SOTTO_TRANSCRIBE_ENGINE",
        "SOTTO_WHISPER_MODEL",
    ] {
        c.env_remove(v);
    }
    c
}

/// A small model with the real vocabulary and contexts (narrow layers), and its SHA-1.
fn model_bytes() -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    let h = Hparams {
        n_audio_state: 64,
        n_text_state: 64,
        n_audio_head: 2,
        n_text_head: 2,
        n_audio_layer: 1,
        n_text_layer: 1,
        ..Hparams::tiny()
    };
    write_synthetic(&p, &h, Fill::Zeros).unwrap();
    let b = std::fs::read(&p).unwrap();
    let sum = hex::encode(Sha1::digest(&b));
    (b, sum)
}

struct Server {
    url: String,
    ranges: Arc<Mutex<Vec<String>>>,
    requests: Arc<AtomicUsize>,
}

/// Serves `body` at `/ggml-NAME.bin` for any NAME, honouring `Range: bytes=N-`.
fn serve(body: Vec<u8>) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let (r2, n2) = (ranges.clone(), requests.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            n2.fetch_add(1, Ordering::SeqCst);
            let mut rd = BufReader::new(s.try_clone().unwrap());
            let mut start = 0usize;
            loop {
                let mut line = String::new();
                if rd.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("range: bytes=") {
                    r2.lock().unwrap().push(v.trim().to_owned());
                    start = v.trim().trim_end_matches('-').parse().unwrap_or(0);
                }
            }
            let head = if start > 0 {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
                    body.len() - start,
                    start,
                    body.len() - 1,
                    body.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
            };
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body[start..]);
            let _ = s.flush();
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    });
    Server {
        url,
        ranges,
        requests,
    }
}

fn stderr_of(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        !out.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn fetch_verifies_places_atomically_and_lists() {
    let (body, sum) = model_bytes();
    let srv = serve(body.clone());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("m");
    let out = sotto(data.path())
        .args([
            "models",
            "fetch",
            "test-mini",
            "--sha1",
            &sum,
            "--url",
            &srv.url,
        ])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dest = dir.join("ggml-test-mini.bin");
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!dir.join("ggml-test-mini.bin.part").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("verified"));

    // present already: no second download
    let n = srv.requests.load(Ordering::SeqCst);
    sotto(data.path())
        .args([
            "models",
            "fetch",
            "test-mini",
            "--sha1",
            &sum,
            "--url",
            &srv.url,
        ])
        .arg("--dir")
        .arg(&dir)
        .assert()
        .success();
    assert_eq!(srv.requests.load(Ordering::SeqCst), n);

    // list: the model, what it is; a leftover part is named as such
    std::fs::write(dir.join("ggml-x.bin.part"), b"abc").unwrap();
    std::fs::write(dir.join("notes.bin"), b"not a model").unwrap();
    let out = sotto(data.path())
        .args(["models", "list"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        list.contains("ggml-test-mini.bin") && list.contains("f16, multilingual"),
        "{list}"
    );
    assert!(list.contains("incomplete download"), "{list}");
    assert!(
        list.contains("notes.bin") && list.contains("NOT loadable"),
        "{list}"
    );
}

#[test]
fn a_partial_download_is_resumed() {
    let (body, sum) = model_bytes();
    let srv = serve(body.clone());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("models");
    std::fs::create_dir_all(&dir).unwrap();
    let half = body.len() / 2;
    std::fs::write(dir.join("ggml-test-mini.bin.part"), &body[..half]).unwrap();
    // the default models dir is <data_dir>/models
    sotto(data.path())
        .args([
            "models",
            "fetch",
            "test-mini",
            "--sha1",
            &sum,
            "--url",
            &srv.url,
        ])
        .assert()
        .success();
    assert_eq!(*srv.ranges.lock().unwrap(), vec![format!("{half}-")]);
    assert_eq!(std::fs::read(dir.join("ggml-test-mini.bin")).unwrap(), body);
}

#[test]
fn a_wrong_checksum_keeps_nothing() {
    let (body, _) = model_bytes();
    let srv = serve(body);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("m");
    let e = stderr_of(
        sotto(data.path())
            .args(["models", "fetch", "test-mini", "--url", &srv.url])
            .args(["--sha1", &"0".repeat(40)])
            .arg("--dir")
            .arg(&dir),
    );
    assert!(e.contains("checksum mismatch"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn no_internet_is_one_clear_line() {
    // A loopback port nothing listens on: the connection is refused, like a machine offline.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("m");
    let e = stderr_of(
        sotto(data.path())
            .args(["models", "fetch", "base"])
            .args(["--url", &format!("http://127.0.0.1:{port}")])
            .arg("--dir")
            .arg(&dir),
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.starts_with("error: cannot download the model"), "{e}");
    assert!(e.contains("no internet access"), "{e}");
    assert!(!dir.join("ggml-base.bin").exists());
}

#[test]
fn unverifiable_or_unknown_models_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9";
    let e = stderr_of(sotto(data.path()).args(["models", "fetch", "tiny-q5_1", "--url", url]));
    assert!(
        e.contains("no published checksum") && e.contains("--no-verify"),
        "{e}"
    );
    let e = stderr_of(sotto(data.path()).args(["models", "fetch", "huge-v9", "--url", url]));
    assert!(e.contains("unknown model"), "{e}");
    let e = stderr_of(sotto(data.path()).args([
        "models",
        "fetch",
        "../x",
        "--no-verify",
        "--url",
        url,
    ]));
    assert!(e.contains("may only contain"), "{e}");
}

#[test]
fn choosing_whisper_without_the_feature_is_one_clear_line() {
    if cfg!(feature = "whisper") {
        eprintln!("skipped: this build has the whisper feature");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let e = stderr_of(
        sotto(data.path())
            .env("SOTTO_TRANSCRIBE_ENGINE", "whisper")
            .args(["list"]),
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("built without the `whisper` cargo feature"),
        "{e}"
    );
    let e = stderr_of(sotto(data.path()).args(["bench", "whisper", "--seconds", "1"]));
    assert!(
        e.contains("built without the `whisper` cargo feature"),
        "{e}"
    );
}
