//! `-` as a path: standard input read as one stream (plain, gzip or zstd, recognised by its
//! magic bytes), with header detection, --columns and the current directory's fleet.toml, and
//! mixed with files; the output equals that of the same bytes in a file.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `cmd` with `input` on its standard input (written by a thread, so a large input
/// cannot deadlock against a full stdout pipe).
fn with_stdin(cmd: &mut Command, input: Vec<u8>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The reader may stop early (an error); a broken pipe is its business.
        let _ = pipe.write_all(&input);
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    o
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    csv_files(dir)
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect()
}

#[test]
fn plain_gzip_and_zstd_stdin_scan_like_the_files() {
    let data = gps(2, 20_000);
    let dir = data.path();
    let want = output_within(
        fleet()
            .current_dir(dir)
            .args(["scan", "-q", "-w", "speed>100", "."]),
        60,
    );
    assert!(want.status.success());
    assert!(stdout(&want).lines().count() > 100);
    let raw = file_bytes(dir);
    let zst = zstd::encode_all(raw.as_slice(), 3).unwrap();
    for (name, input) in [("plain", raw.clone()), ("gzip", gzip(&raw)), ("zstd", zst)] {
        for engine in ["processes", "threads"] {
            // fleet.toml comes from the current directory.
            let o = with_stdin(
                fleet().current_dir(dir).args([
                    "scan",
                    "-q",
                    "-w",
                    "speed>100",
                    "--engine",
                    engine,
                    "--piece-size",
                    "64KiB",
                    "-",
                ]),
                input.clone(),
            );
            assert!(o.status.success(), "{name} {engine}: {}", stderr(&o));
            assert_eq!(o.stdout, want.stdout, "{name} {engine}");
        }
    }
}

#[test]
fn a_header_on_stdin_is_detected_and_columns_can_be_named() {
    let o = with_stdin(
        fleet().args(["scan", "-q", "-w", "x>=3", "-"]),
        b"id,x\n1,2\n3,4\n5,6".to_vec(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "id,x\n3,4\n5,6\n");
    let o = with_stdin(
        fleet().args(["scan", "-q", "--columns", "a,b", "-w", "b>=4", "-"]),
        b"1,2\n3,4\n5,6\n".to_vec(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3,4\n5,6\n");
}

#[test]
fn scan_piped_into_agg_through_stdin() {
    let data = gps(2, 20_000);
    let dir = data.path().to_str().unwrap();
    let want = output_within(
        fleet().args([
            "agg",
            "-q",
            "-w",
            "speed>100",
            "--group-by",
            "id",
            "--agg",
            "count",
            dir,
        ]),
        60,
    );
    let fast = output_within(fleet().args(["scan", "-q", "-w", "speed>100", dir]), 60);
    let o = with_stdin(
        fleet().current_dir(data.path()).args([
            "agg",
            "-q",
            "--group-by",
            "id",
            "--agg",
            "count",
            "-",
        ]),
        fast.stdout,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&want));
}

#[test]
fn stdin_mixes_with_files_in_command_line_order() {
    let data = gps(1, 5_000);
    let file = &csv_files(data.path())[0];
    let all = output_within(
        fleet().current_dir(data.path()).args([
            "scan",
            "-q",
            "-w",
            "speed>=0",
            file.to_str().unwrap(),
        ]),
        60,
    );
    let o = with_stdin(
        fleet().current_dir(data.path()).args([
            "scan",
            "-q",
            "-w",
            "speed>=0",
            file.to_str().unwrap(),
            "-",
        ]),
        std::fs::read(file).unwrap(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = all.stdout.clone();
    want.extend_from_slice(&all.stdout);
    assert_eq!(o.stdout, want, "the file, then standard input");
}

#[test]
fn corrupt_gzip_on_stdin_is_one_line_and_exit_2() {
    let mut bad = gzip(b"1,2\n3,4\n");
    let n = bad.len();
    bad.truncate(n - 6);
    let o = with_stdin(fleet().args(["scan", "-n", "-w", "1>=0", "-"]), bad);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("-: truncated gzip data"), "{err}");
}
