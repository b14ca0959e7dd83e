//! Ctrl-C and SIGTERM end every command, even while its output is blocked: a scan or agg
//! writing to a pipe whose reader never reads, a copy blocked mid-way. Each ends with 130
//! (143 for SIGTERM), its workers gone, no output file and no temporaries.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for the child to exit, failing the test after `secs`.
fn exit_within(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running {secs} s after the signal"
        );
        std::thread::yield_now();
    }
}

/// Bytes waiting in the pipe `fd` (its reader is this test, which never reads).
fn pipe_filled(fd: i32) -> (usize, usize) {
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int; F_GETPIPE_SZ takes no argument; `fd` is our open pipe.
    let (rc, capacity) = unsafe {
        (
            libc::ioctl(fd, libc::FIONREAD, &mut waiting),
            libc::fcntl(fd, libc::F_GETPIPE_SZ),
        )
    };
    assert!(rc == 0 && capacity > 0);
    (waiting as usize, capacity as usize)
}

/// Runs `args` with stdout into a pipe nobody reads, waits until the pipe is full (the
/// command is then blocked writing), sends `sig`, and returns the exit status, the stderr
/// text and the workers that were alive before the signal.
fn blocked_then(args: &[&str], sig: &str) -> (ExitStatus, String, Vec<u32>) {
    let mut child = KillOnDrop(
        fleet()
            .args(args)
            .args(["--progress", "never", "--workers", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let fd = child.0.stdout.as_ref().unwrap().as_raw_fd();
    wait_until("the output pipe to fill up", 120, || {
        let (waiting, capacity) = pipe_filled(fd);
        waiting >= capacity
    });
    let workers: Vec<u32> = children_states(child.0.id())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    signal(&child.0, sig);
    let status = exit_within(&mut child.0, 30);
    let err = child.wait_output().stderr;
    (status, String::from_utf8_lossy(&err).into_owned(), workers)
}

fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"))
}

#[test]
fn ctrl_c_ends_a_scan_blocked_on_a_full_pipe() {
    let data = gps(2, 100_000);
    for engine in ["processes", "threads"] {
        let dir = data.path().to_str().unwrap();
        let (status, err, workers) = blocked_then(
            &["scan", "--where", "speed>=0", "--engine", engine, dir],
            "-INT",
        );
        assert_eq!(status.code(), Some(130), "{engine}: {err}");
        assert!(err.contains("interrupted"), "{engine}: {err}");
        wait_until("the workers to be gone", 30, || {
            workers.iter().all(|&w| gone(w))
        });
    }
}

#[test]
fn sigterm_ends_a_blocked_scan_with_143() {
    let data = gps(2, 100_000);
    let dir = data.path().to_str().unwrap();
    let (status, err, _) = blocked_then(&["scan", "--where", "speed>=0", dir], "-TERM");
    assert_eq!(status.code(), Some(143), "{err}");
}

#[test]
fn ctrl_c_ends_an_agg_blocked_writing_its_table() {
    // Grouping by the timestamp makes a table far larger than a pipe holds.
    let data = gps(1, 60_000);
    let dir = data.path().to_str().unwrap();
    let (status, err, _) = blocked_then(
        &["agg", "--group-by", "time,id", "--agg", "count", dir],
        "-INT",
    );
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
}

#[test]
fn ctrl_c_stops_a_copy_and_removes_its_temporaries() {
    let data = gps(4, 40_000);
    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("copy");
    // The copy blocks for good after 1 MB (the knob), mid-file.
    let mut child = KillOnDrop(
        fleet()
            .args(["copy", "--progress", "never", "--workers", "2"])
            .arg(data.path())
            .arg(&target)
            .env("FLEET_TEST_COPY_STALL_AFTER", "1000000")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_until("a temporary to appear", 60, || temporaries(&target) > 0);
    signal(&child.0, "-INT");
    let status = exit_within(&mut child.0, 30);
    let err = String::from_utf8_lossy(&child.wait_output().stderr).into_owned();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(temporaries(&target), 0, "temporaries left behind");
    // What was renamed before the interrupt is complete.
    for entry in std::fs::read_dir(&target).unwrap().flatten() {
        let name = entry.file_name();
        let src = data.path().join(&name);
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(src).unwrap()
        );
    }
}

/// Hidden temporaries of `fleet copy` below `dir`.
fn temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".fleet-copy-"))
        .count()
}
