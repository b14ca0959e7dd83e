//! Exact decimal numbers read straight from field text.
//!
//! fleet compares a field with a `--where` value numerically when both are numbers
//! (`[+-]? (DIGITS ('.' DIGITS?)? | '.' DIGITS) ([eE] [+-]? DIGITS)?`: plain decimals such as
//! `-12`, `11865.0`, `.5`, and exponent forms such as `1.5e3` or `2E-4`), and otherwise by the
//! rules of [`crate::query::predicate`]; this module does the numeric half. Numbers are never
//! converted to `f64` for comparison: ids, timestamps-as-integers and long fixed-point values
//! must compare exactly at any length, so a [`Decimal`] is just a view of the digits in the
//! field itself plus a decimal exponent. Parsing runs once per record on the hot path, so it
//! borrows and never allocates, and a plain decimal (exponent 0, by far the commonest) keeps
//! the short comparison of digit strings.

use std::cmp::Ordering;
use std::fmt;

/// Exponents with more significant digits than this are not read as numbers: the value's
/// exponent must fit an `i64` with room for the digit positions computed from it.
const MAX_EXPONENT_DIGITS: usize = 17;

/// A decimal number borrowed from the text it was parsed from: `mantissa × 10^exp`, where the
/// mantissa is `int.frac`.
///
/// Kept normalized so that equal plain numbers have equal parts: integer digits without
/// leading zeros, fraction digits without trailing zeros, and zero is never negative and has
/// exponent 0. That makes `-0`, `0`, `0.0`, `.0` and `+0.` the same value, and lets
/// [`Decimal::cmp`] compare plain numbers on the digit strings directly. Numbers with an
/// exponent (`15e2` and `1500` are equal) are compared digit position by digit position.
#[derive(Debug, Clone, Copy)]
pub struct Decimal<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

impl<'a> Decimal<'a> {
    /// Parses `text` as a whole; anything outside the grammar (whitespace, `inf`/`nan`,
    /// separators, a lone sign or dot, an exponent without digits or of more than 17
    /// significant digits) is `None`. Always inlined: it runs per value in the filter and
    /// aggregate loops, where a call would cost as much as the parse.
    #[inline(always)]
    pub fn parse(text: &'a [u8]) -> Option<Decimal<'a>> {
        let (negative, rest) = match text.first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let int_len = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_all, after) = rest.split_at(int_len);
        // Plain decimals, by far the commonest, take this path; anything after the digits
        // but a dot and more digits is an exponent or not a number (out of line).
        let frac_all = match after.split_first() {
            None => &after[..0],
            Some((b'.', frac)) if frac.iter().all(u8::is_ascii_digit) => frac,
            Some(_) => return Decimal::with_exponent(negative, int_all, after),
        };
        Decimal::normalized(negative, int_all, frac_all, 0)
    }

    /// Whether `text` is one of the commonest numbers, an optional `-` then digits with at
    /// most one dot and a digit somewhere (`116.51172`, `-3`, `.5`), found in one loop
    /// without taking the number apart: for code that only needs to know that a value is a
    /// number. `false` says nothing ([`Decimal::parse`] knows).
    #[inline(always)]
    pub fn is_plain(text: &[u8]) -> bool {
        let body = text.strip_prefix(b"-").unwrap_or(text);
        // Two tight loops (digits, then digits after the dot) rather than one that sorts
        // every byte three ways.
        match body.iter().position(|b| !b.is_ascii_digit()) {
            None => !body.is_empty(),
            Some(dot) => {
                body[dot] == b'.'
                    && body.len() > 1
                    && body[dot + 1..].iter().all(u8::is_ascii_digit)
            }
        }
    }

    /// The rest of [`Decimal::parse`] for text with something after the integer digits that
    /// is not just a fraction: `after` is that part (`.5e3`, `e-2`, or not a number).
    #[cold]
    fn with_exponent(negative: bool, int_all: &'a [u8], after: &'a [u8]) -> Option<Decimal<'a>> {
        let (frac_all, rest) = match after.split_first() {
            Some((b'.', frac)) => {
                let frac_len = frac
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(frac.len());
                frac.split_at(frac_len)
            }
            _ => (&after[..0], after),
        };
        let exp = parse_exponent(rest)?;
        Decimal::normalized(negative, int_all, frac_all, exp)
    }

    /// Leading integer zeros and trailing fraction zeros dropped; zero is positive with
    /// exponent 0. `None` when there is no digit at all.
    #[inline(always)]
    fn normalized(
        negative: bool,
        int_all: &'a [u8],
        frac_all: &'a [u8],
        exp: i64,
    ) -> Option<Decimal<'a>> {
        // The grammar needs at least one digit on either side of the dot.
        if int_all.is_empty() && frac_all.is_empty() {
            return None;
        }
        let lead = int_all
            .iter()
            .position(|&b| b != b'0')
            .unwrap_or(int_all.len());
        let int = &int_all[lead..];
        let keep = frac_all
            .iter()
            .rposition(|&b| b != b'0')
            .map_or(0, |p| p + 1);
        let frac = &frac_all[..keep];
        let zero = int.is_empty() && frac.is_empty();
        Some(Decimal {
            negative: negative && !zero,
            int,
            frac,
            exp: if zero { 0 } else { exp },
        })
    }

    /// Exact numeric comparison.
    // An inherent `cmp` (as the engine's API names it) that also accepts a `Decimal` of
    // another lifetime, which `Ord::cmp` cannot; `Ord` is implemented on top of it.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn cmp(&self, other: &Decimal<'_>) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_magnitude(self, other),
            (true, true) => cmp_magnitude(other, self),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac.is_empty()
    }

    /// Never true for zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The decimal exponent written after the digits (0 for a plain decimal and for zero).
    pub fn exponent(&self) -> i64 {
        self.exp
    }

    /// Integer digits of the mantissa without leading zeros (empty when it is zero): the
    /// number's integer digits when [`Decimal::exponent`] is 0.
    pub fn int_digits(&self) -> &'a [u8] {
        self.int
    }

    /// Fraction digits of the mantissa without trailing zeros: the number's fraction digits
    /// when [`Decimal::exponent`] is 0.
    pub fn frac_digits(&self) -> &'a [u8] {
        self.frac
    }

    /// The place of the most significant digit (0 for units, -1 for tenths): the number is
    /// in `[10^p, 10^(p+1))`. Meaningless for zero.
    pub fn top_place(&self) -> i64 {
        if self.int.is_empty() {
            let zeros = self.frac.iter().take_while(|&&b| b == b'0').count() as i64;
            self.exp - 1 - zeros
        } else {
            self.exp + self.int.len() as i64 - 1
        }
    }

    /// The place of the least significant non-zero digit. Meaningless for zero.
    pub fn bottom_place(&self) -> i64 {
        if self.frac.is_empty() {
            let zeros = self.int.iter().rev().take_while(|&&b| b == b'0').count() as i64;
            self.exp + zeros
        } else {
            self.exp - self.frac.len() as i64
        }
    }

    /// The digit (0..=9) at `place` (0 for units, 1 for tens, -1 for tenths).
    #[inline]
    pub fn digit(&self, place: i64) -> u8 {
        let at = place - self.exp;
        let byte = if at >= 0 {
            usize::try_from(at)
                .ok()
                .and_then(|at| self.int.len().checked_sub(at + 1))
                .map(|i| self.int[i])
        } else {
            usize::try_from(-at - 1)
                .ok()
                .and_then(|i| self.frac.get(i).copied())
        };
        byte.map_or(0, |b| b - b'0')
    }

    /// The number as plain integer digits (no leading zeros) and fraction digits (no
    /// trailing zeros), or `None` when that takes more than `limit` digits (`1e300`).
    pub fn plain_digits(&self, limit: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.exp == 0 {
            return (self.int.len() + self.frac.len() <= limit)
                .then(|| (self.int.to_vec(), self.frac.to_vec()));
        }
        if self.is_zero() {
            return Some((Vec::new(), Vec::new()));
        }
        let (top, bottom) = (self.top_place(), self.bottom_place());
        let int_places = top.max(-1) + 1;
        let frac_places = (-bottom).max(0);
        if int_places.saturating_add(frac_places) > limit as i64 {
            return None;
        }
        let int = (0..int_places)
            .rev()
            .map(|p| b'0' + self.digit(p))
            .collect();
        let frac = (1..=frac_places).map(|p| b'0' + self.digit(-p)).collect();
        Some((int, frac))
    }

    /// The nearest `f64`, for aggregation, where rounding is acceptable (comparison is not).
    pub fn to_f64(&self) -> f64 {
        // Going through text lets the standard library do the correctly rounded conversion
        // for any number of digits; this is not on the per-record filter path.
        self.to_string().parse::<f64>().unwrap_or(f64::NAN)
    }
}

/// `[eE] [+-]? DIGITS` as an `i64`, or `None` outside that grammar or beyond
/// [`MAX_EXPONENT_DIGITS`] significant digits.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (&e, rest) = text.split_first()?;
    if e | 0x20 != b'e' {
        return None;
    }
    let (negative, digits) = match rest.first()? {
        b'-' => (true, &rest[1..]),
        b'+' => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant = &digits[digits.iter().take_while(|&&b| b == b'0').count()..];
    if significant.len() > MAX_EXPONENT_DIGITS {
        return None;
    }
    let value = significant
        .iter()
        .fold(0i64, |v, &b| v * 10 + i64::from(b - b'0'));
    Some(if negative { -value } else { value })
}

#[inline]
fn cmp_magnitude(a: &Decimal<'_>, b: &Decimal<'_>) -> Ordering {
    if a.exp == 0 && b.exp == 0 {
        // With leading zeros gone, more integer digits means a bigger number; with equal
        // lengths, digit bytes order like the digits. Fractions have no trailing zeros, so
        // plain lexicographic order on them is numeric order ("25" < "3", "5" < "51").
        return a
            .int
            .len()
            .cmp(&b.int.len())
            .then_with(|| a.int.cmp(b.int))
            .then_with(|| a.frac.cmp(b.frac));
    }
    cmp_by_places(a, b)
}

/// Magnitudes with an exponent: by the place of the leading digit, then digit by digit down
/// to the last non-zero one of either.
#[cold]
fn cmp_by_places(a: &Decimal<'_>, b: &Decimal<'_>) -> Ordering {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let top = a.top_place();
    match top.cmp(&b.top_place()) {
        Ordering::Equal => {}
        other => return other,
    }
    // Both leading digits sit at `top`, and each number has at most its digit count of
    // places below it, so this loop is as long as the longer mantissa.
    let bottom = a.bottom_place().min(b.bottom_place());
    let mut place = top;
    while place >= bottom {
        match a.digit(place).cmp(&b.digit(place)) {
            Ordering::Equal => place -= 1,
            other => return other,
        }
    }
    Ordering::Equal
}

impl PartialEq for Decimal<'_> {
    fn eq(&self, other: &Self) -> bool {
        Decimal::cmp(self, other) == Ordering::Equal
    }
}

impl Eq for Decimal<'_> {}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(Ord::cmp(self, other))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        Decimal::cmp(self, other)
    }
}

/// Places a number with an exponent may span and still print in plain form.
const PLAIN_PLACES: usize = 40;

/// Canonical form: `-12.5`, `0.25`, `0`; the same plain form for a number written with an
/// exponent (`15e2` prints `1500`), unless that takes more than 40 digits: then `1.5e300`.
impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        // Digits are ASCII by construction, so byte-to-char is exact.
        let write = |f: &mut fmt::Formatter<'_>, digits: &[u8]| {
            digits
                .iter()
                .try_for_each(|&b| fmt::Write::write_char(f, char::from(b)))
        };
        let plain = if self.exp == 0 {
            Some((self.int.to_vec(), self.frac.to_vec()))
        } else {
            self.plain_digits(PLAIN_PLACES)
        };
        match plain {
            Some((int, frac)) => {
                if int.is_empty() {
                    f.write_str("0")?;
                }
                write(f, &int)?;
                if !frac.is_empty() {
                    f.write_str(".")?;
                    write(f, &frac)?;
                }
            }
            None => {
                let (top, bottom) = (self.top_place(), self.bottom_place());
                fmt::Write::write_char(f, char::from(b'0' + self.digit(top)))?;
                if bottom < top {
                    f.write_str(".")?;
                    for place in (bottom..top).rev() {
                        fmt::Write::write_char(f, char::from(b'0' + self.digit(place)))?;
                    }
                }
                write!(f, "e{top}")?;
            }
        }
        Ok(())
    }
}

/// A [`Decimal`] that owns its digits, for values that outlive the text they came from
/// (a compiled `--where` value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedDecimal {
    negative: bool,
    int: Vec<u8>,
    frac: Vec<u8>,
    exp: i64,
}

impl OwnedDecimal {
    pub fn parse(text: &[u8]) -> Option<Self> {
        let d = Decimal::parse(text)?;
        Some(OwnedDecimal {
            negative: d.negative,
            int: d.int.to_vec(),
            frac: d.frac.to_vec(),
            exp: d.exp,
        })
    }

    pub fn as_decimal(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
            exp: self.exp,
        }
    }
}

impl fmt::Display for OwnedDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_decimal().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal<'_> {
        Decimal::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn accepts_the_grammar() {
        for s in [
            "0",
            "-0",
            "+0",
            "0.",
            ".0",
            "+0.",
            "-.0",
            "1",
            "007",
            "1.5",
            "1.",
            ".5",
            "-3.25",
            "+12",
            "00.00",
            "1e5",
            "1E5",
            "1.5e3",
            "-2.5E-3",
            ".5e+1",
            "1.e2",
            "0e0",
            "1e00000000000000000000000005",
            "1e12345678901234567",
        ] {
            assert!(Decimal::parse(s.as_bytes()).is_some(), "{s:?} should parse");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for s in [
            "",
            "+",
            "-",
            ".",
            "+.",
            "-.",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1e5.0",
            "1e5e5",
            "1f5",
            "1e 5",
            "1e123456789012345678",
            " 1",
            "1 ",
            "1,000",
            "inf",
            "nan",
            "NaN",
            "1.2.3",
            "--1",
            "+-1",
            "0x10",
            "1_000",
            "١",
            "12a",
            "a12",
            "1..",
            "..1",
            "2015-02-01",
            "1-",
            ".5.",
            "\u{0}1",
        ] {
            assert!(
                Decimal::parse(s.as_bytes()).is_none(),
                "{s:?} should not parse"
            );
        }
    }

    #[test]
    fn normalizes_parts() {
        let x = d("-007.2500");
        assert_eq!(x.int_digits(), b"7");
        assert_eq!(x.frac_digits(), b"25");
        assert!(x.is_negative());
        assert!(!x.is_zero());
        let z = d("-000.000");
        assert!(z.is_zero());
        assert!(!z.is_negative(), "zero is never negative");
        assert_eq!(z.int_digits(), b"");
        assert_eq!(z.frac_digits(), b"");
        assert_eq!(x.to_string(), "-7.25");
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(z.to_string(), "0");
    }

    #[test]
    fn zeros_are_all_equal() {
        let zeros = ["-0", "0", "0.0", ".0", "+0.", "000", "-.000"];
        for a in zeros {
            for b in zeros {
                assert_eq!(d(a).cmp(&d(b)), Ordering::Equal, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn compares_exactly() {
        let cases = [
            ("99", "100", Ordering::Less),
            ("100", "99", Ordering::Greater),
            ("11865", "11865.0", Ordering::Equal),
            ("011865", "11865", Ordering::Equal),
            ("11865.5", "11865", Ordering::Greater),
            ("-1", "0", Ordering::Less),
            ("-1", "-2", Ordering::Greater),
            ("-1.5", "-1.25", Ordering::Less),
            ("0.25", "0.3", Ordering::Less),
            ("0.5", "0.51", Ordering::Less),
            ("-0.001", "0", Ordering::Less),
            // Beyond f64 precision: these differ only in the last digit.
            (
                "12345678901234567890123456789.000000000000000001",
                "12345678901234567890123456789.000000000000000002",
                Ordering::Less,
            ),
            ("9007199254740993", "9007199254740992", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(d(a).cmp(&d(b)), want, "{a} vs {b}");
            assert_eq!(d(b).cmp(&d(a)), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn exponents_compare_exactly() {
        let cases = [
            ("1.5e3", "1500", Ordering::Equal),
            ("15e2", "1500.000", Ordering::Equal),
            ("1500e-3", "1.5", Ordering::Equal),
            ("0.015e2", "1.5", Ordering::Equal),
            ("1e0", "1", Ordering::Equal),
            ("0e5", "0", Ordering::Equal),
            ("-0e-5", "0", Ordering::Equal),
            ("1e3", "999.999", Ordering::Greater),
            ("-1e3", "-999.999", Ordering::Less),
            ("1e-3", "0.001", Ordering::Equal),
            ("1e-3", "0.0011", Ordering::Less),
            ("9.99e2", "1e3", Ordering::Less),
            ("1e17", "100000000000000000", Ordering::Equal),
            ("1e300", "1e299", Ordering::Greater),
            ("1e-300", "0", Ordering::Greater),
            ("-1e-300", "0", Ordering::Less),
            ("123.456e1", "1234.56", Ordering::Equal),
            ("123.456e1", "1234.561", Ordering::Less),
            // Beyond f64: these differ in the 21st significant digit.
            (
                "1.00000000000000000001e20",
                "100000000000000000000",
                Ordering::Greater,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(d(a).cmp(&d(b)), want, "{a} vs {b}");
            assert_eq!(d(b).cmp(&d(a)), want.reverse(), "{b} vs {a}");
        }
        assert_eq!(d("1.5e3").to_string(), "1500");
        assert_eq!(d("-2.5E-3").to_string(), "-0.0025");
        assert_eq!(d("1.25e300").to_string(), "1.25e300");
        assert_eq!(d("-1e-300").to_string(), "-1e-300");
        assert_eq!(d("1.5e3").to_f64(), 1500.0);
        assert_eq!(d("1.25e300").to_f64(), 1.25e300);
    }

    #[test]
    fn plain_digits_and_places() {
        let x = d("1.5e3");
        assert_eq!((x.top_place(), x.bottom_place()), (3, 2));
        assert_eq!(x.plain_digits(10), Some((b"1500".to_vec(), Vec::new())));
        assert_eq!(
            d("-12.5e-3").plain_digits(10),
            Some((Vec::new(), b"0125".to_vec()))
        );
        assert_eq!(d("1e300").plain_digits(64), None);
        assert_eq!(
            d("7.25").plain_digits(3),
            Some((b"7".to_vec(), b"25".to_vec()))
        );
        assert_eq!(d("7.25").plain_digits(2), None);
        assert_eq!(d("0.007").top_place(), -3);
        assert_eq!(d("1200").bottom_place(), 2);
        assert_eq!(d("12.5e1").digit(2), 1);
        assert_eq!(d("12.5e1").digit(0), 5);
        assert_eq!(d("12.5e1").digit(-1), 0);
    }

    #[test]
    fn owned_matches_borrowed() {
        let o = OwnedDecimal::parse(b"-0012.3400").unwrap();
        assert_eq!(o.as_decimal().cmp(&d("-12.34")), Ordering::Equal);
        assert_eq!(o.to_string(), "-12.34");
        assert!(OwnedDecimal::parse(b"12 ").is_none());
    }

    #[test]
    fn to_f64_is_close() {
        assert_eq!(d("-12.5").to_f64(), -12.5);
        assert_eq!(d(".25").to_f64(), 0.25);
        assert_eq!(d("-0").to_f64(), 0.0);
        assert_eq!(d("116.51172").to_f64(), 116.51172);
    }

    /// Renders `value / 10^scale` with the requested cosmetic variations, all of which must
    /// leave the numeric value unchanged.
    fn render(
        value: i64,
        scale: u32,
        lead: usize,
        trail: usize,
        plus: bool,
        bare_dot: bool,
        drop_int_zero: bool,
    ) -> String {
        let mut digits = value.unsigned_abs().to_string();
        let scale = scale as usize;
        while digits.len() < scale + 1 {
            digits.insert(0, '0');
        }
        let (int, frac) = digits.split_at(digits.len() - scale);
        let mut int = format!("{}{}", "0".repeat(lead), int);
        let frac = format!("{}{}", frac, "0".repeat(trail));
        if drop_int_zero && int.bytes().all(|b| b == b'0') && !frac.is_empty() {
            int.clear();
        }
        let mut out = String::new();
        if value < 0 {
            out.push('-');
        } else if plus {
            out.push('+');
        }
        out.push_str(&int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        } else if bare_dot {
            out.push('.');
        }
        out
    }

    fn rendered() -> impl Strategy<Value = (i64, u32, String)> {
        (
            any::<i64>().prop_filter("keep i128 scaling simple", |v| *v != i64::MIN),
            0u32..8,
            0usize..4,
            0usize..4,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(v, s, l, t, p, b, z)| (v, s, render(v, s, l, t, p, b, z)))
    }

    proptest! {
        #[test]
        fn cmp_matches_scaled_integers((a, sa, ta) in rendered(), (b, sb, tb) in rendered()) {
            let da = Decimal::parse(ta.as_bytes());
            let db = Decimal::parse(tb.as_bytes());
            prop_assert!(da.is_some(), "{} did not parse", ta);
            prop_assert!(db.is_some(), "{} did not parse", tb);
            let (da, db) = (da.unwrap(), db.unwrap());
            // a/10^sa vs b/10^sb  <=>  a*10^sb vs b*10^sa, exact in i128.
            let want = (i128::from(a) * 10i128.pow(sb)).cmp(&(i128::from(b) * 10i128.pow(sa)));
            prop_assert_eq!(da.cmp(&db), want, "{} vs {}", ta, tb);
            prop_assert_eq!(da == db, want == Ordering::Equal);
        }

        #[test]
        fn small_values_compare_like_integers(a in -50i64..50, b in -50i64..50, s in 0u32..3,
                                              la in 0usize..3, lb in 0usize..3) {
            let ta = render(a, s, la, 0, false, false, true);
            let tb = render(b, s, lb, 1, true, true, false);
            prop_assert_eq!(d(&ta).cmp(&d(&tb)), a.cmp(&b), "{} vs {}", ta, tb);
        }

        #[test]
        fn canonical_text_round_trips((_, _, t) in rendered()) {
            let x = d(&t);
            let canon = x.to_string();
            prop_assert_eq!(d(&canon).cmp(&x), Ordering::Equal);
            prop_assert_eq!(d(&canon).to_string(), canon);
        }

        #[test]
        fn exponent_forms_compare_like_scaled_integers(
            (a, sa, ta) in rendered(), ea in -5i32..5, upper_a in any::<bool>(),
            (b, sb, tb) in rendered(), eb in -5i32..5,
        ) {
            // a/10^sa * 10^ea vs b/10^sb * 10^eb, compared exactly in i128 at a common scale.
            let ta = format!("{ta}{}{ea}", if upper_a { 'E' } else { 'e' });
            let tb = if eb == 0 { tb } else { format!("{tb}e{eb:+}") };
            let (pa, pb) = (ea - sa as i32, eb - sb as i32);
            let low = pa.min(pb);
            let want = (i128::from(a) * 10i128.pow((pa - low) as u32))
                .cmp(&(i128::from(b) * 10i128.pow((pb - low) as u32)));
            prop_assert_eq!(d(&ta).cmp(&d(&tb)), want, "{} vs {}", ta, tb);
            // The canonical text is the same number.
            prop_assert_eq!(d(&d(&ta).to_string()).cmp(&d(&ta)), Ordering::Equal);
        }

        #[test]
        fn plain_numbers_are_numbers(bytes in proptest::collection::vec(
            prop_oneof![Just(b'0'), Just(b'7'), Just(b'.'), Just(b'-'), Just(b'+'), Just(b'e'), any::<u8>()],
            0..8,
        )) {
            let plain = regex::bytes::Regex::new(r"\A-?([0-9]+(\.[0-9]*)?|\.[0-9]+)\z").unwrap();
            prop_assert_eq!(Decimal::is_plain(&bytes), plain.is_match(&bytes));
            if Decimal::is_plain(&bytes) {
                prop_assert!(Decimal::parse(&bytes).is_some());
            }
        }

        #[test]
        fn parse_agrees_with_grammar(bytes in proptest::collection::vec(
            prop_oneof![Just(b'0'), Just(b'7'), Just(b'.'), Just(b'-'), Just(b'+'), Just(b'e'), any::<u8>()],
            0..8,
        )) {
            let grammar = regex::bytes::Regex::new(r"\A[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\z").unwrap();
            prop_assert_eq!(Decimal::parse(&bytes).is_some(), grammar.is_match(&bytes));
        }
    }
}
