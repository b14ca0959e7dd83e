//! Aggregates pushed into fleet's kernel ([`fleet_sql::pushdown`]) give what DataFusion gives
//! when it aggregates the scanned rows itself (a session without the rule is the
//! reference), on messy data: keys written differently for one value (`011865`, `"7"`),
//! quoted text keys with commas and newlines, empty fields, null markers, CRLF, a BOM, ragged
//! records, tiny chunks and 1 to 3 workers. And the cases the kernel must give back to
//! DataFusion (a value that is not a number, a sum beyond 64 bits) give DataFusion's result.
#![allow(clippy::unwrap_used)]

use fleet_engine::input::dataset::DatasetOptions;
use fleet_sql::{FleetTable, SqlSession, TableOptions};
use std::path::Path;

mod common;
use common::text_rows;

fn table(path: &Path, chunk_size: u64, workers: usize) -> FleetTable {
    FleetTable::open(
        &DatasetOptions {
            paths: vec![path.to_path_buf()],
            chunk_size,
            ..DatasetOptions::default()
        },
        TableOptions {
            workers: Some(workers),
            interrupt: None,
        },
    )
    .unwrap()
}

/// The rows of `sql` (or its error) on `t` as `gps`, with or without the pushdown.
fn run(
    t: &FleetTable,
    workers: usize,
    pushdown: bool,
    sql: &str,
) -> Result<Vec<Vec<String>>, String> {
    let s = SqlSession::with_pushdown(workers, pushdown).unwrap();
    s.register("t", t.clone()).unwrap();
    let mut out = Vec::new();
    s.query(sql, |b| {
        out.extend(text_rows(b));
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Cells equal, or both numbers within a relative 1e-12: fleet sums floats exactly and rounds
/// once, DataFusion adds them up in `f64` in whatever order its partitions saw them.
fn same(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(ra, rb)| {
            ra.len() == rb.len()
                && ra.iter().zip(rb).all(|(x, y)| {
                    x == y
                        || match (x.parse::<f64>(), y.parse::<f64>()) {
                            (Ok(p), Ok(q)) => (p - q).abs() <= 1e-12 * p.abs().max(q.abs()),
                            _ => false,
                        }
                })
        })
}

/// A messy file: header `id,name,speed,n`; ids written several ways, quoted names with
/// commas, quotes and newlines, empty fields and `NA`, a ragged record, CRLF, a BOM, no
/// trailing newline.
fn messy(dir: &Path) {
    let mut text = String::from("\u{feff}id,name,speed,n\r\n");
    for i in 0..3000u64 {
        let id = match i % 7 {
            0 => format!("0{}", i % 40),
            1 => format!("\"{}\"", i % 40),
            2 => String::new(),
            _ => format!("{}", i % 40),
        };
        let name = match i % 5 {
            0 => "\"Lee, \"\"Ann\"\"\"".to_string(),
            1 => "\"two\nlines\"".to_string(),
            2 => String::new(),
            _ => format!("name{}", i % 13),
        };
        let speed = match i % 11 {
            0 => String::new(),
            1 => "NA".to_string(),
            2 => format!("{}e-1", i % 97),
            _ => format!("{}.{}", i % 120, i % 10),
        };
        let n = match i % 13 {
            0 => String::new(),
            _ => format!("{}", (i * 7919) % 100_003),
        };
        text.push_str(&format!("{id},{name},{speed},{n}"));
        text.push_str(if i % 2 == 0 { "\r\n" } else { "\n" });
        if i == 1500 {
            text.push_str("1,ragged\n");
        }
    }
    text.pop();
    std::fs::write(dir.join("a.csv"), &text).unwrap();
    std::fs::write(dir.join("b.csv"), text.replace('\u{feff}', "")).unwrap();
}

const QUERIES: &[&str] = &[
    "SELECT id, count(*), avg(speed) FROM t GROUP BY id ORDER BY id",
    "SELECT id, count(speed), sum(speed), sum(n), min(n), max(n), avg(n) FROM t GROUP BY id ORDER BY id",
    "SELECT name, count(*), sum(n) FROM t GROUP BY name ORDER BY name",
    "SELECT id, name, count(*), max(n) FROM t GROUP BY id, name ORDER BY id, name",
    "SELECT count(*), count(n), sum(n), avg(speed), min(n) FROM t",
    "SELECT id, count(*) FROM t WHERE n > 50000 AND name = 'name3' GROUP BY id ORDER BY id",
    "SELECT id, count(*), sum(speed) FROM t WHERE n >= 3000 AND n < 90000 GROUP BY id ORDER BY id",
    // Planned as a grouping on (id, n) below the count: fleet takes the inner one.
    "SELECT id, count(DISTINCT n) FROM t GROUP BY id ORDER BY id",
];

#[test]
fn pushed_aggregates_give_datafusions_own_results() {
    let dir = tempfile::tempdir().unwrap();
    messy(dir.path());
    for (chunk, workers) in [(0, 2), (64, 1), (200, 3), (1000, 2)] {
        let t = table(dir.path(), chunk, workers);
        for sql in QUERIES {
            let before = t.totals().pushed_aggregates;
            let pushed = run(&t, 2, true, sql).unwrap();
            assert_eq!(
                t.totals().pushed_aggregates,
                before + 1,
                "not pushed: {sql}: {:?}",
                t.totals().aggregate_fallbacks
            );
            let reference = run(&t, 2, false, sql).unwrap();
            assert!(!reference.is_empty());
            assert!(
                same(&pushed, &reference),
                "{sql} (chunk {chunk}, {workers} workers)\npushed: {pushed:?}\nreference: {reference:?}"
            );
        }
    }
}

#[test]
fn the_plan_shows_fleets_aggregate_in_place_of_datafusions_partial_one() {
    let dir = tempfile::tempdir().unwrap();
    messy(dir.path());
    let t = table(dir.path(), 0, 2);
    let plan = run(
        &t,
        2,
        true,
        "EXPLAIN SELECT id, count(*) FROM t GROUP BY id",
    )
    .unwrap();
    let text = format!("{plan:?}");
    assert!(text.contains("FleetAggregateExec"), "{text}");
    assert!(!text.contains("mode=Partial"), "{text}");
    let plan = run(
        &t,
        2,
        false,
        "EXPLAIN SELECT id, count(*) FROM t GROUP BY id",
    )
    .unwrap();
    let text = format!("{plan:?}");
    assert!(
        !text.contains("FleetAggregateExec") && text.contains("mode=Partial"),
        "{text}"
    );
    // Not pushed: a filter DataFusion evaluates above the scan, one fleet evaluates on
    // the values it converts (LIKE), min of text.
    for sql in [
        "EXPLAIN SELECT id, count(*) FROM t WHERE name LIKE 'name%' GROUP BY id",
        "EXPLAIN SELECT id, count(*) FROM t WHERE speed < 50 GROUP BY id",
        "EXPLAIN SELECT id, count(*) FROM t WHERE id IN (1, 2) GROUP BY id",
        "EXPLAIN SELECT id, count(*) FROM t WHERE n % 2 = 0 GROUP BY id",
        "EXPLAIN SELECT id, min(name) FROM t GROUP BY id",
    ] {
        let text = format!("{:?}", run(&t, 2, true, sql).unwrap());
        assert!(!text.contains("FleetAggregateExec"), "{sql}: {text}");
    }
}

/// fleet's kernel sees these, and hands the aggregate back to DataFusion: an integer sum
/// beyond 64 bits, and a value of a declared number column that is not a number.
#[test]
fn what_fleet_cannot_stand_for_runs_datafusions_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k,v\n");
    for i in 0..50 {
        text.push_str(&format!("{},{}\n", i % 3, 4_000_000_000_000_000_000u64 + i));
    }
    std::fs::write(dir.path().join("a.csv"), &text).unwrap();
    let t = table(dir.path(), 0, 2);
    let sql = "SELECT k, sum(v) FROM t GROUP BY k ORDER BY k";
    let pushed = run(&t, 2, true, sql);
    assert_eq!(t.totals().pushed_aggregates, 0);
    assert_eq!(pushed, run(&t, 2, false, sql));
    // Small sums of the same column are pushed.
    let sql = "SELECT k, min(v), max(v), count(v) FROM t GROUP BY k ORDER BY k";
    let pushed = run(&t, 2, true, sql).unwrap();
    assert_eq!(t.totals().pushed_aggregates, 1);
    assert_eq!(pushed.len(), 3);
    assert_eq!(Ok(pushed), run(&t, 2, false, sql));

    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k,v\n");
    for i in 0..200_000 {
        text.push_str(&format!("{},{}\n", i % 3, i));
    }
    text.push_str("1,oops\n");
    std::fs::write(dir.path().join("a.csv"), &text).unwrap();
    let t = table(dir.path(), 0, 2);
    let err = run(&t, 2, true, "SELECT k, sum(v) FROM t GROUP BY k").unwrap_err();
    assert!(err.contains("column 'v'") && err.contains("oops"), "{err}");
    assert_eq!(t.totals().pushed_aggregates, 0);
}

/// fleet groups by a key's bytes, SQL by its value: `7`, `07` and `"7"` are three fleet
/// groups whose partial states DataFusion's final aggregate merges into one row.
#[test]
fn keys_written_differently_are_one_sql_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k,v\n");
    let forms = ["7", "07", "\"7\"", "8", "\"08\"", ""];
    for i in 0..600 {
        text.push_str(&format!("{},{}\n", forms[i % forms.len()], i));
    }
    std::fs::write(dir.path().join("a.csv"), &text).unwrap();
    // Inferred, `07` would make the column text.
    std::fs::write(dir.path().join("fleet.toml"), "[types]\nk = \"int64\"\n").unwrap();
    for (chunk, workers) in [(0, 2), (50, 3)] {
        let t = table(dir.path(), chunk, workers);
        assert_eq!(t.columns()[0].ty, fleet_engine::columnar::ColumnType::Int64);
        let sql = "SELECT k, count(*), sum(v), min(v), max(v) FROM t GROUP BY k ORDER BY k";
        let pushed = run(&t, 2, true, sql).unwrap();
        assert_eq!(t.totals().pushed_aggregates, 1);
        assert_eq!(Ok(pushed.clone()), run(&t, 2, false, sql));
        let count = |k: &str| pushed.iter().find(|r| r[0] == k).map(|r| r[1].clone());
        assert_eq!(pushed.len(), 3, "{pushed:?}");
        assert_eq!(count("7"), Some("300".to_string()));
        assert_eq!(count("8"), Some("200".to_string()));
        assert_eq!(count(""), Some("100".to_string()));
    }
}
