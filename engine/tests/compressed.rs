//! Compressed inputs against the plain `csv`-crate reference: tricky data (quoted newlines,
//! CRLF, BOM, ragged rows, no final newline) written as `.gz` (one or several members) and
//! `.zst`, mixed with plain files, scanned with decompression pieces down to one byte so
//! records and CRLF pairs straddle piece boundaries everywhere; both engines, 1..3 workers.
//! Also: agg over compressed equals agg over plain, bad compressed data fails the job naming
//! the file, and a worker dying inside a streamed unit leaves the result exact.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::agg::task::{run_agg, AggTask};
use fleet_engine::agg::{finish, AggPlan};
use fleet_engine::input::dataset::{self, DatasetError, DatasetOptions};
use fleet_engine::input::schema::Schema;
use fleet_engine::job::fault::Fault;
use fleet_engine::query::condition::Condition;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{run_scan, Emit, EngineKind, JobError, JobOptions, ScanSpec};
use fleet_fixtures::{tricky_csv, TrickyOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use support::*;

const ENGINES: [EngineKind; 2] = [EngineKind::Processes, EngineKind::Threads];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// How file `i` of a seed is stored.
fn store(dir: &Path, i: usize, how: u64, data: &[u8]) -> PathBuf {
    let (name, bytes) = match how % 4 {
        0 => (format!("f{i:03}.csv"), data.to_vec()),
        1 => (format!("f{i:03}.csv.gz"), gzip(data)),
        2 => (
            format!("f{i:03}.csv.zst"),
            zstd::encode_all(data, 3).unwrap(),
        ),
        _ => {
            // Two gzip members split at an arbitrary byte, even inside a record.
            let cut = data.len() / 3;
            let mut two = gzip(&data[..cut]);
            two.extend(gzip(&data[cut..]));
            (format!("f{i:03}.csv.gz"), two)
        }
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn open(paths: &[PathBuf], header: bool, piece_size: u64) -> fleet_engine::Dataset {
    dataset::open(&DatasetOptions {
        paths: paths.to_vec(),
        header: Some(header),
        chunk_size: 4096,
        piece_size,
        ..DatasetOptions::default()
    })
    .unwrap()
}

fn predicates(text: &[&str], ncols: usize) -> Vec<Predicate> {
    let schema = Schema::new(None, ncols);
    text.iter()
        .map(|t| Predicate::compile(&parse_where(t).unwrap(), &schema).unwrap())
        .collect()
}

#[test]
fn compressed_files_scan_exactly_like_the_reference() {
    let mut checked = 0;
    let mut streamed_files = 0;
    let mut matches = 0;
    for seed in 0..12u64 {
        let mut topts = TrickyOptions::all(120, seed + 100);
        topts.columns = 2 + (seed as usize % 3);
        let ncols = topts.columns;
        let nfiles = 1 + (seed as usize % 3);
        let files: Vec<Vec<u8>> = (0..nfiles)
            .map(|i| tricky_csv(seed * 7 + i as u64, &topts))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, data)| store(dir.path(), i, seed + i as u64 + 1, data))
            .collect();
        streamed_files += paths
            .iter()
            .filter(|p| !p.to_string_lossy().ends_with(".csv"))
            .count();
        let where_text: &[&str] = if seed % 2 == 0 { &["1=11865"] } else { &[] };
        let emit = match seed % 3 {
            0 => Emit::Raw,
            1 => Emit::Csv {
                columns: vec![ncols - 1, 0],
                delimiter: b',',
            },
            _ => Emit::Jsonl {
                columns: (0..ncols).collect(),
                keys: (1..=ncols).map(|i| json_key(&i.to_string())).collect(),
            },
        };
        let want = reference(
            &files,
            topts.header,
            b',',
            &predicates(where_text, ncols),
            &emit,
        );
        assert!(want.records > 0);
        matches += want.matches;
        for piece_size in [1u64, 2, 7, 61, 4096, 1 << 20] {
            for workers in 1..=3 {
                for engine in ENGINES {
                    let ds = open(&paths, topts.header, piece_size);
                    let spec = ScanSpec {
                        ncols,
                        predicates: predicates(where_text, ncols)
                            .into_iter()
                            .map(Condition::Test)
                            .collect(),
                        emit: emit.clone(),
                        framed: false,
                        decode: None,
                    };
                    let mut out = Vec::new();
                    let report =
                        run_scan(ds.plan, spec, &opts(engine, workers), &mut out, &mut |_| {})
                            .unwrap();
                    let ctx = format!("seed {seed} piece {piece_size} workers {workers} {engine:?} {topts:?} {paths:?}");
                    assert_eq!(report.records, want.records, "records, {ctx}");
                    assert_eq!(report.matches, want.matches, "matches, {ctx}");
                    assert_eq!(report.malformed, want.malformed, "malformed, {ctx}");
                    assert_eq!(
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(&want.out),
                        "output, {ctx}"
                    );
                    assert_eq!(out, want.out, "output bytes, {ctx}");
                    // Shared totals equal to these sums are checked by the job itself: it fails with
                    // JobError::TotalsMismatch otherwise (see the coordinator's check_totals).
                    let expected: Vec<_> = want
                        .malformed_at
                        .iter()
                        .take(5)
                        .map(|&(f, line)| (paths[f].clone(), line))
                        .collect();
                    assert_eq!(report.malformed_examples, expected, "lines, {ctx}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 400);
    assert!(streamed_files >= 12, "most files must be compressed");
    assert!(matches > 0, "the filter must select something");
}

/// The plans of `agg_over_compressed_equals_agg_over_plain`: hashed, and two dense ones
/// (shared cells for integer ids and for hours).
const AGG_PLANS: [(&str, &[&str]); 3] = [
    (
        "occupied,hour(time)",
        &["count", "mean(speed)", "max(lon)", "distinct(id)"],
    ),
    ("id", &["count", "mean(speed)", "stddev(lat)"]),
    ("hour(time)", &["count", "sum(speed)"]),
];

fn agg_rows(
    paths: &[PathBuf],
    piece_size: u64,
    engine: EngineKind,
    (group_by, aggs): (&str, &[&str]),
) -> Vec<String> {
    let ds = dataset::open(&DatasetOptions {
        paths: paths.to_vec(),
        columns: Some(
            fleet_fixtures::GPS_COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        header: Some(false),
        chunk_size: 64 << 10,
        piece_size,
        ..DatasetOptions::default()
    })
    .unwrap();
    let plan = AggPlan::parse(Some(group_by), aggs, &ds.schema).unwrap();
    let task = AggTask::new(ds.schema.ncols(), Vec::new(), plan.clone(), &ds.plan);
    assert_eq!(task.dense.is_some(), group_by != AGG_PLANS[0].0);
    let result = run_agg(ds.plan, task, &opts(engine, 2), &mut |_| {}).unwrap();
    finish(&result.table, &plan, None, None)
        .into_iter()
        .map(|r| format!("{:?}", r))
        .collect()
}

#[test]
fn agg_over_compressed_equals_agg_over_plain() {
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| fleet_fixtures::gps_file(5, i, 3000))
        .collect();
    let (_plain_dir, plain) = write_files(&files);
    let dir = tempfile::tempdir().unwrap();
    let packed: Vec<PathBuf> = files
        .iter()
        .enumerate()
        .map(|(i, d)| store(dir.path(), i, 1 + i as u64, d))
        .collect();
    for plan in AGG_PLANS {
        let want = agg_rows(&plain, 0, EngineKind::Processes, plan);
        assert!(want.len() > 10);
        for engine in ENGINES {
            for piece_size in [100, 1 << 20] {
                assert_eq!(
                    agg_rows(&packed, piece_size, engine, plan),
                    want,
                    "{plan:?} {engine:?} {piece_size}"
                );
            }
        }
    }
}

fn big_gps() -> Vec<u8> {
    fleet_fixtures::gps_file(9, 0, 30_000)
}

#[test]
fn bad_compressed_data_fails_the_job_naming_the_file() {
    let data = big_gps();
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(&data);
    let zst = zstd::encode_all(&data[..], 3).unwrap();
    // Damage far enough in that the header probe (the first 64 KiB) still reads fine.
    let truncated = dir.path().join("a.csv.gz");
    std::fs::write(&truncated, &gz[..gz.len() * 2 / 3]).unwrap();
    let mut bad = zst.clone();
    let at = bad.len() * 2 / 3;
    for b in &mut bad[at..at + 64] {
        *b ^= 0x5a;
    }
    let corrupt = dir.path().join("b.csv.zst");
    std::fs::write(&corrupt, &bad).unwrap();
    let good = dir.path().join("c.csv");
    std::fs::write(&good, &data).unwrap();
    for (path, word) in [(&truncated, "truncated gzip"), (&corrupt, "corrupt zstd")] {
        for engine in ENGINES {
            let ds = open(&[good.clone(), path.clone()], false, 0);
            let spec = ScanSpec {
                ncols: 7,
                predicates: Vec::new(),
                emit: Emit::Raw,
                framed: false,
                decode: None,
            };
            let err = run_scan(
                ds.plan,
                spec,
                &opts(engine, 2),
                &mut Vec::new(),
                &mut |_| {},
            )
            .unwrap_err();
            match &err {
                JobError::BadInput { path: p, .. } => assert_eq!(p, path),
                e => panic!("wrong error {e}"),
            }
            let text = err.to_string();
            assert!(text.contains(word), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
    }
    // Damage within the first bytes is found when the header is read.
    let early = dir.path().join("d.csv.gz");
    std::fs::write(&early, b"\x1f\x8b\x08\x00 not really gzip\n").unwrap();
    match dataset::open(&DatasetOptions {
        paths: vec![early.clone()],
        chunk_size: 4096,
        ..DatasetOptions::default()
    }) {
        Err(e @ DatasetError::BadInput { .. }) => {
            assert!(e.to_string().contains("d.csv.gz"), "{e}")
        }
        other => panic!("expected a bad input error, got {other:?}"),
    }
}

#[test]
fn a_worker_dying_inside_a_streamed_unit_leaves_the_result_exact() {
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| fleet_fixtures::gps_file(4, i, 4000))
        .collect();
    let pred = || predicates(&["5>100"], 7);
    let want = reference(&files, false, b',', &pred(), &Emit::Raw);
    assert!(want.matches > 10);
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files
        .iter()
        .enumerate()
        .map(|(i, d)| store(dir.path(), i, 1 + i as u64, d))
        .collect();
    for fault in ["scan:1", "commit:1", "commit:2"] {
        for engine in ENGINES {
            let opts = JobOptions {
                engine,
                workers: 2,
                fault: Fault::parse(fault).unwrap(),
                ..JobOptions::default()
            };
            let ds = open(&paths, false, 1000);
            let spec = ScanSpec {
                ncols: 7,
                predicates: pred().into_iter().map(Condition::Test).collect(),
                emit: Emit::Raw,
                framed: false,
                decode: None,
            };
            let mut out = Vec::new();
            let report = run_scan(ds.plan, spec, &opts, &mut out, &mut |_| {}).unwrap();
            let ctx = format!("{fault} {engine:?}");
            assert_eq!(report.crash_reruns, 1, "{ctx}");
            assert_eq!(out, want.out, "{ctx}");
            // Shared totals equal to these sums are checked by the job itself: it fails with
            // JobError::TotalsMismatch otherwise (see the coordinator's check_totals).
        }
    }
}

#[test]
fn a_compressed_tsv_is_tab_delimited_and_its_header_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trips.tsv.gz");
    std::fs::write(
        &path,
        gzip(b"\xef\xbb\xbfcity\tn\nShenzhen\t1\nBeijing\t2\n"),
    )
    .unwrap();
    let ds = dataset::open(&DatasetOptions {
        paths: vec![path],
        chunk_size: 4096,
        ..DatasetOptions::default()
    })
    .unwrap();
    assert!(ds.has_header);
    assert_eq!(ds.delimiter, b'\t');
    assert_eq!(ds.schema.ncols(), 2);
    assert_eq!(ds.schema.display_name(0), "city");
    let file = &ds.plan.files[0];
    // BOM (3 bytes) and header line (7 bytes) are skipped in the decompressed content.
    assert_eq!((file.data_start, file.first_line), (10, 2));
    let spec = ScanSpec {
        ncols: 2,
        predicates: predicates(&["2=2"], 2)
            .into_iter()
            .map(Condition::Test)
            .collect(),
        emit: Emit::Raw,
        framed: false,
        decode: None,
    };
    let mut out = Vec::new();
    let report = run_scan(
        ds.plan,
        spec,
        &opts(EngineKind::Threads, 1),
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out, b"Beijing\t2\n");
    assert_eq!(report.records, 2);
}
