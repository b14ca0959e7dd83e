//! `agg` as a whole job (planning, workers, shared accumulators, boundary re-runs, merging)
//! against the plain reference of `agg_support`: both engines, 1 to 3 workers, chunk sizes
//! down to a few records, each of the dense shared layouts (totals, integer ids, hour,
//! weekday), a dense array too narrow for the keys (so records overflow to the hashed path in
//! the same chunk), the hashed path alone, and workers that die mid-chunk or mid-commit.
//!
//! The data is gps points with trouble added: a `note` column that is sometimes a quoted text
//! with commas and newlines (so speculative chunk starts land inside records and committed
//! chunks must be taken back out and re-run), non-canonical and far-out ids, non-numeric and
//! empty speeds, ragged records (which the engine skips as malformed; the reference is given
//! only well-formed records) and CRLF line ends in one file.
#![allow(clippy::unwrap_used)]

mod agg_support;

use agg_support::{reference, Rng};
use csv::{ByteRecord, ReaderBuilder, Terminator, WriterBuilder};
use fleet_engine::agg::task::{run_agg, AggResult, AggTask};
use fleet_engine::agg::{finish, write_csv, AggPlan, DenseLayout};
use fleet_engine::input::dataset::Dataset;
use fleet_engine::job::fault::Fault;
use fleet_engine::{EngineKind, JobOptions};
use std::path::PathBuf;

struct Data {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    /// Well-formed records of every file, in order.
    records: Vec<ByteRecord>,
    ragged: u64,
}

fn messy(rows: u64) -> Data {
    messy_written(rows, Written::AsNeeded)
}

/// How `messy_written` writes its files.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Written {
    /// Quotes only where a field needs them; CRLF line ends in the second file only.
    AsNeeded,
    /// Every field quoted, as pandas `quoting=ALL` and database unloads write (LF ends).
    AllQuoted,
    /// Quotes where needed, CRLF line ends in every file.
    Crlf,
    /// CRLF line ends in every file and no field that needs quotes (a Windows export of
    /// plain data).
    CrlfUnquoted,
}

fn messy_written(rows: u64, written: Written) -> Data {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(99);
    let mut records = Vec::new();
    let mut paths = Vec::new();
    let mut ragged = 0;
    for i in 0..3 {
        let clean = fleet_fixtures::gps_file(5, i, rows);
        let mut w = WriterBuilder::new()
            .flexible(true)
            .terminator(
                if i == 1 || matches!(written, Written::Crlf | Written::CrlfUnquoted) {
                    Terminator::CRLF
                } else {
                    Terminator::Any(b'\n')
                },
            )
            .quote_style(if written == Written::AllQuoted {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(Vec::new());
        let mut rdr = ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&clean[..]);
        for rec in rdr.byte_records() {
            let rec = rec.unwrap();
            let mut fields: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
            match rng.below(60) {
                0 => fields[0].insert(0, b'0'),
                1 => fields[0] = format!("{}", 900_000 + rng.below(50)).into_bytes(),
                2 => fields[4] = b"n/a".to_vec(),
                3 => fields[4].clear(),
                _ => {}
            }
            let note = if rng.below(6) == 0 && written != Written::CrlfUnquoted {
                format!("see \"log\"\n, taxi {}\r\nend", rng.below(9)).into_bytes()
            } else {
                format!("n{}", rng.below(1000)).into_bytes()
            };
            if rng.below(70) == 0 {
                ragged += 1;
            } else {
                fields.push(note);
                records.push(ByteRecord::from(fields.clone()));
            }
            w.write_record(&fields).unwrap();
        }
        let path = dir.path().join(format!("p{i}.csv"));
        std::fs::write(&path, w.into_inner().unwrap()).unwrap();
        paths.push(path);
    }
    Data {
        _dir: dir,
        paths,
        records,
        ragged,
    }
}

fn open(data: &Data, chunk_size: u64) -> Dataset {
    agg_support::open_headerless(&data.paths, chunk_size)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// As `AggTask::new` chooses.
    Auto,
    /// A dense array over only part of the ids.
    Narrow,
    /// The hashed path only.
    Hashed,
}

fn run(
    data: &Data,
    plan: &AggPlan,
    layout: Layout,
    chunk_size: u64,
    opts: &JobOptions,
) -> (AggResult, bool) {
    let ds = open(data, chunk_size);
    let mut task = AggTask::new(ds.schema.ncols(), Vec::new(), plan.clone(), &ds.plan);
    match layout {
        Layout::Auto => {}
        Layout::Narrow => task.dense = DenseLayout::for_plan(plan, Some((10_000, 20_000))),
        Layout::Hashed => task.dense = None,
    }
    let dense = task.dense.is_some();
    (run_agg(ds.plan, task, opts, &mut |_| {}).unwrap(), dense)
}

fn csv_of(result: &AggResult, plan: &AggPlan) -> Vec<u8> {
    let rows = finish(&result.table, plan, None, None);
    let mut out = Vec::new();
    write_csv(&rows, plan, &mut out);
    out
}

/// Plans as `fleet agg` would parse them, and whether `AggTask::new` should make them dense.
/// Between them they take every strategy of `DenseDelta::update`: narrow cells (count, sum,
/// mean, count(COL) only), the pipelined wide cells (stddev), and the direct wide cells (more
/// than 8 specs). The last two pair an integer with a time part (cells id by hour or weekday),
/// in either order.
const PLANS: [(Option<&str>, &[&str], bool); 8] = [
    (
        Some("1"),
        &["count", "mean(5)", "stddev(5)", "count(8)", "sum(3)"],
        true,
    ),
    (Some("hour(2)"), &["count", "sum(5)"], true),
    (None, &["count", "mean(5)", "count(8)"], true),
    (Some("weekday(2)"), &["count", "stddev(4)"], true),
    (Some("1"), &["count", "max(5)"], false),
    (
        Some("1"),
        &[
            "count",
            "sum(5)",
            "mean(5)",
            "stddev(5)",
            "count(8)",
            "sum(3)",
            "mean(3)",
            "count(5)",
            "stddev(3)",
        ],
        true,
    ),
    (Some("1,hour(2)"), &["count", "mean(5)", "count(8)"], true),
    (
        Some("weekday(2),1"),
        &["count", "stddev(5)", "sum(3)"],
        true,
    ),
];

/// The plans the slower tests run: totals, one integer key, an hour, an integer by hour.
fn some_plans(
) -> impl Iterator<Item = &'static (Option<&'static str>, &'static [&'static str], bool)> {
    PLANS[..3].iter().chain(&PLANS[6..7])
}

#[test]
fn every_layout_engine_worker_count_and_chunk_size_matches_the_reference() {
    let data = messy(1_200);
    let ds = open(&data, 1 << 20);
    let mut boundary_reruns = 0;
    for (group_by, aggs, dense) in PLANS {
        let plan = AggPlan::parse(group_by, aggs, &ds.schema).unwrap();
        let want = reference(&plan, &data.records, None, None);
        assert!(want.csv.len() > 20, "the reference is not trivially empty");
        let layouts: &[Layout] = match (group_by, dense) {
            (Some("1" | "1,hour(2)" | "weekday(2),1"), true) => {
                &[Layout::Auto, Layout::Narrow, Layout::Hashed]
            }
            (_, true) => &[Layout::Auto, Layout::Hashed],
            _ => &[Layout::Auto],
        };
        for &layout in layouts {
            for engine in [EngineKind::Processes, EngineKind::Threads] {
                for workers in [1, 2, 3] {
                    for chunk_size in [173, 4 << 10, 1 << 20] {
                        let opts = JobOptions {
                            engine,
                            workers,
                            ..JobOptions::default()
                        };
                        let (got, is_dense) = run(&data, &plan, layout, chunk_size, &opts);
                        let ctx = format!(
                            "{group_by:?} {aggs:?} {layout:?} {engine:?} {workers}w {chunk_size}B"
                        );
                        assert_eq!(is_dense, dense && layout != Layout::Hashed, "{ctx}");
                        let csv = csv_of(&got, &plan);
                        assert!(
                            csv == want.csv,
                            "{ctx}: output differs\n got: {}\nwant: {}",
                            String::from_utf8_lossy(&csv[..csv.len().min(400)]),
                            String::from_utf8_lossy(&want.csv[..want.csv.len().min(400)]),
                        );
                        let bad: Vec<u64> = plan
                            .specs
                            .iter()
                            .map(|s| {
                                got.table
                                    .malformed_values()
                                    .iter()
                                    .find(|(t, _)| *t == s.text)
                                    .map_or(0, |(_, n)| *n)
                            })
                            .collect();
                        assert_eq!(bad, want.malformed_values, "{ctx}: malformed values");
                        assert_eq!(got.report.malformed, data.ragged, "{ctx}: ragged records");
                        // The job itself checks its shared totals against these sums (TotalsMismatch).
                        if is_dense {
                            boundary_reruns += got.report.boundary_reruns;
                        }
                    }
                }
            }
        }
    }
    assert!(
        boundary_reruns > 0,
        "some dense commits must have been taken back out and re-run"
    );
}

/// All-quoted and CRLF files (quoted commas and newlines, `""` escapes, ragged records, empty
/// speeds) aggregate through the quoted block pass itself, not csv-core, and CRLF files
/// without quotes through the plain pass in CRLF mode: the per-chunk path counters say so, and
/// the result is the reference's, for both engines, 1 to 3 workers and chunks down to a few
/// records.
#[test]
fn quoted_and_crlf_files_aggregate_through_the_quoted_pass() {
    for written in [Written::AllQuoted, Written::Crlf, Written::CrlfUnquoted] {
        let data = messy_written(600, written);
        let ds = open(&data, 1 << 20);
        for (group_by, aggs, _) in some_plans() {
            let plan = AggPlan::parse(*group_by, aggs, &ds.schema).unwrap();
            let want = reference(&plan, &data.records, None, None);
            assert!(want.csv.len() > 20, "the reference is not trivially empty");
            for engine in [EngineKind::Processes, EngineKind::Threads] {
                for workers in [1, 2, 3] {
                    for chunk_size in [97, 4 << 10, 1 << 20] {
                        let opts = JobOptions {
                            engine,
                            workers,
                            ..JobOptions::default()
                        };
                        let (got, _) = run(&data, &plan, Layout::Auto, chunk_size, &opts);
                        let ctx =
                            format!("{written:?} {group_by:?} {engine:?} {workers}w {chunk_size}B");
                        assert_eq!(csv_of(&got, &plan), want.csv, "{ctx}");
                        assert_eq!(got.report.malformed, data.ragged, "{ctx}: ragged records");
                        let p = got.report.paths;
                        if written == Written::CrlfUnquoted {
                            // No quote anywhere: every chunk takes the plain pass, in CRLF mode.
                            assert_eq!(p.plain_crlf, p.plain, "{ctx}: {p:?}");
                            assert!(p.plain > 0, "{ctx}: {p:?}");
                            assert_eq!(p.quoted + p.fallback(), 0, "{ctx}: {p:?}");
                            continue;
                        }
                        // Every record holds a quote or a CR: a plain chunk is a CRLF one (a
                        // CRLF file's chunk without a quote), and only a chunk whose planned
                        // end cuts a quoted newline leaves the quoted pass.
                        assert_eq!(p.plain, p.plain_crlf, "{ctx}: {p:?}");
                        if written == Written::AllQuoted {
                            assert_eq!(p.plain, 0, "{ctx}: {p:?}");
                        }
                        assert!(p.quoted > 0, "{ctx}: {p:?}");
                        assert_eq!(p.fallback(), p.open_quote, "{ctx}: {p:?}");
                        assert!(p.open_quote < p.quoted, "{ctx}: {p:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn workers_dying_mid_chunk_or_mid_commit_leave_the_shared_cells_exact() {
    let data = messy(2_000);
    let ds = open(&data, 1 << 20);
    for (group_by, aggs, _) in some_plans() {
        let plan = AggPlan::parse(*group_by, aggs, &ds.schema).unwrap();
        let want = reference(&plan, &data.records, None, None);
        for fault in ["scan:2", "commit:1", "commit:6"] {
            for engine in [EngineKind::Processes, EngineKind::Threads] {
                for workers in [1, 2] {
                    let opts = JobOptions {
                        engine,
                        workers,
                        fault: Fault::parse(fault).unwrap(),
                        ..JobOptions::default()
                    };
                    let (got, dense) = run(&data, &plan, Layout::Auto, 8 << 10, &opts);
                    let ctx = format!("{group_by:?} {fault} {engine:?} {workers}w");
                    assert!(dense, "{ctx}");
                    assert_eq!(got.report.crash_reruns, 1, "{ctx}: one chunk re-run");
                    assert_eq!(csv_of(&got, &plan), want.csv, "{ctx}");
                    // The job itself checks its shared totals against these sums (TotalsMismatch).
                }
            }
        }
    }
}

#[test]
fn no_passing_record_gives_a_totals_row_of_zeros_and_no_groups() {
    let data = messy(300);
    let ds = open(&data, 1 << 20);
    let none = fleet_engine::query::predicate::Predicate::compile(
        &fleet_engine::query::expr::parse_where("1=-5").unwrap(),
        &ds.schema,
    )
    .unwrap();
    for (group_by, aggs, _) in PLANS[..4].iter().chain(&PLANS[6..]) {
        let plan = AggPlan::parse(*group_by, aggs, &ds.schema).unwrap();
        let want = reference(&plan, &[], None, None);
        let task = AggTask::new(
            ds.schema.ncols(),
            vec![fleet_engine::query::condition::Condition::Test(
                none.clone(),
            )],
            plan.clone(),
            &ds.plan,
        );
        assert!(task.dense.is_some());
        let got = run_agg(ds.plan.clone(), task, &JobOptions::default(), &mut |_| {}).unwrap();
        assert!(got.report.records > 0);
        assert_eq!(got.report.matches, 0);
        assert_eq!(csv_of(&got, &plan), want.csv, "{group_by:?}");
        let lines = want.csv.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(
            lines,
            if group_by.is_some() { 1 } else { 2 },
            "header only, or header and zeros"
        );
    }
}
