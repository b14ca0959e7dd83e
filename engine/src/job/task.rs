//! What a job runs and what it hands back: the [`ChunkTask`] trait (scan and agg implement
//! it) over a [`ChunkView`], where verified results go ([`Consumer`]), and why a chunk could
//! not be scanned ([`ChunkFailure`]).

use crate::input::compress::{Compression, StreamError};
use crate::input::stream::{PieceError, Pieces};
use crate::scan::kernel::{scan_chunk, ScanSpec, Scratch};
use crate::scan::outcome::ChunkOutcome;
use crate::shm::region::Accumulators;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;

/// The bytes of one unit of work: a chunk of a mapped file, or a piece of a streamed one.
#[derive(Debug, Clone)]
pub struct ChunkView<'a> {
    /// The whole mapping (or piece buffer); records are read from `range` of it, and a record
    /// that starts in `range` may run past its end.
    pub data: &'a [u8],
    pub range: Range<usize>,
    /// `range` ends where the file's content ends, so the last record needs no terminator.
    pub at_eof: bool,
    pub delimiter: u8,
}

/// What workers do with one chunk: find, filter and process its records, append the chunk's
/// result bytes to `out`. Scan formats matching records; agg encodes a private table.
pub trait ChunkTask: Send + Sync {
    fn run(&self, view: ChunkView<'_>, out: &mut Vec<u8>, scratch: &mut Scratch) -> ChunkOutcome;

    /// True when each match in `out` is framed by a u32 length (for `--limit`).
    fn framed(&self) -> bool {
        false
    }

    /// Words of shared accumulators, and of undo log for one commit, that this task keeps in
    /// the region (none by default).
    fn shared_words(&self) -> (usize, usize) {
        (0, 0)
    }

    /// Folds a finished chunk's result (`out`, as `run` wrote it) into the shared
    /// accumulators. The worker calls it under the lock, inside the chunk's commit, so it
    /// happens exactly once per committed chunk.
    fn commit(&self, _out: &[u8], _acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        Ok(())
    }

    /// Takes a committed chunk's contribution back out of the accumulators: the coordinator
    /// found its speculative start wrong and re-runs it.
    fn uncommit(&self, _out: &[u8], _acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        Ok(())
    }

    /// Runs over the pieces of a streamed file, one unit of work (see `input/stream.rs`).
    /// `flush` moves the output so far to the spill file, so memory stays bounded by a piece.
    /// A task whose result must be one whole per unit (agg's table) overrides this.
    fn run_pieces(
        &self,
        pieces: &mut Pieces<'_>,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> Result<(), PieceError> {
        while let Some((data, range, at_eof)) = pieces.next_piece()? {
            let view = ChunkView {
                data,
                range,
                at_eof,
                delimiter,
            };
            let outcome = self.run(view, out, scratch);
            pieces.done(&outcome);
            flush(out).map_err(PieceError::Spill)?;
        }
        Ok(())
    }
}

impl ChunkTask for ScanSpec {
    fn run(&self, view: ChunkView<'_>, out: &mut Vec<u8>, scratch: &mut Scratch) -> ChunkOutcome {
        scan_chunk(
            view.data,
            view.range,
            view.at_eof,
            view.delimiter,
            self,
            out,
            scratch,
        )
    }

    fn framed(&self) -> bool {
        self.framed
    }
}

/// Where verified chunk results go, in plan order.
pub enum Consumer<'a> {
    /// Streamed as they are (scan output).
    Stream(&'a mut dyn Write),
    /// Each chunk's bytes whole (agg: one encoded table per chunk). The consumer's error
    /// ends the job as it is.
    Whole(&'a mut dyn FnMut(&[u8]) -> Result<(), super::error::JobError>),
}

/// Why a worker could not scan a chunk. It travels to the coordinator as one word in the
/// chunk's slot of the shared region ([`ChunkFailure::to_word`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkFailure {
    /// Reading the file failed with this OS error (errno).
    Read(i32),
    /// The file is shorter than it was when planned: it changed during the scan.
    FileShrank,
    /// A compressed file ends inside a stream or frame.
    Truncated(Compression),
    /// A compressed file holds invalid data.
    Corrupt(Compression),
    /// Standard input's worker failed, and standard input cannot be read a second time.
    StdinReread,
}

impl ChunkFailure {
    /// True when the job must fail: the file's content is bad, and a result without part of
    /// it would look complete. Otherwise only that file is reported and the job goes on.
    pub fn fails_job(self) -> bool {
        matches!(
            self,
            ChunkFailure::Truncated(_) | ChunkFailure::Corrupt(_) | ChunkFailure::StdinReread
        )
    }

    /// The word stored in the region: the kind in the high half, its detail in the low half;
    /// 0 is "no failure".
    pub fn to_word(self) -> u64 {
        let (kind, detail) = match self {
            ChunkFailure::Read(errno) => (1, errno as u32),
            ChunkFailure::FileShrank => (2, 0),
            ChunkFailure::Truncated(c) => (3, compression_code(c)),
            ChunkFailure::Corrupt(c) => (4, compression_code(c)),
            ChunkFailure::StdinReread => (5, 0),
        };
        (kind << 32) | u64::from(detail)
    }

    pub fn from_word(word: u64) -> Option<ChunkFailure> {
        let detail = word as u32;
        let compression = || match detail {
            0 => Compression::Gzip,
            _ => Compression::Zstd,
        };
        Some(match word >> 32 {
            1 => ChunkFailure::Read(detail as i32),
            2 => ChunkFailure::FileShrank,
            3 => ChunkFailure::Truncated(compression()),
            4 => ChunkFailure::Corrupt(compression()),
            5 => ChunkFailure::StdinReread,
            _ => return None,
        })
    }
}

fn compression_code(c: Compression) -> u32 {
    match c {
        Compression::Gzip => 0,
        Compression::Zstd => 1,
    }
}

impl From<&StreamError> for ChunkFailure {
    fn from(e: &StreamError) -> ChunkFailure {
        match e {
            StreamError::Io(e) => ChunkFailure::Read(e.raw_os_error().unwrap_or(libc::EIO)),
            StreamError::Truncated(c) => ChunkFailure::Truncated(*c),
            StreamError::Corrupt(c) => ChunkFailure::Corrupt(*c),
        }
    }
}

impl fmt::Display for ChunkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChunkFailure::Read(errno) => write!(f, "{}", io::Error::from_raw_os_error(errno)),
            ChunkFailure::FileShrank => f.write_str("the file shrank while it was being scanned"),
            ChunkFailure::Truncated(c) => write!(f, "{}", StreamError::Truncated(c)),
            ChunkFailure::Corrupt(c) => write!(f, "{}", StreamError::Corrupt(c)),
            ChunkFailure::StdinReread => f.write_str(
                "its worker failed, and standard input cannot be read a second time to re-run it",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_survive_the_trip_through_the_region_word() {
        for failure in [
            ChunkFailure::Read(libc::EACCES),
            ChunkFailure::Read(libc::EIO),
            ChunkFailure::FileShrank,
            ChunkFailure::Truncated(Compression::Gzip),
            ChunkFailure::Truncated(Compression::Zstd),
            ChunkFailure::Corrupt(Compression::Gzip),
            ChunkFailure::Corrupt(Compression::Zstd),
            ChunkFailure::StdinReread,
        ] {
            assert_ne!(failure.to_word(), 0, "{failure:?}");
            assert_eq!(ChunkFailure::from_word(failure.to_word()), Some(failure));
        }
        assert_eq!(ChunkFailure::from_word(0), None);
    }

    #[test]
    fn each_failure_has_its_own_message() {
        assert_eq!(
            ChunkFailure::FileShrank.to_string(),
            "the file shrank while it was being scanned"
        );
        assert!(ChunkFailure::Truncated(Compression::Gzip)
            .to_string()
            .starts_with("truncated gzip data"));
        assert!(ChunkFailure::Corrupt(Compression::Zstd)
            .to_string()
            .starts_with("corrupt zstd data"));
        assert_eq!(
            ChunkFailure::Read(libc::EACCES).to_string(),
            io::Error::from_raw_os_error(libc::EACCES).to_string()
        );
        assert!(ChunkFailure::Corrupt(Compression::Gzip).fails_job());
        assert!(!ChunkFailure::FileShrank.fails_job());
    }
}
