//! Differential tests of the aggregation kernel (`fleet_engine::agg`) against a plain
//! reference: records read with the `csv` crate, every raw value kept per group in a
//! `BTreeMap`, and the aggregates computed at the end with straightforward i128 arithmetic in
//! 10^-6 units (the generated data never has more than 6 decimals, which the reference
//! asserts). The engine side splits the records into random chunks, aggregates each into its
//! own table, round-trips some tables through `encode`/`decode`, merges them in random order,
//! and must print exactly the reference's bytes, whatever the partition.
#![allow(clippy::unwrap_used)]

mod agg_support;

use agg_support::*;
use csv::ByteRecord;
use fleet_engine::agg::{finish, parse_sort, write_csv, write_jsonl, AggPlan, AggTable, Sort};
use fleet_engine::input::schema::Schema;
// ---------------------------------------------------------------------------------------
// The engine, over random partitions.

struct EngineOut {
    csv: Vec<u8>,
    jsonl: Vec<u8>,
    table: AggTable,
}

fn engine(
    plan: &AggPlan,
    recs: &[ByteRecord],
    rng: &mut Rng,
    sort: Option<&Sort>,
    top: Option<usize>,
) -> EngineOut {
    let nchunks = 1 + rng.below(12);
    let mut cuts: Vec<usize> = (0..nchunks - 1)
        .map(|_| rng.below(recs.len() + 1))
        .collect();
    cuts.push(0);
    cuts.push(recs.len());
    cuts.sort_unstable();
    let mut pool: Vec<AggTable> = Vec::new();
    for w in cuts.windows(2) {
        let mut t = AggTable::new(plan);
        for rec in &recs[w[0]..w[1]] {
            t.update(plan, |i| &rec[i]);
        }
        if rng.below(2) == 0 {
            let mut bytes = Vec::new();
            t.encode(&mut bytes);
            t = AggTable::decode(plan, &bytes).unwrap();
        }
        pool.push(t);
    }
    while pool.len() > 1 {
        let from = pool.swap_remove(rng.below(pool.len()));
        let into = rng.below(pool.len());
        pool[into].merge(from);
        if rng.below(4) == 0 {
            // Hand a merged table through bytes too.
            let mut bytes = Vec::new();
            pool[into].encode(&mut bytes);
            pool[into] = AggTable::decode(plan, &bytes).unwrap();
        }
    }
    let table = pool.pop().unwrap();
    let rows = finish(&table, plan, sort, top);
    let mut csv = Vec::new();
    write_csv(&rows, plan, &mut csv);
    let mut jsonl = Vec::new();
    write_jsonl(&rows, plan, &mut jsonl);
    EngineOut { csv, jsonl, table }
}

/// Runs `partitions` random partitions and checks each against the reference; returns the
/// reference for further checks.
fn check(
    schema: &Schema,
    recs: &[ByteRecord],
    group_by: Option<&str>,
    aggs: &[&str],
    sort: Option<&str>,
    top: Option<usize>,
    partitions: u64,
) -> RefOut {
    let plan = AggPlan::parse(group_by, aggs, schema).unwrap();
    let sort = sort.map(|s| parse_sort(s, &plan).unwrap());
    let want = reference(&plan, recs, sort.as_ref(), top);
    let mut first_jsonl: Option<Vec<u8>> = None;
    for seed in 0..partitions {
        let mut rng = Rng(seed * 7919 + recs.len() as u64);
        let got = engine(&plan, recs, &mut rng, sort.as_ref(), top);
        if got.csv != want.csv {
            let (g, w) = (
                String::from_utf8_lossy(&got.csv),
                String::from_utf8_lossy(&want.csv),
            );
            let line = g.lines().zip(w.lines()).position(|(a, b)| a != b);
            panic!(
                "partition {seed} of {group_by:?} {aggs:?}: output differs from the reference \
                 at line {line:?}:\n got: {:?}\nwant: {:?}",
                line.and_then(|l| g.lines().nth(l)),
                line.and_then(|l| w.lines().nth(l)),
            );
        }
        let want_bad: Vec<(String, u64)> = plan
            .specs
            .iter()
            .zip(&want.malformed_values)
            .filter(|(_, &n)| n > 0)
            .map(|(s, &n)| (s.text.clone(), n))
            .collect();
        assert_eq!(got.table.malformed_values(), want_bad, "partition {seed}");
        let want_bad_keys: Vec<(String, u64)> = plan
            .keys
            .iter()
            .zip(&want.malformed_keys)
            .filter(|(_, &n)| n > 0)
            .map(|(k, &n)| (k.text.clone(), n))
            .collect();
        assert_eq!(
            got.table.malformed_keys(),
            want_bad_keys,
            "partition {seed}"
        );
        if !plan.keys.is_empty() {
            assert_eq!(got.table.groups(), want.groups, "partition {seed}");
        }
        match &first_jsonl {
            None => {
                for line in got.jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
                    assert_eq!(
                        v.as_object().unwrap().len(),
                        plan.keys.len() + plan.specs.len()
                    );
                }
                first_jsonl = Some(got.jsonl);
            }
            Some(first) => assert_eq!(&got.jsonl, first, "jsonl differs in partition {seed}"),
        }
    }
    want
}

fn csv_lines(out: &RefOut) -> Vec<String> {
    String::from_utf8(out.csv.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn gps_by_id_with_more_than_20000_groups() {
    let (schema, recs) = gps(0..1, 120_000);
    let want = check(
        &schema,
        &recs,
        Some("id"),
        &[
            "count",
            "mean(speed)",
            "max(speed)",
            "min(lon)",
            "stddev(lat)",
            "count(speed)",
        ],
        None,
        None,
        4,
    );
    assert!(want.groups > 20_000, "only {} groups", want.groups);
    let lines = csv_lines(&want);
    assert_eq!(
        lines[0],
        "id,count,mean(speed),max(speed),min(lon),stddev(lat),count(speed)"
    );
    assert!(lines[1].starts_with("10000,"), "{}", lines[1]);
    assert_eq!(lines.len(), want.groups + 1);
}

#[test]
fn gps_by_hour() {
    let (schema, recs) = gps(0..2, 20_000);
    let want = check(
        &schema,
        &recs,
        Some("hour(time)"),
        &["count", "sum(speed)"],
        None,
        None,
        6,
    );
    let lines = csv_lines(&want);
    assert_eq!(lines.len(), 25, "24 hours and a header");
    assert!(
        lines[1].starts_with("00,") && lines[24].starts_with("23,"),
        "{lines:?}"
    );
}

#[test]
fn gps_calendar_keys_over_ten_days() {
    let (schema, recs) = gps(0..10, 2_000);
    let want = check(
        &schema,
        &recs,
        Some("weekday(time),occupied"),
        &["count", "mean(speed)"],
        None,
        None,
        4,
    );
    let lines = csv_lines(&want);
    assert_eq!(lines.len(), 1 + 7 * 2);
    assert!(lines[1].starts_with("Mon,0,"), "{lines:?}");
    assert!(lines[14].starts_with("Sun,1,"), "{lines:?}");
    let want = check(
        &schema,
        &recs,
        Some("day(time)"),
        &["count", "distinct(id)"],
        None,
        None,
        4,
    );
    let lines = csv_lines(&want);
    assert_eq!(lines.len(), 11);
    assert!(lines[1].starts_with("2015-02-01,2000,"), "{lines:?}");
    assert!(lines[10].starts_with("2015-02-10,2000,"), "{lines:?}");
}

#[test]
fn trips_by_payment_type() {
    let (schema, recs) = trips(0..2, 15_000);
    let want = check(
        &schema,
        &recs,
        Some("payment_type"),
        &[
            "count",
            "sum(total_amount)",
            "mean(tip_amount)",
            "min(tpep_pickup_datetime)",
            "max(tpep_pickup_datetime)",
            "stddev(fare_amount)",
            "distinct(PULocationID)",
            "count(passenger_count)",
        ],
        None,
        None,
        6,
    );
    let lines = csv_lines(&want);
    assert_eq!(lines.len(), 5, "payment types 1..4: {lines:?}");
    // Some passenger counts are empty, so count(COL) is below count for the big groups.
    let row: Vec<&str> = lines[1].split(',').collect();
    assert!(
        row[8].parse::<u64>().unwrap() < row[1].parse::<u64>().unwrap(),
        "{row:?}"
    );
    assert!(row[4].starts_with("2015-01-01 "), "{row:?}");
    assert!(row[5].starts_with("2015-02-28 "), "{row:?}");
}

#[test]
fn trips_calendar_keys_and_two_columns() {
    let (schema, recs) = trips(0..4, 3_000);
    let want = check(
        &schema,
        &recs,
        Some("month(tpep_pickup_datetime),VendorID"),
        &["count", "mean(trip_distance)", "max(total_amount)"],
        None,
        None,
        4,
    );
    assert_eq!(csv_lines(&want).len(), 1 + 4 * 2);
    check(
        &schema,
        &recs,
        Some("weekday(tpep_dropoff_datetime),day(tpep_pickup_datetime)"),
        &["count", "sum(tolls_amount)"],
        None,
        None,
        3,
    );
}

#[test]
fn totals_without_group_by() {
    let (schema, recs) = trips(0..1, 10_000);
    let want = check(
        &schema,
        &recs,
        None,
        &[
            "count",
            "sum(total_amount)",
            "mean(fare_amount)",
            "stddev(tip_amount)",
            "min(trip_distance)",
            "distinct(DOLocationID)",
        ],
        None,
        None,
        6,
    );
    let lines = csv_lines(&want);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("10000,"), "{lines:?}");
    // Over no records: still one row.
    let want = check(
        &schema,
        &[],
        None,
        &["count", "sum(fare_amount)"],
        None,
        None,
        2,
    );
    assert_eq!(csv_lines(&want), vec!["count,sum(fare_amount)", "0,"]);
}

#[test]
fn all_malformed_numeric_column_is_reported_and_empty() {
    let (schema, recs) = trips(0..1, 5_000);
    let want = check(
        &schema,
        &recs,
        Some("VendorID"),
        &[
            "count",
            "sum(store_and_fwd_flag)",
            "mean(tpep_pickup_datetime)",
            "count(store_and_fwd_flag)",
        ],
        None,
        None,
        4,
    );
    assert_eq!(
        want.malformed_values[1] + want.malformed_values[2],
        2 * 5_000
    );
    for line in &csv_lines(&want)[1..] {
        let row: Vec<&str> = line.split(',').collect();
        assert_eq!((row[2], row[3]), ("", ""), "{line}");
        assert_eq!(row[4], row[1], "every flag is non-empty");
    }
}

#[test]
fn malformed_timestamps_and_empty_values() {
    let (schema, mut recs) = gps(0..2, 5_000);
    for (i, rec) in recs.iter_mut().enumerate() {
        let fields: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
        let mut fields = fields;
        match i % 37 {
            0 => fields[1] = b"garbage".to_vec(),
            1 => fields[1] = Vec::new(),
            2 => fields[1] = b"2015-02-30 10:00:00".to_vec(),
            3 => fields[4] = Vec::new(),
            4 => fields[4] = b"fast".to_vec(),
            _ => continue,
        }
        *rec = ByteRecord::from(fields);
    }
    let want = check(
        &schema,
        &recs,
        Some("hour(time)"),
        &[
            "count",
            "sum(speed)",
            "mean(speed)",
            "count(speed)",
            "max(speed)",
        ],
        None,
        None,
        5,
    );
    assert!(want.malformed_keys[0] > 0 && want.malformed_values[1] > 0);
    let lines = csv_lines(&want);
    assert!(
        lines[lines.len() - 1].starts_with(","),
        "the empty key sorts after the hours: {lines:?}"
    );
    // max(speed) of the hours that saw "fast" switches to bytewise.
    assert!(lines.iter().any(|l| l.ends_with(",fast")), "{lines:?}");
}

#[test]
fn sort_and_top_are_partition_independent() {
    let (schema, recs) = gps(0..1, 30_000);
    for (sort, top) in [
        ("-count", Some(25)),
        ("mean(speed)", Some(40)),
        ("-id", Some(10)),
        ("-max(speed)", None),
    ] {
        let want = check(
            &schema,
            &recs,
            Some("id"),
            &["count", "mean(speed)", "max(speed)"],
            Some(sort),
            top,
            3,
        );
        if let Some(n) = top {
            assert_eq!(csv_lines(&want).len(), n + 1, "{sort}");
        }
    }
}
