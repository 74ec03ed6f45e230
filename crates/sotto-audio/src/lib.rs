//! Telephony audio.
//!
//! Owns: decoding WAV files (PCM16, μ-law, A-law) and G.711 frames to 16-bit PCM, silencing time
//! intervals, measuring levels, and the archive encodings recordings are kept in.
//!
//! Must never: know about calls, tenants, keys or storage; write anything to disk.
