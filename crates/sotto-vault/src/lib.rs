//! The vault: every operation on personal data.
//!
//! Owns: ingesting an interaction (detector → subject key → sealed rows and blobs), reading it back,
//! subject access export, "forget me", and finding subjects through blind indexes.
//!
//! Must never: write personal data except through the subject's key, or return content without
//! recording the access.
