//! Keys and ciphers. The only crate in Sotto that touches a cipher.
//!
//! Owns: the master key (KEK), tenant keys wrapped by it, subject keys wrapped by their tenant key
//! (active / restricted / erased, with tombstones), per-object data keys wrapped by the subject
//! key, AEAD with associated data binding tenant, subject, object and purpose, the chunked
//! streaming format for blobs, and blind indexes for finding subjects without clear identifiers.
//!
//! Must never: be bypassed (nothing else encrypts), log key material or plaintext, or re-create
//! a key that was erased.
