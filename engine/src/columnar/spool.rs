//! The scan result's CSV text on its way to a column file: an unnamed temporary file beside
//! the output (see the module comment of `columnar` for why), mapped once complete so both
//! passes read it without copies.

use super::table::{write_table, CsvText, TableReport, TableSpec};
use super::ColumnarError;
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Spool {
    writer: BufWriter<File>,
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
        })
    }

    /// Converts what was written (comma-separated CSV, starting with a header line when
    /// `header`) into `out` as `spec` says; stops with [`ColumnarError::Interrupted`]
    /// when `interrupt` is set.
    pub fn write_table<W: Write + Send>(
        self,
        spec: TableSpec<'_>,
        header: bool,
        out: W,
        what: &str,
        interrupt: Option<&AtomicBool>,
    ) -> Result<(W, TableReport), ColumnarError> {
        let mut tick = |_, _| match interrupt {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(ColumnarError::Interrupted),
            _ => Ok(()),
        };
        let file = self
            .writer
            .into_inner()
            .map_err(|e| ColumnarError::io("cannot write the temporary result", e.into_error()))?;
        let len = file
            .metadata()
            .map_err(|e| ColumnarError::io("cannot read the temporary result", e))?
            .len();
        if len == 0 {
            return write_table(CsvText::result(&[], header), spec, out, what, &mut tick);
        }
        // SAFETY: the file is unnamed and private to this process, and nothing writes to it
        // any more (the writer was consumed above): the mapping cannot change underneath.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| ColumnarError::io("cannot map the temporary result", e))?;
        let _ = map.advise(memmap2::Advice::Sequential);
        write_table(CsvText::result(&map, header), spec, out, what, &mut tick)
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}
