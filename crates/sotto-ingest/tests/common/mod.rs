//! Test harness: a vault on a temporary data directory, an ingest server on loopback, the
//! espeak-ng call fixture (see fixtures/make_call.py) and the checks every protocol's end-to-end
//! test makes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::{SinkExt, StreamExt};
use sotto_core::{ManualClock, ProcessingMode, TenantId};
use sotto_detect::Detector;
use sotto_ingest::{IngestConfig, IngestServer, IngestState};
use sotto_keys::{LocalKeyStore, MasterKey};
use sotto_store::{BlobStore, SqliteStore};
use sotto_vault::Vault;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub vault: Vault,
    pub server: IngestServer,
    pub tenant: TenantId,
}

pub async fn harness(mode: ProcessingMode, tweak: impl FnOnce(&mut IngestConfig)) -> Harness {
    harness_with(mode, tweak, |s| s).await
}

/// [`harness`] with the ingest state adjusted before the server starts (policy hooks).
pub async fn harness_with(
    mode: ProcessingMode,
    tweak: impl FnOnce(&mut IngestConfig),
    wrap: impl FnOnce(IngestState) -> IngestState,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    std::fs::create_dir_all(data.join("audit")).unwrap();
    let master = MasterKey::create_file(&data.join("master.key")).unwrap();
    let keys = LocalKeyStore::open(&data.join("keys/keys.db"), master)
        .await
        .unwrap();
    let store = SqliteStore::open(&data.join("sotto.db")).await.unwrap();
    let blobs = BlobStore::local(&data.join("blobs")).unwrap();
    let signer =
        sotto_audit::CheckpointSigner::create_file(&data.join("audit/checkpoint.key"), "t")
            .unwrap();
    let audit = sotto_audit::AuditLog::open(&data.join("audit/audit.db"), signer)
        .await
        .unwrap();
    let vault = Vault::new(
        Arc::new(store),
        blobs,
        Arc::new(keys),
        Arc::new(audit),
        Arc::new(Detector::new()),
        Arc::new(ManualClock::new(1_767_225_600_000)),
    );
    let tenant = TenantId::default_tenant();
    vault.put_tenant(&tenant, "Test", mode).await.unwrap();
    let mut cfg = IngestConfig::new(data.join("spool"));
    tweak(&mut cfg);
    let server = IngestServer::start_with(wrap(IngestState::new(cfg, vault.clone())))
        .await
        .unwrap();
    Harness {
        dir,
        data,
        vault,
        server,
        tenant,
    }
}

#[derive(serde::Deserialize, Clone)]
pub struct W {
    pub w: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(serde::Deserialize)]
pub struct Meta {
    pub caller: Vec<W>,
    pub agent: Vec<W>,
    pub card_ms: (u64, u64),
    pub name_ms: (u64, u64),
    pub health_ms: (u64, u64),
}

pub struct Fixture {
    pub caller: Vec<u8>,
    pub agent: Vec<u8>,
    pub meta: Meta,
}

pub fn fixture() -> Fixture {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    Fixture {
        caller: std::fs::read(d.join("caller.ulaw")).unwrap(),
        agent: std::fs::read(d.join("agent.ulaw")).unwrap(),
        meta: serde_json::from_slice(&std::fs::read(d.join("call.json")).unwrap()).unwrap(),
    }
}

/// Words of a leg grouped into phrases (a pause of more than 400 ms ends one).
pub fn phrases(words: &[W]) -> Vec<Vec<W>> {
    let mut out: Vec<Vec<W>> = Vec::new();
    for w in words {
        match out.last_mut() {
            Some(p) if w.start_ms <= p.last().unwrap().end_ms + 400 => p.push(w.clone()),
            _ => out.push(vec![w.clone()]),
        }
    }
    out
}

pub fn transcript_msg(speaker: &str, p: &[W]) -> String {
    let words: Vec<_> = p
        .iter()
        .map(|w| serde_json::json!({"w": w.w, "start_ms": w.start_ms, "end_ms": w.end_ms}))
        .collect();
    serde_json::json!({"type":"transcript","speaker":speaker,"words":words}).to_string()
}

pub fn heard_msg(speaker: &str, until_ms: u64) -> String {
    serde_json::json!({"type":"heard","speaker":speaker,"until_ms":until_ms}).to_string()
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(h: &Harness, path: &str) -> Ws {
    let url = format!("ws://{}{}", h.server.ws_addr, path);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

pub async fn next_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(_) => return serde_json::json!({"type":"socket_closed"}),
            _ => {}
        }
    }
}

/// Supplies the whole fixture transcript for a call through a native `attach` connection, then
/// waits for a pong so everything was applied.
pub async fn attach_and_supply(h: &Harness, call: &str, fx: &Fixture, agent_speaker: &str) {
    let mut ws = connect(h, "/v1/ingest/native").await;
    ws.send(Message::Text(
        serde_json::json!({"type":"attach","call_id":call})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let a = next_json(&mut ws).await;
    assert_eq!(a["type"], "attached", "{a}");
    supply_all(&mut ws, fx, agent_speaker).await;
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    let p = next_json(&mut ws).await;
    assert_eq!(p["type"], "pong");
    ws.close(None).await.ok();
}

pub async fn supply_all(ws: &mut Ws, fx: &Fixture, agent_speaker: &str) {
    for p in phrases(&fx.meta.caller) {
        ws.send(Message::Text(transcript_msg("caller", &p).into()))
            .await
            .unwrap();
    }
    for p in phrases(&fx.meta.agent) {
        ws.send(Message::Text(transcript_msg(agent_speaker, &p).into()))
            .await
            .unwrap();
    }
    let end = fx.caller.len() as u64 / 8;
    ws.send(Message::Text(heard_msg("caller", end).into()))
        .await
        .unwrap();
    ws.send(Message::Text(heard_msg(agent_speaker, end).into()))
        .await
        .unwrap();
}

/// Waits until the call is no longer live (committed).
pub async fn wait_ended(h: &Harness) {
    for _ in 0..500 {
        if h.server.registry().is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("call did not end");
}

pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let e: f64 = samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64;
    if e <= 0.0 {
        -120.0
    } else {
        10.0 * (e / (32768.0 * 32768.0)).log10()
    }
}

/// The checks of the issue: transcript redacted/encrypted per policy, audio silent over the
/// card and unchanged elsewhere, no planted value in clear anywhere under the data directory.
pub async fn check_stored_call(h: &Harness, fx: &Fixture, expect_legs: usize, pcm_source: bool) {
    let list = h
        .vault
        .list_interactions(&h.tenant, &Default::default())
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "one interaction stored");
    let view = h
        .vault
        .read_interaction(&h.tenant, list[0].id, "test")
        .await
        .unwrap();
    let all: String = view
        .segments
        .iter()
        .map(|s| s.text.expose().to_owned())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        all.contains("[PAYMENT_CARD]"),
        "card redacted in text: {}",
        all.len()
    );
    assert!(!all.contains("eight two one one"), "card words gone");
    assert!(!all.contains("diabetes"), "health term gone");
    assert!(
        all.contains("Quenfeldt"),
        "the name is kept (sealed under the subject key)"
    );
    assert_eq!(view.recordings.len(), expect_legs, "one recording per leg");

    // caller leg recording
    let rec = view
        .recordings
        .iter()
        .find(|r| r.duration_ms > 0)
        .expect("recording");
    let mut stored = None;
    for r in &view.recordings {
        let pcm = h
            .vault
            .read_recording(&h.tenant, view.summary.subject, r, "test")
            .await
            .unwrap();
        // the caller leg is the one with speech over the card interval in the original
        let (a, b) = fx.meta.card_ms;
        let orig = sotto_audio::g711::ulaw_decode_slice(&fx.caller);
        let o = &orig[(a * 8) as usize..(b * 8) as usize];
        if rms_dbfs(o) > -40.0 && pcm.samples.len() + 8000 >= orig.len() {
            // pick the recording whose first seconds match the caller's original
            let n = 2 * 8000;
            if pcm.samples.len() > n && pcm.samples[..n] == orig[..n] {
                stored = Some(pcm);
            }
        }
    }
    let _ = rec;
    let stored = stored.expect("caller recording identified");
    let orig = sotto_audio::g711::ulaw_decode_slice(&fx.caller);
    let (a, b) = fx.meta.card_ms;
    let card = &stored.samples[(a * 8) as usize..(b * 8) as usize];
    let card_db = rms_dbfs(card);
    assert!(card_db < -60.0, "card interval is silent: {card_db} dBFS");
    let before_orig = rms_dbfs(&orig[(a * 8) as usize..(b * 8) as usize]);
    assert!(
        before_orig > -40.0,
        "the original had speech there: {before_orig}"
    );
    // unchanged before the card (minus padding) and after the health statement
    let pad = 500;
    let pre = ((a - pad) * 8) as usize;
    assert_eq!(
        &stored.samples[..pre],
        &orig[..pre],
        "unchanged before the card"
    );
    let (_, he) = fx.meta.health_ms;
    let post = ((he + pad) * 8) as usize;
    let end = stored.samples.len().min(orig.len());
    assert_eq!(
        &stored.samples[post..end],
        &orig[post..end],
        "unchanged after the health statement"
    );
    let (ha, hb) = fx.meta.health_ms;
    let health_db = rms_dbfs(&stored.samples[(ha * 8) as usize..(hb * 8) as usize]);
    assert!(health_db < -60.0, "health statement silenced: {health_db}");
    let _ = pcm_source;

    // no spool left, nothing planted in clear
    let spool = h.data.join("spool");
    if spool.exists() {
        assert_eq!(
            std::fs::read_dir(&spool).unwrap().count(),
            0,
            "spools removed"
        );
    }
    let card_audio = &fx.caller[(a * 8 + 2000) as usize..(a * 8 + 2064) as usize];
    let mut canaries: Vec<Vec<u8>> = vec![
        b"Quenfeldt".to_vec(),
        b"quenfeldt".to_vec(),
        b"diabetes".to_vec(),
        b"asthma".to_vec(),
        b"eight two one one".to_vec(),
        b"4520987654".to_vec(),
        card_audio.to_vec(),
    ];
    let pcm_card: Vec<u8> = orig[(a * 8 + 2000) as usize..(a * 8 + 2032) as usize]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    canaries.push(pcm_card);
    scan(&h.data, &canaries);
}

pub fn scan(dir: &Path, canaries: &[Vec<u8>]) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            scan(&p, canaries);
        } else {
            let bytes = std::fs::read(&p).unwrap();
            for c in canaries {
                assert!(
                    !bytes.windows(c.len()).any(|w| w == &c[..]),
                    "a planted value is in clear in {}",
                    p.display()
                );
            }
        }
    }
}
