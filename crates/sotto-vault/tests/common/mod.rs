//! Test harness: a vault on a temporary data directory laid out like the CLI's.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_audio::{DecodedWav, Pcm16, SourceEncoding};
use sotto_core::Clock;
use sotto_core::{Channel, Direction, Lang, LegalBasis, ManualClock, Speaker, TenantId};
use sotto_detect::Detector;
use sotto_keys::{LocalKeyStore, MasterKey};
use sotto_store::{BlobStore, SqliteStore};
use sotto_vault::transcript::{SegmentInput, TranscriptInput, WordInput};
use sotto_vault::{AudioInput, Identifier, IngestRequest, Vault};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Harness {
    pub dir: tempfile::TempDir,
    /// The master key file (a second copy of the key can be loaded from it).
    pub master_file: PathBuf,
    pub vault: Vault,
    pub clock: ManualClock,
    pub tenant: TenantId,
}

pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

pub async fn open_vault(data: &Path, master: MasterKey, clock: ManualClock) -> Vault {
    std::fs::create_dir_all(data.join("keys")).unwrap();
    let keys = LocalKeyStore::open(&data.join("keys/keys.db"), master)
        .await
        .unwrap();
    let store = SqliteStore::open(&data.join("sotto.db")).await.unwrap();
    let blobs = BlobStore::local(&data.join("blobs")).unwrap();
    let audit = open_audit(data).await;
    Vault::new(
        Arc::new(store),
        blobs,
        Arc::new(keys),
        Arc::new(audit),
        Arc::new(Detector::new()),
        Arc::new(clock),
    )
}

/// The audit log beside the data, with its checkpoint signing key (created on first use).
pub async fn open_audit(data: &Path) -> sotto_audit::AuditLog {
    std::fs::create_dir_all(data.join("audit")).unwrap();
    let key = data.join("audit/checkpoint.key");
    let signer = if key.exists() {
        sotto_audit::CheckpointSigner::load_file(&key).unwrap()
    } else {
        sotto_audit::CheckpointSigner::create_file(&key, "sotto-test").unwrap()
    };
    sotto_audit::AuditLog::open(&data.join("audit/audit.db"), signer)
        .await
        .unwrap()
}

pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let master_file = dir.path().join("master.key");
    let master = MasterKey::create_file(&master_file).unwrap();
    let clock = ManualClock::new(1_767_225_600_000); // 2026-01-01
    let vault = open_vault(&data_dir(dir.path()), master, clock.clone()).await;
    let tenant = TenantId::default_tenant();
    vault
        .put_tenant(&tenant, "Test", sotto_core::ProcessingMode::Record)
        .await
        .unwrap();
    Harness {
        dir,
        master_file,
        vault,
        clock,
        tenant,
    }
}

/// 8 kHz μ-law audio of `secs` seconds: a tone whose samples, encoded, carry `pattern` bytes
/// verbatim where possible (the μ-law bytes of the WAV *are* the pattern, repeated).
pub fn mulaw_audio(secs: u32, pattern: &[u8]) -> DecodedWav {
    let n = (secs * 8000) as usize;
    let bytes: Vec<u8> = (0..n).map(|i| pattern[i % pattern.len()]).collect();
    let samples = bytes
        .iter()
        .map(|b| sotto_audio::g711::ulaw_decode(*b))
        .collect();
    DecodedWav {
        pcm: Pcm16 {
            sample_rate: 8000,
            channels: 1,
            samples,
        },
        source: SourceEncoding::MuLaw,
    }
}

pub fn words(spec: &[(&str, i64, i64)]) -> Vec<WordInput> {
    spec.iter()
        .map(|(w, a, b)| WordInput {
            w: (*w).to_string(),
            start_ms: *a,
            end_ms: *b,
        })
        .collect()
}

pub fn segment(
    speaker: Speaker,
    start: i64,
    end: i64,
    text: &str,
    w: Option<Vec<WordInput>>,
) -> SegmentInput {
    SegmentInput {
        speaker,
        start_ms: start,
        end_ms: end,
        text: text.into(),
        words: w,
        kind: None,
        lang: None,
    }
}

pub fn request(
    h: &Harness,
    phone: Option<&str>,
    lang: Lang,
    segments: Vec<SegmentInput>,
    audio: Option<DecodedWav>,
) -> IngestRequest {
    IngestRequest {
        tenant: h.tenant.clone(),
        channel: Channel::Call,
        direction: Direction::Inbound,
        started_ms: Some(h.clock.now_ms()),
        identifiers: phone
            .map(|p| vec![Identifier::phone(p, "DK").unwrap()])
            .unwrap_or_default(),
        subject: None,
        agent: Some("agent-7".into()),
        case_id: None,
        lang: Some(lang),
        audio: audio.map(|wav| AudioInput { wav }),
        transcript: Some(TranscriptInput {
            lang: None,
            segments,
        }),
        recording_basis: Some(LegalBasis::Consent),
        basis_source: "test".into(),
    }
}

/// Every regular file under `dir`, recursively.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Files under `dir` containing `needle` (also checked as UTF-16LE, which SQLite can use).
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let utf16: Vec<u8> = std::str::from_utf8(needle)
        .map(|s| s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect())
        .unwrap_or_default();
    all_files(dir)
        .into_iter()
        .filter(|p| {
            let b = std::fs::read(p).unwrap_or_default();
            contains(&b, needle) || (!utf16.is_empty() && contains(&b, &utf16))
        })
        .collect()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
