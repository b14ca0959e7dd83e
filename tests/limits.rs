//! Limits of the input: a record 1000x the chunk size, a 100 MB line without a newline (plain
//! and inside an unterminated quote), a header of 10,000 columns with `--where` and `--select`
//! on the last one by name and by position, and column references past the end. Each gives the
//! exact result or a one-line error, within a time bound (a hang fails the test).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Output;

/// Generous for a debug build on a busy 2-core machine; each run takes a few seconds at most.
const TIME_LIMIT: u64 = 120;

fn scan(args: &[&str], path: &Path) -> Output {
    let o = output_within(
        fleet()
            .arg("scan")
            .args(args)
            .args(["--progress", "never"])
            .arg(path),
        TIME_LIMIT,
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    o
}

/// The `N records, M matches, K malformed` figures of the summary line.
fn counts(o: &Output) -> (u64, u64, u64) {
    let err = stderr(o);
    let line = err.lines().find(|l| l.contains(" records, ")).unwrap();
    let figure = |word: &str| -> u64 {
        let before = &line[..line.find(word).unwrap()];
        let n = before.trim_end().rsplit(' ').next().unwrap();
        n.replace(',', "").parse().unwrap()
    };
    (figure(" records"), figure(" matches"), figure(" malformed"))
}

#[test]
fn a_record_a_thousand_times_the_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.csv");
    // 512 KiB of quoted text with a newline every 64 bytes: every 512-byte chunk boundary the
    // planner guesses inside it is wrong and must be corrected.
    let body = format!("{}\n", "x".repeat(63)).repeat(8 * 1024);
    let long = format!("1,\"{body}\"\n");
    let data = format!("id,text\n{long}2,short\n");
    fs::write(&path, &data).unwrap();
    for (engine, workers) in [("processes", "2"), ("threads", "3")] {
        let args = [
            "--chunk-size",
            "512",
            "--engine",
            engine,
            "--workers",
            workers,
        ];
        let o = scan(&[&args[..], &["--where", "id=1"]].concat(), &path);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            o.stdout == format!("id,text\n{long}").as_bytes(),
            "{engine}"
        );
        assert_eq!(counts(&o), (2, 1, 0));
        let o = scan(
            &[&args[..], &["--where", "id=2", "--format", "jsonl"]].concat(),
            &path,
        );
        assert_eq!(stdout(&o), "{\"id\":\"2\",\"text\":\"short\"}\n");
        let o = scan(
            &[
                &args[..],
                &["--select", "text", "--format", "jsonl", "--limit", "1"],
            ]
            .concat(),
            &path,
        );
        let line: serde_json::Value = serde_json::from_str(stdout(&o).trim_end()).unwrap();
        assert!(line["text"].as_str().unwrap() == body, "{engine}");
    }
}

#[test]
fn a_100_mb_line_without_a_newline() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.csv");
    let quoted = dir.path().join("quoted.csv");
    let size = 100 << 20;
    let mut data = vec![b'q'; size];
    data[size / 2] = b',';
    fs::write(&plain, &data).unwrap();
    // An unterminated quote: the rest of the file (newlines included) is one field.
    let mut q = b"a,\"".to_vec();
    q.extend(std::iter::repeat_n(b"0123456789abcde\n".as_slice(), size / 16).flatten());
    fs::write(&quoted, &q).unwrap();
    drop(q);

    let o = scan(&["--no-header", "--count", "--chunk-size", "1MiB"], &plain);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "1");
    let o = scan(
        &["--no-header", "--where", "2~q$", "--workers", "2"],
        &plain,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Byte-identical, with the missing final newline added.
    assert_eq!(o.stdout.len(), size + 1);
    assert!(o.stdout[..size] == data[..] && o.stdout[size] == b'\n');
    drop(data);

    let o = scan(
        &["--no-header", "--select", "1", "--chunk-size", "8MiB"],
        &quoted,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "a\n");
    assert_eq!(counts(&o), (1, 1, 0));
    let o = output_within(
        fleet()
            .args(["agg", "--no-header", "--agg", "count", "--agg", "max(1)"])
            .args(["--progress", "never", "--chunk-size", "4MiB"])
            .arg(&quoted),
        TIME_LIMIT,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "count,max(1)\n1,a\n", "{}", stderr(&o));
}

#[test]
fn ten_thousand_columns_by_name_and_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let n = 10_000;
    let header: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let mut data = header.join(",") + "\n";
    for r in 0..40 {
        let row: Vec<String> = (1..=n).map(|i| (r * 100_000 + i).to_string()).collect();
        data += &(row.join(",") + "\n");
    }
    fs::write(&path, &data).unwrap();
    let row_20 = data.lines().nth(21).unwrap();

    for chunk in ["1", "64KiB"] {
        for (col, sel) in [("c10000", "c1,c10000"), ("10000", "1,10000")] {
            let o = scan(
                &[
                    "--where",
                    &format!("{col}=2010000"),
                    "--select",
                    sel,
                    "--chunk-size",
                    chunk,
                ],
                &path,
            );
            assert!(o.status.success(), "{}", stderr(&o));
            assert_eq!(stdout(&o), "c1,c10000\n2000001,2010000\n", "{col} {chunk}");
        }
        let o = scan(
            &["--where", "c10000>=3910000", "--chunk-size", chunk],
            &path,
        );
        let want = format!("{}\n{}\n", header.join(","), data.lines().nth(40).unwrap());
        assert!(stdout(&o) == want, "the last row, raw ({chunk})");
    }
    // Every column, reversed, and as JSON: nothing is cut at some internal maximum.
    let all: Vec<String> = (1..=n).rev().map(|i| format!("c{i}")).collect();
    let o = scan(
        &["--where", "c1=2000001", "--select", &all.join(",")],
        &path,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut reversed: Vec<&str> = row_20.split(',').collect();
    reversed.reverse();
    let want = format!("{}\n{}\n", all.join(","), reversed.join(","));
    assert!(stdout(&o) == want, "all 10,000 columns reversed");
    let o = scan(&["--where", "c1=2000001", "--format", "jsonl"], &path);
    let obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(stdout(&o).trim_end()).unwrap();
    assert_eq!(obj.len(), n);
    assert_eq!(obj["c10000"], "2010000");
    let o = output_within(
        fleet()
            .args(["agg", "--group-by", "c10000", "--agg", "count"])
            .args(["--agg", "sum(c9999)", "--where", "c5000<=105000"])
            .args(["--progress", "never"])
            .arg(&path),
        TIME_LIMIT,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "c10000,count,sum(c9999)\n10000,1,9999\n110000,1,109999\n"
    );

    // One past the last column: a one-line error naming the argument, by name and position.
    for args in [
        ["--where", "10001=1"],
        ["--where", "c10001=1"],
        ["--select", "10001"],
        ["--select", "c10001"],
    ] {
        let o = scan(&args, &path);
        assert!(!o.status.success(), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains("10001"), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}
