//! The process side of the job runtime: forking a worker, reaping it and telling why it died,
//! and the notify pipe workers wake the coordinator with. Every raw process and pipe system
//! call of the job lives here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes one byte to the pipe (a full pipe already wakes the reader, so failure is fine).
pub(super) fn poke(write_end: &OwnedFd) {
    // SAFETY: writes one byte from a valid buffer to a descriptor the caller owns.
    unsafe {
        libc::write(write_end.as_raw_fd(), [1u8].as_ptr().cast(), 1);
    }
}

/// Sleeps until the pipe has bytes or `timeout` passes, then empties it.
pub(super) fn wait_readable(read_end: &OwnedFd, timeout: Duration) {
    let mut fds = [libc::pollfd {
        fd: read_end.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: fds is a valid array of one pollfd for the duration of the call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout.as_millis() as i32) };
    if ready > 0 {
        let mut drain = [0u8; 256];
        // SAFETY: reads into a local buffer of the given size from our own non-blocking fd.
        while unsafe { libc::read(read_end.as_raw_fd(), drain.as_mut_ptr().cast(), drain.len()) }
            > 0
        {}
    }
}

/// Forks a worker process that runs `work` and exits: 0 when it returned `Ok`, 2 when it
/// returned an error, 1 when it panicked.
///
/// The child inherits the whole address space, so it must not need a lock that another
/// thread of the parent held at the fork: `work` is the worker loop (which allocates, and
/// glibc's allocator is fork-safe). See `run_job`'s precondition.
pub(super) fn fork_worker(work: impl FnOnce() -> io::Result<()>) -> io::Result<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the coordinator starts no thread in the process engine (`run_job`'s
    // precondition covers the host program's own), so the child does not inherit locks held
    // by other threads; the child only runs the worker loop and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(pid);
    }
    // In the child from here on.
    // SAFETY: plain syscalls on our own process.
    unsafe {
        // Die with the coordinator, and check it did not die before this was set.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(3);
        }
        // The coordinator handles Ctrl-C itself; a worker just stops.
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(_)) => 2,
        Err(_) => 1,
    };
    // SAFETY: `_exit` skips destructors and stdio flushing, which belong to the parent.
    unsafe { libc::_exit(code) }
}

/// The wait status of `pid` if it has exited.
pub(super) fn try_wait(pid: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (rc == pid).then_some(status)
}

/// Kills a worker that may still run and reaps it.
pub(super) fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: pid is our own child, not yet reaped, so it cannot have been reused.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// `None` for a clean exit, else why the worker died.
pub(super) fn status_crash(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        return match libc::WEXITSTATUS(status) {
            0 => None,
            2 => Some("the worker hit an I/O error".to_string()),
            code => Some(format!("the worker exited with status {code}")),
        };
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        return Some(match sig {
            libc::SIGBUS => "the file changed while it was being read (SIGBUS)".to_string(),
            libc::SIGABRT => "the worker aborted (SIGABRT)".to_string(),
            libc::SIGKILL => "the worker was killed (SIGKILL)".to_string(),
            libc::SIGSEGV => "the worker crashed (SIGSEGV)".to_string(),
            _ => format!("the worker was killed by signal {sig}"),
        });
    }
    Some(format!("the worker stopped with wait status {status}"))
}
