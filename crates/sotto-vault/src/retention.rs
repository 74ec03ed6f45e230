//! Vault operations the retention engine (`sotto-policy`, issue 6) needs that only the vault may
//! do, because they decrypt and re-seal: building the anonymised copy of an interaction, and the
//! tenant's anonymous pool subject that anonymised copies are sealed under.
//!
//! Anonymisation re-runs the detector over the decrypted text instead of keeping span metadata:
//! stored span offsets would themselves describe the personal data (lengths, positions) and
//! would miss what a newer detector finds. Every span found — personal ones included — is
//! replaced by its kind placeholder; word timings and the sealed metadata (caller number, agent)
//! are dropped; recordings are not copied (a voice identifies its speaker). The copy gets a new
//! interaction id, no case link, its start rounded down to the UTC day, and is sealed under the
//! tenant's anonymous subject, so nothing in it leads back to the person and the person's own
//! key can be destroyed once none of their data remains under it.

use crate::error::{Result, VaultError};
use crate::vault::{Meta, Vault};
use sotto_core::{
    InteractionId, Kind, ObjectId, Personal, SegmentId, SubjectId, SubjectState, TenantId,
};
use sotto_detect::Detector;
use sotto_keys::{KeyError, ObjectContext, ObjectPurpose};
use sotto_store::{InteractionBundle, InteractionRow, SegmentRow, SubjectRow};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// The anonymised copy of an interaction, ready to be written in place of the original.
pub struct AnonymisedCopy {
    pub bundle: InteractionBundle,
    /// Spans replaced now, per kind (the personal data that was still in the text).
    pub replaced: BTreeMap<Kind, u32>,
}

impl Vault {
    /// The tenant's anonymous pool subject: a subject with no identifiers whose key is never
    /// erased by retention. Its id is derived from the tenant id, so it needs no lookup table;
    /// it is created on first use.
    pub async fn anonymous_subject(&self, tenant: &TenantId) -> Result<SubjectId> {
        let id = anonymous_subject_id(tenant);
        if self.store().get_subject(tenant, id).await?.is_none() {
            match self.keys().create_subject_key(tenant, id).await {
                Ok(()) | Err(KeyError::AlreadyExists) => {}
                Err(e) => return Err(e.into()),
            }
            match self
                .store()
                .insert_subject(&SubjectRow {
                    tenant: tenant.clone(),
                    id,
                    state: SubjectState::Active,
                    created_ms: self.now_ms(),
                    erased_ms: None,
                })
                .await
            {
                Ok(()) | Err(sotto_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(id)
    }

    /// Decrypts an interaction, replaces every span the detector finds by its placeholder and
    /// seals the result under the anonymous subject (see the module docs). `None` if the
    /// interaction no longer exists. Writes nothing: the caller stores the copy and deletes the
    /// original in one transaction.
    pub async fn anonymised_copy(
        &self,
        tenant: &TenantId,
        id: InteractionId,
        detector: &Detector,
    ) -> Result<Option<AnonymisedCopy>> {
        let Some(row) = self.store().get_interaction(tenant, id).await? else {
            return Ok(None);
        };
        let cipher = self.cipher_for(tenant, row.subject).await?;
        let view = self.open_interaction(&cipher, row.clone()).await?;
        let lang = view.meta.lang.as_deref().and_then(|l| l.parse().ok());
        let policy = sotto_detect::Policy::redact_all();

        let anon = self.anonymous_subject(tenant).await?;
        let anon_cipher = self.cipher_for(tenant, anon).await?;
        let new_id = InteractionId::new();
        let ctx = ObjectContext {
            tenant: tenant.clone(),
            subject: anon,
            object: ObjectId(*new_id.as_uuid()),
            purpose: ObjectPurpose::Transcript,
        };
        let (okey, wrapped_key) = anon_cipher.new_object_key(&ctx)?;
        let meta = Meta {
            lang: view.meta.lang.clone(),
            ..Meta::default()
        };
        let meta_json = serde_json::to_vec(&meta).map_err(|e| VaultError::Export(e.to_string()))?;
        let sealed_meta = okey.seal("meta", &meta_json)?;
        let mut replaced = BTreeMap::new();
        let mut segments = Vec::with_capacity(view.segments.len());
        for (seq, s) in view.segments.iter().enumerate() {
            let spans = detector.detect(s.text.expose(), lang);
            for sp in &spans {
                *replaced.entry(sp.kind).or_insert(0u32) += 1;
            }
            let applied = sotto_detect::apply(s.text.expose(), &spans, &policy, None);
            let text = Personal::new(applied.text);
            let sid = SegmentId::new();
            segments.push(SegmentRow {
                interaction: new_id,
                id: sid,
                seq: seq as i64,
                speaker: s.speaker,
                kind: s.kind,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                sealed_text: okey.seal(&format!("segment/{sid}/text"), text.expose().as_bytes())?,
                sealed_words: None,
            });
        }
        let started = row.started_ms.div_euclid(DAY_MS) * DAY_MS;
        let duration = (row.ended_ms - row.started_ms).max(0);
        let bundle = InteractionBundle {
            interaction: InteractionRow {
                tenant: tenant.clone(),
                id: new_id,
                subject: anon,
                channel: row.channel,
                direction: row.direction,
                started_ms: started,
                ended_ms: started + duration,
                case_id: None,
                created_ms: self.now_ms(),
                wrapped_key,
                sealed_meta,
                redaction_counts: row.redaction_counts.clone(),
            },
            segments,
            recordings: Vec::new(),
        };
        Ok(Some(AnonymisedCopy { bundle, replaced }))
    }
}

/// The anonymous pool subject of a tenant: a stable UUID (version 8 layout, so it can never equal
/// a random v7 subject id) from two FNV-1a hashes of a fixed label and the tenant id. Not a
/// secret and not security relevant: it only has to be the same on every start.
pub fn anonymous_subject_id(tenant: &TenantId) -> SubjectId {
    let label = format!("sotto/anonymous-subject/v1/{tenant}");
    let fnv = |seed: u64| {
        label.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    b[8..].copy_from_slice(&fnv(0x6c62_272e_07bb_0142).to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    SubjectId(uuid::Uuid::from_bytes(b))
}
