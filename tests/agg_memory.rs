//! `fleet agg --memory`: a limit far below the group table makes fleet spill groups to
//! temporary files and merge them at the end, with the same output bytes as without a limit
//! (both engines, 1 to 3 workers); the summary says what was spilled; a limit too small for
//! even one part of the groups is one clear error (exit 2); and the temporary files are
//! gone afterwards: after success, after that error and after Ctrl-C.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The spill directories `fleet agg` made in `tmp` and left behind.
fn spill_dirs(tmp: &Path) -> usize {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".fleet-groups"))
        .count()
}

fn agg(tmp: &Path, args: &[&str]) -> Command {
    let mut cmd = fleet();
    cmd.env("TMPDIR", tmp).arg("agg").args(args);
    cmd
}

#[test]
fn a_tiny_limit_spills_and_prints_the_same_bytes() {
    let data = gps(2, 60_000);
    let dir = data.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for keys in ["lat", "id,hour(time)", "time,id"] {
        let base = [
            "--group-by",
            keys,
            "--agg",
            "count",
            "--agg",
            "mean(speed)",
            "--agg",
            "max(lon)",
            "--chunk-size",
            "256KiB",
        ];
        let want = output_within(agg(tmp.path(), &base).args(["-j", "2", dir]), 300);
        assert!(want.status.success(), "{}", stderr(&want));
        assert!(want.stdout.len() > 100_000, "{keys}: a large table");
        assert!(!stderr(&want).contains("spilled"), "{}", stderr(&want));
        for engine in ["processes", "threads"] {
            for workers in ["1", "2", "3"] {
                let ctx = format!("{keys} {engine} {workers}w");
                let got = output_within(
                    agg(tmp.path(), &base)
                        .args(["--memory", "1MiB", "--engine", engine, "-j", workers, dir]),
                    300,
                );
                assert!(got.status.success(), "{ctx}: {}", stderr(&got));
                assert!(got.stdout == want.stdout, "{ctx}: output differs");
                let err = stderr(&got);
                assert!(
                    err.contains("of --memory 1.0 MiB; spilled") && err.contains("in 64 parts"),
                    "{ctx}: {err}"
                );
                assert_eq!(spill_dirs(tmp.path()), 0, "{ctx}: temporary files left");
            }
        }
    }
}

/// `id,hour(time)` with count and mean takes the dense array (ids by hour, tens of MB) by
/// default; under a limit the array would pass it gives way to the hashed path, which
/// spills, and the output is the same bytes.
#[test]
fn a_dense_array_past_the_limit_gives_way_to_spilling() {
    let data = gps(2, 60_000);
    let dir = data.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        "--group-by",
        "id,hour(time)",
        "--agg",
        "count",
        "--agg",
        "mean(speed)",
        "-j",
        "2",
    ];
    let want = output_within(agg(tmp.path(), &base).arg(dir), 300);
    assert!(want.status.success(), "{}", stderr(&want));
    assert!(want.stdout.len() > 100_000, "a large table");
    assert!(!stderr(&want).contains("spilled"), "{}", stderr(&want));
    let got = output_within(agg(tmp.path(), &base).args(["--memory", "1MiB", dir]), 300);
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(got.stdout == want.stdout, "output differs");
    assert!(
        stderr(&got).contains("of --memory 1.0 MiB; spilled"),
        "{}",
        stderr(&got)
    );
    assert_eq!(spill_dirs(tmp.path()), 0, "temporary files left");
}

#[test]
fn a_limit_too_small_for_one_part_is_one_line_and_exit_2() {
    let data = gps(1, 40_000);
    let tmp = tempfile::tempdir().unwrap();
    let o = output_within(
        &mut agg(
            tmp.path(),
            &[
                "--group-by",
                "time,id",
                "--memory",
                "1KiB",
                data.path().to_str().unwrap(),
            ],
        ),
        300,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("do not fit --memory 1.0 KiB") && lines[0].contains("raise --memory"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    assert_eq!(spill_dirs(tmp.path()), 0, "temporary files left");
}

#[test]
fn ctrl_c_while_spilling_removes_the_temporary_files() {
    let data = gps(4, 150_000);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        agg(
            tmp.path(),
            &[
                "--group-by",
                "time,id",
                "--memory",
                "256KiB",
                "--chunk-size",
                "128KiB",
                "--progress",
                "never",
                "-j",
                "2",
                data.path().to_str().unwrap(),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    // Once the spill directory exists the job is spilling (or, if it already finished, is
    // blocked writing to the pipe this test never reads): Ctrl-C ends it either way.
    wait_until("a spill directory", 120, || spill_dirs(tmp.path()) > 0);
    let ok = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after Ctrl-C");
        std::thread::yield_now();
    };
    let err = String::from_utf8_lossy(&child.wait_output().stderr).into_owned();
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(spill_dirs(tmp.path()), 0, "temporary files left: {err}");
}
