//! The few raw system calls the engine makes outside its own runtime (the job's process
//! calls are in `job/process.rs`, the region's memfd and robust mutex in `shm/`): page-cache
//! residency, hole punching, writeback, unnamed files. Each wrapper is safe to call and
//! states why failure is harmless or how it is reported.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Asks the kernel to back the 2 MiB-aligned part of `buf`'s allocation (`capacity`
/// elements from `buf`'s start, touched or not) with transparent huge pages, where the
/// system leaves that to the program (`madvise` mode, a common default). For tables probed at
/// random, such as a group index of hundreds of thousands of slots: with 4 KiB pages nearly
/// every probe also misses the TLB, which a 2 MiB page covers 512 times over. Best done
/// before the memory is first written (pages already faulted in are merged later, if at
/// all). Failure only means small pages, so it is ignored.
pub fn advise_huge<T>(buf: &mut Vec<T>) {
    const HUGE: usize = 2 << 20;
    let bytes = buf.capacity() * std::mem::size_of::<T>();
    if bytes < 2 * HUGE {
        return;
    }
    let start = buf.as_mut_ptr() as usize;
    let from = start.next_multiple_of(HUGE);
    let to = (start + bytes) / HUGE * HUGE;
    if to > from {
        // SAFETY: the range lies inside `buf`'s own allocation and is aligned to 2 MiB;
        // MADV_HUGEPAGE changes how pages are backed, never their contents.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}

/// Whether the page holding `map[at]` is in the page cache. A chunk whose first page is
/// cached is taken to be warm and not read ahead (`WILLNEED`): on warm data that hint costs a
/// page-cache lookup per 4 KiB page, a tenth of a selective scan's time, for nothing. Pages
/// evicted further on are still read ahead as they fault, by the map's `Sequential` advice.
pub fn page_cached(map: &[u8], at: usize) -> bool {
    if at >= map.len() {
        return false;
    }
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let addr = (map.as_ptr() as usize + at) & !(page - 1);
    let mut resident = 0u8;
    // SAFETY: `addr` is page-aligned and inside the mapping (which starts on a page boundary
    // and holds `at`); mincore reads no memory, it only writes one byte per page to `resident`.
    let r = unsafe { libc::mincore(addr as *mut libc::c_void, 1, &mut resident) };
    r == 0 && resident & 1 == 1
}

/// Frees the disk space of `len` bytes at `offset` of `file` (output already copied out of a
/// spill file), so spill files never hold the whole result. Ranges under 1 MiB are kept.
pub fn punch_hole(file: &File, offset: u64, len: u64) {
    if len >= 1 << 20 {
        // SAFETY: fallocate on a descriptor the caller owns; failure only means the space is
        // kept.
        unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as libc::off_t,
                len as libc::off_t,
            );
        }
    }
}

/// Asks the kernel to start writing back `len` bytes at `from` of `file`, without waiting.
pub fn start_writeback(file: &File, from: u64, len: u64) {
    // SAFETY: sync_file_range on a descriptor the caller owns only starts writeback of a
    // range of it; failure (e.g. an unsupported filesystem) just leaves it to the fsync.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            from as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Opens an unnamed file (`O_TMPFILE`) for writing in `dir`: it has no name until
/// [`link_unnamed`] gives it one, so a crash leaves nothing behind.
pub fn open_unnamed(dir: &Path) -> io::Result<File> {
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
pub fn link_unnamed(file: &File, name: &Path) -> io::Result<()> {
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
