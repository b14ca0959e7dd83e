//! Timestamps read from field text: the one grammar behind the Timestamp type of column files
//! ([`crate::columnar`]) and behind what the null rule ([`crate::input::nulls`]) counts as a
//! date or time rather than text.
//!
//! `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optionally `.` and 1 to 9 fraction digits,
//! optionally a UTC offset: `Z` or `+hh:mm` / `-hh:mm`. Dates must be real (leap years
//! included), hours 00-23, no leap second. A value with an offset names one instant
//! ([`Timestamp::utc_seconds`]); one without is wall-clock time in no stated zone.

/// A parsed timestamp: the wall-clock time as written, and its offset if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00 of the written date and time (before any offset).
    pub seconds: i64,
    /// The fraction in nanoseconds.
    pub nanos: u32,
    /// How many fraction digits the text had.
    pub fraction_digits: u8,
    /// Seconds east of UTC (`Z` is 0), when the text gives an offset.
    pub offset: Option<i32>,
}

impl Timestamp {
    /// Seconds since 1970-01-01T00:00:00 UTC when the text gives an offset; the written
    /// wall-clock time otherwise.
    pub fn utc_seconds(&self) -> i64 {
        self.seconds - i64::from(self.offset.unwrap_or(0))
    }
}

/// Parses a whole field as a timestamp (see the module docs), or `None`.
pub fn parse_timestamp(text: &[u8]) -> Option<Timestamp> {
    if text.len() < 19 {
        return None;
    }
    let (base, rest) = text.split_at(19);
    let (year, month, day) = date(&base[..10])?;
    let num = |range: std::ops::Range<usize>| digits(&base[range]);
    if !matches!(base[10], b' ' | b'T') || base[13] != b':' || base[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let fraction_len = match rest.first() {
        Some(b'.') => 1 + rest[1..].iter().take_while(|b| b.is_ascii_digit()).count(),
        _ => 0,
    };
    let (fraction, zone) = rest.split_at(fraction_len);
    let (nanos, fraction_digits) = match fraction {
        [] => (0, 0),
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = digits
                .iter()
                .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
            (n * 10u32.pow(9 - digits.len() as u32), digits.len() as u8)
        }
        _ => return None,
    };
    let offset = match zone {
        [] => None,
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let east = (h * 3600 + m * 60) as i32;
            Some(if *sign == b'-' { -east } else { east })
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
        offset,
    })
}

/// Whether a whole field is a real date `YYYY-MM-DD` or a timestamp (see the module docs):
/// a value the null rule reads as a point in time rather than text.
pub fn is_date_or_timestamp(text: &[u8]) -> bool {
    if text.len() == 10 {
        date(text).is_some()
    } else {
        parse_timestamp(text).is_some()
    }
}

/// `YYYY-MM-DD` as a real calendar date.
fn date(text: &[u8]) -> Option<(u32, u32, u32)> {
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits(&text[0..4])?,
        digits(&text[5..7])?,
        digits(&text[8..10])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// 2 to 4 ASCII digits as a number (so it cannot overflow).
fn digits(part: &[u8]) -> Option<u32> {
    if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(part.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timestamps_are_real_dates_and_times() {
        let t = parse_timestamp(b"1970-01-01 00:00:00").unwrap();
        assert_eq!(
            (t.seconds, t.nanos, t.fraction_digits, t.offset),
            (0, 0, 0, None)
        );
        let t = parse_timestamp(b"2008-02-02T13:30:49.25").unwrap();
        assert_eq!(t.seconds, 1_201_959_049);
        assert_eq!((t.nanos, t.fraction_digits), (250_000_000, 2));
        let t = parse_timestamp(b"1969-12-31 23:59:59.123456789").unwrap();
        assert_eq!((t.seconds, t.nanos), (-1, 123_456_789));
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
            b"2024-01-01 10:00:00 ",
            b"2024-01-01 10:00:00z",
            b"2024-01-01 10:00:00 Z",
            b"2024-01-01 10:00:00+1:00",
            b"2024-01-01 10:00:00+01",
            b"2024-01-01 10:00:00+0100",
            b"2024-01-01 10:00:00+24:00",
            b"2024-01-01 10:00:00+01:60",
            b"2024-01-01 10:00:00Z+01:00",
            b"2024-01-01 10:00:00.Z",
        ] {
            assert!(
                parse_timestamp(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn offsets_name_an_instant() {
        let z = parse_timestamp(b"2013-01-01T10:00:00Z").unwrap();
        assert_eq!(z.offset, Some(0));
        assert_eq!(z.utc_seconds(), 1_357_034_400);
        let plus = parse_timestamp(b"2013-01-01T12:30:00.5+02:30").unwrap();
        assert_eq!(plus.offset, Some(9000));
        assert_eq!(
            (plus.utc_seconds(), plus.nanos),
            (1_357_034_400, 500_000_000)
        );
        let minus = parse_timestamp(b"2013-01-01 05:00:00-05:00").unwrap();
        assert_eq!(minus.utc_seconds(), 1_357_034_400);
        let naive = parse_timestamp(b"2013-01-01 10:00:00").unwrap();
        assert_eq!(naive.utc_seconds(), naive.seconds);
    }

    #[test]
    fn dates_count_as_points_in_time() {
        assert!(is_date_or_timestamp(b"2013-01-01"));
        assert!(is_date_or_timestamp(b"2013-01-01T10:00:00Z"));
        for text in [
            &b"2013-02-30"[..],
            b"2013-1-01",
            b"NA",
            b"",
            b"20130101",
            b"2013-01-01 ",
        ] {
            assert!(
                !is_date_or_timestamp(text),
                "{}",
                String::from_utf8_lossy(text)
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
}
