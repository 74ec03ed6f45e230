//! Kinds of data the detector reports. The names are a contract: API, storage, exports and the
//! `sotto redact` CLI all use exactly these strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Broad class of a kind; decides the default policy (pci and special are removed at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Payment-card data (PCI DSS): never stored.
    Pci,
    /// Ordinary personal data: kept encrypted under the subject's key where policy allows.
    Personal,
    /// GDPR Art. 9 special categories: anonymised immediately.
    Special,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Pci, Category::Personal, Category::Special];

    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Pci => "pci",
            Category::Personal => "personal",
            Category::Special => "special",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $cat:ident; )*) => {
        /// A kind of personal, special-category or payment-card data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind { $( $variant, )* }

        impl Kind {
            /// Every kind, in a stable order (pci, personal, special).
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant, )* ];

            /// The exact wire name (`payment_card`, `person_name`, …).
            pub const fn as_str(self) -> &'static str {
                match self { $( Kind::$variant => $name, )* }
            }

            /// The category this kind belongs to.
            pub const fn category(self) -> Category {
                match self { $( Kind::$variant => Category::$cat, )* }
            }
        }

        impl FromStr for Kind {
            type Err = ParseKindError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(Kind::$variant), )*
                    _ => Err(ParseKindError(s.chars().take(40).collect())),
                }
            }
        }
    };
}

kinds! {
    PaymentCard => "payment_card", Pci;
    CardCvc => "card_cvc", Pci;
    CardExpiry => "card_expiry", Pci;
    PersonName => "person_name", Personal;
    PhoneNumber => "phone_number", Personal;
    Email => "email", Personal;
    NationalId => "national_id", Personal;
    Iban => "iban", Personal;
    Address => "address", Personal;
    DateOfBirth => "date_of_birth", Personal;
    Health => "health", Special;
    Religion => "religion", Special;
    PoliticalOpinion => "political_opinion", Special;
    EthnicOrigin => "ethnic_origin", Special;
    TradeUnion => "trade_union", Special;
    SexualOrientation => "sexual_orientation", Special;
    Genetic => "genetic", Special;
    Biometric => "biometric", Special;
}

impl Kind {
    /// Placeholder used when a span of this kind is redacted, e.g. `[PAYMENT_CARD]`.
    pub fn placeholder(self) -> String {
        format!("[{}]", self.as_str().to_ascii_uppercase())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown kind name (the offending text, cut to 40 characters, is kept for the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`")]
pub struct ParseKindError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_categories_match_the_contract() {
        assert_eq!(Kind::ALL.len(), 18);
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(Kind::CardExpiry.category(), Category::Pci);
        assert_eq!(Kind::DateOfBirth.category(), Category::Personal);
        assert_eq!(Kind::Biometric.category(), Category::Special);
        assert!("credit_card".parse::<Kind>().is_err());
        assert_eq!(Kind::PaymentCard.placeholder(), "[PAYMENT_CARD]");
    }
}
