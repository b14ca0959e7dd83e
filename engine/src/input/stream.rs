//! Scanning a file that cannot be split ([`crate::input::compress`]): one unit of work whose content
//! arrives from a reader and is scanned in pieces by the very kernels that scan mapped chunks.
//!
//! Each piece is the unscanned rest of the previous one plus about `piece_size` fresh bytes,
//! cut just after its last `\n`, like a planned chunk. The kernel reports when the piece's
//! last record runs past the cut (a quoted newline); that record's bytes are carried into the
//! next piece and scanned again from their start, so a record spanning any number of pieces
//! is found exactly once, and CRLF pairs are never split because cuts follow `\n`. Memory is
//! bounded by the piece size (and the longest record), never by the file.

use crate::input::charset::REPORTED_INVALID;
use crate::input::compress::{Source, StreamError};
use crate::scan::outcome::{ChunkOutcome, REPORTED_MALFORMED};
use memchr::memrchr;
use std::ops::Range;

/// Why a unit stopped before its end.
#[derive(Debug)]
pub enum PieceError {
    Stream(StreamError),
    /// The coordinator asked every worker to stop.
    Stopped,
    /// Writing the unit's output to the spill file failed.
    Spill(std::io::Error),
}

impl From<StreamError> for PieceError {
    fn from(e: StreamError) -> Self {
        PieceError::Stream(e)
    }
}

/// The content of one unit, handed out piece by piece; sums the pieces' outcomes.
pub struct Pieces<'a> {
    source: Source,
    buf: Vec<u8>,
    /// `buf[..filled]` holds content not yet scanned (from offset 0 after the first piece).
    filled: usize,
    /// Where the current piece's range starts and ends.
    start: usize,
    cut: usize,
    /// Content bytes still to drop (the BOM and header).
    skip: u64,
    eof: bool,
    piece_size: usize,
    /// Fresh bytes to read for the next piece: doubles while a record spans whole pieces.
    grow: usize,
    total: ChunkOutcome,
    on_progress: &'a mut dyn FnMut(u64),
    stopped: &'a dyn Fn() -> bool,
    reported: u64,
}

impl<'a> Pieces<'a> {
    pub fn new(
        source: Source,
        data_start: u64,
        piece_size: usize,
        on_progress: &'a mut dyn FnMut(u64),
        stopped: &'a dyn Fn() -> bool,
    ) -> Pieces<'a> {
        let piece_size = piece_size.max(1);
        Pieces {
            source,
            buf: Vec::new(),
            filled: 0,
            start: 0,
            cut: 0,
            skip: data_start,
            eof: false,
            piece_size,
            grow: piece_size,
            total: ChunkOutcome::default(),
            on_progress,
            stopped,
            reported: 0,
        }
    }

    /// The next piece as `(data, range, at_eof)` for a kernel, or `None` at the end.
    #[allow(clippy::type_complexity)]
    pub fn next_piece(&mut self) -> Result<Option<(&[u8], Range<usize>, bool)>, PieceError> {
        if (self.stopped)() {
            return Err(PieceError::Stopped);
        }
        // The previous piece's unscanned tail moves to the front.
        self.buf.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.start = 0;
        loop {
            let want = self.filled + self.grow;
            while !self.eof && self.filled < want {
                if self.buf.len() < want {
                    self.buf.resize(want, 0);
                }
                let n = self.source.read(&mut self.buf[self.filled..want])?;
                self.eof = n == 0;
                self.filled += n;
                if self.skip > 0 {
                    let dropped = (self.skip as usize).min(self.filled);
                    self.buf.copy_within(dropped..self.filled, 0);
                    self.filled -= dropped;
                    self.skip -= dropped as u64;
                }
            }
            let consumed = self.source.consumed();
            (self.on_progress)(consumed - self.reported);
            self.reported = consumed;
            if self.eof {
                if self.filled == 0 {
                    return Ok(None);
                }
                self.cut = self.filled;
                return Ok(Some((&self.buf[..self.filled], 0..self.filled, true)));
            }
            if let Some(i) = memrchr(b'\n', &self.buf[..self.filled]) {
                self.cut = i + 1;
                return Ok(Some((&self.buf[..self.cut], 0..self.cut, false)));
            }
            // One line longer than everything read so far: read more before cutting.
            self.grow = self.grow.saturating_mul(2);
        }
    }

    /// Takes the kernel's outcome for the piece just handed out; its partial record, if
    /// any, starts the next piece.
    pub fn done(&mut self, o: &ChunkOutcome) {
        let t = &mut self.total;
        for k in 0..o.malformed.min(REPORTED_MALFORMED as u64) as usize {
            if let Some(slot) = t.malformed_lines.get_mut(t.malformed as usize + k) {
                *slot = t.lines + o.malformed_lines[k];
            }
        }
        for k in 0..o.invalid.min(REPORTED_INVALID as u64) as usize {
            if let Some(slot) = t.invalid_lines.get_mut(t.invalid as usize + k) {
                *slot = t.lines + o.invalid_lines[k];
            }
        }
        for k in 0..o.incomparable.min(REPORTED_MALFORMED as u64) as usize {
            if let Some(slot) = t.incomparable_lines.get_mut(t.incomparable as usize + k) {
                *slot = t.lines + o.incomparable_lines[k];
            }
        }
        t.incomparable += o.incomparable;
        t.records += o.records;
        t.matches += o.matches;
        t.malformed += o.malformed;
        t.invalid += o.invalid;
        t.lines += o.lines;
        t.out_bytes += o.out_bytes;
        t.paths.add(&o.paths);
        self.start = match o.partial {
            Some(p) => p as usize,
            None => self.cut,
        };
        // A record that began at the piece's start and did not end in it: read more next time.
        self.grow = if self.start == 0 {
            self.grow.saturating_mul(2)
        } else {
            self.piece_size
        };
    }

    /// The unit's outcome: every piece's, plus the invalid sequences the transcoder replaced
    /// (`first_line` is the file line the unit's data starts at; the header's are not counted).
    pub fn finish(mut self, first_line: u64) -> ChunkOutcome {
        if let Some(t) = self.source.transcoder() {
            let total = &mut self.total;
            let listed = t.invalid_lines();
            for line in &listed {
                if let Some(rel) = line.checked_sub(first_line) {
                    if let Some(slot) = total.invalid_lines.get_mut(total.invalid as usize) {
                        *slot = rel;
                    }
                    total.invalid += 1;
                }
            }
            total.invalid += t.invalid() - listed.len() as u64;
        }
        self.total
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scan::format::Emit;
    use crate::scan::kernel::{scan_chunk, ScanSpec, Scratch};

    fn source(data: &[u8]) -> (tempfile::NamedTempFile, Source) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), data).unwrap();
        let source = Source::open(file.path(), None, None).unwrap();
        (file, source)
    }

    /// Scans `data` (after `skip` bytes) in pieces of `piece` bytes with the raw emitter.
    fn scan(data: &[u8], skip: u64, piece: usize) -> (Vec<u8>, ChunkOutcome, usize) {
        let (_file, src) = source(data);
        let mut read = 0u64;
        let mut progress = |n: u64| read += n;
        let never = || false;
        let mut pieces = Pieces::new(src, skip, piece, &mut progress, &never);
        let spec = ScanSpec {
            ncols: 2,
            predicates: Vec::new(),
            emit: Emit::Raw,
            framed: false,
            decode: None,
        };
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        let mut most = 0;
        while let Some((data, range, at_eof)) = pieces.next_piece().unwrap() {
            let o = scan_chunk(data, range, at_eof, b',', &spec, &mut out, &mut scratch);
            pieces.done(&o);
            most = most.max(pieces.buf.len());
        }
        let total = pieces.finish(1);
        assert_eq!(read, data.len() as u64, "progress counts every byte read");
        (out, total, most)
    }

    #[test]
    fn records_spanning_pieces_are_found_once_and_memory_stays_bounded() {
        let mut data = b"h,h\n".to_vec();
        for i in 0..5000 {
            match i % 4 {
                0 => data.extend(format!("{i},\"two\nlines\"\r\n").as_bytes()),
                1 => data.extend(format!("{i},x\n").as_bytes()),
                2 => data.extend(format!("{i},y,ragged\n").as_bytes()),
                _ => data.extend(format!("\"{i}\",\"a \"\"q\"\"\"\n").as_bytes()),
            }
        }
        // The reference: the kernel over the whole data at once, as for a mapped file.
        let spec = ScanSpec {
            ncols: 2,
            predicates: Vec::new(),
            emit: Emit::Raw,
            framed: false,
            decode: None,
        };
        let mut whole = Vec::new();
        let want = scan_chunk(
            &data,
            4..data.len(),
            true,
            b',',
            &spec,
            &mut whole,
            &mut Scratch::default(),
        );
        assert_eq!((want.records, want.malformed), (5000, 1250));
        for piece in [1, 2, 3, 17, 100, 4096] {
            let (out, got, most) = scan(&data, 4, piece);
            assert!(out == whole, "piece {piece}");
            assert_eq!(got.records, want.records);
            assert_eq!(got.malformed_lines, want.malformed_lines, "piece {piece}");
            assert_eq!(got.lines, want.lines);
            assert!(most <= piece * 4 + 64, "buffer {most} for piece {piece}");
        }
    }

    #[test]
    fn a_record_longer_than_many_pieces_is_read_whole() {
        let long = "z".repeat(100_000);
        let data = format!("a,\"{long}\nstill\"\nb,2\n");
        let (out, got, _) = scan(data.as_bytes(), 0, 10);
        assert!(out == data.as_bytes());
        assert_eq!(got.records, 2);
        // No final newline: the last record still counts.
        let (out, got, _) = scan(b"a,1\nb,2", 0, 1);
        assert_eq!((out, got.records), (b"a,1\nb,2\n".to_vec(), 2));
    }
}
