//! The hasher for group keys and distinct values: a word-at-a-time multiply-rotate hash (in
//! the spirit of rustc's FxHash) with a murmur3 finalizer.
//!
//! std's SipHash costs more than the rest of a record's aggregation for short keys such as
//! taxi ids. Its protection against hash flooding buys little here: keys come from the
//! user's own files, and a flood could only slow a run down, never change its output, since
//! output order never depends on hash order. The finalizer matters: the group index picks slots
//! from the low bits, and without it keys that differ only in high bytes (length-prefixed
//! ids) would collide there.

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(load_le(rest));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl KeyHasher {
    #[inline(always)]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

/// The hash of a packed key of at most 16 bytes given as its zero-padded little-endian words
/// and its length: the same value as hashing the bytes (length first, then whole words, then
/// the zero-padded rest), computed without a copy.
#[inline(always)]
pub(crate) fn hash_short(words: [u64; 2], len: usize) -> u64 {
    debug_assert!(len <= 16);
    let mut h = KeyHasher::default();
    h.write_usize(len);
    if len > 0 {
        h.add(words[0]);
    }
    if len > 8 {
        h.add(words[1]);
    }
    h.finish()
}

/// Up to 8 bytes as a little-endian word, zero-padded. Without a copy into a buffer: a copy
/// of a length not known at compile time is a call to `memcpy`, which cost more than the
/// rest of a short key's hashing and probing (two calls per record at 380,000 groups).
/// Overlapping reads of the first and last bytes agree where they overlap, so or-ing them
/// places every byte once.
#[inline(always)]
pub(crate) fn load_le(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!(n <= 8);
    if let Some(w) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    if let (Some(head), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let (head, last) = (u32::from_le_bytes(*head), u32::from_le_bytes(*last));
        return u64::from(head) | u64::from(last) << (8 * (n - 4));
    }
    match bytes {
        [] => 0,
        [a, ..] => {
            u64::from(*a)
                | u64::from(bytes[n / 2]) << (8 * (n / 2))
                | u64::from(bytes[n - 1]) << (8 * (n - 1))
        }
    }
}

/// The 16 bytes of two little-endian words: [`short_words`] undone (with its zero padding).
#[inline(always)]
pub(crate) fn words_bytes([lo, hi]: [u64; 2]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&lo.to_le_bytes());
    b[8..].copy_from_slice(&hi.to_le_bytes());
    b
}

/// A packed key of at most 16 bytes as two zero-padded little-endian words (see
/// [`load_le`]).
#[inline(always)]
pub(crate) fn short_words(key: &[u8]) -> [u64; 2] {
    debug_assert!(key.len() <= 16);
    if key.len() <= 8 {
        [load_le(key), 0]
    } else {
        [load_le(&key[..8]), load_le(&key[8..])]
    }
}

pub(crate) type BuildKeyHasher = BuildHasherDefault<KeyHasher>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::hash::BuildHasher;

    fn h(bytes: &[u8]) -> u64 {
        BuildKeyHasher::default().hash_one(bytes)
    }

    #[test]
    fn short_keys_spread_over_low_bits() {
        // 30,000 taxi ids as packed keys: the low 12 bits (4096 buckets) should be well used.
        let mut used = std::collections::HashSet::new();
        for id in 10_000..40_000u32 {
            let mut key = vec![5u8];
            key.extend_from_slice(id.to_string().as_bytes());
            used.insert(h(&key) & 0xfff);
        }
        assert!(
            used.len() > 4000,
            "only {} of 4096 low-bit buckets used",
            used.len()
        );
    }

    #[test]
    fn word_loads_and_short_hashes_agree_with_a_byte_copy() {
        // Every length up to 16 with bytes that differ at every position.
        for len in 0..=16usize {
            let key: Vec<u8> = (0..len)
                .map(|i| 0x11u8.wrapping_mul(i as u8 + 1) | 1)
                .collect();
            let mut buf = [0u8; 16];
            buf[..len].copy_from_slice(&key);
            let lo = u64::from_le_bytes(buf[..8].try_into().unwrap());
            let hi = u64::from_le_bytes(buf[8..].try_into().unwrap());
            assert_eq!(short_words(&key), [lo, hi], "length {len}");
            if len <= 8 {
                assert_eq!(load_le(&key), lo, "length {len}");
            }
            let mut h = BuildKeyHasher::default().build_hasher();
            h.write_usize(len);
            h.write(&key);
            assert_eq!(hash_short([lo, hi], len), h.finish(), "length {len}");
        }
    }

    #[test]
    fn distinguishes_lengths_and_trailing_zeros() {
        assert_ne!(h(b""), h(b"\0"));
        assert_ne!(h(b"a"), h(b"a\0"));
        assert_ne!(h(b"abcdefgh"), h(b"abcdefgh\0"));
    }
}
