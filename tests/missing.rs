//! End-to-end tests of missing values on the committed R-style export
//! `fixtures/flights/flights.csv` (missing values written `NA`): the five questions of issue 22,
//! each answered by the `fleet` binary and by a plain reference (the `csv` crate, `NA` read as
//! missing in number and timestamp columns by hand); then `--null`, `fleet.toml`'s `null`,
//! values that are not comparable with `--strict`, `is null`, exponents, and column files.
#![allow(clippy::unwrap_used)]

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use common::{fleet, stderr, stdout};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;

fn flights_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/flights")
}

fn run(args: &[&str]) -> Output {
    fleet().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "fleet {args:?} failed: {}",
        stderr(&out)
    );
    out
}

/// The flights, as the `csv` crate reads them: one map per row, column name to text.
fn flights() -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(flights_dir().join("flights.csv")).unwrap();
    let names: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            names
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// A number column's value: `None` for R's `NA`.
fn int(row: &BTreeMap<String, String>, column: &str) -> Option<i64> {
    match row[column].as_str() {
        "NA" => None,
        text => Some(text.parse().unwrap()),
    }
}

/// `carrier,value` lines of an agg CSV output (header skipped).
fn per_carrier(out: &Output) -> BTreeMap<String, String> {
    stdout(out)
        .lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(',').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The five rows of the table.

#[test]
fn arr_delay_over_1000_does_not_return_the_na_rows() {
    let want = flights()
        .iter()
        .filter(|r| int(r, "arr_delay").is_some_and(|d| d > 1000))
        .count();
    assert_eq!(want, fleet_fixtures::FLIGHTS_LONG_DELAYS.len());
    let dir = flights_dir();
    for engine in ["processes", "threads"] {
        let out = ok(&[
            "scan",
            "--where",
            "arr_delay>1000",
            "--count",
            "--engine",
            engine,
            "--chunk-size",
            "4KiB",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(stdout(&out).trim(), want.to_string());
        // NA is missing, not a value that cannot be compared: nothing to warn about.
        assert!(!stderr(&out).contains("not comparable"), "{}", stderr(&out));
    }
}

#[test]
fn max_arr_delay_per_carrier_is_numeric() {
    let mut want: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for r in flights() {
        let e = want.entry(r["carrier"].clone()).or_default();
        if let Some(d) = int(&r, "arr_delay") {
            *e = Some(e.map_or(d, |m| m.max(d)));
        }
    }
    assert_eq!(want.len(), 16, "every carrier flies");
    let out = ok(&[
        "agg",
        "--group-by",
        "carrier",
        "--agg",
        "max(arr_delay)",
        flights_dir().to_str().unwrap(),
    ]);
    let want: BTreeMap<String, String> = want
        .into_iter()
        .map(|(k, v)| (k, v.map_or(String::new(), |v| v.to_string())))
        .collect();
    assert_eq!(per_carrier(&out), want);
    assert!(!stdout(&out).contains("NA"), "{}", stdout(&out));
}

#[test]
fn count_dep_time_counts_the_flights_that_departed() {
    let rows = flights();
    let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let e = want.entry(r["carrier"].clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(int(r, "dep_time").is_some());
    }
    assert!(
        want.values().any(|(all, departed)| departed < all),
        "some carrier had a cancelled flight"
    );
    let out = ok(&[
        "agg",
        "--group-by",
        "carrier",
        "--agg",
        "count",
        "--agg",
        "count(dep_time)",
        flights_dir().to_str().unwrap(),
    ]);
    let want: BTreeMap<String, String> = want
        .into_iter()
        .map(|(k, (all, departed))| (k, format!("{all},{departed}")))
        .collect();
    assert_eq!(per_carrier(&out), want);
    // Totals take the dense shared path: the same counts.
    let out = ok(&[
        "agg",
        "--agg",
        "count(dep_time)",
        "--agg",
        "count(arr_delay)",
        "--agg",
        "sum(arr_delay)",
        flights_dir().to_str().unwrap(),
    ]);
    let departed = rows.iter().filter(|r| int(r, "dep_time").is_some()).count();
    let arrived: Vec<i64> = rows.iter().filter_map(|r| int(r, "arr_delay")).collect();
    assert_eq!(
        stdout(&out).lines().nth(1).unwrap(),
        format!(
            "{departed},{},{}",
            arrived.len(),
            arrived.iter().sum::<i64>()
        )
    );
    assert!(
        !stderr(&out).contains("not usable"),
        "NA is missing, not bad: {}",
        stderr(&out)
    );
}

fn read_parquet(path: &Path) -> (Vec<(String, DataType)>, Vec<RecordBatch>) {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).unwrap(),
    )
    .unwrap();
    let fields = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    (
        fields,
        builder.build().unwrap().map(Result::unwrap).collect(),
    )
}

fn column_of<'a>(
    fields: &[(String, DataType)],
    batches: &'a [RecordBatch],
    name: &str,
) -> Vec<&'a dyn Array> {
    let i = fields.iter().position(|(n, _)| n == name).unwrap();
    batches.iter().map(|b| b.column(i).as_ref()).collect()
}

/// Seconds since 1970 of a UTC `YYYY-MM-DDTHH:MM:SSZ`, by a plain calendar count.
fn utc_seconds(text: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let month_days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let mut days: i64 = (1970..y).map(|y| if leap(y) { 366 } else { 365 }).sum();
    days += month_days[..(m - 1) as usize].iter().sum::<i64>();
    days += i64::from(m > 2 && leap(y)) + d - 1;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

#[test]
fn convert_types_delays_as_int64_and_time_hour_as_utc() {
    let rows = flights();
    let out_dir = tempfile::tempdir().unwrap();
    let out = ok(&[
        "convert",
        flights_dir().to_str().unwrap(),
        "-o",
        out_dir.path().to_str().unwrap(),
    ]);
    let summary = stderr(&out);
    assert!(summary.contains("arr_delay int64"), "{summary}");
    assert!(summary.contains("time_hour timestamp (UTC)"), "{summary}");
    let (fields, batches) = read_parquet(&out_dir.path().join("flights.parquet"));
    for name in ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"] {
        let (_, ty) = fields.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(ty, &DataType::Int64, "{name}");
        let got: Vec<Option<i64>> = column_of(&fields, &batches, name)
            .into_iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
            .collect();
        let want: Vec<Option<i64>> = rows.iter().map(|r| int(r, name)).collect();
        assert_eq!(got, want, "{name}");
        assert!(got.iter().any(Option::is_none), "{name} has nulls");
    }
    let (_, ty) = fields.iter().find(|(n, _)| n == "time_hour").unwrap();
    assert_eq!(
        ty,
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    let got: Vec<Option<i64>> = column_of(&fields, &batches, "time_hour")
        .into_iter()
        .flat_map(|a| {
            a.as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect();
    let want: Vec<Option<i64>> = rows
        .iter()
        .map(|r| match r["time_hour"].as_str() {
            "NA" => None,
            t => Some(utc_seconds(t) * 1_000_000),
        })
        .collect();
    assert_eq!(got, want);
    // A text column keeps its real "NA" (North America); so does tailnum, by the default
    // rule, since it is a text column too.
    for name in ["region", "tailnum", "carrier"] {
        let (_, ty) = fields.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(ty, &DataType::Utf8, "{name}");
        let got: Vec<Option<String>> = column_of(&fields, &batches, name)
            .into_iter()
            .flat_map(|a| {
                a.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect::<Vec<_>>()
            })
            .collect();
        let want: Vec<Option<String>> = rows.iter().map(|r| Some(r[name].clone())).collect();
        assert_eq!(got, want, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// The rule's edges, on the same data.

fn count(args: &[&str]) -> u64 {
    let dir = flights_dir();
    let mut all = vec!["scan", "--count", "-q"];
    all.extend_from_slice(args);
    all.push(dir.to_str().unwrap());
    stdout(&ok(&all)).trim().parse().unwrap()
}

#[test]
fn a_text_column_keeps_its_real_na_and_is_null_finds_the_missing() {
    let rows = flights();
    let real_na = rows.iter().filter(|r| r["region"] == "NA").count() as u64;
    assert!(real_na > 0);
    assert_eq!(count(&["--where", "region=NA"]), real_na);
    let missing = rows
        .iter()
        .filter(|r| int(r, "arr_delay").is_none())
        .count() as u64;
    assert_eq!(count(&["--where", "arr_delay is null"]), missing);
    assert_eq!(
        count(&["--where", "arr_delay IS NOT NULL"]),
        rows.len() as u64 - missing
    );
    assert_eq!(count(&["--where", "arr_delay=NA"]), missing);
    // `!=` on a number: a missing value is neither equal nor unequal.
    let not_zero = rows
        .iter()
        .filter(|r| int(r, "arr_delay").is_some_and(|d| d != 0))
        .count() as u64;
    assert_eq!(count(&["--where", "arr_delay!=0"]), not_zero);
    // A timestamp comparison skips the missing times (`NA` > `2013` as bytes).
    let late = rows
        .iter()
        .filter(|r| r["time_hour"] != "NA" && r["time_hour"].as_str() >= "2013-07-01")
        .count() as u64;
    assert_eq!(count(&["--where", "time_hour>=2013-07-01"]), late);
    let out = ok(&[
        "agg",
        "--agg",
        "count(region)",
        "--agg",
        "distinct(region)",
        "--agg",
        "max(region)",
        flights_dir().to_str().unwrap(),
    ]);
    let regions: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["region"].as_str()).collect();
    assert_eq!(
        stdout(&out).lines().nth(1).unwrap(),
        format!("{},{},SA", rows.len(), regions.len())
    );
}

#[test]
fn given_markers_replace_the_default_and_flags_beat_fleet_toml() {
    let rows = flights();
    let tail_na = rows.iter().filter(|r| r["tailnum"] == "NA").count();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        flights_dir().join("flights.csv"),
        dir.path().join("flights.csv"),
    )
    .unwrap();
    let data = dir.path().to_str().unwrap();
    let counts = |extra: &[&str]| {
        let mut args = vec![
            "agg",
            "--agg",
            "count(tailnum)",
            "--agg",
            "count(arr_delay)",
        ];
        args.extend_from_slice(extra);
        args.push(data);
        stdout(&ok(&args)).lines().nth(1).unwrap().to_string()
    };
    let arrived = rows
        .iter()
        .filter(|r| int(r, "arr_delay").is_some())
        .count();
    // Default: tailnum is a text column, so its NA counts; arr_delay's does not.
    assert_eq!(counts(&[]), format!("{},{arrived}", rows.len()));
    // --null NA: missing everywhere.
    assert_eq!(
        counts(&["--null", "NA"]),
        format!("{},{arrived}", rows.len() - tail_na)
    );
    // fleet.toml says the same; a flag replaces its list.
    std::fs::write(dir.path().join("fleet.toml"), "null = [\"\", \"NA\"]\n").unwrap();
    assert_eq!(counts(&[]), format!("{},{arrived}", rows.len() - tail_na));
    let only_empty = counts(&["--null", ""]);
    assert_eq!(only_empty, format!("{},{}", rows.len(), rows.len()));
}

#[test]
fn values_that_are_not_comparable_are_counted_located_and_refused_by_strict() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delays.csv");
    std::fs::write(
        &file,
        "carrier,arr_delay\nUA,12\nAA,NA\nDL,late\nB6,1.5e3\nWN,\nUS,n/a\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = ok(&["scan", "--where", "arr_delay>10", path]);
    assert_eq!(stdout(&out), "carrier,arr_delay\nUA,12\nB6,1.5e3\n");
    let err = stderr(&out);
    assert!(
        err.contains("2 record(s) have a value that is neither a number nor missing"),
        "{err}"
    );
    assert!(err.contains(&format!("at {path}:4")), "{err}");
    assert!(err.contains(&format!("at {path}:7")), "{err}");
    // `=` does not find text equal to a number, and says nothing.
    let out = ok(&["scan", "--where", "arr_delay=1500", path]);
    assert_eq!(stdout(&out), "carrier,arr_delay\nB6,1.5e3\n");
    assert!(!stderr(&out).contains("neither"), "{}", stderr(&out));
    let out = run(&["scan", "--strict", "--where", "arr_delay<0", path]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("(first at {path}:4); --strict refuses them")),
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("fleet: error"))
            .count(),
        1
    );
    // agg skips the bad values (and says so) and the missing ones (silently), and notes that
    // in a column holding text the markers are read as values.
    let out = ok(&[
        "agg",
        "--agg",
        "sum(arr_delay)",
        "--agg",
        "count(arr_delay)",
        path,
    ]);
    assert_eq!(stdout(&out), "sum(arr_delay),count(arr_delay)\n1512,5\n");
    let err = stderr(&out);
    assert!(
        err.contains("2 value(s) for sum(arr_delay) were not usable"),
        "{err}"
    );
    assert!(err.contains("note: count(arr_delay) read NA"), "{err}");
}

#[test]
fn scan_and_agg_column_files_read_markers_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("late.parquet");
    ok(&[
        "scan",
        "--where",
        "dep_delay>60",
        "--select",
        "carrier,arr_delay,time_hour",
        "--format",
        "parquet",
        "-o",
        scan.to_str().unwrap(),
        flights_dir().to_str().unwrap(),
    ]);
    let (fields, batches) = read_parquet(&scan);
    assert_eq!(
        fields,
        vec![
            ("carrier".to_string(), DataType::Utf8),
            ("arr_delay".to_string(), DataType::Int64),
            (
                "time_hour".to_string(),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            ),
        ]
    );
    let nulls: usize = column_of(&fields, &batches, "arr_delay")
        .iter()
        .map(|a| a.null_count())
        .sum();
    let rows = flights();
    let want = rows
        .iter()
        .filter(|r| int(r, "dep_delay").is_some_and(|d| d > 60) && int(r, "arr_delay").is_none())
        .count();
    assert_eq!(nulls, want, "diverted late flights");
    let agg = dir.path().join("max.parquet");
    ok(&[
        "agg",
        "--group-by",
        "carrier",
        "--agg",
        "max(arr_delay)",
        "--format",
        "parquet",
        "-o",
        agg.to_str().unwrap(),
        flights_dir().to_str().unwrap(),
    ]);
    let (fields, _) = read_parquet(&agg);
    assert_eq!(fields[1], ("max(arr_delay)".to_string(), DataType::Int64));
}

// ---------------------------------------------------------------------------------------
// Generated data with each marker, converted.

/// What the README's rule makes of one column of text values: its type, and per value
/// whether it is null. `given`: the `--null` list (None: the default rule).
fn ref_column(values: &[&str], given: Option<&[&str]>) -> (DataType, Vec<bool>) {
    let default = ["NA", "NULL", "null", "NaN", "N/A", "\\N"];
    let always = |v: &str| v.is_empty() || given.is_some_and(|g| g.contains(&v));
    let marker = |v: &str| given.is_none() && default.contains(&v);
    let int = |v: &str| {
        let d = v.strip_prefix('-').unwrap_or(v);
        !d.is_empty()
            && d.bytes().all(|b| b.is_ascii_digit())
            && !(d.len() > 1 && d.starts_with('0'))
            && v != "-0"
    };
    let float = |v: &str| {
        !v.starts_with('+')
            && !v.contains(['i', 'n', 'N', 'I'])
            && v.parse::<f64>().is_ok_and(f64::is_finite)
            && !v.trim_start_matches('-').starts_with("00")
    };
    let time = |v: &str| v.len() == 19 && v.as_bytes()[10] == b' ' && v.starts_with("2013-");
    // The null rule's numbers: any sign, leading zeros, exponents (wider than Float64's).
    let number = |v: &str| {
        let v = v.strip_prefix(['+', '-']).unwrap_or(v);
        let (m, e) = v.split_once(['e', 'E']).unwrap_or((v, "0"));
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        let (i, f) = m.split_once('.').unwrap_or((m, ""));
        let has_digits = (!i.is_empty() || !f.is_empty()) && !e.is_empty();
        has_digits
            && [i, f, e]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    let typed: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| !always(v) && !marker(v))
        .collect();
    let ty = if typed.is_empty() {
        DataType::Utf8
    } else if typed.iter().all(|v| int(v)) {
        DataType::Int64
    } else if typed.iter().all(|v| float(v)) {
        DataType::Float64
    } else if typed.iter().all(|v| time(v)) {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    } else {
        DataType::Utf8
    };
    // A column with text keeps the default markers as text; numbers and times do not.
    let text = typed.iter().any(|v| !number(v) && !time(v));
    let nulls = values
        .iter()
        .map(|v| always(v) || (marker(v) && !text))
        .collect();
    (ty, nulls)
}

#[test]
fn convert_reads_each_marker_as_the_rule_says() {
    for (markers, given) in [
        (&["", "NA", "NULL", "null", "NaN", "N/A", "\\N"][..], None),
        (&["", "-999", "?", "NA"][..], Some(&["-999", "?"][..])),
        (&["\\N"][..], Some(&["\\N"][..])),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // Twice: as generated (its number column holds some text), and with that text
        // replaced by numbers, so that column is typed and its markers are null.
        for clean in [false, true] {
            let data = fleet_fixtures::missing_csv(9, 3000, markers);
            let mut rdr = csv::Reader::from_reader(&data[..]);
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(rdr.headers().unwrap()).unwrap();
            let mut rows: Vec<Vec<String>> = Vec::new();
            for r in rdr.records() {
                let mut r: Vec<String> = r.unwrap().iter().map(String::from).collect();
                let text = ["12 km", "?", "n/a", "nan", "-", "1,5"].contains(&r[1].as_str());
                if clean && text && !given.is_some_and(|g| g.contains(&r[1].as_str())) {
                    r[1] = "7".to_string();
                }
                w.write_record(&r).unwrap();
                rows.push(r);
            }
            std::fs::write(dir.path().join("m.csv"), w.into_inner().unwrap()).unwrap();
            let out = dir.path().join("out");
            let mut args = vec![
                "convert".to_string(),
                dir.path().join("m.csv").to_str().unwrap().to_string(),
                "-o".to_string(),
                out.to_str().unwrap().to_string(),
            ];
            for g in given.unwrap_or_default() {
                args.push(format!("--null={g}"));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&args);
            let (fields, batches) = read_parquet(&out.join("m.parquet"));
            for (c, name) in ["id", "x", "name", "t", "note"].iter().enumerate() {
                let values: Vec<&str> = rows.iter().map(|r| r[c].as_str()).collect();
                let (ty, nulls) = ref_column(&values, given);
                let ctx = format!("{markers:?} clean {clean} column {name}");
                assert_eq!(fields[c].1, ty, "{ctx}");
                let got: Vec<bool> = column_of(&fields, &batches, name)
                    .iter()
                    .flat_map(|a| (0..a.len()).map(|i| a.is_null(i)).collect::<Vec<_>>())
                    .collect();
                let first_difference = got.iter().zip(&nulls).position(|(a, b)| a != b);
                assert_eq!(
                    (got.len(), first_difference.map(|i| values[i])),
                    (nulls.len(), None),
                    "{ctx}: nulls differ"
                );
                if ty == DataType::Utf8 {
                    // Text that is not null is written as it is, markers included.
                    let texts: Vec<Option<String>> = column_of(&fields, &batches, name)
                        .iter()
                        .flat_map(|a| {
                            a.as_string::<i32>()
                                .iter()
                                .map(|v| v.map(String::from))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    for ((got, want), null) in texts.iter().zip(&values).zip(&nulls) {
                        if !null {
                            assert_eq!(got.as_deref(), Some(*want), "{ctx}");
                        }
                    }
                }
            }
        }
    }
}
