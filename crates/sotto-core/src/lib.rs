//! The shared vocabulary of Sotto.
//!
//! Owns: the kinds of personal data the detector finds and every other crate stores, filters and
//! exports ([`Kind`], [`Category`]); the languages we handle ([`Lang`]); typed ids; the types that
//! hold personal data in memory ([`Personal`], [`SecretBytes`]) — they never print their contents
//! and are zeroised on drop; and the [`Clock`] every time-dependent rule reads.
//!
//! Must never: do I/O, depend on another Sotto crate, or give personal data a `Display`.

pub mod clock;
pub mod ids;
pub mod kind;
pub mod lang;
pub mod model;
pub mod secret;

pub use clock::{Clock, ManualClock, SystemClock, UnixMillis};
pub use ids::{CaseId, InteractionId, ObjectId, SegmentId, SubjectId, TenantId};
pub use kind::{Category, Kind, ParseKindError};
pub use lang::{Lang, ParseLangError};
pub use model::{
    Channel, ConsentPurpose, ConsentState, Direction, HoldScope, IdentifierKind, LegalBasis,
    ParseEnumError, ProcessingMode, SegmentKind, Speaker, SubjectState,
};
pub use secret::{Personal, SecretBytes};
