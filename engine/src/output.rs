//! Output files that appear complete or not at all.
//!
//! Output is written to an unnamed file (`O_TMPFILE`) in the destination's directory and
//! linked under its real name only when complete, so a crash, `kill -9` or Ctrl-C leaves
//! nothing behind, not even a temporary name. Where `O_TMPFILE` is not supported the file is
//! a named temporary that is removed on drop. Either way the final step is a `rename`, which
//! replaces an existing file atomically.

use crate::sys;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

enum Pending {
    Unnamed(File),
    Named(tempfile::NamedTempFile),
}

/// A file being written; becomes `dest` on [`AtomicOutput::commit`], vanishes otherwise.
pub struct AtomicOutput {
    dest: PathBuf,
    pending: Pending,
    writer: io::BufWriter<File>,
    /// Bytes handed to the writer, and how far writeback has been started (see `written`).
    passed: u64,
    flushing_from: u64,
}

/// Writeback of the output is started every this many bytes, so the `fsync` at commit finds
/// little left to write: a 400 MB output otherwise waits about 0.2 s there, after the scan.
const WRITEBACK_STEP: u64 = 32 << 20;

impl AtomicOutput {
    pub fn create(dest: &Path) -> io::Result<AtomicOutput> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let pending = match sys::open_unnamed(&dir) {
            Ok(file) => Pending::Unnamed(file),
            Err(_) => Pending::Named(
                tempfile::Builder::new()
                    .prefix(".fleet-tmp-")
                    .tempfile_in(&dir)?,
            ),
        };
        let file = match &pending {
            Pending::Unnamed(f) => f.try_clone()?,
            Pending::Named(t) => t.as_file().try_clone()?,
        };
        Ok(AtomicOutput {
            dest: dest.to_path_buf(),
            pending,
            writer: io::BufWriter::with_capacity(1 << 20, file),
            passed: 0,
            flushing_from: 0,
        })
    }

    /// Notes `n` more bytes written and, past each [`WRITEBACK_STEP`], asks the kernel to
    /// start writing back what the file holds so far (without waiting for it).
    fn written(&mut self, n: usize) {
        self.passed += n as u64;
        // The writer's buffer may still hold up to its capacity; those bytes wait for later.
        let in_file = self
            .passed
            .saturating_sub(self.writer.buffer().len() as u64);
        if in_file >= self.flushing_from + WRITEBACK_STEP {
            let (from, len) = (self.flushing_from, in_file - self.flushing_from);
            sys::start_writeback(self.writer.get_ref(), from, len);
            self.flushing_from = in_file;
        }
    }

    /// Flushes, syncs and gives the file its real name.
    pub fn commit(mut self) -> io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_all()?;
        match self.pending {
            Pending::Named(tmp) => tmp.persist(&self.dest).map(|_| ()).map_err(|e| e.error),
            Pending::Unnamed(file) => {
                let dir = self.dest.parent().filter(|p| !p.as_os_str().is_empty());
                let tmp_name = dir.unwrap_or(Path::new(".")).join(format!(
                    ".fleet-tmp-{}-{}",
                    std::process::id(),
                    file.as_raw_fd()
                ));
                sys::link_unnamed(&file, &tmp_name)?;
                std::fs::rename(&tmp_name, &self.dest).inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp_name);
                })
            }
        }
    }
}

impl Write for AtomicOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.written(n);
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)?;
        self.written(buf.len());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Returns the input that `dest` would overwrite, if any (same device and inode).
pub fn clobbers_input<'a>(
    dest: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Option<&'a Path> {
    let meta = std::fs::metadata(dest).ok()?;
    inputs.into_iter().find(|input| {
        std::fs::metadata(input).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    })
}
