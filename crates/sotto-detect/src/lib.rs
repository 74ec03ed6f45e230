//! Sotto's detector: finds payment-card, personal and special-category data in what speech
//! recognition writes, in Danish, Swedish, Norwegian, Finnish, Estonian, German and English.
//!
//! Owns: normalisation of spoken forms (numbers, e-mail, spelled letters, filler words) with a map
//! back to original offsets; recognisers (checksummed identifiers, cards, phones, names,
//! addresses, special-category lexicons); policies as pure functions of text and spans; the
//! streaming detector over timed words.
//!
//! Must never: do I/O (word lists are compiled in), know about storage or keys, or log text.

pub mod lexical;
pub mod span;

pub use span::{Candidate, Span};
