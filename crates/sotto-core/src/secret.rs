//! Types that hold personal data or key material in memory.
//!
//! Neither implements `Display`; `Debug` prints only a length, so a stray `{:?}` in a log line
//! cannot leak a transcript, a number or a name. Both are zeroised when dropped.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Personal data as text (a transcript, a phone number, a name). Read it with
/// [`Personal::expose`], which makes every place that handles clear text easy to find.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Personal(String);

impl Personal {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The clear text. Callers must not log it or put it into an error.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Personal {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Personal(<{} bytes redacted>)", self.0.len())
    }
}

/// Key material or decrypted bytes.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(v: Vec<u8>) -> Self {
        Self(v)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_contents() {
        let p = Personal::new("CANARY-4242");
        let s = format!("{p:?}");
        assert!(!s.contains("CANARY"), "{s}");
        let b = SecretBytes::new(b"CANARY".to_vec());
        assert!(!format!("{b:?}").contains("CANARY"));
    }
}
