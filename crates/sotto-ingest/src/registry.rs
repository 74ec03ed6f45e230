//! Calls in progress, by call id (= the interaction id they will be stored under) and by the
//! telephony side's id, and recording control for the API: [`CallRegistry::control`].

use crate::session::SharedSession;
use crate::{IngestError, Result};
use sotto_audit::{Action, Entry as AuditEntry, Outcome};
use sotto_core::{InteractionId, LegalBasis, Speaker, SubjectId, TenantId, UnixMillis};
use sotto_transcribe::Supplied;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Recording control and consent, from an agent, a supervisor, a CRM or the protocol itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Start {
        #[serde(default)]
        reason: Option<String>,
    },
    Stop {
        #[serde(default)]
        reason: Option<String>,
    },
    Pause {
        #[serde(default)]
        reason: Option<String>,
    },
    Resume {
        #[serde(default)]
        reason: Option<String>,
    },
    ConsentGiven {
        basis: LegalBasis,
    },
    ConsentWithdrawn {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Ends the call (the stream is closed and the interaction committed).
    Hangup {
        #[serde(default)]
        reason: Option<String>,
    },
}

impl Command {
    /// The wire name (`pause`, `consent_given`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start { .. } => "start",
            Command::Stop { .. } => "stop",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::ConsentGiven { .. } => "consent_given",
            Command::ConsentWithdrawn { .. } => "consent_withdrawn",
            Command::Hangup { .. } => "hangup",
        }
    }

    /// What the audit log records it as: consent changes as `consent.change`, the rest as
    /// `recording.control`.
    pub fn audit_action(&self) -> Action {
        match self {
            Command::ConsentGiven { .. } | Command::ConsentWithdrawn { .. } => {
                Action::ConsentChange
            }
            _ => Action::RecordingControl,
        }
    }
}

/// What the API may show about a live call (ids and times only).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallInfo {
    pub id: InteractionId,
    pub tenant: TenantId,
    pub protocol: &'static str,
    pub external_id: Option<String>,
    pub started_ms: UnixMillis,
    pub legs: Vec<Speaker>,
    /// The agent reference handling the call (what `own` / `team` scopes are checked on).
    pub agent: Option<String>,
    /// The data subject the call is stored under.
    pub subject: SubjectId,
}

impl CallInfo {
    /// The audit entry of a recording-control command on this call: ids only — the command's
    /// name is the purpose (with `purpose` appended when the caller gave one), never its reason.
    pub fn control_entry(
        &self,
        at_ms: UnixMillis,
        actor: &str,
        cmd: &Command,
        from: Option<String>,
        purpose: Option<&str>,
        outcome: Outcome,
    ) -> AuditEntry {
        let mut e = AuditEntry::new(
            self.tenant.clone(),
            at_ms,
            actor.to_owned(),
            cmd.audit_action(),
            outcome,
        );
        e.subject = Some(self.subject);
        e.object = Some(self.id.to_string());
        e.from = from;
        e.purpose = Some(match purpose {
            Some(p) => format!("{}: {p}", cmd.name()),
            None => cmd.name().to_owned(),
        });
        e
    }
}

struct Entry {
    info: CallInfo,
    session: SharedSession,
}

/// Shared by the transports and the API.
#[derive(Default)]
pub struct CallRegistry {
    calls: RwLock<HashMap<InteractionId, Entry>>,
    external: RwLock<HashMap<String, InteractionId>>,
}

impl std::fmt::Debug for CallRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRegistry")
            .field("calls", &self.len())
            .finish()
    }
}

impl CallRegistry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub(crate) fn insert(&self, id: InteractionId, info: CallInfo, session: SharedSession) {
        if let Some(x) = &info.external_id {
            if let Ok(mut m) = self.external.write() {
                m.insert(x.clone(), id);
            }
        }
        if let Ok(mut m) = self.calls.write() {
            m.insert(id, Entry { info, session });
        }
    }

    pub(crate) fn remove(&self, id: InteractionId) {
        let removed = self.calls.write().ok().and_then(|mut m| m.remove(&id));
        if let Some(e) = removed {
            if let Some(x) = e.info.external_id {
                if let Ok(mut m) = self.external.write() {
                    if m.get(&x) == Some(&id) {
                        m.remove(&x);
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.calls.read().map(|m| m.len()).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live calls (of every tenant; the API filters by the caller's tenant).
    pub fn list(&self) -> Vec<CallInfo> {
        self.calls
            .read()
            .map(|m| m.values().map(|e| e.info.clone()).collect())
            .unwrap_or_default()
    }

    pub fn info(&self, id: InteractionId) -> Option<CallInfo> {
        self.calls
            .read()
            .ok()
            .and_then(|m| m.get(&id).map(|e| e.info.clone()))
    }

    /// The call a telephony id (callSid, AudioSocket uuid, AudioHook session) belongs to.
    pub fn by_external(&self, external: &str) -> Option<InteractionId> {
        self.external
            .read()
            .ok()
            .and_then(|m| m.get(external).copied())
    }

    pub(crate) fn session(&self, id: InteractionId) -> Option<SharedSession> {
        self.calls
            .read()
            .ok()
            .and_then(|m| m.get(&id).map(|e| e.session.clone()))
    }

    /// Applies a recording-control command to a live call, as `actor` (a user or token id —
    /// never a name). The change is a timeline event; the API records the audit entry.
    pub fn control(&self, id: InteractionId, cmd: Command, actor: &str) -> Result<()> {
        let s = self
            .session(id)
            .ok_or_else(|| IngestError::UnknownCall(id.to_string()))?;
        let mut g = s
            .lock()
            .map_err(|_| IngestError::CallEnded(id.to_string()))?;
        g.control(&cmd, actor)
    }

    /// Supplies a transcript event to one leg of a live call (a bot beside a Twilio, AudioHook
    /// or AudioSocket stream; the native protocol's `attach`).
    pub fn supply(&self, id: InteractionId, speaker: Speaker, ev: Supplied) -> Result<()> {
        let s = self
            .session(id)
            .ok_or_else(|| IngestError::UnknownCall(id.to_string()))?;
        let mut g = s
            .lock()
            .map_err(|_| IngestError::CallEnded(id.to_string()))?;
        let leg = g
            .leg_of(speaker)
            .ok_or_else(|| IngestError::Protocol(format!("call has no {speaker} leg")))?;
        g.supply(leg, ev)
    }

    /// The call's timeline so far.
    pub fn timeline(&self, id: InteractionId) -> Option<Vec<crate::TimelineEvent>> {
        let s = self.session(id)?;
        let g = s.lock().ok()?;
        Some(g.timeline().to_vec())
    }

    /// Bytes of memory a live call holds.
    pub fn memory_bytes(&self, id: InteractionId) -> Option<usize> {
        let s = self.session(id)?;
        let g = s.lock().ok()?;
        Some(g.memory_bytes())
    }
}
