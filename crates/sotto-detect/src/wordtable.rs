//! A table keyed by words, for the lookups done once per word of every text: the shared word
//! flags (`lexical`) and the number words (`numbers`).

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Up to 16 bytes of a word as two little-endian words, zero padded (a word of the text is
/// alphanumeric: it has no zero byte, so padding cannot make two words equal).
#[inline]
fn pack16(w: &[u8]) -> (u64, u64) {
    #[inline]
    fn part(b: &[u8]) -> u64 {
        match b.get(..8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
            Some(c) => u64::from_le_bytes(c),
            None => {
                let mut c = [0u8; 8];
                for (d, s) in c.iter_mut().zip(b) {
                    *d = *s;
                }
                u64::from_le_bytes(c)
            }
        }
    }
    (part(w), w.get(8..).map_or(0, part))
}

/// The `n` (1..=8) bytes of `b` at `at`, zero padded, with one 8-byte load: from `at` when eight
/// bytes remain, else the eight ending at `at + n` shifted down (a word at the end of the text);
/// `None` when `b` is shorter than eight bytes or `at + n` lies past its end.
#[inline]
fn load_part(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let shift = 8 * (8 - n.clamp(1, 8)) as u32;
    if let Some(c) = b.get(at..at.wrapping_add(8)) {
        return Some(u64::from_le_bytes(c.try_into().ok()?) & (u64::MAX >> shift));
    }
    let end = at.checked_add(n)?;
    let c: [u8; 8] = b.get(end.checked_sub(8)?..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(c) >> shift)
}

/// The word of `n` (1..=16) bytes ending at `e`, packed as [`pack16`] does, from the eight (or
/// sixteen) bytes ending at `e`, shifted down: no mask and no overflow test on the way; `None`
/// when fewer bytes precede `e` or `e` lies past the end of `b`.
#[inline]
fn load_end(b: &[u8], e: usize, n: usize) -> Option<(u64, u64)> {
    let last = u64::from_le_bytes(b.get(e.checked_sub(8)?..e)?.try_into().ok()?);
    if n <= 8 {
        return Some((last >> (8 * (8 - n.max(1)) as u32), 0));
    }
    let first = u64::from_le_bytes(b.get(e.checked_sub(16)?..e - 8)?.try_into().ok()?);
    let x = (u128::from(last) << 64 | u128::from(first)) >> (8 * (16 - n.min(16)) as u32);
    Some((x as u64, (x >> 64) as u64))
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot<V> {
    lo: u64,
    hi: u64,
    /// Key length in bytes; 0: empty.
    len: u64,
    val: V,
}

/// A word-keyed table: open addressing over keys of up to 16 bytes stored inline (two words),
/// so a lookup is one multiply-hash and a compare of two words instead of hashing the string
/// byte by byte and a `memcmp`; longer keys (few) in a hash map.
#[derive(Debug, Default)]
pub(crate) struct WordTable<V> {
    slots: Vec<Slot<V>>,
    shift: u32,
    long: FxMap<String, V>,
}

impl<V: Copy + Default> WordTable<V> {
    #[inline]
    fn home(&self, lo: u64, hi: u64, len: u64) -> usize {
        let h = (lo ^ hi.rotate_left(23) ^ len).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // `shift` keeps the top bits: an index below `slots.len()` (a power of two)
        usize::try_from(h >> self.shift).unwrap_or(0)
    }

    pub fn build(entries: impl IntoIterator<Item = (String, V)>) -> Self {
        let entries: Vec<(String, V)> = entries.into_iter().collect();
        let short = entries.iter().filter(|(k, _)| k.len() <= 16).count();
        // at most a quarter full: misses (most words of a text) end at an empty slot soon
        let size = (short * 4).next_power_of_two().max(16);
        let mut t = WordTable {
            slots: vec![Slot::default(); size],
            shift: 64 - size.trailing_zeros(),
            long: FxMap::default(),
        };
        let mask = size - 1;
        for (k, v) in entries {
            if k.len() > 16 || k.is_empty() {
                t.long.insert(k, v);
                continue;
            }
            let (lo, hi) = pack16(k.as_bytes());
            let len = k.len() as u64;
            let mut i = t.home(lo, hi, len);
            while let Some(s) = t.slots.get_mut(i) {
                if s.len == 0 || (s.lo == lo && s.hi == hi && s.len == len) {
                    *s = Slot {
                        lo,
                        hi,
                        len,
                        val: v,
                    };
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        t
    }

    /// The value of the word `w`.
    #[inline]
    pub fn get(&self, w: &str) -> Option<V> {
        self.get_at(w, 0, w.len())
    }

    /// The value of the word `text[s..e]`.
    #[inline]
    pub fn get_at(&self, text: &str, s: usize, e: usize) -> Option<V> {
        let b = text.as_bytes();
        let n = e.wrapping_sub(s);
        // 1..=16 bytes (an empty or reversed range wraps to a large `n`)
        if n.wrapping_sub(1) >= 16 {
            return text.get(s..e).and_then(|w| self.long.get(w)).copied();
        }
        // the common case reads whole words of the text: those ending at the word's end, or
        // (a word near the start of the text) those from its start, masked
        let (lo, hi) = match load_end(b, e, n) {
            Some(k) => k,
            None => {
                let hi = if n > 8 {
                    load_part(b, s + 8, n - 8)
                } else {
                    Some(0)
                };
                match (load_part(b, s, n.min(8)), hi) {
                    (Some(lo), Some(hi)) => (lo, hi),
                    _ => pack16(b.get(s..e)?),
                }
            }
        };
        let len = n as u64;
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.home(lo, hi, len);
        loop {
            let slot = self.slots.get(i)?;
            if slot.len == 0 {
                return None;
            }
            if slot.lo == lo && slot.hi == hi && slot.len == len {
                return Some(slot.val);
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WordTable;

    #[test]
    fn words_anywhere_in_a_text() {
        let keys = [
            "a",
            "ab",
            "seven77",
            "eight888",
            "ninechars",
            "sixteen_bytes_16",
            "x".repeat(17).as_str(),
        ]
        .map(str::to_owned);
        let t = WordTable::build(keys.iter().cloned().zip(1u32..));
        for (k, v) in keys.iter().zip(1u32..) {
            // alone (shorter than eight bytes: no whole-word load), at the start, at the end
            assert_eq!(t.get(k), Some(v), "{k}");
            let text = format!("{k} and more text");
            assert_eq!(t.get_at(&text, 0, k.len()), Some(v), "{k}");
            let text = format!("some text {k}");
            assert_eq!(
                t.get_at(&text, text.len() - k.len(), text.len()),
                Some(v),
                "{k}"
            );
        }
        let text = "some text seven778";
        assert_eq!(t.get_at(text, 10, 17), Some(3));
        assert_eq!(t.get_at(text, 10, 18), None);
        assert_eq!(t.get_at(text, 11, 17), None);
        assert_eq!(t.get("b"), None);
        assert_eq!(t.get_at(text, 5, 3), None);
    }

    /// `load_end` packs a word as `pack16` does, wherever it ends.
    #[test]
    fn load_end_packs_like_pack16() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789ÆØÅæøå";
        let b = text.as_bytes();
        for e in 0..=b.len() + 1 {
            for n in 1..=16 {
                let Some(s) = e.checked_sub(n) else { continue };
                let got = super::load_end(b, e, n);
                match b.get(s..e) {
                    Some(w) if e >= 8 && (n <= 8 || e >= 16) => {
                        assert_eq!(got, Some(super::pack16(w)), "{s}..{e}")
                    }
                    _ => assert_eq!(got, None, "{s}..{e}"),
                }
            }
        }
    }
}
