//! The scan result's CSV text on its way to a column file: an unnamed temporary file beside
//! the output (see the module comment of `columnar` for why), mapped once complete so both
//! passes read it without copies.

use super::table::{write_table, CsvText, TableReport, TableSpec, Tick};
use super::types::ColumnarError;
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Spool {
    writer: BufWriter<File>,
    len: u64,
}

impl Spool {
    /// A spool in the directory `output` will be written to: same disk, and never a
    /// RAM-backed `/tmp`. It has no name, so it vanishes however the process ends.
    pub fn beside(output: &Path) -> io::Result<Spool> {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file = tempfile::tempfile_in(dir)?;
        Ok(Spool {
            writer: BufWriter::with_capacity(1 << 20, file),
            len: 0,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Converts what was written (comma-separated CSV, starting with a header line when
    /// `header`) into `out` as `spec` says, reading it twice; `tick` sees the progress of
    /// each pass and may stop it.
    pub fn write_table<W: Write + Send>(
        self,
        spec: TableSpec<'_>,
        header: bool,
        out: W,
        what: &str,
        tick: Tick<'_>,
    ) -> Result<(W, TableReport), ColumnarError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| ColumnarError::io("cannot write the temporary result", e.into_error()))?;
        let len = file
            .metadata()
            .map_err(|e| ColumnarError::io("cannot read the temporary result", e))?
            .len();
        if len == 0 {
            return write_table(CsvText::result(&[], header), spec, out, what, tick);
        }
        // SAFETY: the file is unnamed and private to this process, and nothing writes to it
        // any more (the writer was consumed above): the mapping cannot change underneath.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| ColumnarError::io("cannot map the temporary result", e))?;
        let _ = map.advise(memmap2::Advice::Sequential);
        write_table(CsvText::result(&map, header), spec, out, what, tick)
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)?;
        self.len += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}
