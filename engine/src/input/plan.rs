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
