//! End-to-end tests of `fleet scan`: the binary on generated data, every bad input of the
//! issue, faults, and what Ctrl-C / kill -9 leave behind.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{csv_files, fleet, gps, stderr, stdout};

fn run(args: &[&str]) -> Output {
    fleet().args(args).output().unwrap()
}

/// The records of all `*.csv` in `dir` (sorted) whose first field is `id`, as the classic
/// Python script finds them: split on commas, compare the first cell.
fn python_style_matches(dir: &Path, id: &str) -> String {
    let paths = csv_files(dir);
    let mut out = String::new();
    for p in paths {
        for line in fs::read_to_string(p).unwrap().lines() {
            if line.split(',').next() == Some(id) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn finds_every_record_of_a_taxi_in_file_order_for_any_workers_and_chunks() {
    let data = gps(3, 40_000);
    let expected = python_style_matches(data.path(), "11865");
    assert!(
        expected.lines().count() >= 2,
        "the generator must produce taxi 11865"
    );
    let dir = data.path().to_str().unwrap();
    for (engine, workers, chunk) in [
        ("processes", "1", "8MiB"),
        ("processes", "2", "64KiB"),
        ("processes", "5", "3000"),
        ("threads", "1", "1MiB"),
        ("threads", "4", "777"),
    ] {
        let o = run(&[
            "scan",
            "--where",
            "id=11865",
            dir,
            "--engine",
            engine,
            "--workers",
            workers,
            "--chunk-size",
            chunk,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), expected, "{engine} {workers} {chunk}");
    }
    // By position too, and numerically: 11865.0 would match, 118650 must not.
    let o = run(&["scan", "--where", "1 = 11865.0", dir, "-q"]);
    assert_eq!(stdout(&o), expected);
}

#[test]
fn count_select_limit_jsonl_and_summary() {
    let data = gps(2, 20_000);
    let dir = data.path().to_str().unwrap();
    let expected = python_style_matches(data.path(), "11865");
    let n = expected.lines().count();
    let o = run(&["scan", "--where", "id=11865", "--count", dir]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), n.to_string());
    let summary = stderr(&o);
    assert!(
        summary.contains("2 files") && summary.contains("40,000 records"),
        "{summary}"
    );
    assert!(summary.contains(&format!("{n} matches")), "{summary}");

    let o = run(&[
        "scan", "--where", "id=11865", "--select", "time,id", dir, "-q",
    ]);
    let want: String = expected
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{},{}\n", c[1], c[0])
        })
        .collect();
    assert_eq!(stdout(&o), want);

    let o = run(&[
        "scan",
        "--where",
        "id=11865",
        "--limit",
        "1",
        "--chunk-size",
        "1KiB",
        dir,
        "-q",
    ]);
    assert_eq!(
        stdout(&o),
        format!("{}\n", expected.lines().next().unwrap())
    );

    let o = run(&[
        "scan", "--where", "id=11865", "--format", "jsonl", "--limit", "2", dir, "-q",
    ]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2.min(n));
    let first: Vec<&str> = expected.lines().next().unwrap().split(',').collect();
    assert_eq!(
        lines[0],
        format!(
            "{{\"id\":\"{}\",\"time\":\"{}\",\"lon\":\"{}\",\"lat\":\"{}\",\"speed\":\"{}\",\"heading\":\"{}\",\"occupied\":\"{}\"}}",
            first[0], first[1], first[2], first[3], first[4], first[5], first[6]
        )
    );
}

#[test]
fn header_files_keep_their_header_and_numeric_and_byte_comparisons() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("trips.csv");
    fs::write(
        &f,
        "VendorID,pickup,fare\r\n2,2015-02-01 07:59:59,9.5\r\n1,2015-02-01 08:00:00,100\r\n2,2015-02-01 09:10:00,99\r\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let o = run(&[
        "scan",
        "--where",
        "pickup>=\"2015-02-01 08:00:00\"",
        "--where",
        "fare>99",
        p,
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "VendorID,pickup,fare\r\n1,2015-02-01 08:00:00,100\r\n"
    );
    let o = run(&["scan", "--where", "fare<100", "--select", "fare", p, "-q"]);
    assert_eq!(stdout(&o), "fare\n9.5\n99\n");
}

#[test]
fn descriptor_names_columns_and_flags_override_it() {
    let data = gps(1, 5_000);
    let dir = data.path().to_str().unwrap();
    let o = run(&["scan", "--where", "speed>110", "--count", dir, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let by_name: u64 = stdout(&o).trim().parse().unwrap();
    assert!(by_name > 0);
    let o = run(&["scan", "--where", "5>110", "--count", dir, "-q"]);
    assert_eq!(stdout(&o).trim().parse::<u64>().unwrap(), by_name);
    let o = run(&[
        "scan",
        "--columns",
        "a,b,c,d,v,f,g",
        "--where",
        "v>110",
        "--count",
        dir,
        "-q",
    ]);
    assert_eq!(stdout(&o).trim().parse::<u64>().unwrap(), by_name);
    let o = run(&[
        "scan",
        "--where",
        "speed>110",
        "--columns",
        "a,b,c,d,v,f,g",
        dir,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown column 'speed'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_file_is_atomic_and_never_an_input() {
    let data = gps(1, 3_000);
    let dir = data.path();
    let out = dir.join("out.txt");
    let o = run(&[
        "scan",
        "--where",
        "id>30000",
        "-o",
        out.to_str().unwrap(),
        dir.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = fs::read_to_string(&out).unwrap();
    assert!(!written.is_empty());
    assert!(written
        .lines()
        .all(|l| l.split(',').next().unwrap().parse::<u32>().unwrap() > 30000));
    // The output (a .txt, so also an input now) may not be overwritten by a scan that reads it.
    let o = run(&["scan", "-o", out.to_str().unwrap(), dir.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("is one of the inputs"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), written);
    assert_no_temp_files(dir);
}

fn assert_no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".fleet-tmp"),
            "temporary file left: {name}"
        );
    }
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |args: &[&str], needle: &str| {
        let o = run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.trim_end()
                .lines()
                .filter(|l| l.starts_with("fleet: error") || l.starts_with("error:"))
                .count(),
            1,
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    };
    check(&["scan", d.join("nope").to_str().unwrap()], "nope");
    fs::write(d.join("notes.md"), "x").unwrap();
    check(&["scan", d.to_str().unwrap()], "no input files");
    fs::write(d.join("empty.csv"), "").unwrap();
    check(
        &["scan", d.join("empty.csv").to_str().unwrap()],
        "empty.csv",
    );
    fs::write(d.join("a.csv"), "id,speed\n1,20\n").unwrap();
    let a = d.join("a.csv");
    let a = a.to_str().unwrap();
    check(&["scan", "--where", "spead>3", a], "did you mean 'speed'");
    check(&["scan", "--where", "speed=>3", a], "speed=>3");
    check(&["scan", "--where", "speed 3", a], "speed 3");
    check(&["scan", "--where", "9=3", a], "out of range");
    check(&["scan", "--chunk-size", "0", a], "chunk-size");
    fs::write(d.join("bin.csv"), b"a,b\n\x00\x01\x02").unwrap();
    check(&["scan", d.join("bin.csv").to_str().unwrap()], "binary");
}

#[test]
fn skipped_binary_ragged_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("bin.csv"), b"\x00\x01binary").unwrap();
    fs::write(d.join(".hidden.csv"), "1,2\n").unwrap();
    fs::write(
        d.join("a.csv"),
        b"1,x\n2,y,extra\n3,\xff\xfe\n4\n5,z\n".as_slice(),
    )
    .unwrap();
    let o = run(&["scan", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Ragged records are reported (with file:line) and left out; invalid UTF-8 passes untouched.
    assert_eq!(o.stdout, b"1,x\n3,\xff\xfe\n5,z\n");
    let err = stderr(&o);
    assert!(err.contains("2 malformed"), "{err}");
    assert!(err.contains("a.csv:2") && err.contains("a.csv:4"), "{err}");
    assert!(
        err.contains("1 hidden") && err.contains("1 binary"),
        "{err}"
    );
    let o = run(&["scan", "--strict", d.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("a.csv:2"), "{}", stderr(&o));
}

#[test]
fn unreadable_file_is_named_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.csv"), "1,x\n2,y\n").unwrap();
    std::os::unix::fs::symlink(d.join("gone.csv"), d.join("b.csv")).unwrap();
    fs::write(d.join("c.csv"), "3,z\n").unwrap();
    let o = run(&["scan", d.to_str().unwrap()]);
    assert_eq!(stdout(&o), "1,x\n2,y\n3,z\n");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("b.csv") && err.contains("partial"), "{err}");
}

#[test]
fn broken_pipe_exits_quietly() {
    let data = gps(2, 50_000);
    let mut child = fleet()
        .args([
            "scan",
            data.path().to_str().unwrap(),
            "--chunk-size",
            "64KiB",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here: the reader went away like `head` does.
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[test]
fn a_worker_crash_is_rerun_and_the_result_stays_exact() {
    let data = gps(2, 30_000);
    let dir = data.path().to_str().unwrap();
    let want = run(&["scan", "--where", "speed>100", dir, "-q"]);
    assert!(!want.stdout.is_empty());
    for fault in ["scan:3", "commit:5", "scan:0"] {
        for engine in ["processes", "threads"] {
            let o = fleet()
                .args([
                    "scan",
                    "--where",
                    "speed>100",
                    dir,
                    "-q",
                    "--chunk-size",
                    "64KiB",
                    "--workers",
                    "2",
                    "--engine",
                    engine,
                ])
                .env("FLEET_TEST_FAULT", fault)
                .output()
                .unwrap();
            assert!(o.status.success(), "{fault} {engine}: {}", stderr(&o));
            assert_eq!(o.stdout, want.stdout, "{fault} {engine}");
        }
    }
}

#[test]
fn a_chunk_that_fails_twice_fails_the_job_without_output() {
    let data = gps(1, 30_000);
    let out = data.path().join("result.out");
    let o = fleet()
        .args([
            "scan",
            data.path().to_str().unwrap(),
            "--chunk-size",
            "64KiB",
            "-o",
            out.to_str().unwrap(),
        ])
        .env("FLEET_TEST_FAULT", "scan-always:2")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("gps-000.csv") && err.contains("bytes ") && err.contains("SIGABRT"),
        "{err}"
    );
    assert!(!out.exists());
    assert_no_temp_files(data.path());
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // Fields after the command name: state ppid ...
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let mut it = rest.split(' ');
        let state = it.next().unwrap();
        let ppid: u32 = it.next().unwrap().parse().unwrap();
        if ppid == pid && state != "Z" {
            out.push(p);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            !rest.starts_with('Z') && !rest.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Polls a condition (no fixed sleeps as synchronisation), failing after 20 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}

fn shm_entries() -> Vec<String> {
    fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A child process that is killed when the test ends, even by a failed assertion, so a
/// stalled scan never outlives its test.
struct Stalled(std::process::Child);

impl Drop for Stalled {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a scan whose workers all block at chunk 1 (the `stall` fault), writing to `out`,
/// and returns it once both workers are running, with their pids.
fn stalled_scan(data: &Path, out: &Path, stderr: Stdio) -> (Stalled, Vec<u32>) {
    let child = Stalled(
        fleet()
            .args([
                "scan",
                data.to_str().unwrap(),
                "--workers",
                "2",
                "--chunk-size",
                "4KiB",
                "-o",
                out.to_str().unwrap(),
            ])
            .env("FLEET_TEST_FAULT", "stall:1")
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    eventually("workers to start", || children(pid).len() >= 2);
    (child, children(pid))
}

#[test]
fn kill_9_of_the_coordinator_leaves_no_worker_and_no_shared_memory() {
    let data = gps(1, 20_000);
    let shm_before = shm_entries();
    let out = data.path().join("o.out");
    let (mut child, workers) = stalled_scan(data.path(), &out, Stdio::null());
    let child = &mut child.0;
    Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    eventually("workers to die with the coordinator", || {
        workers.iter().all(|&w| !alive(w))
    });
    assert_eq!(shm_entries(), shm_before);
    assert!(!out.exists());
    assert_no_temp_files(data.path());
}

#[test]
fn ctrl_c_stops_workers_removes_output_and_exits_130() {
    let data = gps(1, 20_000);
    let out = data.path().join("o.out");
    let (mut child, workers) = stalled_scan(data.path(), &out, Stdio::piped());
    let child = &mut child.0;
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("interrupted"), "{err}");
    eventually("workers to be gone", || workers.iter().all(|&w| !alive(w)));
    assert!(!out.exists());
    assert_no_temp_files(data.path());
}

#[test]
fn readme_first_command_works_on_the_bundled_sample() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/gps");
    let o = run(&[
        "scan",
        "--where",
        "id=11865",
        sample.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), python_style_matches(&sample, "11865"));
    assert!(!o.stdout.is_empty());
    let _ = std::io::stdout().flush();
}

#[test]
fn progress_is_drawn_only_when_asked_or_on_a_terminal() {
    let data = gps(2, 20_000);
    let dir = data.path().to_str().unwrap();
    let o = run(&[
        "scan",
        "--count",
        dir,
        "--chunk-size",
        "64KiB",
        "--workers",
        "2",
        "--progress",
        "always",
    ]);
    let err = stderr(&o);
    assert!(
        err.contains("worker  1") && err.contains("worker  2"),
        "{err}"
    );
    assert!(err.contains("records"), "{err}");
    // stderr is not a terminal here: auto draws nothing, only the summary.
    let o = run(&["scan", "--count", dir, "--chunk-size", "64KiB"]);
    assert!(!stderr(&o).contains("worker"), "{}", stderr(&o));
    let o = run(&["scan", "--count", dir, "--progress", "always", "--quiet"]);
    assert!(
        stderr(&o).contains("worker"),
        "always wins over --quiet for bars"
    );
    let o = run(&["scan", "--count", dir, "--quiet"]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn gen_writes_deterministic_datasets() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let o = run(&[
            "gen",
            d.path().to_str().unwrap(),
            "--kind",
            "trips",
            "--files",
            "2",
            "--rows",
            "500",
            "--seed",
            "3",
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["trips-000.csv", "trips-001.csv"] {
        let x = fs::read(a.path().join(f)).unwrap();
        assert_eq!(x, fs::read(b.path().join(f)).unwrap());
        assert_eq!(x.iter().filter(|&&c| c == b'\n').count(), 501);
    }
    // Trips have a header: detected, kept first, usable by name.
    let o = run(&[
        "scan",
        "--where",
        "VendorID=2",
        "--select",
        "VendorID",
        a.path().to_str().unwrap(),
        "-q",
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("VendorID\n2\n"), "{text}");
    assert!(text.lines().skip(1).all(|l| l == "2"));
}
