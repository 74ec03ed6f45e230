//! `sotto loadgen`: N concurrent simulated two-track calls over one protocol on loopback, in
//! real time (20 ms frames), against an ingest server in this process, with bot transcripts
//! (espeak-ng speech with a card number, a name and a health statement, looped). Reports
//! sustained calls, frame latency p50/p99, CPU, RSS, dropped frames, and at the end checks that
//! every stored caller recording is silent over every card-number interval.
//!
//! The load generator and the server share the machine (and the process): the numbers are an
//! upper bound on Sotto's own cost, with the client's work included.

use crate::proto::{audiosocket, native, twilio};
use crate::{IngestConfig, IngestServer};
use futures::{SinkExt, StreamExt};
use sotto_core::{InteractionId, Personal, ProcessingMode, Speaker, SystemClock, TenantId};
use sotto_transcribe::{Supplied, Word};
use sotto_vault::Vault;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

static CALLER: &[u8] = include_bytes!("../tests/fixtures/caller.ulaw");
static AGENT: &[u8] = include_bytes!("../tests/fixtures/agent.ulaw");
static META: &str = include_str!("../tests/fixtures/call.json");

/// Which protocol the simulated calls speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Native,
    Twilio,
    AudioSocket,
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" => Ok(Protocol::Native),
            "twilio" => Ok(Protocol::Twilio),
            "audiosocket" => Ok(Protocol::AudioSocket),
            _ => Err("expected native, twilio or audiosocket".into()),
        }
    }
}

/// Load parameters.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub protocol: Protocol,
    pub calls: usize,
    pub seconds: u64,
    /// Calls are started evenly over this many seconds.
    pub ramp_seconds: u64,
    /// Where the data goes (a fresh directory is made inside; removed at the end unless kept).
    pub work_dir: PathBuf,
    pub keep: bool,
    /// Check at most this many stored recordings for silence (0: all).
    pub verify_max: usize,
    /// How the recordings are archived (lossless or Opus).
    pub archive: sotto_vault::ArchiveFormat,
}

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub protocol: String,
    pub archive: String,
    pub calls_requested: usize,
    pub calls_sustained: u64,
    pub seconds: u64,
    /// Calls active when the measured window began.
    pub calls_established: u64,
    /// Seconds from the first call to the last one established (None: not all were).
    pub setup_seconds: Option<f64>,
    /// Frames dropped during the measured window (the totals below include the ramp).
    pub frames_dropped_client_window: u64,
    pub frames_dropped_server_window: u64,
    /// CPU of the whole process (server and load generator) during the window.
    pub cpu_percent_window: f64,
    pub frames_sent: u64,
    pub frames_dropped_client: u64,
    pub frames_dropped_server: u64,
    pub latency_p50_ms: u64,
    pub latency_p99_ms: u64,
    pub latency_max_ms: u64,
    pub cpu_percent: f64,
    pub rss_peak_mib: f64,
    pub rss_end_mib: f64,
    pub session_mib: f64,
    pub delay_line_mib: f64,
    pub gap_ms: u64,
    pub calls_committed: u64,
    pub calls_failed: u64,
    pub recordings_checked: u64,
    pub card_intervals_checked: u64,
    pub card_intervals_not_silent: u64,
    pub closes: String,
}

#[derive(serde::Deserialize, Clone)]
struct W {
    w: String,
    start_ms: u64,
    end_ms: u64,
}

#[derive(serde::Deserialize)]
struct Meta {
    caller: Vec<W>,
    agent: Vec<W>,
    card_ms: (u64, u64),
}

fn phrases(words: &[W]) -> Vec<Vec<W>> {
    let mut out: Vec<Vec<W>> = Vec::new();
    for w in words {
        match out.last_mut() {
            Some(p) if p.last().is_some_and(|l| w.start_ms <= l.end_ms + 400) => p.push(w.clone()),
            _ => out.push(vec![w.clone()]),
        }
    }
    out
}

struct Shared {
    /// Set when the measured window is over: every call hangs up.
    stop: std::sync::atomic::AtomicBool,
    sent: AtomicU64,
    dropped: AtomicU64,
    max_lat: AtomicU64,
}

/// Seconds after the ramp the window waits for the last calls to be established.
const SETUP_GRACE_S: u64 = 60;

/// Runs the load and returns the report (errors are setup failures, as text).
pub async fn run(opts: LoadOptions) -> Result<LoadReport, String> {
    let meta: Meta = serde_json::from_str(META).map_err(|e| e.to_string())?;
    let dir = opts
        .work_dir
        .join(format!("sotto-loadgen-{}", uuid::Uuid::new_v4()));
    let vault = open_vault(&dir)
        .await?
        .with_archive_policy(sotto_vault::ArchivePolicy {
            default: opts.archive,
            ..Default::default()
        });
    let mut cfg = IngestConfig::new(dir.join("spool"));
    cfg.idle_timeout = Duration::from_secs(30);
    let server = IngestServer::start(cfg, vault.clone())
        .await
        .map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        stop: std::sync::atomic::AtomicBool::new(false),
        sent: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        max_lat: AtomicU64::new(0),
    });
    let meta = Arc::new(meta);
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(opts.calls);
    for i in 0..opts.calls {
        let delay = if opts.calls > 1 {
            Duration::from_millis(opts.ramp_seconds * 1000 * i as u64 / opts.calls as u64)
        } else {
            Duration::ZERO
        };
        let server_ws = server.ws_addr;
        let server_as = server.audiosocket_addr;
        let st = server.state.clone();
        let shared = shared.clone();
        let meta = meta.clone();
        let proto = opts.protocol;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let r = match proto {
                Protocol::Native => call_native(server_ws, i, &shared, &meta).await,
                Protocol::Twilio => call_twilio(server_ws, &st, i, &shared, &meta).await,
                Protocol::AudioSocket => match server_as {
                    Some(a) => call_audiosocket(a, &st, i, &shared, &meta).await,
                    None => Err("no AudioSocket listener".into()),
                },
            };
            if let Err(e) = &r {
                tracing::warn!(call = i, error = %e, "load call failed");
            }
            r.is_ok()
        }));
    }
    // The window starts once every call is established (or the ramp plus a grace period is
    // over, for a server that cannot take them all): latency, sustained calls, memory.
    let m = server.metrics().clone();
    let setup_deadline = t0 + Duration::from_secs(opts.ramp_seconds + SETUP_GRACE_S);
    let mut established_after = None;
    while Instant::now() < setup_deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if m.active_calls.load(Ordering::Relaxed) >= opts.calls as i64 {
            established_after = Some(t0.elapsed());
            break;
        }
    }
    let calls_established = m.active_calls.load(Ordering::Relaxed).max(0) as u64;
    m.reset_latency();
    let dropped_before = (
        shared.dropped.load(Ordering::Relaxed),
        m.dropped_frames.load(Ordering::Relaxed),
    );
    let window_end = Instant::now() + Duration::from_secs(opts.seconds);
    let cpu_w0 = cpu_seconds();
    let w0 = Instant::now();
    let mut peak_rss = 0.0f64;
    let mut min_active = i64::MAX;
    let mut session_mib: f64 = 0.0;
    let mut delay_mib: f64 = 0.0;
    while Instant::now() < window_end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_rss = peak_rss.max(rss_mib().0);
        min_active = min_active.min(m.active_calls.load(Ordering::Relaxed));
        delay_mib = delay_mib.max(m.delay_line_bytes.load(Ordering::Relaxed) as f64 / 1048576.0);
        let mem: usize = server
            .registry()
            .list()
            .iter()
            .filter_map(|c| server.registry().memory_bytes(c.id))
            .sum();
        session_mib = session_mib.max(mem as f64 / 1048576.0);
    }
    let window_cpu = (cpu_seconds() - cpu_w0) / w0.elapsed().as_secs_f64() * 100.0;
    let window_dropped = (
        shared.dropped.load(Ordering::Relaxed) - dropped_before.0,
        m.dropped_frames.load(Ordering::Relaxed) - dropped_before.1,
    );
    shared.stop.store(true, Ordering::Relaxed);
    let (p50, _) = m.latency_quantile(0.5);
    let (p99, _) = m.latency_quantile(0.99);
    let (pmax, _) = m.latency_quantile(1.0);
    let cpu = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let mut ok = 0u64;
    for t in tasks {
        if matches!(t.await, Ok(true)) {
            ok += 1;
        }
    }
    for _ in 0..6000 {
        if server.registry().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (rss_end, hwm) = rss_mib();
    let closes = m
        .render_prometheus()
        .lines()
        .filter(|l| l.starts_with("sotto_ingest_calls_closed_total{"))
        .map(|l| {
            l.trim_start_matches("sotto_ingest_calls_closed_total")
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let (recs, intervals, loud) = verify(&vault, &meta, opts.verify_max).await?;
    let report = LoadReport {
        protocol: format!("{:?}", opts.protocol).to_lowercase(),
        archive: opts.archive.to_string(),
        calls_requested: opts.calls,
        calls_sustained: if min_active == i64::MAX {
            0
        } else {
            min_active.max(0) as u64
        }
        .min(ok),
        seconds: opts.seconds,
        calls_established,
        setup_seconds: established_after.map(|d| d.as_secs_f64()),
        frames_dropped_client_window: window_dropped.0,
        frames_dropped_server_window: window_dropped.1,
        cpu_percent_window: window_cpu,
        frames_sent: shared.sent.load(Ordering::Relaxed),
        frames_dropped_client: shared.dropped.load(Ordering::Relaxed),
        frames_dropped_server: m.dropped_frames.load(Ordering::Relaxed),
        latency_p50_ms: p50,
        latency_p99_ms: p99,
        latency_max_ms: pmax.max(shared.max_lat.load(Ordering::Relaxed)),
        cpu_percent: cpu,
        rss_peak_mib: peak_rss.max(hwm),
        rss_end_mib: rss_end,
        session_mib,
        delay_line_mib: delay_mib,
        gap_ms: m.gap_ms.load(Ordering::Relaxed),
        calls_committed: m.calls_finished.load(Ordering::Relaxed),
        calls_failed: m.calls_failed.load(Ordering::Relaxed),
        recordings_checked: recs,
        card_intervals_checked: intervals,
        card_intervals_not_silent: loud,
        closes,
    };
    server.shutdown().await;
    if !opts.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(report)
}

async fn open_vault(dir: &std::path::Path) -> Result<Vault, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    std::fs::create_dir_all(dir.join("keys")).map_err(|x| e(&x))?;
    std::fs::create_dir_all(dir.join("audit")).map_err(|x| e(&x))?;
    let master = sotto_keys::MasterKey::create_file(&dir.join("master.key")).map_err(|x| e(&x))?;
    let keys = sotto_keys::LocalKeyStore::open(&dir.join("keys/keys.db"), master)
        .await
        .map_err(|x| e(&x))?;
    let store = sotto_store::SqliteStore::open(&dir.join("sotto.db"))
        .await
        .map_err(|x| e(&x))?;
    let blobs = sotto_store::BlobStore::local(&dir.join("blobs")).map_err(|x| e(&x))?;
    let signer =
        sotto_audit::CheckpointSigner::create_file(&dir.join("audit/checkpoint.key"), "loadgen")
            .map_err(|x| e(&x))?;
    let audit = sotto_audit::AuditLog::open(&dir.join("audit/audit.db"), signer)
        .await
        .map_err(|x| e(&x))?;
    let vault = Vault::new(
        Arc::new(store),
        blobs,
        Arc::new(keys),
        Arc::new(audit),
        Arc::new(sotto_detect::Detector::new()),
        Arc::new(SystemClock),
    );
    vault
        .put_tenant(&TenantId::default_tenant(), "Load", ProcessingMode::Record)
        .await
        .map_err(|x| e(&x))?;
    Ok(vault)
}

fn fixture_ms() -> u64 {
    CALLER.len() as u64 / 8
}

/// The frame schedule of one call: yields how many frames are due, counting frames more than
/// 1 s late as dropped (skipped), the way a real-time source loses them.
struct Pacer {
    start: tokio::time::Instant,
    next: u64,
}

impl Pacer {
    fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            next: 0,
        }
    }
    async fn due(&mut self, shared: &Shared) -> u64 {
        let at = self.start + Duration::from_millis(self.next * 20);
        tokio::time::sleep_until(at).await;
        let now = tokio::time::Instant::now();
        let late = now.duration_since(at).as_millis() as u64;
        shared.max_lat.fetch_max(late, Ordering::Relaxed);
        let due_to = now.duration_since(self.start).as_millis() as u64 / 20;
        if due_to > self.next + 50 {
            let skip = due_to - self.next - 50;
            shared.dropped.fetch_add(skip * 2, Ordering::Relaxed);
            self.next += skip;
        }
        (due_to + 1).saturating_sub(self.next).max(1)
    }
}

/// Transcript events due by media time `t` (ms) for the looped fixture.
struct Script {
    caller: Vec<Vec<W>>,
    agent: Vec<Vec<W>>,
    ci: usize,
    ai: usize,
    loop_n: u64,
    heard: u64,
}

impl Script {
    fn new(m: &Meta) -> Self {
        Self {
            caller: phrases(&m.caller),
            agent: phrases(&m.agent),
            ci: 0,
            ai: 0,
            loop_n: 0,
            heard: 0,
        }
    }
    /// (speaker, words) due up to `t`, plus a `heard` each second.
    fn due(&mut self, t: u64, out: &mut Vec<(Speaker, Supplied)>) {
        let len = fixture_ms();
        loop {
            let base = self.loop_n * len;
            let mut progressed = false;
            if let Some(p) = self.caller.get(self.ci) {
                if p.last().is_some_and(|w| base + w.end_ms <= t) {
                    out.push((Speaker::Caller, words(p, base)));
                    self.ci += 1;
                    progressed = true;
                }
            }
            if let Some(p) = self.agent.get(self.ai) {
                if p.last().is_some_and(|w| base + w.end_ms <= t) {
                    out.push((Speaker::Agent, words(p, base)));
                    self.ai += 1;
                    progressed = true;
                }
            }
            if self.ci >= self.caller.len() && self.ai >= self.agent.len() && base + len <= t {
                self.loop_n += 1;
                self.ci = 0;
                self.ai = 0;
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if t >= self.heard + 1000 {
            self.heard = t;
            out.push((Speaker::Caller, Supplied::Heard { until_ms: t }));
            out.push((Speaker::Agent, Supplied::Heard { until_ms: t }));
        }
    }
}

fn words(p: &[W], base: u64) -> Supplied {
    Supplied::Words {
        words: p
            .iter()
            .map(|w| Word {
                text: Personal::new(w.w.clone()),
                start_ms: base + w.start_ms,
                end_ms: base + w.end_ms,
                confidence: 1.0,
            })
            .collect(),
        kind: None,
        until_ms: None,
    }
}

fn supplied_json(sp: Speaker, s: &Supplied) -> String {
    match s {
        Supplied::Words { words, .. } => {
            let ws: Vec<_> = words
                .iter()
                .map(|w| serde_json::json!({"w": w.text.expose(), "start_ms": w.start_ms, "end_ms": w.end_ms}))
                .collect();
            serde_json::json!({"type":"transcript","speaker":sp,"words":ws}).to_string()
        }
        Supplied::Heard { until_ms } => {
            serde_json::json!({"type":"heard","speaker":sp,"until_ms":until_ms}).to_string()
        }
    }
}

fn chunk(src: &[u8], frame: u64) -> &[u8] {
    let n = src.len() / 160;
    let i = (frame as usize) % n.max(1);
    &src[i * 160..(i + 1) * 160]
}

async fn call_native(
    addr: std::net::SocketAddr,
    i: usize,
    shared: &Shared,
    meta: &Meta,
) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ingest/native"))
        .await
        .map_err(|e| e.to_string())?;
    let start = serde_json::json!({"type":"start","caller":format!("+45{:08}", 20_000_000 + i),
        "consent":"consent","lang":"en",
        "legs":[{"speaker":"caller","encoding":"mulaw","rate":8000},{"speaker":"agent","encoding":"mulaw","rate":8000}]});
    ws.send(Message::Text(start.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    match ws.next().await {
        Some(Ok(Message::Text(_))) => {}
        _ => return Err("no started".into()),
    }
    let mut pacer = Pacer::new();
    let mut script = Script::new(meta);
    let mut due = Vec::new();
    let mut frame = Vec::with_capacity(170);
    while !shared.stop.load(Ordering::Relaxed) {
        let n = pacer.due(shared).await;
        for _ in 0..n {
            let f = pacer.next;
            native::encode_binary(0, None, chunk(CALLER, f), &mut frame);
            ws.feed(Message::Binary(frame.clone().into()))
                .await
                .map_err(|e| e.to_string())?;
            native::encode_binary(1, None, chunk(AGENT, f), &mut frame);
            ws.feed(Message::Binary(frame.clone().into()))
                .await
                .map_err(|e| e.to_string())?;
            pacer.next += 1;
            shared.sent.fetch_add(2, Ordering::Relaxed);
        }
        script.due(pacer.next * 20, &mut due);
        for (sp, s) in due.drain(..) {
            ws.feed(Message::Text(supplied_json(sp, &s).into()))
                .await
                .map_err(|e| e.to_string())?;
        }
        ws.flush().await.map_err(|e| e.to_string())?;
    }
    let end = pacer.next * 20;
    for sp in [Speaker::Caller, Speaker::Agent] {
        ws.feed(Message::Text(
            supplied_json(sp, &Supplied::Heard { until_ms: end }).into(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    }
    ws.send(Message::Text(r#"{"type":"stop"}"#.into()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, Message::Close(_)) {
            break;
        }
    }
    Ok(())
}

async fn wait_call(st: &crate::IngestState, ext: &str) -> Result<InteractionId, String> {
    for _ in 0..1000 {
        if let Some(id) = st.registry.by_external(ext) {
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("call did not open".into())
}

async fn call_twilio(
    addr: std::net::SocketAddr,
    st: &crate::IngestState,
    i: usize,
    shared: &Shared,
    meta: &Meta,
) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ingest/twilio"))
        .await
        .map_err(|e| e.to_string())?;
    let sid = format!("CA-load-{i}-{}", uuid::Uuid::new_v4().simple());
    let start = serde_json::json!({"event":"start","sequenceNumber":"1","streamSid":format!("MZ{i}"),
        "start":{"callSid":sid,"tracks":["inbound","outbound"],
        "customParameters":{"caller":format!("+45{:08}", 20_000_000 + i),"consent":"yes","lang":"en"},
        "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}});
    ws.send(Message::Text(start.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    let id = wait_call(st, &sid).await?;
    let mut pacer = Pacer::new();
    let mut script = Script::new(meta);
    let mut due = Vec::new();
    let mut seq = 1u64;
    let mid = format!("MZ{i}");
    while !shared.stop.load(Ordering::Relaxed) {
        let n = pacer.due(shared).await;
        for _ in 0..n {
            let f = pacer.next;
            for (track, src) in [("inbound", CALLER), ("outbound", AGENT)] {
                seq += 1;
                let m = twilio::media_json(&mid, track, seq, f * 20, chunk(src, f));
                ws.feed(Message::Text(m.into()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            pacer.next += 1;
            shared.sent.fetch_add(2, Ordering::Relaxed);
        }
        ws.flush().await.map_err(|e| e.to_string())?;
        script.due(pacer.next * 20, &mut due);
        for (sp, s) in due.drain(..) {
            let _ = st.registry.supply(id, sp, s);
        }
    }
    let end = pacer.next * 20;
    for sp in [Speaker::Caller, Speaker::Agent] {
        let _ = st
            .registry
            .supply(id, sp, Supplied::Heard { until_ms: end });
    }
    ws.send(Message::Text(r#"{"event":"stop"}"#.into()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, Message::Close(_)) {
            break;
        }
    }
    Ok(())
}

async fn call_audiosocket(
    addr: std::net::SocketAddr,
    st: &crate::IngestState,
    _i: usize,
    shared: &Shared,
    meta: &Meta,
) -> Result<(), String> {
    let uuid = uuid::Uuid::new_v4();
    let mut conns = Vec::new();
    let mut b = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        b.clear();
        audiosocket::encode(audiosocket::KIND_UUID, uuid.as_bytes(), &mut b);
        s.write_all(&b).await.map_err(|e| e.to_string())?;
        conns.push(s);
        if conns.len() == 1 {
            wait_call(st, &uuid.to_string()).await?;
        }
    }
    let id = wait_call(st, &uuid.to_string()).await?;
    let mut pacer = Pacer::new();
    let mut script = Script::new(meta);
    let mut due = Vec::new();
    let mut pcm = Vec::with_capacity(320);
    while !shared.stop.load(Ordering::Relaxed) {
        let n = pacer.due(shared).await;
        for _ in 0..n {
            let f = pacer.next;
            for (c, src) in conns.iter_mut().zip([CALLER, AGENT]) {
                pcm.clear();
                for &x in chunk(src, f) {
                    pcm.extend_from_slice(&sotto_audio::g711::ulaw_decode(x).to_le_bytes());
                }
                b.clear();
                audiosocket::encode(audiosocket::KIND_SLIN, &pcm, &mut b);
                c.write_all(&b).await.map_err(|e| e.to_string())?;
            }
            pacer.next += 1;
            shared.sent.fetch_add(2, Ordering::Relaxed);
        }
        script.due(pacer.next * 20, &mut due);
        for (sp, s) in due.drain(..) {
            let _ = st.registry.supply(id, sp, s);
        }
    }
    let end = pacer.next * 20;
    for sp in [Speaker::Caller, Speaker::Agent] {
        let _ = st
            .registry
            .supply(id, sp, Supplied::Heard { until_ms: end });
    }
    for c in &mut conns {
        b.clear();
        audiosocket::encode(audiosocket::KIND_HANGUP, &[], &mut b);
        let _ = c.write_all(&b).await;
    }
    Ok(())
}

/// Decrypts stored caller recordings and measures every card interval (looped fixture).
async fn verify(vault: &Vault, meta: &Meta, max: usize) -> Result<(u64, u64, u64), String> {
    let tenant = TenantId::default_tenant();
    let list = vault
        .list_interactions(&tenant, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let len = fixture_ms();
    let (mut recs, mut intervals, mut loud) = (0u64, 0u64, 0u64);
    for s in list.iter().take(if max == 0 { usize::MAX } else { max }) {
        let v = vault
            .read_interaction(&tenant, s.id, "loadgen")
            .await
            .map_err(|e| e.to_string())?;
        for r in &v.recordings {
            let pcm = vault
                .read_recording(&tenant, v.summary.subject, r, "loadgen")
                .await
                .map_err(|e| e.to_string())?;
            // the caller leg: the agent's leg has no speech over the card interval anyway, so
            // both legs must be silent there
            recs += 1;
            let mut k = 0;
            loop {
                let b = (k * len + meta.card_ms.1) as usize * 8;
                if b > pcm.samples.len() {
                    break;
                }
                intervals += 1;
                let db =
                    sotto_audio::rms_dbfs(&pcm, k * len + meta.card_ms.0, k * len + meta.card_ms.1);
                if db >= -60.0 {
                    loud += 1;
                }
                k += 1;
            }
        }
    }
    Ok((recs, intervals, loud))
}

fn cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = s.rsplit_once(')').map(|x| x.1) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    (ut + st) / 100.0
}

/// (VmRSS, VmHWM) in MiB.
fn rss_mib() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}
