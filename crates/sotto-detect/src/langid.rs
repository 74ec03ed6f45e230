//! Language identification of a transcript line (owned by the lexical engineer).
//! Placeholder until the real one lands: knows nothing.

use sotto_core::Lang;

/// The language of `text`, when it can be told; `None` runs every language's word lists.
pub fn detect(text: &str) -> Option<Lang> {
    let _ = text;
    None
}
