//! Pages: runs of consecutive entries stored as one row.
//!
//! A page holds the canonical encodings of entries `first_seq .. first_seq + count`, each
//! preceded by its length (u32, little endian), and their leaf hashes (32 bytes each, in the
//! same order). Appends write a page per group commit (at most [`PAGE_MAX`] entries), so a
//! batch costs one row instead of one row per entry, and verification reads large blobs
//! instead of stepping through millions of rows.
//!
//! The lookup table (subject, actor, tenant → seq) is derived from the bodies with
//! [`index_fields`], at append and again at verification, so both sides agree byte for byte.

use crate::merkle::Hash;
use sha2::{Digest, Sha256};

/// Entries per page written by an append.
pub(crate) const PAGE_MAX: usize = 1024;

/// Lookup key kinds.
pub(crate) const KEY_TENANT: u8 = b't';
pub(crate) const KEY_SUBJECT: u8 = b's';
pub(crate) const KEY_ACTOR: u8 = b'a';

/// The 16-byte lookup key of (kind, tenant, value). `value` is the JSON-escaped string as it
/// appears in the canonical encoding (without the quotes).
pub(crate) fn lookup_key(kind: u8, tenant: &[u8], value: &[u8]) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"sotto-audit-lookup\0");
    h.update([kind]);
    h.update((tenant.len() as u32).to_le_bytes());
    h.update(tenant);
    h.update(value);
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// The JSON-escaped form of `s` (what [`index_fields`] returns for it).
pub(crate) fn json_escaped(s: &str) -> Vec<u8> {
    let mut v = serde_json::to_vec(s).unwrap_or_default();
    if v.len() >= 2 {
        v.remove(0);
        v.pop();
    }
    v
}

/// The fields the lookup table and the page time range are built from, read from the fixed
/// layout of a canonical encoding without a JSON parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexFields<'a> {
    pub tenant: &'a [u8],
    pub at_ms: i64,
    pub actor: &'a [u8],
    pub subject: Option<&'a [u8]>,
}

/// Reads a JSON string body starting right after its opening quote; returns it (escaped, as
/// stored) and the rest after the closing quote.
fn json_str(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => return Some((&s[..i], &s[i + 1..])),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

fn json_int(s: &[u8]) -> Option<(i64, &[u8])> {
    let end = s
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b'-'))
        .unwrap_or(s.len());
    let v = std::str::from_utf8(&s[..end]).ok()?.parse().ok()?;
    Some((v, &s[end..]))
}

pub(crate) fn index_fields(body: &[u8]) -> Option<IndexFields<'_>> {
    let rest = body.strip_prefix(b"{\"v\":1,\"seq\":")?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let rest = rest[comma..].strip_prefix(b",\"tenant\":\"")?;
    let (tenant, rest) = json_str(rest)?;
    let rest = rest.strip_prefix(b",\"at_ms\":")?;
    let (at_ms, rest) = json_int(rest)?;
    let rest = rest.strip_prefix(b",\"actor\":\"")?;
    let (actor, rest) = json_str(rest)?;
    let rest = rest.strip_prefix(b",\"action\":\"")?;
    let (_, rest) = json_str(rest)?;
    let rest = rest.strip_prefix(b",\"subject\":")?;
    let subject = if rest.starts_with(b"null") {
        None
    } else {
        let rest = rest.strip_prefix(b"\"")?;
        Some(json_str(rest)?.0)
    };
    Some(IndexFields {
        tenant,
        at_ms,
        actor,
        subject,
    })
}

/// Appends one length-prefixed body to a page's `bodies` blob.
pub(crate) fn push_body(buf: &mut Vec<u8>, body: &[u8]) {
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(body);
}

/// Splits a page's `bodies` blob. Stops at the first length that runs past the end (a
/// damaged page); the caller compares the number of bodies with the page's count.
pub(crate) fn split_bodies(blob: &[u8]) -> (Vec<&[u8]>, bool) {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < blob.len() {
        let Some(len) = blob
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(|b| u32::from_le_bytes(b) as usize)
        else {
            return (out, false);
        };
        let Some(body) = blob.get(at + 4..at + 4 + len) else {
            return (out, false);
        };
        out.push(body);
        at += 4 + len;
    }
    (out, true)
}

/// The i-th stored leaf hash of a page, if the blob has one.
pub(crate) fn leaf_at(hashes: &[u8], i: usize) -> Option<Hash> {
    hashes.get(i * 32..i * 32 + 32)?.try_into().ok()
}

/// The lookup postings of a page: one per entry with a subject (at the entry's seq), one per
/// distinct tenant and one per distinct (tenant, actor) (at the page's first seq).
pub(crate) fn page_postings(first_seq: u64, bodies: &[&[u8]], out: &mut Vec<([u8; 16], u64)>) {
    let mut actors: Vec<(&[u8], &[u8])> = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let Some(f) = index_fields(body) else {
            continue;
        };
        if let Some(s) = f.subject {
            out.push((lookup_key(KEY_SUBJECT, f.tenant, s), first_seq + i as u64));
        }
        actors.push((f.tenant, f.actor));
    }
    // Hash each distinct (tenant, actor) and tenant once.
    actors.sort_unstable();
    actors.dedup();
    let mut tenants: Vec<&[u8]> = actors.iter().map(|(t, _)| *t).collect();
    tenants.dedup();
    out.extend(
        tenants
            .into_iter()
            .map(|t| (lookup_key(KEY_TENANT, t, b""), first_seq)),
    );
    out.extend(
        actors
            .into_iter()
            .map(|(t, a)| (lookup_key(KEY_ACTOR, t, a), first_seq)),
    );
}

/// What the lookup table should sum to, computed from the pages during verification (and
/// compared with the table's own COUNT and SUM): catches postings removed, added or moved to
/// other entries. It does not notice a posting's key being swapped for another.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PostingTally {
    pub count: u64,
    /// Sum of `seq mod TALLY_PRIME` over the postings (what SQLite can sum without overflow).
    pub seq_sum: u128,
}

/// The largest prime below 2^32.
pub(crate) const TALLY_PRIME: u64 = 4_294_967_291;

impl PostingTally {
    pub(crate) fn add_page(&mut self, first_seq: u64, bodies: &[&[u8]]) {
        let mut actors: Vec<(&[u8], &[u8])> = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.iter().enumerate() {
            let Some(f) = index_fields(body) else {
                continue;
            };
            if f.subject.is_some() {
                self.count += 1;
                self.seq_sum += u128::from((first_seq + i as u64) % TALLY_PRIME);
            }
            actors.push((f.tenant, f.actor));
        }
        actors.sort_unstable();
        actors.dedup();
        let mut tenants: Vec<&[u8]> = actors.iter().map(|(t, _)| *t).collect();
        tenants.dedup();
        let n = (tenants.len() + actors.len()) as u64;
        self.count += n;
        self.seq_sum += u128::from(first_seq % TALLY_PRIME) * u128::from(n);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::entry::{Action, Entry, Outcome};
    use sotto_core::{SubjectId, TenantId};

    #[test]
    fn index_fields_read_the_canonical_layout() {
        let mut e = Entry::new(
            TenantId::default_tenant(),
            -5,
            "user:\"odd\\name",
            Action::Export,
            Outcome::Ok,
        );
        let s = SubjectId::new();
        e.subject = Some(s);
        let body = e.canonical_bytes(42);
        let f = index_fields(&body).unwrap();
        assert_eq!(f.tenant, TenantId::default_tenant().as_str().as_bytes());
        assert_eq!(f.at_ms, -5);
        assert_eq!(f.actor, json_escaped("user:\"odd\\name").as_slice());
        assert_eq!(f.subject, Some(s.to_string().as_bytes()));
        e.subject = None;
        let body = e.canonical_bytes(43);
        assert_eq!(index_fields(&body).unwrap().subject, None);
        assert_eq!(index_fields(b"{\"v\":1,\"seq\":1}"), None);
    }

    #[test]
    fn bodies_round_trip_and_damage_is_noticed() {
        let mut blob = Vec::new();
        push_body(&mut blob, b"abc");
        push_body(&mut blob, b"");
        push_body(&mut blob, b"\n\nx");
        let (v, ok) = split_bodies(&blob);
        assert!(ok);
        assert_eq!(v, vec![&b"abc"[..], b"", b"\n\nx"]);
        blob.pop();
        let (v, ok) = split_bodies(&blob);
        assert!(!ok);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn tally_matches_postings() {
        let t = TenantId::default_tenant();
        let subjects = [SubjectId::new(), SubjectId::new()];
        let bodies: Vec<Vec<u8>> = (0..10u64)
            .map(|i| {
                let mut e = Entry::new(
                    t.clone(),
                    i as i64,
                    format!("user:{}", i % 3),
                    Action::TranscriptRead,
                    Outcome::Ok,
                );
                if i % 4 != 0 {
                    e.subject = Some(subjects[(i % 2) as usize]);
                }
                e.canonical_bytes(100 + i)
            })
            .collect();
        let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
        let mut postings = Vec::new();
        page_postings(100, &refs, &mut postings);
        let mut tally = PostingTally::default();
        tally.add_page(100, &refs);
        assert_eq!(tally.count, postings.len() as u64);
        assert_eq!(
            tally.seq_sum,
            postings
                .iter()
                .map(|(_, s)| u128::from(*s % TALLY_PRIME))
                .sum::<u128>()
        );
        // 7 entries with a subject, 1 tenant, 3 actors.
        assert_eq!(postings.len(), 11);
    }
}
