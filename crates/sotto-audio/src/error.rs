//! The one error type of this crate. Every message says what is wrong and what is supported.

/// Why audio could not be decoded, encoded or archived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The input does not start with a RIFF/WAVE header.
    #[error(
        "not a WAV file: expected a RIFF/WAVE header (supported: little-endian RIFF WAVE with \
         16-bit PCM, μ-law or A-law, also as WAVE_FORMAT_EXTENSIBLE)"
    )]
    NotWav,
    /// A header or chunk declares more bytes than the input holds.
    #[error("truncated audio: {0} declares more bytes than the input holds")]
    Truncated(&'static str),
    /// The WAV `fmt ` tag is not one we decode.
    #[error(
        "unsupported WAV format tag {tag:#06x}: supported are 0x0001 (16-bit PCM), 0x0006 (A-law), \
         0x0007 (μ-law) and 0xfffe (WAVE_FORMAT_EXTENSIBLE with one of those subformats)"
    )]
    UnsupportedFormat { tag: u16 },
    /// WAVE_FORMAT_EXTENSIBLE with a subformat GUID that is not a plain format-tag GUID.
    #[error(
        "unsupported WAVE_FORMAT_EXTENSIBLE subformat: only the KSDATAFORMAT_SUBTYPE GUIDs of PCM, \
         A-law and μ-law are supported"
    )]
    UnknownSubformat,
    /// Bits per sample that do not fit the format (PCM must be 16-bit, G.711 8-bit).
    #[error("unsupported bits per sample {0}: PCM must be 16-bit, μ-law and A-law 8-bit")]
    UnsupportedBits(u16),
    /// A sample rate outside 8000..=48000 Hz.
    #[error("unsupported sample rate {0} Hz: supported are 8000 to 48000 Hz")]
    BadSampleRate(u32),
    /// A channel count other than mono or stereo.
    #[error("unsupported channel count {0}: supported are 1 (mono) and 2 (stereo)")]
    BadChannels(u16),
    /// A structural inconsistency; the text names it.
    #[error("corrupt audio: {0}")]
    Corrupt(&'static str),
    /// The input would decode to more audio than we accept in one piece.
    #[error("audio too large: {declared} bytes declared, at most {limit} bytes are accepted")]
    TooLarge { declared: u64, limit: u64 },
    /// A Sotto audio archive could not be written or read; the text says why.
    #[error("audio archive: {0}")]
    Archive(String),
}
