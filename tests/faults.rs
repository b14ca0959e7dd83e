//! Faults from outside, end to end: a worker process killed with a real SIGKILL at a random
//! chunk, an input file truncated while it is being scanned, Ctrl-C to `fleet agg -o`, and a
//! full disk (RLIMIT_FSIZE) under `scan -o` and `agg -o`. The `pause:N` fault knob stops the
//! worker that reaches chunk N (SIGSTOP), so each fault lands at a known point without timing
//! guesses. (tests/scan.rs covers the knob-made crashes, Ctrl-C and kill -9 of `fleet scan`;
//! tests/copy.rs covers a killed and resumed copy and a full disk under `fleet copy`.)
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Waits until one child of `pid` is stopped by the pause knob and returns it.
fn paused_worker(pid: u32) -> u32 {
    let mut found = None;
    wait_until("a worker to pause", 60, || {
        found = children_states(pid)
            .into_iter()
            .find(|&(_, state)| state == 'T')
            .map(|(p, _)| p);
        found.is_some()
    });
    found.unwrap()
}

/// No `.fleet-tmp*` name left in `dir`.
fn assert_no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".fleet"), "temporary file left: {name}");
    }
}

/// A chunk number in 0..n from the clock, printed so a failure can be replayed.
fn random_chunk(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let chunk = nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    let chunk = chunk % n;
    eprintln!("fault at chunk {chunk} (replay: FLEET_TEST_FAULT=pause:{chunk})");
    chunk
}

#[test]
fn a_worker_killed_by_sigkill_at_a_random_chunk_leaves_the_result_exact() {
    let data = gps(2, 30_000);
    let dir = data.path().to_str().unwrap();
    let args = ["scan", "--where", "speed>60", "--chunk-size", "64KiB", "-q"];
    let want = fleet().args(args).arg(dir).output().unwrap();
    assert!(want.status.success() && want.stdout.len() > 10_000);
    let total: u64 = csv_files(data.path())
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    let chunks = total / (64 << 10);
    for workers in ["1", "3"] {
        let chunk = random_chunk(chunks);
        let mut child = KillOnDrop(
            fleet()
                .args(args)
                .args(["--workers", workers, dir])
                .env("FLEET_TEST_FAULT", format!("pause:{chunk}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let victim = paused_worker(child.0.id());
        signal(victim, "-KILL");
        let o = child.wait_output();
        assert!(o.status.success(), "chunk {chunk}: {}", stderr(&o));
        assert!(
            o.stdout == want.stdout,
            "chunk {chunk}, {workers} workers: the result differs"
        );
    }
}

/// A scan of two gps files with `--chunk-size 64KiB -o` and `extra` arguments, paused by
/// `pause:10` (chunk 10 lies in the first file), whose first file is cut to 300,000 bytes
/// while paused; `paused` finds the stopped process to continue. Checks that the job ends
/// with exit 1, names the cut file and says the result is partial; returns the output file's
/// bytes and the files' original contents.
fn scan_cut_while_paused(
    extra: &[&str],
    paused: impl FnOnce(u32) -> u32,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let data = gps(2, 30_000);
    let files = csv_files(data.path());
    let originals: Vec<Vec<u8>> = files.iter().map(|p| fs::read(p).unwrap()).collect();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("result.csv");
    let mut child = KillOnDrop(
        fleet()
            .args(["scan", "--chunk-size", "64KiB"])
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg(data.path())
            .env("FLEET_TEST_FAULT", "pause:10")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stopped = paused(child.0.id());
    fs::OpenOptions::new()
        .write(true)
        .open(&files[0])
        .unwrap()
        .set_len(300_000)
        .unwrap();
    signal(stopped, "-CONT");
    let o = child.wait_output();
    let err = stderr(&o);
    // The coordinator survives to say what happened: an exit code, not a signal (SIGBUS).
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let name = files[0].to_str().unwrap();
    assert!(
        err.lines()
            .any(|l| l.contains(name) && l.contains("shrank while it was being scanned")),
        "{err}"
    );
    assert!(err.contains("the result is partial"), "{err}");
    assert_no_temp_files(out_dir.path());
    (fs::read(&out).unwrap(), originals)
}

#[test]
fn a_file_truncated_during_the_scan_is_named_and_the_result_marked_partial() {
    let mut pid = 0;
    let (written, originals) = scan_cut_while_paused(&["--workers", "2"], |p| {
        pid = p;
        paused_worker(p)
    });
    // What was written is whole records: a line-aligned prefix of the cut file as it was (the
    // chunks before the paused one may have been scanned before the cut, never the complete
    // file), then every record of the intact second file.
    assert!(written.ends_with(&originals[1]), "the second file is whole");
    let prefix = &written[..written.len() - originals[1].len()];
    // Chunks 0..9 each end at the first newline past 64 KiB (lines are < 100 bytes).
    assert!(prefix.len() <= 10 * ((64 << 10) + 100) && originals[0].starts_with(prefix));
    assert!(
        prefix.is_empty() || prefix.ends_with(b"\n"),
        "a torn record"
    );
    assert!(children_states(pid).is_empty());
}

/// Runs `cmd` with files limited to `limit` bytes (writes past it fail with EFBIG, as a full
/// disk fails with ENOSPC).
fn with_full_disk(cmd: &mut Command, limit: u64) -> Output {
    with_rlimit(cmd, libc::RLIMIT_FSIZE, limit);
    output_within(cmd, 120)
}

fn assert_failed_cleanly(o: &Output, out: &Path) {
    let err = stderr(o);
    assert!(!o.status.success(), "a full disk must fail the run");
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("fleet: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    // The cause is named (the output, or fleet's temporary results), and no input is blamed.
    assert!(errors[0].contains("File too large"), "{err}");
    assert!(!errors[0].contains("could not be scanned"), "{err}");
    assert!(!out.exists(), "a torn output file");
    assert_no_temp_files(out.parent().unwrap());
}

#[test]
fn a_full_disk_under_scan_and_agg_output_leaves_no_torn_file() {
    let data = gps(2, 30_000);
    let out_dir = tempfile::tempdir().unwrap();
    let out: PathBuf = out_dir.path().join("result.csv");
    let full_output = fleet()
        .args(["scan", "-q"])
        .arg(data.path())
        .output()
        .unwrap()
        .stdout
        .len() as u64;
    for (workers, limit) in [("1", 256 << 10), ("4", full_output * 3 / 5)] {
        let o = with_full_disk(
            fleet()
                .args(["scan", "--chunk-size", "64KiB", "--workers", workers, "-o"])
                .arg(&out)
                .arg(data.path()),
            limit,
        );
        assert_failed_cleanly(&o, &out);
    }
    // Nearly every (id, time) pair is its own group: the table is as large as the data.
    let o = with_full_disk(
        fleet()
            .args(["agg", "--group-by", "id,time", "--agg", "count"])
            .args(["--chunk-size", "256KiB", "--workers", "2", "-o"])
            .arg(&out)
            .arg(data.path()),
        256 << 10,
    );
    assert_failed_cleanly(&o, &out);
    // The same commands succeed with room to write (so the limit, not the command, failed).
    let o = fleet()
        .args(["agg", "--group-by", "id,time", "--agg", "count"])
        .args(["--chunk-size", "256KiB", "--workers", "2", "-q", "-o"])
        .arg(&out)
        .arg(data.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::metadata(&out).unwrap().len() > 256 << 10);
}

#[test]
fn ctrl_c_to_agg_stops_workers_writes_nothing_and_exits_130() {
    let data = gps(1, 20_000);
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("agg.csv");
    let mut child = KillOnDrop(
        fleet()
            .args([
                "agg",
                "--group-by",
                "id",
                "--agg",
                "count",
                "--workers",
                "2",
            ])
            .args(["--chunk-size", "4KiB", "-o"])
            .arg(&out)
            .arg(data.path())
            .env("FLEET_TEST_FAULT", "stall:1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    wait_until("workers to start", 20, || children_states(pid).len() >= 2);
    let workers = children_states(pid);
    signal(pid, "-INT");
    let o = child.wait_output();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    wait_until("workers to be gone", 20, || {
        workers
            .iter()
            .all(|(w, _)| !Path::new(&format!("/proc/{w}")).exists() || is_zombie(*w))
    });
    assert!(!out.exists());
    assert_no_temp_files(out_dir.path());
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
        .unwrap_or(true)
}

/// The process state letter of `pid` (from `/proc/PID/stat`).
fn state_of(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

#[test]
fn the_thread_engine_names_a_file_truncated_before_its_chunk_instead_of_dying_of_sigbus() {
    // One worker thread: `pause:10` stops the whole process just before chunk 10.
    let (written, originals) =
        scan_cut_while_paused(&["--engine", "threads", "--workers", "1"], |pid| {
            wait_until("the job to pause", 60, || state_of(pid) == Some('T'));
            pid
        });
    assert!(written.ends_with(&originals[1]), "the second file is whole");
}
