//! The RFC 9162 §2.1 Merkle tree: leaf and node hashes, the compact frontier an append-only log
//! keeps in memory, inclusion and consistency proofs (generation as a plan of subtree ranges, so
//! the storage layer can fetch the hashes however is cheapest) and their verification
//! (§2.1.3.2, §2.1.4.2).

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// MTH({}) = SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaf hash: SHA-256(0x00 ‖ data).
pub fn hash_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The largest power of two strictly smaller than `n` (`n` ≥ 2).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH over a list of leaf hashes, straight from the RFC's recursive definition. Used for
/// small ranges and as the reference the fast paths are tested against.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            hash_children(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// A perfect subtree completed while appending: level `level` (2^level leaves), the
/// `index`-th such subtree from the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedNode {
    pub level: u32,
    pub index: u64,
    pub hash: Hash,
}

/// The right edge of an append-only tree: the roots of the perfect subtrees that make up the
/// first `size` leaves (one per set bit of `size`, largest first). O(log n) memory, amortised
/// O(1) hashes per append, O(log n) to produce the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its perfect subtree hashes, largest first. `None` if the levels
    /// do not match the bits of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let levels = frontier_levels(size);
        if levels.len() != hashes.len() {
            return None;
        }
        Some(Self {
            size,
            nodes: levels.into_iter().zip(hashes).collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_| {});
    }

    /// Appends one leaf hash and reports every perfect subtree of level ≥ 1 it completes.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(CompletedNode)) {
        let mut level = 0u32;
        let mut hash = leaf;
        while let Some(&(l, left)) = self.nodes.last() {
            if l != level {
                break;
            }
            self.nodes.pop();
            hash = hash_children(&left, &hash);
            level += 1;
            completed(CompletedNode {
                level,
                index: self.size >> level,
                hash,
            });
        }
        self.nodes.push((level, hash));
        self.size += 1;
    }

    /// MTH of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| hash_children(left, &acc)),
        }
    }
}

/// Levels of the perfect subtrees that make up a tree of `size` leaves, largest first.
pub fn frontier_levels(size: u64) -> Vec<u32> {
    (0..64u32).rev().filter(|b| size >> b & 1 == 1).collect()
}

/// A half-open leaf range `[start, end)` whose MTH is one element of a proof.
pub type Range = (u64, u64);

/// The subtree ranges whose hashes form the RFC 9162 inclusion proof PATH(m, D[n]), in proof
/// order (deepest first). Requires m < n.
pub fn inclusion_ranges(m: u64, n: u64) -> Vec<Range> {
    let mut out = Vec::new();
    // Walk down from the root, then reverse: PATH lists the sibling of the deepest node first.
    let (mut lo, mut hi) = (0u64, n);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// The subtree ranges whose hashes form the RFC 9162 consistency proof PROOF(m, D[n]), in proof
/// order. Empty for m == 0 or m == n. Requires m ≤ n.
pub fn consistency_ranges(m: u64, n: u64) -> Vec<Range> {
    let mut out = Vec::new();
    if m == 0 || m >= n {
        return out;
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: each step appends one sibling after the recursion, so
    // collect top-down and reverse.
    let (mut lo, mut hi, mut m_rel, mut b) = (0u64, n, m, true);
    loop {
        let len = hi - lo;
        if m_rel == len {
            if !b {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(len);
        if m_rel <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            m_rel -= k;
            b = false;
        }
    }
    out.reverse();
    out
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, seq: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if seq >= size {
        return false;
    }
    let (mut fn_, mut sn) = (seq, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = hash_children(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2). `old_size == 0` is consistent with
/// anything when the proof is empty and `old_root` is the empty-tree hash; `old_size ==
/// new_size` needs an empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = hash_children(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    fn proof(ls: &[Hash], ranges: &[Range]) -> Vec<Hash> {
        ranges
            .iter()
            .map(|&(a, b)| root_of(&ls[a as usize..b as usize]))
            .collect()
    }

    /// The RFC 6962 / certificate-transparency reference vectors.
    #[test]
    fn known_roots() {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let ls: Vec<Hash> = data.iter().map(|d| hash_leaf(d)).collect();
        let mut f = Frontier::new();
        for (i, l) in ls.iter().enumerate() {
            f.push(*l);
            assert_eq!(hex::encode(f.root()), roots[i], "size {}", i + 1);
            assert_eq!(root_of(&ls[..=i]), f.root());
        }
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vector: consistency proof 6 -> 8 has 3 nodes, inclusion of leaf 0 in 8
        // has 3 nodes.
        assert_eq!(consistency_ranges(6, 8), vec![(4, 6), (6, 8), (0, 4)]);
        assert_eq!(inclusion_ranges(0, 8), vec![(1, 2), (2, 4), (4, 8)]);
        assert_eq!(consistency_ranges(1, 8), vec![(1, 2), (2, 4), (4, 8)]);
        assert_eq!(consistency_ranges(2, 5), vec![(2, 4), (4, 5)]);
    }

    #[test]
    fn frontier_reports_completed_subtrees() {
        let ls = leaves(37);
        let mut f = Frontier::new();
        let mut done = Vec::new();
        for l in &ls {
            f.push_with(*l, |c| done.push(c));
        }
        for c in &done {
            let a = (c.index << c.level) as usize;
            let b = a + (1usize << c.level);
            assert_eq!(c.hash, root_of(&ls[a..b]));
        }
        // 37 leaves complete 18 + 9 + 4 + 2 + 1 subtrees of level >= 1.
        assert_eq!(done.len(), 34);
        let parts: Vec<Hash> = frontier_levels(37)
            .iter()
            .scan(0u64, |start, &lvl| {
                let a = *start;
                *start += 1 << lvl;
                Some(root_of(&ls[a as usize..*start as usize]))
            })
            .collect();
        assert_eq!(Frontier::from_parts(37, parts), Some(f));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn inclusion_proofs_verify_and_tampered_ones_do_not(n in 1usize..300, pick in any::<u64>(), flip in any::<u8>()) {
            let ls = leaves(n);
            let root = root_of(&ls);
            let mut f = Frontier::new();
            ls.iter().for_each(|l| f.push(*l));
            prop_assert_eq!(f.root(), root);
            for m in 0..n as u64 {
                let p = proof(&ls, &inclusion_ranges(m, n as u64));
                prop_assert!(verify_inclusion(&ls[m as usize], m, n as u64, &p, &root));
            }
            let m = pick % n as u64;
            let p = proof(&ls, &inclusion_ranges(m, n as u64));
            // Wrong leaf, wrong index, wrong size, wrong root, tampered or truncated path.
            let other = hash_leaf(b"forged");
            prop_assert!(!verify_inclusion(&other, m, n as u64, &p, &root));
            if n > 1 {
                prop_assert!(!verify_inclusion(&ls[m as usize], (m + 1) % n as u64, n as u64, &p, &root));
                let mut bad = p.clone();
                let i = (pick as usize / 7) % bad.len();
                bad[i][flip as usize % 32] ^= 1;
                prop_assert!(!verify_inclusion(&ls[m as usize], m, n as u64, &bad, &root));
                prop_assert!(!verify_inclusion(&ls[m as usize], m, n as u64, &p[..p.len() - 1], &root));
                let mut longer = p.clone();
                longer.push(other);
                prop_assert!(!verify_inclusion(&ls[m as usize], m, n as u64, &longer, &root));
            }
            prop_assert!(!verify_inclusion(&ls[m as usize], n as u64, n as u64, &p, &root));
            let mut bad_root = root;
            bad_root[0] ^= 0x80;
            prop_assert!(!verify_inclusion(&ls[m as usize], m, n as u64, &p, &bad_root));
        }

        #[test]
        fn consistency_proofs_verify_and_tampered_ones_do_not(n in 1usize..200, pick in any::<u64>(), flip in any::<u8>()) {
            let ls = leaves(n);
            let new_root = root_of(&ls);
            for m in 0..=n {
                let old_root = root_of(&ls[..m]);
                let p = proof(&ls, &consistency_ranges(m as u64, n as u64));
                prop_assert!(verify_consistency(m as u64, &old_root, n as u64, &new_root, &p), "m={} n={}", m, n);
                if m > 0 && m < n {
                    let mut bad = p.clone();
                    let i = (pick as usize / 3) % bad.len();
                    bad[i][flip as usize % 32] ^= 1;
                    prop_assert!(!verify_consistency(m as u64, &old_root, n as u64, &new_root, &bad));
                    let mut wrong_old = old_root;
                    wrong_old[31] ^= 1;
                    prop_assert!(!verify_consistency(m as u64, &wrong_old, n as u64, &new_root, &p));
                    prop_assert!(!verify_consistency(m as u64, &old_root, n as u64, &new_root, &p[..p.len() - 1]));
                    // A different history of the same length is not consistent.
                    let mut forked = ls.clone();
                    forked[(pick as usize) % m] = hash_leaf(b"rewritten");
                    let forked_old = root_of(&forked[..m]);
                    prop_assert!(!verify_consistency(m as u64, &forked_old, n as u64, &new_root, &p));
                }
            }
            prop_assert!(!verify_consistency(n as u64 + 1, &new_root, n as u64, &new_root, &[]));
        }
    }
}
