//! End-to-end tests of `fleet agg`'s time windows, bins, exact quantiles, first/last, epoch
//! time columns, multi-key `--sort` and `--top-by`, each against a plain reference (the `csv`
//! crate and std collections; quantiles from the group's sorted values) on generated data
//! with quoted commas and newlines, `""` escapes, CRLF, a BOM, empty, ragged and non-numeric
//! values, across both engines, worker counts and chunk sizes down to a few bytes, and the
//! same data gzip- and zstd-compressed and in GBK.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
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

/// One generated record: the fields as the reference reads them.
#[derive(Clone)]
struct Row {
    id: String,
    /// Seconds since 2015-02-01 00:00:00, or `None` for an empty or malformed time.
    secs: Option<i64>,
    time: String,
    speed: String,
    note: String,
}

const EPOCH_2015_02_01: i64 = 1_422_748_800;

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

fn rows(n: usize, seed: u64) -> Vec<Row> {
    let mut r = Lcg(seed);
    let notes = ["plain", "a,b", "line1\nline2", "say \"hi\"", "", "tail "];
    (0..n)
        .map(|_| {
            let secs = r.next(3 * 86_400) as i64;
            let (secs, time) = match r.next(40) {
                0 => (None, String::new()),
                1 => (None, "bad".to_string()),
                _ => (Some(secs), time_text(secs)),
            };
            let speed = match r.next(30) {
                0 => String::new(),
                1 => "x".to_string(),
                2 => format!("-{}", r.next(20)),
                3 => format!("{}.{}", r.next(120), r.next(10)),
                4 => "1000".to_string(),
                _ => r.next(121).to_string(),
            };
            Row {
                id: (1 + r.next(7)).to_string(),
                secs,
                time,
                speed,
                note: notes[r.next(notes.len() as u64) as usize].to_string(),
            }
        })
        .collect()
}

/// CSV text of `rows` with a header, every note quoted, `crlf` line ends, optionally a BOM,
/// a ragged line every 97 records, and no final newline when `last`.
fn csv_text(rows: &[Row], epoch: Option<i64>, crlf: bool, bom: bool, last: bool) -> String {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str(&format!("id,time,speed,note{nl}"));
    for (i, r) in rows.iter().enumerate() {
        let time = match (epoch, r.secs) {
            (Some(scale), Some(s)) => ((EPOCH_2015_02_01 + s) * scale).to_string(),
            _ => r.time.clone(),
        };
        out.push_str(&format!(
            "{},{},{},\"{}\"{nl}",
            r.id,
            time,
            r.speed,
            r.note.replace('"', "\"\"")
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

/// Three files (plain with a BOM, CRLF, no final newline); `epoch`: times as seconds (1) or
/// milliseconds (1000) since 1970. Returns the records in file order.
fn dataset(dir: &Path, epoch: Option<i64>) -> Vec<Row> {
    let all = rows(2_400, 17);
    for (i, part) in all.chunks(800).enumerate() {
        let text = csv_text(part, epoch, i == 1, i == 0, i == 2);
        std::fs::write(dir.join(format!("part-{i}.csv")), text).unwrap();
    }
    all
}

/// Speed in 10^-9 units when it is a plain number (the reference's own parse).
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

/// DuckDB's quantile_cont on sorted values (10^-9 units): linear interpolation between the
/// values at ranks floor(q (n-1)) and the next, rounded half-to-even at 10^-9.
fn quantile_cont(sorted: &[i128], q_billionths: i128) -> String {
    if sorted.is_empty() {
        return String::new();
    }
    let pos = q_billionths * (sorted.len() as i128 - 1);
    let (lo, rem) = ((pos / 1_000_000_000) as usize, pos % 1_000_000_000);
    if rem == 0 {
        return units_text(sorted[lo]);
    }
    let (a, b) = (sorted[lo], sorted[lo + 1]);
    let num = (b - a) * rem;
    let (q, r) = (num.div_euclid(1_000_000_000), num.rem_euclid(1_000_000_000));
    let up = 2 * r > 1_000_000_000 || (2 * r == 1_000_000_000 && q % 2 != 0);
    units_text(a + q + i128::from(up))
}

/// The reference's key for one record.
fn key(rows: &Row, which: &str) -> String {
    match which {
        "id" => rows.id.clone(),
        "date" => rows
            .secs
            .map(|s| time_text(s)[..10].to_string())
            .unwrap_or_default(),
        "bucket15m" => rows
            .secs
            .map(|s| time_text(s / 900 * 900))
            .unwrap_or_default(),
        "bucket1h" => rows
            .secs
            .map(|s| time_text(s / 3600 * 3600))
            .unwrap_or_default(),
        "hour" => rows
            .secs
            .map(|s| format!("{:02}", s % 86_400 / 3600))
            .unwrap_or_default(),
        "bin10" => speed_units(&rows.speed)
            .map(|v| units_text(v.div_euclid(10_000_000_000) * 10_000_000_000))
            .unwrap_or_default(),
        "bin2.5" => speed_units(&rows.speed)
            .map(|v| units_text(v.div_euclid(2_500_000_000) * 2_500_000_000))
            .unwrap_or_default(),
        other => panic!("no key {other}"),
    }
}

/// Reference rows: per key tuple (count, median(speed), quantile(speed,0.9), first(note),
/// last(note)), keys compared numerically where both are numbers, else bytewise.
fn reference(rows: &[Row], keys: &[&str]) -> Vec<Vec<String>> {
    let mut groups: BTreeMap<Vec<String>, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let k: Vec<String> = keys.iter().map(|w| key(r, w)).collect();
        groups.entry(k).or_default().push(r);
    }
    let mut out: Vec<Vec<String>> = groups
        .into_iter()
        .map(|(k, rs)| {
            let mut speeds: Vec<i128> = rs.iter().filter_map(|r| speed_units(&r.speed)).collect();
            speeds.sort();
            let notes: Vec<&str> = rs
                .iter()
                .map(|r| r.note.as_str())
                .filter(|n| !n.is_empty())
                .collect();
            let mut row = k;
            row.push(rs.len().to_string());
            row.push(quantile_cont(&speeds, 500_000_000));
            row.push(quantile_cont(&speeds, 900_000_000));
            row.push(notes.first().map(|s| s.to_string()).unwrap_or_default());
            row.push(notes.last().map(|s| s.to_string()).unwrap_or_default());
            row
        })
        .collect();
    out.sort_by(|a, b| {
        for i in 0..keys.len() {
            let o = match (speed_units(&a[i]), speed_units(&b[i])) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a[i].cmp(&b[i]),
            };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    out
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

const CONFIGS: [(&str, &str, &str); 5] = [
    ("processes", "1", "8MiB"),
    ("processes", "2", "1KiB"),
    ("processes", "3", "13"),
    ("threads", "2", "5"),
    ("threads", "1", "64KiB"),
];

fn run(args: &[&str]) -> std::process::Output {
    let o = common::fleet().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn agg_args<'a>(dir: &'a str, group_by: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
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
        "median(speed)",
        "--agg",
        "quantile(speed, 0.9)",
        "--agg",
        "first(note)",
        "--agg",
        "last(note)",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn keys_quantiles_and_first_last_match_the_reference_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = dataset(tmp.path(), None);
    let dir = tmp.path().to_str().unwrap();
    for (group_by, keys) in [
        ("bucket(time,15m)", &["bucket15m"][..]),
        ("id, date(time)", &["id", "date"][..]),
        ("bin(speed,10)", &["bin10"][..]),
        (
            "bin(speed,2.5),bucket(time,1h)",
            &["bin2.5", "bucket1h"][..],
        ),
    ] {
        let want = reference(&rows, keys);
        assert!(want.len() > 3, "{group_by}: enough groups");
        let mut first: Option<Vec<u8>> = None;
        for (engine, workers, chunk) in CONFIGS {
            let o = run(&agg_args(
                dir,
                group_by,
                &[
                    "--engine",
                    engine,
                    "--workers",
                    workers,
                    "--chunk-size",
                    chunk,
                ],
            ));
            let got = parse_csv(&o.stdout);
            assert_eq!(got, want, "{group_by} {engine} -j{workers} chunk {chunk}");
            match &first {
                None => first = Some(o.stdout),
                Some(f) => assert_eq!(f, &o.stdout, "{group_by}: same bytes"),
            }
        }
    }
}

#[test]
fn epoch_seconds_and_milliseconds_give_the_text_result() {
    let text = tempfile::tempdir().unwrap();
    dataset(text.path(), None);
    let text_dir = text.path().to_str().unwrap();
    for (scale, format) in [(1, "epoch_s"), (1000, "epoch_ms")] {
        let epoch = tempfile::tempdir().unwrap();
        dataset(epoch.path(), Some(scale));
        let epoch_dir = epoch.path().to_str().unwrap();
        for group_by in ["bucket(time,15m)", "hour(time)", "id,date(time)"] {
            let want = run(&agg_args(text_dir, group_by, &[])).stdout;
            assert!(!want.is_empty());
            let flag = format!("time={format}");
            for (engine, workers, chunk) in [("processes", "2", "300"), ("threads", "2", "7")] {
                let got = run(&agg_args(
                    epoch_dir,
                    group_by,
                    &[
                        "--time-format",
                        &flag,
                        "--engine",
                        engine,
                        "--workers",
                        workers,
                        "--chunk-size",
                        chunk,
                    ],
                ))
                .stdout;
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "{format} {group_by} {engine}"
                );
            }
            // The same declared in fleet.toml.
            std::fs::write(
                epoch.path().join("fleet.toml"),
                format!("[time_format]\ntime = \"{format}\"\n"),
            )
            .unwrap();
            let got = run(&agg_args(epoch_dir, group_by, &[])).stdout;
            assert_eq!(got, want, "fleet.toml {format} {group_by}");
            std::fs::remove_file(epoch.path().join("fleet.toml")).unwrap();
        }
    }
}

#[test]
fn compressed_and_gbk_inputs_give_the_plain_result() {
    let plain = tempfile::tempdir().unwrap();
    dataset(plain.path(), None);
    let plain_dir = plain.path().to_str().unwrap();
    let packed = tempfile::tempdir().unwrap();
    for (i, path) in common::csv_files(plain.path()).iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        match i {
            0 => {
                let f = std::fs::File::create(packed.path().join(format!("{name}.gz"))).unwrap();
                let mut w = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
                w.write_all(&bytes).unwrap();
                w.finish().unwrap();
            }
            1 => {
                let z = zstd::encode_all(&bytes[..], 3).unwrap();
                std::fs::write(packed.path().join(format!("{name}.zst")), z).unwrap();
            }
            _ => std::fs::write(packed.path().join(name), bytes).unwrap(),
        }
    }
    let packed_dir = packed.path().to_str().unwrap();
    let gbk = tempfile::tempdir().unwrap();
    for path in common::csv_files(plain.path()) {
        // GBK has no BOM.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("plain", "平原");
        let text = text.trim_start_matches('\u{feff}');
        let (bytes, _, bad) = encoding_rs::GBK.encode(text);
        assert!(!bad);
        std::fs::write(gbk.path().join(path.file_name().unwrap()), bytes).unwrap();
    }
    let gbk_dir = gbk.path().to_str().unwrap();
    for group_by in ["bucket(time,15m)", "id,bin(speed,10)"] {
        let want = run(&agg_args(plain_dir, group_by, &[])).stdout;
        for engine in ["processes", "threads"] {
            let base = ["--engine", engine, "--workers", "2", "--chunk-size", "1KiB"];
            let got = run(&agg_args(packed_dir, group_by, &base)).stdout;
            assert_eq!(got, want, "compressed {group_by} {engine}");
            let mut gbk_args = base.to_vec();
            gbk_args.extend(["--encoding", "gbk"]);
            let got = run(&agg_args(gbk_dir, group_by, &gbk_args)).stdout;
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want.clone())
                    .unwrap()
                    .replace("plain", "平原"),
                "gbk {group_by} {engine}"
            );
        }
    }
}

#[test]
fn sort_by_several_keys_and_top_per_group() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = dataset(tmp.path(), None);
    let dir = tmp.path().to_str().unwrap();
    // Reference: (date, id) -> count.
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in &rows {
        *counts.entry((key(r, "date"), r.id.clone())).or_default() += 1;
    }
    let num = |s: &str| s.parse::<i64>().unwrap();
    let mut all: Vec<(String, String, u64)> =
        counts.into_iter().map(|((d, i), n)| (d, i, n)).collect();
    // --sort -count,id: count descending, then id ascending (then date).
    all.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(num(&a.1).cmp(&num(&b.1)))
            .then(a.0.cmp(&b.0))
    });
    let as_rows = |v: &[(String, String, u64)]| -> Vec<Vec<String>> {
        v.iter()
            .map(|(d, i, n)| vec![d.clone(), i.clone(), n.to_string()])
            .collect()
    };
    for (engine, workers, chunk) in [("processes", "2", "100"), ("threads", "3", "9")] {
        let base = [
            "agg",
            dir,
            "-q",
            "--format",
            "csv",
            "--group-by",
            "date(time),id",
            "--agg",
            "count",
            "--sort",
            "-count,id",
            "--engine",
            engine,
            "--workers",
            workers,
            "--chunk-size",
            chunk,
        ];
        let got = parse_csv(&run(&base).stdout);
        assert_eq!(got, as_rows(&all), "sort {engine}");
        // --top 2 --top-by date: grouped by date ascending, the 2 first of each in sort order.
        let mut args = base.to_vec();
        args.extend(["--top", "2", "--top-by", "date(time)"]);
        let got = parse_csv(&run(&args).stdout);
        let mut by_date = all.clone();
        by_date.sort_by(|a, b| a.0.cmp(&b.0)); // stable: keeps the sort order within a date
        let mut want = Vec::new();
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for r in by_date {
            let n = per.entry(r.0.clone()).or_default();
            *n += 1;
            if *n <= 2 {
                want.push(r);
            }
        }
        assert_eq!(got, as_rows(&want), "top-by {engine}");
        assert!(got.len() >= 6, "3 dates and the empty one, 2 each");
    }
}

#[test]
fn bad_new_specs_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path(), None);
    let dir = tmp.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--group-by", "bucket(time,15x)"],
            "invalid --group-by 'bucket(time,15x)'",
        ),
        (
            vec!["--group-by", "bin(speed,0)"],
            "invalid --group-by 'bin(speed,0)'",
        ),
        (
            vec!["--agg", "quantile(speed,1.5)"],
            "invalid --agg 'quantile(speed,1.5)'",
        ),
        (
            vec!["--agg", "median(nope)"],
            "invalid --agg 'median(nope)'",
        ),
        (
            vec!["--group-by", "id", "--top", "1", "--top-by", "time"],
            "invalid --top-by 'time'",
        ),
        (vec!["--time-format", "time=iso"], "time=iso"),
        (vec!["--time-format", "nope=epoch_s"], "nope"),
        (vec!["--group-by", "id", "--sort", "-count,bogus"], "bogus"),
    ] {
        let mut all = vec!["agg", dir];
        all.extend(args.iter());
        let o = common::fleet().args(&all).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::write(
        tmp.path().join("fleet.toml"),
        "[time_format]\ntime = \"fortnights\"\n",
    )
    .unwrap();
    let o = common::fleet().args(["agg", dir]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("time_format") && err.contains("fortnights"),
        "{err}"
    );
}
