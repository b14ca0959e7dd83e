//! Group keys on the hot path: deriving `hour`/`day`/`weekday`/`month` keys from timestamp
//! text, and packing a record's tuple of key byte strings into one buffer that identifies
//! its group.
//!
//! The packing is length-prefixed (a LEB128 length, then the bytes, per key), so distinct
//! tuples never share an encoding (`("a,b", "c")` vs `("a", "b,c")`), and one borrowed slice
//! is enough to look the group up in a hash map. [`crate::agg::output`] unpacks it again and
//! orders keys with [`cmp_key`].

use std::cmp::Ordering;

use crate::query::number::Decimal;

use super::spec::KeyFn;

/// Weekday names, Monday first (ISO 8601 order, also the output order).
pub(crate) const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// A derived key's text; at most `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Derived {
    buf: [u8; 10],
    len: usize,
}

impl Derived {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn from(text: &[u8]) -> Derived {
        let mut buf = [0u8; 10];
        let len = text.len().min(buf.len());
        buf[..len].copy_from_slice(&text[..len]);
        Derived { buf, len }
    }
}

/// The parts of an accepted timestamp the keys need.
struct Stamp {
    year: i64,
    month: u32,
    day: u32,
    /// Absent for a bare date.
    hour: Option<u32>,
}

/// Only ever given 2 to 4 bytes, so the value cannot overflow.
fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Accepts `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DDTHH:MM:SS`, optionally with
/// `.FRACTION` seconds; fields are range-checked (60 seconds allows a leap second). Anything
/// else, time zones included, is not a timestamp: guessing an offset would silently move
/// records between hours.
fn parse_stamp(t: &[u8]) -> Option<Stamp> {
    if t.len() < 10 || t[4] != b'-' || t[7] != b'-' {
        return None;
    }
    let year = i64::from(digits(&t[0..4])?);
    let month = digits(&t[5..7])?;
    let day = digits(&t[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let hour = if t.len() == 10 {
        None
    } else {
        if t.len() < 19 || !matches!(t[10], b' ' | b'T') || t[13] != b':' || t[16] != b':' {
            return None;
        }
        let (h, m, s) = (
            digits(&t[11..13])?,
            digits(&t[14..16])?,
            digits(&t[17..19])?,
        );
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        match &t[19..] {
            [] => {}
            [b'.', frac @ ..] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => {}
            _ => return None,
        }
        Some(h)
    };
    Some(Stamp {
        year,
        month,
        day,
        hour,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The key text of a derived key, or `None` when `field` is not an accepted timestamp (or a
/// date, for `hour`). `KeyFn::Column` is not derived and gives `None` too.
pub(crate) fn derive(func: KeyFn, field: &[u8]) -> Option<Derived> {
    if let KeyFn::Column(_) = func {
        return None;
    }
    let stamp = parse_stamp(field)?;
    Some(match func {
        // Validated digits, so the original text is already the canonical form.
        KeyFn::Hour(_) => {
            stamp.hour?;
            Derived::from(&field[11..13])
        }
        KeyFn::Day(_) => Derived::from(&field[..10]),
        KeyFn::Month(_) => Derived::from(&field[..7]),
        KeyFn::Weekday(_) => {
            // 1970-01-01 was a Thursday (index 3 with Monday at 0).
            let days = days_from_civil(stamp.year, stamp.month, stamp.day);
            Derived::from(WEEKDAYS[(days + 3).rem_euclid(7) as usize])
        }
        KeyFn::Column(_) => return None,
    })
}

/// Appends `value` to a packed key tuple.
#[inline]
pub(crate) fn push_part(out: &mut Vec<u8>, value: &[u8]) {
    push_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// LEB128: one byte for lengths below 128, which is every realistic key.
#[inline]
pub(crate) fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value at `*pos`; `None` when truncated or longer than a `u64`.
pub(crate) fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None;
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Splits a packed tuple into its parts; `None` when it is not exactly `n` well-formed parts.
pub(crate) fn unpack(packed: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::with_capacity(n);
    let mut pos = 0;
    while pos < packed.len() {
        let len = usize::try_from(read_varint(packed, &mut pos)?).ok()?;
        let end = pos.checked_add(len).filter(|&e| e <= packed.len())?;
        parts.push(&packed[pos..end]);
        pos = end;
    }
    (parts.len() == n).then_some(parts)
}

/// The total order of key values in the default output order: weekday keys Monday first;
/// otherwise plain decimals before other text, decimals numerically (numerically equal
/// texts bytewise), other text bytewise. "Numeric if both are numbers, else bytewise" alone
/// would not be a total order once a column mixes the two (`9` < `10` < `1a` < `9`).
pub(crate) fn cmp_key(func: KeyFn, a: &[u8], b: &[u8]) -> Ordering {
    if let KeyFn::Weekday(_) = func {
        let rank = |v: &[u8]| WEEKDAYS.iter().position(|w| &w[..] == v);
        return rank(a).cmp(&rank(b)).then_with(|| a.cmp(b));
    }
    cmp_values(a, b)
}

/// Numbers first (numerically, ties bytewise), then other text bytewise: the total order
/// used for keys and for sorting by an aggregate.
pub(crate) fn cmp_values(a: &[u8], b: &[u8]) -> Ordering {
    match (Decimal::parse(a), Decimal::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn key(func: KeyFn, text: &str) -> Option<String> {
        derive(func, text.as_bytes()).map(|d| String::from_utf8(d.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn derived_keys() {
        let t = "2015-02-01 08:03:11";
        assert_eq!(key(KeyFn::Hour(0), t).as_deref(), Some("08"));
        assert_eq!(key(KeyFn::Day(0), t).as_deref(), Some("2015-02-01"));
        assert_eq!(key(KeyFn::Month(0), t).as_deref(), Some("2015-02"));
        assert_eq!(key(KeyFn::Weekday(0), t).as_deref(), Some("Sun"));
        assert_eq!(
            key(KeyFn::Hour(0), "2015-02-01T23:59:60").as_deref(),
            Some("23")
        );
        assert_eq!(
            key(KeyFn::Hour(0), "2015-02-01 00:00:00.125").as_deref(),
            Some("00")
        );
        assert_eq!(key(KeyFn::Weekday(0), "2016-02-29").as_deref(), Some("Mon"));
        assert_eq!(key(KeyFn::Weekday(0), "1970-01-01").as_deref(), Some("Thu"));
        assert_eq!(
            key(KeyFn::Weekday(0), "2000-01-01T00:00:00").as_deref(),
            Some("Sat")
        );
        assert_eq!(key(KeyFn::Weekday(0), "1969-12-31").as_deref(), Some("Wed"));
        assert_eq!(
            key(KeyFn::Day(0), "2024-12-31").as_deref(),
            Some("2024-12-31")
        );
        assert_eq!(key(KeyFn::Column(0), t), None);
    }

    #[test]
    fn rejects_non_timestamps() {
        for bad in [
            "",
            "2015-02-01 08:03",
            "2015-02-01 24:00:00",
            "2015-02-01 08:60:00",
            "2015-02-01 08:03:61",
            "2015-02-30",
            "2015-13-01",
            "2015-00-01",
            "2015-02-00",
            "2015-2-01",
            "2015/02/01",
            "2015-02-01X08:03:11",
            "2015-02-01 08:03:11Z",
            "2015-02-01 08:03:11+01:00",
            "2015-02-01 08:03:11.",
            "2015-02-01 08:03:11.5x",
            "2015-02-01 ",
            "+015-02-01",
            "1900-02-29",
            "２015-02-01",
        ] {
            for f in [
                KeyFn::Hour(0),
                KeyFn::Day(0),
                KeyFn::Weekday(0),
                KeyFn::Month(0),
            ] {
                assert!(derive(f, bad.as_bytes()).is_none(), "{bad:?} with {f:?}");
            }
        }
        assert!(
            derive(KeyFn::Hour(0), b"2015-02-01").is_none(),
            "a date has no hour"
        );
        assert!(derive(KeyFn::Day(0), b"2000-02-29").is_some());
    }

    #[test]
    fn packing_is_unambiguous() {
        let mut a = Vec::new();
        push_part(&mut a, b"a,b");
        push_part(&mut a, b"c");
        let mut b = Vec::new();
        push_part(&mut b, b"a");
        push_part(&mut b, b"b,c");
        assert_ne!(a, b);
        assert_eq!(unpack(&a, 2).unwrap(), vec![&b"a,b"[..], b"c"]);
        assert!(unpack(&a, 3).is_none());
        assert!(unpack(&a[..a.len() - 1], 2).is_none());
        assert_eq!(unpack(&[], 0).unwrap().len(), 0);
        let long = vec![b'x'; 300];
        let mut c = Vec::new();
        push_part(&mut c, &long);
        push_part(&mut c, b"");
        assert_eq!(unpack(&c, 2).unwrap(), vec![&long[..], b""]);
    }

    #[test]
    fn varints() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            push_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80], &mut pos), None);
        let mut pos = 0;
        assert_eq!(read_varint(&[0xff; 11], &mut pos), None);
    }

    #[test]
    fn key_order() {
        let mut v: Vec<&[u8]> = vec![b"10", b"9", b"1a", b"", b"9.0", b"-1", b"b"];
        v.sort_by(|a, b| cmp_key(KeyFn::Column(0), a, b));
        assert_eq!(v, vec![&b"-1"[..], b"9", b"9.0", b"10", b"", b"1a", b"b"]);
        let mut w: Vec<&[u8]> = vec![b"Sun", b"Mon", b"", b"Wed", b"Sat"];
        w.sort_by(|a, b| cmp_key(KeyFn::Weekday(0), a, b));
        assert_eq!(w, vec![&b""[..], b"Mon", b"Wed", b"Sat", b"Sun"]);
    }

    proptest! {
        #[test]
        fn weekday_matches_day_count(days in -800_000i64..800_000) {
            // Walk a calendar from 2000-01-01 (a Saturday) with the fixture-independent
            // civil_from_days inverse to get a date, then compare weekdays.
            let z = days + 10_957 + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
            let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
            let y = yoe + era * 400 + i64::from(m <= 2);
            prop_assume!((0..=9999).contains(&y));
            let text = format!("{y:04}-{m:02}-{d:02}");
            let want = WEEKDAYS[(days + 5).rem_euclid(7) as usize];
            let got = derive(KeyFn::Weekday(0), text.as_bytes());
            prop_assert!(got.is_some(), "{}", text);
            let got = got.unwrap();
            prop_assert_eq!(got.as_bytes(), &want[..], "{}", text);
        }

        #[test]
        fn key_order_is_total(a in "[-0-9a.]{0,4}", b in "[-0-9a.]{0,4}", c in "[-0-9a.]{0,4}") {
            let (a, b, c) = (a.as_bytes(), b.as_bytes(), c.as_bytes());
            let ab = cmp_values(a, b);
            prop_assert_eq!(ab, cmp_values(b, a).reverse());
            prop_assert_eq!(ab == Ordering::Equal, a == b);
            if ab != Ordering::Greater && cmp_values(b, c) != Ordering::Greater {
                prop_assert_ne!(cmp_values(a, c), Ordering::Greater);
            }
        }
    }
}
