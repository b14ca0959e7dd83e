//! The figures `fleet stats` prints for one column ([`ColumnSummary`]), computed once from the
//! column's merged [`ColumnProfile`].
//!
//! - Type: what `fleet convert` would write ([`ColumnGuess::column_type`]).
//! - Missing values follow `docs/missing-values.md`: empty fields and `--null` values always;
//!   the default markers (`NA`, ...) unless the column holds text, where they are values.
//! - Numbers (int64/float64): min, max, exact sum, mean and sample stddev (exact integer
//!   arithmetic, the agg module's), quantiles by nearest rank (the smallest value with at
//!   least q·n values at or below it), exact while the column has at most
//!   [`super::EXACT_CAP`] distinct values, else from the quantile sketch (0.05% relative
//!   error) and marked approximate.
//! - Timestamps: first, last, records per day over the days from first to last.
//! - Text: shortest and longest length in characters, the top values (exact only).
//! - Every column: distinct count (exact up to the cap, else a HyperLogLog estimate, marked).
//! - A histogram of [`HISTOGRAM_BINS`] bins for numbers (equal widths from min to max) and
//!   timestamps (per day, or days grouped into bins).

use super::profile::{ColumnProfile, Distinct};
use crate::agg::exact::{mean_text, stddev_text, sum_text};
use crate::columnar::ColumnType;
use hyperloglogplus::HyperLogLog;

/// The quantiles printed, in percent.
pub const QUANTILES: [u32; 5] = [1, 25, 50, 75, 99];
/// Bins of a histogram (a timestamp column with fewer days has one bin per day).
pub const HISTOGRAM_BINS: usize = 20;
/// Top values printed for a text column.
pub const TOP_VALUES: usize = 5;

/// What is printed for one column; `None` where a figure does not apply to its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    pub name: String,
    pub column_type: ColumnType,
    /// Values that are not missing.
    pub count: u64,
    pub missing: u64,
    pub min: Option<String>,
    pub max: Option<String>,
    pub mean: Option<String>,
    pub stddev: Option<String>,
    pub sum: Option<String>,
    /// p1, p25, median, p75, p99 ([`QUANTILES`]).
    pub quantiles: Option<[String; 5]>,
    pub quantiles_approx: bool,
    pub distinct: u64,
    pub distinct_approx: bool,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    /// The most frequent values and their counts, most frequent first (ties by text).
    pub top: Vec<(String, u64)>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub per_day: Option<String>,
    pub histogram: Vec<u64>,
}

impl ColumnSummary {
    pub fn new(name: String, p: &ColumnProfile) -> ColumnSummary {
        let column_type = p.guess.column_type();
        let text_column = !p.guess.markers_are_null();
        let marker_total: u64 = p.markers.values().sum();
        let (count, missing) = if text_column {
            (p.values + marker_total, p.nulls)
        } else {
            (p.values, p.nulls + marker_total)
        };
        let mut s = ColumnSummary {
            name,
            column_type,
            count,
            missing,
            min: None,
            max: None,
            mean: None,
            stddev: None,
            sum: None,
            quantiles: None,
            quantiles_approx: false,
            distinct: 0,
            distinct_approx: false,
            min_len: None,
            max_len: None,
            top: Vec::new(),
            first: None,
            last: None,
            per_day: None,
            histogram: Vec::new(),
        };
        let extra_distinct = if text_column {
            p.markers.len() as u64
        } else {
            0
        };
        match &p.distinct {
            Distinct::Exact(map) => s.distinct = map.len() as u64 + extra_distinct,
            Distinct::Sketched(sk) => {
                let mut hll = sk.hll.clone();
                s.distinct = hll.count().round() as u64 + extra_distinct;
                s.distinct_approx = true;
            }
        }
        match column_type {
            ColumnType::Int64 | ColumnType::Float64 | ColumnType::Decimal => s.numbers(p),
            ColumnType::Timestamp => s.times(p),
            ColumnType::Utf8 => s.text(p, text_column),
        }
        s
    }

    fn numbers(&mut self, p: &ColumnProfile) {
        let n = &p.numbers;
        if n.count == 0 {
            return;
        }
        self.min = Some(decimal_text(n.min));
        self.max = Some(decimal_text(n.max));
        self.sum = Some(sum_text(&n.sum));
        self.mean = Some(mean_text(&n.sum, n.count));
        if n.count >= 2 {
            self.stddev = Some(stddev_text(&n.sum, &n.squares, n.count));
        }
        match &p.distinct {
            Distinct::Exact(map) => {
                let mut values: Vec<(i128, u64)> = map
                    .iter()
                    .filter_map(|(k, c)| crate::agg::exact::scaled(&k).map(|v| (v, c)))
                    .collect();
                values.sort_unstable();
                let total: u64 = values.iter().map(|v| v.1).sum();
                self.quantiles =
                    Some(QUANTILES.map(|q| decimal_text(nearest_rank(&values, total, q))));
                self.histogram = histogram(n.min, n.max, values.iter().copied());
            }
            Distinct::Sketched(sk) => {
                self.quantiles_approx = true;
                // The sketch's bins are in 10^-9 units. A bin's midpoint may lie past the
                // column's exact extremes, the true value never does.
                let (lo, hi) = (n.min as f64, n.max as f64);
                let at = |q: f64| {
                    let v = sk.quantiles.quantile(q);
                    v.map_or(f64::NAN, |v| v.clamp(lo, hi) / 1e9)
                };
                self.quantiles = Some(QUANTILES.map(|q| float_text(at(f64::from(q) / 100.0))));
                // The sketch's shape: 1001 evenly ranked values, each standing for as many
                // values as the column has over 1001.
                const SAMPLES: u64 = 1001;
                let samples = (0..SAMPLES).filter_map(|i| {
                    let v = at(i as f64 / (SAMPLES - 1) as f64);
                    v.is_finite().then(|| ((v * 1e9).round() as i128, 1))
                });
                let shape = histogram(n.min, n.max, samples);
                self.histogram = shape
                    .iter()
                    .map(|&c| (c as f64 * n.count as f64 / SAMPLES as f64).round() as u64)
                    .collect();
            }
        }
    }

    fn times(&mut self, p: &ColumnProfile) {
        let t = &p.times;
        let (Some(first), Some(last)) = (&t.first, &t.last) else {
            return;
        };
        self.first = Some(String::from_utf8_lossy(&first.1).into_owned());
        self.last = Some(String::from_utf8_lossy(&last.1).into_owned());
        let (Some((&d0, _)), Some((&d1, _))) = (t.days.first_key_value(), t.days.last_key_value())
        else {
            return;
        };
        let span = (d1 - d0 + 1) as u64;
        self.per_day = Some(format!("{:.1}", p.values as f64 / span as f64));
        let bins = span.min(HISTOGRAM_BINS as u64).max(1);
        let mut h = vec![0u64; bins as usize];
        for (&d, &c) in &t.days {
            let i = ((d - d0) as u64 * bins / span).min(bins - 1);
            h[i as usize] += c;
        }
        self.histogram = h;
    }

    fn text(&mut self, p: &ColumnProfile, text_column: bool) {
        if p.values > 0 || (text_column && !p.markers.is_empty()) {
            self.min_len = Some(p.min_len);
            self.max_len = Some(p.max_len);
        }
        if let Distinct::Exact(map) = &p.distinct {
            let mut all: Vec<(std::borrow::Cow<'_, [u8]>, u64)> = map.iter().collect();
            if text_column {
                all.extend(p.markers.iter().map(|(k, &c)| (k.as_slice().into(), c)));
            }
            all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            self.top = all
                .into_iter()
                .take(TOP_VALUES)
                .map(|(k, c)| (String::from_utf8_lossy(&k).into_owned(), c))
                .collect();
        }
    }
}

/// The smallest value with at least `q`% of `total` values at or below it (`sorted` holds
/// (value, count) pairs in value order; equal values may repeat).
fn nearest_rank(sorted: &[(i128, u64)], total: u64, q: u32) -> i128 {
    let rank = (u128::from(total) * u128::from(q)).div_ceil(100).max(1);
    let mut seen = 0u128;
    for &(v, c) in sorted {
        seen += u128::from(c);
        if seen >= rank {
            return v;
        }
    }
    sorted.last().map_or(0, |v| v.0)
}

/// Counts of values in [`HISTOGRAM_BINS`] equal-width bins from `min` to `max`.
fn histogram(min: i128, max: i128, values: impl Iterator<Item = (i128, u64)>) -> Vec<u64> {
    let mut h = vec![0u64; HISTOGRAM_BINS];
    let span = max - min;
    for (v, c) in values {
        let i = if span <= 0 {
            0
        } else {
            // (v - min) * bins / span fits an i128: |v| < 10^28, bins is 20.
            ((v.clamp(min, max) - min) * HISTOGRAM_BINS as i128 / span)
                .clamp(0, HISTOGRAM_BINS as i128 - 1) as usize
        };
        h[i] += c;
    }
    h
}

/// A value in 10^-9 units as decimal text without trailing fraction zeros: `12.5`, `-3`.
pub fn decimal_text(v: i128) -> String {
    let m = v.unsigned_abs();
    let int = m / 1_000_000_000;
    let frac = m % 1_000_000_000;
    let sign = if v < 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let frac = format!("{frac:09}");
    format!("{sign}{int}.{}", frac.trim_end_matches('0'))
}

/// An approximate value, to 6 significant fraction digits at most.
fn float_text(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    decimal_text((v * 1e6).round() as i128 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<(i128, u64)> = (1..=10).map(|i| (i, 1)).collect();
        assert_eq!(nearest_rank(&v, 10, 1), 1);
        assert_eq!(nearest_rank(&v, 10, 25), 3);
        assert_eq!(nearest_rank(&v, 10, 50), 5);
        assert_eq!(nearest_rank(&v, 10, 75), 8);
        assert_eq!(nearest_rank(&v, 10, 99), 10);
        assert_eq!(nearest_rank(&[(7, 3)], 3, 50), 7);
    }

    #[test]
    fn decimal_texts() {
        assert_eq!(decimal_text(12_500_000_000), "12.5");
        assert_eq!(decimal_text(-3_000_000_000), "-3");
        assert_eq!(decimal_text(-1), "-0.000000001");
        assert_eq!(decimal_text(0), "0");
    }

    #[test]
    fn histogram_bins_span_min_to_max() {
        let h = histogram(0, 20, (0..=20).map(|v| (v, 1)));
        assert_eq!(h.len(), HISTOGRAM_BINS);
        assert_eq!(h.iter().sum::<u64>(), 21);
        assert_eq!(h[HISTOGRAM_BINS - 1], 2);
    }
}
