//! Exact decimal numbers read straight from field text.
//!
//! fleet compares a field with a `--where` value numerically when both are plain decimals
//! (`[+-]? (DIGITS ('.' DIGITS?)? | '.' DIGITS)`), and as bytes otherwise; [`crate::query::predicate`]
//! makes that choice and this module does the numeric half. Numbers are never converted to
//! `f64` for comparison: ids, timestamps-as-integers and long fixed-point values must compare
//! exactly at any length, so a [`Decimal`] is just a view of the digits in the field itself.
//! Parsing runs once per record on the hot path, so it borrows and never allocates.

use std::cmp::Ordering;
use std::fmt;

/// A plain decimal number borrowed from the text it was parsed from.
///
/// Kept normalized so that equal numbers have equal parts: integer digits without leading
/// zeros, fraction digits without trailing zeros, and zero is never negative. That makes
/// `-0`, `0`, `0.0`, `.0` and `+0.` the same value, and lets [`Decimal::cmp`] work on the
/// digit strings directly.
#[derive(Debug, Clone, Copy)]
pub struct Decimal<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
}

impl<'a> Decimal<'a> {
    /// Parses `text` as a whole; anything outside the grammar (exponents, whitespace,
    /// `inf`/`nan`, separators, a lone sign or dot) is `None`.
    #[inline]
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
        let frac_all = match after.split_first() {
            None => &after[..0],
            Some((b'.', frac)) => {
                if !frac.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                frac
            }
            Some(_) => return None,
        };
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
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Decimal {
            negative,
            int,
            frac,
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

    /// Integer digits without leading zeros (empty when the integer part is zero).
    pub fn int_digits(&self) -> &'a [u8] {
        self.int
    }

    /// Fraction digits without trailing zeros (empty when there is no fraction).
    pub fn frac_digits(&self) -> &'a [u8] {
        self.frac
    }

    /// Never true for zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The nearest `f64`, for aggregation, where rounding is acceptable (comparison is not).
    pub fn to_f64(&self) -> f64 {
        // Going through text lets the standard library do the correctly rounded conversion
        // for any number of digits; this is not on the per-record filter path.
        self.to_string().parse::<f64>().unwrap_or(f64::NAN)
    }
}

#[inline]
fn cmp_magnitude(a: &Decimal<'_>, b: &Decimal<'_>) -> Ordering {
    // With leading zeros gone, more integer digits means a bigger number; with equal
    // lengths, digit bytes order like the digits. Fractions have no trailing zeros, so
    // plain lexicographic order on them is numeric order ("25" < "3", "5" < "51").
    a.int
        .len()
        .cmp(&b.int.len())
        .then_with(|| a.int.cmp(b.int))
        .then_with(|| a.frac.cmp(b.frac))
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

/// Canonical form: `-12.5`, `0.25`, `0`.
impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        // Digits are ASCII by construction, so byte-to-char is exact.
        if self.int.is_empty() {
            f.write_str("0")?;
        }
        for &b in self.int {
            fmt::Write::write_char(f, char::from(b))?;
        }
        if !self.frac.is_empty() {
            f.write_str(".")?;
            for &b in self.frac {
                fmt::Write::write_char(f, char::from(b))?;
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
}

impl OwnedDecimal {
    pub fn parse(text: &[u8]) -> Option<Self> {
        let d = Decimal::parse(text)?;
        Some(OwnedDecimal {
            negative: d.negative,
            int: d.int.to_vec(),
            frac: d.frac.to_vec(),
        })
    }

    pub fn as_decimal(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
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
            "0", "-0", "+0", "0.", ".0", "+0.", "-.0", "1", "007", "1.5", "1.", ".5", "-3.25",
            "+12", "00.00",
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
            "1e5",
            "1E5",
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
        fn parse_agrees_with_grammar(bytes in proptest::collection::vec(
            prop_oneof![Just(b'0'), Just(b'7'), Just(b'.'), Just(b'-'), Just(b'+'), Just(b'e'), any::<u8>()],
            0..8,
        )) {
            let grammar = regex::bytes::Regex::new(r"\A[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\z").unwrap();
            prop_assert_eq!(Decimal::parse(&bytes).is_some(), grammar.is_match(&bytes));
        }
    }
}
