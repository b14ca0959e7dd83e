//! Exit codes a script can use, as grep and ripgrep set them: a scan exits 0 when a record
//! matched (or `--count` printed more than 0), 1 when none did, 2 on any error, a partial
//! result included; the other commands 0 on success and 2 on error.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    output_within(fleet().args(args), 120)
}

#[test]
fn scan_exits_0_on_a_match_and_1_on_none() {
    let data = gps(1, 2_000);
    let dir = data.path().to_str().unwrap();
    let hit = run(&["scan", "-q", "--where", "speed>=0", "--limit", "1", dir]);
    assert_eq!(hit.status.code(), Some(0), "{}", stderr(&hit));
    assert_eq!(stdout(&hit).lines().count(), 1);
    let none = run(&["scan", "-q", "--where", "speed>100000", dir]);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    assert_eq!(stdout(&none), "");
    assert_eq!(stderr(&none), "", "no match is not an error");
    let count = run(&["scan", "-q", "--count", "--where", "speed>=0", dir]);
    assert_eq!(count.status.code(), Some(0));
    assert_eq!(stdout(&count).trim(), "2000");
    let zero = run(&["scan", "-q", "--count", "--where", "speed>100000", dir]);
    assert_eq!(zero.status.code(), Some(1));
    assert_eq!(stdout(&zero).trim(), "0", "the count is still printed");
}

#[test]
fn errors_exit_2_with_one_line() {
    let data = gps(1, 100);
    let dir = data.path().to_str().unwrap();
    for args in [
        &["scan", "--where", "nosuchcolumn=1", dir][..],
        &["scan", "--where", "speed>1", "/nonexistent/fleet-data"],
        &["agg", "--agg", "mean(nosuchcolumn)", dir],
        &[
            "agg",
            "--group-by",
            "id",
            "--agg",
            "count",
            "/nonexistent/fleet-data",
        ],
        &["copy", "/nonexistent/fleet-src", "/tmp/fleet-never-created"],
        &["bench", "--data", "/nonexistent/fleet-data", "--runs", "1"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with("fleet: error: "), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    // Usage errors (clap) exit 2 as well.
    let o = run(&["scan", "--no-such-flag", dir]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_partial_scan_exits_2_and_keeps_what_it_wrote() {
    let data = gps(2, 1_000);
    let files = csv_files(data.path());
    let unreadable = data.path().join("pipe.csv");
    let c = std::ffi::CString::new(unreadable.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path. A FIFO is never opened (it could block forever):
    // fleet names it as unreadable and scans the rest.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let o = run(&[
        "scan",
        "--where",
        "speed>=0",
        files[0].to_str().unwrap(),
        unreadable.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("partial"), "{err}");
    assert_eq!(
        stdout(&o).lines().count(),
        1_000,
        "the readable file's records are all there"
    );
}

#[test]
fn other_commands_exit_0_on_success() {
    let data = gps(1, 500);
    let dir = data.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    // agg with no group at all is still a success.
    let o = run(&[
        "agg",
        "-q",
        "--where",
        "speed>100000",
        "--agg",
        "count",
        dir,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "count\n0\n");
    let o = run(&[
        "gen",
        out.path().join("g").to_str().unwrap(),
        "--kind",
        "gps",
        "--files",
        "1",
        "--rows",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["copy", "-q", dir, out.path().join("c").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
