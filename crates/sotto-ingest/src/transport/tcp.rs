//! Asterisk AudioSocket over TCP. AudioSocket is a channel, not a tap: to record both parties
//! Asterisk opens one connection per direction (ARI snoop channels with `externalMedia`) under
//! the same call UUID. The first connection for a UUID opens the call (leg 0, the caller); a
//! second one with the same UUID joins it as leg 1 (the agent); the call ends when both have
//! hung up or dropped. The listener has no metadata channel: calls go to the default tenant
//! with a withheld caller (a new subject), and audio is kept only when that tenant is in `record`
//! mode — or when consent is given through the API (`CallRegistry::control`).

use super::end;
use crate::proto::audiosocket::{self, Message};
use crate::server::IngestState;
use crate::session::{CallSession, CallStart, CloseReason, SharedSession};
use sotto_audio::SourceEncoding;
use sotto_core::{Direction, Speaker};
use sotto_vault::LiveLeg;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Calls with open AudioSocket connections, by UUID.
#[derive(Default)]
pub(crate) struct Pending {
    calls: tokio::sync::Mutex<HashMap<[u8; 16], (SharedSession, usize, usize)>>,
}

pub(crate) async fn accept_loop(
    st: IngestState,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => {
                match r {
                    Ok((sock, _)) => {
                        let _ = sock.set_nodelay(true);
                        tokio::spawn(connection(st.clone(), sock));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "AudioSocket accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn join(st: &IngestState, uuid: [u8; 16]) -> Result<(SharedSession, usize), CloseReason> {
    let mut m = st.audiosocket.calls.lock().await;
    if let Some((s, open, next)) = m.get_mut(&uuid) {
        if *next >= 2 {
            return Err(CloseReason::Protocol(
                "a third connection for one call uuid".into(),
            ));
        }
        let leg = *next;
        *next += 1;
        *open += 1;
        return Ok((s.clone(), leg));
    }
    let legs = [Speaker::Caller, Speaker::Agent]
        .into_iter()
        .map(|speaker| LiveLeg {
            speaker,
            encoding: SourceEncoding::Pcm16,
            sample_rate: st.cfg.audiosocket_rate,
        })
        .collect();
    let cs = CallStart {
        tenant: None,
        caller: None,
        consent: None,
        campaign: None,
        queue: None,
        called_number: None,
        direction: Direction::Inbound,
        lang: None,
        agent: None,
        protocol: "audiosocket",
        external_id: Some(uuid::Uuid::from_bytes(uuid).to_string()),
        legs,
    };
    let s = CallSession::open(st, cs)
        .await
        .map_err(|e| CloseReason::Protocol(e.to_string()))?;
    m.insert(uuid, (s.clone(), 1, 1));
    Ok((s, 0))
}

/// Leaves a call; true when this was its last connection.
async fn leave(st: &IngestState, uuid: [u8; 16]) -> bool {
    let mut m = st.audiosocket.calls.lock().await;
    let last = match m.get_mut(&uuid) {
        Some((_, open, _)) => {
            *open = open.saturating_sub(1);
            *open == 0
        }
        None => true,
    };
    if last {
        m.remove(&uuid);
    }
    last
}

async fn connection(st: IngestState, mut sock: TcpStream) {
    let max_audio = (st.cfg.audiosocket_rate as usize * 2 / 5).min(st.cfg.max_frame_bytes); // 200 ms
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut rd = vec![0u8; 8192];
    let mut joined: Option<([u8; 16], SharedSession, usize)> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last = Instant::now();
    let mut last_tick = Instant::now();
    let reason: CloseReason = 'outer: loop {
        tokio::select! {
            r = sock.read(&mut rd) => {
                last = Instant::now();
                let n = match r {
                    Ok(0) | Err(_) => break CloseReason::Disconnected,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&rd[..n]);
                let mut off = 0;
                loop {
                    let parsed = match audiosocket::parse(&buf[off..], max_audio) {
                        Ok(Some(p)) => p,
                        Ok(None) => break,
                        Err(e) => break 'outer match e {
                            crate::proto::ProtoError::TooLarge { .. } => CloseReason::FrameTooLarge,
                            other => CloseReason::Protocol(other.to_string()),
                        },
                    };
                    let (msg, used) = parsed;
                    match (msg, &joined) {
                        (Message::Uuid(id), None) => match join(&st, id).await {
                            Ok((s, leg)) => joined = Some((id, s, leg)),
                            Err(r) => break 'outer r,
                        },
                        (Message::Uuid(_), Some(_)) => break 'outer CloseReason::Protocol("second uuid".into()),
                        (_, None) => break 'outer CloseReason::Protocol("first message must be the call uuid".into()),
                        (Message::Audio(a), Some((_, s, leg))) => {
                            let r = match s.lock() {
                                Ok(mut g) => g.push_audio(*leg, None, a).map_err(|e| CloseReason::Protocol(e.to_string())),
                                Err(_) => Err(CloseReason::Protocol("session failed".into())),
                            };
                            if let Err(r) = r { break 'outer r; }
                        }
                        (Message::Dtmf, Some((_, s, leg))) => {
                            if let Ok(mut g) = s.lock() { g.dtmf(*leg, "protocol:audiosocket"); }
                        }
                        (Message::Hangup, Some(_)) => break 'outer CloseReason::Completed,
                        (Message::Error(_), Some(_)) => break 'outer CloseReason::Protocol("Asterisk reported an error".into()),
                    }
                    off += used;
                }
                buf.drain(..off);
                if buf.len() > max_audio + 64 {
                    break CloseReason::FrameTooLarge;
                }
            }
            _ = tick.tick() => {
                // missed ticks mean the loop was busy (a queued call open), not an idle client
                let now = Instant::now();
                if now.duration_since(last_tick) > Duration::from_secs(1) {
                    last = now;
                }
                last_tick = now;
                if last.elapsed() > st.cfg.idle_timeout {
                    break CloseReason::IdleTimeout;
                }
                if let Some((_, s, _)) = &joined {
                    if let Ok(mut g) = s.lock() {
                        g.tick();
                        if let Some(r) = g.close_requested() { break r; }
                    }
                }
            }
        }
    };
    if !matches!(reason, CloseReason::Completed | CloseReason::Disconnected) {
        let mut out = Vec::new();
        audiosocket::encode(audiosocket::KIND_HANGUP, &[], &mut out);
        let _ = sock.write_all(&out).await;
    }
    let _ = sock.shutdown().await;
    match joined {
        Some((id, s, _)) => {
            if leave(&st, id).await {
                end(&st, &s, reason).await;
            }
        }
        None => st.metrics.closed(reason.as_str()),
    }
}
