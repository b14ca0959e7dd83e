//! End-to-end tests of `fleet sql` (feature `sql`): the same questions through `fleet scan` /
//! `fleet agg` and through SQL give the same records and values, on plain, quoted-newline and
//! gzip data; tables named by folder; output formats, `-o`; exit codes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Output;

mod common;

use common::{gps, stderr, stdout};

fn fleet(args: &[&str]) -> Output {
    common::fleet().args(args).output().unwrap()
}

fn sql(query: &str, tables: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["sql", query, "-j", "2", "-q"];
    for t in tables {
        args.push("-t");
        args.push(t);
    }
    args.extend_from_slice(extra);
    fleet(&args)
}

/// CSV text as rows of fields (numbers normalised, so `22.50` and `22.5` agree).
fn parse(text: &str, skip_header: bool) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(skip_header)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .map(|f| match f.parse::<f64>() {
                    Ok(v) if !f.is_empty() => format!("{v}"),
                    _ => f.to_string(),
                })
                .collect()
        })
        .collect()
}

fn gzip_copy(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".csv") {
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(to.join(format!("{name}.gz"))).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(&std::fs::read(&p).unwrap()).unwrap();
            enc.finish().unwrap();
        } else {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

#[test]
fn scan_and_sql_select_the_same_records_on_plain_and_gzip_data() {
    let dir = gps(3, 20_000);
    let gz = tempfile::tempdir().unwrap();
    gzip_copy(dir.path(), gz.path());
    let scan = fleet(&[
        "scan",
        "-q",
        "--where",
        "id=30378",
        dir.path().to_str().unwrap(),
    ]);
    let expected = parse(&stdout(&scan), false);
    assert!(!expected.is_empty());
    for data in [dir.path(), gz.path()] {
        let table = format!("gps={}", data.display());
        let out = sql("SELECT * FROM gps WHERE id = 30378", &[&table], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(parse(&stdout(&out), true), expected, "{}", data.display());
    }
    // A projection with two filters.
    let scan = fleet(&[
        "scan",
        "-q",
        "-w",
        "speed>100",
        "-w",
        "occupied=1",
        "-s",
        "id,time,speed",
        dir.path().to_str().unwrap(),
    ]);
    let table = format!("gps={}", dir.path().display());
    let out = sql(
        "SELECT id, time, speed FROM gps WHERE speed > 100 AND occupied = 1",
        &[&table],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(parse(&stdout(&out), true), parse(&stdout(&scan), false));
}

#[test]
fn agg_and_sql_group_by_give_the_same_values() {
    let dir = gps(2, 30_000);
    let gz = tempfile::tempdir().unwrap();
    gzip_copy(dir.path(), gz.path());
    let agg = fleet(&[
        "agg",
        "-q",
        "--group-by",
        "id",
        "--agg",
        "count",
        "--agg",
        "sum(speed)",
        "--agg",
        "mean(speed)",
        "--agg",
        "min(speed)",
        "--agg",
        "max(speed)",
        dir.path().to_str().unwrap(),
    ]);
    assert!(agg.status.success(), "{}", stderr(&agg));
    let expected = parse(&stdout(&agg), true);
    for data in [dir.path(), gz.path()] {
        let table = format!("gps={}", data.display());
        let out = sql(
            "SELECT id, count(*), sum(speed), avg(speed), min(speed), max(speed) FROM gps GROUP BY id ORDER BY id",
            &[&table],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let got = parse(&stdout(&out), true);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(
                [&g[0], &g[1], &g[2], &g[4], &g[5]],
                [&e[0], &e[1], &e[2], &e[4], &e[5]]
            );
            let (a, b): (f64, f64) = (g[3].parse().unwrap(), e[3].parse().unwrap());
            assert!((a - b).abs() < 1e-9, "{g:?} {e:?}");
        }
    }
}

#[test]
fn quoted_newlines_give_the_records_scan_gives() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,note,v\n");
    for i in 0..5000 {
        if i % 5 == 0 {
            text.push_str(&format!("{i},\"two\nlines, {i}\",{}\n", i % 11));
        } else {
            text.push_str(&format!("{i},note {i},{}\n", i % 11));
        }
    }
    std::fs::write(dir.path().join("notes.csv"), text).unwrap();
    let path = dir.path().to_str().unwrap();
    let scan = fleet(&[
        "scan",
        "-q",
        "--chunk-size",
        "1000",
        "-w",
        "v=3",
        "-s",
        "id,note",
        path,
    ]);
    let out = sql(
        "SELECT id, note FROM notes WHERE v = 3",
        &[&format!("notes={path}")],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // scan prints the projected header (the data has one).
    assert_eq!(parse(&stdout(&out), true), parse(&stdout(&scan), true));
}

#[test]
fn a_path_is_named_after_its_folder_and_formats_and_output_work() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("taxis");
    std::fs::create_dir(&data).unwrap();
    let src = gps(1, 1000);
    for e in std::fs::read_dir(src.path()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, data.join(p.file_name().unwrap())).unwrap();
    }
    let path = data.to_str().unwrap();
    let out = sql(
        "SELECT count(*) AS n FROM taxis",
        &[path],
        &["--format", "jsonl"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\"n\":1000}\n");
    let out = sql(
        "SELECT count(*) AS n FROM taxis",
        &[path],
        &["--format", "table"],
    );
    assert!(stdout(&out).contains("| 1000 |"), "{}", stdout(&out));
    let file = root.path().join("out.csv");
    let out = sql(
        "SELECT id FROM taxis ORDER BY id LIMIT 3",
        &[path],
        &["-o", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
    // An empty result still has its header.
    let out = sql("SELECT id, speed FROM taxis WHERE id = -1", &[path], &[]);
    assert_eq!(stdout(&out), "id,speed\n");
}

#[test]
fn errors_are_one_line_with_exit_2() {
    let dir = gps(1, 100);
    let table = format!("gps={}", dir.path().display());
    for (query, tables, needle) in [
        ("SELECT nope FROM gps", vec![table.as_str()], "nope"),
        ("SELEC 1", vec![table.as_str()], "SELEC"),
        ("SELECT 1", vec!["gps=/no/such/dir"], "/no/such/dir"),
    ] {
        let out = sql(query, &tables, &[]);
        assert_eq!(out.status.code(), Some(2), "{query}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn group_by_reference_with_a_lookup_join() {
    let dir = gps(2, 5000);
    let lookup = tempfile::tempdir().unwrap();
    std::fs::write(
        lookup.path().join("companies.csv"),
        "id,company\n30378,Alpha\n34630,Beta\n",
    )
    .unwrap();
    let out = sql(
        "SELECT c.company, count(*) AS n FROM gps g JOIN companies c USING (id) GROUP BY c.company ORDER BY c.company",
        &[
            &format!("gps={}", dir.path().display()),
            &format!("companies={}", lookup.path().display()),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut expected = BTreeMap::new();
    for (id, name) in [("30378", "Alpha"), ("34630", "Beta")] {
        let n = fleet(&[
            "scan",
            "-q",
            "--count",
            "-w",
            &format!("id={id}"),
            dir.path().to_str().unwrap(),
        ]);
        let n: u64 = stdout(&n).trim().parse().unwrap();
        if n > 0 {
            expected.insert(name, n);
        }
    }
    let want: String = std::iter::once("company,n\n".to_string())
        .chain(expected.iter().map(|(c, n)| format!("{c},{n}\n")))
        .collect();
    assert_eq!(stdout(&out), want);
}
