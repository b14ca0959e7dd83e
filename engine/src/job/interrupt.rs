//! Ctrl-C (SIGINT) and SIGTERM as a flag the coordinator polls, so it can stop its workers,
//! drop its unfinished output and exit 130 (143 for SIGTERM) instead of dying with
//! half-written state.
//!
//! The handler is installed without `SA_RESTART`, so a system call blocked when the signal
//! comes (a write to a full pipe whose reader never reads) returns `EINTR` and its caller can
//! look at the flag; and with `SA_RESETHAND`, so a second Ctrl-C ends the process at once, as
//! users expect when the first one seems to do nothing.
//!
//! A command line whose output is abandoned after Ctrl-C anyway also calls
//! [`release_stdout_on_signal`]: the handler then points standard output at `/dev/null`. A
//! write blocked on a pipe whose reader never reads returns when the signal comes (with
//! `EINTR`, or with what it wrote so far), and any write after it, even one that starts just
//! after the signal, cannot block again: the process gets back to its loop, sees the flag and
//! stops, without a window where the signal came but the next write blocks for good.

use std::fs::File;
use std::io;
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// A descriptor open on `/dev/null` to put over standard output at the signal, or -1.
static STDOUT_SINK: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
    let sink = STDOUT_SINK.load(Ordering::SeqCst);
    if sink >= 0 {
        // SAFETY: dup2 is async-signal-safe; `sink` is a descriptor this module opened and
        // never closes, and descriptor 1 is standard output.
        unsafe {
            libc::dup2(sink, libc::STDOUT_FILENO);
        }
    }
}

/// Makes the handler also point standard output at `/dev/null` (see the module docs). For a
/// program whose standard output is abandoned after Ctrl-C.
pub fn release_stdout_on_signal() -> io::Result<()> {
    if STDOUT_SINK.load(Ordering::SeqCst) < 0 {
        let null = File::options().write(true).open("/dev/null")?;
        STDOUT_SINK.store(null.into_raw_fd(), Ordering::SeqCst);
    }
    Ok(())
}

/// Installs the handler for SIGINT and SIGTERM (again, if called again) and returns the flag
/// it sets.
pub fn install() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to atomics, which is async-signal-safe; the
        // sigaction struct is zero-initialised and fully set before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    &INTERRUPTED
}

/// True once SIGINT or SIGTERM arrived (after [`install`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The exit code for a command the signal stopped: 128 + its number (130 for SIGINT, 143
/// for SIGTERM), as a shell reports a process the signal killed. `None` before any signal.
pub fn exit_code() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => u8::try_from(128 + sig).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first SIGINT only sets the flag; the second ends the process as if no handler
    /// were installed. Run in a forked child, whose signal state is its own.
    #[test]
    fn a_second_ctrl_c_ends_the_process_at_once() {
        // SAFETY: the child calls only async-signal-safe functions (sigaction, raise, an
        // atomic load, _exit) before it exits; the parent waits for it.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                install();
                libc::raise(libc::SIGINT);
                if !interrupted() || exit_code() != Some(130) {
                    libc::_exit(3);
                }
                libc::raise(libc::SIGINT);
                libc::_exit(4); // Still alive after the second SIGINT: wrong.
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGINT,
                "wait status {status}: the second SIGINT did not end the child"
            );
        }
    }
}
