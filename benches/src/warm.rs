//! Puts a benchmark's input files in the page cache, so that every timed run reads memory,
//! not disk, as the targets assume ("page-cached data").
//!
//! Each file is first dropped from the page cache (`POSIX_FADV_DONTNEED`), then read once from
//! start to end (which is what `cat FILE > /dev/null` does), so every benchmark starts from the
//! same state whatever earlier runs or memory pressure left: on Linux 6.x a file read in one
//! sequential pass is cached in large folios (up to 2 MiB), which a mapping maps with one entry
//! each, while pages evicted and read back piecemeal come back as 4 KiB pages, and then every
//! mmap-based reader pays several times the page faults.
//! Then, if the process may, its pages are pinned with `mlock` on a read-only mapping held
//! until the benchmark ends, as `vmtouch -l` does: that keeps the copy workload's writes (or
//! anything else) from evicting the inputs between runs. Locking is cheap once the pages are
//! cached (it only maps them), but needs `CAP_IPC_LOCK` or a `RLIMIT_MEMLOCK` as large as the
//! data; when it is refused the files are merely cached, and [`Warmed::locked`] says why.

use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Warmed {
    pub bytes: u64,
    /// `Ok` when every file is pinned in memory, else why not.
    pub locked: Result<(), String>,
    /// The pinned mappings: the pages stay locked while this lives.
    _maps: Vec<Mmap>,
}

/// Reads every file once, then tries to lock them all in memory (all or none).
pub fn warm(files: &[PathBuf]) -> io::Result<Warmed> {
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    for path in files {
        let mut f = File::open(path).map_err(|e| at(path, e))?;
        drop_cached(&f);
        loop {
            let n = f.read(&mut buf).map_err(|e| at(path, e))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    let mut maps = Vec::with_capacity(files.len());
    let locked = lock_all(files, &mut maps);
    if locked.is_err() {
        maps.clear();
    }
    Ok(Warmed {
        bytes,
        locked,
        _maps: maps,
    })
}

/// Asks the kernel to drop the file's clean cached pages (a hint: failure changes nothing).
fn drop_cached(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only changes the page cache.
        let _ = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

fn lock_all(files: &[PathBuf], maps: &mut Vec<Mmap>) -> Result<(), String> {
    for path in files {
        let file = File::open(path).map_err(|e| at(path, e).to_string())?;
        if file.metadata().map_err(|e| e.to_string())?.len() == 0 {
            continue;
        }
        // SAFETY: the mapping is only locked, never read through, so a concurrent change to
        // the file cannot make this process observe torn or shrinking memory.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| at(path, e).to_string())?;
        map.lock()
            .map_err(|e| format!("mlock refused ({e}); the files are cached but not pinned"))?;
        maps.push(map);
    }
    Ok(())
}

fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, vec![b'x'; 3 << 20]).unwrap();
        std::fs::write(&b, "").unwrap();
        let w = warm(&[a, b]).unwrap();
        assert_eq!(w.bytes, 3 << 20);
        assert!(warm(&[dir.path().join("missing.csv")]).is_err());
    }
}
