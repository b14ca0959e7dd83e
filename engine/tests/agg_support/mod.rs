//! Shared by the agg tests: a plain reference aggregation (records read with the `csv` crate,
//! every raw value kept per group in a `BTreeMap`, aggregates computed at the end with
//! straightforward i128 arithmetic in 10^-6 units, missing values by the README's rule written
//! out here: [`RefNulls`]) and the generated gps/trips records.
#![allow(dead_code, clippy::unwrap_used)]

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use csv::{ByteRecord, ReaderBuilder, WriterBuilder};
use fleet_engine::agg::{AggFn, AggPlan, KeyFn, Sort, SortKey, SortTerm};
use fleet_engine::input::schema::Schema;
use fleet_fixtures::{gps_file, trips_file, GPS_COLUMNS};
use regex::bytes::Regex;

/// SplitMix64: enough randomness for partitions, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn records(data: &[u8], skip_header: bool) -> Vec<ByteRecord> {
    let mut rdr = ReaderBuilder::new().has_headers(false).from_reader(data);
    let mut out: Vec<ByteRecord> = rdr.byte_records().map(|r| r.unwrap()).collect();
    if skip_header {
        out.remove(0);
    }
    out
}

pub fn gps(files: std::ops::Range<usize>, rows: u64) -> (Schema, Vec<ByteRecord>) {
    let mut recs = Vec::new();
    for i in files {
        recs.extend(records(&gps_file(7, i, rows), false));
    }
    let names = GPS_COLUMNS.map(String::from).to_vec();
    (Schema::new(Some(names), 0), recs)
}

pub fn trips(files: std::ops::Range<usize>, rows: u64) -> (Schema, Vec<ByteRecord>) {
    let mut recs = Vec::new();
    let mut names = Vec::new();
    for i in files {
        let data = trips_file(11, i, rows);
        let all = records(&data, false);
        names = all[0]
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        recs.extend(all.into_iter().skip(1));
    }
    (Schema::new(Some(names), 0), recs)
}

// ---------------------------------------------------------------------------------------
// The reference.

/// A value in 10^-6 units when it is a number (`[+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?`).
pub fn micro(text: &[u8]) -> Option<i128> {
    static GRAMMAR: OnceLock<Regex> = OnceLock::new();
    let grammar = GRAMMAR.get_or_init(|| {
        Regex::new(r"\A[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\z").unwrap()
    });
    if !grammar.is_match(text) {
        return None;
    }
    let s = std::str::from_utf8(text).unwrap();
    let (s, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap()),
        None => (s, 0),
    };
    let (negative, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    // All digits, and where the point goes once the exponent has moved it.
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp;
    let (int, frac) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_string(), b.to_string())
    };
    let frac = frac.trim_end_matches('0');
    assert!(
        frac.len() <= 6,
        "the reference only handles 6 decimals: {s}"
    );
    let int: i128 = if int.is_empty() {
        0
    } else {
        int.parse().unwrap()
    };
    let frac: i128 = format!("{frac:0<6}").parse().unwrap();
    let v = int * 1_000_000 + frac;
    Some(if negative { -v } else { v })
}

/// The null rule of the README, written out plainly: `always` (a given list) is missing in
/// every column; `contextual` (the default markers) is missing unless the column holds text.
/// The empty value is always missing.
#[derive(Debug, Clone)]
pub struct RefNulls {
    pub always: Vec<Vec<u8>>,
    pub contextual: Vec<Vec<u8>>,
}

impl Default for RefNulls {
    fn default() -> RefNulls {
        RefNulls {
            always: Vec::new(),
            contextual: ["NA", "NULL", "null", "NaN", "N/A", "\\N"]
                .map(|m| m.as_bytes().to_vec())
                .to_vec(),
        }
    }
}

impl RefNulls {
    /// Exactly these values (and the empty one) are missing.
    pub fn only(list: &[&str]) -> RefNulls {
        RefNulls {
            always: list.iter().map(|m| m.as_bytes().to_vec()).collect(),
            contextual: Vec::new(),
        }
    }

    /// Missing where a value is read as a number or time.
    pub fn missing(&self, v: &[u8]) -> bool {
        v.is_empty() || self.always.iter().any(|m| m == v) || self.contextual.iter().any(|m| m == v)
    }

    /// Missing in a column that holds text (`column_text`) or not.
    pub fn missing_in(&self, v: &[u8], column_text: bool) -> bool {
        v.is_empty()
            || self.always.iter().any(|m| m == v)
            || (!column_text && self.contextual.iter().any(|m| m == v))
    }

    /// Text for the rule: not missing anywhere, not a marker, not a number, date or time.
    pub fn is_text(&self, v: &[u8]) -> bool {
        !self.missing(v) && micro(v).is_none() && !is_time(v)
    }
}

/// A real date `YYYY-MM-DD`, or a date and time with optional fraction and UTC offset.
pub fn is_time(v: &[u8]) -> bool {
    static TIME: OnceLock<Regex> = OnceLock::new();
    let re = TIME.get_or_init(|| {
        Regex::new(
            r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?\z",
        )
        .unwrap()
    });
    let Some(c) = re.captures(v) else {
        return false;
    };
    let num = |i: usize| -> u32 { std::str::from_utf8(&c[i]).unwrap().parse().unwrap() };
    let (y, m, d) = (num(1), num(2), num(3));
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

pub fn micro_text(v: i128, trim: bool) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let (int, frac) = (v.abs() / 1_000_000, v.abs() % 1_000_000);
    let frac = format!("{frac:06}");
    let frac = if trim {
        frac.trim_end_matches('0')
    } else {
        &frac
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Rounds num/den (den > 0) to the nearest integer, ties to even.
pub fn round_div(num: i128, den: i128) -> i128 {
    let (q, r) = (num.div_euclid(den), num.rem_euclid(den));
    match (2 * r).cmp(&den) {
        Ordering::Greater => q + 1,
        Ordering::Equal if q % 2 != 0 => q + 1,
        _ => q,
    }
}

pub fn days_in_month(y: u32, m: u32) -> u32 {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m as usize - 1]
}

/// Sakamoto's day of week, 0 = Sunday.
pub fn sakamoto(y: u32, m: u32, d: u32) -> usize {
    let t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    ((y + y / 4 - y / 100 + y / 400 + t[m as usize - 1] + d) % 7) as usize
}

/// (key, malformed?) for one key function.
pub fn ref_key(func: KeyFn, v: &[u8], nulls: &RefNulls) -> (Vec<u8>, bool) {
    if let KeyFn::Column(_) = func {
        return (v.to_vec(), false);
    }
    static STAMP: OnceLock<Regex> = OnceLock::new();
    let re = STAMP.get_or_init(|| {
        Regex::new(
            r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?)?\z",
        )
        .unwrap()
    });
    let bad = (Vec::new(), !nulls.missing(v));
    let Some(c) = re.captures(v) else { return bad };
    let num = |i: usize| -> Option<u32> {
        c.get(i)
            .map(|m| std::str::from_utf8(m.as_bytes()).unwrap().parse().unwrap())
    };
    let (y, m, d) = (num(1).unwrap(), num(2).unwrap(), num(3).unwrap());
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return bad;
    }
    let time = (num(4), num(5), num(6));
    if let (Some(h), Some(mi), Some(s)) = time {
        if h > 23 || mi > 59 || s > 60 {
            return bad;
        }
    }
    let text = match func {
        KeyFn::Hour(_) => match time.0 {
            Some(h) => format!("{h:02}"),
            None => return bad,
        },
        KeyFn::Day(_) => format!("{y:04}-{m:02}-{d:02}"),
        KeyFn::Month(_) => format!("{y:04}-{m:02}"),
        KeyFn::Weekday(_) => {
            ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][sakamoto(y, m, d)].to_string()
        }
        KeyFn::Column(_) | KeyFn::Bucket(..) | KeyFn::Bin(..) => unreachable!(),
    };
    (text.into_bytes(), false)
}

pub fn ref_cmp_values(a: &[u8], b: &[u8]) -> Ordering {
    match (micro(a), micro(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then(a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

pub fn ref_cmp_key(func: KeyFn, a: &[u8], b: &[u8]) -> Ordering {
    if let KeyFn::Weekday(_) = func {
        let days: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
        let rank = |v: &[u8]| days.iter().position(|d| *d == v);
        return rank(a).cmp(&rank(b));
    }
    ref_cmp_values(a, b)
}

/// Spec `func`'s printed value for a group of `rows` records whose values are `vals`;
/// `column_text`: the column (over every group) holds text, so default markers are values.
pub fn ref_value(
    func: AggFn,
    rows: u64,
    vals: &[Vec<u8>],
    malformed: &mut u64,
    nulls: &RefNulls,
    column_text: bool,
) -> Vec<u8> {
    let present: Vec<&Vec<u8>> = if func_reads_numbers(func) {
        vals.iter().filter(|v| !nulls.missing(v)).collect()
    } else {
        vals.iter()
            .filter(|v| !nulls.missing_in(v, column_text))
            .collect()
    };
    let nums: Vec<i128> = present.iter().filter_map(|v| micro(v)).collect();
    if func_reads_numbers(func) {
        *malformed += (present.len() - nums.len()) as u64;
    }
    let n = nums.len() as i128;
    let sum: i128 = nums.iter().sum();
    let text = match func {
        AggFn::Count => rows.to_string(),
        AggFn::CountNonEmpty(_) => present.len().to_string(),
        AggFn::Sum(_) if n > 0 => micro_text(sum, true),
        AggFn::Mean(_) if n > 0 => micro_text(round_div(sum, n), false),
        AggFn::Stddev(_) if n > 1 => {
            // Squares are in 10^-12 units; D / (n(n-1)) is the variance in 10^-12 units,
            // whose square root is the stddev in 10^-6 units.
            let squares: i128 = nums.iter().map(|x| x.checked_mul(*x).unwrap()).sum();
            let d = (n.checked_mul(squares).unwrap() - sum.checked_mul(sum).unwrap()) as u128;
            let m = (n * (n - 1)) as u128;
            let k = (d / m).isqrt();
            let (lhs, rhs) = (4 * d, (2 * k + 1).pow(2) * m);
            let k = if lhs > rhs || (lhs == rhs && k % 2 == 1) {
                k + 1
            } else {
                k
            };
            micro_text(k as i128, false)
        }
        AggFn::Min(_) | AggFn::Max(_) if !present.is_empty() => {
            let all_numeric = nums.len() == present.len();
            let mut sorted = present.clone();
            if all_numeric {
                // Numeric order, ties bytewise, and the bytewise smallest among equals wins.
                sorted.sort_by(|a, b| micro(a).cmp(&micro(b)).then(a.cmp(b)));
                let target = if let AggFn::Min(_) = func {
                    micro(sorted[0])
                } else {
                    micro(sorted[sorted.len() - 1])
                };
                let winner = sorted.iter().find(|v| micro(v) == target).unwrap();
                return winner.to_vec();
            }
            sorted.sort();
            let winner = if let AggFn::Min(_) = func {
                sorted[0]
            } else {
                sorted[sorted.len() - 1]
            };
            return winner.clone();
        }
        AggFn::Distinct(_) => present.iter().collect::<BTreeSet<_>>().len().to_string(),
        // Values come in file order.
        AggFn::First(_) if !present.is_empty() => return present[0].clone(),
        AggFn::Last(_) if !present.is_empty() => return present[present.len() - 1].clone(),
        _ => String::new(),
    };
    text.into_bytes()
}

pub fn func_reads_numbers(func: AggFn) -> bool {
    matches!(func, AggFn::Sum(_) | AggFn::Mean(_) | AggFn::Stddev(_))
}

/// A key tuple: one byte string per group key.
type Key = Vec<Vec<u8>>;
/// Per group: records, and per spec every raw value the group saw.
type RefGroup = (u64, Vec<Vec<Vec<u8>>>);

pub struct RefOut {
    pub csv: Vec<u8>,
    pub malformed_values: Vec<u64>,
    pub malformed_keys: Vec<u64>,
    pub groups: usize,
}

pub fn reference(
    plan: &AggPlan,
    recs: &[ByteRecord],
    sort: Option<&Sort>,
    top: Option<usize>,
) -> RefOut {
    reference_with(plan, recs, sort, top, &RefNulls::default())
}

/// [`reference`] with the missing values of `nulls`.
pub fn reference_with(
    plan: &AggPlan,
    recs: &[ByteRecord],
    sort: Option<&Sort>,
    top: Option<usize>,
    nulls: &RefNulls,
) -> RefOut {
    let mut groups: BTreeMap<Key, RefGroup> = BTreeMap::new();
    let mut malformed_keys = vec![0u64; plan.keys.len()];
    for rec in recs {
        let mut key = Vec::new();
        for (i, k) in plan.keys.iter().enumerate() {
            let (text, bad) = ref_key(k.func, &rec[k.func.column()], nulls);
            malformed_keys[i] += u64::from(bad);
            key.push(text);
        }
        let entry = groups
            .entry(key)
            .or_insert_with(|| (0, vec![Vec::new(); plan.specs.len()]));
        entry.0 += 1;
        for (s, vals) in plan.specs.iter().zip(&mut entry.1) {
            vals.push(match s.func {
                AggFn::Count => Vec::new(),
                f => rec[match f {
                    AggFn::CountNonEmpty(c)
                    | AggFn::Sum(c)
                    | AggFn::Mean(c)
                    | AggFn::Min(c)
                    | AggFn::Max(c)
                    | AggFn::Stddev(c)
                    | AggFn::Distinct(c)
                    | AggFn::Quantile(c, _)
                    | AggFn::ApproxQuantile(c, _)
                    | AggFn::First(c)
                    | AggFn::Last(c) => c,
                    AggFn::Count => unreachable!(),
                }]
                .to_vec(),
            });
        }
    }
    if plan.keys.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), (0, vec![Vec::new(); plan.specs.len()]));
    }
    let group_count = groups.len();
    // Whether each spec's column holds text, over every group.
    let column_text: Vec<bool> = (0..plan.specs.len())
        .map(|s| {
            groups
                .values()
                .any(|(_, vals)| vals[s].iter().any(|v| nulls.is_text(v)))
        })
        .collect();
    let mut malformed_values = vec![0u64; plan.specs.len()];
    let mut rows: Vec<(Key, Vec<Vec<u8>>)> = groups
        .into_iter()
        .map(|(key, (n, vals))| {
            let values = plan
                .specs
                .iter()
                .zip(&vals)
                .zip(&mut malformed_values)
                .zip(&column_text)
                .map(|(((s, v), bad), &text)| ref_value(s.func, n, v, bad, nulls, text))
                .collect();
            (key, values)
        })
        .collect();
    let by_keys = |a: &Key, b: &Key| {
        let mut o = Ordering::Equal;
        for (i, k) in plan.keys.iter().enumerate() {
            o = o.then(ref_cmp_key(k.func, &a[i], &b[i]));
        }
        o
    };
    rows.sort_by(|a, b| {
        let terms = sort.map_or(&[][..], |s| s.terms.as_slice());
        let mut first = Ordering::Equal;
        for term in terms {
            let o = match term {
                SortTerm {
                    by: SortKey::Key(i),
                    descending,
                } => {
                    let o = ref_cmp_key(plan.keys[*i].func, &a.0[*i], &b.0[*i]);
                    if *descending {
                        o.reverse()
                    } else {
                        o
                    }
                }
                SortTerm {
                    by: SortKey::Spec(i),
                    descending,
                } => {
                    let (x, y) = (&a.1[*i], &b.1[*i]);
                    if x.is_empty() || y.is_empty() {
                        x.is_empty().cmp(&y.is_empty())
                    } else if *descending {
                        ref_cmp_values(y, x)
                    } else {
                        ref_cmp_values(x, y)
                    }
                }
            };
            first = first.then(o);
        }
        first.then_with(|| by_keys(&a.0, &b.0))
    });
    if let Some(n) = top {
        rows.truncate(n);
    }
    let mut w = WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = plan
        .keys
        .iter()
        .map(|k| k.text.as_str())
        .chain(plan.specs.iter().map(|s| s.text.as_str()))
        .collect();
    w.write_record(&header).unwrap();
    for (k, v) in &rows {
        w.write_record(k.iter().chain(v.iter())).unwrap();
    }
    RefOut {
        csv: w.into_inner().unwrap(),
        malformed_values,
        malformed_keys,
        groups: group_count,
    }
}

/// The headerless files at `paths`, planned in chunks of `chunk_size` bytes.
pub fn open_headerless(paths: &[std::path::PathBuf], chunk_size: u64) -> fleet_engine::Dataset {
    fleet_engine::input::dataset::open(&fleet_engine::input::dataset::DatasetOptions {
        paths: paths.to_vec(),
        header: Some(false),
        chunk_size,
        ..Default::default()
    })
    .unwrap()
}
