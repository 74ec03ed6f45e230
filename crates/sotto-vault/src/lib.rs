//! The vault: every operation on personal data.
//!
//! Owns: ingesting an interaction (detector → subject key → sealed rows and blobs), reading it
//! back, subject access export, "forget me", and finding subjects through blind indexes.
//!
//! Must never: write personal data except sealed under the subject's key, store card or
//! special-category data at all (they are removed from text and silenced in audio first), or
//! hand out content without naming who asked (`actor`), so the audit log can record it.

pub mod context;
pub mod error;
pub mod export;
pub mod identifiers;
pub mod live;
pub mod retention;
pub mod transcript;
mod vault;

pub use context::{AccessContext, InteractionFacts};
pub use error::{Result, VaultError};
pub use export::{ExportFormat, SubjectExport};
pub use identifiers::Identifier;
pub use live::{LiveLeg, LiveReceipt, LiveRecordingRequest, LiveRecordingWriter, TimelineInput};
pub use sotto_audio::archive::ArchiveFormat;
pub use transcript::TranscriptInput;
pub use vault::{
    ArchivePolicy, AudioInput, ErasureReceipt, HeldItem, IngestReceipt, IngestRequest,
    InteractionSummary, InteractionView, PreparedIngest, SegmentView, TimelineView, Vault,
};
