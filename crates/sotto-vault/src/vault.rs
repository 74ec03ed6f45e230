use crate::context::AccessContext;
use crate::error::{Result, VaultError};
use crate::identifiers::Identifier;
use crate::transcript::{self, TranscriptInput};
use bytes::Bytes;
use serde::Serialize;
use sotto_audio::archive::{self, ArchiveFormat};
use sotto_audio::{DecodedWav, Pcm16};
use sotto_audit::{Action, AuditLog, Entry, Outcome};
use sotto_core::{
    CaseId, Channel, Clock, ConsentPurpose, ConsentState, Direction, HoldScope, InteractionId,
    Kind, Lang, LegalBasis, ObjectId, Personal, ProcessingMode, SegmentId, SegmentKind, Speaker,
    SubjectId, SubjectState, TenantId, UnixMillis,
};
use sotto_detect::Detector;
use sotto_keys::{KeyError, KeyStore, ObjectContext, ObjectKey, ObjectPurpose, SubjectCipher};
use sotto_store::{
    BlobStore, ConsentRow, ErasureReceiptRow, InteractionBundle, InteractionFilter, InteractionRow,
    RecordingRow, SegmentRow, Store, SubjectIndexRow, SubjectRow, TenantRow,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Padding around a silenced span, so the first and last phoneme of a card number go too.
pub const DEFAULT_SILENCE_PADDING_MS: u64 = 150;

/// Audio that comes with an interaction.
pub struct AudioInput {
    pub wav: DecodedWav,
}

/// Everything needed to store one interaction.
pub struct IngestRequest {
    pub tenant: TenantId,
    pub channel: Channel,
    pub direction: Direction,
    /// When the interaction began; `None` means now.
    pub started_ms: Option<UnixMillis>,
    /// Identifiers of the caller (normalised). Empty for a withheld number: a new subject is made.
    pub identifiers: Vec<Identifier>,
    /// Store under this known subject instead of looking one up.
    pub subject: Option<SubjectId>,
    pub agent: Option<String>,
    pub case_id: Option<CaseId>,
    pub lang: Option<Lang>,
    pub audio: Option<AudioInput>,
    pub transcript: Option<TranscriptInput>,
    /// The legal basis for keeping the audio; without one (and outside `record` mode) the audio
    /// is not stored (BRIEF guarantee 4).
    pub recording_basis: Option<LegalBasis>,
    /// Where the basis came from (`ivr`, `agent`, `cli`), recorded with the consent row.
    pub basis_source: String,
}

/// What ingest did. Ids and counts only.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReceipt {
    pub tenant: TenantId,
    pub interaction: InteractionId,
    pub subject: SubjectId,
    pub new_subject: bool,
    pub segments: usize,
    pub redactions: BTreeMap<Kind, u32>,
    pub audio_stored: bool,
    /// Why audio was not stored, when it was given but dropped.
    pub audio_dropped_reason: Option<String>,
    pub silenced_ms: u64,
    pub duration_ms: u64,
}

/// An interaction sealed and ready to be written (see [`Vault::commit_ingests`]).
pub struct PreparedIngest {
    bundle: InteractionBundle,
    blob: Option<(String, Bytes)>,
    consent: Option<ConsentRow>,
    receipt: IngestReceipt,
}

impl PreparedIngest {
    /// The subject the interaction will be stored under (created during preparation if new).
    pub fn subject(&self) -> SubjectId {
        self.receipt.subject
    }
}

/// A listing entry: ids, times, channel — no content.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionSummary {
    pub id: InteractionId,
    pub subject: SubjectId,
    pub channel: Channel,
    pub direction: Direction,
    pub started_ms: UnixMillis,
    pub ended_ms: UnixMillis,
    pub case_id: Option<CaseId>,
    pub redactions: BTreeMap<String, u32>,
    pub has_audio: bool,
}

/// A decrypted interaction.
pub struct InteractionView {
    pub summary: InteractionSummary,
    /// Sealed metadata, decrypted: caller number, agent, language.
    pub meta: Meta,
    pub segments: Vec<SegmentView>,
    pub recordings: Vec<RecordingRow>,
    /// A live call's timeline (pauses, consent, gaps, PCI pauses); empty for batch ingests.
    pub timeline: Vec<TimelineView>,
}

/// One stored timeline event, its reason opened.
pub struct TimelineView {
    pub at_ms: i64,
    pub leg: Option<i64>,
    pub kind: String,
    /// Non-personal fields of the event (JSON object).
    pub detail: serde_json::Value,
    pub actor: String,
    pub reason: Option<Personal>,
}

pub struct SegmentView {
    pub speaker: Speaker,
    pub kind: SegmentKind,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: Personal,
    pub words_json: Option<Personal>,
}

/// The sealed part of an interaction row.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub caller: Option<String>,
    pub agent: Option<String>,
    pub lang: Option<String>,
    pub source_encoding: Option<String>,
}

/// Proof of an erasure (printed by `sotto forget`, kept in the store). No personal data.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReceipt {
    pub receipt: ObjectId,
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub at_ms: UnixMillis,
    pub actor: String,
    pub interactions_erased: u64,
    pub segments_erased: u64,
    pub recordings_erased: u64,
    pub consents_erased: u64,
    pub index_entries_erased: u64,
    pub blobs_deleted: u64,
    /// True when the subject key was destroyed (nothing was held).
    pub key_erased: bool,
    pub held: Vec<HeldItem>,
}

/// An interaction kept because of a legal hold (GDPR Art. 17(3)(b)).
#[derive(Debug, Clone, Serialize)]
pub struct HeldItem {
    pub interaction: InteractionId,
    pub hold: ObjectId,
    pub scope: HoldScope,
    pub reason: String,
    pub until_ms: Option<UnixMillis>,
}

/// The vault. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn Store>,
    blobs: BlobStore,
    keys: Arc<dyn KeyStore>,
    audit: Arc<AuditLog>,
    detector: Arc<Detector>,
    clock: Arc<dyn Clock>,
    silence_padding_ms: u64,
    policy: sotto_detect::policy::Policy,
    archive: Arc<ArchivePolicy>,
}

/// How each tenant's recordings are archived: the lossless original unless its policy chose Opus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchivePolicy {
    /// For tenants not named below.
    pub default: ArchiveFormat,
    /// Per-tenant choices.
    pub tenants: BTreeMap<TenantId, ArchiveFormat>,
}

impl ArchivePolicy {
    /// The format `tenant`'s recordings are archived in.
    pub fn format_for(&self, tenant: &TenantId) -> ArchiveFormat {
        self.tenants.get(tenant).copied().unwrap_or(self.default)
    }
}

impl Vault {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        keys: Arc<dyn KeyStore>,
        audit: Arc<AuditLog>,
        detector: Arc<Detector>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            blobs,
            keys,
            audit,
            detector,
            clock,
            silence_padding_ms: DEFAULT_SILENCE_PADDING_MS,
            policy: transcript::storage_policy(None),
            archive: Arc::new(ArchivePolicy::default()),
        }
    }

    /// Sets how recordings are archived per tenant (default: lossless for everyone).
    pub fn with_archive_policy(mut self, policy: ArchivePolicy) -> Self {
        self.archive = Arc::new(policy);
        self
    }

    /// The archive format of `tenant`'s recordings.
    pub fn archive_format(&self, tenant: &TenantId) -> ArchiveFormat {
        self.archive.format_for(tenant)
    }

    pub fn with_silence_padding_ms(mut self, ms: u64) -> Self {
        self.silence_padding_ms = ms;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    pub fn keys(&self) -> &Arc<dyn KeyStore> {
        &self.keys
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }
    pub fn now_ms(&self) -> UnixMillis {
        self.clock.now_ms()
    }
    pub fn audit(&self) -> &Arc<AuditLog> {
        &self.audit
    }

    /// Appends one audit entry (ids only). Content is handed out only after this succeeded.
    pub async fn record(
        &self,
        tenant: &TenantId,
        actor: &str,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        outcome: Outcome,
    ) -> Result<()> {
        let mut e = Entry::new(tenant.clone(), self.clock.now_ms(), actor, action, outcome);
        e.subject = subject;
        e.object = object;
        self.audit.append(e).await?;
        Ok(())
    }

    /// Records the outcome of an operation on a subject's data, then passes its result on:
    /// successes, refusals and failures all leave an entry.
    pub(crate) async fn audited<T>(
        &self,
        tenant: &TenantId,
        actor: &str,
        action: Action,
        subject: Option<SubjectId>,
        object: Option<String>,
        result: Result<T>,
    ) -> Result<T> {
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(VaultError::SubjectErased(_)) | Err(VaultError::SubjectNotFound(_)) => {
                Outcome::Denied
            }
            Err(_) => Outcome::Error,
        };
        self.record(tenant, actor, action, subject, object, outcome)
            .await?;
        result
    }

    // ------------------------------------------------------------------ tenants

    /// Creates the tenant (store row and keys) if it does not exist; updates name and mode.
    pub async fn put_tenant(&self, id: &TenantId, name: &str, mode: ProcessingMode) -> Result<()> {
        self.keys.ensure_tenant(id).await?;
        let created_ms = match self.store.get_tenant(id).await? {
            Some(t) => t.created_ms,
            None => self.clock.now_ms(),
        };
        self.store
            .put_tenant(&TenantRow {
                id: id.clone(),
                name: name.to_owned(),
                mode,
                created_ms,
            })
            .await?;
        Ok(())
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<TenantRow> {
        self.store
            .get_tenant(id)
            .await?
            .ok_or_else(|| VaultError::UnknownTenant(id.clone()))
    }

    /// Re-applies every recorded erasure to the key store; returns how many keys it had to
    /// destroy again. The store's erasure receipts are the tombstone journal: a key store
    /// restored from a backup taken before an erasure would otherwise bring the erased key back.
    /// Idempotent and cheap (receipts only); run at every start.
    pub async fn reapply_erasures(&self) -> Result<u64> {
        let mut redone = 0;
        for t in self.store.list_tenants().await? {
            for r in self.store.erasure_receipts(&t.id).await? {
                let key_erased = serde_json::from_str::<serde_json::Value>(&r.details)
                    .ok()
                    .and_then(|v| v.get("key_erased").and_then(serde_json::Value::as_bool))
                    .unwrap_or(false);
                if key_erased
                    && self.keys.subject_key_state(&t.id, r.subject).await?
                        != Some(SubjectState::Erased)
                {
                    self.keys
                        .erase_subject_key(&t.id, r.subject, r.at_ms)
                        .await?;
                    redone += 1;
                }
            }
        }
        Ok(redone)
    }

    // ------------------------------------------------------------------ subjects

    /// Finds the subject an identifier points at (through its blind index).
    pub async fn find_subject(
        &self,
        tenant: &TenantId,
        ident: &Identifier,
    ) -> Result<Option<SubjectId>> {
        self.tenant(tenant).await?;
        let bi = self.keys.blind_indexer(tenant).await?;
        let digest = bi.digest(ident.kind, ident.value.expose());
        Ok(self.store.find_subject(tenant, ident.kind, &digest).await?)
    }

    /// Finds a subject by identifier or fails with `SubjectNotFound`.
    pub async fn require_subject(
        &self,
        tenant: &TenantId,
        ident: &Identifier,
    ) -> Result<SubjectId> {
        self.find_subject(tenant, ident)
            .await?
            .ok_or_else(|| VaultError::SubjectNotFound(tenant.clone()))
    }

    /// The subject for these identifiers: the existing one the first identifier points at, or a
    /// new subject with its own key. Every identifier is indexed for the subject.
    async fn resolve_subject(
        &self,
        tenant: &TenantId,
        idents: &[Identifier],
    ) -> Result<(SubjectId, bool)> {
        let bi = self.keys.blind_indexer(tenant).await?;
        let digests: Vec<_> = idents
            .iter()
            .map(|i| (i.kind, bi.digest(i.kind, i.value.expose())))
            .collect();
        let mut found = None;
        for (kind, d) in &digests {
            if let Some(s) = self.store.find_subject(tenant, *kind, d).await? {
                found = Some(s);
                break;
            }
        }
        let (subject, new) = match found {
            Some(s) => (s, false),
            None => (self.create_subject(tenant).await?, true),
        };
        for (kind, digest) in digests {
            let row = SubjectIndexRow {
                tenant: tenant.clone(),
                subject,
                kind,
                digest: digest.to_vec(),
            };
            match self.store.put_subject_index(&row).await {
                // Another identifier of this caller already belongs to someone else (a shared
                // company number, say): keep both subjects apart rather than merge them.
                Ok(()) | Err(sotto_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((subject, new))
    }

    async fn create_subject(&self, tenant: &TenantId) -> Result<SubjectId> {
        let id = SubjectId::new();
        self.keys.create_subject_key(tenant, id).await?;
        self.store
            .insert_subject(&SubjectRow {
                tenant: tenant.clone(),
                id,
                state: SubjectState::Active,
                created_ms: self.clock.now_ms(),
                erased_ms: None,
            })
            .await?;
        Ok(id)
    }

    pub(crate) async fn cipher_for(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
    ) -> Result<SubjectCipher> {
        match self.keys.subject_cipher(tenant, subject).await {
            Ok(c) => Ok(c),
            Err(KeyError::Erased) => Err(VaultError::SubjectErased(subject)),
            Err(e) => Err(e.into()),
        }
    }

    // ------------------------------------------------------------------ ingest

    /// Stores one interaction: detects and removes card and special-category data from the
    /// transcript, silences the same intervals in the audio, seals everything under a fresh data
    /// key wrapped by the subject key, writes the audio blob, then the rows in one transaction.
    /// Validation happens before anything is written; if the rows cannot be written the blob is
    /// removed again, so nothing is left half-written.
    pub async fn prepare_ingest(&self, req: IngestRequest) -> Result<PreparedIngest> {
        let tenant_row = self.tenant(&req.tenant).await?;
        let tenant = req.tenant.clone();
        let now = self.clock.now_ms();

        // 1. Detection and redaction (pure, in memory).
        let processed = match req.transcript {
            Some(t) => Some(transcript::process(
                &self.detector,
                &self.policy,
                t,
                req.lang,
            )),
            None => None,
        };

        // 2. Audio: silence what was removed from the text; keep it only with a legal basis.
        let keep_audio_basis = req.recording_basis.or(match tenant_row.mode {
            ProcessingMode::Record => Some(LegalBasis::LegitimateInterest),
            _ => None,
        });
        // Fail closed (guarantee 1): audio that would be kept must have been checked, and only a
        // transcript says where card numbers and special-category data were spoken.
        if req.audio.is_some() && processed.is_none() && keep_audio_basis.is_some() {
            return Err(VaultError::invalid(
                "transcript",
                "a recording is only stored with its transcript: without one nothing could check \
                 it for card numbers or special-category data (transcribe it first)",
            ));
        }
        let mut audio_dropped_reason = None;
        let mut silenced_ms = 0u64;
        let mut duration_ms = 0u64;
        let mut audio: Option<(Pcm16, sotto_audio::SourceEncoding)> = None;
        if let Some(a) = req.audio {
            let DecodedWav { mut pcm, source } = a.wav;
            duration_ms = pcm.duration_ms();
            if let Some(p) = &processed {
                let samples = sotto_audio::silence_intervals(
                    &mut pcm,
                    &p.silence_ms,
                    self.silence_padding_ms,
                );
                let per_ms = u64::from(pcm.sample_rate) * u64::from(pcm.channels.max(1)) / 1000;
                silenced_ms = samples.checked_div(per_ms).unwrap_or(0);
            }
            if keep_audio_basis.is_some() {
                audio = Some((pcm, source));
            } else {
                audio_dropped_reason = Some(format!(
                    "no legal basis for audio (tenant mode `{}`, no --recording-basis): transcribed, audio discarded",
                    tenant_row.mode
                ));
            }
        }
        let started_ms = req.started_ms.unwrap_or(now);
        let transcript_end = processed
            .as_ref()
            .and_then(|p| p.segments.iter().map(|s| s.end_ms).max())
            .unwrap_or(0);
        let ended_ms = started_ms + (duration_ms as i64).max(transcript_end);

        // 3. Subject and keys.
        let (subject, new_subject) = match req.subject {
            Some(s) => {
                self.store
                    .get_subject(&tenant, s)
                    .await?
                    .ok_or_else(|| VaultError::SubjectNotFound(tenant.clone()))?;
                (s, false)
            }
            None => self.resolve_subject(&tenant, &req.identifiers).await?,
        };
        let cipher = self.cipher_for(&tenant, subject).await?;
        let interaction = InteractionId::new();
        let ctx = ObjectContext {
            tenant: tenant.clone(),
            subject,
            object: ObjectId(*interaction.as_uuid()),
            purpose: ObjectPurpose::Transcript,
        };
        let (okey, wrapped_key) = cipher.new_object_key(&ctx)?;

        // 4. Seal rows.
        let caller = req
            .identifiers
            .iter()
            .find(|i| i.kind == sotto_core::IdentifierKind::Phone);
        let meta = Meta {
            caller: caller.map(|c| c.value.expose().to_owned()),
            agent: req.agent.clone(),
            lang: req.lang.map(|l| l.code().to_owned()),
            source_encoding: audio.as_ref().map(|(_, s)| s.as_str().to_owned()),
        };
        let meta_json = Personal::new(
            serde_json::to_string(&meta).map_err(|e| VaultError::Export(e.to_string()))?,
        );
        let sealed_meta = okey.seal("meta", meta_json.expose().as_bytes())?;
        let mut segments = Vec::new();
        let mut counts = BTreeMap::new();
        if let Some(p) = &processed {
            counts = p.counts.clone();
            for (seq, s) in p.segments.iter().enumerate() {
                let id = SegmentId::new();
                let sealed_text =
                    okey.seal(&format!("segment/{id}/text"), s.text.expose().as_bytes())?;
                let sealed_words = match &s.words_json {
                    Some(w) => {
                        Some(okey.seal(&format!("segment/{id}/words"), w.expose().as_bytes())?)
                    }
                    None => None,
                };
                segments.push(SegmentRow {
                    interaction,
                    id,
                    seq: seq as i64,
                    speaker: s.speaker,
                    kind: s.kind,
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    sealed_text,
                    sealed_words,
                });
            }
        }
        let redaction_counts = serde_json::to_string(
            &counts
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap_or_else(|_| "{}".into());

        // 5. Audio blob (encrypted in memory; only ciphertext will reach the blob store).
        let mut recordings = Vec::new();
        let mut blob = None;
        if let Some((pcm, source)) = &audio {
            let rec_id = ObjectId::new();
            let format = self.archive_format(&tenant);
            let codec = format.codec_for(*source);
            let encoded = format.encode_pcm(pcm, *source)?;
            let rctx = ObjectContext {
                tenant: tenant.clone(),
                subject,
                object: rec_id,
                purpose: ObjectPurpose::Recording,
            };
            let (rkey, rwrapped) = cipher.new_object_key(&rctx)?;
            let ct = rkey.stream_encryptor().encrypt_all(&encoded);
            let blob_key = blob_key(&tenant, subject, rec_id);
            recordings.push(RecordingRow {
                interaction,
                id: rec_id,
                blob_key: blob_key.clone(),
                codec: codec.as_str().to_owned(),
                sample_rate: pcm.sample_rate,
                channels: pcm.channels,
                duration_ms: pcm.duration_ms() as i64,
                size_bytes: ct.len() as i64,
                wrapped_key: rwrapped,
                created_ms: now,
            });
            blob = Some((blob_key, Bytes::from(ct)));
        }
        let consent = match (req.recording_basis, audio.is_some()) {
            (Some(basis), true) => Some(ConsentRow {
                tenant: tenant.clone(),
                id: ObjectId::new(),
                subject,
                purpose: ConsentPurpose::Recording,
                basis,
                state: ConsentState::Given,
                source: req.basis_source.clone(),
                at_ms: now,
                interaction: Some(interaction),
            }),
            _ => None,
        };
        let receipt = IngestReceipt {
            tenant: tenant.clone(),
            interaction,
            subject,
            new_subject,
            segments: segments.len(),
            redactions: counts,
            audio_stored: audio.is_some(),
            audio_dropped_reason,
            silenced_ms,
            duration_ms,
        };
        let bundle = InteractionBundle {
            interaction: InteractionRow {
                tenant,
                id: interaction,
                subject,
                channel: req.channel,
                direction: req.direction,
                started_ms,
                ended_ms,
                case_id: req.case_id,
                created_ms: now,
                wrapped_key,
                sealed_meta,
                redaction_counts,
            },
            segments,
            recordings,
        };
        Ok(PreparedIngest {
            bundle,
            blob,
            consent,
            receipt,
        })
    }

    /// Stores one interaction: detects and removes card and special-category data from the
    /// transcript, silences the same intervals in the audio, seals everything under a fresh data
    /// key wrapped by the subject key, writes the audio blob, then the rows in one transaction.
    /// Validation happens before anything is written; if the rows cannot be written the blob is
    /// removed again, so nothing is left half-written.
    pub async fn ingest(&self, req: IngestRequest) -> Result<IngestReceipt> {
        let p = self.prepare_ingest(req).await?;
        let mut receipts = self.commit_ingests(vec![p]).await?;
        receipts
            .pop()
            .ok_or_else(|| VaultError::Export("no receipt".into()))
    }

    /// Writes prepared interactions: blobs first, then every row in one transaction; on failure
    /// the blobs written are removed again.
    pub async fn commit_ingests(
        &self,
        prepared: Vec<PreparedIngest>,
    ) -> Result<Vec<IngestReceipt>> {
        let mut written = Vec::new();
        let mut bundles = Vec::with_capacity(prepared.len());
        let mut consents = Vec::new();
        let mut receipts = Vec::with_capacity(prepared.len());
        let mut failure = None;
        for p in prepared {
            if failure.is_none() {
                if let Some((k, bytes)) = p.blob {
                    match self.blobs.put(&k, bytes).await {
                        Ok(()) => written.push(k),
                        Err(e) => failure = Some(VaultError::from(e)),
                    }
                }
            }
            bundles.push(p.bundle);
            consents.extend(p.consent);
            receipts.push(p.receipt);
        }
        let result = match failure {
            Some(e) => Err(e),
            None => self
                .store
                .insert_interactions(&bundles)
                .await
                .map_err(VaultError::from),
        };
        if let Err(e) = result {
            for k in &written {
                // Best effort: these blobs are ciphertext no row refers to.
                let _ = self.blobs.delete(k).await;
            }
            return Err(e);
        }
        for c in &consents {
            self.store.put_consent(c).await?;
        }
        let entries = receipts
            .iter()
            .map(|r| {
                let mut e = Entry::new(
                    r.tenant.clone(),
                    self.clock.now_ms(),
                    "ingest",
                    Action::Ingest,
                    Outcome::Ok,
                );
                e.subject = Some(r.subject);
                e.object = Some(r.interaction.to_string());
                e
            })
            .collect();
        self.audit.append_batch(entries).await?;
        Ok(receipts)
    }

    // ------------------------------------------------------------------ read

    pub async fn list_interactions(
        &self,
        tenant: &TenantId,
        filter: &InteractionFilter,
    ) -> Result<Vec<InteractionSummary>> {
        self.tenant(tenant).await?;
        let rows = self.store.list_interactions(tenant, filter).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let has_audio = !self.store.recordings(r.id).await?.is_empty();
            out.push(summary(&r, has_audio));
        }
        Ok(out)
    }

    /// Decrypts one interaction. `actor` names who asked (recorded by the audit log).
    pub async fn read_interaction(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        actor: &str,
    ) -> Result<InteractionView> {
        self.read_interaction_ctx(tenant, id, &AccessContext::actor(actor))
            .await
    }

    pub(crate) async fn open_interaction(
        &self,
        cipher: &SubjectCipher,
        row: InteractionRow,
    ) -> Result<InteractionView> {
        let okey = self.interaction_key(cipher, &row)?;
        let meta_bytes = okey
            .open("meta", &row.sealed_meta)
            .map_err(|e| integrity(e, format!("interaction {}", row.id)))?;
        let meta: Meta =
            serde_json::from_slice(meta_bytes.expose()).map_err(|_| VaultError::Integrity {
                what: format!("interaction {} metadata", row.id),
            })?;
        let mut segments = Vec::new();
        for s in self.store.segments(row.id).await? {
            let text = okey
                .open(&format!("segment/{}/text", s.id), &s.sealed_text)
                .map_err(|e| integrity(e, format!("segment {}", s.id)))?;
            let text =
                String::from_utf8(text.expose().to_vec()).map_err(|_| VaultError::Integrity {
                    what: format!("segment {}", s.id),
                })?;
            let words_json = match &s.sealed_words {
                Some(w) => {
                    let b = okey
                        .open(&format!("segment/{}/words", s.id), w)
                        .map_err(|e| integrity(e, format!("segment {} words", s.id)))?;
                    Some(Personal::new(
                        String::from_utf8_lossy(b.expose()).into_owned(),
                    ))
                }
                None => None,
            };
            segments.push(SegmentView {
                speaker: s.speaker,
                kind: s.kind,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: Personal::new(text),
                words_json,
            });
        }
        let recordings = self.store.recordings(row.id).await?;
        let mut timeline = Vec::new();
        for t in self.store.timeline(row.id).await? {
            let what = || format!("interaction {} timeline event {}", row.id, t.seq);
            let reason = match &t.sealed_reason {
                Some(r) => {
                    let b = okey
                        .open(&format!("timeline/{}/reason", t.seq), r)
                        .map_err(|e| integrity(e, what()))?;
                    Some(Personal::new(
                        String::from_utf8(b.expose().to_vec())
                            .map_err(|_| VaultError::Integrity { what: what() })?,
                    ))
                }
                None => None,
            };
            timeline.push(TimelineView {
                at_ms: t.at_ms,
                leg: t.leg,
                detail: serde_json::from_str(&t.detail)
                    .map_err(|_| VaultError::Integrity { what: what() })?,
                kind: t.kind,
                actor: t.actor,
                reason,
            });
        }
        Ok(InteractionView {
            summary: summary(&row, !recordings.is_empty()),
            meta,
            segments,
            recordings,
            timeline,
        })
    }

    pub(crate) fn interaction_key(
        &self,
        cipher: &SubjectCipher,
        row: &InteractionRow,
    ) -> Result<ObjectKey> {
        let ctx = ObjectContext {
            tenant: row.tenant.clone(),
            subject: row.subject,
            object: ObjectId(*row.id.as_uuid()),
            purpose: ObjectPurpose::Transcript,
        };
        cipher
            .open_object_key(&ctx, &row.wrapped_key)
            .map_err(|e| integrity(e, format!("interaction {}", row.id)))
    }

    /// Decrypts a recording to PCM (for playback and export).
    pub async fn read_recording(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        rec: &RecordingRow,
        actor: &str,
    ) -> Result<Pcm16> {
        self.read_recording_as(tenant, subject, rec, actor, Action::RecordingPlay)
            .await
    }

    /// Decrypts a recording, recording the access as `action` (play or download).
    pub async fn read_recording_as(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        rec: &RecordingRow,
        actor: &str,
        action: Action,
    ) -> Result<Pcm16> {
        self.read_recording_ctx(tenant, subject, rec, &AccessContext::actor(actor), action)
            .await
    }

    pub(crate) async fn decrypt_recording(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        rec: &RecordingRow,
    ) -> Result<Pcm16> {
        let cipher = self.cipher_for(tenant, subject).await?;
        let ctx = ObjectContext {
            tenant: tenant.clone(),
            subject,
            object: rec.id,
            purpose: ObjectPurpose::Recording,
        };
        let what = || format!("recording {}", rec.id);
        let key = cipher
            .open_object_key(&ctx, &rec.wrapped_key)
            .map_err(|e| integrity(e, what()))?;
        let ct = self.blobs.get(&rec.blob_key).await?;
        let plain = key
            .stream_decryptor()
            .decrypt_all(&ct)
            .map_err(|e| integrity(e, what()))?;
        Ok(archive::decode(plain.expose())?)
    }

    // ------------------------------------------------------------------ forget

    /// "Forget me": erases everything about a subject that no legal hold keeps. When nothing is
    /// held the subject key is destroyed (crypto-shredding: every copy of the ciphertext, backups
    /// included, becomes unreadable); otherwise the held interactions stay encrypted under the
    /// key, the subject is restricted (Art. 18), and the receipt names each hold.
    pub async fn forget(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        actor: &str,
    ) -> Result<ErasureReceipt> {
        self.tenant(tenant).await?;
        let result = self.forget_unaudited(tenant, subject, actor).await;
        let object = result
            .as_ref()
            .ok()
            .map(|r| format!("receipt:{}", r.receipt));
        self.audited(
            tenant,
            actor,
            Action::Erasure,
            Some(subject),
            object,
            result,
        )
        .await
    }

    /// Erases, as one batch, subjects that have nothing stored any more — what a retention run
    /// does to the subjects it emptied: their remaining consents and index entries go, their keys
    /// are destroyed (one key-store transaction), they are marked erased with a receipt each (one
    /// store transaction), and each gets its own `erasure` audit entry (one group commit), with
    /// the purpose given beside it. A subject that still has data, is under a subject hold or
    /// does not exist is answered `None` and left untouched: erase it with [`Vault::forget`]
    /// (which restricts instead where a hold applies).
    ///
    /// Order as in `forget`: content, then keys, then the erased state and receipts. A crash
    /// after the keys went leaves subjects whose key is gone but whose state is not `erased`;
    /// erasing them again (by `forget` or here) completes them.
    pub async fn forget_empty_subjects(
        &self,
        tenant: &TenantId,
        subjects: &[(SubjectId, Option<String>)],
        actor: &str,
    ) -> Result<Vec<Option<ErasureReceipt>>> {
        self.tenant(tenant).await?;
        let now = self.clock.now_ms();
        let holds = self.store.active_holds(tenant, now).await?;
        let held: std::collections::HashSet<&str> = holds
            .iter()
            .filter(|h| h.scope == HoldScope::Subject)
            .map(|h| h.target.as_str())
            .collect();
        let candidates: Vec<SubjectId> = subjects
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| !held.contains(s.to_string().as_str()))
            .collect();
        let cleared = self.store.clear_empty_subjects(tenant, &candidates).await?;
        let mut reports = std::collections::HashMap::new();
        for (s, r) in candidates.iter().zip(cleared) {
            if let Some(r) = r {
                reports.insert(*s, r);
            }
        }
        let erasable: Vec<SubjectId> = subjects
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| reports.contains_key(s))
            .collect();
        if erasable.is_empty() {
            return Ok(vec![None; subjects.len()]);
        }
        let mut receipts = std::collections::HashMap::new();
        let mut rows = Vec::with_capacity(erasable.len());
        for s in &erasable {
            let r = reports.get(s).cloned().unwrap_or_default();
            let receipt = ErasureReceipt {
                receipt: ObjectId::new(),
                tenant: tenant.clone(),
                subject: *s,
                at_ms: now,
                actor: actor.to_owned(),
                interactions_erased: 0,
                segments_erased: 0,
                recordings_erased: 0,
                consents_erased: r.consents,
                index_entries_erased: r.index_entries,
                blobs_deleted: 0,
                key_erased: true,
                held: Vec::new(),
            };
            rows.push(ErasureReceiptRow {
                tenant: tenant.clone(),
                id: receipt.receipt,
                subject: *s,
                at_ms: now,
                actor: actor.to_owned(),
                details: serde_json::to_string(&receipt).unwrap_or_else(|_| "{}".into()),
            });
            receipts.insert(*s, receipt);
        }
        let done: Result<()> = async {
            self.keys.erase_subject_keys(tenant, &erasable, now).await?;
            self.store.record_erasures(&rows).await?;
            Ok(())
        }
        .await;
        let outcome = if done.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        };
        let mut entries = Vec::with_capacity(erasable.len());
        for (s, purpose) in subjects {
            let Some(r) = receipts.get(s) else { continue };
            let mut e = Entry::new(
                tenant.clone(),
                self.clock.now_ms(),
                actor,
                Action::Erasure,
                outcome,
            );
            e.subject = Some(*s);
            e.object = done.is_ok().then(|| format!("receipt:{}", r.receipt));
            e.purpose = purpose.clone();
            entries.push(e);
        }
        self.audit.append_batch(entries).await?;
        done?;
        if let Err(e) = self.store.checkpoint().await {
            tracing::warn!("checkpoint after erasure deferred: {e}");
        }
        Ok(subjects.iter().map(|(s, _)| receipts.remove(s)).collect())
    }

    pub(crate) async fn forget_unaudited(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        actor: &str,
    ) -> Result<ErasureReceipt> {
        let srow = self
            .store
            .get_subject(tenant, subject)
            .await?
            .ok_or_else(|| VaultError::SubjectNotFound(tenant.clone()))?;
        let now = self.clock.now_ms();
        let holds = self.store.active_holds(tenant, now).await?;
        let interactions = self
            .store
            .list_interactions(
                tenant,
                &InteractionFilter {
                    subject: Some(subject),
                    ..Default::default()
                },
            )
            .await?;
        let subject_str = subject.to_string();
        let subject_hold = holds
            .iter()
            .find(|h| h.scope == HoldScope::Subject && h.target == subject_str);
        let mut held = Vec::new();
        for i in &interactions {
            let id_str = i.id.to_string();
            let case_str = i.case_id.map(|c| c.to_string());
            let hold = subject_hold.or_else(|| {
                holds.iter().find(|h| match h.scope {
                    HoldScope::Interaction => h.target == id_str,
                    HoldScope::Case => case_str.as_deref() == Some(h.target.as_str()),
                    HoldScope::Subject => false,
                })
            });
            if let Some(h) = hold {
                held.push(HeldItem {
                    interaction: i.id,
                    hold: h.id,
                    scope: h.scope,
                    reason: h.reason.clone(),
                    until_ms: h.until_ms,
                });
            }
        }
        let keep: Vec<InteractionId> = held.iter().map(|h| h.interaction).collect();
        let report = self
            .store
            .delete_subject_content(tenant, subject, &keep)
            .await?;
        let mut blobs_deleted = 0u64;
        for k in &report.blob_keys {
            self.blobs.delete(k).await?;
            blobs_deleted += 1;
        }
        let key_erased = keep.is_empty() && subject_hold.is_none();
        if key_erased {
            self.keys.erase_subject_key(tenant, subject, now).await?;
            self.store
                .set_subject_state(tenant, subject, SubjectState::Erased, now)
                .await?;
        } else if srow.state == SubjectState::Active {
            self.keys
                .set_subject_state(tenant, subject, SubjectState::Restricted)
                .await?;
            self.store
                .set_subject_state(tenant, subject, SubjectState::Restricted, now)
                .await?;
        }
        let receipt = ErasureReceipt {
            receipt: ObjectId::new(),
            tenant: tenant.clone(),
            subject,
            at_ms: now,
            actor: actor.to_owned(),
            interactions_erased: report.interactions,
            segments_erased: report.segments,
            recordings_erased: report.recordings,
            consents_erased: report.consents,
            index_entries_erased: report.index_entries,
            blobs_deleted,
            key_erased,
            held,
        };
        self.store
            .insert_erasure_receipt(&ErasureReceiptRow {
                tenant: tenant.clone(),
                id: receipt.receipt,
                subject,
                at_ms: now,
                actor: actor.to_owned(),
                details: serde_json::to_string(&receipt).unwrap_or_else(|_| "{}".into()),
            })
            .await?;
        // Deleted pages must not linger in the write-ahead log. The erasure itself is committed;
        // a busy database only delays this to the next checkpoint.
        if let Err(e) = self.store.checkpoint().await {
            tracing::warn!("checkpoint after erasure deferred: {e}");
        }
        Ok(receipt)
    }
}

pub(crate) fn summary(r: &InteractionRow, has_audio: bool) -> InteractionSummary {
    InteractionSummary {
        id: r.id,
        subject: r.subject,
        channel: r.channel,
        direction: r.direction,
        started_ms: r.started_ms,
        ended_ms: r.ended_ms,
        case_id: r.case_id,
        redactions: serde_json::from_str(&r.redaction_counts).unwrap_or_default(),
        has_audio,
    }
}

/// Blob key layout: `t/<tenant>/s/<subject>/<object>`. Ids only.
pub(crate) fn blob_key(tenant: &TenantId, subject: SubjectId, object: ObjectId) -> String {
    format!("t/{tenant}/s/{subject}/{object}")
}

fn integrity(e: KeyError, what: String) -> VaultError {
    match e {
        KeyError::Integrity
        | KeyError::Truncated
        | KeyError::Format(_)
        | KeyError::ContextMismatch => VaultError::Integrity { what },
        other => VaultError::Keys(other),
    }
}
