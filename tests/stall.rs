//! A worker that stays alive but stops making progress, end to end (`--stall-timeout`). The
//! fault knobs make the stall provable, not timed: `stall-once:N` blocks the worker that takes
//! chunk N first, forever; `stall:N` blocks every worker from chunk N on, re-runs included;
//! `FLEET_TEST_COPY_STALL_AFTER=1` blocks a copying thread after its first piece. Covered: the
//! stalled chunk is re-run and the result is exact (scan and agg); a chunk that stalls twice
//! fails in one line with exit 2 and no `-o` file; the thread engine reports and exits 2; no
//! worker outlives the job; the progress line says a worker is quiet before the timeout;
//! `--stall-timeout 0` leaves a quiet worker alone; `fleet copy` names a stuck file and a
//! `--resume` finishes the copy.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion within `secs`, noting every child process it has meanwhile (its
/// workers); returns its output and those pids.
fn run_watching_workers(cmd: &mut Command, secs: u64) -> (Output, BTreeSet<u32>) {
    let mut child = KillOnDrop(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = read_in_background(child.0.stdout.take().unwrap());
    let stderr = read_in_background(child.0.stderr.take().unwrap());
    let pid = child.0.id();
    let mut workers = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        workers.extend(children_states(pid).into_iter().map(|(p, _)| p));
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{cmd:?} hung for {secs} s");
        std::thread::yield_now();
    };
    let output = Output {
        status,
        stdout: stdout.wait(),
        stderr: stderr.wait(),
    };
    (output, workers)
}

/// A pipe read to its end on another thread; what was read so far can be looked at.
struct Background {
    text: Arc<Mutex<Vec<u8>>>,
    thread: std::thread::JoinHandle<()>,
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> Background {
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&text);
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Background { text, thread }
}

impl Background {
    fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    fn wait(self) -> Vec<u8> {
        self.thread.join().unwrap();
        Arc::try_unwrap(self.text).unwrap().into_inner().unwrap()
    }
}

/// Every process in `pids` is gone (or a zombie about to be reaped by init).
fn assert_all_gone(pids: &BTreeSet<u32>) {
    assert!(!pids.is_empty(), "no worker was ever seen");
    wait_until("every worker to be gone", 20, || {
        pids.iter().all(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
                .unwrap_or(true)
        })
    });
}

/// The lines of `err` that report an error, from "fleet: error" on (a progress bar may have
/// left its clearing sequence before it).
fn error_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter_map(|l| Some(&l[l.find("fleet: error")?..]))
        .collect()
}

/// The longest "no progress for N s" any progress line showed, in seconds.
fn longest_quiet_shown(err: &str) -> f64 {
    err.split("no progress for ")
        .skip(1)
        .filter_map(|rest| rest.split(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

const SCAN: [&str; 5] = ["scan", "--where", "speed>60", "--chunk-size", "64KiB"];
const AGG: [&str; 9] = [
    "agg",
    "--group-by",
    "id",
    "--agg",
    "count",
    "--agg",
    "mean(speed)",
    "--chunk-size",
    "64KiB",
];

#[test]
fn a_stalled_worker_is_killed_and_its_chunk_re_run_with_an_exact_result() {
    let data = gps(2, 30_000);
    let out_dir = tempfile::tempdir().unwrap();
    for command in [&SCAN[..], &AGG[..]] {
        let want = fleet().args(command).arg(data.path()).output().unwrap();
        assert!(want.status.success() && want.stdout.len() > 1000);
        let out = out_dir.path().join("result.csv");
        let (o, workers) = run_watching_workers(
            fleet()
                .args(command)
                .args(["--workers", "2", "--stall-timeout", "2s", "-o"])
                .arg(&out)
                .arg(data.path())
                .env("FLEET_TEST_FAULT", "stall-once:5"),
            60,
        );
        let err = stderr(&o);
        assert!(o.status.success(), "{command:?}: {err}");
        assert!(
            fs::read(&out).unwrap() == want.stdout,
            "{command:?}: differs"
        );
        assert!(
            err.contains("1 chunk(s) re-run after their worker made no progress"),
            "{command:?}: {err}"
        );
        assert_all_gone(&workers);
    }
}

#[test]
fn a_chunk_that_stalls_every_time_fails_in_one_line_with_exit_2_and_no_output_file() {
    let data = gps(2, 30_000);
    let first = csv_files(data.path())[0].clone();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("result.csv");
    for command in [&SCAN[..], &AGG[..]] {
        let (o, workers) = run_watching_workers(
            fleet()
                .args(command)
                .args(["--workers", "2", "--stall-timeout", "1s", "-o"])
                .arg(&out)
                .arg(data.path())
                .env("FLEET_TEST_FAULT", "stall:3"),
            60,
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{command:?}: {err}");
        let errors = error_lines(&err);
        assert_eq!(errors.len(), 1, "{err}");
        let line = errors[0];
        assert!(
            line.starts_with(&format!("fleet: error: {}: bytes ", first.display())),
            "{line}"
        );
        assert!(line.contains("made no progress for"), "{line}");
        assert!(line.contains("twice"), "{line}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "no output file after a failed job");
        assert_eq!(
            fs::read_dir(out_dir.path()).unwrap().count(),
            0,
            "a temporary"
        );
        assert_all_gone(&workers);
    }
}

#[test]
fn the_thread_engine_reports_a_stall_and_exits_2_without_waiting_for_the_stuck_thread() {
    let data = gps(2, 30_000);
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("result.csv");
    let o = output_within(
        fleet()
            .args(SCAN)
            .args(["--engine", "threads", "--workers", "2"])
            .args(["--stall-timeout", "1s", "-o"])
            .arg(&out)
            .arg(data.path())
            .env("FLEET_TEST_FAULT", "stall-once:3"),
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let errors = error_lines(&err);
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("bytes "), "{err}");
    assert!(errors[0].contains("made no progress for"), "{err}");
    assert!(errors[0].contains("cannot be stopped"), "{err}");
    assert!(!out.exists());
}

#[test]
fn the_progress_line_says_a_worker_is_quiet_before_the_timeout_fires() {
    let data = gps(1, 30_000);
    let o = output_within(
        fleet()
            .args(["scan", "--count", "--chunk-size", "64KiB", "--workers", "1"])
            .args(["--stall-timeout", "3s", "--progress", "always"])
            .arg(data.path())
            .env("FLEET_TEST_FAULT", "stall:2"),
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let note = err
        .find("(stall timeout 3 s)")
        .expect("a quiet worker's note");
    let error = err.find("fleet: error").unwrap();
    assert!(note < error, "the note comes before the job gives up");
    let shown = longest_quiet_shown(&err);
    // Shown from half the timeout on; the worker is killed at 3 s (to the next tick).
    assert!((1.5..3.5).contains(&shown), "{shown} s in {err}");
}

#[test]
fn stall_timeout_0_leaves_a_quiet_worker_alone() {
    let data = gps(1, 30_000);
    let mut child = KillOnDrop(
        fleet()
            .args(["scan", "--count", "--chunk-size", "64KiB", "--workers", "1"])
            .args(["--stall-timeout", "0", "--progress", "always"])
            .arg(data.path())
            .env("FLEET_TEST_FAULT", "stall-once:2")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let err = read_in_background(child.0.stderr.take().unwrap());
    wait_until("the worker to start", 20, || {
        children_states(pid).len() == 1
    });
    let worker = children_states(pid)[0].0;
    // The job's own progress line proves how long the worker has been quiet: well past the
    // 1 s that killed it in the tests above.
    wait_until("4 s of silence shown", 60, || {
        longest_quiet_shown(&err.so_far()) >= 4.0
    });
    assert!(err.so_far().contains("(no stall timeout)"));
    assert!(child.0.try_wait().unwrap().is_none(), "the job ended");
    assert_eq!(children_states(pid).first().map(|w| w.0), Some(worker));
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", err.so_far());
}

#[test]
fn a_copy_stuck_on_one_file_names_it_exits_2_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::create_dir_all(src.join("sub")).unwrap();
    let a: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(src.join("a.bin"), &a).unwrap();
    fs::write(src.join("sub/b.bin"), b"small").unwrap();
    // One copying thread; it blocks for good after its first piece, inside a.bin (the walk is
    // sorted, so a.bin comes first).
    let o = output_within(
        fleet()
            .args(["copy", "--workers", "1", "--stall-timeout", "2s"])
            .args(["--progress", "always"])
            .arg(&src)
            .arg(&dst)
            .env("FLEET_TEST_COPY_STALL_AFTER", "1"),
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let errors = error_lines(&err);
    assert_eq!(errors.len(), 1, "{err}");
    let want = format!(
        "fleet: error: cannot copy {}: no progress for ",
        src.join("a.bin").display()
    );
    assert!(errors[0].starts_with(&want), "{err}");
    assert!(errors[0].contains("--resume"), "{err}");
    assert!(
        err.contains("a.bin: no progress for"),
        "the bar names it first: {err}"
    );
    assert!(
        !dst.join("a.bin").exists(),
        "a partial file under its real name"
    );
    let o = fleet()
        .args(["copy", "--resume", "-q"])
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(dst.join("a.bin")).unwrap() == a);
    assert_eq!(fs::read(dst.join("sub/b.bin")).unwrap(), b"small");
    let left: Vec<_> = fs::read_dir(&dst)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".fleet-copy-"))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn a_bad_stall_timeout_is_refused() {
    let data = gps(1, 100);
    for bad in [
        "--stall-timeout=soon",
        "--stall-timeout=-1s",
        "--stall-timeout=5 parsecs",
    ] {
        let o = fleet()
            .args(["scan", bad])
            .arg(data.path())
            .output()
            .unwrap();
        assert!(!o.status.success(), "{bad}");
        assert!(stderr(&o).contains("is not a duration"), "{}", stderr(&o));
    }
}
