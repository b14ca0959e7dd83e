//! The hasher for group keys and distinct values: a word-at-a-time multiply-rotate hash (in
//! the spirit of rustc's FxHash) with a murmur3 finalizer.
//!
//! std's SipHash costs more than the rest of a record's aggregation for short keys such as
//! taxi ids. Its protection against hash flooding buys little here: keys come from the
//! user's own files, and a flood could only slow a run down, never change its output, since
//! output order never depends on hash order. The finalizer matters: hashbrown picks buckets
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
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
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
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

pub(crate) type BuildKeyHasher = BuildHasherDefault<KeyHasher>;

#[cfg(test)]
mod tests {
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
    fn distinguishes_lengths_and_trailing_zeros() {
        assert_ne!(h(b""), h(b"\0"));
        assert_ne!(h(b"a"), h(b"a\0"));
        assert_ne!(h(b"abcdefgh"), h(b"abcdefgh\0"));
    }
}
