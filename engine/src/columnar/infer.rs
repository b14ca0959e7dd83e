//! Column types from CSV text: what each value can be read as ([`parse_int`], [`parse_float`],
//! [`parse_timestamp`]), and per column what *every* value seen can be read as
//! ([`ColumnGuess`], which merges across files in any order).
//!
//! The grammars are deliberately narrower than Rust's `parse`: a value is typed only when the
//! typed value writes back as the same text a reader would expect, so nothing a user can see
//! is lost. `007`, `+5`, `-0` and ` 5` are not Int64 (a zip code keeps its leading zero),
//! `inf`, `NaN` and `1e999` are not Float64, and a timestamp must be a real date and time.
//! An empty field is null in every type and says nothing about the column's type.
//!
//! A type the user forces with `--schema` accepts more ([`parse_int_loose`],
//! [`parse_float_loose`]: `007` becomes 7 because that was asked for). Every text the strict
//! grammars accept, the loose ones accept with the same value, so the writer parses loosely
//! in both cases.

use super::types::ColumnType;
use arrow_schema::TimeUnit;

/// Seconds since 1970-01-01T00:00:00 (no time zone: the data's own local time), the fraction
/// in nanoseconds, and how many fraction digits the text had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: u32,
    pub fraction_digits: u8,
}

impl Timestamp {
    /// The value in `unit`, or `None` when it does not fit an i64 of that unit or would lose
    /// fraction digits.
    pub fn in_unit(&self, unit: TimeUnit) -> Option<i64> {
        let (per_second, digits) = match unit {
            TimeUnit::Second => (1, 0),
            TimeUnit::Millisecond => (1_000, 3),
            TimeUnit::Microsecond => (1_000_000, 6),
            TimeUnit::Nanosecond => (1_000_000_000, 9),
        };
        if self.fraction_digits > digits {
            return None;
        }
        let fraction = i64::from(self.nanos) / (1_000_000_000 / per_second);
        self.seconds.checked_mul(per_second)?.checked_add(fraction)
    }
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

/// A finite decimal number: optional `-`, an integer part without leading zeros (`0.5`, not
/// `00.5`) and/or a fraction (`.5`, `1.`), optional exponent (`1e-3`, `2.5E+10`).
pub fn parse_float(text: &[u8]) -> Option<f64> {
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
    if int_len + frac_len == 0 {
        return None;
    }
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

/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optionally followed by `.` and 1 to 9
/// fraction digits; a real calendar date (leap years included), hours 00-23, no leap second.
pub fn parse_timestamp(text: &[u8]) -> Option<Timestamp> {
    if text.len() < 19 {
        return None;
    }
    let (base, fraction) = text.split_at(19);
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &base[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
    };
    if base[4] != b'-'
        || base[7] != b'-'
        || !matches!(base[10], b' ' | b'T')
        || base[13] != b':'
        || base[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let (nanos, fraction_digits) = match fraction {
        [] => (0, 0),
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = digits
                .iter()
                .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
            (n * 10u32.pow(9 - digits.len() as u32), digits.len() as u8)
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    Some(Timestamp {
        seconds: days * 86_400
            + i64::from(hour) * 3_600
            + i64::from(minute) * 60
            + i64::from(second),
        nanos,
        fraction_digits,
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    non_null: u64,
}

impl Default for ColumnGuess {
    fn default() -> Self {
        ColumnGuess {
            int: true,
            float: true,
            timestamp_ns: true,
            timestamp_us: true,
            non_null: 0,
        }
    }
}

impl ColumnGuess {
    pub fn observe(&mut self, value: &[u8]) {
        if value.is_empty() {
            return;
        }
        self.non_null += 1;
        let is_int = self.int && parse_int(value).is_some();
        self.int = is_int;
        // Every canonical integer is also a finite decimal: no second parse for int columns.
        if self.float && !is_int {
            self.float = parse_float(value).is_some();
        }
        if self.timestamp_ns || self.timestamp_us {
            let ts = parse_timestamp(value);
            self.timestamp_ns &= ts.is_some_and(|t| t.in_unit(TimeUnit::Nanosecond).is_some());
            self.timestamp_us &= ts.is_some_and(|t| t.in_unit(TimeUnit::Microsecond).is_some());
        }
    }

    /// Nothing but text is possible any more: further values cannot change the type.
    pub fn settled(&self) -> bool {
        !(self.int || self.float || self.timestamp_ns || self.timestamp_us)
    }

    /// What the column's values together say (the guesses of two parts of the data).
    pub fn merge(&mut self, other: &ColumnGuess) {
        self.int &= other.int;
        self.float &= other.float;
        self.timestamp_ns &= other.timestamp_ns;
        self.timestamp_us &= other.timestamp_us;
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

    /// Whether one time unit holds every value seen exactly (for `--schema COL:timestamp`,
    /// whose values were each checked with [`value_fits`]).
    pub fn has_time_unit(&self) -> bool {
        self.non_null == 0 || self.timestamp_us || self.timestamp_ns
    }
}

/// Whether one value can be written as `ty` when the user forces that type.
pub fn value_fits(value: &[u8], ty: ColumnType) -> bool {
    value.is_empty()
        || match ty {
            ColumnType::Int64 => parse_int_loose(value).is_some(),
            ColumnType::Float64 => parse_float_loose(value).is_some(),
            ColumnType::Timestamp => parse_timestamp(value).is_some_and(|t| {
                t.in_unit(TimeUnit::Nanosecond).is_some()
                    || t.in_unit(TimeUnit::Microsecond).is_some()
            }),
            ColumnType::Utf8 => true,
        }
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
    fn timestamps_are_real_dates_and_times() {
        let t = parse_timestamp(b"1970-01-01 00:00:00").unwrap();
        assert_eq!((t.seconds, t.nanos, t.fraction_digits), (0, 0, 0));
        let t = parse_timestamp(b"2008-02-02T13:30:49.25").unwrap();
        assert_eq!(t.seconds, 1_201_959_049);
        assert_eq!((t.nanos, t.fraction_digits), (250_000_000, 2));
        assert_eq!(
            t.in_unit(TimeUnit::Microsecond),
            Some(1_201_959_049_250_000)
        );
        let t = parse_timestamp(b"1969-12-31 23:59:59.123456789").unwrap();
        assert_eq!(t.seconds, -1);
        assert_eq!(t.in_unit(TimeUnit::Microsecond), None, "loses 3 digits");
        assert_eq!(
            t.in_unit(TimeUnit::Nanosecond),
            Some(-1_000_000_000 + 123_456_789)
        );
        assert!(parse_timestamp(b"2024-02-29 12:00:00").is_some());
        assert!(parse_timestamp(b"2000-02-29 12:00:00").is_some());
        for bad in [
            &b"2023-02-29 12:00:00"[..],
            b"1900-02-29 12:00:00",
            b"2024-13-01 00:00:00",
            b"2024-04-31 00:00:00",
            b"2024-01-01 24:00:00",
            b"2024-01-01 23:60:00",
            b"2024-01-01 23:59:60",
            b"2024-01-01",
            b"2024-01-01 1:00:00",
            b"2024/01/01 10:00:00",
            b"2024-01-01 10:00:00.",
            b"2024-01-01 10:00:00.1234567890",
            b"2024-01-01 10:00:00Z",
            b"2024-01-01 10:00:00 ",
        ] {
            assert!(
                parse_timestamp(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
    }

    fn guess(values: &[&str]) -> ColumnGuess {
        let mut g = ColumnGuess::default();
        for v in values {
            g.observe(v.as_bytes());
        }
        g
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
    }

    #[test]
    fn forced_types_read_what_rust_reads() {
        assert_eq!(parse_int_loose(b"007"), Some(7));
        assert_eq!(parse_int_loose(b"+5"), Some(5));
        assert_eq!(parse_int_loose(b" 5"), None);
        assert_eq!(parse_float_loose(b"007.50"), Some(7.5));
        assert_eq!(parse_float_loose(b"inf"), None);
        assert_eq!(parse_float_loose(b"NaN"), None);
        assert!(value_fits(b"00", ColumnType::Int64));
        assert!(!value_fits(b"1.5", ColumnType::Int64));
        assert!(value_fits(b"", ColumnType::Timestamp));
        assert!(!value_fits(b"2024-01-01", ColumnType::Timestamp));
    }

    proptest::proptest! {
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
