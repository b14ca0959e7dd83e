//! [`GroupIndex`]: a table's packed group keys and the hash index from a key to its group
//! number, the part of [`crate::agg::AggTable`] every record and every merged group probes.
//!
//! Keys are stored once, end to end in one arena (`keys`, with `ends[g]` where group `g`'s
//! key ends), rather than as one heap allocation per group: at hundreds of thousands of
//! groups the allocations, their frees when a chunk's table is dropped, and the pointer
//! chase on every probe cost more than the hashing. The index is an open-addressing table
//! of slots with linear probing; each group's hash is kept (`hashes`), so growing the index
//! and merging one table into another never hash a key again. A key of at most 16 bytes (a
//! packed `lat` such as `22.843839` is 10, `id,hour(time)` 9) is also held in its slot, so a
//! probe compares it there without touching the arena.
//!
//! Why not hashbrown: at hundreds of thousands of groups nearly every probe misses the cache
//! (a `--group-by lat` run spent 80% of its time waiting on the control byte, the slot and
//! the group's count, one after the other). A slot here holds its key, group number and a
//! tag together, with no separate control bytes, so a probe touches one cache line (two at
//! a line's end), and its address follows from the hash alone, so a caller that knows the
//! next keys can [`GroupIndex::prefetch`] their slots while it works on earlier records
//! ([`crate::agg::pipeline`]); hashbrown exposes neither.
//!
//! Group numbers are dense and in order of first appearance, which is what the per-aggregate
//! columns are indexed by.

use std::hash::{BuildHasher, Hasher};

use super::hash::{short_words, BuildKeyHasher};

/// Keys of at most this many bytes are compared in the slot.
const INLINE: usize = 16;

/// One group in the index: its number, and its key when short.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The key's bytes, zero-padded, when it has at most `INLINE` of them.
    words: [u64; 2],
    /// 0 for an empty slot, else `(group + 1) << 24 | tag << 8 | length`: `tag` is 16 bits
    /// of the hash (compared before a long key's bytes), the length 255 for a key longer
    /// than `INLINE` (compared in the arena).
    meta: u64,
}

const LONG: u64 = 255;

impl Slot {
    #[inline(always)]
    fn group(&self) -> usize {
        (self.meta >> 24) as usize - 1
    }
}

/// The slot's meta of group `g` whose key has hash `hash` and length code `len`.
#[inline(always)]
fn meta(g: usize, hash: u64, len: u64) -> u64 {
    (g as u64 + 1) << 24 | tag(hash) << 8 | len
}

/// 16 bits of the hash not used for the slot's position (the top ones).
#[inline(always)]
fn tag(hash: u64) -> u64 {
    hash >> 48
}

/// A short key as the slot holds it: (zero-padded words, length), or `None` when longer.
#[inline(always)]
fn inline_words(key: &[u8]) -> Option<[u64; 2]> {
    (key.len() <= INLINE).then(|| short_words(key))
}

/// Slots in an index that holds no group yet (it is allocated on the first push).
const MIN_SLOTS: usize = 16;

#[derive(Debug, Default, Clone)]
pub(crate) struct GroupIndex {
    /// Groups, found by their key's hash: a power of two of slots (or none), at most three
    /// quarters used, so a search ends at an empty slot after a few steps.
    slots: Vec<Slot>,
    /// Every group's packed key, end to end, in group order.
    keys: Vec<u8>,
    /// `ends[g]`: where group `g`'s key ends in `keys` (it starts where `g - 1`'s ends).
    ends: Vec<usize>,
    /// `hashes[g]`: group `g`'s key hash.
    hashes: Vec<u64>,
}

/// The hash of a packed key, the same for a key in any table.
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    let mut h = BuildKeyHasher::default().build_hasher();
    // The length first: the hasher pads a last partial word with zeros.
    h.write_usize(key.len());
    h.write(key);
    h.finish()
}

impl GroupIndex {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Group `g`'s packed key (empty for a group that does not exist).
    #[inline]
    pub(crate) fn key(&self, g: usize) -> &[u8] {
        let start = if g == 0 {
            0
        } else {
            self.ends.get(g - 1).copied().unwrap_or(0)
        };
        let end = self.ends.get(g).copied().unwrap_or(start);
        &self.keys[start..end]
    }

    pub(crate) fn hash(&self, g: usize) -> u64 {
        self.hashes[g]
    }

    /// The first slot a search for `hash` looks at.
    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        hash as usize & self.slots.len().wrapping_sub(1)
    }

    /// Asks the CPU to start loading the slot where a search for `hash` begins.
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            super::prefetch::prefetch(&self.slots, self.home(hash), 1);
        }
    }

    /// The first slot from `hash`'s home on that is empty or satisfies `hit`: `Ok(group)` for
    /// a hit, `Err(slot index)` for the empty slot where the key would go. The table always
    /// has an empty slot (it is at most three quarters full), so the walk ends.
    #[inline(always)]
    fn search(&self, hash: u64, hit: impl Fn(&Slot) -> bool) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(0);
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            if slot.meta == 0 {
                return Err(i);
            }
            if hit(slot) {
                return Ok(slot.group());
            }
            i = (i + 1) & mask;
        }
    }

    /// The group of `key`, whose hash is `hash`, if there is one.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        match inline_words(key) {
            Some(words) => self.find_short(hash, words, key.len()),
            None => {
                let (keys, ends) = (&self.keys, &self.ends);
                let want = tag(hash) << 8 | LONG;
                self.search(hash, |s| {
                    s.meta & 0xff_ffff == want && key_at(keys, ends, s.group()) == key
                })
                .ok()
            }
        }
    }

    /// The group of the short key held as `words` (zero-padded, see [`short_words`]) of
    /// `len` bytes, `len <= 16`, whose hash is `hash`: [`GroupIndex::find`] without the key's
    /// bytes.
    #[inline(always)]
    pub(crate) fn find_short(&self, hash: u64, words: [u64; 2], len: usize) -> Option<usize> {
        debug_assert!(len <= INLINE);
        let want = tag(hash) << 8 | len as u64;
        self.search(hash, |s| s.meta & 0xff_ffff == want && s.words == words)
            .ok()
    }

    /// The group of `key` (hash `hash`), and whether it was just added as group `len()`.
    #[inline]
    pub(crate) fn find_or_insert(&mut self, hash: u64, key: &[u8]) -> (usize, bool) {
        if let Some(g) = self.find(hash, key) {
            return (g, false);
        }
        (self.push(hash, key), true)
    }

    /// Adds `key` as a new group without looking for it first: the caller knows it is absent.
    pub(crate) fn push(&mut self, hash: u64, key: &[u8]) -> usize {
        self.reserve(1, 0);
        let g = self.ends.len();
        self.keys.extend_from_slice(key);
        self.ends.push(self.keys.len());
        self.hashes.push(hash);
        let slot = match inline_words(key) {
            Some(words) => Slot {
                words,
                meta: meta(g, hash, key.len() as u64),
            },
            None => Slot {
                words: [0; 2],
                meta: meta(g, hash, LONG),
            },
        };
        self.place(hash, slot);
        g
    }

    /// Puts `slot` in the first empty slot from `hash`'s home (there is room: see `reserve`).
    fn place(&mut self, hash: u64, slot: Slot) {
        if let Err(i) = self.search(hash, |_| false) {
            self.slots[i] = slot;
        }
    }

    /// Room for `groups` more groups holding `bytes` more key bytes.
    pub(crate) fn reserve(&mut self, groups: usize, bytes: usize) {
        let want = self.len().saturating_add(groups);
        // At most three quarters full.
        if want.saturating_mul(4) > self.slots.len().saturating_mul(3) {
            let mut n = self.slots.len().max(MIN_SLOTS);
            while want.saturating_mul(4) > n.saturating_mul(3) {
                n = n.saturating_mul(2);
            }
            self.rebuild(n);
        }
        self.ends.reserve(groups);
        self.hashes.reserve(groups);
        self.keys.reserve(bytes);
    }

    /// Re-places every group in a table of `n` slots (a power of two), from the kept keys
    /// and hashes.
    ///
    /// The old slots are read in order, so the new ones fill in about the same order; what
    /// misses the cache is each group's hash, read by group number: it is prefetched a few
    /// slots ahead.
    fn rebuild(&mut self, n: usize) {
        const AHEAD: usize = 8;
        let mut slots = Vec::with_capacity(n);
        crate::sys::advise_huge(&mut slots);
        slots.resize(n, Slot::default());
        let old = std::mem::replace(&mut self.slots, slots);
        for (i, &slot) in old.iter().enumerate() {
            if let Some(next) = old.get(i + AHEAD).filter(|s| s.meta != 0) {
                super::prefetch::prefetch(&self.hashes, next.group(), 1);
            }
            if slot.meta != 0 {
                self.place(self.hashes[slot.group()], slot);
            }
        }
    }

    /// Bytes held: the index's slots, the key arena, ends and hashes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.keys.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
    }

    /// Every group's key, in group order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|g| self.key(g))
    }
}

#[inline]
fn key_at<'a>(keys: &'a [u8], ends: &[usize], g: usize) -> &'a [u8] {
    let start = if g == 0 { 0 } else { ends[g - 1] };
    &keys[start..ends[g]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_added_and_keeps_order() {
        let mut index = GroupIndex::default();
        // Short keys (held in the slot) and long ones (compared in the arena), and keys that
        // differ only in trailing zero bytes or across the 16-byte line.
        let keys: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("\x05{i}").into_bytes())
            .chain((0..300u32).map(|i| format!("\x14a long key of {i:>10}").into_bytes()))
            .chain([
                Vec::new(),
                b"\x00".to_vec(),
                b"\x00\x00".to_vec(),
                vec![7; 16],
                vec![7; 17],
                [vec![7; 16], vec![0]].concat(),
                vec![0; 16],
                vec![0; 17],
            ])
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.find_or_insert(key_hash(k), k), (i, true));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.find_or_insert(key_hash(k), k), (i, false));
            assert_eq!(index.key(i), &k[..]);
            assert_eq!(index.hash(i), key_hash(k));
        }
        assert_eq!(index.len(), keys.len());
        assert!(index.keys().eq(keys.iter().map(Vec::as_slice)));
        assert_eq!(index.find(key_hash(b"\x015001"), b"\x015001"), None);
        assert!(index.slots.len() * 3 >= index.len() * 4);
    }

    #[test]
    fn colliding_hashes_keep_keys_apart() {
        // Every key given the same hash, or hashes equal in the slot position and tag bits:
        // the probe walks past the others and still compares the keys themselves.
        let mut index = GroupIndex::default();
        let keys: Vec<Vec<u8>> = (0..200u32)
            .map(|i| format!("\x05k{i}").into_bytes())
            .chain((0..50u32).map(|i| format!("\x20a key longer than sixteen {i:>5}").into_bytes()))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            let hash = if i % 2 == 0 { 7 } else { 7 | 1 << 20 };
            assert_eq!(index.find_or_insert(hash, k), (i, true));
        }
        for (i, k) in keys.iter().enumerate() {
            let hash = if i % 2 == 0 { 7 } else { 7 | 1 << 20 };
            assert_eq!(index.find(hash, k), Some(i));
        }
        for hash in [7, 7 | 1 << 20] {
            assert_eq!(index.find(hash, b"\x05absent"), None);
            assert_eq!(index.find(hash, b"\x05k1\x00"), None);
            assert_eq!(
                index.find(hash, b"\x20a key longer than sixteen     0 "),
                None
            );
        }
    }
}
