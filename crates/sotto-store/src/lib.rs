//! Storage of what the vault sealed.
//!
//! Owns: the metadata [`Store`] trait and its SQLite implementation (PostgreSQL joins later and runs
//! the same test suite), migrations, and the blob store over `object_store`.
//!
//! Must never: hold plaintext content — every content column it is given is ciphertext — or
//! decide what may be deleted (the vault decides; the store executes).
