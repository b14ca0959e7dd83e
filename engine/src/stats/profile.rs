//! [`ColumnProfile`]: what one pass learns about one column, kept so that the profiles of two
//! parts of the data merge into exactly the profile of both. A worker fills one profile per
//! column for its chunk; the coordinator merges the chunks' profiles in plan order.
//!
//! Every part merges exactly, whatever the chunking: counts and the exact sums
//! ([`Sum256`]/[`U256`], the agg module's) add; minima and maxima are taken on exact keys;
//! the type guess is the column files' own ([`ColumnGuess`]). Distinct values are counted
//! per text in a map while a column has at most [`EXACT_CAP`] of them: quantiles, distinct
//! counts and the top values are then exact. Past the cap the map becomes two sketches
//! ([`Sketches`]): HyperLogLog registers (merged by maximum) for the distinct count and a
//! DDSketch (bins merged by addition) for quantiles. Whether a column is exact does not
//! depend on the chunking either: a union passes the cap exactly when the whole column does.

use crate::agg::exact::{scaled, Sum256, POW10, SCALE_DIGITS, U256};
use crate::columnar::ColumnGuess;
use crate::input::nulls::NullMarkers;
use crate::query::timestamp::{parse_timestamp, Timestamp};
use crate::simd::digits::short_digits;
use hyperloglogplus::{HyperLogLog, HyperLogLogPF};
use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config, DDSketch};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Distinct texts per column counted exactly; past it, sketches.
pub const EXACT_CAP: usize = 10_000;
/// HyperLogLog precision: 2^14 registers, a standard error of about 0.8%.
const HLL_PRECISION: u8 = 14;
/// DDSketch relative accuracy of each quantile (0.05%; bins are 0.1% wide).
pub const DD_ALPHA: f64 = 5e-4;
/// DDSketch bins kept at most. Past the limit the sketch collapses its smallest bins, and
/// then its result would depend on the order values arrived in. Values here lie between
/// 10^-9 (one scaled unit) and 10^19 (the largest summed exactly), a ratio of 10^28: about
/// 64,500 bins of 0.1%, so with this limit no sketch ever collapses and merged bins are the
/// same whatever the chunking.
const DD_BINS: u32 = 65_536;

/// A hasher whose hashes are the same in every worker process and thread, so HyperLogLog
/// registers filled by different workers merge.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FixedHasher;

impl BuildHasher for FixedHasher {
    type Hasher = foldhash::fast::FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        // FixedState: the same seeds in every process (RandomState would differ per process).
        foldhash::fast::FixedState::with_seed(0x243f_6a88_85a3_08d3).build_hasher()
    }
}

/// Values are inserted as byte slices (`Vec<u8>: Borrow<[u8]>`).
pub type Hll = HyperLogLogPF<Vec<u8>, FixedHasher>;

/// Counts per distinct text while a column is exact. Looked up once per value: foldhash
/// (std's SipHash cost more than the rest of a value's profiling); seeded per process, as
/// the map never leaves it (it travels as text and count pairs).
pub type Counts = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

/// The approximate state past [`EXACT_CAP`] distinct values.
#[derive(Clone)]
pub struct Sketches {
    /// Every value's text (not the default markers, counted apart).
    pub hll: Hll,
    /// Every value that is a number, as f64.
    pub dd: DDSketch,
}

impl std::fmt::Debug for Sketches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketches")
            .field("numbers", &self.dd.count())
            .finish()
    }
}

impl Sketches {
    pub fn new() -> Sketches {
        Sketches {
            // The precision is a constant inside the allowed range.
            hll: match Hll::new(HLL_PRECISION, FixedHasher) {
                Ok(h) => h,
                Err(_) => unreachable!("HLL_PRECISION is within 4..=16"),
            },
            dd: DDSketch::new(Config::new(DD_ALPHA, DD_BINS, 1.0e-9)),
        }
    }

    /// Takes `count` values `text`, whose number (10^-9 units) is `number`.
    #[inline]
    fn add(&mut self, text: &[u8], number: Option<i128>, count: u64) {
        self.hll.insert(text);
        if let Some(v) = number {
            self.dd.add_with_count(to_f64(v), count);
        }
    }

    fn merge(&mut self, other: &Sketches) {
        // Same precision and configuration on both sides: the merges cannot fail.
        let _ = self.hll.merge(&other.hll);
        // Merging an empty DDSketch widens the store to its unset key range and collapses
        // every bin (sketches-ddsketch 0.4.2): an empty one is left out.
        if other.dd.count() > 0 {
            if self.dd.count() == 0 {
                self.dd = other.dd.clone();
            } else {
                let _ = self.dd.merge(&other.dd);
            }
        }
    }
}

impl Default for Sketches {
    fn default() -> Self {
        Sketches::new()
    }
}

/// A value in 10^-9 units as f64 (for the sketch only).
#[inline]
pub fn to_f64(v: i128) -> f64 {
    // Both conversions round to nearest, so they agree where i64 holds the value; i64's is
    // one instruction, i128's a library call.
    match i64::try_from(v) {
        Ok(small) => small as f64 / 1e9,
        Err(_) => v as f64 / 1e9,
    }
}

/// `value` in 10^-9 units, exactly as [`scaled`] reads it, the commonest forms first: up to
/// 8 digits read as one word from `line`, the record's line ([`short_digits`]), then
/// [`plain_scaled`]; anything else takes the general grammar.
#[inline(always)]
pub(crate) fn number_in(line: &[u8], value: &[u8]) -> Option<i128> {
    if let Some(v) = short_digits(line, value) {
        return Some(i128::from(v * POW10[SCALE_DIGITS]));
    }
    plain_scaled(value).or_else(|| scaled(value))
}

/// An optional `-`, 1 to 9 digits and optionally a dot and 1 to 9 digits (`114.368542`),
/// in 10^-9 units: such a value fits a u64 without rounding. `None` for any other text,
/// which says nothing about whether it is a number.
#[inline(always)]
fn plain_scaled(text: &[u8]) -> Option<i128> {
    let (negative, body) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let int_len = body
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    if !(1..=SCALE_DIGITS).contains(&int_len) {
        return None;
    }
    let digits = |d: &[u8]| d.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    let int = digits(&body[..int_len]);
    let frac = match &body[int_len..] {
        [] => 0,
        [b'.', f @ ..]
            if (1..=SCALE_DIGITS).contains(&f.len()) && f.iter().all(u8::is_ascii_digit) =>
        {
            digits(f) * POW10[SCALE_DIGITS - f.len()]
        }
        _ => return None,
    };
    let v = i128::from(int * POW10[SCALE_DIGITS] + frac);
    Some(if negative { -v } else { v })
}

/// The distinct values of a column: exact counts per text, or sketches past the cap.
#[derive(Debug, Clone)]
pub enum Distinct {
    Exact(Counts),
    Sketched(Box<Sketches>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(Counts::default())
    }
}

impl Distinct {
    /// Takes one value `text`, whose number is `number`.
    #[inline]
    fn add(&mut self, text: &[u8], number: Option<i128>) {
        match self {
            Distinct::Exact(map) => {
                if let Some(n) = map.get_mut(text) {
                    *n += 1;
                    return;
                }
                if map.len() < EXACT_CAP {
                    map.insert(text.to_vec(), 1);
                    return;
                }
                let mut sketches = Self::sketch(map);
                sketches.add(text, number, 1);
                *self = Distinct::Sketched(sketches);
            }
            Distinct::Sketched(s) => s.add(text, number, 1),
        }
    }

    fn sketch(map: &Counts) -> Box<Sketches> {
        let mut s = Box::new(Sketches::new());
        for (text, &n) in map {
            s.add(text, scaled(text), n);
        }
        s
    }

    fn merge(&mut self, other: Distinct) {
        let mine = std::mem::take(self);
        *self = match (mine, other) {
            (Distinct::Exact(mut a), Distinct::Exact(b)) => {
                let new = b.keys().filter(|k| !a.contains_key(*k)).count();
                if a.len() + new <= EXACT_CAP {
                    for (k, n) in b {
                        *a.entry(k).or_insert(0) += n;
                    }
                    Distinct::Exact(a)
                } else {
                    let mut s = Self::sketch(&a);
                    s.merge(&Self::sketch(&b));
                    Distinct::Sketched(s)
                }
            }
            (Distinct::Exact(a), Distinct::Sketched(mut s))
            | (Distinct::Sketched(mut s), Distinct::Exact(a)) => {
                s.merge(&Self::sketch(&a));
                Distinct::Sketched(s)
            }
            (Distinct::Sketched(mut a), Distinct::Sketched(b)) => {
                a.merge(&b);
                Distinct::Sketched(a)
            }
        };
    }
}

/// Sum, sum of squares and extremes of the values that are numbers, exactly (10^-9 units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbers {
    pub count: u64,
    pub(crate) sum: Sum256,
    pub(crate) squares: U256,
    pub min: i128,
    pub max: i128,
    /// Numbers too large to sum exactly (more than 19 integer digits): left out of the above.
    pub unusable: u64,
}

impl Numbers {
    fn merge(&mut self, other: &Numbers) {
        if other.count > 0 {
            if self.count == 0 {
                self.min = other.min;
                self.max = other.max;
            } else {
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        self.count += other.count;
        self.sum.merge(other.sum);
        self.squares.merge(other.squares);
        self.unusable += other.unusable;
    }
}

/// The earliest and latest timestamps and the records per day, while every value of the
/// column read so far is a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Times {
    /// False once a value was not a timestamp: the column cannot be one.
    pub possible: bool,
    /// (instant in ns, its text) of the first and last timestamps.
    pub first: Option<(i128, Vec<u8>)>,
    pub last: Option<(i128, Vec<u8>)>,
    /// Values per day (days since 1970-01-01 of the written or UTC time).
    pub days: BTreeMap<i64, u64>,
}

impl Default for Times {
    fn default() -> Self {
        Times {
            possible: true,
            first: None,
            last: None,
            days: BTreeMap::new(),
        }
    }
}

impl Times {
    /// Takes `text`, whose timestamp (if it is one) is `parsed`.
    fn observe(&mut self, text: &[u8], parsed: Option<Timestamp>) {
        let Some(t) = parsed else {
            *self = Times {
                possible: false,
                ..Times::default()
            };
            return;
        };
        let secs = t.utc_seconds();
        let key = i128::from(secs) * 1_000_000_000 + i128::from(t.nanos);
        if self.first.as_ref().is_none_or(|(k, _)| key < *k) {
            self.first = Some((key, text.to_vec()));
        }
        if self.last.as_ref().is_none_or(|(k, _)| key > *k) {
            self.last = Some((key, text.to_vec()));
        }
        *self.days.entry(secs.div_euclid(86_400)).or_insert(0) += 1;
    }

    fn merge(&mut self, other: Times) {
        if !(self.possible && other.possible) {
            *self = Times {
                possible: false,
                ..Times::default()
            };
            return;
        }
        // Ties keep the earlier part's text, so the result follows plan order.
        if let Some(f) = other.first {
            if self.first.as_ref().is_none_or(|(k, _)| f.0 < *k) {
                self.first = Some(f);
            }
        }
        if let Some(l) = other.last {
            if self.last.as_ref().is_none_or(|(k, _)| l.0 > *k) {
                self.last = Some(l);
            }
        }
        for (day, n) in other.days {
            *self.days.entry(day).or_insert(0) += n;
        }
    }
}

/// What one pass learns about one column (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct ColumnProfile {
    /// What every value can be read as: decides the column's type, as `fleet convert` does.
    pub guess: ColumnGuess,
    /// Empty fields and values of a given `--null` list: missing in every column.
    pub nulls: u64,
    /// The default markers (`NA`, ...) by text: missing unless the column holds text.
    pub markers: BTreeMap<Vec<u8>, u64>,
    /// Values that are neither missing nor a default marker.
    pub values: u64,
    /// Shortest and longest value in characters (default markers included).
    pub min_len: u64,
    pub max_len: u64,
    pub numbers: Numbers,
    pub times: Times,
    /// Distinct texts of `values` (not the markers).
    pub distinct: Distinct,
}

impl ColumnProfile {
    /// Takes one field of a record that passed `--where`.
    pub fn observe(&mut self, value: &[u8], nulls: &NullMarkers) {
        self.observe_in(value, value, nulls);
    }

    /// [`ColumnProfile::observe`] for a field of `line`, the record's line (any slice will
    /// do: it only lets short numbers be read a word at a time, see [`number_in`]).
    #[inline]
    pub fn observe_in(&mut self, line: &[u8], value: &[u8], nulls: &NullMarkers) {
        if value.is_empty() || nulls.is_null_everywhere(value) {
            self.nulls += 1;
            return;
        }
        self.note_length(value);
        if nulls.is_marker(value) {
            *self.markers.entry(value.to_vec()).or_insert(0) += 1;
            return;
        }
        self.values += 1;
        let parsed = self.guess.observe_value(value);
        let number = number_in(line, value);
        match number {
            Some(v) => {
                let n = &mut self.numbers;
                if n.count == 0 {
                    n.min = v;
                    n.max = v;
                } else {
                    n.min = n.min.min(v);
                    n.max = n.max.max(v);
                }
                n.count += 1;
                n.sum.add(v);
                n.squares.add_square(v);
            }
            None => {
                if crate::query::number::Decimal::parse(value).is_some() {
                    self.numbers.unusable += 1;
                }
            }
        }
        if self.times.possible {
            // The guess parsed the value while its column could still be a timestamp.
            let t = parsed.unwrap_or_else(|| parse_timestamp(value));
            self.times.observe(value, t);
        }
        self.distinct.add(value, number);
    }

    #[inline]
    fn note_length(&mut self, value: &[u8]) {
        let len = if value.is_ascii() {
            value.len()
        } else {
            String::from_utf8_lossy(value).chars().count()
        } as u64;
        if self.values == 0 && self.markers.is_empty() {
            self.min_len = len;
            self.max_len = len;
        } else {
            self.min_len = self.min_len.min(len);
            self.max_len = self.max_len.max(len);
        }
    }

    /// Adds the profile of another part of the data.
    pub fn merge(&mut self, other: ColumnProfile) {
        let other_seen = other.values > 0 || !other.markers.is_empty();
        let self_seen = self.values > 0 || !self.markers.is_empty();
        if other_seen {
            if self_seen {
                self.min_len = self.min_len.min(other.min_len);
                self.max_len = self.max_len.max(other.max_len);
            } else {
                self.min_len = other.min_len;
                self.max_len = other.max_len;
            }
        }
        self.guess.merge(&other.guess);
        self.nulls += other.nulls;
        for (m, n) in other.markers {
            *self.markers.entry(m).or_insert(0) += n;
        }
        self.values += other.values;
        self.numbers.merge(&other.numbers);
        self.times.merge(other.times);
        self.distinct.merge(other.distinct);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn profile(values: &[&str]) -> ColumnProfile {
        let nulls = NullMarkers::default();
        let mut p = ColumnProfile::default();
        for v in values {
            p.observe(v.as_bytes(), &nulls);
        }
        p
    }

    fn exact_counts(p: &ColumnProfile) -> BTreeMap<Vec<u8>, u64> {
        match &p.distinct {
            Distinct::Exact(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Distinct::Sketched(_) => panic!("sketched"),
        }
    }

    #[test]
    fn a_split_column_merges_into_the_whole_columns_profile() {
        let values = [
            "3",
            "",
            "NA",
            "-1.5",
            "x",
            "3",
            "2015-02-01 00:00:00",
            "7",
            "NA",
        ];
        let whole = profile(&values);
        for cut in 0..=values.len() {
            let mut a = profile(&values[..cut]);
            a.merge(profile(&values[cut..]));
            assert_eq!(a.nulls, whole.nulls);
            assert_eq!(a.values, whole.values);
            assert_eq!(a.markers, whole.markers);
            assert_eq!((a.min_len, a.max_len), (whole.min_len, whole.max_len));
            assert_eq!(a.numbers, whole.numbers);
            assert_eq!(a.times, whole.times);
            // What the guess decides (its internal flags may differ by where it was cut).
            assert_eq!(a.guess.column_type(), whole.guess.column_type());
            assert_eq!(a.guess.markers_are_null(), whole.guess.markers_are_null());
            assert_eq!(exact_counts(&a), exact_counts(&whole));
        }
        assert_eq!(whole.nulls, 1);
        assert_eq!(whole.values, 6);
        assert_eq!(whole.numbers.count, 4);
        assert_eq!(whole.numbers.min, -1_500_000_000);
        assert_eq!(whole.numbers.max, 7_000_000_000);
        assert!(!whole.times.possible);
    }

    #[test]
    fn past_the_cap_a_column_is_sketched_however_it_was_split() {
        let values: Vec<String> = (0..EXACT_CAP + 10).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let whole = profile(&refs);
        assert!(matches!(whole.distinct, Distinct::Sketched(_)));
        let mut a = profile(&refs[..EXACT_CAP / 2]);
        a.merge(profile(&refs[EXACT_CAP / 2..]));
        let (Distinct::Sketched(x), Distinct::Sketched(y)) = (&whole.distinct, &a.distinct) else {
            panic!("not sketched");
        };
        assert_eq!(x.dd.count(), y.dd.count());
        assert_eq!(x.dd.quantile(0.5).unwrap(), y.dd.quantile(0.5).unwrap());
        let (mut hx, mut hy) = (x.hll.clone(), y.hll.clone());
        let (cx, cy) = (hx.count(), hy.count());
        assert_eq!(cx, cy);
        let n = (EXACT_CAP + 10) as f64;
        assert!((cx - n).abs() / n < 0.05, "{cx} vs {n}");
    }

    #[test]
    fn the_fast_number_paths_read_as_scaled_does() {
        let texts = [
            "0",
            "-0",
            "7",
            "-7",
            "007",
            "-007.50",
            "12345678",
            "123456789",
            "1234567890",
            "114.368542",
            "-22.5",
            "1.",
            ".5",
            "-.5",
            "1.123456789",
            "1.1234567891",
            "999999999.999999999",
            "+5",
            " 5",
            "5 ",
            "1e3",
            "-",
            "",
            "a",
            "1.2.3",
            "1-2",
            "2015-02-01 00:00:00",
            "00000000000000000001.5",
        ];
        for t in texts {
            let b = t.as_bytes();
            assert_eq!(number_in(b, b), scaled(b), "{t}");
            // Inside a longer line, where short numbers are read a word at a time.
            let line = format!("abcdefgh,{t},ijklmnop");
            let lb = line.as_bytes();
            assert_eq!(
                number_in(lb, &lb[9..9 + b.len()]),
                scaled(b),
                "{t} in a line"
            );
            if let Some(v) = plain_scaled(b) {
                assert_eq!(Some(v), scaled(b), "{t}");
            }
        }
        assert_eq!(plain_scaled(b"114.368542"), Some(114_368_542_000));
        assert_eq!(plain_scaled(b"-0.000000001"), Some(-1));
    }

    proptest::proptest! {
        #[test]
        fn number_in_agrees_with_scaled(text in "-?[0-9]{0,11}(\\.[0-9]{0,11})?|[-+. 0-9e]{0,6}") {
            let b = text.as_bytes();
            proptest::prop_assert_eq!(number_in(b, b), scaled(b));
            let line = format!("12345678,{text},");
            let lb = line.as_bytes();
            proptest::prop_assert_eq!(number_in(lb, &lb[9..9 + b.len()]), scaled(b));
        }
    }

    #[test]
    fn timestamps_keep_first_last_and_days() {
        let p = profile(&[
            "2015-02-02 10:00:00",
            "2015-02-01 23:59:59",
            "",
            "2015-02-02 00:00:00",
        ]);
        assert!(p.times.possible);
        assert_eq!(p.times.first.as_ref().unwrap().1, b"2015-02-01 23:59:59");
        assert_eq!(p.times.last.as_ref().unwrap().1, b"2015-02-02 10:00:00");
        assert_eq!(p.times.days.values().copied().collect::<Vec<_>>(), [1, 2]);
    }
}
