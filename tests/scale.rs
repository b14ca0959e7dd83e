//! Scale: a tree of 100,000 small files scanned and copied with only 256 file descriptors
//! allowed (RLIMIT_NOFILE), and one file 1000 times the chunk size; each with its peak RSS
//! (from wait4's rusage) under a generous bound, so per-file or per-chunk state that leaks
//! or is held too long fails here rather than on a user's machine.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// Runs `cmd` to completion; returns its status, stdout, stderr and peak RSS in bytes.
// The child is reaped with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run_measured(cmd: &mut Command) -> (ExitStatus, String, String, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out_pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out_pipe.read_to_string(&mut s).unwrap();
        s
    });
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child with valid out-pointers; `child` is never waited again.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    let out = reader.join().unwrap();
    (status, out, err, usage.ru_maxrss as u64 * 1024)
}

const MIB: u64 = 1 << 20;

/// 100 folders x 1,000 files of two records each: `i,x{i%7},{3i}` and `{i+1},y,{i%11}`.
fn many_files(root: &Path) {
    for d in 0..100 {
        let dir = root.join(format!("d{d:03}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            let i = d * 1000 + f;
            fs::write(
                dir.join(format!("f{f:04}.csv")),
                format!("{i},x{},{}\n{},y,{}\n", i % 7, i * 3, i + 1, i % 11),
            )
            .unwrap();
        }
    }
}

#[test]
fn a_hundred_thousand_files_with_256_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let t = std::time::Instant::now();
    many_files(&src);
    eprintln!("made 100,000 files in {:?}", t.elapsed());

    let mut cmd = fleet();
    cmd.args(["scan", "--no-header", "--where", "2=x3", "--select", "1"])
        .args(["--progress", "never", "--workers", "2"])
        .arg(&src);
    with_rlimit(&mut cmd, libc::RLIMIT_NOFILE, 256);
    let t = std::time::Instant::now();
    let (status, out, err, rss) = run_measured(&mut cmd);
    eprintln!("scanned in {:?}", t.elapsed());
    assert!(status.success(), "{err}");
    assert!(
        err.contains("100,000 files") && err.contains("200,000 records"),
        "{err}"
    );
    // In path order: d000/f0000.. so i ascending; every i with i % 7 == 3.
    let want: String = (0..100_000)
        .filter(|i| i % 7 == 3)
        .map(|i| format!("{i}\n"))
        .collect();
    assert!(
        out == want,
        "{} lines, want {}",
        out.lines().count(),
        want.lines().count()
    );
    eprintln!("scan of 100,000 files: peak RSS {} MiB", rss / MIB);
    assert!(rss < 256 * MIB, "scan peak RSS {} MiB", rss / MIB);

    let dst = tmp.path().join("dst");
    let mut cmd = fleet();
    cmd.args(["copy", "--quiet", "--workers", "4"])
        .arg(&src)
        .arg(&dst);
    with_rlimit(&mut cmd, libc::RLIMIT_NOFILE, 256);
    let t = std::time::Instant::now();
    let (status, _, err, rss) = run_measured(&mut cmd);
    eprintln!("copied in {:?}", t.elapsed());
    assert!(status.success(), "{err}");
    let t = std::time::Instant::now();
    let mut copied = 0;
    for d in fs::read_dir(&src).unwrap() {
        let d = d.unwrap().path();
        for f in fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            let rel = f.strip_prefix(&src).unwrap();
            assert_eq!(fs::read(&f).unwrap(), fs::read(dst.join(rel)).unwrap());
            copied += 1;
        }
    }
    assert_eq!(copied, 100_000);
    eprintln!("compared in {:?}", t.elapsed());
    eprintln!("copy of 100,000 files: peak RSS {} MiB", rss / MIB);
    assert!(rss < 256 * MIB, "copy peak RSS {} MiB", rss / MIB);
}

#[test]
fn one_file_a_thousand_times_the_chunk_size() {
    let data = gps(1, 80_000);
    let file = &csv_files(data.path())[0];
    let size = fs::metadata(file).unwrap().len();
    let chunk = size / 1000;
    assert!(chunk >= 1024, "{size}");
    let text = fs::read_to_string(file).unwrap();
    // The reference: the classic split on commas (gps has no quotes), speed is column 5.
    let want: String = text
        .lines()
        .filter(|l| l.split(',').nth(4).unwrap().parse::<f64>().unwrap() > 100.0)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(want.len() > 1000);
    for engine in ["processes", "threads"] {
        let mut cmd = fleet();
        cmd.args(["scan", "--where", "speed>100", "--progress", "never"])
            .args(["--chunk-size", &chunk.to_string(), "--engine", engine])
            .args(["--workers", "3"])
            .arg(file);
        let (status, out, err, rss) = run_measured(&mut cmd);
        assert!(status.success(), "{err}");
        assert!(out == want, "{engine}: the result differs");
        eprintln!("{engine}, 1000 chunks: peak RSS {} MiB", rss / MIB);
        assert!(rss < 128 * MIB, "peak RSS {} MiB", rss / MIB);
    }
}
