//! Chunked streaming AEAD for audio and large texts (format v1).
//!
//! A player can seek: it fetches the header and only the segments that cover the bytes it
//! needs, and every segment is authenticated on its own.
//!
//! ```text
//! header   = "SOTS" (4) || version 0x01 (1) || nonce prefix (7 random bytes)      = 12 bytes
//! segment  = AES-256-GCM(stream key, nonce_i, aad = object context, plaintext_i) || tag (16)
//! nonce_i  = nonce prefix (7) || i as u32 big-endian (4) || last-segment flag (1: 0x00 or 0x01)
//! ```
//!
//! Every segment but the last holds exactly [`SEGMENT_SIZE`] plaintext bytes; the last holds
//! 1..=[`SEGMENT_SIZE`] bytes, or 0 bytes when the whole plaintext is empty (an empty
//! plaintext is still one empty, final segment, so an empty object and a cut-off one differ).
//!
//! * Reordered or swapped segments fail: the index is in the nonce.
//! * A stream cut at a segment boundary fails: the segment the reader believes is last was
//!   sealed with flag 0, so it is reported as [`KeyError::Truncated`]. A cut inside a segment
//!   fails its tag ([`KeyError::Integrity`]).
//! * A blob moved to another object, subject, tenant or purpose fails: the object context is
//!   the associated data of every segment, and each object has its own data key anyway.
//!
//! **Nonce safety.** The stream key is derived from the object's own data key, which is never
//! shared between objects. Each stream written under it takes a fresh random 56-bit prefix, and
//! within a stream the counter never repeats (at most 2^32 segments = 256 TiB, checked), so a
//! (key, nonce) pair repeats only if two streams of the same object draw the same prefix —
//! negligible for the handful of rewrites an object sees.

use crate::context::ObjectContext;
use crate::primitives::random_bytes;
use crate::KeyError;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use sotto_core::SecretBytes;
use std::fmt;
use std::ops::Range;
use zeroize::{Zeroize, Zeroizing};

/// Plaintext bytes per segment. Part of format v1: it never changes for v1 streams.
pub const SEGMENT_SIZE: usize = 65536;
/// Magic bytes at the start of every stream.
pub const MAGIC: [u8; 4] = *b"SOTS";
/// The stream format version this code writes and reads.
pub const STREAM_VERSION: u8 = 1;
/// Random bytes of the per-stream nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Bytes of the header.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_PREFIX_LEN;
/// Bytes of the authentication tag of each segment.
pub const TAG_LEN: usize = 16;
/// Bytes a full segment takes in the ciphertext.
pub const SEGMENT_CT_SIZE: usize = SEGMENT_SIZE + TAG_LEN;

const SEG: u64 = SEGMENT_SIZE as u64;
const FULL: u64 = SEGMENT_CT_SIZE as u64;
const HDR: u64 = HEADER_LEN as u64;
const MAX_SEGMENTS: u64 = 1 << 32;

type Prefix = [u8; NONCE_PREFIX_LEN];

fn nonce_for(prefix: &Prefix, index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    // Callers check index < 2^32 before sealing; opening never gets that far (layout()).
    let idx = u32::try_from(index).unwrap_or(u32::MAX);
    n[NONCE_PREFIX_LEN..11].copy_from_slice(&idx.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Shape of a stream of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    segments: u64,
    plaintext_len: u64,
}

fn layout(ciphertext_len: u64) -> Result<Layout, KeyError> {
    if ciphertext_len < HDR {
        return Err(KeyError::Format("shorter than a stream header"));
    }
    let body = ciphertext_len - HDR;
    if body == 0 {
        return Err(KeyError::Truncated);
    }
    let segments = body.div_ceil(FULL);
    if segments > MAX_SEGMENTS {
        return Err(KeyError::Format("more segments than the format allows"));
    }
    let last = body - (segments - 1) * FULL;
    if last < TAG_LEN as u64 {
        return Err(KeyError::Truncated);
    }
    Ok(Layout {
        segments,
        plaintext_len: body - segments * TAG_LEN as u64,
    })
}

fn parse_header(header: &[u8]) -> Result<Prefix, KeyError> {
    if header.len() < HEADER_LEN || header[..4] != MAGIC || header[4] != STREAM_VERSION {
        return Err(KeyError::Format(
            "bad stream magic or unsupported stream version",
        ));
    }
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    prefix.copy_from_slice(&header[5..HEADER_LEN]);
    Ok(prefix)
}

/// The ciphertext length of a plaintext of `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    let segments = plaintext_len.div_ceil(SEG).max(1);
    HDR + plaintext_len + segments * TAG_LEN as u64
}

/// The plaintext length of a well-formed stream of `ciphertext_len` bytes, without decrypting.
pub fn plaintext_len(ciphertext_len: u64) -> Result<u64, KeyError> {
    layout(ciphertext_len).map(|l| l.plaintext_len)
}

/// Which ciphertext bytes a reader must fetch (besides the header, `0..HEADER_LEN`) to decrypt
/// the plaintext bytes `plain`. `plain` is clamped to the plaintext length, as HTTP ranges are.
/// Never fails: for an empty range or an impossible length it returns an empty range, and
/// [`StreamDecryptor::decrypt_range`] reports the problem.
pub fn ciphertext_range_for(plain: Range<u64>, ciphertext_len: u64) -> Range<u64> {
    let Ok(l) = layout(ciphertext_len) else {
        let at = HDR.min(ciphertext_len);
        return at..at;
    };
    let (start, end) = clamp(&plain, l.plaintext_len);
    if start == end {
        return HDR..HDR;
    }
    let first = start / SEG;
    let last = (end - 1) / SEG;
    (HDR + first * FULL)..(HDR + (last + 1) * FULL).min(ciphertext_len)
}

fn clamp(plain: &Range<u64>, len: u64) -> (u64, u64) {
    let end = plain.end.min(len);
    (plain.start.min(end), end)
}

/// Writes one stream. Each encryptor draws its own nonce prefix; [`StreamEncryptor::encrypt_all`]
/// draws a fresh one on every call.
///
/// Incremental use: `let mut out = enc.begin();` then `enc.push(data, &mut out)?` as data
/// arrives (whole segments are emitted as soon as it is known they are not the last), then
/// `enc.finish(&mut out)?`. An encryptor dropped without `finish` leaves a stream that reads
/// as [`KeyError::Truncated`]. Buffered plaintext (at most one segment) is wiped.
pub struct StreamEncryptor {
    cipher: Aes256Gcm,
    aad: Vec<u8>,
    prefix: Prefix,
    next: u64,
    buf: Zeroizing<Vec<u8>>,
    started: bool,
}

impl StreamEncryptor {
    pub(crate) fn new(key: &[u8; 32], ctx: &ObjectContext) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
            aad: ctx.aad(),
            prefix: random_bytes(),
            next: 0,
            buf: Zeroizing::new(Vec::new()),
            started: false,
        }
    }

    fn fresh(&self) -> Self {
        Self {
            cipher: self.cipher.clone(),
            aad: self.aad.clone(),
            prefix: random_bytes(),
            next: 0,
            buf: Zeroizing::new(Vec::new()),
            started: false,
        }
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(&MAGIC);
        h[4] = STREAM_VERSION;
        h[5..].copy_from_slice(&self.prefix);
        h
    }

    /// The header; start the output with it. (`push` writes it itself if `begin` was not
    /// called, so a stream never lacks one.)
    pub fn begin(&mut self) -> Vec<u8> {
        self.started = true;
        self.header().to_vec()
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            out.extend_from_slice(&self.header());
        }
    }

    /// Appends the ciphertext of every complete segment that `data` makes available.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), KeyError> {
        self.ensure_started(out);
        if !self.buf.is_empty() {
            let take = (SEGMENT_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if data.is_empty() {
                return Ok(());
            }
            // The buffer is full and more data follows, so it is not the last segment.
            seal_segment(
                &self.cipher,
                &self.prefix,
                self.next,
                &self.aad,
                &self.buf,
                false,
                out,
            )?;
            self.next += 1;
            self.buf.zeroize();
        }
        while data.len() > SEGMENT_SIZE {
            seal_segment(
                &self.cipher,
                &self.prefix,
                self.next,
                &self.aad,
                &data[..SEGMENT_SIZE],
                false,
                out,
            )?;
            self.next += 1;
            data = &data[SEGMENT_SIZE..];
        }
        if !data.is_empty() {
            if self.buf.capacity() < SEGMENT_SIZE {
                // Reserve once, so plaintext is never left behind by a reallocation.
                self.buf.reserve_exact(SEGMENT_SIZE);
            }
            self.buf.extend_from_slice(data);
        }
        Ok(())
    }

    /// Seals the final segment (possibly empty) and ends the stream.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), KeyError> {
        self.ensure_started(out);
        seal_segment(
            &self.cipher,
            &self.prefix,
            self.next,
            &self.aad,
            &self.buf,
            true,
            out,
        )?;
        self.buf.zeroize();
        Ok(())
    }

    /// Encrypts a whole plaintext in one go, with a fresh nonce prefix.
    ///
    /// Cannot fail for any plaintext that fits in memory; should it (more than 2^32 segments,
    /// i.e. 256 TiB), it returns an empty vector, which no decryptor accepts — use
    /// [`StreamEncryptor::try_encrypt_all`] to get the error instead.
    pub fn encrypt_all(&self, plaintext: &[u8]) -> Vec<u8> {
        self.try_encrypt_all(plaintext).unwrap_or_default()
    }

    /// [`StreamEncryptor::encrypt_all`] with the (practically impossible) error reported.
    pub fn try_encrypt_all(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let enc = self.fresh();
        let mut out = Vec::with_capacity(
            usize::try_from(ciphertext_len(plaintext.len() as u64))
                .map_err(|_| KeyError::TooLarge)?,
        );
        out.extend_from_slice(&enc.header());
        let segments = plaintext.len().div_ceil(SEGMENT_SIZE).max(1);
        let mut chunks = plaintext.chunks(SEGMENT_SIZE);
        for i in 0..segments {
            let chunk = chunks.next().unwrap_or(&[]);
            seal_segment(
                &enc.cipher,
                &enc.prefix,
                i as u64,
                &enc.aad,
                chunk,
                i + 1 == segments,
                &mut out,
            )?;
        }
        Ok(out)
    }
}

impl fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("segments_written", &self.next)
            .finish_non_exhaustive()
    }
}

fn seal_segment(
    cipher: &Aes256Gcm,
    prefix: &Prefix,
    index: u64,
    aad: &[u8],
    chunk: &[u8],
    last: bool,
    out: &mut Vec<u8>,
) -> Result<(), KeyError> {
    if index >= MAX_SEGMENTS {
        return Err(KeyError::TooLarge);
    }
    let start = out.len();
    out.extend_from_slice(chunk);
    let nonce = nonce_for(prefix, index, last);
    match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[start..]) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(_) => {
            out[start..].zeroize();
            out.truncate(start);
            Err(KeyError::TooLarge)
        }
    }
}

/// Reads streams written by [`StreamEncryptor`], whole or by range.
pub struct StreamDecryptor {
    cipher: Aes256Gcm,
    aad: Vec<u8>,
}

impl StreamDecryptor {
    pub(crate) fn new(key: &[u8; 32], ctx: &ObjectContext) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
            aad: ctx.aad(),
        }
    }

    /// See the module function [`plaintext_len`].
    pub fn plaintext_len(ciphertext_len: u64) -> Result<u64, KeyError> {
        plaintext_len(ciphertext_len)
    }

    /// See the module function [`ciphertext_range_for`].
    pub fn ciphertext_range_for(plain: Range<u64>, ciphertext_len: u64) -> Range<u64> {
        ciphertext_range_for(plain, ciphertext_len)
    }

    /// Decrypts and authenticates a whole stream. Returns all of the plaintext or an error,
    /// never a part of it.
    pub fn decrypt_all(&self, ciphertext: &[u8]) -> Result<SecretBytes, KeyError> {
        let prefix = parse_header(ciphertext)?;
        let l = layout(ciphertext.len() as u64)?;
        let mut out = Zeroizing::new(Vec::with_capacity(
            usize::try_from(l.plaintext_len).map_err(|_| KeyError::TooLarge)?,
        ));
        let body = &ciphertext[HEADER_LEN..];
        for (i, seg) in body.chunks(SEGMENT_CT_SIZE).enumerate() {
            let i = i as u64;
            self.open_segment(&prefix, i, i + 1 == l.segments, seg, &mut out)?;
        }
        Ok(SecretBytes::new(std::mem::take(&mut *out)))
    }

    /// Decrypts the plaintext bytes `plain` (clamped to the plaintext length) from the
    /// `header` (ciphertext bytes `0..HEADER_LEN`) and `fetched`, the ciphertext bytes at
    /// [`ciphertext_range_for`]`(plain, ciphertext_len)`. `ciphertext_len` is the length of the
    /// whole stored stream; a stream cut short is detected when its (apparent) last segment is
    /// read. Only whole, authenticated segments are used.
    pub fn decrypt_range(
        &self,
        header: &[u8],
        plain: Range<u64>,
        ciphertext_len: u64,
        fetched: &[u8],
    ) -> Result<SecretBytes, KeyError> {
        let prefix = parse_header(header)?;
        let l = layout(ciphertext_len)?;
        let (start, end) = clamp(&plain, l.plaintext_len);
        let want = ciphertext_range_for(plain, ciphertext_len);
        let want_len = want.end - want.start;
        if (fetched.len() as u64) < want_len {
            return Err(KeyError::Truncated);
        }
        if fetched.len() as u64 > want_len {
            return Err(KeyError::Format(
                "more ciphertext bytes than the requested range needs",
            ));
        }
        if start == end {
            return Ok(SecretBytes::default());
        }
        let first = start / SEG;
        let mut scratch = Zeroizing::new(Vec::with_capacity(fetched.len()));
        for (k, seg) in fetched.chunks(SEGMENT_CT_SIZE).enumerate() {
            let i = first + k as u64;
            self.open_segment(&prefix, i, i + 1 == l.segments, seg, &mut scratch)?;
        }
        let from = usize::try_from(start - first * SEG)
            .map_err(|_| KeyError::Format("range out of bounds"))?;
        let to = usize::try_from(end - first * SEG)
            .map_err(|_| KeyError::Format("range out of bounds"))?;
        let slice = scratch
            .get(from..to)
            .ok_or(KeyError::Format("range out of bounds"))?;
        Ok(SecretBytes::new(slice.to_vec()))
    }

    /// [`StreamDecryptor::decrypt_range`] over a whole ciphertext held in memory.
    pub fn decrypt_range_in(
        &self,
        ciphertext: &[u8],
        plain: Range<u64>,
    ) -> Result<SecretBytes, KeyError> {
        let len = ciphertext.len() as u64;
        let r = ciphertext_range_for(plain.clone(), len);
        let fetched = usize::try_from(r.start)
            .ok()
            .zip(usize::try_from(r.end).ok())
            .and_then(|(a, b)| ciphertext.get(a..b))
            .ok_or(KeyError::Format("range out of bounds"))?;
        self.decrypt_range(ciphertext, plain, len, fetched)
    }

    fn open_segment(
        &self,
        prefix: &Prefix,
        index: u64,
        last: bool,
        seg: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), KeyError> {
        if seg.len() < TAG_LEN || (!last && seg.len() != SEGMENT_CT_SIZE) {
            return Err(KeyError::Truncated);
        }
        let (body, tag) = seg.split_at(seg.len() - TAG_LEN);
        let tag = Tag::from_slice(tag);
        let start = out.len();
        out.extend_from_slice(body);
        let nonce = nonce_for(prefix, index, last);
        if self
            .cipher
            .decrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad, &mut out[start..], tag)
            .is_ok()
        {
            return Ok(());
        }
        out[start..].zeroize();
        out.truncate(start);
        if last && body.len() == SEGMENT_SIZE {
            // Is this an authentic *inner* segment? Then the stream was cut after it.
            let mut probe = Zeroizing::new(body.to_vec());
            let inner = nonce_for(prefix, index, false);
            if self
                .cipher
                .decrypt_in_place_detached(Nonce::from_slice(&inner), &self.aad, &mut probe, tag)
                .is_ok()
            {
                return Err(KeyError::Truncated);
            }
        }
        Err(KeyError::Integrity)
    }
}

impl fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamDecryptor").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ObjectKey, ObjectPurpose};
    use proptest::prelude::*;
    use sotto_core::{ObjectId, SubjectId, TenantId};

    fn key() -> ObjectKey {
        ObjectKey::ephemeral(ObjectContext::new(
            TenantId::new("t").unwrap(),
            SubjectId::new(),
            ObjectId::new(),
            ObjectPurpose::Recording,
        ))
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + i / 7) as u8).collect()
    }

    #[test]
    fn layout_matches_encryptor() {
        let k = key();
        for n in [
            0,
            1,
            SEGMENT_SIZE - 1,
            SEGMENT_SIZE,
            SEGMENT_SIZE + 1,
            3 * SEGMENT_SIZE,
        ] {
            let ct = k.stream_encryptor().encrypt_all(&data(n));
            assert_eq!(ct.len() as u64, ciphertext_len(n as u64), "n={n}");
            assert_eq!(plaintext_len(ct.len() as u64).unwrap(), n as u64);
            assert_eq!(
                StreamDecryptor::plaintext_len(ct.len() as u64).unwrap(),
                n as u64
            );
        }
        assert!(matches!(plaintext_len(3), Err(KeyError::Format(_))));
        assert!(matches!(plaintext_len(HDR), Err(KeyError::Truncated)));
        assert!(matches!(plaintext_len(HDR + 15), Err(KeyError::Truncated)));
    }

    #[test]
    fn empty_plaintext_is_one_final_segment() {
        let k = key();
        let ct = k.stream_encryptor().encrypt_all(b"");
        assert_eq!(ct.len(), HEADER_LEN + TAG_LEN);
        assert!(k.stream_decryptor().decrypt_all(&ct).unwrap().is_empty());
        assert!(matches!(
            k.stream_decryptor().decrypt_all(&ct[..HEADER_LEN]),
            Err(KeyError::Truncated)
        ));
    }

    #[test]
    fn incremental_equals_one_shot_layout_and_decrypts() {
        let k = key();
        let pt = data(3 * SEGMENT_SIZE + 17);
        let mut enc = k.stream_encryptor();
        let mut out = enc.begin();
        for piece in pt.chunks(10_000) {
            enc.push(piece, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        assert_eq!(out.len() as u64, ciphertext_len(pt.len() as u64));
        assert_eq!(
            k.stream_decryptor().decrypt_all(&out).unwrap().expose(),
            &pt[..]
        );

        // Exactly one segment's worth pushed in pieces: still one final segment.
        let mut enc = k.stream_encryptor();
        let mut out = Vec::new();
        enc.push(&pt[..SEGMENT_SIZE / 2], &mut out).unwrap();
        enc.push(&pt[SEGMENT_SIZE / 2..SEGMENT_SIZE], &mut out)
            .unwrap();
        enc.finish(&mut out).unwrap();
        assert_eq!(out.len(), HEADER_LEN + SEGMENT_CT_SIZE);
        assert_eq!(
            k.stream_decryptor().decrypt_all(&out).unwrap().expose(),
            &pt[..SEGMENT_SIZE]
        );
    }

    #[test]
    fn encrypt_all_uses_a_fresh_prefix_each_time() {
        let k = key();
        let e = k.stream_encryptor();
        let a = e.encrypt_all(b"same");
        let b = e.encrypt_all(b"same");
        assert_ne!(a[5..HEADER_LEN], b[5..HEADER_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn bad_header_is_format() {
        let k = key();
        let mut ct = k.stream_encryptor().encrypt_all(b"hello");
        ct[4] = 2;
        assert!(matches!(
            k.stream_decryptor().decrypt_all(&ct),
            Err(KeyError::Format(_))
        ));
        ct[4] = STREAM_VERSION;
        ct[0] = b'X';
        assert!(matches!(
            k.stream_decryptor().decrypt_all(&ct),
            Err(KeyError::Format(_))
        ));
    }

    #[test]
    fn dropped_final_segment_is_truncated() {
        let k = key();
        let pt = data(2 * SEGMENT_SIZE + 5);
        let ct = k.stream_encryptor().encrypt_all(&pt);
        let cut = &ct[..HEADER_LEN + 2 * SEGMENT_CT_SIZE];
        assert!(matches!(
            k.stream_decryptor().decrypt_all(cut),
            Err(KeyError::Truncated)
        ));
        let mid = &ct[..HEADER_LEN + SEGMENT_CT_SIZE + 100];
        assert!(matches!(
            k.stream_decryptor().decrypt_all(mid),
            Err(KeyError::Integrity)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn round_trip_any_size(n in prop_oneof![
            0usize..300,
            (SEGMENT_SIZE - 2)..(SEGMENT_SIZE + 2),
            0usize..(4 * SEGMENT_SIZE + 3),
        ]) {
            let k = key();
            let pt = data(n);
            let ct = k.stream_encryptor().encrypt_all(&pt);
            let back = k.stream_decryptor().decrypt_all(&ct).unwrap();
            prop_assert_eq!(back.expose(), &pt[..]);
        }

        #[test]
        fn incremental_any_chunking_round_trips(
            n in prop_oneof![0usize..200, (SEGMENT_SIZE - 3)..(SEGMENT_SIZE + 3), 0usize..(3 * SEGMENT_SIZE)],
            chunks in proptest::collection::vec(1usize..(SEGMENT_SIZE + 500), 1..8),
            call_begin in any::<bool>(),
        ) {
            let k = key();
            let pt = data(n);
            let mut enc = k.stream_encryptor();
            let mut out = if call_begin { enc.begin() } else { Vec::new() };
            let mut rest = &pt[..];
            let mut i = 0;
            while !rest.is_empty() {
                let take = chunks[i % chunks.len()].min(rest.len());
                enc.push(&rest[..take], &mut out).unwrap();
                rest = &rest[take..];
                i += 1;
            }
            enc.finish(&mut out).unwrap();
            prop_assert_eq!(out.len() as u64, ciphertext_len(n as u64));
            let dec = k.stream_decryptor();
            let back = dec.decrypt_all(&out).unwrap();
            prop_assert_eq!(back.expose(), &pt[..]);
            let mid = n as u64 / 2;
            let got = dec.decrypt_range_in(&out, mid..mid + 70_000).unwrap();
            let end = (mid as usize + 70_000).min(n);
            prop_assert_eq!(got.expose(), &pt[mid as usize..end]);
        }

        #[test]
        fn range_equals_slice(n in 0usize..(3 * SEGMENT_SIZE + 100), a in 0u64..300_000, len in 0u64..200_000) {
            let k = key();
            let pt = data(n);
            let ct = k.stream_encryptor().encrypt_all(&pt);
            let r = a..a.saturating_add(len);
            let got = k.stream_decryptor().decrypt_range_in(&ct, r.clone()).unwrap();
            let (s, e) = clamp(&r, n as u64);
            prop_assert_eq!(got.expose(), &pt[s as usize..e as usize]);
            // Only the covering segments are needed.
            let cr = ciphertext_range_for(r, ct.len() as u64);
            prop_assert!(cr.end - cr.start <= (e - s) + 2 * FULL);
        }
    }
}
