//! End-to-end tests of `fleet bench`: every workload × engine × worker count is measured and
//! reported, generated data is cached and reused, and `--data` runs on the user's folder.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fleet, stderr};
use serde_json::Value;
use std::path::Path;

fn bench_json(cache: &Path, args: &[&str]) -> (Value, String) {
    let out = fleet()
        .env("XDG_CACHE_HOME", cache)
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, stderr(&out))
}

fn results(json: &Value) -> &Vec<Value> {
    json["results"].as_array().unwrap()
}

#[test]
fn every_workload_engine_and_worker_count_is_measured() {
    let cache = tempfile::tempdir().unwrap();
    let (json, err) = bench_json(
        cache.path(),
        &["--size", "2MiB", "--runs", "1", "--workers", "1,2"],
    );
    assert!(err.contains("generating"), "{err}");
    let data = &json["data"];
    assert!(data["bytes"].as_u64().unwrap() > 1 << 20, "{data}");
    assert!(data["records"].as_u64().unwrap() > 30_000, "{data}");
    assert_eq!(data["files"].as_u64(), Some(4));
    assert!(
        json["page_cache"].as_str().unwrap().contains("page cache"),
        "{json}"
    );
    let rows = results(&json);
    let mut expected = Vec::new();
    for workload in [
        "scan-id",
        "count-speed",
        "count-ids",
        "select-speed",
        "agg-id",
        "agg-hour",
        "agg-bucket",
        "agg-lat",
        "agg-id-hour",
    ] {
        for engine in ["processes", "threads"] {
            for workers in [1, 2] {
                expected.push((workload.to_string(), engine.to_string(), workers));
            }
        }
    }
    expected.extend([
        ("copy".into(), "threads".into(), 1),
        ("copy".into(), "threads".into(), 2),
    ]);
    let got: Vec<(String, String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["workload"].as_str().unwrap().to_string(),
                r["engine"].as_str().unwrap().to_string(),
                r["workers"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for r in rows {
        let seconds = r["seconds"].as_array().unwrap();
        assert_eq!(seconds.len(), 1, "{r}");
        assert!(seconds[0].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["median_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["gb_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["records_per_s"].as_f64().unwrap() > 0.0, "{r}");
        let speedup = r["speedup_over_1_worker"].as_f64().unwrap();
        if r["workers"] == 1 {
            assert_eq!(speedup, 1.0);
        }
        let command = r["command"].as_str().unwrap();
        assert!(
            command.contains(&format!("--workers {}", r["workers"])),
            "{command}"
        );
    }
    // The memory sampler saw the processes of at least the longer runs.
    assert!(
        rows.iter()
            .any(|r| r["peak_private_bytes"].as_u64().unwrap() > 0),
        "{json}"
    );

    // A second run reuses the complete cached folder instead of generating again.
    let (again, err) = bench_json(
        cache.path(),
        &[
            "--size",
            "2MiB",
            "--runs",
            "2",
            "--workers",
            "2",
            "--engines",
            "threads",
            "--workloads",
            "count-speed",
        ],
    );
    assert!(err.contains("reusing"), "{err}");
    assert!(!err.contains("generating"), "{err}");
    assert_eq!(again["data"], json["data"]);
    let r = &results(&again)[0];
    assert_eq!(results(&again).len(), 1);
    assert_eq!(r["seconds"].as_array().unwrap().len(), 2);
    assert_eq!(r["speedup_over_1_worker"], Value::Null);
}

#[test]
fn an_incomplete_cache_folder_is_generated_again() {
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "--size",
        "1MiB",
        "--runs",
        "1",
        "--workers",
        "1",
        "--workloads",
        "scan-id",
    ];
    let (first, _) = bench_json(cache.path(), &args);
    let folder = Path::new(first["data"]["dir"].as_str().unwrap());
    std::fs::remove_file(folder.join(".bench-complete")).unwrap();
    std::fs::write(folder.join("gps-001.csv"), "truncated").unwrap();
    let (second, err) = bench_json(cache.path(), &args);
    assert!(err.contains("generating"), "{err}");
    assert_eq!(second["data"], first["data"]);
}

#[test]
fn data_folder_of_the_user() {
    // In a folder of its own, so that only this test's scratch folders can appear beside it.
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    fleet_fixtures::generate(
        &data,
        &fleet_fixtures::GenOptions {
            kind: fleet_fixtures::Kind::Gps,
            files: 2,
            rows: 5_000,
            seed: 7,
            plates: None,
            dialect: fleet_fixtures::Dialect::Plain,
        },
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (json, _) = bench_json(
        cache.path(),
        &[
            "--data",
            data.to_str().unwrap(),
            "--runs",
            "2",
            "--workers",
            "2",
            "--engines",
            "processes",
            "--workloads",
            "scan-id,agg-hour,copy",
        ],
    );
    assert_eq!(json["data"]["records"].as_u64(), Some(10_000));
    assert_eq!(json["data"]["generated"], Value::Bool(false));
    let names: Vec<&str> = results(&json)
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["scan-id", "agg-hour", "copy"]);
    // Nothing was generated and no scratch output was left beside the data.
    assert!(!cache.path().join("fleet").exists());
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["data"]);
}

#[test]
fn bad_arguments_fail_in_one_line() {
    let cache = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["--runs", "0"][..], "--runs"),
        (&["--workers", "0"][..], "--workers"),
        (
            &["--data", "/nonexistent/fleet-bench"][..],
            "/nonexistent/fleet-bench",
        ),
    ] {
        let out = fleet()
            .env("XDG_CACHE_HOME", cache.path())
            .arg("bench")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(needle) && err.lines().count() == 1, "{err}");
    }
}

#[test]
fn ctrl_c_stops_and_removes_the_scratch_folder() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let cache = tempfile::tempdir().unwrap();
    let mut child = fleet()
        .env("XDG_CACHE_HOME", cache.path())
        .args([
            "bench",
            "--size",
            "1MiB",
            "--runs",
            "100000",
            "--workloads",
            "copy",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // "N records" is printed after the handler is installed and before the first timed run,
    // and 100000 runs cannot be over by the time the signal arrives.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "ended early: {seen}");
        seen.push_str(&line);
        if line.contains(" records") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    let left: Vec<_> = std::fs::read_dir(cache.path().join("fleet"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["bench-gps-1MiB"]);
}
