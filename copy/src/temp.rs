//! The hidden temporary names a copy is written under until complete: made, recognised
//! (with the pid of the run that made them, so a later run removes only a dead run's
//! leftovers), created private, and removed unless the copy got its real name.

use super::Copier;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

const TEMP_PREFIX: &str = ".fleet-copy-";
const TEMP_SUFFIX: &str = ".tmp";
/// A fresh temporary name in `dir`: hidden, unique within this process, and carrying the pid
/// so a later run can tell a dead run's leftovers from a live one's.
pub(crate) fn temp_path(copier: &Copier, dir: &Path) -> PathBuf {
    let n = copier.temp_seq.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        "{TEMP_PREFIX}{}-{n}{TEMP_SUFFIX}",
        std::process::id()
    ))
}

/// The pid in a temporary name made by [`temp_path`], if `name` is one.
pub(crate) fn temp_owner(name: &OsStr) -> Option<u32> {
    let text = std::str::from_utf8(name.as_bytes()).ok()?;
    let middle = text.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (pid, n) = middle.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Removes the temporary on drop unless the copy got its real name.
pub(crate) struct TempGuard(Option<PathBuf>);

impl TempGuard {
    pub(crate) fn new(path: PathBuf) -> TempGuard {
        TempGuard(Some(path))
    }

    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

pub(crate) fn create_temp(path: &Path) -> io::Result<File> {
    // 0600 until complete: nobody else reads a half-written copy.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_carry_their_pid() {
        assert_eq!(temp_owner(OsStr::new(".fleet-copy-123-7.tmp")), Some(123));
        assert_eq!(temp_owner(OsStr::new(".fleet-copy-123.tmp")), None);
        assert_eq!(temp_owner(OsStr::new(".fleet-copy-x-7.tmp")), None);
        assert_eq!(temp_owner(OsStr::new("fleet-copy-1-7.tmp")), None);
        assert_eq!(temp_owner(OsStr::new("数据 文件.csv")), None);
    }
}
