//! Copying one regular file: into a hidden temporary in the destination folder, by reflink
//! when the filesystem can share blocks, else with `copy_file_range` (in-kernel, no user-space
//! buffer) at explicit offsets, else with pread/pwrite; in 8 MiB pieces so progress moves
//! inside a big file. Large files are split into ranges ([`BigFile`]) that several workers
//! copy at once; the worker finishing the last range gives the file its name.

use super::temp::{create_temp, temp_path, TempGuard};
use super::verify;
use super::watch::Lane;
use super::{lock, meta, open_source, Copier, Done, EntryError, Task};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes per `copy_file_range` call (and per progress update).
const PIECE: u64 = 8 << 20;
/// Buffer for the pread/pwrite fallback.
const BUFFER: u64 = 1 << 20;
/// `FICLONE` from linux/fs.h: `_IOW(0x94, 9, int)`.
const FICLONE: u64 = 0x4004_9409;

/// What a file copy needs before any byte moves: the open source, its metadata, and where
/// it goes. `None` when the destination is to be left alone.
struct Prepared {
    src: File,
    meta: Metadata,
    dst: PathBuf,
    tmp: File,
    guard: TempGuard,
    tmp_path: PathBuf,
}

/// `lane` is the calling thread's, stepped while an existing copy is hashed (`--resume --verify`).
fn prepare(copier: &Copier, rel: &Path, lane: &Lane) -> Result<Result<Prepared, Done>, EntryError> {
    let src_path = copier.src_root.join(rel);
    let dst = copier.dst_root.join(rel);
    let src = open_source(&src_path)?;
    let meta = src
        .metadata()
        .map_err(|e| EntryError::read(src_path.clone(), e))?;
    if !meta.is_file() {
        return Err(EntryError::Special {
            path: src_path,
            kind: "changed file type",
        });
    }
    match existing(copier, &meta, &src_path, &dst, lane)? {
        Existing::Skip => return Ok(Err(Done::Skipped)),
        Existing::Unchanged => return Ok(Err(Done::Unchanged)),
        Existing::Absent | Existing::Replace => {}
    }
    let dir = dst.parent().unwrap_or(&copier.dst_root);
    let tmp_path = temp_path(copier, dir);
    let tmp = create_temp(&tmp_path).map_err(|e| EntryError::write(dst.clone(), e))?;
    Ok(Ok(Prepared {
        src,
        meta,
        dst,
        tmp,
        guard: TempGuard::new(tmp_path.clone()),
        tmp_path,
    }))
}

/// Gives a complete temporary the source's metadata and its real name.
fn finish(copier: &Copier, mut p: Prepared) -> Result<Done, EntryError> {
    // Once the copy is stopped (Ctrl-C, or a stall it gave up on) nothing new gets a real
    // name: the guard removes the temporary, and `--resume` copies the file later.
    if copier.stopped() {
        return Err(EntryError::Interrupted {
            path: p.dst.clone(),
        });
    }
    meta::apply_to_file(&p.tmp, &p.meta, copier.as_root)
        .map_err(|e| EntryError::write(p.dst.clone(), e))?;
    fs::rename(&p.tmp_path, &p.dst).map_err(|e| EntryError::write(p.dst.clone(), e))?;
    p.guard.disarm();
    Ok(Done::Copied)
}

/// Tries to share the source's blocks (btrfs, XFS, bcachefs): instant and takes no space.
fn reflink(copier: &Copier, src: &File, dst: &File) -> bool {
    if copier.no_reflink.load(Ordering::Relaxed) {
        return false;
    }
    // SAFETY: FICLONE reads an fd argument; both fds stay open for the call.
    let rc = unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) };
    if rc != 0 {
        copier.no_reflink.store(true, Ordering::Relaxed);
    }
    rc == 0
}

/// Copies one file smaller than the split threshold, stepping `lane` as it goes.
pub(crate) fn copy_file(copier: &Copier, rel: &Path, lane: &Lane) -> Result<Done, EntryError> {
    let p = match prepare(copier, rel, lane)? {
        Ok(p) => p,
        Err(done) => return Ok(done),
    };
    let len = p.meta.len();
    if len > 0 {
        if reflink(copier, &p.src, &p.tmp) {
            copier.add_bytes(lane, len);
        } else {
            copy_range(copier, lane, &p.src, &p.tmp, 0, len)
                .map_err(|e| range_error(copier, rel, &p.dst, e))?;
        }
    }
    finish(copier, p)
}

/// A large file being copied by several workers, one range each.
pub(crate) struct BigFile {
    pub(crate) rel: PathBuf,
    prepared: Mutex<Option<Prepared>>,
    src: File,
    tmp: File,
    dst: PathBuf,
    remaining: AtomicUsize,
    failed: Mutex<Option<EntryError>>,
}

/// Large files prepared by the walk whose ranges are not queued yet. Ranges are queued
/// round-robin across these files (the first range of each, then the second of each, ...) so
/// that workers copy different files at once when there are several: on ext4 and XFS writes
/// to one file serialize on its inode lock, and workers piling onto one file measured 4x
/// slower than one worker per file. A lone large file still gets all the workers.
#[derive(Default)]
pub(crate) struct BigWindow {
    files: Vec<(Arc<BigFile>, u64)>,
}

impl BigWindow {
    /// Prepares the large file `rel` and queues its ranges once enough files are waiting.
    pub(crate) fn add(
        &mut self,
        copier: &Copier,
        rel: &Path,
        send: &dyn Fn(Task) -> bool,
    ) -> Result<(), EntryError> {
        // Every prepared large file holds four descriptors until done: bounded, or a tree of
        // thousands of them would run out. Queued ranges before waiting, or nothing finishes.
        if !copier.try_acquire_big() {
            self.flush(copier, send);
            copier.acquire_big();
        }
        match prepare_big(copier, rel) {
            Ok(Some(big)) => {
                self.files.push(big);
                if self.files.len() >= copier.opts.workers.max(1) {
                    self.flush(copier, send);
                }
                Ok(())
            }
            Ok(None) => {
                copier.release_big();
                Ok(())
            }
            Err(e) => {
                copier.release_big();
                Err(e)
            }
        }
    }

    /// Queues the ranges of every waiting file, round-robin.
    pub(crate) fn flush(&mut self, copier: &Copier, send: &dyn Fn(Task) -> bool) {
        let range = copier.opts.range_size.max(1);
        let files = std::mem::take(&mut self.files);
        let rounds = files
            .iter()
            .map(|(_, len)| len.div_ceil(range))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            for (big, len) in &files {
                let offset = round * range;
                if offset >= *len {
                    continue;
                }
                let task = Task::Range {
                    big: big.clone(),
                    offset,
                    len: range.min(len - offset),
                };
                if !send(task) {
                    return;
                }
            }
        }
    }
}

/// Opens, decides and pre-sizes a large file; `None` when it needs no ranges (skipped,
/// unchanged or reflinked: already recorded). Runs on the walk's thread.
fn prepare_big(copier: &Copier, rel: &Path) -> Result<Option<(Arc<BigFile>, u64)>, EntryError> {
    let lane = &copier.walk_lane;
    let p = match prepare(copier, rel, lane)? {
        Ok(p) => p,
        Err(done) => {
            copier.record(rel, Ok(done));
            return Ok(None);
        }
    };
    let len = p.meta.len();
    if reflink(copier, &p.src, &p.tmp) {
        copier.add_bytes(lane, len);
        let done = finish(copier, p);
        copier.record(rel, done);
        return Ok(None);
    }
    // Pre-sized so ranges can land in any order without extending the file under each other.
    p.tmp
        .set_len(len)
        .map_err(|e| EntryError::write(p.dst.clone(), e))?;
    let ranges = len.div_ceil(copier.opts.range_size.max(1));
    let src = p
        .src
        .try_clone()
        .map_err(|e| EntryError::read(copier.src_root.join(rel), e))?;
    let tmp = p
        .tmp
        .try_clone()
        .map_err(|e| EntryError::write(p.dst.clone(), e))?;
    let big = Arc::new(BigFile {
        rel: rel.to_path_buf(),
        dst: p.dst.clone(),
        prepared: Mutex::new(Some(p)),
        src,
        tmp,
        remaining: AtomicUsize::new(ranges as usize),
        failed: Mutex::new(None),
    });
    Ok(Some((big, len)))
}

/// Copies one range of a large file; the last range to finish names (or removes) the file.
pub(crate) fn copy_big_range(copier: &Copier, big: &BigFile, offset: u64, len: u64, lane: &Lane) {
    if lock(&big.failed).is_none() {
        if let Err(e) = copy_range(copier, lane, &big.src, &big.tmp, offset, len) {
            let mut failed = lock(&big.failed);
            if failed.is_none() {
                *failed = Some(range_error(copier, &big.rel, &big.dst, e));
            }
        }
    }
    if big.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        let prepared = lock(&big.prepared).take();
        let result = match (lock(&big.failed).take(), prepared) {
            (Some(e), _) => Err(e),
            (None, Some(p)) => finish(copier, p),
            (None, None) => return,
        };
        // A failure drops the Prepared above, whose guard removes the temporary.
        copier.record(&big.rel, result);
        copier.release_big();
    }
}

/// Which side an error came from: reads name the source, writes the destination.
fn range_error(copier: &Copier, rel: &Path, dst: &Path, e: RangeError) -> EntryError {
    match e {
        RangeError::Read(e) => EntryError::read(copier.src_root.join(rel), e),
        RangeError::Write(e) => EntryError::write(dst.to_path_buf(), e),
        RangeError::Shrunk => EntryError::Shrunk {
            path: copier.src_root.join(rel),
        },
        RangeError::Stopped => EntryError::Interrupted {
            path: copier.src_root.join(rel),
        },
    }
}

pub(crate) enum RangeError {
    Read(io::Error),
    Write(io::Error),
    Shrunk,
    /// The copy was interrupted (Ctrl-C) mid-way.
    Stopped,
}

/// Copies `len` bytes at `offset` of `src` to the same offset of `dst`, stepping `lane` at
/// every piece.
fn copy_range(
    copier: &Copier,
    lane: &Lane,
    src: &File,
    dst: &File,
    offset: u64,
    len: u64,
) -> Result<(), RangeError> {
    let end = offset + len;
    let mut pos = offset;
    while pos < end {
        if copier.stopped() {
            return Err(RangeError::Stopped);
        }
        let want = (end - pos).min(PIECE) as usize;
        let mut off_in = pos as libc::loff_t;
        let mut off_out = pos as libc::loff_t;
        // SAFETY: both fds are open for the call; the offsets point to live locals, so the
        // files' own positions are untouched and ranges can be copied concurrently.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut off_in,
                dst.as_raw_fd(),
                &mut off_out,
                want,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EXDEV | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) => {
                    return copy_range_rw(copier, lane, src, dst, pos, end - pos);
                }
                Some(libc::EINTR) => continue,
                // copy_file_range does not say which side failed; these are the writer's.
                Some(libc::ENOSPC | libc::EDQUOT | libc::EROFS | libc::EFBIG | libc::EPERM) => {
                    return Err(RangeError::Write(err))
                }
                _ => return Err(RangeError::Read(err)),
            }
        }
        if n == 0 {
            return Err(RangeError::Shrunk);
        }
        pos += n as u64;
        copier.add_bytes(lane, n as u64);
    }
    Ok(())
}

/// The fallback: read into a buffer, write it out.
fn copy_range_rw(
    copier: &Copier,
    lane: &Lane,
    src: &File,
    dst: &File,
    offset: u64,
    len: u64,
) -> Result<(), RangeError> {
    let mut buf = vec![0u8; len.min(BUFFER) as usize];
    let end = offset + len;
    let mut pos = offset;
    while pos < end {
        if copier.stopped() {
            return Err(RangeError::Stopped);
        }
        let want = ((end - pos) as usize).min(buf.len());
        let n = match src.read_at(&mut buf[..want], pos) {
            Ok(0) => return Err(RangeError::Shrunk),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RangeError::Read(e)),
        };
        dst.write_all_at(&buf[..n], pos)
            .map_err(RangeError::Write)?;
        pos += n as u64;
        copier.add_bytes(lane, n as u64);
    }
    Ok(())
}

/// What to do about a destination entry that may already exist.
pub(crate) enum Existing {
    Absent,
    /// Exists; left alone without `--overwrite`.
    Skip,
    /// Exists and matches (`--resume`).
    Unchanged,
    Replace,
}

/// Decides for a regular file whose source metadata is `meta`; hashing both sides (`--resume
/// --verify`) steps `lane`.
pub(crate) fn existing(
    copier: &Copier,
    meta: &Metadata,
    src: &Path,
    dst: &Path,
    lane: &Lane,
) -> Result<Existing, EntryError> {
    let have = match fs::symlink_metadata(dst) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(EntryError::write(dst.to_path_buf(), e)),
    };
    let opts = &copier.opts;
    if opts.resume
        && have.is_file()
        && have.len() == meta.len()
        && have.mtime() == meta.mtime()
        && have.mtime_nsec() == meta.mtime_nsec()
    {
        if !opts.verify {
            return Ok(Existing::Unchanged);
        }
        let step = |_| lane.step();
        let a =
            verify::hash_file(src, &step).map_err(|e| EntryError::read(src.to_path_buf(), e))?;
        let b = verify::hash_file(dst, &step).map_err(|e| EntryError::Verify {
            path: dst.to_path_buf(),
            source: e,
        })?;
        if a == b {
            return Ok(Existing::Unchanged);
        }
    }
    Ok(if opts.overwrite || opts.resume {
        Existing::Replace
    } else {
        Existing::Skip
    })
}
