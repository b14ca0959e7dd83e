//! fleet-sql against references computed here (csv crate + maps) and against DataFusion's own
//! CSV reader: filters and projections, group-by aggregates, a per-taxi trajectory window
//! query, a join with a lookup table, quoted newlines, gzip, and proof that pushed filters run
//! inside fleet's scan.
#![allow(clippy::unwrap_used)]

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use fleet_engine::input::dataset::DatasetOptions;
use fleet_sql::{datafusion, FleetTable, SqlSession, TableOptions};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

mod common;
use common::text_rows;

/// gps files: id,time,lon,lat,speed,heading,occupied (headerless, fleet.toml names them).
fn gps(files: usize, rows: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fleet_fixtures::generate(
        dir.path(),
        &fleet_fixtures::GenOptions {
            kind: fleet_fixtures::Kind::Gps,
            files,
            rows,
            seed: 7,
            plates: None,
            dialect: fleet_fixtures::Dialect::Plain,
        },
    )
    .unwrap();
    dir
}

fn table(path: &Path, chunk_size: u64) -> FleetTable {
    FleetTable::open(
        &DatasetOptions {
            paths: vec![path.to_path_buf()],
            chunk_size,
            ..DatasetOptions::default()
        },
        TableOptions {
            workers: Some(2),
            interrupt: None,
        },
    )
    .unwrap()
}

fn session(tables: &[(&str, &FleetTable)]) -> SqlSession {
    let s = SqlSession::new(2).unwrap();
    for (name, t) in tables {
        s.register(name, (*t).clone()).unwrap();
    }
    s
}

/// The result as rows of display text (NULL as "").
fn rows(s: &SqlSession, sql: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    s.query(sql, |b| {
        out.extend(text_rows(b));
        Ok(())
    })
    .unwrap();
    out
}

/// Every record of every csv file in `dir`, in file order.
fn records(dir: &Path) -> Vec<Vec<String>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(p)
            .unwrap();
        for rec in r.records() {
            out.push(rec.unwrap().iter().map(str::to_string).collect());
        }
    }
    out
}

#[test]
fn schema_is_typed_from_the_sample() {
    let dir = gps(2, 2000);
    let t = table(dir.path(), 0);
    let types: Vec<String> = t
        .columns()
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect();
    assert_eq!(
        types,
        [
            "id:int64",
            "time:timestamp",
            "lon:float64",
            "lat:float64",
            "speed:int64",
            "heading:int64",
            "occupied:int64"
        ]
    );
}

#[test]
fn a_pushed_filter_runs_in_fleets_scan_and_only_matches_become_rows() {
    let dir = gps(3, 20_000);
    let all = records(dir.path());
    let id = all[100][0].clone();
    let expected: Vec<&Vec<String>> = all.iter().filter(|r| r[0] == id).collect();
    let t = table(dir.path(), 64 << 10);
    let s = session(&[("gps", &t)]);
    let sql = format!("SELECT id, speed, lon FROM gps WHERE id = {id} AND speed >= 0");
    let plan = rows(&s, &format!("EXPLAIN {sql}"));
    let physical = plan.iter().find(|r| r[0] == "physical_plan").unwrap();
    assert!(
        physical[1].contains("FleetScanExec") && physical[1].contains(&format!("id = Int64({id})")),
        "{physical:?}"
    );
    assert!(!physical[1].contains("FilterExec"), "{physical:?}");
    let got = rows(&s, &sql);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g[0], e[0]);
        assert_eq!(g[1], e[4]);
        assert_eq!(g[2].parse::<f64>().unwrap(), e[2].parse::<f64>().unwrap());
    }
    let totals = t.totals();
    assert_eq!(totals.rows, expected.len() as u64, "{totals:?}");
    assert_eq!(totals.records, all.len() as u64);
}

#[test]
fn or_in_not_like_and_nulls_follow_sql() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.csv"),
        "name,n,x\nalpha,1,0.5\nbeta,,1e2\ngamma,3,\nalps,10,100\n,7,2\n",
    )
    .unwrap();
    let t = table(dir.path(), 0);
    let s = session(&[("t", &t)]);
    let q = |w: &str| {
        rows(&s, &format!("SELECT name FROM t WHERE {w}"))
            .into_iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(q("n != 1"), ["gamma", "alps", ""]);
    assert_eq!(q("n < 5"), ["alpha", "gamma"]);
    assert_eq!(q("n IN (1, 10)"), ["alpha", "alps"]);
    assert_eq!(q("NOT (n IN (1, 10))"), ["gamma", ""]);
    assert_eq!(q("n IS NULL OR x = 100"), ["beta", "alps"]);
    assert_eq!(q("name LIKE 'al%'"), ["alpha", "alps"]);
    assert_eq!(q("name NOT LIKE 'al%'"), ["beta", "gamma"]);
    assert_eq!(q("name ~ '^[ab]'"), ["alpha", "beta", "alps"]);
    assert_eq!(q("name > 'b'"), ["beta", "gamma"]);
    assert_eq!(q("x >= 2"), ["beta", "alps", ""]);
    for w in ["n != 1", "n IN (1, 10)", "name LIKE 'al%'", "x >= 2"] {
        let plan = rows(&s, &format!("EXPLAIN SELECT name FROM t WHERE {w}"));
        let physical = &plan.iter().find(|r| r[0] == "physical_plan").unwrap()[1];
        assert!(!physical.contains("FilterExec"), "{w}: {physical}");
    }
}

#[test]
fn group_by_matches_a_reference_and_datafusions_csv_reader() {
    let dir = gps(4, 5000);
    let all = records(dir.path());
    let mut reference: BTreeMap<i64, (i64, i64, i64, i64)> = BTreeMap::new();
    for r in &all {
        let speed: i64 = r[4].parse().unwrap();
        let e = reference
            .entry(r[0].parse().unwrap())
            .or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += speed;
        e.2 = e.2.min(speed);
        e.3 = e.3.max(speed);
    }
    let t = table(dir.path(), 32 << 10);
    let s = session(&[("gps", &t)]);
    let sql = "SELECT id, count(*), sum(speed), min(speed), max(speed), avg(speed) FROM gps GROUP BY id ORDER BY id";
    let mut got = Vec::new();
    s.query(sql, |b| {
        for r in 0..b.num_rows() {
            let i = |c: usize| b.column(c).as_primitive::<Int64Type>().value(r);
            let avg = b.column(5).as_primitive::<Float64Type>().value(r);
            got.push((i(0), (i(1), i(2), i(3), i(4)), avg));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(got.len(), reference.len());
    for ((id, v, avg), (rid, rv)) in got.iter().zip(&reference) {
        assert_eq!((id, v), (rid, rv));
        assert!((avg - rv.1 as f64 / rv.0 as f64).abs() < 1e-9);
    }
    // The same query through DataFusion's own CSV reader.
    let own = SqlSession::new(2).unwrap();
    let schema = t.dataset().schema.clone();
    let arrow = datafusion::arrow::datatypes::Schema::new(
        t.columns()
            .iter()
            .map(|c| {
                let ty = match c.ty {
                    fleet_engine::columnar::ColumnType::Int64 => {
                        datafusion::arrow::datatypes::DataType::Int64
                    }
                    fleet_engine::columnar::ColumnType::Float64 => {
                        datafusion::arrow::datatypes::DataType::Float64
                    }
                    _ => datafusion::arrow::datatypes::DataType::Utf8,
                };
                datafusion::arrow::datatypes::Field::new(&c.name, ty, true)
            })
            .collect::<Vec<_>>(),
    );
    assert_eq!(schema.ncols(), 7);
    let opts = datafusion::prelude::CsvReadOptions::new()
        .has_header(false)
        .schema(&arrow)
        .file_extension(".csv");
    own.block_on(
        own.context()
            .register_csv("own", dir.path().to_str().unwrap(), opts),
    )
    .unwrap();
    let theirs = rows(&own, &sql.replace("FROM gps", "FROM own"));
    let ours = rows(&s, sql);
    assert_eq!(ours, theirs);
    let q = "SELECT id, time, lon, speed FROM gps WHERE speed > 90 AND occupied = 1";
    let mut a = rows(&s, q);
    let mut b = rows(&own, &q.replace("FROM gps", "FROM own"));
    // time is a timestamp in fleet's table and text in DataFusion's: compare the rest.
    for r in a.iter_mut().chain(b.iter_mut()) {
        r[1] = r[1].replace('T', " ");
    }
    // No ORDER BY: DataFusion's reader may read the files in another order.
    a.sort();
    b.sort();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

/// Distance per taxi per day with LAG over each taxi's points in time order, against the
/// same computed here.
#[test]
fn trajectory_window_query_matches_a_reference() {
    let dir = gps(2, 3000);
    let all = records(dir.path());
    let t = table(dir.path(), 16 << 10);
    let s = session(&[("gps", &t)]);
    let sql = "
        WITH steps AS (
          SELECT id, date_trunc('day', time) AS day, lon, lat,
                 LAG(lon) OVER (PARTITION BY id ORDER BY time) AS plon,
                 LAG(lat) OVER (PARTITION BY id ORDER BY time) AS plat
          FROM gps)
        SELECT id, CAST(day AS DATE) AS day,
               sum(2 * 6371 * asin(sqrt(
                 power(sin(radians(lat - plat) / 2), 2) +
                 cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lon - plon) / 2), 2)))) AS km
        FROM steps WHERE plon IS NOT NULL
        GROUP BY id, CAST(day AS DATE) ORDER BY id, day";
    let got = rows(&s, sql);
    // Reference: points per taxi sorted by time (stable: file order for equal times).
    let mut per: BTreeMap<i64, Vec<(String, f64, f64)>> = BTreeMap::new();
    for r in &all {
        per.entry(r[0].parse().unwrap()).or_default().push((
            r[1].clone(),
            r[2].parse().unwrap(),
            r[3].parse().unwrap(),
        ));
    }
    let mut expected: BTreeMap<(i64, String), f64> = BTreeMap::new();
    for (id, mut pts) in per {
        pts.sort_by(|a, b| a.0.cmp(&b.0));
        for w in pts.windows(2) {
            let (p, c) = (&w[0], &w[1]);
            let (dlat, dlon) = ((c.2 - p.2).to_radians(), (c.1 - p.1).to_radians());
            let h = (dlat / 2.0).sin().powi(2)
                + p.2.to_radians().cos() * c.2.to_radians().cos() * (dlon / 2.0).sin().powi(2);
            *expected.entry((id, c.0[..10].to_string())).or_default() +=
                2.0 * 6371.0 * h.sqrt().asin();
        }
    }
    assert_eq!(got.len(), expected.len());
    for (g, ((id, day), km)) in got.iter().zip(&expected) {
        assert_eq!(
            (g[0].parse::<i64>().unwrap(), g[1].as_str()),
            (*id, day.as_str())
        );
        let v: f64 = g[2].parse().unwrap();
        assert!((v - km).abs() < 1e-6 * km.max(1.0), "{g:?} vs {km}");
    }
}

#[test]
fn join_with_a_lookup_csv() {
    let dir = gps(2, 4000);
    let all = records(dir.path());
    let lookup = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(lookup.path().join("companies.csv")).unwrap();
    writeln!(f, "id,company").unwrap();
    let ids: Vec<i64> = all.iter().take(50).map(|r| r[0].parse().unwrap()).collect();
    for (i, id) in ids.iter().enumerate() {
        if i % 2 == 0 {
            writeln!(f, "{id},\"Company {}, Ltd\"", i % 3).unwrap();
        }
    }
    drop(f);
    let t = table(dir.path(), 0);
    let c = table(lookup.path(), 0);
    let s = session(&[("gps", &t), ("companies", &c)]);
    let got = rows(
        &s,
        "SELECT c.company, count(*) FROM gps g JOIN companies c ON g.id = c.id GROUP BY c.company ORDER BY c.company",
    );
    let mut company: BTreeMap<i64, String> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        if i % 2 == 0 {
            company.insert(*id, format!("Company {}, Ltd", i % 3));
        }
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for r in &all {
        if let Some(c) = company.get(&r[0].parse::<i64>().unwrap()) {
            *expected.entry(c.clone()).or_default() += 1;
        }
    }
    let expected: Vec<Vec<String>> = expected
        .into_iter()
        .map(|(c, n)| vec![c, n.to_string()])
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn quoted_newlines_across_chunks_and_gzip_give_the_plain_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,note,v\n");
    for i in 0..3000 {
        if i % 7 == 0 {
            text.push_str(&format!(
                "{i},\"line one\nline, two \"\"{i}\"\"\",{}\n",
                i % 13
            ));
        } else {
            text.push_str(&format!("{i},plain {i},{}\n", i % 13));
        }
    }
    std::fs::write(dir.path().join("q.csv"), &text).unwrap();
    let gz = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(gz.path().join("q.csv.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let expected: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap())
        .filter(|rec| rec[2].parse::<i64>().unwrap() == 5)
        .map(|rec| vec![rec[0].to_string(), rec[1].to_string()])
        .collect();
    for (path, chunk) in [(dir.path(), 97u64), (dir.path(), 4096), (gz.path(), 0)] {
        let t = table(path, chunk);
        let s = session(&[("q", &t)]);
        assert_eq!(
            rows(&s, "SELECT id, note FROM q WHERE v = 5"),
            expected,
            "{path:?} {chunk}"
        );
        let n = rows(&s, "SELECT count(*) FROM q");
        assert_eq!(n, [["3000"]]);
    }
}

#[test]
fn limit_stops_the_scan() {
    let dir = gps(4, 20_000);
    let t = table(dir.path(), 64 << 10);
    let s = session(&[("gps", &t)]);
    let got = rows(&s, "SELECT id FROM gps LIMIT 7");
    assert_eq!(got.len(), 7);
    let all = records(dir.path());
    let first: Vec<Vec<String>> = all.iter().take(7).map(|r| vec![r[0].clone()]).collect();
    assert_eq!(got, first);
    let totals = t.totals();
    assert!(totals.rows < 20_000, "{totals:?}");
}

#[test]
fn a_value_that_does_not_fit_the_sampled_type_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i},x\n"));
    }
    text.push_str("oops,x\n");
    std::fs::write(dir.path().join("a.csv"), &text).unwrap();
    let t = table(dir.path(), 0);
    let s = session(&[("t", &t)]);
    let err = s
        .query("SELECT sum(a) FROM t", |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column 'a'") && err.contains("oops") && err.contains("[types]"),
        "{err}"
    );
    std::fs::write(dir.path().join("fleet.toml"), "[types]\na = \"utf8\"\n").unwrap();
    let t = table(dir.path(), 0);
    let s = session(&[("t", &t)]);
    assert_eq!(rows(&s, "SELECT count(*) FROM t WHERE a = 'oops'"), [["1"]]);
}

/// Every filter fleet takes over gives the rows DataFusion's own evaluation gives on the same
/// typed values (a copy of the table in memory, whose filters DataFusion runs itself): empty
/// fields, default null markers in number and time columns, a marker that is text in a text
/// column, text that looks like a number or a date, at tiny chunk sizes.
#[test]
fn pushed_filters_agree_with_datafusions_own_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name,n,x,t,code\n");
    let names = ["alpha", "NA", "beta", "", "alps", "Béla", "b,c", "NULL"];
    let ns = ["1", "", "NA", "10", "-3", "7", "NULL", "5"];
    let xs = ["0.5", "1e2", "", "NaN", "-2.25", "100", "N/A", "3"];
    let ts = [
        "2015-02-01 08:00:00",
        "",
        "NA",
        "2015-02-01 09:30:00",
        "2015-01-31 23:59:59",
        "2015-02-01 08:00:00",
        "null",
        "2015-02-02 00:00:00",
    ];
    let codes = ["007", "12", "x", "", "2015-02-01", "NA", "9", "a\"b"];
    for i in 0..400 {
        let pick = |list: &[&str], k: usize| list[(i * k + i / 8) % list.len()].to_string();
        let q = |s: String| {
            if s.contains([',', '"']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        };
        text.push_str(&format!(
            "{},{},{},{},{}\n",
            q(pick(&names, 1)),
            pick(&ns, 3),
            pick(&xs, 5),
            pick(&ts, 7),
            q(pick(&codes, 11))
        ));
    }
    std::fs::write(dir.path().join("t.csv"), text).unwrap();
    for chunk in [0, 50] {
        let t = table(dir.path(), chunk);
        let types: Vec<String> = t.columns().iter().map(|c| c.ty.to_string()).collect();
        assert_eq!(types, ["utf8", "int64", "float64", "timestamp", "utf8"]);
        let s = session(&[("t", &t)]);
        s.query("CREATE TABLE m AS SELECT * FROM t", |_| Ok(()))
            .unwrap();
        let wheres = [
            "n = 10",
            "n != 1",
            "n < 5",
            "n >= 7",
            "n IN (1, 10, 5)",
            "n NOT IN (1, 10)",
            "NOT (n > 1)",
            "n IS NULL",
            "n IS NOT NULL",
            "x > 1",
            "x = 100",
            "x <= 0.5",
            "t > '2015-02-01 08:00:00'",
            "t = '2015-02-01 08:00:00'",
            "name = 'alpha'",
            "name = 'NA'",
            "name = 'NULL'",
            "name != 'alpha'",
            "name < 'b'",
            "name LIKE 'al%'",
            "name NOT LIKE 'al%'",
            "name ~ '^[NB]'",
            "name IS NULL",
            "code = '007'",
            "code = 'x'",
            "code > '1'",
            "code = '2015-02-01'",
            "code = 'NA'",
            "code IS NULL",
            "n = 10 OR name = 'beta'",
            "(n > 1 AND x < 50) OR name IS NULL",
            "NOT (name = 'alpha' OR n IS NULL)",
        ];
        for w in wheres {
            let q = |table: &str| rows(&s, &format!("SELECT * FROM {table} WHERE {w}"));
            // A table in memory may hand rows back in another order.
            let (mut fleet, mut datafusion) = (q("t"), q("m"));
            fleet.sort();
            datafusion.sort();
            assert_eq!(fleet, datafusion, "WHERE {w}, chunk {chunk}");
        }
        // The rows DataFusion saw are exactly the matches for pushed filters.
        let n: usize = rows(&s, "SELECT * FROM m WHERE n = 10").len();
        assert!(n > 0);
        let plan = rows(&s, "EXPLAIN SELECT * FROM t WHERE n = 10");
        let physical = &plan.iter().find(|r| r[0] == "physical_plan").unwrap()[1];
        assert!(!physical.contains("FilterExec"), "{physical}");
    }
}

/// A column declared `decimal` in fleet.toml is Decimal128(38, 9): SUM is the exact decimal sum
/// (float64 would round 0.1 + 0.2), and pushed filters on it keep what DataFusion keeps.
#[test]
fn decimal_columns_sum_exactly_and_filter_as_datafusion_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.toml"),
        "header = true\n[types]\nprice = \"decimal\"\n",
    )
    .unwrap();
    let mut text = String::from("item,price\n");
    let mut want: i128 = 0; // units of 1e-9
    let values = [
        ("0.1", Some(100_000_000)),
        ("0.2", Some(200_000_000)),
        ("", None),
        ("-1.25e1", Some(-12_500_000_000)),
        ("NA", None),
        ("3", Some(3_000_000_000)),
        ("0.000000001", Some(1)),
        ("1.5", Some(1_500_000_000)),
    ];
    for i in 0..1000 {
        let (v, units) = values[i % values.len()];
        text.push_str(&format!("i{i},{v}\n"));
        want += units.unwrap_or(0);
    }
    std::fs::write(dir.path().join("p.csv"), text).unwrap();
    let units = |v: i128| {
        let digits = format!("{:010}", v.unsigned_abs());
        let (int, frac) = digits.split_at(digits.len() - 9);
        format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
    };
    for chunk in [0, 40] {
        let t = table(dir.path(), chunk);
        let s = session(&[("p", &t)]);
        let (_, schema) = s
            .query_with_schema("SELECT price FROM p LIMIT 0", |_| Ok(()))
            .unwrap();
        assert_eq!(
            schema.field(0).data_type(),
            &datafusion::arrow::datatypes::DataType::Decimal128(38, 9)
        );
        assert_eq!(
            rows(&s, "SELECT sum(price) FROM p"),
            vec![vec![units(want)]]
        );
        s.query("CREATE TABLE m AS SELECT * FROM p", |_| Ok(()))
            .unwrap();
        for w in [
            "price > 1.5",
            "price = 0.3",
            "price = 0.1",
            "price <= -12.5",
            "price IN (0.1, 0.2)",
            "price = 3",
            "price > 0",
            "price IS NULL",
        ] {
            let q = |table: &str| rows(&s, &format!("SELECT * FROM {table} WHERE {w}"));
            let (mut fleet, mut datafusion) = (q("p"), q("m"));
            fleet.sort();
            datafusion.sort();
            assert_eq!(fleet, datafusion, "WHERE {w}, chunk {chunk}");
        }
        assert!(!rows(&s, "SELECT * FROM m WHERE price = 0.1").is_empty());
    }
}

#[test]
fn partitions_are_groups_of_files_and_plain_selects_keep_file_order() {
    let dir = gps(5, 3_000);
    let all = records(dir.path());
    let t = table(dir.path(), 16 << 10);
    let s = session(&[("gps", &t)]);
    let physical = |sql: &str| -> String {
        let plan = rows(&s, &format!("EXPLAIN {sql}"));
        plan.iter().find(|r| r[0] == "physical_plan").unwrap()[1].clone()
    };

    // A grouping DataFusion runs itself reads the scan's two partitions directly.
    let grouped = "SELECT id, max(lon) FROM gps GROUP BY id";
    let plan = physical(grouped);
    assert!(plan.contains("partitions=2"), "{plan}");
    assert!(!plan.contains("RoundRobinBatch"), "{plan}");
    assert!(!plan.contains("FleetAggregateExec"), "{plan}");
    let mut expected: BTreeMap<i64, f64> = BTreeMap::new();
    for r in &all {
        let lon: f64 = r[2].parse().unwrap();
        let e = expected.entry(r[0].parse().unwrap()).or_insert(lon);
        *e = e.max(lon);
    }
    let got: BTreeMap<i64, f64> = rows(&s, grouped)
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect();
    assert!(expected.len() > 10);
    assert_eq!(got, expected);
    let totals = t.totals();
    assert_eq!(totals.scans, 1, "{totals:?}");
    assert_eq!(totals.records, all.len() as u64, "{totals:?}");

    // The scan's rows as they come: one partition, fleet scan's file order.
    let select = "SELECT id, heading FROM gps WHERE speed > 30";
    let plan = physical(select);
    assert!(plan.contains("partitions=1"), "{plan}");
    let want: Vec<Vec<String>> = all
        .iter()
        .filter(|r| r[4].parse::<i64>().unwrap() > 30)
        .map(|r| vec![r[0].clone(), r[5].clone()])
        .collect();
    assert!(want.len() > 100);
    assert_eq!(rows(&s, select), want);

    // A consumer that stops reading some partitions early: every job ends.
    let got = rows(
        &s,
        "SELECT id FROM gps UNION ALL SELECT id FROM gps LIMIT 5",
    );
    assert_eq!(got.len(), 5);
}
