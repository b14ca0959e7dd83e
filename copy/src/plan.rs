//! What to copy: checking SRC and DST (refusing a copy into itself), the walk of SRC (which
//! creates directories in DST as it goes, removes stale temporaries of dead runs from the
//! folders it visits and queues files for the workers), and what to do with an entry that
//! already exists in DST.

use super::file::{existing, BigWindow, Existing};
use super::temp::temp_owner;
use super::{Copier, CopyError, EntryError, Task};
use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::Ordering;
use walkdir::WalkDir;

/// Canonical SRC and DST; DST is created unless this is a dry run.
pub(crate) fn roots(
    src: &Path,
    dst: &Path,
    dry_run: bool,
) -> Result<(PathBuf, PathBuf), CopyError> {
    let src_root = fs::canonicalize(src).map_err(|e| CopyError::Source {
        path: src.to_path_buf(),
        source: e,
    })?;
    if !src_root.is_dir() {
        return Err(CopyError::SourceNotDir {
            path: src.to_path_buf(),
        });
    }
    let dst_abs = resolve_missing(dst).map_err(|e| CopyError::Destination {
        path: dst.to_path_buf(),
        source: e,
    })?;
    if dst_abs == src_root {
        return Err(CopyError::Same { path: src_root });
    }
    if dst_abs.starts_with(&src_root) {
        return Err(CopyError::Inside {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
        });
    }
    if !dry_run {
        fs::create_dir_all(&dst_abs).map_err(|e| CopyError::Destination {
            path: dst.to_path_buf(),
            source: e,
        })?;
    }
    Ok((src_root, dst_abs))
}

/// Canonicalizes the longest existing ancestor of `path` and appends the rest, so a DST that
/// does not exist yet can still be compared with SRC.
fn resolve_missing(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let mut rest = Vec::new();
    let mut base = abs.as_path();
    loop {
        match fs::canonicalize(base) {
            Ok(mut found) => {
                for part in rest.iter().rev() {
                    found.push(part);
                }
                return Ok(found);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let (Some(parent), Some(name)) = (base.parent(), base.file_name()) else {
            return Ok(abs.clone());
        };
        rest.push(name.to_os_string());
        base = parent;
        if abs.components().any(|c| c == Component::ParentDir) {
            // `a/missing/../b`: too clever to resolve without the missing part; compare as is.
            return Ok(abs.clone());
        }
    }
}

/// What the walk leaves for after the workers: directories (parents before children) whose
/// modes and times are set once their contents are in place, and hard links to make.
#[derive(Default)]
pub(crate) struct Walked {
    pub(crate) dirs: Vec<(PathBuf, Metadata)>,
    /// (relative path, relative path of the first name of the same inode).
    pub(crate) links: Vec<(PathBuf, PathBuf)>,
}

/// Walks SRC. With `dry` it only lists what would be copied.
pub(crate) fn walk(
    copier: &Copier,
    send: &dyn Fn(Task) -> bool,
    mut dry: Option<&mut Vec<PathBuf>>,
) -> Walked {
    let opts = &copier.opts;
    let mut walked = Walked::default();
    let mut inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut window = BigWindow::default();
    let mut it = WalkDir::new(&copier.src_root)
        .follow_links(opts.dereference)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err.path().unwrap_or(&copier.src_root).to_path_buf();
                copier.fail(EntryError::read(path, io::Error::from(err)));
                continue;
            }
        };
        let rel = entry
            .path()
            .strip_prefix(&copier.src_root)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let dst = copier.dst_root.join(&rel);
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(err) => {
                copier.fail(EntryError::read(
                    entry.path().to_path_buf(),
                    io::Error::from(err),
                ));
                continue;
            }
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            if let Some(list) = dry.as_deref_mut() {
                if entry.depth() > 0 && fs::symlink_metadata(&dst).is_err() {
                    list.push(rel);
                }
                continue;
            }
            if entry.depth() > 0 {
                if let Err(e) = make_dir(&dst) {
                    copier.fail(EntryError::write(dst, e));
                    it.skip_current_dir();
                    continue;
                }
            }
            remove_stale_temps(&dst);
            walked.dirs.push((rel, meta));
        } else if kind.is_symlink() {
            if let Some(list) = dry.as_deref_mut() {
                if opts.overwrite || opts.resume || fs::symlink_metadata(&dst).is_err() {
                    list.push(rel);
                }
            } else if !send(Task::Symlink(rel)) {
                break;
            }
        } else if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = inodes.get(&key) {
                    match dry.as_deref_mut() {
                        Some(list) => list.push(rel),
                        None => walked.links.push((rel, first.clone())),
                    }
                    continue;
                }
                inodes.insert(key, rel.clone());
            }
            if let Some(list) = dry.as_deref_mut() {
                match existing(copier, &meta, entry.path(), &dst, &copier.walk_lane) {
                    Ok(Existing::Absent | Existing::Replace) => list.push(rel),
                    Ok(_) => {}
                    Err(e) => copier.fail(e),
                }
                continue;
            }
            copier.files_total.fetch_add(1, Ordering::Relaxed);
            copier.bytes_total.fetch_add(meta.len(), Ordering::Relaxed);
            if meta.len() >= opts.split_threshold {
                if let Err(e) = window.add(copier, &rel, send) {
                    copier.fail(e);
                }
            } else if !send(Task::File(rel)) {
                break;
            }
        } else {
            copier.fail(EntryError::Special {
                path: entry.path().to_path_buf(),
                kind: special_kind(&meta),
            });
        }
    }
    window.flush(copier, send);
    walked
}

/// Creates a directory, accepting one that exists (a resumed copy) but not a file or a
/// symlink in its place: writing through a symlink could land outside DST.
fn make_dir(dst: &Path) -> io::Result<()> {
    match fs::create_dir(dst) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::symlink_metadata(dst)?.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a directory",
                ))
            }
        }
        Err(e) => Err(e),
    }
}

/// Removes temporaries left in `dir` by runs that are no longer alive (a live run's, such as
/// a concurrent copy into the same tree, are left alone).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = temp_owner(&entry.file_name()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn special_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}
