//! A table keyed by words, for the lookups done once per word of every text: the shared word
//! flags (`lexical`) and the number words (`numbers`).

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Longest key kept inline: fifteen bytes, the sixteenth holds the length.
const INLINE: usize = 15;

/// A key of 1..=15 bytes as two little-endian words, zero padded, with its length in the top
/// byte of the second: every key is unique (NUL bytes included) and none is all zero (an empty
/// slot), so a slot needs no length field and a lookup compares two words.
#[inline]
fn pack(w: &[u8]) -> (u64, u64) {
    let mut c = [0u8; 16];
    for (d, s) in c.iter_mut().zip(w.iter().take(INLINE)) {
        *d = *s;
    }
    c[15] = w.len().min(INLINE) as u8;
    let (lo, hi) = c.split_at(8);
    let word = |h: &[u8]| <[u8; 8]>::try_from(h).map_or(0, u64::from_le_bytes);
    (word(lo), word(hi))
}

/// The word `b[s..e]` of `n = e - s` (1..=15) bytes packed as [`pack`] does, with whole-word
/// loads: the eight bytes ending at `e`, shifted down, and for a word of more than eight bytes
/// also the eight from `s`; `None` when fewer than eight bytes precede `e` or `e` lies past the
/// end of `b`.
#[inline]
fn load_end(b: &[u8], s: usize, e: usize, n: usize) -> Option<(u64, u64)> {
    let last = u64::from_le_bytes(*b.get(..e)?.last_chunk::<8>()?);
    let len = (n as u64) << 56;
    if n <= 8 {
        return Some((last.wrapping_shr(8 * (8 - n) as u32), len));
    }
    let first = u64::from_le_bytes(*b.get(s..)?.first_chunk::<8>()?);
    Some((first, last.wrapping_shr(8 * (16 - n) as u32) | len))
}

/// 32 bytes for a value of 16 (the word flags): two slots per cache line, none across two.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(32))]
struct Slot<V> {
    /// The key as [`pack`] packs it; `hi == 0`: empty.
    lo: u64,
    hi: u64,
    val: V,
}

/// A word-keyed table: open addressing over keys of up to 15 bytes stored inline (two words,
/// the length folded in), so a lookup is one multiply-hash and a compare of two words instead
/// of hashing the string byte by byte and a `memcmp`; longer keys (few) in a hash map. Linear
/// probing runs off the end of the slots instead of wrapping around (the last keys' slots are
/// appended): a lookup needs no mask.
#[derive(Debug, Default)]
pub(crate) struct WordTable<V> {
    slots: Vec<Slot<V>>,
    shift: u32,
    long: FxMap<String, V>,
}

impl<V: Copy + Default> WordTable<V> {
    #[inline]
    fn home(&self, lo: u64, hi: u64) -> usize {
        let h = (lo ^ hi.rotate_left(23)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // `shift` keeps the top bits: an index below `slots.len()` (a power of two)
        usize::try_from(h >> self.shift).unwrap_or(0)
    }

    pub fn build(entries: impl IntoIterator<Item = (String, V)>) -> Self {
        let entries: Vec<(String, V)> = entries.into_iter().collect();
        let short = entries
            .iter()
            .filter(|(k, _)| (1..=INLINE).contains(&k.len()))
            .count();
        // at most a quarter full: misses (most words of a text) end at an empty slot soon
        let size = (short * 4).next_power_of_two().max(16);
        let mut t = WordTable {
            slots: vec![Slot::default(); size],
            shift: 64 - size.trailing_zeros(),
            long: FxMap::default(),
        };
        for (k, v) in entries {
            if !(1..=INLINE).contains(&k.len()) {
                t.long.insert(k, v);
                continue;
            }
            let (lo, hi) = pack(k.as_bytes());
            let mut i = t.home(lo, hi);
            loop {
                let Some(s) = t.slots.get_mut(i) else {
                    t.slots.push(Slot { lo, hi, val: v });
                    break;
                };
                if s.hi == 0 || (s.lo == lo && s.hi == hi) {
                    *s = Slot { lo, hi, val: v };
                    break;
                }
                i += 1;
            }
        }
        t
    }

    /// A key of more than fifteen bytes (few words): out of line, so that a loop of lookups
    /// does not keep the hash map's state in registers.
    #[cold]
    #[inline(never)]
    fn get_long(&self, text: &str, s: usize, e: usize) -> Option<V> {
        text.get(s..e).and_then(|w| self.long.get(w)).copied()
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
        // 1..=15 bytes (an empty or reversed range wraps to a large `n`)
        if n.wrapping_sub(1) >= INLINE {
            return self.get_long(text, s, e);
        }
        // the common case reads whole words of the text ending at the word's end; a word that
        // ends in the first eight bytes of the text, the eight from its start, masked
        let (lo, hi) = match load_end(b, s, e, n) {
            Some(k) => k,
            None => {
                let w = b.get(s..e)?;
                match b.get(s..).and_then(|r| r.first_chunk::<8>()) {
                    Some(c) if n <= 8 => (
                        u64::from_le_bytes(*c) & (u64::MAX >> (8 * (8 - n))),
                        (n as u64) << 56,
                    ),
                    _ => pack(w),
                }
            }
        };
        let mut i = self.home(lo, hi);
        loop {
            let slot = self.slots.get(i)?;
            if slot.lo == lo && slot.hi == hi {
                return Some(slot.val);
            }
            if slot.hi == 0 {
                return None;
            }
            i += 1;
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

    /// `load_end` packs a word as `pack` does, wherever it ends.
    #[test]
    fn load_end_packs_like_pack() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789ÆØÅæøå";
        let b = text.as_bytes();
        for e in 0..=b.len() + 1 {
            for n in 1..=15 {
                let Some(s) = e.checked_sub(n) else { continue };
                let got = super::load_end(b, s, e, n);
                match b.get(s..e) {
                    Some(w) if e >= 8 => assert_eq!(got, Some(super::pack(w)), "{s}..{e}"),
                    _ => assert_eq!(got, None, "{s}..{e}"),
                }
            }
        }
    }

    proptest::proptest! {
        /// Every word of a text, wherever it lies, gets what a hash map of the keys gives it
        /// (keys of every length, NUL bytes and keys that are prefixes of others included).
        #[test]
        fn get_at_agrees_with_a_map(
            keys in proptest::collection::vec("[ab\\x00é]{0,18}", 0..40),
            text in "[ab\\x00é ]{0,40}",
        ) {
            let map: std::collections::HashMap<String, usize> =
                keys.iter().cloned().zip(0..).collect();
            let t = WordTable::build(map.iter().map(|(k, &v)| (k.clone(), v)));
            for s in 0..=text.len() + 1 {
                for e in 0..=text.len() + 1 {
                    let want = text.get(s..e).and_then(|w| map.get(w)).copied();
                    proptest::prop_assert_eq!(t.get_at(&text, s, e), want, "{}..{}", s, e);
                }
            }
            for k in &keys {
                proptest::prop_assert_eq!(t.get(k), map.get(k).copied());
            }
        }
    }
}
