//! Inputs that cannot be mapped and split: compressed files (`.gz`, `.zst`) and files whose
//! text must be transcoded to UTF-8 before scanning (see [`crate::input::charset`]).
//!
//! This module owns the reader stack for them: the file (counting the bytes it hands out, so
//! progress moves with the compressed bytes consumed), then the decompressor, then the
//! transcoder. Dataset opening reads the first bytes through it to find the header; a worker
//! reads the whole file through it in pieces ([`crate::input::stream`]). Errors are sorted into the
//! file's own I/O errors (the file is reported as unreadable, like a plain file) and bad data
//! (corrupt or truncated compressed data: the job fails, naming the file).

use crate::input::charset::Transcoder;
use encoding_rs::Encoding;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// Compression by file extension: `.gz` (gzip, every concatenated member is read) and
    /// `.zst`/`.zstd` (every frame is read).
    pub fn from_path(path: &Path) -> Option<Compression> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("gz") {
            Some(Compression::Gzip)
        } else if ext.eq_ignore_ascii_case("zst") || ext.eq_ignore_ascii_case("zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// The compression whose magic bytes `first` starts with (gzip `1f 8b`, zstd
    /// `28 b5 2f fd`), for a stream without a file name (standard input).
    pub fn from_magic(first: &[u8]) -> Option<Compression> {
        if first.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if first.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// The name a compressed file's content would have: `a.tsv.gz` -> `a.tsv`.
pub fn content_path(path: &Path) -> PathBuf {
    match Compression::from_path(path) {
        Some(_) => path.with_extension(""),
        None => path.to_path_buf(),
    }
}

/// Why a streamed input could not be read to its end.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the file itself failed (the same as for a mapped file).
    Io(io::Error),
    /// The compressed data ends in the middle of a stream.
    Truncated(Compression),
    /// The compressed data is not valid.
    Corrupt(Compression),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamError::Io(e) => return write!(f, "{e}"),
            StreamError::Truncated(Compression::Gzip) => {
                "truncated gzip data (the file ends inside a compressed stream)"
            }
            StreamError::Truncated(Compression::Zstd) => {
                "truncated zstd data (the file ends inside a compressed frame)"
            }
            StreamError::Corrupt(Compression::Gzip) => {
                "corrupt gzip data (not a valid gzip stream)"
            }
            StreamError::Corrupt(Compression::Zstd) => "corrupt zstd data (not a valid zstd frame)",
        })
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The file at the bottom of the stack: counts bytes read, remembers its own errors so they
/// are not mistaken for bad compressed data.
struct CountingFile {
    file: Box<dyn Read>,
    consumed: Rc<Cell<u64>>,
    failed: Rc<Cell<bool>>,
}

impl Read for CountingFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.file.read(buf) {
            Ok(n) => {
                self.consumed.set(self.consumed.get() + n as u64);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failed.set(true);
                }
                Err(e)
            }
        }
    }
}

/// A file's content as a byte stream: decompressed, and transcoded to UTF-8 when asked.
pub struct Source {
    reader: Box<dyn Read>,
    compression: Option<Compression>,
    consumed: Rc<Cell<u64>>,
    file_failed: Rc<Cell<bool>>,
    transcoder: Option<Rc<Transcoder>>,
}

impl Source {
    pub fn open(
        path: &Path,
        compression: Option<Compression>,
        transcode: Option<&'static Encoding>,
    ) -> Result<Source, StreamError> {
        let file: Box<dyn Read> = if crate::input::stdin::is_stdin(path) {
            Box::new(crate::input::stdin::reader().map_err(StreamError::Io)?)
        } else {
            Box::new(File::open(path).map_err(StreamError::Io)?)
        };
        let consumed = Rc::new(Cell::new(0));
        let file_failed = Rc::new(Cell::new(false));
        let counting = CountingFile {
            file,
            consumed: Rc::clone(&consumed),
            failed: Rc::clone(&file_failed),
        };
        let mut reader: Box<dyn Read> = match compression {
            None => Box::new(counting),
            Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(counting)),
            Some(Compression::Zstd) => Box::new(
                zstd::stream::read::Decoder::new(counting)
                    .map_err(|e| classify(e, compression, &file_failed))?,
            ),
        };
        let mut transcoder = None;
        if let Some(encoding) = transcode {
            let t = Rc::new(Transcoder::new(encoding));
            reader = Box::new(t.reader(reader));
            transcoder = Some(t);
        }
        Ok(Source {
            reader,
            compression,
            consumed,
            file_failed,
            transcoder,
        })
    }

    /// Bytes of the file read so far (compressed bytes for a compressed file).
    pub fn consumed(&self) -> u64 {
        self.consumed.get()
    }

    /// Invalid byte sequences the transcoder replaced so far, and the lines of the first ones.
    pub fn transcoder(&self) -> Option<&Transcoder> {
        self.transcoder.as_deref()
    }

    /// Reads into `buf`, like [`Read::read`], sorting errors.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        loop {
            match self.reader.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify(e, self.compression, &self.file_failed)),
            }
        }
    }

    /// The first `want` bytes (fewer at the end of the content); true when that is all of it.
    pub fn prefix(&mut self, want: usize) -> Result<(Vec<u8>, bool), StreamError> {
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match self.read(&mut buf[filled..])? {
                0 => {
                    buf.truncate(filled);
                    return Ok((buf, true));
                }
                n => filled += n,
            }
        }
        // Exactly `want` bytes: whether more follow decides if the content is complete.
        let mut one = [0u8; 1];
        let complete = self.read(&mut one)? == 0;
        Ok((buf, complete))
    }
}

fn classify(
    e: io::Error,
    compression: Option<Compression>,
    file_failed: &Cell<bool>,
) -> StreamError {
    match compression {
        Some(c) if !file_failed.get() => {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                StreamError::Truncated(c)
            } else {
                StreamError::Corrupt(c)
            }
        }
        _ => StreamError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(path: &Path) -> Result<Vec<u8>, StreamError> {
        let mut s = Source::open(path, Compression::from_path(path), None)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn extensions() {
        assert_eq!(
            Compression::from_path(Path::new("a.csv.GZ")),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_path(Path::new("a.zst")),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::from_path(Path::new("a.csv")), None);
        assert_eq!(content_path(Path::new("d/a.tsv.gz")), Path::new("d/a.tsv"));
    }

    #[test]
    fn every_gzip_member_and_zstd_frame_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let gz = tmp.path().join("a.csv.gz");
        let mut two = gzip(b"a,1\n");
        two.extend(gzip(b"b,2\n"));
        std::fs::write(&gz, &two).unwrap();
        assert_eq!(read_all(&gz).unwrap(), b"a,1\nb,2\n");
        let zst = tmp.path().join("a.csv.zst");
        let mut frames = zstd::encode_all(&b"a,1\n"[..], 3).unwrap();
        frames.extend(zstd::encode_all(&b"b,2\n"[..], 3).unwrap());
        std::fs::write(&zst, &frames).unwrap();
        assert_eq!(read_all(&zst).unwrap(), b"a,1\nb,2\n");
    }

    #[test]
    fn truncated_and_corrupt_data_are_told_apart_from_io_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..20000u32)
            .flat_map(|i| format!("{i},x\n").into_bytes())
            .collect();
        let gz = tmp.path().join("t.csv.gz");
        let full = gzip(&data);
        std::fs::write(&gz, &full[..full.len() / 2]).unwrap();
        assert!(matches!(
            read_all(&gz),
            Err(StreamError::Truncated(Compression::Gzip))
        ));
        let zst = tmp.path().join("t.csv.zst");
        let full = zstd::encode_all(&data[..], 3).unwrap();
        std::fs::write(&zst, &full[..full.len() / 2]).unwrap();
        assert!(matches!(
            read_all(&zst),
            Err(StreamError::Truncated(Compression::Zstd))
        ));
        let mut bad = full.clone();
        bad[0] ^= 0xff;
        std::fs::write(&zst, &bad).unwrap();
        assert!(matches!(
            read_all(&zst),
            Err(StreamError::Corrupt(Compression::Zstd))
        ));
        std::fs::write(&gz, b"this is not gzip at all\n").unwrap();
        assert!(matches!(
            read_all(&gz),
            Err(StreamError::Corrupt(Compression::Gzip))
        ));
        let missing = tmp.path().join("missing.csv.gz");
        assert!(matches!(read_all(&missing), Err(StreamError::Io(_))));
    }
}
