//! The seven transcript languages Sotto understands.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Danish
    Da,
    /// Swedish
    Sv,
    /// Norwegian Bokmål
    Nb,
    /// Finnish
    Fi,
    /// Estonian
    Et,
    /// German
    De,
    /// English
    En,
}

impl Lang {
    pub const ALL: [Lang; 7] = [
        Lang::Da,
        Lang::Sv,
        Lang::Nb,
        Lang::Fi,
        Lang::Et,
        Lang::De,
        Lang::En,
    ];

    /// ISO 639-1 code (`nb` for Norwegian Bokmål).
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::Sv => "sv",
            Lang::Nb => "nb",
            Lang::Fi => "fi",
            Lang::Et => "et",
            Lang::De => "de",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = ParseLangError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "da" | "dan" | "da-dk" => Lang::Da,
            "sv" | "swe" | "sv-se" => Lang::Sv,
            "nb" | "no" | "nob" | "nn" | "nb-no" => Lang::Nb,
            "fi" | "fin" | "fi-fi" => Lang::Fi,
            "et" | "est" | "et-ee" => Lang::Et,
            "de" | "deu" | "ger" | "de-de" | "de-at" | "de-ch" => Lang::De,
            "en" | "eng" | "en-gb" | "en-us" => Lang::En,
            _ => return Err(ParseLangError(s.chars().take(20).collect())),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}` (expected one of da, sv, nb, fi, et, de, en)")]
pub struct ParseLangError(pub String);
