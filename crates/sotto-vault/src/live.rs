//! Live recordings: the vault side of a call that is still going on (issue 4).
//!
//! The ingest pipeline (`sotto-ingest`) hands the vault only *checked* audio — audio the delay
//! line has held until transcription and the streaming detector were done with it and whose
//! card and special-category intervals are already silenced — through
//! [`LiveRecordingWriter::append_checked`], and redacted transcript segments through
//! [`LiveRecordingWriter::append_segment`].
//!
//! How memory stays flat: each leg's checked sample bytes are encrypted at once, in the 64 KiB
//! segments of the `sotto-keys` chunked stream, under an *ephemeral* data key that exists only in
//! this process's memory, and the ciphertext is appended to a spool file (`<spool>/<id>.spool`,
//! mode 0600). A call holds at most one plaintext segment per leg. Transcript segments are sealed
//! under the interaction's data key as they arrive; only ciphertext is kept until the end.
//!
//! At [`LiveRecordingWriter::finish`] (hang-up, stop, or the end of the stream) each spool is
//! decrypted, archived (G.711 bytes kept bit-exact, or PCM16, zstd — `sotto_audio::archive`),
//! encrypted under the recording's own data key (wrapped by the subject key) and written to the
//! blob store; then the interaction row, its segments and recordings are written in one
//! transaction, the consent row (when a basis came with the call) and one `ingest` audit entry.
//! At most [`MAX_CONCURRENT_FINISHES`] finishes run at once, so the peak memory of a finish storm
//! (every call of a load test hanging up together) is bounded by that many recordings.
//!
//! A crash mid-call: nothing of that call is committed — neither the interaction row nor the
//! transcript nor the recording. The spool files it leaves are ciphertext under a key that was
//! never written anywhere, so they are unreadable by construction (crypto-shredded at birth);
//! [`sweep_spool`] deletes them at the next start. This is the fail-closed choice (guarantee 7:
//! a failure never leaves unchecked or half-committed data); a call that must survive a crash of
//! the recorder needs the telephony side to re-send it (AudioHook `reconnect`).
//!
//! Without a legal basis for audio (no consent / legal duty, and a tenant not in `record` mode)
//! the writer discards audio instead of spooling it (guarantee 4) and the interaction is stored
//! with its transcript only.

use crate::error::{Result, VaultError};
use crate::identifiers::Identifier;
use crate::transcript::ProcessedSegment;
pub use crate::vault::DEFAULT_SILENCE_PADDING_MS;
use crate::vault::{blob_key, Meta, Vault};
use bytes::Bytes;
use sotto_audio::SourceEncoding;
use sotto_audit::{Action, Entry, Outcome};
use sotto_core::{
    Channel, ConsentPurpose, ConsentState, Direction, InteractionId, Kind, Lang, LegalBasis,
    ObjectId, Personal, ProcessingMode, SegmentId, Speaker, SubjectId, SubjectState, TenantId,
    UnixMillis,
};
use sotto_keys::{ObjectContext, ObjectKey, ObjectPurpose, StreamEncryptor};
use sotto_store::{
    ConsentRow, InteractionBundle, InteractionRow, RecordingRow, SegmentRow, SubjectIndexRow,
    SubjectRow, TimelineRow,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::Semaphore;

/// How many live recordings are archived and written at the same time (bounds finish memory).
pub const MAX_CONCURRENT_FINISHES: usize = 2;

static FINISHING: Semaphore = Semaphore::const_new(MAX_CONCURRENT_FINISHES);

/// One leg (speaker) of a live call as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveLeg {
    pub speaker: Speaker,
    /// How the leg's sample bytes are encoded (μ-law / A-law bytes are kept bit-exact).
    pub encoding: SourceEncoding,
    pub sample_rate: u32,
}

/// Everything the vault needs to open a live interaction.
pub struct LiveRecordingRequest {
    pub tenant: TenantId,
    pub channel: Channel,
    pub direction: Direction,
    pub started_ms: UnixMillis,
    /// Normalised identifiers of the caller; empty for a withheld number (a new subject).
    pub identifiers: Vec<Identifier>,
    pub agent: Option<String>,
    pub lang: Option<Lang>,
    pub legs: Vec<LiveLeg>,
    /// The legal basis for keeping audio given with the call (consent from the IVR, a legal
    /// duty); `None` outside `record` mode means audio is discarded.
    pub recording_basis: Option<LegalBasis>,
    pub basis_source: String,
    /// The call's processing mode when the policy layer decided one (campaign / queue /
    /// called-number override); `None`: the tenant's mode. `minimal` keeps no audio and no
    /// transcript (only the row with the sealed caller number); `record` keeps audio on the
    /// given basis or legitimate interest; `anonymise` keeps audio only on the call's own basis.
    pub mode: Option<ProcessingMode>,
    /// Directory for the encrypted spool files (created if missing).
    pub spool_dir: PathBuf,
}

/// One event of a live call's timeline, handed to the writer before [`LiveRecordingWriter::finish`].
pub struct TimelineInput {
    /// Media time, ms since the call started.
    pub at_ms: u64,
    pub leg: Option<u8>,
    /// One of [`sotto_store::TIMELINE_KINDS`].
    pub kind: String,
    /// The event's non-personal fields (enums and numbers) as a JSON object.
    pub detail: serde_json::Value,
    /// `user:<id>`, `token:<id>`, `protocol:<name>`, `pipeline`, ... — never a name.
    pub actor: String,
    /// Free text given by whoever caused it; may hold personal data, so it is sealed.
    pub reason: Option<Personal>,
}

impl std::fmt::Debug for TimelineInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelineInput")
            .field("at_ms", &self.at_ms)
            .field("kind", &self.kind)
            .field("actor", &self.actor)
            .field("reason", &self.reason)
            .finish()
    }
}

/// What a finished live call left in the vault. Ids and counts only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveReceipt {
    pub tenant: TenantId,
    pub interaction: InteractionId,
    pub subject: SubjectId,
    pub new_subject: bool,
    pub segments: usize,
    pub recordings: Vec<ObjectId>,
    pub audio_stored: bool,
    pub audio_dropped_reason: Option<String>,
    pub redactions: BTreeMap<Kind, u32>,
    pub duration_ms: u64,
}

struct LegSpool {
    leg: LiveLeg,
    path: PathBuf,
    file: Option<std::fs::File>,
    enc: Option<StreamEncryptor>,
    key: ObjectKey,
    bytes: u64,
    buf: Vec<u8>,
    /// Bytes discarded while no basis had ever been given: if consent comes later, the
    /// recording starts with this much silence, so it stays aligned with the call's timeline.
    skipped: u64,
}

/// The vault's end of one live call. Not `Clone`: one per call, owned by its session.
pub struct LiveRecordingWriter {
    vault: Vault,
    tenant: TenantId,
    subject: SubjectId,
    new_subject: bool,
    interaction: InteractionId,
    okey: ObjectKey,
    wrapped_key: Vec<u8>,
    req_channel: Channel,
    req_direction: Direction,
    started_ms: UnixMillis,
    meta: Meta,
    basis: Option<LegalBasis>,
    basis_given: Option<LegalBasis>,
    /// `minimal` mode: nothing but the caller's number is stored.
    minimal: bool,
    basis_source: String,
    spools: Vec<LegSpool>,
    segments: Vec<SegmentRow>,
    timeline: Vec<TimelineRow>,
    counts: BTreeMap<Kind, u32>,
    done: bool,
}

impl std::fmt::Debug for LiveRecordingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRecordingWriter")
            .field("interaction", &self.interaction)
            .field("legs", &self.spools.len())
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl Vault {
    /// Opens a live interaction: resolves (or creates) the subject, makes the interaction's data
    /// key and, when audio may be kept, one encrypted spool per leg. Nothing is committed until
    /// [`LiveRecordingWriter::finish`].
    pub async fn begin_live_recording(
        &self,
        req: LiveRecordingRequest,
    ) -> Result<LiveRecordingWriter> {
        let tenant_row = self.tenant(&req.tenant).await?;
        if req.legs.is_empty() || req.legs.len() > 8 {
            return Err(VaultError::invalid("legs", "a live call has 1 to 8 legs"));
        }
        for l in &req.legs {
            if !(8_000..=48_000).contains(&l.sample_rate) {
                return Err(VaultError::invalid(
                    "sample rate",
                    "must be 8000..=48000 Hz",
                ));
            }
        }
        let (subject, new_subject) = self.live_subject(&req.tenant, &req.identifiers).await?;
        let cipher = self.cipher_for(&req.tenant, subject).await?;
        let interaction = InteractionId::new();
        let ctx = ObjectContext {
            tenant: req.tenant.clone(),
            subject,
            object: ObjectId(*interaction.as_uuid()),
            purpose: ObjectPurpose::Transcript,
        };
        let (okey, wrapped_key) = cipher.new_object_key(&ctx)?;
        let mode = req.mode.unwrap_or(tenant_row.mode);
        let minimal = mode == ProcessingMode::Minimal;
        let basis = match mode {
            // Nothing personal but the number: no audio whatever basis the call brings.
            ProcessingMode::Minimal => None,
            ProcessingMode::Record => req.recording_basis.or(Some(LegalBasis::LegitimateInterest)),
            ProcessingMode::Anonymise => req.recording_basis,
        };
        let caller = req
            .identifiers
            .iter()
            .find(|i| i.kind == sotto_core::IdentifierKind::Phone);
        let source_encoding = req.legs.first().map(|l| l.encoding.as_str().to_owned());
        let meta = Meta {
            caller: caller.map(|c| c.value.expose().to_owned()),
            agent: req.agent.clone(),
            lang: req.lang.map(|l| l.code().to_owned()),
            source_encoding,
        };
        std::fs::create_dir_all(&req.spool_dir).map_err(|e| VaultError::Io {
            op: "creating the live spool directory",
            message: e.kind().to_string(),
        })?;
        let mut spools = Vec::with_capacity(req.legs.len());
        for leg in &req.legs {
            let id = ObjectId::new();
            let key = ObjectKey::ephemeral(ObjectContext {
                tenant: req.tenant.clone(),
                subject,
                object: id,
                purpose: ObjectPurpose::Recording,
            });
            spools.push(LegSpool {
                leg: *leg,
                path: req.spool_dir.join(format!("{id}.spool")),
                file: None,
                enc: None,
                key,
                bytes: 0,
                buf: Vec::new(),
                skipped: 0,
            });
        }
        Ok(LiveRecordingWriter {
            vault: self.clone(),
            tenant: req.tenant,
            subject,
            new_subject,
            interaction,
            okey,
            wrapped_key,
            req_channel: req.channel,
            req_direction: req.direction,
            started_ms: req.started_ms,
            meta,
            basis,
            basis_given: if minimal { None } else { req.recording_basis },
            minimal,
            basis_source: req.basis_source,
            spools,
            segments: Vec::new(),
            timeline: Vec::new(),
            counts: BTreeMap::new(),
            done: false,
        })
    }

    /// The subject for a live call's identifiers (the first that is known, else a new one).
    async fn live_subject(
        &self,
        tenant: &TenantId,
        idents: &[Identifier],
    ) -> Result<(SubjectId, bool)> {
        let keys = self.keys();
        let store = self.store();
        let bi = keys.blind_indexer(tenant).await?;
        let digests: Vec<_> = idents
            .iter()
            .map(|i| (i.kind, bi.digest(i.kind, i.value.expose())))
            .collect();
        let mut found = None;
        for (kind, d) in &digests {
            if let Some(s) = store.find_subject(tenant, *kind, d).await? {
                found = Some(s);
                break;
            }
        }
        let (subject, new) = match found {
            Some(s) => (s, false),
            None => {
                let id = SubjectId::new();
                keys.create_subject_key(tenant, id).await?;
                store
                    .insert_subject(&SubjectRow {
                        tenant: tenant.clone(),
                        id,
                        state: SubjectState::Active,
                        created_ms: self.now_ms(),
                        erased_ms: None,
                    })
                    .await?;
                (id, true)
            }
        };
        for (kind, digest) in digests {
            let row = SubjectIndexRow {
                tenant: tenant.clone(),
                subject,
                kind,
                digest: digest.to_vec(),
            };
            match store.put_subject_index(&row).await {
                Ok(()) | Err(sotto_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((subject, new))
    }
}

impl LiveRecordingWriter {
    pub fn interaction(&self) -> InteractionId {
        self.interaction
    }
    pub fn subject(&self) -> SubjectId {
        self.subject
    }
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// Whether this call runs in `minimal` mode (no audio, no transcript stored).
    pub fn is_minimal(&self) -> bool {
        self.minimal
    }
    /// Whether audio is being kept (a legal basis is in force).
    pub fn keeps_audio(&self) -> bool {
        self.basis.is_some()
    }

    /// Changes the basis mid-call (consent given or withdrawn). Audio appended while there is no
    /// basis is replaced by silence of the same length (the timeline stays aligned); a recording
    /// that never had a basis is not stored at all.
    pub fn set_recording_basis(&mut self, basis: Option<LegalBasis>) {
        if self.minimal {
            return; // minimal mode keeps no audio, whatever is said mid-call
        }
        if basis.is_some() {
            self.basis_given = basis;
        }
        self.basis = basis;
    }

    /// Bytes of plaintext this writer holds in memory (at most one AEAD segment per leg).
    pub fn buffered_bytes(&self) -> usize {
        self.spools.iter().map(|s| s.buf.capacity()).sum::<usize>()
            + self
                .segments
                .iter()
                .map(|s| s.sealed_text.len())
                .sum::<usize>()
    }

    /// Appends audio the pipeline has *checked* (transcribed, detected, silenced) for `leg`.
    /// Without a legal basis the bytes are replaced by silence (or dropped when no basis has
    /// ever been given — then nothing is spooled at all). Synchronous: one `write` of ciphertext
    /// per completed 64 KiB segment.
    pub fn append_checked(&mut self, leg: usize, bytes: &[u8]) -> Result<()> {
        if self.done {
            return Err(VaultError::invalid("live recording", "already finished"));
        }
        let keep = self.basis.is_some();
        let spool = self
            .spools
            .get_mut(leg)
            .ok_or_else(|| VaultError::invalid("leg", "no such leg"))?;
        if !keep && self.basis_given.is_none() {
            // guarantee 4: transcribe and discard (only the length is remembered)
            spool.skipped += bytes.len() as u64;
            return Ok(());
        }
        if spool.file.is_none() {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let f = opts.open(&spool.path).map_err(|e| VaultError::Io {
                op: "creating a live spool file",
                message: e.kind().to_string(),
            })?;
            spool.file = Some(f);
            let mut enc = spool.key.stream_encryptor();
            let head = enc.begin();
            spool.enc = Some(enc);
            write_spool(spool, &head)?;
            // Consent came mid-call: what went before is silence of the same length.
            let mut left = std::mem::take(&mut spool.skipped);
            let mut out = Vec::new();
            while left > 0 {
                let n = left.min(64 * 1024) as usize;
                let silence = silence_like(spool.leg.encoding, n);
                out.clear();
                if let Some(enc) = spool.enc.as_mut() {
                    enc.push(&silence, &mut out)?;
                }
                spool.bytes += n as u64;
                write_spool(spool, &out)?;
                left -= n as u64;
            }
        }
        let mut out = std::mem::take(&mut spool.buf);
        out.clear();
        let silence;
        let data: &[u8] = if keep {
            bytes
        } else {
            silence = silence_like(spool.leg.encoding, bytes.len());
            &silence
        };
        if let Some(enc) = spool.enc.as_mut() {
            enc.push(data, &mut out)?;
        }
        spool.bytes += data.len() as u64;
        if !out.is_empty() {
            write_spool(spool, &out)?;
        }
        out.clear();
        spool.buf = out;
        Ok(())
    }

    /// Seals one redacted transcript segment (from `transcript::process`) under the
    /// interaction's key; only ciphertext is kept until the end of the call.
    pub fn append_segment(&mut self, s: &ProcessedSegment) -> Result<()> {
        if self.minimal {
            // Minimal mode: the transcript served the live call only; the counts stay (numbers
            // of redactions, no content) for the pseudonymised statistics.
            for sp in &s.spans {
                *self.counts.entry(sp.kind).or_insert(0) += 1;
            }
            return Ok(());
        }
        let id = SegmentId::new();
        let sealed_text = self
            .okey
            .seal(&format!("segment/{id}/text"), s.text.expose().as_bytes())?;
        let sealed_words = match &s.words_json {
            Some(w) => Some(
                self.okey
                    .seal(&format!("segment/{id}/words"), w.expose().as_bytes())?,
            ),
            None => None,
        };
        for sp in &s.spans {
            *self.counts.entry(sp.kind).or_insert(0) += 1;
        }
        let seq = self.segments.len() as i64;
        self.segments.push(SegmentRow {
            interaction: self.interaction,
            id,
            seq,
            speaker: s.speaker,
            kind: s.kind,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            sealed_text,
            sealed_words,
        });
        Ok(())
    }

    /// Sets the call's timeline (replacing any set before): stored with the interaction, in
    /// the same transaction; each reason sealed under the interaction's key.
    pub fn set_timeline(&mut self, events: Vec<TimelineInput>) -> Result<()> {
        let mut rows = Vec::with_capacity(events.len());
        for (seq, ev) in events.into_iter().enumerate() {
            if !sotto_store::TIMELINE_KINDS.contains(&ev.kind.as_str()) {
                return Err(VaultError::invalid(
                    "timeline kind",
                    "not a known event kind",
                ));
            }
            let sealed_reason = match &ev.reason {
                Some(r) => Some(
                    self.okey
                        .seal(&format!("timeline/{seq}/reason"), r.expose().as_bytes())?,
                ),
                None => None,
            };
            rows.push(TimelineRow {
                interaction: self.interaction,
                seq: seq as i64,
                at_ms: i64::try_from(ev.at_ms).unwrap_or(i64::MAX),
                leg: ev.leg.map(i64::from),
                kind: ev.kind,
                detail: ev.detail.to_string(),
                actor: ev.actor,
                sealed_reason,
            });
        }
        self.timeline = rows;
        Ok(())
    }

    /// Ends the call: archives and writes each leg's recording, then the rows in one
    /// transaction, the consent and the audit entry. On any failure everything this call wrote
    /// is removed again (spools, blobs) and the error returned.
    pub async fn finish(mut self, ended_ms: UnixMillis) -> Result<LiveReceipt> {
        self.done = true;
        let _permit = FINISHING.acquire().await.map_err(|_| VaultError::Io {
            op: "finishing a live recording",
            message: "shutting down".into(),
        })?;
        let result = self.finish_inner(ended_ms).await;
        self.remove_spools();
        result
    }

    /// Drops the call: deletes its spools; nothing is committed.
    pub fn abort(mut self) {
        self.done = true;
        self.remove_spools();
    }

    fn remove_spools(&mut self) {
        for s in &mut self.spools {
            s.file = None;
            s.enc = None;
            let _ = std::fs::remove_file(&s.path);
        }
    }

    async fn finish_inner(&mut self, ended_ms: UnixMillis) -> Result<LiveReceipt> {
        let vault = self.vault.clone();
        let now = vault.now_ms();
        let cipher = vault.cipher_for(&self.tenant, self.subject).await?;
        let mut recordings = Vec::new();
        let mut blobs: Vec<(String, Bytes)> = Vec::new();
        let mut duration_ms = u64::try_from(ended_ms.saturating_sub(self.started_ms)).unwrap_or(0);
        for spool in &mut self.spools {
            let Some(enc) = spool.enc.take() else {
                continue;
            };
            let mut tail = Vec::new();
            enc.finish(&mut tail)?;
            write_spool(spool, &tail)?;
            if let Some(f) = spool.file.take() {
                f.sync_data().map_err(|e| VaultError::Io {
                    op: "syncing a live spool file",
                    message: e.kind().to_string(),
                })?;
            }
            let rec_id = spool.key.context().object;
            let rctx = ObjectContext {
                tenant: self.tenant.clone(),
                subject: self.subject,
                object: rec_id,
                purpose: ObjectPurpose::Recording,
            };
            let (rkey, rwrapped) = cipher.new_object_key(&rctx)?;
            let path = spool.path.clone();
            let spool_key = spool.key.stream_decryptor();
            let leg = spool.leg;
            let format = self.vault.archive_format(&self.tenant);
            let job = move || -> Result<(Vec<u8>, u64)> {
                let ct = std::fs::read(&path).map_err(|e| VaultError::Io {
                    op: "reading a live spool file",
                    message: e.kind().to_string(),
                })?;
                let plain = spool_key.decrypt_all(&ct)?;
                drop(ct);
                let frames = (plain.len() / leg.encoding.bytes_per_sample()) as u64;
                let encoded =
                    format.encode_leg_bytes(plain.expose(), leg.encoding, leg.sample_rate)?;
                drop(plain);
                Ok((rkey.stream_encryptor().try_encrypt_all(&encoded)?, frames))
            };
            let (ct, frames) =
                tokio::task::spawn_blocking(job)
                    .await
                    .map_err(|_| VaultError::Io {
                        op: "archiving a live recording",
                        message: "worker failed".into(),
                    })??;
            let leg_ms = frames * 1000 / u64::from(leg.sample_rate.max(1));
            duration_ms = duration_ms.max(leg_ms);
            let key = blob_key(&self.tenant, self.subject, rec_id);
            recordings.push(RecordingRow {
                interaction: self.interaction,
                id: rec_id,
                blob_key: key.clone(),
                codec: format.codec_for(leg.encoding).as_str().to_owned(),
                sample_rate: leg.sample_rate,
                channels: 1,
                duration_ms: leg_ms as i64,
                size_bytes: ct.len() as i64,
                wrapped_key: rwrapped,
                created_ms: now,
            });
            blobs.push((key, Bytes::from(ct)));
        }
        let audio_stored = !recordings.is_empty();
        let audio_dropped_reason = if self.minimal {
            Some("minimal mode: only the caller number is kept".to_owned())
        } else if audio_stored || self.basis_given.is_some() {
            None
        } else {
            Some("no legal basis for audio: transcribed, audio discarded".to_owned())
        };
        let meta_json = Personal::new(
            serde_json::to_string(&self.meta).map_err(|e| VaultError::Export(e.to_string()))?,
        );
        let sealed_meta = self.okey.seal("meta", meta_json.expose().as_bytes())?;
        let redaction_counts = serde_json::to_string(
            &self
                .counts
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap_or_else(|_| "{}".into());
        let transcript_end = self.segments.iter().map(|s| s.end_ms).max().unwrap_or(0);
        let ended = self.started_ms + (duration_ms as i64).max(transcript_end);
        let recording_ids: Vec<ObjectId> = recordings.iter().map(|r| r.id).collect();
        let bundle = InteractionBundle {
            interaction: InteractionRow {
                tenant: self.tenant.clone(),
                id: self.interaction,
                subject: self.subject,
                channel: self.req_channel,
                direction: self.req_direction,
                started_ms: self.started_ms,
                ended_ms: ended,
                case_id: None,
                created_ms: now,
                wrapped_key: self.wrapped_key.clone(),
                sealed_meta,
                redaction_counts,
            },
            segments: std::mem::take(&mut self.segments),
            recordings,
        };
        let mut written = Vec::new();
        let mut failure = None;
        for (k, b) in blobs {
            match vault.blobs().put(&k, b).await {
                Ok(()) => written.push(k),
                Err(e) => {
                    failure = Some(VaultError::from(e));
                    break;
                }
            }
        }
        let result = match failure {
            Some(e) => Err(e),
            None => vault
                .store()
                .insert_interactions_with_timeline(std::slice::from_ref(&bundle), &self.timeline)
                .await
                .map_err(VaultError::from),
        };
        if let Err(e) = result {
            for k in &written {
                let _ = vault.blobs().delete(k).await;
            }
            return Err(e);
        }
        if let (Some(basis), true) = (self.basis_given, audio_stored) {
            vault
                .store()
                .put_consent(&ConsentRow {
                    tenant: self.tenant.clone(),
                    id: ObjectId::new(),
                    subject: self.subject,
                    purpose: ConsentPurpose::Recording,
                    basis,
                    state: ConsentState::Given,
                    source: self.basis_source.clone(),
                    at_ms: now,
                    interaction: Some(self.interaction),
                })
                .await?;
        }
        let mut e = Entry::new(
            self.tenant.clone(),
            now,
            "ingest:live",
            Action::Ingest,
            Outcome::Ok,
        );
        e.subject = Some(self.subject);
        e.object = Some(self.interaction.to_string());
        vault.audit().append(e).await?;
        Ok(LiveReceipt {
            tenant: self.tenant.clone(),
            interaction: self.interaction,
            subject: self.subject,
            new_subject: self.new_subject,
            segments: bundle.segments.len(),
            recordings: recording_ids,
            audio_stored,
            audio_dropped_reason,
            redactions: self.counts.clone(),
            duration_ms,
        })
    }
}

impl Drop for LiveRecordingWriter {
    fn drop(&mut self) {
        if !self.done {
            // Dropped without finish (a panic or a cancelled task): nothing is committed and
            // the spools, unreadable without the key dropped with them, are removed.
            self.remove_spools();
        }
    }
}

fn write_spool(spool: &mut LegSpool, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let f = spool
        .file
        .as_mut()
        .ok_or_else(|| VaultError::invalid("live recording", "spool is closed"))?;
    f.write_all(bytes).map_err(|e| VaultError::Io {
        op: "writing a live spool file",
        message: e.kind().to_string(),
    })
}

/// Silence in a leg's encoding.
pub fn silence_like(enc: SourceEncoding, len: usize) -> Vec<u8> {
    vec![silence_byte(enc); len]
}

/// The byte that encodes silence (for PCM16 both bytes of a zero sample are 0).
pub const fn silence_byte(enc: SourceEncoding) -> u8 {
    match enc {
        SourceEncoding::MuLaw => sotto_audio::g711::ULAW_SILENCE,
        SourceEncoding::ALaw => sotto_audio::g711::ALAW_SILENCE,
        SourceEncoding::Pcm16 => 0,
    }
}

/// Deletes spool files left by a crash (unreadable: their keys lived only in memory). Returns
/// how many were removed. Run at start, before any call is accepted.
pub fn sweep_spool(dir: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in rd {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "spool") {
            std::fs::remove_file(&p)?;
            n += 1;
        }
    }
    Ok(n)
}
