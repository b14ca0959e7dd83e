//! Column types from CSV text: what each value can be read as ([`parse_int`], [`parse_float`],
//! [`parse_timestamp`]), and per column what *every* value seen can be read as
//! ([`ColumnGuess`], which merges across files in any order).
//!
//! The grammars are deliberately narrower than Rust's `parse`: a value is typed only when the
//! typed value writes back as the same text a reader would expect, so nothing a user can see
//! is lost. `007`, `+5`, `-0` and ` 5` are not Int64 (a zip code keeps its leading zero),
//! `inf`, `NaN` and `1e999` are not Float64, and a timestamp must be a real date and time.
//!
//! Missing values follow [`crate::input::nulls`]: an empty field or a marker of a given list
//! is null in every type and says nothing about the column's type; a default marker (`NA`,
//! ...) says nothing either, and is null unless the column holds text (then it is text too).
//! Timestamps with a UTC offset (`Z`, `+02:00`) are instants, written as UTC; a column may
//! not mix them with timestamps without one (nothing says which zone those are in), so such
//! a column is text.
//!
//! A type the user forces with `--schema` accepts more ([`parse_int_loose`],
//! [`parse_float_loose`]: `007` becomes 7 because that was asked for). Every text the strict
//! grammars accept, the loose ones accept with the same value, so the writer parses loosely
//! in both cases.

use super::types::{ColumnType, DECIMAL_PRECISION, DECIMAL_SCALE};
use crate::input::nulls::NullMarkers;
use crate::query::number::Decimal;
use crate::query::timestamp::is_date_or_timestamp;
pub use crate::query::timestamp::{parse_timestamp, Timestamp};
use arrow_schema::TimeUnit;

/// The value of `t` in `unit` (UTC when it has an offset), or `None` when it does not fit an
/// i64 of that unit or would lose fraction digits.
pub fn in_unit(t: &Timestamp, unit: TimeUnit) -> Option<i64> {
    let (per_second, digits) = match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    if t.fraction_digits > digits {
        return None;
    }
    let fraction = i64::from(t.nanos) / (1_000_000_000 / per_second);
    t.utc_seconds()
        .checked_mul(per_second)?
        .checked_add(fraction)
}

/// A canonical decimal integer that fits an i64: `0`, `-12`, `345`; no sign `+`, no leading
/// zero, no `-0`, no spaces.
pub fn parse_int(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    match digits {
        [] => return None,
        [b'0'] if digits.len() < text.len() => return None,
        [b'0', _, ..] => return None,
        _ => {}
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// What `--schema COL:int64` accepts: anything Rust reads as an i64 (`007`, `+5`).
pub fn parse_int_loose(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// What `--schema COL:float64` accepts: anything Rust reads as a finite f64 (`+1.5`, `007`).
pub fn parse_float_loose(text: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// What a `decimal` column holds: any number of the filter's grammar (`12.5`, `-3`, `1.5e3`,
/// `+.25`) with at most [`DECIMAL_SCALE`] digits after the point and
/// `DECIMAL_PRECISION - DECIMAL_SCALE` before it, as the integer `value * 10^DECIMAL_SCALE`.
/// More fraction digits is `None`, not a rounding: the column promises exact values.
pub fn parse_decimal(text: &[u8]) -> Option<i128> {
    let scale = DECIMAL_SCALE as usize;
    let d = Decimal::parse(text)?;
    let (int, frac) = d.plain_digits(DECIMAL_PRECISION as usize + scale)?;
    let frac_len = frac.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    let int = &int[int.iter().position(|&b| b != b'0').unwrap_or(int.len())..];
    if frac_len > scale || int.len() + scale > DECIMAL_PRECISION as usize {
        return None;
    }
    let digits = int
        .iter()
        .copied()
        .chain((0..scale).map(|i| frac.get(i).copied().unwrap_or(b'0')));
    let value = digits.fold(0i128, |v, b| v * 10 + i128::from(b - b'0'));
    Some(if d.is_negative() { -value } else { value })
}

/// A finite decimal number: optional `-`, an integer part without leading zeros (`0.5`, not
/// `00.5`) and/or a fraction (`.5`, `1.`), optional exponent (`1e-3`, `2.5E+10`).
pub fn parse_float(text: &[u8]) -> Option<f64> {
    let (_, rest) = float_body(text)?;
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"-")
            .or_else(|| exp.strip_prefix(b"+"))
            .unwrap_or(exp);
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return None;
        }
    } else if !rest.is_empty() {
        return None;
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// The decimal part of [`parse_float`]'s grammar: the integer digits' count and what
/// follows the digits (an exponent, or nothing); `None` without digits or with a leading zero.
#[inline]
fn float_body(text: &[u8]) -> Option<(usize, &[u8])> {
    let body = text.strip_prefix(b"-").unwrap_or(text);
    let int_len = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len > 1 && body[0] == b'0' {
        return None;
    }
    let mut rest = &body[int_len..];
    let mut frac_len = 0;
    if let Some(after) = rest.strip_prefix(b".") {
        frac_len = after.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &after[frac_len..];
    }
    (int_len + frac_len > 0).then_some((int_len, rest))
}

/// Whether [`parse_int`] reads `text`, without building the value: the check
/// [`ColumnGuess`] makes for every value of a column.
#[inline]
fn is_int(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    match digits {
        [] => return false,
        [b'0'] if digits.len() < text.len() => return false,
        [b'0', _, ..] => return false,
        _ => {}
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // Without leading zeros, the number of digits orders the values, and at the same length
    // the texts order as the numbers do.
    const MAX: &[u8] = b"9223372036854775807";
    const MIN: &[u8] = b"9223372036854775808";
    let limit = if digits.len() < text.len() { MIN } else { MAX };
    digits.len() < limit.len() || (digits.len() == limit.len() && digits <= limit)
}

/// Whether [`parse_float`] reads `text`, without building the value when its grammar
/// alone decides: a decimal without exponent and with at most 308 integer digits is below
/// 10^308, under `f64::MAX`, so it is finite.
#[inline]
fn is_float(text: &[u8]) -> bool {
    let Some((int_len, rest)) = float_body(text) else {
        return false;
    };
    if rest.is_empty() && int_len <= 308 {
        return true;
    }
    parse_float(text).is_some()
}

/// What every non-null value of one column, seen so far, can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnGuess {
    int: bool,
    float: bool,
    /// Every value is a timestamp that fits nanoseconds (1677..2262).
    timestamp_ns: bool,
    /// Every value is a timestamp with at most 6 fraction digits.
    timestamp_us: bool,
    /// Some timestamp had a UTC offset; some had none (a column cannot hold both).
    zoned: bool,
    naive: bool,
    /// Some value is text for the null rule: not a number, date or timestamp.
    text: bool,
    /// Values that decide the type: neither null nor a default marker.
    non_null: u64,
}

impl Default for ColumnGuess {
    fn default() -> Self {
        ColumnGuess {
            int: true,
            float: true,
            timestamp_ns: true,
            timestamp_us: true,
            zoned: false,
            naive: false,
            text: false,
            non_null: 0,
        }
    }
}

impl ColumnGuess {
    pub fn observe(&mut self, value: &[u8], nulls: &NullMarkers) {
        if value.is_empty() {
            return;
        }
        if nulls.is_marker(value) {
            // Null, or a default marker: it is text only if the column is, which the other
            // values decide.
            return;
        }
        self.observe_value(value);
    }

    /// [`ColumnGuess::observe`] for a value known to be neither empty nor a marker. Hands
    /// back the value's timestamp when this call read it as one (`Some(None)`: it is not a
    /// timestamp; `None`: not tried, the column can no longer be one), so a caller that
    /// needs the instant too (`fleet stats`) does not parse it twice.
    #[inline]
    pub fn observe_value(&mut self, value: &[u8]) -> Option<Option<Timestamp>> {
        self.non_null += 1;
        let is_int = self.int && is_int(value);
        self.int = is_int;
        // Every canonical integer is also a finite decimal: no second parse for int columns.
        let is_float = is_int || (self.float && is_float(value));
        self.float = is_float;
        let mut is_time = false;
        let mut parsed = None;
        if self.timestamp_ns || self.timestamp_us {
            let ts = parse_timestamp(value);
            parsed = Some(ts);
            is_time = ts.is_some();
            if let Some(t) = ts {
                self.zoned |= t.offset.is_some();
                self.naive |= t.offset.is_none();
            }
            let one_kind = !(self.zoned && self.naive);
            self.timestamp_ns &=
                one_kind && ts.is_some_and(|t| in_unit(&t, TimeUnit::Nanosecond).is_some());
            self.timestamp_us &=
                one_kind && ts.is_some_and(|t| in_unit(&t, TimeUnit::Microsecond).is_some());
        }
        if !self.text && !is_float && !is_time {
            self.text = Decimal::parse(value).is_none() && !is_date_or_timestamp(value);
        }
        parsed
    }

    /// [`ColumnGuess::observe_value`] for a value the caller has classified already: one
    /// that [`is_float`] accepts (a decimal without exponent or leading zero, not null nor a
    /// marker), and that [`is_int`] accepts when `int` (`fleet stats` reads each value's
    /// bytes once for its number and these answers). Only the timestamp check is left.
    #[inline]
    pub fn observe_canonical_number(
        &mut self,
        value: &[u8],
        int: bool,
    ) -> Option<Option<Timestamp>> {
        debug_assert!(is_float(value) && int == is_int(value));
        if !(self.timestamp_ns || self.timestamp_us) {
            self.non_null += 1;
            self.float |= self.int && int;
            self.int &= int;
            return None;
        }
        self.observe_value(value)
    }

    /// [`ColumnGuess::observe_value`] of the value it observed last, once more: its answers
    /// are the same, so only the count of values grows (`fleet stats` takes runs of equal
    /// timestamps without parsing each).
    #[inline]
    pub fn observe_same_again(&mut self) {
        self.non_null += 1;
    }

    /// Whether the column can still be an int or a float (every value so far is a number).
    #[inline]
    pub fn may_be_number(&self) -> bool {
        self.float || self.int
    }

    /// Nothing but text is possible any more: further values cannot change the type, nor
    /// whether default markers are text.
    pub fn settled(&self) -> bool {
        self.text && !(self.int || self.float || self.timestamp_ns || self.timestamp_us)
    }

    /// What the column's values together say (the guesses of two parts of the data).
    pub fn merge(&mut self, other: &ColumnGuess) {
        self.int &= other.int;
        self.float &= other.float;
        self.zoned |= other.zoned;
        self.naive |= other.naive;
        let one_kind = !(self.zoned && self.naive);
        self.timestamp_ns &= other.timestamp_ns && one_kind;
        self.timestamp_us &= other.timestamp_us && one_kind;
        self.text |= other.text;
        self.non_null += other.non_null;
    }

    /// The narrowest type that holds every value exactly. A column with no value at all is
    /// Utf8 (all null): nothing says it is a number.
    pub fn column_type(&self) -> ColumnType {
        if self.non_null == 0 {
            ColumnType::Utf8
        } else if self.int {
            ColumnType::Int64
        } else if self.float {
            ColumnType::Float64
        } else if self.timestamp_us || self.timestamp_ns {
            ColumnType::Timestamp
        } else {
            ColumnType::Utf8
        }
    }

    /// The unit of a timestamp column: microseconds (what DuckDB, Spark and Polars use by
    /// default) unless some value has more than 6 fraction digits.
    pub fn time_unit(&self) -> TimeUnit {
        if self.timestamp_us || !self.timestamp_ns {
            TimeUnit::Microsecond
        } else {
            TimeUnit::Nanosecond
        }
    }

    /// The timestamps had a UTC offset: the column holds UTC instants.
    pub fn is_utc(&self) -> bool {
        self.zoned
    }

    /// Timestamps with and without a UTC offset were both seen.
    pub fn mixes_zones(&self) -> bool {
        self.zoned && self.naive
    }

    /// Whether the default markers (`NA`, ...) are null in this column: it holds no text.
    pub fn markers_are_null(&self) -> bool {
        !self.text
    }

    /// The guess as flags and a count, to travel between processes (`fleet stats` hands
    /// each chunk's guesses to the coordinator as bytes).
    pub fn to_parts(&self) -> (u8, u64) {
        let flags = [
            self.int,
            self.float,
            self.timestamp_ns,
            self.timestamp_us,
            self.zoned,
            self.naive,
            self.text,
        ]
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
        (flags, self.non_null)
    }

    /// The guess [`ColumnGuess::to_parts`] gave.
    pub fn from_parts(flags: u8, non_null: u64) -> ColumnGuess {
        let bit = |i: u8| flags & (1 << i) != 0;
        ColumnGuess {
            int: bit(0),
            float: bit(1),
            timestamp_ns: bit(2),
            timestamp_us: bit(3),
            zoned: bit(4),
            naive: bit(5),
            text: bit(6),
            non_null,
        }
    }

    /// Whether one time unit holds every value seen exactly (for `--schema COL:timestamp`,
    /// whose values were each checked with [`value_fits`]).
    pub fn has_time_unit(&self) -> bool {
        self.non_null == 0 || self.timestamp_us || self.timestamp_ns
    }
}

/// Whether one value can be written as `ty` when the user forces that type: a number,
/// timestamp or marker for a typed column (a marker is then null), anything for Utf8.
pub fn value_fits(value: &[u8], ty: ColumnType, nulls: &NullMarkers) -> bool {
    if value.is_empty() || nulls.is_marker(value) {
        return true;
    }
    match ty {
        ColumnType::Int64 => parse_int_loose(value).is_some(),
        ColumnType::Float64 => parse_float_loose(value).is_some(),
        ColumnType::Timestamp => parse_timestamp(value).is_some_and(|t| {
            in_unit(&t, TimeUnit::Nanosecond).is_some()
                || in_unit(&t, TimeUnit::Microsecond).is_some()
        }),
        ColumnType::Utf8 => true,
        ColumnType::Decimal => parse_decimal(value).is_some(),
    }
}

/// Whether `value` is written as null in a column of type `ty` whose default markers are
/// null or not (`markers_null`, from [`ColumnGuess::markers_are_null`]).
#[inline]
pub fn is_null_value(value: &[u8], nulls: &NullMarkers, markers_null: bool) -> bool {
    value.is_empty()
        || (nulls.is_marker(value) && (markers_null || nulls.is_null_everywhere(value)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ints_are_canonical_decimals() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-12"), Some(-12));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"007",
            b"-0",
            b"+5",
            b" 5",
            b"5 ",
            b"1.0",
            b"9223372036854775808",
            b"1e3",
            b"0x10",
        ] {
            assert_eq!(parse_int(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats_are_finite_decimals() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-0.25"), Some(-0.25));
        assert_eq!(parse_float(b"3"), Some(3.0));
        assert_eq!(parse_float(b".5"), Some(0.5));
        assert_eq!(parse_float(b"1."), Some(1.0));
        assert_eq!(parse_float(b"2.5E+3"), Some(2500.0));
        assert_eq!(parse_float(b"1e-3"), Some(0.001));
        for bad in [
            &b""[..],
            b".",
            b"-",
            b"00.5",
            b"+1.5",
            b"1.5.2",
            b"1e",
            b"1e+",
            b"inf",
            b"NaN",
            b"1e999",
            b"1,5",
            b" 1.5",
        ] {
            assert_eq!(parse_float(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decimals_are_exact_scaled_integers_or_refused() {
        let e9 = 1_000_000_000i128;
        for (text, want) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("12.5", Some(12 * e9 + 500_000_000)),
            ("-3", Some(-3 * e9)),
            ("+.25", Some(250_000_000)),
            ("007.10", Some(7 * e9 + 100_000_000)),
            ("1.5e3", Some(1500 * e9)),
            ("1e-9", Some(1)),
            ("-0.000000001", Some(-1)),
            ("1.500000000000", Some(1_500_000_000)), // trailing zeros past the scale
            (
                "99999999999999999999999999999",
                Some(99_999_999_999_999_999_999_999_999_999 * e9),
            ),
            ("1e-10", None), // a 10th fraction digit: not exact
            ("0.0000000001", None),
            ("100000000000000000000000000000", None), // 30 integer digits
            ("", None),
            ("1.2.3", None),
            ("nan", None),
            ("1,5", None),
        ] {
            assert_eq!(parse_decimal(text.as_bytes()), want, "{text}");
        }
        // Against plain arithmetic on many values of up to 18 integer and 9 fraction digits.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = (x >> 4) % 1_000_000_000_000_000_000;
            let frac_digits = (x % 10) as u32;
            let frac = (x >> 40) % 10u64.pow(frac_digits);
            let negative = x & (1 << 63) != 0;
            let text = if frac_digits == 0 {
                format!("{}{int}", if negative { "-" } else { "" })
            } else {
                let w = frac_digits as usize;
                format!("{}{int}.{frac:0w$}", if negative { "-" } else { "" })
            };
            let magnitude = i128::from(int) * e9 + i128::from(frac) * 10i128.pow(9 - frac_digits);
            let want = if negative { -magnitude } else { magnitude };
            assert_eq!(parse_decimal(text.as_bytes()), Some(want), "{text}");
        }
    }

    #[test]
    fn timestamps_in_units() {
        let t = parse_timestamp(b"2008-02-02T13:30:49.25").unwrap();
        assert_eq!(
            in_unit(&t, TimeUnit::Microsecond),
            Some(1_201_959_049_250_000)
        );
        let t = parse_timestamp(b"1969-12-31 23:59:59.123456789").unwrap();
        assert_eq!(in_unit(&t, TimeUnit::Microsecond), None, "loses 3 digits");
        assert_eq!(
            in_unit(&t, TimeUnit::Nanosecond),
            Some(-1_000_000_000 + 123_456_789)
        );
        // With an offset: the UTC instant.
        let t = parse_timestamp(b"2013-01-01T12:00:00+02:00").unwrap();
        assert_eq!(in_unit(&t, TimeUnit::Second), Some(1_357_034_400));
    }

    fn guess(values: &[&str]) -> ColumnGuess {
        guess_with(values, &NullMarkers::default())
    }

    fn guess_with(values: &[&str], nulls: &NullMarkers) -> ColumnGuess {
        let mut g = ColumnGuess::default();
        for v in values {
            g.observe(v.as_bytes(), nulls);
        }
        g
    }

    #[test]
    fn default_markers_are_null_unless_the_column_is_text() {
        let delays = guess(&["12", "NA", "-3", "", "NA"]);
        assert_eq!(delays.column_type(), ColumnType::Int64);
        assert!(delays.markers_are_null());
        let nulls = NullMarkers::default();
        assert!(is_null_value(b"NA", &nulls, delays.markers_are_null()));
        let mixed = guess(&["1.5", "NaN", "\\N", "null", "N/A", "NULL", "2e3"]);
        assert_eq!(mixed.column_type(), ColumnType::Float64);
        let names = guess(&["Ann", "NA", "Bo"]);
        assert_eq!(names.column_type(), ColumnType::Utf8);
        assert!(!names.markers_are_null());
        assert!(!is_null_value(b"NA", &nulls, names.markers_are_null()));
        assert!(is_null_value(b"", &nulls, names.markers_are_null()));
        // Only markers: nothing says the column is text, so they are null.
        let only = guess(&["NA", "NA"]);
        assert_eq!(only.column_type(), ColumnType::Utf8);
        assert!(only.markers_are_null());
        // Dates are not text either (the column stays Utf8, its NA null).
        let dates = guess(&["2013-01-01", "NA"]);
        assert_eq!(dates.column_type(), ColumnType::Utf8);
        assert!(dates.markers_are_null());
        let times = guess(&["2013-01-01T10:00:00Z", "NA", "2013-01-01T11:00:00Z"]);
        assert_eq!(times.column_type(), ColumnType::Timestamp);
        assert!(times.is_utc());
        // "007" is a number for the null rule though text for the type.
        let zips = guess(&["007", "NA"]);
        assert_eq!(zips.column_type(), ColumnType::Utf8);
        assert!(zips.markers_are_null());
    }

    #[test]
    fn given_markers_are_null_in_every_column() {
        let nulls = NullMarkers::only(&["-999", "?"]);
        let g = guess_with(&["1", "-999", "?", "2"], &nulls);
        assert_eq!(g.column_type(), ColumnType::Int64);
        let t = guess_with(&["a", "?"], &nulls);
        assert!(is_null_value(b"?", &nulls, t.markers_are_null()));
        assert!(!is_null_value(b"NA", &nulls, t.markers_are_null()));
        // NA is not a marker of this list: text.
        assert_eq!(
            guess_with(&["1", "NA"], &nulls).column_type(),
            ColumnType::Utf8
        );
    }

    #[test]
    fn zoned_and_naive_timestamps_do_not_mix() {
        let z = guess(&["2013-01-01T10:00:00Z", "2013-01-01T10:00:00+05:30"]);
        assert_eq!(z.column_type(), ColumnType::Timestamp);
        assert!(z.is_utc());
        let naive = guess(&["2013-01-01 10:00:00"]);
        assert!(!naive.is_utc());
        let mixed = guess(&["2013-01-01T10:00:00Z", "2013-01-01 10:00:00"]);
        assert_eq!(mixed.column_type(), ColumnType::Utf8);
        assert!(mixed.mixes_zones());
        let mut merged = guess(&["2013-01-01T10:00:00Z"]);
        merged.merge(&guess(&["2013-01-01 10:00:00"]));
        assert_eq!(merged.column_type(), ColumnType::Utf8);
        let mut fine = guess(&["", "NA"]);
        fine.merge(&guess(&["2013-01-01T10:00:00Z"]));
        assert_eq!(fine.column_type(), ColumnType::Timestamp);
        assert!(fine.is_utc());
    }

    #[test]
    fn every_value_decides_the_type() {
        assert_eq!(guess(&["1", "2", ""]).column_type(), ColumnType::Int64);
        assert_eq!(guess(&["1", "2.5", "3"]).column_type(), ColumnType::Float64);
        assert_eq!(guess(&["1", "x", "3"]).column_type(), ColumnType::Utf8);
        assert_eq!(guess(&["", ""]).column_type(), ColumnType::Utf8);
        assert_eq!(guess(&[]).column_type(), ColumnType::Utf8);
        let ts = guess(&["2008-02-02 13:30:49", "", "2008-02-02T13:30:50.5"]);
        assert_eq!(ts.column_type(), ColumnType::Timestamp);
        assert_eq!(ts.time_unit(), TimeUnit::Microsecond);
        let ns = guess(&["2008-02-02 13:30:49.123456789"]);
        assert_eq!(ns.time_unit(), TimeUnit::Nanosecond);
        // Beyond what nanoseconds hold, with 7+ digits: only text keeps it exactly.
        assert_eq!(
            guess(&["2500-01-01 00:00:00.1234567"]).column_type(),
            ColumnType::Utf8
        );
        assert_eq!(
            guess(&["2008-02-02 13:30:49", "5"]).column_type(),
            ColumnType::Utf8
        );
    }

    #[test]
    fn merging_is_the_guess_of_all_values() {
        let mut a = guess(&["1", "2"]);
        a.merge(&guess(&["2.5"]));
        assert_eq!(a, guess(&["1", "2", "2.5"]));
        let mut empty = guess(&[""]);
        empty.merge(&guess(&["7"]));
        assert_eq!(empty.column_type(), ColumnType::Int64);
        assert!(guess(&[""]).has_time_unit());
        assert!(!guess(&["2500-01-01 00:00:00.1", "2000-01-01 00:00:00.1234567"]).has_time_unit());
        assert!(guess(&["a"]).settled());
        assert!(!guess(&["1", "2"]).settled());
    }

    #[test]
    fn forced_types_read_what_rust_reads() {
        assert_eq!(parse_int_loose(b"007"), Some(7));
        assert_eq!(parse_int_loose(b"+5"), Some(5));
        assert_eq!(parse_int_loose(b" 5"), None);
        assert_eq!(parse_float_loose(b"007.50"), Some(7.5));
        assert_eq!(parse_float_loose(b"inf"), None);
        assert_eq!(parse_float_loose(b"NaN"), None);
        let nulls = NullMarkers::default();
        assert!(value_fits(b"00", ColumnType::Int64, &nulls));
        assert!(!value_fits(b"1.5", ColumnType::Int64, &nulls));
        assert!(value_fits(b"", ColumnType::Timestamp, &nulls));
        assert!(value_fits(b"NA", ColumnType::Int64, &nulls));
        assert!(!value_fits(b"2024-01-01", ColumnType::Timestamp, &nulls));
    }

    #[test]
    fn the_checks_accept_what_the_parsers_read() {
        let long = format!("{}.5", "9".repeat(308));
        let too_long = "9".repeat(309);
        let texts = [
            "0",
            "-0",
            "7",
            "-7",
            "007",
            "-007",
            "+5",
            " 5",
            "1.",
            ".5",
            "-.5",
            "0.0",
            "00.5",
            "1e5",
            "1e999",
            "1e",
            "-",
            ".",
            "",
            "a",
            "12a",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "10000000000000000000",
            "999999999999999999",
            "-1.5e-3",
            "2015-02-01",
            &long,
            &too_long,
        ];
        for t in texts {
            let b = t.as_bytes();
            assert_eq!(is_int(b), parse_int(b).is_some(), "{t}");
            assert_eq!(is_float(b), parse_float(b).is_some(), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_checks_agree_with_the_parsers(text in "-?[0-9]{1,21}|-?[0-9]{0,3}(\\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?|[-+. 0-9ae]{0,5}") {
            proptest::prop_assert_eq!(is_int(text.as_bytes()), parse_int(text.as_bytes()).is_some());
            proptest::prop_assert_eq!(is_float(text.as_bytes()), parse_float(text.as_bytes()).is_some());
        }

        /// Inference is exact: a value typed Int64 writes back as its own text, and the
        /// loose reading (what the writer uses) gives the same value.
        #[test]
        fn strict_ints_round_trip(text in "-?[0-9]{1,20}|[-+ 0-9a]{0,4}") {
            if let Some(v) = parse_int(text.as_bytes()) {
                proptest::prop_assert_eq!(v.to_string(), text.clone());
                proptest::prop_assert_eq!(parse_int_loose(text.as_bytes()), Some(v));
                // `observe` relies on it: an Int64 value needs no Float64 check.
                proptest::prop_assert!(parse_float(text.as_bytes()).is_some());
            }
        }

        #[test]
        fn strict_floats_read_as_rust_reads_them(text in "-?[0-9]{0,3}(\\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?") {
            if let Some(v) = parse_float(text.as_bytes()) {
                proptest::prop_assert_eq!(parse_float_loose(text.as_bytes()), Some(v));
                proptest::prop_assert_eq!(text.parse::<f64>().ok(), Some(v));
            }
        }
    }
}
