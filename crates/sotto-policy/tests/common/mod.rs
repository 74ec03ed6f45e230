//! Test harness: a vault on in-memory stores with a manual clock, and the policy layer over it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_audio::{DecodedWav, Pcm16, SourceEncoding};
use sotto_core::{Channel, Clock, Direction, Lang, ManualClock, ProcessingMode, Speaker, TenantId};
use sotto_detect::Detector;
use sotto_keys::{LocalKeyStore, MasterKey};
use sotto_policy::{Policies, Routing};
use sotto_store::{BlobStore, RuleScope, SqliteStore};
use sotto_vault::transcript::{SegmentInput, TranscriptInput};
use sotto_vault::{AudioInput, Identifier, IngestReceipt, IngestRequest, Vault};
use std::sync::Arc;

pub const DAY: i64 = 86_400_000;
pub const T0: i64 = 1_767_225_600_000; // 2026-01-01

pub struct H {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub tenant: TenantId,
    pub policies: Policies,
    pub detector: Arc<Detector>,
}

impl H {
    pub fn vault(&self) -> &Vault {
        self.policies.vault()
    }
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub async fn harness(mode: ProcessingMode) -> H {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let keys = LocalKeyStore::in_memory(MasterKey::generate())
        .await
        .unwrap();
    let store = SqliteStore::in_memory().await.unwrap();
    let blobs = BlobStore::local(&dir.path().join("blobs")).unwrap();
    let audit = sotto_audit::AuditLog::in_memory(
        sotto_audit::CheckpointSigner::generate("sotto-test").unwrap(),
    )
    .await
    .unwrap();
    let detector = Arc::new(Detector::new());
    let vault = Vault::new(
        Arc::new(store),
        blobs,
        Arc::new(keys),
        Arc::new(audit),
        detector.clone(),
        Arc::new(clock.clone()),
    );
    let tenant = TenantId::default_tenant();
    vault.put_tenant(&tenant, "Test", mode).await.unwrap();
    let policies = Policies::new(vault, detector.clone());
    H {
        dir,
        clock,
        tenant,
        policies,
        detector,
    }
}

/// Sets the tenant rule: `mode` with `days`.
pub async fn tenant_rule(h: &H, mode: ProcessingMode, days: u32) {
    h.policies
        .set_rule(
            &h.tenant,
            RuleScope::Tenant,
            "",
            mode,
            Some(days),
            None,
            vec![],
            "dpo",
        )
        .await
        .unwrap();
}

pub fn audio(secs: u32) -> DecodedWav {
    let n = (secs * 8000) as usize;
    DecodedWav {
        pcm: Pcm16 {
            sample_rate: 8000,
            channels: 1,
            samples: (0..n).map(|i| ((i % 64) as i16 - 32) * 300).collect(),
        },
        source: SourceEncoding::MuLaw,
    }
}

pub fn seg(speaker: Speaker, start: i64, end: i64, text: &str) -> SegmentInput {
    SegmentInput {
        speaker,
        start_ms: start,
        end_ms: end,
        text: text.into(),
        words: None,
        kind: None,
        lang: None,
    }
}

pub fn call(h: &H, phone: &str, segments: Vec<SegmentInput>, with_audio: bool) -> IngestRequest {
    IngestRequest {
        tenant: h.tenant.clone(),
        channel: Channel::Call,
        direction: Direction::Inbound,
        started_ms: Some(h.now()),
        identifiers: vec![Identifier::phone(phone, "DK").unwrap()],
        subject: None,
        agent: Some("agent-7".into()),
        case_id: None,
        lang: Some(Lang::En),
        audio: with_audio.then(|| AudioInput { wav: audio(2) }),
        transcript: Some(TranscriptInput {
            lang: None,
            segments,
        }),
        recording_basis: None,
        basis_source: "test".into(),
    }
}

pub async fn ingest(h: &H, req: IngestRequest) -> IngestReceipt {
    h.policies.ingest(req, Routing::default()).await.unwrap()
}

/// All interactions of the tenant (ids).
pub async fn all(h: &H) -> Vec<sotto_store::InteractionRow> {
    h.vault()
        .store()
        .list_interactions(&h.tenant, &Default::default())
        .await
        .unwrap()
}

pub async fn audit_entries(h: &H) -> Vec<sotto_audit::Record> {
    h.vault()
        .audit()
        .query(
            &h.tenant,
            &sotto_audit::Query {
                limit: Some(100_000),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}
