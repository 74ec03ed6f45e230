//! The live hand-over hub: redacted transcript segments of calls in progress, for the agent who
//! takes the call over from the bot (`LiveHub::subscribe`) and for a REST "transcript so far"
//! (`LiveHub::transcript_so_far`). Only redacted text passes through here (card and
//! special-category spans already replaced by placeholders); names stay, the agent needs them.
//! Everything about a call is dropped from memory when it ends.

use crate::session::TimelineEvent;
use sotto_core::{InteractionId, Personal, SegmentKind, Speaker};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Capacity of each call's broadcast channel; a subscriber that falls further behind gets
/// `RecvError::Lagged` and should re-read [`LiveHub::transcript_so_far`].
pub const CHANNEL_CAPACITY: usize = 256;
/// Segments kept per call for late subscribers.
pub const MAX_SEGMENTS_KEPT: usize = 2_000;

/// One redacted segment.
#[derive(Clone)]
pub struct LiveSegment {
    pub seq: u64,
    pub speaker: Speaker,
    pub kind: SegmentKind,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Redacted text: `[PAYMENT_CARD]` etc. in place of removed spans.
    pub text: Personal,
}

impl std::fmt::Debug for LiveSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSegment")
            .field("seq", &self.seq)
            .field("speaker", &self.speaker)
            .field("start_ms", &self.start_ms)
            .field("len", &self.text.len())
            .finish()
    }
}

/// What subscribers receive.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    Segment(LiveSegment),
    Timeline(TimelineEvent),
    /// The call ended; no more events follow.
    Ended {
        reason: String,
    },
}

struct Entry {
    tx: broadcast::Sender<LiveEvent>,
    so_far: Vec<LiveSegment>,
    timeline: Vec<TimelineEvent>,
}

/// A call's state at one instant and the events after it, without gap or overlap.
#[derive(Debug)]
pub struct LiveSnapshot {
    pub segments: Vec<LiveSegment>,
    pub timeline: Vec<TimelineEvent>,
    /// Every event published after the snapshot was taken.
    pub events: broadcast::Receiver<LiveEvent>,
}

/// Shared by every session and the API.
#[derive(Default)]
pub struct LiveHub {
    calls: Mutex<HashMap<InteractionId, Entry>>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub").finish_non_exhaustive()
    }
}

impl LiveHub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub(crate) fn open(&self, call: InteractionId) {
        if let Ok(mut m) = self.calls.lock() {
            let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
            m.insert(
                call,
                Entry {
                    tx,
                    so_far: Vec::new(),
                    timeline: Vec::new(),
                },
            );
        }
    }

    pub(crate) fn publish(&self, call: InteractionId, ev: LiveEvent) {
        if let Ok(mut m) = self.calls.lock() {
            if let Some(e) = m.get_mut(&call) {
                match &ev {
                    LiveEvent::Segment(s) if e.so_far.len() < MAX_SEGMENTS_KEPT => {
                        e.so_far.push(s.clone());
                    }
                    LiveEvent::Timeline(t) if e.timeline.len() < MAX_SEGMENTS_KEPT => {
                        e.timeline.push(t.clone());
                    }
                    _ => {}
                }
                let _ = e.tx.send(ev);
            }
        }
    }

    pub(crate) fn close(&self, call: InteractionId, reason: &str) {
        if let Ok(mut m) = self.calls.lock() {
            if let Some(e) = m.remove(&call) {
                let _ = e.tx.send(LiveEvent::Ended {
                    reason: reason.to_owned(),
                });
            }
        }
    }

    /// Live events of a call in progress; `None` when no such call is live.
    pub fn subscribe(&self, call: InteractionId) -> Option<broadcast::Receiver<LiveEvent>> {
        self.calls
            .lock()
            .ok()
            .and_then(|m| m.get(&call).map(|e| e.tx.subscribe()))
    }

    /// The segments and timeline so far and a receiver of everything after, taken atomically
    /// (publishing holds the same lock): nothing is missed and nothing comes twice. `None`
    /// when no such call is live.
    pub fn snapshot(&self, call: InteractionId) -> Option<LiveSnapshot> {
        self.calls.lock().ok().and_then(|m| {
            m.get(&call).map(|e| LiveSnapshot {
                segments: e.so_far.clone(),
                timeline: e.timeline.clone(),
                events: e.tx.subscribe(),
            })
        })
    }

    /// The redacted segments of a call in progress so far; `None` when no such call is live.
    pub fn transcript_so_far(&self, call: InteractionId) -> Option<Vec<LiveSegment>> {
        self.calls
            .lock()
            .ok()
            .and_then(|m| m.get(&call).map(|e| e.so_far.clone()))
    }

    /// Calls in progress.
    pub fn live_calls(&self) -> Vec<InteractionId> {
        self.calls
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }
}
