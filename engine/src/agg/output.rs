//! Final rows from a merged table ([`finish`]): values printed from the exact states, rows
//! put in a total order so the output never depends on hash or merge order, then written as
//! CSV or JSON lines.
//!
//! Order: by default group keys ascending, key by key (`keys::cmp_key`: plain decimals
//! numerically before other text bytewise; weekday keys Monday first). `--sort` orders by one
//! key or by an aggregate's printed value instead (same order of values), with the full key
//! tuple ascending breaking ties; empty (null) aggregate values come last in both directions.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::scan::format::{write_csv_field, write_json_string};

use crate::query::number::Decimal;

use super::keys::{cmp_key_parsed, cmp_parsed, unpack, WEEKDAYS};
use super::spec::{AggPlan, KeyFn, Sort, SortKey, SortTerm};
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
    order_rows(unordered_rows(table, plan), plan, sort, top, top_by)
}

/// Every group of `table` as a row, in no particular order, for a consumer that merges or
/// orders rows itself (fleet sql's partial aggregates); without group keys, the one row of
/// totals.
pub fn unordered_rows(table: &AggTable, plan: &AggPlan) -> Vec<AggRow> {
    let mut rows = rows_of(table, plan);
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
    rows
}

/// Groups rendered per rayon task: enough to make a task worth its scheduling.
const ROWS_PER_TASK: usize = 4096;

/// Every group of `table` as a row, in group order (rendered on the rayon pool when there
/// are many).
pub(crate) fn rows_of(table: &AggTable, plan: &AggPlan) -> Vec<AggRow> {
    let list = table.group_list();
    let row = |g: usize| -> Option<AggRow> {
        let (packed, records) = list[g];
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
    };
    if list.len() < 2 * ROWS_PER_TASK {
        return (0..list.len()).filter_map(row).collect();
    }
    (0..list.len())
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .filter_map(row)
        .collect()
}

/// `rows` in output order (see [`finish_per`]), cut to `top`.
pub(crate) fn order_rows(
    rows: Vec<AggRow>,
    plan: &AggPlan,
    sort: Option<&Sort>,
    top: Option<usize>,
    top_by: Option<usize>,
) -> Vec<AggRow> {
    let order = sorted_order(&rows, plan, sort, top_by);
    let mut slots: Vec<Option<AggRow>> = rows.into_iter().map(Some).collect();
    let mut rows: Vec<AggRow> = order.into_iter().filter_map(|i| slots[i].take()).collect();
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

/// The rows' indices in output order: the `--top-by` key's values, then the `--sort` terms,
/// then the key tuple. Every key and value is parsed as a number once here, not at each of
/// the sort's comparisons.
fn sorted_order(
    rows: &[AggRow],
    plan: &AggPlan,
    sort: Option<&Sort>,
    top_by: Option<usize>,
) -> Vec<usize> {
    let nkeys = plan.keys.len();
    let nspecs = plan.specs.len();
    let terms = sort.map_or(&[][..], |s| s.terms.as_slice());
    let sorts_values = terms.iter().any(|t| matches!(t.by, SortKey::Spec(_)));
    // Row r's key k parsed is keys[r * nkeys + k]; its value s, values[r * nspecs + s].
    let keys: Vec<Option<Decimal<'_>>> = rows
        .iter()
        .flat_map(|r| (0..nkeys).map(|k| r.keys.get(k).and_then(|v| Decimal::parse(v))))
        .collect();
    let values: Vec<Option<Decimal<'_>>> = if sorts_values {
        rows.iter()
            .flat_map(|r| (0..nspecs).map(|s| r.values.get(s).and_then(|v| Decimal::parse(v))))
            .collect()
    } else {
        Vec::new()
    };
    let key_cmp = |k: usize, a: usize, b: usize| -> Ordering {
        match (rows[a].keys.get(k), rows[b].keys.get(k), plan.keys.get(k)) {
            (Some(x), Some(y), Some(key)) => {
                cmp_key_parsed(key.func, x, keys[a * nkeys + k], y, keys[b * nkeys + k])
            }
            _ => Ordering::Equal,
        }
    };
    let by_keys = |a: usize, b: usize| -> Ordering {
        (0..nkeys)
            .map(|k| key_cmp(k, a, b))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let by_term = |term: &SortTerm, a: usize, b: usize| -> Ordering {
        match term.by {
            SortKey::Key(i) => directed(key_cmp(i, a, b), term.descending),
            SortKey::Spec(i) => match (rows[a].values.get(i), rows[b].values.get(i)) {
                (Some(x), Some(y)) => match (x.is_empty(), y.is_empty()) {
                    (false, false) => directed(
                        cmp_parsed(
                            x,
                            values.get(a * nspecs + i).copied().flatten(),
                            y,
                            values.get(b * nspecs + i).copied().flatten(),
                        ),
                        term.descending,
                    ),
                    (a_null, b_null) => a_null.cmp(&b_null),
                },
                _ => Ordering::Equal,
            },
        }
    };
    let by_group = |a: usize, b: usize| -> Ordering {
        match top_by.filter(|&i| i < nkeys) {
            Some(i) => key_cmp(i, a, b),
            None => Ordering::Equal,
        }
    };
    let full = |a: usize, b: usize| -> Ordering {
        terms
            .iter()
            .fold(by_group(a, b), |o, t| o.then_with(|| by_term(t, a, b)))
            .then_with(|| by_keys(a, b))
    };
    // In the default order the first key decides most comparisons: compare a short
    // abbreviation of it first, inline, and the full rows only when the abbreviations tie.
    // Where the first key's abbreviation is exact (it names one text), rows that tie on it
    // hold the same first key, so the second key's abbreviation decides next (taxi ids by
    // hour: 24 rows share each id).
    let abbreviated = match plan.keys.first() {
        Some(first) if terms.is_empty() && top_by.is_none() => rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let text = row.keys.first().map_or(&[][..], Vec::as_slice);
                let (a, exact) = abbreviate_exact(first.func, text, keys[r * nkeys])?;
                let second = match (plan.keys.get(1), row.keys.get(1)) {
                    (Some(key), Some(text)) if exact => {
                        abbreviate(key.func, text, keys[r * nkeys + 1])
                    }
                    _ => None,
                };
                Some((a, second, r))
            })
            .collect::<Option<Vec<(u128, Option<u128>, usize)>>>(),
        _ => None,
    };
    if let Some(mut rows) = abbreviated {
        // Each step decides only where the full comparison would decide the same, so this is
        // the full order. Key tuples are distinct, so the order is total and an unstable sort
        // is exact. On the rayon pool: the comparisons are the same, so is the order.
        let cmp = |a: &(u128, Option<u128>, usize), b: &(u128, Option<u128>, usize)| {
            a.0.cmp(&b.0).then_with(|| match (a.1, b.1) {
                (Some(x), Some(y)) => x.cmp(&y).then_with(|| full(a.2, b.2)),
                _ => full(a.2, b.2),
            })
        };
        if rows.len() < 2 * ROWS_PER_TASK {
            rows.sort_unstable_by(cmp);
        } else {
            rows.par_sort_unstable_by(cmp);
        }
        return rows.into_iter().map(|(_, _, r)| r).collect();
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if order.len() < 2 * ROWS_PER_TASK {
        order.sort_by(|&a, &b| full(a, b));
    } else {
        order.par_sort_by(|&a, &b| full(a, b));
    }
    order
}

/// A key value's abbreviation for sorting: whenever `cmp_key` puts `a` before `b`, the
/// abbreviation of `a` is at most that of `b` (equal abbreviations say nothing). Numbers come
/// first (class 0) by their nearest `f64` (a correctly rounded parse never reverses two
/// values, and every zero is `+0`), then text (class 1) by its first 8 bytes; weekday keys
/// by their rank. `None` when a number does not parse as an `f64`, and the caller compares
/// in full.
fn abbreviate(func: KeyFn, text: &[u8], number: Option<Decimal<'_>>) -> Option<u128> {
    if let KeyFn::Weekday(_) = func {
        // As `cmp_key`: a value that is no weekday (the empty key) comes first.
        let rank = WEEKDAYS
            .iter()
            .position(|w| &w[..] == text)
            .map_or(0, |i| i + 1);
        return Some((rank as u128) << 64);
    }
    if number.is_some() {
        let v: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
        let v = if v == 0.0 { 0.0 } else { v };
        let bits = v.to_bits();
        let ordered = if bits >> 63 == 1 {
            !bits
        } else {
            bits | 1 << 63
        };
        return Some(u128::from(ordered));
    }
    let mut word = [0u8; 8];
    let n = text.len().min(8);
    word[..n].copy_from_slice(&text[..n]);
    Some(1 << 64 | u128::from(u64::from_be_bytes(word)))
}

/// [`abbreviate`], and whether the abbreviation is exact: no other key text has the same one.
/// So for weekdays, canonical integers of up to 15 digits (distinct `f64`s) and texts of
/// up to 8 bytes without a NUL (the padding).
fn abbreviate_exact(func: KeyFn, text: &[u8], number: Option<Decimal<'_>>) -> Option<(u128, bool)> {
    let a = abbreviate(func, text, number)?;
    let exact = match func {
        KeyFn::Weekday(_) => a >> 64 != 0,
        _ if number.is_some() => {
            let digits = text.strip_prefix(b"-").unwrap_or(text);
            !digits.is_empty()
                && digits.len() <= 15
                && digits.iter().all(u8::is_ascii_digit)
                && (digits[0] != b'0' || (digits.len() == 1 && digits.len() == text.len()))
        }
        _ => text.len() <= 8 && !text.contains(&0),
    };
    Some((a, exact))
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

    #[test]
    fn abbreviations_never_contradict_the_key_order() {
        let values = [
            "",
            "0",
            "+0",
            "-0",
            "0.0",
            "-0.00",
            ".0",
            "+0.",
            "1",
            "01",
            "1.0",
            "1e2",
            "100",
            "1E2",
            "99.99999999999999999999",
            "100.000000000000000001",
            "-1",
            "-1e-3",
            "-0.001",
            "9007199254740993",
            "9007199254740992",
            "1e300",
            "-1e300",
            "a",
            "a\0",
            "abcdefgh",
            "abcdefghX",
            "abcdefgh\0",
            "Mon",
            "Sun",
            "Tue",
            "x,y",
            "\u{7f}",
        ];
        for func in [KeyFn::Column(0), KeyFn::Weekday(0)] {
            for a in values {
                for b in values {
                    let (x, y) = (a.as_bytes(), b.as_bytes());
                    let (Some(p), Some(q)) = (
                        abbreviate(func, x, Decimal::parse(x)),
                        abbreviate(func, y, Decimal::parse(y)),
                    ) else {
                        continue;
                    };
                    if super::super::keys::cmp_key(func, x, y).is_lt() {
                        assert!(p <= q, "{func:?}: {a:?} < {b:?} but abbreviated {p} > {q}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_exact_abbreviation_names_one_text() {
        let values = [
            "",
            "\0",
            "0",
            "-0",
            "00",
            "1",
            "-1",
            "01",
            "1.0",
            "+1",
            "1e0",
            "5",
            "-5",
            "-05",
            "999999999999999",
            "1000000000000000",
            "9007199254740993",
            "9007199254740992",
            "a",
            "a\0",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghX",
            "Mon",
            "Monday",
            "Sun",
        ];
        let mut exact_seen = 0;
        for func in [KeyFn::Column(0), KeyFn::Weekday(0)] {
            for a in values {
                for b in values {
                    let (x, y) = (a.as_bytes(), b.as_bytes());
                    let (Some((p, true)), Some((q, true))) = (
                        abbreviate_exact(func, x, Decimal::parse(x)),
                        abbreviate_exact(func, y, Decimal::parse(y)),
                    ) else {
                        continue;
                    };
                    exact_seen += 1;
                    if p == q {
                        assert_eq!(a, b, "{func:?}: two texts share an exact abbreviation");
                    }
                }
            }
        }
        assert!(exact_seen > 100, "most values are exact: {exact_seen}");
        for inexact in [
            "00",
            "01",
            "-0",
            "1.0",
            "+1",
            "1000000000000000",
            "a\0",
            "abcdefghX",
        ] {
            let x = inexact.as_bytes();
            let got = abbreviate_exact(KeyFn::Column(0), x, Decimal::parse(x));
            assert!(
                matches!(got, Some((_, false)) | None),
                "{inexact:?}: {got:?}"
            );
        }
    }

    /// Two-key rows whose first keys tie on their abbreviation (exact or not) come out in
    /// the order a plain sort by `cmp_key`, key by key, gives.
    #[test]
    fn two_key_rows_sort_as_the_key_comparison_says() {
        let firsts = [
            "1",
            "01",
            "1.0",
            "2",
            "-1",
            "-0",
            "0",
            "abc",
            "abcdefgh",
            "abcdefghX",
            "",
        ];
        let seconds = ["00", "1", "10", "9", "x", "", "-0.5", "23"];
        let schema = Schema::new(Some(["a", "b"].map(String::from).to_vec()), 0);
        let plan = AggPlan::parse(Some("a,b"), &["count"], &schema).unwrap();
        let mut rows = Vec::new();
        for (i, a) in firsts.iter().enumerate() {
            for (j, b) in seconds.iter().enumerate() {
                // A scrambled but fixed arrival order.
                let at = (i * 7 + j * 13) % 97;
                rows.push((
                    at,
                    AggRow {
                        keys: vec![a.as_bytes().to_vec(), b.as_bytes().to_vec()],
                        values: vec![b"1".to_vec()],
                    },
                ));
            }
        }
        rows.sort_by_key(|(at, _)| *at);
        let rows: Vec<AggRow> = rows.into_iter().map(|(_, r)| r).collect();
        let mut want = rows.clone();
        want.sort_by(|x, y| {
            let cmp = super::super::keys::cmp_key;
            cmp(KeyFn::Column(0), &x.keys[0], &y.keys[0])
                .then_with(|| cmp(KeyFn::Column(1), &x.keys[1], &y.keys[1]))
        });
        let got = order_rows(rows, &plan, None, None, None);
        assert_eq!(got, want);
    }

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
