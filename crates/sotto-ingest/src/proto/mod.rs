//! Wire codecs, one module per protocol. Pure functions over bytes and strings — no I/O, no
//! sessions — so each can be fuzzed (`fuzz/`) and property-tested. Errors name the field and
//! the rule, never the content.

pub mod audiohook;
pub mod audiosocket;
pub mod native;
pub mod twilio;

/// A codec error: what was wrong, without the offending content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unknown codec `{0}`")]
    UnknownCodec(String),
    #[error("frame of {size} bytes is larger than {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("unexpected message: {0}")]
    Unexpected(String),
}

/// serde_json's error without the input it may quote.
pub(crate) fn json_err(e: &serde_json::Error) -> ProtoError {
    ProtoError::Malformed(format!(
        "invalid JSON ({:?} at line {}, column {})",
        e.classify(),
        e.line(),
        e.column()
    ))
}
