//! End-to-end tests of `fleet stats`: every figure against a plain reference computed here
//! (the `csv` crate, sorting, i128 arithmetic) on generated data with quoted commas and
//! newlines, `""` escapes, CRLF, a BOM, empty values, missing-value markers, non-numbers,
//! ragged rows and no final newline; byte-identical output for both engines, 1 to 3 workers
//! and chunk sizes down to 1 byte; sketches past the exact cap; `--where`/`--select`; errors.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

mod common;

use common::{fleet, stderr, stdout};

/// A small deterministic generator (xorshift), so the data does not depend on a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const HEADER: &str = "id,x,note,name,t";

/// One CSV field as a writer would quote it.
fn quoted(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// `rows` records of the five columns; every 37th record is ragged (3 fields).
fn records(seed: u64, rows: usize, eol: &str) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for i in 0..rows {
        if i % 37 == 36 {
            out.push_str(&format!("1,2,3{eol}"));
            continue;
        }
        let id = match rng.below(30) {
            0 => String::new(),
            _ => (1 + rng.below(50)).to_string(),
        };
        let x = match rng.below(40) {
            0 | 1 => "NA".to_string(),
            2 => "NULL".to_string(),
            3 => String::new(),
            _ => {
                let v = rng.below(200_000) as i64 - 100_000;
                let sign = if v < 0 { "-" } else { "" };
                match rng.below(3) {
                    0 => format!("{}", v),
                    _ => format!("{sign}{}.{:03}", v.abs() / 1000, v.abs() % 1000)
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string(),
                }
            }
        };
        let x = if x == "-0" { "0".to_string() } else { x };
        let note = rng
            .pick(&["12 km", "?", "NA", "7", "", "n/a", "3.5", "NA"])
            .to_string();
        let name = rng
            .pick(&[
                "Ann",
                "a,b",
                "multi\nline",
                "say \"hi\"",
                "NA",
                "",
                "Bo",
                "Zoë",
            ])
            .to_string();
        let t = match rng.below(30) {
            0 => String::new(),
            _ => format!(
                "2015-02-{:02} {:02}:{:02}:{:02}",
                1 + rng.below(5),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            ),
        };
        let fields = [id, x, note, name, t];
        let line: Vec<String> = fields.iter().map(|f| quoted(f)).collect();
        out.push_str(&line.join(","));
        out.push_str(eol);
    }
    out
}

/// `rows` records of the five columns in runs of equal values, as time-ordered dumps have
/// them (several records per timestamp), broken by missing values, markers and plain
/// numbers; `id` and `x` are numbers off the plain path (11 digits), which `fleet stats`
/// reads once per run. With `late`, three columns change type in the last fifth: `id` from
/// int to float, `x` from int to text, `t` from timestamp to text. Every 37th record is
/// ragged.
fn run_records(seed: u64, rows: usize, eol: &str, late: bool) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    let (mut left, mut second) = (0, 0u64);
    let (mut id, mut x, mut t) = (String::new(), String::new(), String::new());
    for i in 0..rows {
        if i % 37 == 36 {
            out.push_str(&format!("1,2,3{eol}"));
            continue;
        }
        let changed = late && i >= rows * 4 / 5;
        if left == 0 {
            left = 1 + rng.below(6);
            // From 2015-02-01 23:58:00, so the runs cross midnight.
            second += 1 + rng.below(3);
            let s = 23 * 3600 + 58 * 60 + second;
            t = format!(
                "2015-02-{:02} {:02}:{:02}:{:02}",
                1 + s / 86_400,
                s % 86_400 / 3600,
                s % 3600 / 60,
                s % 60
            );
            id = (10_000_000_000 + rng.below(50)).to_string();
            x = (20_000_000_000 + rng.below(1000)).to_string();
            if changed {
                id.push_str(".5");
                x = rng.pick(&["abc", "x y", "Zoë"]).to_string();
                t = "soon".to_string();
            }
        }
        left -= 1;
        let id = match rng.below(15) {
            0 => "",
            _ => id.as_str(),
        };
        let x = match rng.below(20) {
            0 => "NA",
            1 => "",
            2 | 3 => "5",
            _ => x.as_str(),
        };
        let t = match rng.below(25) {
            0 => "",
            1 => "NA",
            _ => t.as_str(),
        };
        let note = rng.pick(&["12 km", "?", "NA", "7", "", "n/a", "3.5", "NA"]);
        let name = rng.pick(&["Ann", "a,b", "multi\nline", "say \"hi\"", "NA", "", "Zoë"]);
        let line: Vec<String> = [id, x, note, name, t].iter().map(|f| quoted(f)).collect();
        out.push_str(&line.join(","));
        out.push_str(eol);
    }
    out
}

/// Two files: LF without a final newline, and CRLF after a BOM.
fn dataset(seed: u64, rows: usize) -> tempfile::TempDir {
    dataset_of(seed, |seed, eol| records(seed, rows, eol))
}

/// [`dataset`] of the records `records(seed, eol)` makes.
fn dataset_of(seed: u64, records: impl Fn(u64, &str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let a = format!("{HEADER}\n{}", records(seed, "\n"));
    std::fs::write(dir.path().join("a.csv"), a.trim_end_matches('\n')).unwrap();
    let b = format!("\u{feff}{HEADER}\r\n{}", records(seed + 1, "\r\n"));
    std::fs::write(dir.path().join("b.csv"), b).unwrap();
    dir
}

const MARKERS: [&str; 6] = ["NA", "NULL", "null", "NaN", "N/A", "\\N"];

/// A plain decimal as a count of 10^-9 units.
fn scaled(v: &str) -> Option<i128> {
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || frac.len() > 9
    {
        return None;
    }
    let digits = format!("{int}{frac:0<9}");
    let m: i128 = digits.parse().ok()?;
    Some(if neg { -m } else { m })
}

fn is_timestamp(v: &str) -> bool {
    v.len() == 19 && v.as_bytes()[4] == b'-' && v.as_bytes()[10] == b' '
}

/// Decimal text of 10^-9 units without trailing fraction zeros.
fn decimal_text(v: i128) -> String {
    let m = v.unsigned_abs();
    let (int, frac) = (m / 1_000_000_000, m % 1_000_000_000);
    let sign = if v < 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", format!("{frac:09}").trim_end_matches('0'))
    }
}

/// The mean to 6 fraction digits, ties to even.
fn mean_text(sum: i128, n: i128) -> String {
    let m = sum.unsigned_abs();
    let den = n as u128 * 1000;
    let (mut q, r) = (m / den, m % den);
    if 2 * r > den || (2 * r == den && q % 2 == 1) {
        q += 1;
    }
    let sign = if sum < 0 && q != 0 { "-" } else { "" };
    format!("{sign}{}.{:06}", q / 1_000_000, q % 1_000_000)
}

fn nearest_rank(sorted: &[i128], q: usize) -> i128 {
    let rank = (sorted.len() * q).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// What `fleet stats --format jsonl` must print for each column, from the csv crate.
fn reference(dir: &Path) -> (Vec<BTreeMap<&'static str, Value>>, u64) {
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); 5];
    let mut malformed = 0;
    for name in ["a.csv", "b.csv"] {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(dir.join(name))
            .unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            if rec.len() != 5 {
                malformed += 1;
                continue;
            }
            for (c, v) in rec.iter().enumerate() {
                columns[c].push(v.to_string());
            }
        }
    }
    let names = HEADER.split(',').collect::<Vec<_>>();
    let mut out = Vec::new();
    for (c, values) in columns.iter().enumerate() {
        let mut m: BTreeMap<&'static str, Value> = BTreeMap::new();
        let is_marker = |v: &str| MARKERS.contains(&v);
        let others: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|v| !v.is_empty() && !is_marker(v))
            .collect();
        let text_column = others
            .iter()
            .any(|v| scaled(v).is_none() && !is_timestamp(v));
        let present: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|v| !v.is_empty() && (text_column || !is_marker(v)))
            .collect();
        let ty = if others.is_empty() || text_column {
            "utf8"
        } else if others
            .iter()
            .all(|v| !v.contains('.') && scaled(v).is_some())
        {
            "int64"
        } else if others.iter().all(|v| scaled(v).is_some()) {
            "float64"
        } else if others.iter().all(|v| is_timestamp(v)) {
            "timestamp"
        } else {
            "utf8"
        };
        m.insert("column", names[c].into());
        m.insert("type", ty.into());
        m.insert("count", (present.len() as u64).into());
        m.insert("missing", ((values.len() - present.len()) as u64).into());
        let distinct: BTreeSet<&str> = present.iter().copied().collect();
        m.insert("distinct", (distinct.len() as u64).into());
        if ty == "int64" || ty == "float64" {
            let mut nums: Vec<i128> = present.iter().map(|v| scaled(v).unwrap()).collect();
            nums.sort();
            let sum: i128 = nums.iter().sum();
            m.insert("min", decimal_text(nums[0]).into());
            m.insert("max", decimal_text(*nums.last().unwrap()).into());
            m.insert("sum", decimal_text(sum).into());
            m.insert("mean", mean_text(sum, nums.len() as i128).into());
            for (name, q) in [
                ("p1", 1),
                ("p25", 25),
                ("median", 50),
                ("p75", 75),
                ("p99", 99),
            ] {
                m.insert(name, decimal_text(nearest_rank(&nums, q)).into());
            }
        }
        if ty == "timestamp" {
            let mut ts = present.clone();
            ts.sort();
            m.insert("first", ts[0].into());
            m.insert("last", (*ts.last().unwrap()).into());
            let day = |t: &str| t[8..10].parse::<i64>().unwrap();
            let span = day(ts.last().unwrap()) - day(ts[0]) + 1;
            m.insert(
                "per_day",
                format!("{:.1}", ts.len() as f64 / span as f64).into(),
            );
        }
        if ty == "utf8" {
            let len = |v: &&str| v.chars().count() as u64;
            m.insert("min_len", present.iter().map(len).min().unwrap().into());
            m.insert("max_len", present.iter().map(len).max().unwrap().into());
            let mut counts: HashMap<&str, u64> = HashMap::new();
            for v in &present {
                *counts.entry(v).or_insert(0) += 1;
            }
            let mut top: Vec<(&str, u64)> = counts.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let top: Vec<Value> = top
                .into_iter()
                .take(5)
                .map(|(v, n)| Value::Array(vec![v.into(), n.into()]))
                .collect();
            m.insert("top", Value::Array(top));
        }
        out.push(m);
    }
    (out, malformed)
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    let o = fleet().arg("stats").args(args).arg(dir).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o
}

fn jsonl(text: &str) -> Vec<serde_json::Map<String, Value>> {
    text.lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

#[test]
fn every_figure_matches_the_reference() {
    let dir = dataset(11, 300);
    let (expected, malformed) = reference(dir.path());
    let o = run(&["--format", "jsonl", "-j", "2"], dir.path());
    let got = jsonl(&stdout(&o));
    assert_eq!(got.len(), 5);
    // The data exercises every kind of column.
    let types: Vec<&str> = expected
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["int64", "float64", "utf8", "utf8", "timestamp"]);
    assert!(malformed > 0);
    assert!(
        stderr(&o).contains(&format!("{malformed} malformed")),
        "{}",
        stderr(&o)
    );
    for (want, have) in expected.iter().zip(&got) {
        for (key, value) in want {
            assert_eq!(
                have.get(*key),
                Some(value),
                "column {} figure {key}",
                want["column"]
            );
        }
        assert_eq!(have["distinct_approx"], Value::Bool(false));
        assert_eq!(have["quantiles_approx"], Value::Bool(false));
    }
    // Markers: missing in the number column x, values in the text column note.
    assert!(
        expected[1]["missing"].as_u64().unwrap() > expected[1]["count"].as_u64().unwrap() / 100
    );
    let note_top = got[2]["top"].as_array().unwrap();
    assert!(note_top.iter().any(|t| t[0] == "NA"), "{note_top:?}");
    // stddev: the exact value, to 6 digits, against an f64 computation.
    let xs: Vec<f64> = {
        let mut v = Vec::new();
        for name in ["a.csv", "b.csv"] {
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_path(dir.path().join(name))
                .unwrap();
            for rec in rdr.records() {
                let rec = rec.unwrap();
                if rec.len() == 5 {
                    if let Some(s) = scaled(&rec[1]) {
                        v.push(s as f64 / 1e9);
                    }
                }
            }
        }
        v
    };
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let have: f64 = got[1]["stddev"].as_str().unwrap().parse().unwrap();
    assert!((have - sd).abs() < 1e-5, "{have} vs {sd}");
}

#[test]
fn output_is_identical_for_every_engine_worker_count_and_chunk_size() {
    let dir = dataset(5, 120);
    let base = stdout(&run(&["--format", "csv", "-j", "1"], dir.path()));
    let rows = csv::Reader::from_reader(base.as_bytes()).records().count();
    assert_eq!(rows, 5, "{base}");
    same_for_every_engine_worker_count_and_chunk_size(dir.path(), "csv", &base, "");
}

/// Runs of equal values (taken once, then repeated cheaply) and columns that change type
/// late (after the runs, in the last chunk or in any chunk): every figure against the
/// reference, the same output for both engines, 1 to 3 workers and chunks down to 1 byte.
#[test]
fn runs_of_equal_values_and_late_type_changes_match_the_reference() {
    for (late, types) in [
        (false, ["int64", "int64", "utf8", "utf8", "timestamp"]),
        (true, ["float64", "utf8", "utf8", "utf8", "utf8"]),
    ] {
        let dir = dataset_of(21, |seed, eol| run_records(seed, 400, eol, late));
        let (expected, malformed) = reference(dir.path());
        assert!(malformed > 0);
        let have: Vec<&str> = expected
            .iter()
            .map(|m| m["type"].as_str().unwrap())
            .collect();
        assert_eq!(have, types, "late {late}");
        let base = stdout(&run(&["--format", "jsonl", "-j", "1"], dir.path()));
        let got = jsonl(&base);
        assert_eq!(got.len(), 5);
        for (want, have) in expected.iter().zip(&got) {
            for (key, value) in want {
                assert_eq!(
                    have.get(*key),
                    Some(value),
                    "late {late} column {} figure {key}",
                    want["column"]
                );
            }
        }
        let what = format!("late {late}");
        same_for_every_engine_worker_count_and_chunk_size(dir.path(), "jsonl", &base, &what);
    }
}

#[test]
fn past_the_cap_distinct_counts_and_quantiles_are_sketched_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let n = 30_000u64;
    let mut text = String::from("v\n");
    for i in 1..=n {
        text.push_str(&format!("{i}\n"));
    }
    std::fs::write(dir.path().join("v.csv"), text).unwrap();
    let one = stdout(&run(&["--format", "jsonl", "-j", "1"], dir.path()));
    let many = stdout(&run(
        &["--format", "jsonl", "-j", "2", "--chunk-size", "4KiB"],
        dir.path(),
    ));
    assert_eq!(one, many);
    let got = &jsonl(&one)[0];
    assert_eq!(got["distinct_approx"], Value::Bool(true));
    assert_eq!(got["quantiles_approx"], Value::Bool(true));
    // Exact whatever the cap: count, min, max, sum, mean.
    assert_eq!(got["count"], n);
    assert_eq!(got["min"], "1");
    assert_eq!(got["max"], n.to_string());
    assert_eq!(got["sum"], (n * (n + 1) / 2).to_string());
    let distinct = got["distinct"].as_u64().unwrap() as f64;
    assert!(
        (distinct - n as f64).abs() / (n as f64) < 0.03,
        "{distinct}"
    );
    for (key, q) in [("p1", 0.01), ("median", 0.5), ("p99", 0.99)] {
        let v: f64 = got[key].as_str().unwrap().parse().unwrap();
        let want = q * n as f64;
        assert!((v - want).abs() / want < 0.03, "{key}: {v} vs {want}");
    }
    // The table marks them.
    let table = stdout(&run(&["--format", "table"], dir.path()));
    assert!(
        table.contains(&format!("~{}", got["median"].as_str().unwrap())),
        "{table}"
    );
}

#[test]
fn where_and_select_profile_only_the_passing_records_and_chosen_columns() {
    let dir = dataset(3, 200);
    let o = run(
        &["--format", "jsonl", "--select", "t,id", "--where", "id<=10"],
        dir.path(),
    );
    let got = jsonl(&stdout(&o));
    let names: Vec<&str> = got.iter().map(|m| m["column"].as_str().unwrap()).collect();
    assert_eq!(names, ["t", "id"]);
    assert_eq!(got[1]["max"], "10");
    let mut want = 0u64;
    for name in ["a.csv", "b.csv"] {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(dir.path().join(name))
            .unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            if rec.len() == 5 && rec[0].parse::<u64>().is_ok_and(|v| v <= 10) {
                want += 1;
            }
        }
    }
    assert!(want > 0);
    assert_eq!(got[1]["count"], want);
}

#[test]
fn the_table_shows_every_column_with_sparklines() {
    let dir = dataset(9, 100);
    let o = run(&["--format", "table"], dir.path());
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("records, 6 malformed (not profiled)") || lines[0].contains("records")
    );
    for name in HEADER.split(',') {
        assert!(
            lines[1].split_whitespace().any(|w| w == name),
            "{}",
            lines[1]
        );
    }
    let hist = lines.iter().find(|l| l.starts_with("histogram")).unwrap();
    assert!(hist.contains('█'), "{hist}");
    // Every line but the first is aligned to the header's width.
    let width = |l: &str| l.chars().count();
    let ty = lines.iter().find(|l| l.starts_with("type")).unwrap();
    assert_eq!(width(ty), width(lines[1]));
}

#[test]
fn bad_arguments_fail_in_one_line() {
    let dir = dataset(1, 10);
    for (args, what) in [
        (vec!["--select", "nope"], "nope"),
        (vec!["--where", "nope=1"], "--where"),
    ] {
        let o = fleet()
            .arg("stats")
            .args(&args)
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(what), "{err}");
    }
}

/// Columns at the exact cap, cut so that the cap is reached inside one chunk and not in
/// another: `under` has exactly `EXACT_CAP` (10,000) distinct values over the file, the first
/// 6,000 in the first half and the rest after, so no chunk but the whole holds all of them;
/// `over` has 10,001, crossing the cap only in the union of the halves; `early` crosses it
/// inside the first half alone (12,000 distinct there) and repeats three values after.
/// Whatever the chunking, `under` is exact (checked against the values) and the others are
/// sketched, with the same output.
#[test]
fn a_column_at_the_cap_is_exact_or_sketched_by_its_whole_distinct_count() {
    const CAP: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let rows = 24_000u64;
    let mut text = String::from("under,over,early\n");
    let mut under = Vec::new();
    for i in 0..rows {
        // under: 0..6000 in the first half, 6000..10000 in the second, each value 2-3 times.
        let u = if i < rows / 2 {
            i % 6_000
        } else {
            6_000 + i % 4_000
        };
        // over: the same shape with one more value in the second half.
        let o = if i < rows / 2 {
            i % 6_000
        } else {
            6_000 + i % 4_001
        };
        let e = if i < rows / 2 { i } else { i % 3 };
        // Negative and fractional forms, so several number paths are taken.
        let u_text = if u % 2 == 0 {
            format!("-{}.5", u)
        } else {
            u.to_string()
        };
        text.push_str(&format!("{u_text},{o},{e}\n"));
        under.push(scaled(&u_text).unwrap());
    }
    std::fs::write(dir.path().join("v.csv"), text).unwrap();
    let base = stdout(&run(&["--format", "jsonl", "-j", "1"], dir.path()));
    for engine in ["processes", "threads"] {
        for (workers, chunk) in [("2", "4KiB"), ("3", "100KiB"), ("2", "256KiB")] {
            let o = run(
                &[
                    "--format",
                    "jsonl",
                    "--engine",
                    engine,
                    "-j",
                    workers,
                    "--chunk-size",
                    chunk,
                ],
                dir.path(),
            );
            assert_eq!(
                stdout(&o),
                base,
                "engine {engine} workers {workers} chunk {chunk}"
            );
        }
    }
    let got = jsonl(&base);
    assert_eq!(got[0]["distinct"], CAP);
    assert_eq!(got[0]["distinct_approx"], Value::Bool(false));
    assert_eq!(got[0]["quantiles_approx"], Value::Bool(false));
    under.sort();
    for (name, q) in [
        ("p1", 1),
        ("p25", 25),
        ("median", 50),
        ("p75", 75),
        ("p99", 99),
    ] {
        assert_eq!(
            got[0][name],
            decimal_text(nearest_rank(&under, q)),
            "{name}"
        );
    }
    let sum: i128 = under.iter().sum();
    assert_eq!(got[0]["sum"], decimal_text(sum));
    assert_eq!(got[0]["min"], decimal_text(under[0]));
    for (c, name) in [(1, "over"), (2, "early")] {
        assert_eq!(got[c]["column"], name);
        assert_eq!(got[c]["distinct_approx"], Value::Bool(true), "{name}");
        assert_eq!(got[c]["quantiles_approx"], Value::Bool(true), "{name}");
        assert_eq!(got[c]["count"], rows, "{name}");
    }
    assert_eq!(got[1]["max"], "10000");
    assert_eq!(got[2]["max"], (rows / 2 - 1).to_string());
}

/// Asserts that `fleet stats --format FORMAT` on `dir` prints `base` with both engines, 1 to
/// 3 workers and chunks of 1, 7 and 100 bytes and 64 KiB; `what` names the case on failure.
fn same_for_every_engine_worker_count_and_chunk_size(
    dir: &Path,
    format: &str,
    base: &str,
    what: &str,
) {
    for engine in ["processes", "threads"] {
        for workers in ["1", "2", "3"] {
            for chunk in ["1", "7", "100", "64KiB"] {
                let o = run(
                    &[
                        "--format",
                        format,
                        "--engine",
                        engine,
                        "-j",
                        workers,
                        "--chunk-size",
                        chunk,
                    ],
                    dir,
                );
                assert_eq!(
                    stdout(&o),
                    base,
                    "{what} engine {engine} workers {workers} chunk {chunk}"
                );
            }
        }
    }
}
