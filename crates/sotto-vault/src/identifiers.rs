//! Normalising the identifiers a subject is found by, before they are blind-indexed. The same
//! person must give the same digest however the number or address was written.

use crate::error::{Result, VaultError};
use sotto_core::{IdentifierKind, Personal};

/// An identifier in normalised form (E.164 phone, lower-case e-mail, …). Holds personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: IdentifierKind,
    pub value: Personal,
}

impl Identifier {
    /// Phone number to E.164. Numbers without a `+` are read in `default_region` (ISO 3166
    /// alpha-2, e.g. `DK`). The error never repeats the number.
    pub fn phone(raw: &str, default_region: &str) -> Result<Self> {
        let region = default_region
            .parse::<phonenumber::country::Id>()
            .map_err(|_| {
                VaultError::invalid(
                    "region",
                    format!("`{default_region}` is not an ISO 3166 country code"),
                )
            })?;
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let cleaned = match cleaned.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => cleaned,
        };
        let bad = || {
            VaultError::invalid(
                "phone number",
                format!("not a valid phone number (expected E.164 like +4520123456, or a national number for region {default_region})"),
            )
        };
        if cleaned.is_empty()
            || !cleaned
                .trim_start_matches('+')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let parsed = phonenumber::parse(Some(region), &cleaned).map_err(|_| bad())?;
        // A number in a range the metadata does not know yet (newly allocated, or a test range)
        // is still somebody's number: a recorder must not refuse it. Only malformed input —
        // fewer than 6 national digits, or more than E.164's 15 digits in all — is refused.
        let national_len = parsed.national().to_string().len();
        let total_len = parsed.code().value().to_string().len() + national_len;
        if !phonenumber::is_valid(&parsed) && (national_len < 6 || total_len > 15) {
            return Err(bad());
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self {
            kind: IdentifierKind::Phone,
            value: Personal::new(e164),
        })
    }

    /// E-mail, trimmed and lower-cased (local parts are case-insensitive in practice).
    pub fn email(raw: &str) -> Result<Self> {
        let v = raw.trim().to_lowercase();
        let ok = v.len() <= 254
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.chars().any(char::is_whitespace)
                    && domain.matches('@').count() == 0
            });
        if !ok {
            return Err(VaultError::invalid(
                "e-mail address",
                "not a valid e-mail address",
            ));
        }
        Ok(Self {
            kind: IdentifierKind::Email,
            value: Personal::new(v),
        })
    }

    /// The tenant's own customer id, trimmed.
    pub fn customer_id(raw: &str) -> Result<Self> {
        let v = raw.trim();
        if v.is_empty() || v.len() > 128 || v.chars().any(char::is_control) {
            return Err(VaultError::invalid(
                "customer id",
                "must be 1-128 printable characters",
            ));
        }
        Ok(Self {
            kind: IdentifierKind::CustomerId,
            value: Personal::new(v),
        })
    }

    /// A national id with separators removed and letters upper-cased.
    pub fn national_id(raw: &str) -> Result<Self> {
        let v: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '+' | '.'))
            .flat_map(char::to_uppercase)
            .collect();
        if v.len() < 6 || v.len() > 20 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(VaultError::invalid(
                "national id",
                "must be 6-20 letters and digits",
            ));
        }
        Ok(Self {
            kind: IdentifierKind::NationalId,
            value: Personal::new(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164() {
        for raw in [
            "+45 20 12 34 56",
            "20123456",
            "0045-20123456",
            "+4520123456",
        ] {
            assert_eq!(
                Identifier::phone(raw, "DK").unwrap().value.expose(),
                "+4520123456",
                "{raw}"
            );
        }
        assert_eq!(
            Identifier::phone("070-123 45 67", "SE")
                .unwrap()
                .value
                .expose(),
            "+46701234567"
        );
    }

    #[test]
    fn malformed_phones_are_refused_without_echo() {
        for raw in ["", "abc", "+45 12", "+4599999999999999", "77777"] {
            let err = Identifier::phone(raw, "DK").unwrap_err().to_string();
            if !raw.is_empty() {
                assert!(!err.contains(raw), "{err}");
            }
        }
        assert!(Identifier::phone("+4520123456", "ZZ").is_err());
        // Well-formed numbers in ranges the metadata does not list are kept, not refused.
        assert_eq!(
            Identifier::phone("+4520000000", "DK")
                .unwrap()
                .value
                .expose(),
            "+4520000000"
        );
        assert_eq!(
            Identifier::phone("07700 900123", "GB")
                .unwrap()
                .value
                .expose(),
            "+447700900123"
        );
    }

    #[test]
    fn emails_and_ids_normalise() {
        assert_eq!(
            Identifier::email(" Anna@Firma.DK ").unwrap().value.expose(),
            "anna@firma.dk"
        );
        assert!(Identifier::email("anna@firma").is_err());
        assert!(Identifier::email("a b@c.dk").is_err());
        assert_eq!(
            Identifier::national_id("070761-4285")
                .unwrap()
                .value
                .expose(),
            "0707614285"
        );
        assert!(Identifier::customer_id("  ").is_err());
    }
}
