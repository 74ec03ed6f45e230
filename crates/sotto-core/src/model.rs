//! Domain vocabulary shared by storage, the vault, ingest and the API. Each enum has a stable
//! lower-case wire name (`as_str` / `FromStr`) used in the database, exports and JSON.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A wire name that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $( $(#[$vdoc:meta])* $variant:ident => $wire:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $(#[$vdoc])* $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )* }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok($name::$variant), )*
                    _ => Err(ParseEnumError {
                        what: $what,
                        value: s.chars().take(40).collect(),
                        expected: concat!($( $wire, " " ),*),
                    }),
                }
            }
        }
    };
}

wire_enum!(
    /// How the interaction reached us.
    Channel, "channel", {
    Call => "call", Voicemail => "voicemail", Chat => "chat", Email => "email", Sms => "sms",
});
wire_enum!(Direction, "direction", { Inbound => "inbound", Outbound => "outbound", Internal => "internal" });
wire_enum!(
    /// Who spoke a segment.
    Speaker, "speaker", { Caller => "caller", Agent => "agent", Bot => "bot" });
wire_enum!(
    /// The seeds' four kinds of call audio: inbound general speech / personal data; outbound
    /// static predefined answers / dynamic answers that may carry personal data.
    SegmentKind, "segment kind", {
    General => "general", Personal => "personal", Static => "static", Dynamic => "dynamic",
});
wire_enum!(
    /// What a consent or legal basis covers.
    ConsentPurpose, "consent purpose", {
    Recording => "recording", Transcript => "transcript", Analytics => "analytics", AiTraining => "ai_training",
});
wire_enum!(
    /// GDPR Art. 6 legal basis.
    LegalBasis, "legal basis", {
    Consent => "consent", Contract => "contract", LegalObligation => "legal_obligation",
    LegitimateInterest => "legitimate_interest",
});
wire_enum!(ConsentState, "consent state", { Given => "given", Withdrawn => "withdrawn" });
wire_enum!(
    /// State of a data subject and of their key.
    SubjectState, "subject state", {
    /// Data may be processed.
    Active => "active",
    /// GDPR Art. 18: kept (e.g. under a legal duty) but not processed further.
    Restricted => "restricted",
    /// Key destroyed; only a tombstone remains.
    Erased => "erased",
});
wire_enum!(
    /// Identifiers a subject can be found by (through blind indexes, never in clear).
    IdentifierKind, "identifier kind", {
    Phone => "phone", Email => "email", CustomerId => "customer_id", NationalId => "national_id",
});
wire_enum!(
    /// What a legal hold is placed on.
    HoldScope, "hold scope", { Case => "case", Subject => "subject", Interaction => "interaction" });
wire_enum!(
    /// A tenant's processing mode (BRIEF.md).
    ProcessingMode, "processing mode", { Minimal => "minimal", Anonymise => "anonymise", Record => "record" });
