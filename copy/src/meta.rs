//! Metadata and the entries that are mostly metadata: permission bits, access and
//! modification times and (as root only) owner and group of files and directories; symlinks
//! (made under a temporary name, given their times, then renamed); hard links (made to the
//! complete first copy of an inode once all files are copied). Extended attributes and ACLs
//! are not copied.

use super::temp::{temp_path, TempGuard};
use super::{Copier, Done, EntryError};
use std::ffi::CString;
use std::fs::{self, File, FileTimes, Metadata, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn times(meta: &Metadata) -> io::Result<FileTimes> {
    Ok(FileTimes::new()
        .set_accessed(meta.accessed()?)
        .set_modified(meta.modified()?))
}

/// Owner first: chown clears setuid/setgid bits, so the mode must come after it.
pub(crate) fn apply_to_file(file: &File, meta: &Metadata, as_root: bool) -> io::Result<()> {
    if as_root {
        std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()))?;
    }
    file.set_permissions(Permissions::from_mode(meta.mode() & 0o7777))?;
    file.set_times(times(meta)?)
}

pub(crate) fn apply_to_dir(dir: &Path, meta: &Metadata, as_root: bool) -> io::Result<()> {
    // Opened before the mode is set: a 0o000 directory could not be opened afterwards.
    let handle = File::open(dir)?;
    apply_to_file(&handle, meta, as_root)
}

/// Sets a symlink's own times (std has no lutimes).
fn set_link_times(path: &Path, meta: &Metadata) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let ts = [
        libc::timespec {
            tv_sec: meta.atime() as libc::time_t,
            tv_nsec: meta.atime_nsec() as _,
        },
        libc::timespec {
            tv_sec: meta.mtime() as libc::time_t,
            tv_nsec: meta.mtime_nsec() as _,
        },
    ];
    // SAFETY: a valid NUL-terminated path and a two-element timespec array, both alive for
    // the call.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Copies a symlink as a symlink with the same target text (never followed).
pub(crate) fn copy_symlink(copier: &Copier, rel: &Path) -> Result<Done, EntryError> {
    let src = copier.src_root.join(rel);
    let dst = copier.dst_root.join(rel);
    let meta = fs::symlink_metadata(&src).map_err(|e| EntryError::read(src.clone(), e))?;
    let target = fs::read_link(&src).map_err(|e| EntryError::read(src.clone(), e))?;
    if let Ok(have) = fs::symlink_metadata(&dst) {
        if copier.opts.resume
            && have.file_type().is_symlink()
            && fs::read_link(&dst).is_ok_and(|t| t == target)
        {
            return Ok(Done::Unchanged);
        }
        if !copier.opts.overwrite && !copier.opts.resume {
            return Ok(Done::Skipped);
        }
    }
    let dir = dst.parent().unwrap_or(&copier.dst_root);
    let tmp = temp_path(copier, dir);
    std::os::unix::fs::symlink(&target, &tmp).map_err(|e| EntryError::write(dst.clone(), e))?;
    let mut guard = TempGuard::new(tmp.clone());
    if copier.as_root {
        std::os::unix::fs::lchown(&tmp, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| EntryError::write(dst.clone(), e))?;
    }
    set_link_times(&tmp, &meta).map_err(|e| EntryError::write(dst.clone(), e))?;
    fs::rename(&tmp, &dst).map_err(|e| EntryError::write(dst.clone(), e))?;
    guard.disarm();
    Ok(Done::Symlink)
}

/// Makes `rel` in DST a hard link to the copy of `first` (same inode in SRC).
pub(crate) fn hard_link(copier: &Copier, rel: &Path, first: &Path) -> Result<Done, EntryError> {
    let dst = copier.dst_root.join(rel);
    let target = copier.dst_root.join(first);
    let target_meta = fs::symlink_metadata(&target).map_err(|e| EntryError::Link {
        path: dst.clone(),
        target: target.clone(),
        source: e,
    })?;
    match fs::symlink_metadata(&dst) {
        Ok(have) if have.dev() == target_meta.dev() && have.ino() == target_meta.ino() => {
            return Ok(Done::Unchanged)
        }
        Ok(_) if !copier.opts.overwrite && !copier.opts.resume => return Ok(Done::Skipped),
        _ => {}
    }
    let dir = dst.parent().unwrap_or(&copier.dst_root);
    let tmp = temp_path(copier, dir);
    let link_error = |e| EntryError::Link {
        path: dst.clone(),
        target: target.clone(),
        source: e,
    };
    fs::hard_link(&target, &tmp).map_err(link_error)?;
    let mut guard = TempGuard::new(tmp.clone());
    fs::rename(&tmp, &dst).map_err(link_error)?;
    guard.disarm();
    Ok(Done::Copied)
}
