//! Final rows from a merged table ([`finish`]): values printed from the exact states, rows
//! put in a total order so the output never depends on hash or merge order, then written as
//! CSV or JSON lines.
//!
//! Order: by default group keys ascending, key by key ([`cmp_key`]: plain decimals
//! numerically before other text bytewise; weekday keys Monday first). `--sort` orders by one
//! key or by an aggregate's printed value instead (same order of values), with the full key
//! tuple ascending breaking ties; empty (null) aggregate values come last in both directions.

use std::cmp::Ordering;

use crate::scan::format::{write_csv_field, write_json_string};

use super::keys::{cmp_key, cmp_values, unpack};
use super::spec::{AggPlan, Sort, SortKey, SortTerm};
use super::table::AggTable;

/// One output row. Bytes rather than text: group keys and min/max values are the data's own
/// bytes, which need not be UTF-8, and the CSV output reproduces them exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggRow {
    /// One per group key, in plan order.
    pub keys: Vec<Vec<u8>>,
    /// One per spec, in plan order; empty means null.
    pub values: Vec<Vec<u8>>,
}

/// The final rows: default order by group keys, or `sort`; then the first `top` rows.
/// Without group keys there is always exactly one row of totals, even over no records.
pub fn finish(
    table: &AggTable,
    plan: &AggPlan,
    sort: Option<&Sort>,
    top: Option<usize>,
) -> Vec<AggRow> {
    finish_per(table, plan, sort, top, None)
}

/// [`finish`] with `--top-by`: with `top_by` (a group key's index) the `top` rows are kept per
/// value of that key, and the rows come grouped by it (its values ascending), each group in
/// the `sort` order.
pub fn finish_per(
    table: &AggTable,
    plan: &AggPlan,
    sort: Option<&Sort>,
    top: Option<usize>,
    top_by: Option<usize>,
) -> Vec<AggRow> {
    let mut rows: Vec<AggRow> = table
        .group_list()
        .into_iter()
        .enumerate()
        .filter_map(|(g, (packed, records))| {
            // Keys were packed by this module's own tables (or checked when decoded).
            let keys = unpack(packed, plan.keys.len())?;
            Some(AggRow {
                keys: keys.into_iter().map(<[u8]>::to_vec).collect(),
                values: plan
                    .specs
                    .iter()
                    .zip(&table.columns)
                    .enumerate()
                    .map(|(i, (s, column))| {
                        column.render(g, s.func, records, table.column_text(i), &plan.nulls)
                    })
                    .collect(),
            })
        })
        .collect();
    if plan.keys.is_empty() && rows.is_empty() {
        rows.push(AggRow {
            keys: Vec::new(),
            values: plan
                .specs
                .iter()
                .zip(&table.columns)
                .enumerate()
                .map(|(i, (s, column))| {
                    column.render(usize::MAX, s.func, 0, table.column_text(i), &plan.nulls)
                })
                .collect(),
        });
    }
    let by_keys = |a: &AggRow, b: &AggRow| -> Ordering {
        plan.keys
            .iter()
            .zip(a.keys.iter().zip(&b.keys))
            .map(|(k, (x, y))| cmp_key(k.func, x, y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let by_term = |term: &SortTerm, a: &AggRow, b: &AggRow| -> Ordering {
        match term.by {
            SortKey::Key(i) => match (a.keys.get(i), b.keys.get(i), plan.keys.get(i)) {
                (Some(x), Some(y), Some(k)) => directed(cmp_key(k.func, x, y), term.descending),
                _ => Ordering::Equal,
            },
            SortKey::Spec(i) => match (a.values.get(i), b.values.get(i)) {
                (Some(x), Some(y)) => match (x.is_empty(), y.is_empty()) {
                    (false, false) => directed(cmp_values(x, y), term.descending),
                    (a_null, b_null) => a_null.cmp(&b_null),
                },
                _ => Ordering::Equal,
            },
        }
    };
    let by_group = |a: &AggRow, b: &AggRow| -> Ordering {
        match (top_by, top_by.and_then(|i| plan.keys.get(i))) {
            (Some(i), Some(k)) => cmp_key(k.func, &a.keys[i], &b.keys[i]),
            _ => Ordering::Equal,
        }
    };
    let terms = sort.map_or(&[][..], |s| s.terms.as_slice());
    rows.sort_by(|a, b| {
        terms
            .iter()
            .fold(by_group(a, b), |o, t| o.then_with(|| by_term(t, a, b)))
            .then_with(|| by_keys(a, b))
    });
    if let Some(n) = top {
        match top_by.filter(|&i| i < plan.keys.len()) {
            None => rows.truncate(n),
            Some(i) => {
                let mut kept = 0usize;
                let mut previous: Option<Vec<u8>> = None;
                rows.retain(|row| {
                    if previous.as_deref() != Some(row.keys[i].as_slice()) {
                        previous = Some(row.keys[i].clone());
                        kept = 0;
                    }
                    kept += 1;
                    kept <= n
                });
            }
        }
    }
    rows
}

fn directed(o: Ordering, descending: bool) -> Ordering {
    if descending {
        o.reverse()
    } else {
        o
    }
}

/// The column names: key texts, then spec texts.
fn header(plan: &AggPlan) -> impl Iterator<Item = &str> {
    plan.keys
        .iter()
        .map(|k| k.text.as_str())
        .chain(plan.specs.iter().map(|s| s.text.as_str()))
}

/// CSV with a header line, quoted as the `csv` crate's writer would.
pub fn write_csv(rows: &[AggRow], plan: &AggPlan, out: &mut Vec<u8>) {
    let ncols = plan.keys.len() + plan.specs.len();
    let sole = ncols == 1;
    let line = |fields: &mut dyn Iterator<Item = &[u8]>, out: &mut Vec<u8>| {
        for (i, f) in fields.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_csv_field(out, f, b',', sole);
        }
        out.push(b'\n');
    };
    if ncols == 0 {
        return;
    }
    line(&mut header(plan).map(str::as_bytes), out);
    for row in rows {
        line(
            &mut row.keys.iter().chain(&row.values).map(Vec::as_slice),
            out,
        );
    }
}

/// One JSON object per row, keyed by column name in column order. Keys and min/max are
/// strings; counts, sums, means, stddevs and distinct counts are numbers; nulls are `null`.
pub fn write_jsonl(rows: &[AggRow], plan: &AggPlan, out: &mut Vec<u8>) {
    let names: Vec<&str> = header(plan).collect();
    for row in rows {
        out.push(b'{');
        let mut first = true;
        let mut field = |name: &str, out: &mut Vec<u8>| {
            if !first {
                out.push(b',');
            }
            first = false;
            write_json_string(out, name.as_bytes());
            out.push(b':');
        };
        for (name, key) in names.iter().zip(&row.keys) {
            field(name, out);
            write_json_string(out, key);
        }
        for ((name, value), spec) in names[plan.keys.len()..]
            .iter()
            .zip(&row.values)
            .zip(&plan.specs)
        {
            field(name, out);
            if value.is_empty() {
                out.extend_from_slice(b"null");
            } else if spec.func.is_numeric_output() {
                // Our own decimal text: always a valid JSON number (no exponent, no '+').
                out.extend_from_slice(value);
            } else {
                write_json_string(out, value);
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

/// Columns padded to their widest cell; keys left-aligned, aggregates right-aligned.
pub fn write_table(rows: &[AggRow], plan: &AggPlan, out: &mut Vec<u8>) {
    let header: Vec<&str> = header(plan).collect();
    let cells = |row: &AggRow| -> Vec<String> {
        row.keys
            .iter()
            .chain(&row.values)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(cells(row)) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let nkeys = plan.keys.len();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(w - cell.chars().count());
            if i < nkeys {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        out.extend_from_slice(text.trim_end().as_bytes());
        out.push(b'\n');
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        line(&cells(row));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::agg::spec::parse_sort;
    use crate::input::schema::Schema;

    fn schema() -> Schema {
        Schema::new(
            Some(["id", "time", "v", "name"].map(String::from).to_vec()),
            0,
        )
    }

    fn run(
        group_by: Option<&str>,
        aggs: &[&str],
        rows: &[[&str; 4]],
        sort: Option<&str>,
        top: Option<usize>,
    ) -> String {
        let p = AggPlan::parse(group_by, aggs, &schema()).unwrap();
        let mut t = AggTable::new(&p);
        for row in rows {
            t.update(&p, |i| row[i].as_bytes());
        }
        let sort = sort.map(|s| parse_sort(s, &p).unwrap());
        let mut out = Vec::new();
        write_csv(&finish(&t, &p, sort.as_ref(), top), &p, &mut out);
        String::from_utf8(out).unwrap()
    }

    const ROWS: [[&str; 4]; 6] = [
        ["10", "2015-02-02 08:00:00", "1", "a,b"],
        ["9", "2015-02-01 09:00:00", "2", "x"],
        ["10", "2015-02-03 08:30:00", "", "y"],
        ["9", "bad", "4.5", "\"q\""],
        ["100", "2015-02-07 23:00:00", "x", ""],
        ["9", "2015-02-01 09:10:00", "2", "x"],
    ];

    #[test]
    fn default_order_is_numeric_by_key() {
        let got = run(
            Some("id"),
            &["count", "sum(v)", "mean(v)", "max(name)"],
            &ROWS,
            None,
            None,
        );
        assert_eq!(
            got,
            "id,count,sum(v),mean(v),max(name)\n\
             9,3,8.5,2.833333,x\n\
             10,2,1,1.000000,y\n\
             100,1,,,\n"
        );
    }

    #[test]
    fn derived_keys_and_quoting() {
        let got = run(
            Some("weekday(time),hour(time)"),
            &["count", "min(name)"],
            &ROWS,
            None,
            None,
        );
        assert_eq!(
            got,
            "weekday(time),hour(time),count,min(name)\n\
             ,,1,\"\"\"q\"\"\"\n\
             Mon,08,1,\"a,b\"\n\
             Tue,08,1,y\n\
             Sat,23,1,\n\
             Sun,09,2,x\n"
        );
    }

    #[test]
    fn sort_and_top() {
        let got = run(
            Some("id"),
            &["count", "sum(v)"],
            &ROWS,
            Some("-count"),
            Some(2),
        );
        assert_eq!(got, "id,count,sum(v)\n9,3,8.5\n10,2,1\n");
        // Nulls last in both directions, ties by key.
        let got = run(
            Some("id"),
            &["count", "sum(v)"],
            &ROWS,
            Some("sum(v)"),
            None,
        );
        assert_eq!(got, "id,count,sum(v)\n10,2,1\n9,3,8.5\n100,1,\n");
        let got = run(
            Some("id"),
            &["count", "sum(v)"],
            &ROWS,
            Some("-sum(v)"),
            None,
        );
        assert_eq!(got, "id,count,sum(v)\n9,3,8.5\n10,2,1\n100,1,\n");
        let got = run(Some("id"), &["count"], &ROWS, Some("-id"), Some(0));
        assert_eq!(got, "id,count\n");
        let got = run(Some("id"), &["count"], &ROWS, Some("-id"), None);
        assert_eq!(got, "id,count\n100,1\n10,2\n9,3\n");
    }

    #[test]
    fn totals_without_keys() {
        let got = run(
            None,
            &[
                "count",
                "count(v)",
                "sum(v)",
                "stddev(v)",
                "distinct(name)",
                "min(v)",
            ],
            &ROWS,
            None,
            None,
        );
        assert_eq!(
            got,
            "count,count(v),sum(v),stddev(v),distinct(name),min(v)\n6,5,9.5,1.493039,4,1\n"
        );
        let got = run(
            None,
            &["count", "sum(v)", "min(v)", "distinct(v)"],
            &[],
            None,
            None,
        );
        assert_eq!(got, "count,sum(v),min(v),distinct(v)\n0,,,0\n");
        // A single column: an empty value is quoted so the line is not blank.
        let got = run(None, &["min(v)"], &[], None, None);
        assert_eq!(got, "min(v)\n\"\"\n");
    }

    #[test]
    fn jsonl() {
        let p = AggPlan::parse(
            Some("id"),
            &["count", "mean(v)", "max(name)", "stddev(v)"],
            &schema(),
        )
        .unwrap();
        let mut t = AggTable::new(&p);
        for row in &ROWS {
            t.update(&p, |i| row[i].as_bytes());
        }
        let mut out = Vec::new();
        write_jsonl(&finish(&t, &p, None, None), &p, &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["id"], "9");
        assert_eq!(lines[0]["count"], 3);
        assert_eq!(lines[0]["mean(v)"].as_f64(), Some(2.833333));
        assert_eq!(lines[0]["max(name)"], "x");
        assert!(lines[2]["mean(v)"].is_null());
        assert!(lines[2]["max(name)"].is_null());
        assert!(lines[1]["stddev(v)"].is_null());
        assert!(
            text.starts_with("{\"id\":\"9\",\"count\":3,\"mean(v)\":2.833333,"),
            "{text}"
        );
    }
}
