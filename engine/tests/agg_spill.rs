//! `agg` under a memory limit small enough that the coordinator spills its group table many
//! times (`run_agg_within`, the path of `fleet agg --memory`): the output must be the same
//! bytes as without a limit and as the plain reference of `agg_support` (csv crate +
//! `BTreeMap`), across both engines, 1 to 3 workers, chunk sizes down to a few hundred
//! bytes, numeric, text and composite keys, keys that are quoted texts with commas, quotes
//! and newlines, `--sort` and `--top`, and the dense path's overflow; and chunks regrouped
//! as the hashed path's default plan regroups them (`AggTask::chunks_for`).
#![allow(clippy::unwrap_used)]

mod agg_support;

use agg_support::{reference, Rng};
use csv::{ByteRecord, ReaderBuilder, Terminator, WriterBuilder};
use fleet_engine::agg::task::{run_agg, run_agg_within, AggResult, AggTask};
use fleet_engine::agg::{parse_sort, write_csv, AggError, AggPlan, Sort};
use fleet_engine::input::dataset::Dataset;
use fleet_engine::job::JobError;
use fleet_engine::{EngineKind, JobOptions};
use std::path::PathBuf;

struct Data {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    records: Vec<ByteRecord>,
}

/// gps records of `files` files (one with CRLF line ends, the last without a final newline)
/// plus a `note` column: a quoted text with a comma, `""` and a newline and one of `notes`
/// numbers, or a plain short text.
fn data(files: usize, rows: u64, notes: usize) -> Data {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut records = Vec::new();
    let mut paths = Vec::new();
    for i in 0..files {
        let clean = fleet_fixtures::gps_file(11, i, rows);
        let mut w = WriterBuilder::new()
            .terminator(if i == 1 {
                Terminator::CRLF
            } else {
                Terminator::Any(b'\n')
            })
            .from_writer(Vec::new());
        let mut rdr = ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&clean[..]);
        for rec in rdr.byte_records() {
            let mut fields: Vec<Vec<u8>> = rec.unwrap().iter().map(<[u8]>::to_vec).collect();
            let note = if rng.below(10) == 0 {
                format!("n{}", rng.below(50)).into_bytes()
            } else {
                format!("see \"log\", taxi\n{}", rng.below(notes)).into_bytes()
            };
            fields.push(note);
            records.push(ByteRecord::from(fields.clone()));
            w.write_record(&fields).unwrap();
        }
        let mut bytes = w.into_inner().unwrap();
        if i + 1 == files {
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
        }
        let path = dir.path().join(format!("s{i}.csv"));
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    Data {
        _dir: dir,
        paths,
        records,
    }
}

fn open(data: &Data, chunk_size: u64) -> Dataset {
    agg_support::open_headerless(&data.paths, chunk_size)
}

fn run(
    data: &Data,
    plan: &AggPlan,
    chunk_size: u64,
    opts: &JobOptions,
    memory: Option<u64>,
) -> Result<AggResult, JobError> {
    let ds = open(data, chunk_size);
    let task = AggTask::new(ds.schema.ncols(), Vec::new(), plan.clone(), &ds.plan);
    match memory {
        Some(limit) => run_agg_within(ds.plan, task, opts, limit, &mut |_| {}),
        None => run_agg(ds.plan, task, opts, &mut |_| {}),
    }
}

/// The output as CSV, and how many groups there were.
fn csv_of(
    result: &mut AggResult,
    plan: &AggPlan,
    sort: Option<&Sort>,
    top: Option<usize>,
) -> (Vec<u8>, u64) {
    let finished = result.finish(plan, sort, top, None).unwrap();
    let mut out = Vec::new();
    write_csv(&finished.rows, plan, &mut out);
    (out, finished.groups)
}

/// (group by, aggregates, sort) with many groups: a number (lat), a quoted text, a text and
/// a number, a derived key; min/max/first/distinct states that hold texts.
const PLANS: [(&str, &[&str], Option<&str>); 5] = [
    ("4", &["count", "mean(5)"], None),
    ("8", &["count", "max(2)", "first(1)"], None),
    ("1,8", &["count", "sum(5)", "min(8)"], None),
    ("hour(2),4", &["count", "distinct(1)"], Some("-count")),
    ("1", &["count", "stddev(5)"], None),
];

#[test]
fn a_tiny_memory_limit_spills_and_gives_the_same_bytes_as_memory_and_the_reference() {
    let data = data(3, 40_000, 1_000_000);
    let ds = open(&data, 1 << 20);
    for (group_by, aggs, sort_text) in PLANS {
        let plan = AggPlan::parse(Some(group_by), aggs, &ds.schema).unwrap();
        let sort = sort_text.map(|s| parse_sort(s, &plan).unwrap());
        let top = sort.as_ref().map(|_| 5000);
        let want = reference(&plan, &data.records, sort.as_ref(), top);
        assert!(
            want.csv.len() > 1000,
            "the reference is not trivially empty"
        );
        for engine in [EngineKind::Processes, EngineKind::Threads] {
            for workers in [1, 2, 3] {
                // Chunk sizes alternate to keep the test short.
                for chunk_size in [64 << 10, 1 << 20]
                    .into_iter()
                    .filter(|c| (*c == 1 << 20) == (workers % 2 == 1))
                {
                    let opts = JobOptions {
                        engine,
                        workers,
                        ..JobOptions::default()
                    };
                    let ctx = format!("{group_by} {aggs:?} {engine:?} {workers}w {chunk_size}B");
                    let mut spilled = run(&data, &plan, chunk_size, &opts, Some(1 << 20)).unwrap();
                    let mut whole = run(&data, &plan, chunk_size, &opts, None).unwrap();
                    assert_eq!(whole.memory.spills, 0, "{ctx}");
                    let (got, groups) = csv_of(&mut spilled, &plan, sort.as_ref(), top);
                    let (in_memory, whole_groups) = csv_of(&mut whole, &plan, sort.as_ref(), top);
                    assert_eq!(groups, whole_groups, "{ctx}");
                    if group_by != "1" {
                        // Taxi ids are few and dense; every other plan has 100k+ groups.
                        assert!(groups > 100_000, "{ctx}: {groups} groups");
                        assert!(
                            spilled.memory.spills > 1,
                            "{ctx}: the limit must force spilling"
                        );
                    }
                    assert_same(&got, &in_memory, &format!("{ctx}: spilled vs in memory"));
                    assert_same(&got, &want.csv, &ctx);
                }
            }
        }
    }
}

#[test]
fn tiny_chunks_with_a_spilling_limit_match_the_reference() {
    // Chunks of a few hundred bytes: every chunk start is speculative, many land inside the
    // quoted notes, and the coordinator spills every few chunks.
    let data = data(2, 3_000, 4_000);
    let ds = open(&data, 1 << 20);
    for (group_by, aggs, _) in &PLANS[..3] {
        let plan = AggPlan::parse(Some(group_by), aggs, &ds.schema).unwrap();
        let want = reference(&plan, &data.records, None, None);
        for engine in [EngineKind::Processes, EngineKind::Threads] {
            for workers in [1, 3] {
                let opts = JobOptions {
                    engine,
                    workers,
                    ..JobOptions::default()
                };
                let ctx = format!("{group_by} {engine:?} {workers}w");
                let mut got = run(&data, &plan, 509, &opts, Some(48 << 10)).unwrap();
                assert!(got.memory.spills > 1, "{ctx}: spills {}", got.memory.spills);
                let mut whole = run(&data, &plan, 509, &opts, None).unwrap();
                assert_same(
                    &csv_of(&mut whole, &plan, None, None).0,
                    &want.csv,
                    &format!("{ctx} in memory"),
                );
                assert_same(&csv_of(&mut got, &plan, None, None).0, &want.csv, &ctx);
            }
        }
    }
}

#[test]
fn coalesced_chunks_match_the_reference() {
    // The hashed path's default plan (`AggTask::chunks_for`): the 509-byte chunks regrouped
    // into about two per worker, and into chunks of about 4 KiB, whose starts are still
    // guesses that often land inside the quoted notes; with and without a spilling limit.
    let data = data(2, 3_000, 4_000);
    let ds = open(&data, 509);
    for (group_by, aggs, _) in &PLANS[..3] {
        let plan = AggPlan::parse(Some(group_by), aggs, &ds.schema).unwrap();
        let want = reference(&plan, &data.records, None, None);
        let task = AggTask::new(ds.schema.ncols(), Vec::new(), plan.clone(), &ds.plan);
        for engine in [EngineKind::Processes, EngineKind::Threads] {
            for workers in [1, 2, 3] {
                let opts = JobOptions {
                    engine,
                    workers,
                    ..JobOptions::default()
                };
                let per_worker = task.chunks_for(&ds.plan, workers, u64::MAX);
                assert!(
                    per_worker.chunks.len() <= 2 * workers + ds.plan.files.len(),
                    "{group_by} {workers}w: {} chunks",
                    per_worker.chunks.len()
                );
                for (chunks, memory) in [
                    (per_worker, u64::MAX),
                    (ds.plan.coalesced(4096), u64::MAX),
                    (ds.plan.coalesced(4096), 48 << 10),
                ] {
                    let ctx = format!(
                        "{group_by} {engine:?} {workers}w {} chunks, memory {memory}",
                        chunks.chunks.len()
                    );
                    assert!(chunks.chunks.len() < ds.plan.chunks.len(), "{ctx}");
                    let task = task.clone();
                    let mut got = run_agg_within(chunks, task, &opts, memory, &mut |_| {}).unwrap();
                    assert_same(&csv_of(&mut got, &plan, None, None).0, &want.csv, &ctx);
                }
            }
        }
    }
    // The dense path keeps its chunks.
    let plan = AggPlan::parse(Some("1"), &["count"], &ds.schema).unwrap();
    let task = AggTask::new(ds.schema.ncols(), Vec::new(), plan, &ds.plan);
    assert!(task.dense.is_some());
    assert_eq!(
        task.chunks_for(&ds.plan, 2, u64::MAX).chunks,
        ds.plan.chunks
    );
}

#[test]
fn a_part_that_cannot_fit_is_one_clear_error() {
    let data = data(1, 20_000, 20_000);
    let ds = open(&data, 1 << 20);
    let plan = AggPlan::parse(Some("4"), &["count"], &ds.schema).unwrap();
    let opts = JobOptions {
        engine: EngineKind::Threads,
        workers: 2,
        ..JobOptions::default()
    };
    let mut result = run(&data, &plan, 64 << 10, &opts, Some(1024)).unwrap();
    let err = result.finish(&plan, None, None, None).unwrap_err();
    assert!(
        matches!(err, AggError::PartitionTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("--memory 1.0 KiB") && text.contains("raise --memory"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

/// Equal bytes, or a failure naming the first line that differs.
fn assert_same(got: &[u8], want: &[u8], ctx: &str) {
    if got == want {
        return;
    }
    let g = String::from_utf8_lossy(got);
    let w = String::from_utf8_lossy(want);
    let (line, (a, b)) = g
        .split('\n')
        .zip(w.split('\n'))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .unwrap_or((0, ("(length)", "(length)")));
    panic!("{ctx}: output differs at line {line}:\n got: {a}\nwant: {b}");
}
