//! End-to-end tests of `fleet agg` at high cardinality: from one group to a million, on
//! integer, decimal-text and quoted text keys (embedded commas, newlines and `""` escapes),
//! alone and in pairs (`id,hour(time)`, `id,weekday(time)`, `road,id`), each against a plain
//! reference (the `csv` crate's view of the records, std's `BTreeMap`), across both engines,
//! worker counts 1..3 and chunk sizes down to a few bytes; the output bytes must be the same
//! in every configuration.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

mod common;

/// A small deterministic generator (no rand dependency in the tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[derive(Clone)]
struct Row {
    id: String,
    /// Seconds since 2015-02-01 00:00:00 (a Sunday), `None` for an empty or malformed time.
    secs: Option<i64>,
    time: String,
    lat: String,
    road: String,
    speed: String,
}

fn time_text(secs: i64) -> String {
    let (day, sod) = (secs / 86_400, secs % 86_400);
    format!(
        "2015-02-{:02} {:02}:{:02}:{:02}",
        1 + day,
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// `n` records with about `ids` integer ids, `lats` decimal-text values and `roads` quoted
/// text values.
fn rows(n: usize, ids: u64, lats: u64, roads: u64, seed: u64) -> Vec<Row> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|i| {
            let secs = r.next(7 * 86_400) as i64;
            let (secs, time) = match r.next(50) {
                0 => (None, String::new()),
                1 => (None, "bad".to_string()),
                _ => (Some(secs), time_text(secs)),
            };
            let speed = match r.next(30) {
                0 => String::new(),
                1 => "x".to_string(),
                2 => format!("-{}", r.next(20)),
                3 => format!("{}.{}", r.next(120), r.next(10)),
                _ => r.next(121).to_string(),
            };
            // With as many values as records, every record gets its own (a million groups).
            let lat = if lats as usize >= n {
                i as u64
            } else {
                r.next(lats)
            };
            let road = match r.next(roads) {
                0 => String::new(),
                k if k % 3 == 0 => format!("road \"{k}\", km\n{}", k % 7),
                k if k % 3 == 1 => format!("{k},{k}"),
                k => format!("r{k}"),
            };
            Row {
                id: (10_000 + r.next(ids)).to_string(),
                secs,
                time,
                lat: format!("22.{lat:06}"),
                road,
                speed,
            }
        })
        .collect()
}

fn quote(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

/// CSV text with a header, roads quoted, `crlf` line ends, optionally a BOM, a ragged line
/// every 97 records and no final newline when `last`.
fn csv_text(rows: &[Row], crlf: bool, bom: bool, last: bool) -> String {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str(&format!("id,time,lat,road,speed{nl}"));
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{},{},{},{},{}{nl}",
            r.id,
            r.time,
            r.lat,
            quote(&r.road),
            r.speed
        ));
        if i % 97 == 50 {
            out.push_str(&format!("9,ragged{nl}"));
        }
    }
    if last {
        out.truncate(out.len() - nl.len());
    }
    out
}

/// Three files (plain with a BOM, CRLF, no final newline).
fn write_dataset(dir: &Path, all: &[Row]) {
    let third = all.len().div_ceil(3).max(1);
    for (i, part) in all.chunks(third).enumerate() {
        let text = csv_text(part, i == 1, i == 0, i == 2);
        std::fs::write(dir.join(format!("part-{i}.csv")), text).unwrap();
    }
}

/// Speed in 10^-9 units when it is a plain number.
fn speed_units(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = int.parse::<i128>().unwrap() * 1_000_000_000
        + format!("{frac:0<9}").parse::<i128>().unwrap();
    Some(if neg { -v } else { v })
}

fn units_text(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let m = v.unsigned_abs();
    let (int, frac) = (m / 1_000_000_000, m % 1_000_000_000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", format!("{frac:09}").trim_end_matches('0'))
    }
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn key(row: &Row, which: &str) -> String {
    match which {
        "id" => row.id.clone(),
        "lat" => row.lat.clone(),
        "road" => row.road.clone(),
        "hour" => row
            .secs
            .map(|s| format!("{:02}", s % 86_400 / 3600))
            .unwrap_or_default(),
        // Day 0 is a Sunday.
        "weekday" => row
            .secs
            .map(|s| WEEKDAYS[((s / 86_400 + 6) % 7) as usize].to_string())
            .unwrap_or_default(),
        other => panic!("no key {other}"),
    }
}

/// The default output order of one key's values: weekdays Monday first; numbers
/// numerically before other text bytewise.
fn cmp_key(which: &str, a: &str, b: &str) -> std::cmp::Ordering {
    if which == "weekday" {
        let rank = |v: &str| WEEKDAYS.iter().position(|w| *w == v);
        return rank(a).cmp(&rank(b)).then_with(|| a.cmp(b));
    }
    match (speed_units(a), speed_units(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Reference rows: keys, count, sum(speed), mean(speed) (as f64, compared with a tolerance).
fn reference(rows: &[Row], keys: &[&str]) -> Vec<(Vec<String>, u64, String, Option<f64>)> {
    let mut groups: BTreeMap<Vec<String>, (u64, i128, u64)> = BTreeMap::new();
    for r in rows {
        let k: Vec<String> = keys.iter().map(|w| key(r, w)).collect();
        let g = groups.entry(k).or_default();
        g.0 += 1;
        if let Some(v) = speed_units(&r.speed) {
            g.1 += v;
            g.2 += 1;
        }
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|(k, (n, sum, values))| {
            let (sum_text, mean) = if values == 0 {
                (String::new(), None)
            } else {
                (units_text(sum), Some(sum as f64 / 1e9 / values as f64))
            };
            (k, n, sum_text, mean)
        })
        .collect();
    out.sort_by(|a, b| {
        keys.iter()
            .enumerate()
            .map(|(i, w)| cmp_key(w, &a.0[i], &b.0[i]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

fn run(args: &[&str]) -> std::process::Output {
    let o = common::fleet().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs `--group-by group_by --agg count --agg sum(speed) --agg mean(speed)` in every
/// configuration of `configs`, checks each against the reference and that all give the same
/// bytes; returns the number of groups.
fn check(
    dir: &str,
    all: &[Row],
    group_by: &str,
    keys: &[&str],
    configs: &[(&str, &str, &str)],
) -> usize {
    let want = reference(all, keys);
    let mut first: Option<Vec<u8>> = None;
    for &(engine, workers, chunk) in configs {
        let o = run(&[
            "agg",
            dir,
            "-q",
            "--format",
            "csv",
            "--group-by",
            group_by,
            "--agg",
            "count",
            "--agg",
            "sum(speed)",
            "--agg",
            "mean(speed)",
            "--engine",
            engine,
            "--workers",
            workers,
            "--chunk-size",
            chunk,
        ]);
        let what = format!("{group_by} {engine} -j{workers} chunk {chunk}");
        let got: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&o.stdout[..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(got.len(), want.len(), "{what}: groups");
        let n = keys.len();
        for (row, (k, count, sum, mean)) in got.iter().zip(&want) {
            assert_eq!(&row[..n], &k[..], "{what}: keys");
            assert_eq!(row[n], count.to_string(), "{what}: count of {k:?}");
            assert_eq!(&row[n + 1], sum, "{what}: sum of {k:?}");
            match mean {
                None => assert_eq!(row[n + 2], "", "{what}: mean of {k:?}"),
                Some(m) => {
                    let got: f64 = row[n + 2].parse().unwrap();
                    assert!(
                        (got - m).abs() <= 1e-6 * m.abs().max(1.0),
                        "{what}: mean of {k:?}: {got} vs {m}"
                    );
                }
            }
        }
        match &first {
            None => first = Some(o.stdout),
            Some(f) => assert!(
                f == &o.stdout,
                "{what}: not the same bytes as the first run"
            ),
        }
    }
    want.len()
}

const CONFIGS: [(&str, &str, &str); 6] = [
    ("processes", "1", "8MiB"),
    ("processes", "2", "1KiB"),
    ("processes", "3", "13"),
    ("threads", "2", "5"),
    ("threads", "3", "64KiB"),
    ("threads", "1", "64MiB"),
];

#[test]
fn one_to_thousands_of_groups_match_the_reference_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    // 600 ids x 24 hours: nearly every (id, hour) pair is its own group.
    let all = rows(6_000, 600, 3_000, 400, 5);
    write_dataset(tmp.path(), &all);
    let dir = tmp.path().to_str().unwrap();
    for (group_by, keys, at_least) in [
        ("id,hour(time)", &["id", "hour"][..], 3_000),
        ("id, weekday(time)", &["id", "weekday"][..], 3_000),
        ("lat", &["lat"][..], 2_000),
        ("road", &["road"][..], 300),
        ("road,id", &["road", "id"][..], 3_000),
        ("hour(time),id", &["hour", "id"][..], 3_000),
    ] {
        let groups = check(dir, &all, group_by, keys, &CONFIGS);
        assert!(groups >= at_least, "{group_by}: only {groups} groups");
    }
}

#[test]
fn one_group_and_a_few() {
    let tmp = tempfile::tempdir().unwrap();
    let all = rows(500, 1, 1, 1, 9);
    write_dataset(tmp.path(), &all);
    let dir = tmp.path().to_str().unwrap();
    assert_eq!(check(dir, &all, "id", &["id"], &CONFIGS), 1);
    assert_eq!(check(dir, &all, "lat", &["lat"], &CONFIGS), 1);
    assert_eq!(check(dir, &all, "road", &["road"], &CONFIGS), 1);
    // One id, every hour and the empty key of the bad times.
    assert_eq!(
        check(dir, &all, "id,hour(time)", &["id", "hour"], &CONFIGS),
        25
    );
}

#[test]
fn a_million_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let all = rows(1_000_000, 30_000, 1_000_000, 50_000, 13);
    write_dataset(tmp.path(), &all);
    let dir = tmp.path().to_str().unwrap();
    let configs = [("processes", "2", "4MiB"), ("threads", "3", "1MiB")];
    assert_eq!(check(dir, &all, "lat", &["lat"], &configs), 1_000_000);
    let pairs = check(dir, &all, "id,hour(time)", &["id", "hour"], &configs);
    assert!(pairs > 500_000, "{pairs} pairs");
}
