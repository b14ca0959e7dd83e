//! [`GroupIndex`]: a table's packed group keys and the hash index from a key to its group
//! number, the part of [`crate::agg::AggTable`] every record and every merged group probes.
//!
//! Keys are stored once, end to end in one arena (`keys`, with `ends[g]` where group `g`'s
//! key ends), rather than as one heap allocation per group: at hundreds of thousands of
//! groups the allocations, their frees when a chunk's table is dropped, and the pointer
//! chase on every probe cost more than the hashing. The index is a hashbrown
//! [`HashTable`] of slots; each group's hash is kept (`hashes`), so growing the index and
//! merging one table into another never hash a key again. A key of at most 16 bytes (a
//! packed `lat` such as `22.843839` is 10, `id,hour(time)` 9) is also held in its slot, so a
//! probe compares it there without touching the arena: one cache miss fewer per record on a
//! table of hundreds of thousands of groups.
//!
//! Group numbers are dense and in order of first appearance, which is what the per-aggregate
//! columns are indexed by.

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;

use super::hash::BuildKeyHasher;

/// Keys of at most this many bytes are compared in the slot.
const INLINE: usize = 16;

/// One group in the index: its number, and its key when short.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The key's bytes, zero-padded, when it has at most `INLINE` of them.
    words: [u64; 2],
    /// `group << 8 | length`, the length 255 for a key longer than `INLINE` (compared in the
    /// arena).
    group_len: u64,
}

const LONG: u64 = 255;

impl Slot {
    fn group(&self) -> usize {
        (self.group_len >> 8) as usize
    }
}

/// A short key as the slot holds it: (zero-padded words, length), or `None` when longer.
#[inline(always)]
fn inline_words(key: &[u8]) -> Option<[u64; 2]> {
    if key.len() > INLINE {
        return None;
    }
    let mut buf = [0u8; INLINE];
    buf[..key.len()].copy_from_slice(key);
    let (lo, hi) = buf.split_at(8);
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    Some([word(lo), word(hi)])
}

#[derive(Debug, Default, Clone)]
pub(crate) struct GroupIndex {
    /// Groups, found by their key's hash.
    table: HashTable<Slot>,
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

    /// The group of `key`, whose hash is `hash`, if there is one.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let found = match inline_words(key) {
            Some(words) => {
                let len = key.len() as u64;
                self.table
                    .find(hash, |s| s.words == words && s.group_len & 0xff == len)
            }
            None => {
                let (keys, ends) = (&self.keys, &self.ends);
                self.table.find(hash, |s| {
                    s.group_len & 0xff == LONG && key_at(keys, ends, s.group()) == key
                })
            }
        };
        found.map(Slot::group)
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
        let g = self.ends.len();
        self.keys.extend_from_slice(key);
        self.ends.push(self.keys.len());
        self.hashes.push(hash);
        let slot = match inline_words(key) {
            Some(words) => Slot {
                words,
                group_len: (g as u64) << 8 | key.len() as u64,
            },
            None => Slot {
                words: [0; 2],
                group_len: (g as u64) << 8 | LONG,
            },
        };
        let hashes = &self.hashes;
        self.table.insert_unique(hash, slot, |s| hashes[s.group()]);
        g
    }

    /// Room for `groups` more groups holding `bytes` more key bytes.
    pub(crate) fn reserve(&mut self, groups: usize, bytes: usize) {
        let hashes = &self.hashes;
        self.table.reserve(groups, |s| hashes[s.group()]);
        self.ends.reserve(groups);
        self.hashes.reserve(groups);
        self.keys.reserve(bytes);
    }

    /// Bytes held: the index's slots (and control bytes), the key arena, ends and hashes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<Slot>() + 1)
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
    }
}
