//! Output files that appear complete or not at all.
//!
//! Output is written to an unnamed file (`O_TMPFILE`) in the destination's directory and
//! linked under its real name only when complete, so a crash, `kill -9` or Ctrl-C leaves
//! nothing behind, not even a temporary name. Where `O_TMPFILE` is not supported the file is
//! a named temporary that is removed on drop. Either way the final step is a `rename`, which
//! replaces an existing file atomically.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
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
        let pending = match open_unnamed(&dir) {
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
            let fd = self.writer.get_ref().as_raw_fd();
            let (from, len) = (self.flushing_from, in_file - self.flushing_from);
            // SAFETY: sync_file_range on our own descriptor only starts writeback of a range
            // of it; failure (e.g. an unsupported filesystem) just leaves it to the fsync.
            unsafe {
                libc::sync_file_range(
                    fd,
                    from as libc::off64_t,
                    len as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
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
                link_fd(&file, &tmp_name)?;
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

fn open_unnamed(dir: &Path) -> io::Result<File> {
    let c = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: open with a valid NUL-terminated path; the result is checked and then owned.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is fresh and owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Gives an `O_TMPFILE` file a name (through /proc, which needs no privilege).
fn link_fd(file: &File, name: &Path) -> io::Result<()> {
    let proc_path =
        CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(io::Error::other)?;
    let target = CString::new(name.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both paths are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
