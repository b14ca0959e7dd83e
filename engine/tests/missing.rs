//! Missing values, differentially: generated records whose missing values are spelled with
//! each marker (`fleet_fixtures::missing_csv`) run through the engine (both engines, 1..3
//! workers, chunk sizes down to a few bytes, so the quote-free fast path, the fused
//! pre-filter and the full parser all see them) and through a plain reference: the `csv`
//! crate and the README's rule written out by hand ([`RefNulls`], numbers in exact 10^-6
//! units). `--where` must find the same records, count and locate the same values that are
//! not comparable; `agg` must print the same bytes, on the dense path (totals, `hour(t)`) and
//! the hashed one (min/max/distinct, text keys).
#![allow(clippy::unwrap_used)]

mod agg_support;
mod support;

use agg_support::{micro, reference_with, RefNulls, Rng};
use fleet_engine::agg::task::{run_agg, AggTask};
use fleet_engine::agg::{finish, write_csv, AggPlan, AggTable};
use fleet_engine::input::dataset::{self, DatasetOptions};
use fleet_engine::query::condition::Condition;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{run_scan, Emit, EngineKind, JobOptions, ScanSpec};
use fleet_fixtures::missing_csv;
use std::path::PathBuf;
use support::write_files;

const DEFAULT_MARKERS: [&str; 7] = ["", "NA", "NULL", "null", "NaN", "N/A", "\\N"];

/// One way of writing and reading missing values.
struct Case {
    /// What the data writes for a missing value.
    written: &'static [&'static str],
    /// `--null` (None: the default rule).
    given: Option<&'static [&'static str]>,
}

const CASES: [Case; 3] = [
    Case {
        written: &DEFAULT_MARKERS,
        given: None,
    },
    // A given list: only it is missing; NA and friends are text now.
    Case {
        written: &["", "-999", "?", "missing", "NA"],
        given: Some(&["-999", "?", "missing"]),
    },
    // Data with MySQL's \N read with the default rule, and with `--null '\N'`.
    Case {
        written: &["\\N"],
        given: Some(&["\\N"]),
    },
];

impl Case {
    fn ref_nulls(&self) -> RefNulls {
        match self.given {
            None => RefNulls::default(),
            Some(list) => RefNulls::only(list),
        }
    }

    fn files(&self, seed: u64) -> Vec<Vec<u8>> {
        (0..2)
            .map(|i| missing_csv(seed * 10 + i, 700, self.written))
            .collect()
    }
}

/// The records of every file (headers skipped), with the 1-based line each starts on and its
/// file's index.
fn records(files: &[Vec<u8>]) -> Vec<(usize, u64, csv::ByteRecord)> {
    let mut out = Vec::new();
    for (f, data) in files.iter().enumerate() {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&data[..]);
        for rec in rdr.byte_records() {
            let rec = rec.unwrap();
            out.push((f, rec.position().unwrap().line(), rec));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// --where

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match,
    Miss,
    Incomparable,
}

/// The README's rule for one test, written out: `column`, operator and value as the user
/// gives them.
fn ref_test(nulls: &RefNulls, op: &str, value: &str, field: &[u8]) -> Verdict {
    let holds = |o: std::cmp::Ordering| {
        let yes = match op {
            "=" => o.is_eq(),
            "!=" => o.is_ne(),
            "<" => o.is_lt(),
            "<=" => o.is_le(),
            ">" => o.is_gt(),
            ">=" => o.is_ge(),
            _ => unreachable!("{op}"),
        };
        if yes {
            Verdict::Match
        } else {
            Verdict::Miss
        }
    };
    match op {
        "is null" => return holds_bool(nulls.missing(field)),
        "is not null" => return holds_bool(!nulls.missing(field)),
        _ => {}
    }
    if let Some(v) = micro(value.as_bytes()) {
        if nulls.missing(field) {
            return Verdict::Miss;
        }
        return match micro(field) {
            Some(f) => holds(f.cmp(&v)),
            None if op == "=" => Verdict::Miss,
            None => Verdict::Incomparable,
        };
    }
    if agg_support::is_time(value.as_bytes()) && nulls.missing(field) {
        return Verdict::Miss;
    }
    holds(field.cmp(value.as_bytes()))
}

fn holds_bool(b: bool) -> Verdict {
    if b {
        Verdict::Match
    } else {
        Verdict::Miss
    }
}

/// `(column index, op, value)` of `COLUMN OP VALUE` over the columns id,x,name,t,note.
fn split(expr: &str) -> (usize, &str, &str) {
    for op in [" is not null", " is null"] {
        if let Some(col) = expr.strip_suffix(op) {
            return (column(col), op.trim(), "");
        }
    }
    let at = expr.find(['=', '!', '<', '>']).unwrap();
    let rest = &expr[at..];
    let op = ["!=", "<=", ">=", "=", "<", ">"]
        .into_iter()
        .find(|o| rest.starts_with(o))
        .unwrap();
    let value = rest[op.len()..].trim_matches('\'');
    (column(&expr[..at]), op, value)
}

fn column(name: &str) -> usize {
    ["id", "x", "name", "t", "note"]
        .iter()
        .position(|c| *c == name)
        .unwrap()
}

/// What the reference finds: matching ids in order, the count of records not comparable and
/// (file, line) of the first five. Tests run in the documented order: the first `=` test
/// with a value to look for first, then the others as given.
fn ref_scan(
    recs: &[(usize, u64, csv::ByteRecord)],
    nulls: &RefNulls,
    wheres: &[&str],
) -> (Vec<u8>, u64, Vec<(usize, u64)>) {
    let mut tests: Vec<(usize, &str, &str)> = wheres.iter().map(|w| split(w)).collect();
    if let Some(i) = tests
        .iter()
        .position(|(_, op, value)| *op == "=" && !value.is_empty())
    {
        tests[..=i].rotate_right(1);
    }
    let (mut ids, mut incomparable, mut at) = (Vec::new(), 0, Vec::new());
    'records: for (file, line, rec) in recs {
        for &(c, op, value) in &tests {
            match ref_test(nulls, op, value, &rec[c]) {
                Verdict::Match => {}
                Verdict::Miss => continue 'records,
                Verdict::Incomparable => {
                    incomparable += 1;
                    if at.len() < 5 {
                        at.push((*file, *line));
                    }
                    continue 'records;
                }
            }
        }
        ids.extend_from_slice(&rec[0]);
        ids.push(b'\n');
    }
    (ids, incomparable, at)
}

const WHERES: [&[&str]; 14] = [
    &["x>100"],
    &["x<=0.5"],
    &["x!=100"],
    &["x=100"],
    &["x=1e2"],
    &["x>=-1.5e1"],
    &["x is null"],
    &["x is not null"],
    &["name=NA"],
    &["name!=Bo"],
    &["name is null"],
    &["t>=2013-01-15"],
    &["x>50", "name=Bo"],
    &["t<'2013-01-10 12:00:00'", "x<0", "id!=7"],
];

#[test]
fn where_matches_and_reports_like_the_reference() {
    let mut checked = 0;
    for (k, case) in CASES.iter().enumerate() {
        let files = case.files(k as u64);
        let recs = records(&files);
        let (_dir, paths) = write_files(&files);
        for wheres in WHERES {
            let (want_ids, want_n, want_at) = ref_scan(&recs, &case.ref_nulls(), wheres);
            let want_at: Vec<(PathBuf, u64)> = want_at
                .into_iter()
                .map(|(f, line)| (paths[f].clone(), line))
                .collect();
            for (chunk_size, workers, engine) in [
                (1u64 << 20, 1usize, EngineKind::Processes),
                (4096, 3, EngineKind::Processes),
                (61, 2, EngineKind::Threads),
                (7, 3, EngineKind::Threads),
            ] {
                let ds = dataset::open(&DatasetOptions {
                    paths: paths.clone(),
                    header: Some(true),
                    chunk_size,
                    nulls: case
                        .given
                        .map(|l| l.iter().map(|m| m.to_string()).collect()),
                    ..DatasetOptions::default()
                })
                .unwrap();
                let predicates = wheres
                    .iter()
                    .map(|w| {
                        Predicate::compile(&parse_where(w).unwrap(), &ds.schema)
                            .unwrap()
                            .with_nulls(ds.scanned_nulls())
                    })
                    .map(Condition::Test)
                    .collect();
                let spec = ScanSpec {
                    ncols: ds.schema.ncols(),
                    predicates,
                    emit: Emit::Csv {
                        columns: vec![0],
                        delimiter: b',',
                    },
                    framed: false,
                    decode: None,
                };
                let opts = JobOptions {
                    engine,
                    workers,
                    ..JobOptions::default()
                };
                let mut out = Vec::new();
                let report = run_scan(ds.plan, spec, &opts, &mut out, &mut |_| {}).unwrap();
                let ctx = format!("case {k} {wheres:?} chunk {chunk_size} {workers}w {engine:?}");
                assert!(
                    out == want_ids,
                    "{ctx}: ids differ\n got: {:?}\nwant: {:?}",
                    String::from_utf8_lossy(&out[..out.len().min(200)]),
                    String::from_utf8_lossy(&want_ids[..want_ids.len().min(200)]),
                );
                assert_eq!(report.incomparable, want_n, "{ctx}");
                assert_eq!(report.incomparable_examples, want_at, "{ctx}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, CASES.len() * WHERES.len() * 4);
}

#[test]
fn the_reference_sees_every_kind_of_field() {
    // Guards the test above against data that would make it vacuous.
    let case = &CASES[0];
    let recs = records(&case.files(0));
    let nulls = case.ref_nulls();
    let (ids, n, _) = ref_scan(&recs, &nulls, &["x>100"]);
    assert!(n > 10, "not comparable values: {n}");
    assert!(ids.len() > 100);
    let (nulls_found, _, _) = ref_scan(&recs, &nulls, &["x is null"]);
    assert!(nulls_found.len() > 50);
    let (real_na, _, _) = ref_scan(&recs, &nulls, &["name=NA"]);
    assert!(real_na.len() > 50);
}

// ---------------------------------------------------------------------------------------
// agg

/// Plans over id,x,name,t,note: dense (totals, hour(t)) and hashed ones.
const PLANS: [(Option<&str>, &[&str]); 5] = [
    (
        None,
        &[
            "count",
            "count(x)",
            "sum(x)",
            "mean(x)",
            "count(name)",
            "count(t)",
        ],
    ),
    (None, &["count", "stddev(x)", "count(x)", "count(t)"]),
    (
        Some("hour(t)"),
        &["count", "count(x)", "sum(x)", "count(name)"],
    ),
    (
        Some("name"),
        &[
            "count",
            "count(x)",
            "min(x)",
            "max(x)",
            "distinct(x)",
            "max(t)",
            "distinct(t)",
        ],
    ),
    (
        Some("x"),
        &[
            "count",
            "count(name)",
            "min(name)",
            "max(name)",
            "distinct(name)",
        ],
    ),
];

#[test]
fn agg_matches_the_reference_on_every_path() {
    for (k, case) in CASES.iter().enumerate() {
        let files = case.files(k as u64 + 5);
        let recs: Vec<csv::ByteRecord> = records(&files).into_iter().map(|r| r.2).collect();
        let (_dir, paths) = write_files(&files);
        for (group_by, aggs) in PLANS {
            let ds = dataset::open(&DatasetOptions {
                paths: paths.clone(),
                header: Some(true),
                chunk_size: 1 << 20,
                nulls: case
                    .given
                    .map(|l| l.iter().map(|m| m.to_string()).collect()),
                ..DatasetOptions::default()
            })
            .unwrap();
            let plan = AggPlan::parse(group_by, aggs, &ds.schema)
                .unwrap()
                .with_nulls(ds.scanned_nulls());
            let want = reference_with(&plan, &recs, None, None, &case.ref_nulls());
            let ctx = format!("case {k} {group_by:?} {aggs:?}");
            // Tables over random partitions, some through bytes.
            for seed in 0..4 {
                let mut rng = Rng(seed + 1);
                let mut total = AggTable::new(&plan);
                let mut at = 0;
                while at < recs.len() {
                    let end = (at + 1 + rng.below(400)).min(recs.len());
                    let mut t = AggTable::new(&plan);
                    for rec in &recs[at..end] {
                        t.update(&plan, |i| &rec[i]);
                    }
                    if rng.below(2) == 0 {
                        let mut bytes = Vec::new();
                        t.encode(&mut bytes);
                        t = AggTable::decode(&plan, &bytes).unwrap();
                    }
                    total.merge(t);
                    at = end;
                }
                let mut csv = Vec::new();
                write_csv(&finish(&total, &plan, None, None), &plan, &mut csv);
                assert_text_eq(&csv, &want.csv, &format!("{ctx} partition {seed}"));
            }
            // Whole jobs: the dense path where the plan allows it.
            for (chunk_size, workers, engine) in [
                (1u64 << 20, 1usize, EngineKind::Processes),
                (997, 3, EngineKind::Processes),
                (61, 2, EngineKind::Threads),
            ] {
                let ds = dataset::open(&DatasetOptions {
                    paths: paths.clone(),
                    header: Some(true),
                    chunk_size,
                    nulls: case
                        .given
                        .map(|l| l.iter().map(|m| m.to_string()).collect()),
                    ..DatasetOptions::default()
                })
                .unwrap();
                let task = AggTask::new(ds.schema.ncols(), Vec::new(), plan.clone(), &ds.plan);
                assert_eq!(
                    task.dense.is_some(),
                    matches!(group_by, None | Some("hour(t)")),
                    "{ctx}"
                );
                let opts = JobOptions {
                    engine,
                    workers,
                    ..JobOptions::default()
                };
                let result = run_agg(ds.plan, task, &opts, &mut |_| {}).unwrap();
                let mut csv = Vec::new();
                write_csv(&finish(&result.table, &plan, None, None), &plan, &mut csv);
                assert_text_eq(
                    &csv,
                    &want.csv,
                    &format!("{ctx} job {chunk_size} {workers}w {engine:?}"),
                );
                let bad: Vec<u64> = plan
                    .specs
                    .iter()
                    .map(|s| {
                        result
                            .table
                            .malformed_values()
                            .into_iter()
                            .find(|(t, _)| *t == s.text)
                            .map_or(0, |(_, n)| n)
                    })
                    .collect();
                assert_eq!(
                    bad, want.malformed_values,
                    "{ctx}: values reported unusable"
                );
            }
        }
    }
}

fn assert_text_eq(got: &[u8], want: &[u8], ctx: &str) {
    if got != want {
        let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
        let line = g.lines().zip(w.lines()).position(|(a, b)| a != b);
        panic!(
            "{ctx}: output differs at line {line:?}\n got: {:?}\nwant: {:?}",
            line.and_then(|l| g.lines().nth(l)),
            line.and_then(|l| w.lines().nth(l)),
        );
    }
}
