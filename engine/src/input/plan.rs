//! Chunk planning: each file's data is cut into chunks of about `chunk_size` bytes, each
//! ending just after a `\n`.
//!
//! The cut is a *guess*: a `\n` inside a quoted field is not a record boundary. Rather than
//! pay a second full read to find quote parity up front, the guess is verified during the
//! scan itself (speculative parsing, as in Ge et al. and Polars' chunk analysis): the kernel
//! reports when a chunk's last record runs past the chunk's end, which proves the next
//! chunk's start was wrong, and the coordinator re-runs that next chunk from the true record
//! start before its result is used (see `job.rs`). Data without quoted newlines never pays.

use crate::input::compress::Compression;
use memchr::memchr;
use std::path::PathBuf;

/// One input file as planned: where its records start and how it is delimited.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub path: PathBuf,
    /// Bytes on disk (compressed bytes for a compressed file).
    pub size: u64,
    pub delimiter: u8,
    /// First byte after the BOM and the header record, if any (in the decompressed and
    /// transcoded content for a streamed file).
    pub data_start: u64,
    /// 1-based line number of the line at `data_start`.
    pub first_line: u64,
    /// Set for `.gz`/`.zst` files: the file is one unit, streamed (see `stream.rs`).
    pub compression: Option<Compression>,
    /// Set when the content is decoded to UTF-8 before scanning (the file is then one
    /// streamed unit too); see `charset.rs`.
    pub transcode: Option<&'static encoding_rs::Encoding>,
}

impl PlannedFile {
    /// Whether the file is read through a stream as one unit rather than mapped and split.
    pub fn streamed(&self) -> bool {
        self.compression.is_some() || self.transcode.is_some() || self.is_stdin()
    }

    /// Standard input (`-`): streamed, read once, of unknown size.
    pub fn is_stdin(&self) -> bool {
        crate::input::stdin::is_stdin(&self.path)
    }
}

/// A byte range of one file whose start is a guessed record boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub file: u32,
    pub start: u64,
    pub end: u64,
}

/// All chunks of all files, in file order then offset order: the order output must follow.
#[derive(Debug, Clone, Default)]
pub struct ChunkPlan {
    pub files: Vec<PlannedFile>,
    pub chunks: Vec<Chunk>,
    /// Content bytes per piece when a streamed file is scanned (0: the chunk size default).
    pub piece_size: u64,
}

impl ChunkPlan {
    /// Some input is standard input, whose size is unknown until it ends.
    pub fn has_stdin(&self) -> bool {
        self.files.iter().any(PlannedFile::is_stdin)
    }

    pub fn total_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.end - c.start).sum()
    }

    /// Adds a file and its chunks; `data` is the whole file.
    pub fn push_file(&mut self, file: PlannedFile, data: &[u8], chunk_size: u64) {
        let index = self.files.len() as u32;
        for range in split(data, file.data_start as usize, chunk_size.max(1) as usize) {
            self.chunks.push(Chunk {
                file: index,
                start: range.0 as u64,
                end: range.1 as u64,
            });
        }
        self.files.push(file);
    }

    /// Splits the plan into at most `n` plans of whole files, contiguous in file order and
    /// about equal in bytes: run one after another they cover every chunk once, in order.
    /// A file is never split across two plans, because a chunk's speculative start is only
    /// verified against the chunk before it in the same job (see the module comment).
    pub fn file_groups(&self, n: usize) -> Vec<ChunkPlan> {
        let nfiles = self.files.len();
        let n = n.clamp(1, nfiles.max(1));
        if n == 1 {
            return vec![self.clone()];
        }
        let mut bytes = vec![0u64; nfiles];
        for c in &self.chunks {
            bytes[c.file as usize] += c.end - c.start;
        }
        let total: u128 = bytes.iter().map(|&b| u128::from(b)).sum();
        let mut groups = Vec::with_capacity(n);
        let (mut first, mut done) = (0usize, 0u128);
        for (f, &b) in bytes.iter().enumerate() {
            done += u128::from(b);
            let groups_left = n - groups.len() - 1;
            if groups_left == 0 {
                break;
            }
            // Cut once this group holds its share of the bytes, or when every file left
            // must start a group of its own.
            let share = done * n as u128 >= total * (groups.len() as u128 + 1);
            if share || nfiles - f - 1 == groups_left {
                groups.push(self.files_plan(first..f + 1));
                first = f + 1;
            }
        }
        groups.push(self.files_plan(first..nfiles));
        groups
    }

    /// The plan of files `range` alone, file indices renumbered from 0.
    fn files_plan(&self, range: std::ops::Range<usize>) -> ChunkPlan {
        let base = range.start as u32;
        ChunkPlan {
            files: self.files[range.clone()].to_vec(),
            chunks: self
                .chunks
                .iter()
                .filter(|c| range.contains(&(c.file as usize)))
                .map(|c| Chunk {
                    file: c.file - base,
                    ..*c
                })
                .collect(),
            piece_size: self.piece_size,
        }
    }

    /// The same files cut into fewer, larger chunks of about `target` bytes: each file's
    /// run of contiguous chunks is regrouped into about `bytes / target` (at least one)
    /// chunks of about equal size, ending where its chunks ended. Only guessed boundaries are
    /// dropped, never added, so every start of the result was a start of this plan, and the
    /// records and their order are the same. For a task whose cost grows with the number of
    /// chunks rather than bytes (agg's hashed tables, one handed over per chunk).
    pub fn coalesced(&self, target: u64) -> ChunkPlan {
        let target = target.max(1);
        let mut chunks = Vec::with_capacity(self.chunks.len());
        let mut i = 0;
        while i < self.chunks.len() {
            // The run of chunks i..j: one file's, each starting where the previous ended.
            let mut j = i + 1;
            while j < self.chunks.len()
                && self.chunks[j].file == self.chunks[i].file
                && self.chunks[j].start == self.chunks[j - 1].end
            {
                j += 1;
            }
            let run = &self.chunks[i..j];
            let bytes: u128 = run.iter().map(|c| u128::from(c.end - c.start)).sum();
            let parts = (bytes + u128::from(target) / 2) / u128::from(target);
            let parts = parts.clamp(1, run.len() as u128);
            let mut current = run[0];
            let mut done = u128::from(current.end - current.start);
            let mut cut = 1u128;
            for c in &run[1..] {
                if bytes > 0 && done * parts >= bytes * cut {
                    chunks.push(current);
                    current = *c;
                    cut += 1;
                }
                current.end = c.end;
                done += u128::from(c.end - c.start);
            }
            chunks.push(current);
            i = j;
        }
        ChunkPlan {
            files: self.files.clone(),
            chunks,
            piece_size: self.piece_size,
        }
    }

    /// Adds a streamed file as one chunk covering its bytes on disk: it cannot be split, and
    /// progress counts the bytes read from disk.
    pub fn push_unit(&mut self, file: PlannedFile) {
        self.chunks.push(Chunk {
            file: self.files.len() as u32,
            start: 0,
            end: file.size,
        });
        self.files.push(file);
    }
}

/// Cuts `data[start..]` into `(start, end)` ranges of at least `chunk_size` bytes each
/// (the last may be shorter), every end but the last just past a `\n`.
pub fn split(data: &[u8], start: usize, chunk_size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity((data.len() - start.min(data.len())) / chunk_size + 1);
    let mut s = start;
    while s < data.len() {
        let nominal = s.saturating_add(chunk_size);
        if nominal >= data.len() {
            out.push((s, data.len()));
            break;
        }
        // Search from the nominal end's last byte, so a chunk that already ends in '\n' is kept.
        let end = match memchr(b'\n', &data[nominal - 1..]) {
            Some(i) => nominal + i,
            None => data.len(),
        };
        out.push((s, end));
        s = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_data_and_end_after_newlines() {
        let data = b"a,1\nbb,2\n\"x\ny\",3\nlast";
        for size in 1..=data.len() + 2 {
            let chunks = split(data, 0, size);
            assert_eq!(chunks.first().map(|c| c.0), Some(0));
            assert_eq!(chunks.last().map(|c| c.1), Some(data.len()));
            for pair in chunks.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "contiguous at size {size}");
                assert_eq!(data[pair[0].1 - 1], b'\n');
                assert!(pair[0].1 - pair[0].0 >= size.min(data.len()));
            }
        }
    }

    fn planned(sizes: &[usize]) -> ChunkPlan {
        let mut plan = ChunkPlan::default();
        for (i, &size) in sizes.iter().enumerate() {
            let data = b"0123456\n".repeat(size);
            let file = PlannedFile {
                path: PathBuf::from(format!("f{i}")),
                size: data.len() as u64,
                delimiter: b',',
                data_start: 0,
                first_line: 1,
                compression: None,
                transcode: None,
            };
            plan.push_file(file, &data, 16);
        }
        plan
    }

    #[test]
    fn file_groups_cover_every_chunk_once_in_order_without_splitting_a_file() {
        let cases: &[&[usize]] = &[
            &[],
            &[5],
            &[3, 3, 3, 3],
            &[9, 1, 1, 1],
            &[1, 1, 9],
            &[0, 4, 0, 4, 2],
        ];
        for sizes in cases {
            let plan = planned(sizes);
            for n in 1..=6 {
                let groups = plan.file_groups(n);
                assert!(
                    !groups.is_empty() && groups.len() <= n.max(1),
                    "{sizes:?} n={n}"
                );
                assert_eq!(groups.len(), n.min(sizes.len()).max(1), "{sizes:?} n={n}");
                let mut chunks = Vec::new();
                let mut paths = Vec::new();
                for g in &groups {
                    for c in &g.chunks {
                        assert!((c.file as usize) < g.files.len());
                        chunks.push((g.files[c.file as usize].path.clone(), c.start, c.end));
                    }
                    paths.extend(g.files.iter().map(|f| f.path.clone()));
                }
                let whole: Vec<_> = plan
                    .chunks
                    .iter()
                    .map(|c| (plan.files[c.file as usize].path.clone(), c.start, c.end))
                    .collect();
                assert_eq!(chunks, whole, "{sizes:?} n={n}");
                let all: Vec<_> = plan.files.iter().map(|f| f.path.clone()).collect();
                assert_eq!(paths, all, "{sizes:?} n={n}");
            }
        }
    }

    #[test]
    fn file_groups_balance_bytes() {
        let groups = planned(&[4, 4, 4, 4, 4, 4]).file_groups(3);
        let bytes: Vec<u64> = groups.iter().map(ChunkPlan::total_bytes).collect();
        assert_eq!(bytes, vec![64, 64, 64]);
        // One large file alone, the small ones together.
        let groups = planned(&[12, 2, 2, 2, 2, 2, 2]).file_groups(2);
        let files: Vec<usize> = groups.iter().map(|g| g.files.len()).collect();
        assert_eq!(files, vec![1, 6]);
    }

    #[test]
    fn coalesced_chunks_keep_the_bytes_and_only_drop_boundaries() {
        for sizes in [&[][..], &[5], &[40, 3, 0, 17], &[100, 100]] {
            let plan = planned(sizes);
            let starts: std::collections::BTreeSet<(u32, u64)> =
                plan.chunks.iter().map(|c| (c.file, c.start)).collect();
            for target in [1, 16, 17, 40, 64, 100, 1000, u64::MAX] {
                let merged = plan.coalesced(target);
                assert_eq!(
                    merged.total_bytes(),
                    plan.total_bytes(),
                    "{sizes:?} {target}"
                );
                assert!(merged.chunks.len() <= plan.chunks.len());
                for c in &merged.chunks {
                    assert!(starts.contains(&(c.file, c.start)), "{sizes:?} {target}");
                }
                for pair in merged.chunks.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    assert!(
                        (a.file, a.end) <= (b.file, b.start),
                        "in order: {sizes:?} {target}"
                    );
                    if a.file == b.file {
                        assert_eq!(a.end, b.start, "contiguous: {sizes:?} {target}");
                    }
                }
                // Each file is still covered from its first byte to its last.
                for f in 0..plan.files.len() as u32 {
                    let span = |p: &ChunkPlan| {
                        let mine: Vec<_> = p.chunks.iter().filter(|c| c.file == f).collect();
                        mine.first().map(|c| (c.start, mine[mine.len() - 1].end))
                    };
                    assert_eq!(span(&merged), span(&plan), "{sizes:?} {target}");
                }
            }
        }
        // 100 lines of 8 bytes in chunks of 16 bytes: about 800 / 200 = 4 chunks of 200.
        let merged = planned(&[100]).coalesced(200);
        let lens: Vec<u64> = merged.chunks.iter().map(|c| c.end - c.start).collect();
        assert_eq!(lens, vec![208, 192, 208, 192]);
        assert_eq!(planned(&[100]).coalesced(1).chunks, planned(&[100]).chunks);
        assert_eq!(planned(&[100]).coalesced(u64::MAX).chunks.len(), 1);
    }

    #[test]
    fn size_one_gives_one_line_per_chunk() {
        let chunks = split(b"a\nb\nc\n", 0, 1);
        assert_eq!(chunks, vec![(0, 2), (2, 4), (4, 6)]);
    }

    #[test]
    fn start_past_header_and_empty_rest() {
        assert_eq!(split(b"h\nx\n", 2, 100), vec![(2, 4)]);
        assert!(split(b"h\n", 2, 100).is_empty());
    }
}
