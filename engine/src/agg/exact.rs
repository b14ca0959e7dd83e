//! Exact arithmetic for sum, mean and stddev, so their output does not depend on how the
//! records were chunked or in which order the chunk tables were merged.
//!
//! Why this is order independent: every value is turned, on its own, into an integer count of
//! 10^-9 units ([`scaled`]; values with more than 9 fraction digits are rounded half-to-even
//! at the 9th, which depends on the value alone). From then on only integer additions happen
//! (the sum of values and, for stddev, the sum of squares), and integer addition is
//! associative and commutative, so any chunking and merge order gives the same integers.
//! Rounding happens once, at the end, from those integers ([`mean_text`], [`stddev_text`]).
//!
//! Why it cannot overflow: values are limited to at most 19 integer digits (|x| < 10^19,
//! larger ones are reported as malformed), so a scaled value is below 10^28 < 2^94 and its
//! square below 2^187. With at most 2^64 values, the sum stays below 2^158 and the sum of
//! squares below 2^251: both fit the 256-bit accumulators ([`Sum256`], [`U256`]). The final
//! computations (n·Q − S² and its square root) use [`Big`], an unbounded unsigned integer
//! used only once per group at output time.

use std::cmp::Ordering;

use crate::query::number::Decimal;

/// Fraction digits kept per value: the accumulators count 10^-9 units.
pub(crate) const SCALE_DIGITS: usize = 9;
/// Integer digits a value may have and still be aggregated exactly without overflow.
pub(crate) const MAX_INT_DIGITS: usize = 19;
/// Fraction digits printed for mean and stddev.
pub(crate) const OUT_DIGITS: usize = 6;

pub(crate) const POW10: [u64; SCALE_DIGITS + 1] = {
    let mut t = [1u64; SCALE_DIGITS + 1];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `text` as a count of 10^-9 units, or `None` when it is not a plain decimal or has more
/// than [`MAX_INT_DIGITS`] integer digits. Extra fraction digits round half-to-even.
#[inline(always)]
pub(crate) fn scaled(text: &[u8]) -> Option<i128> {
    scaled_in(text, text)
}

/// [`scaled`] of a field inside `line` (the record's line). The commonest field by far, a
/// short unsigned integer (speeds, counts, ids), is read eight bytes at a time
/// ([`crate::simd::digits`]) without the general grammar.
#[inline(always)]
pub(crate) fn scaled_in(line: &[u8], text: &[u8]) -> Option<i128> {
    match crate::simd::digits::short_digits(line, text) {
        Some(v) => Some(i128::from(v * POW10[SCALE_DIGITS])),
        None => scaled_decimal(text),
    }
}

/// [`scaled`] for any number.
#[inline(never)]
fn scaled_decimal(text: &[u8]) -> Option<i128> {
    let d = Decimal::parse(text)?;
    let int = d.int_digits();
    let frac = d.frac_digits();
    if d.exponent() == 0 && int.len() + SCALE_DIGITS <= 18 && frac.len() <= SCALE_DIGITS {
        // Common case: the scaled value fits a u64, whose arithmetic is cheaper than i128's.
        let mut v: u64 = 0;
        for &b in int.iter().chain(frac) {
            v = v * 10 + u64::from(b - b'0');
        }
        let v = i128::from(v * POW10[SCALE_DIGITS - frac.len()]);
        return Some(if d.is_negative() { -v } else { v });
    }
    scaled_wide(&d)
}

/// [`scaled`] for any length or exponent, in i128 throughout, digit place by digit place.
fn scaled_wide(d: &Decimal<'_>) -> Option<i128> {
    if d.is_zero() {
        return Some(0);
    }
    let top = d.top_place();
    if top >= MAX_INT_DIGITS as i64 {
        return None;
    }
    let last = -(SCALE_DIGITS as i64);
    let mut v: i128 = 0;
    for place in (last..=top.max(0)).rev() {
        v = v * 10 + i128::from(d.digit(place));
    }
    // Round half-to-even at the last kept place: `next` is the first dropped digit, and any
    // non-zero digit below it makes the dropped part strictly more than `next` alone.
    let next = d.digit(last - 1);
    let more = d.bottom_place() < last - 1;
    if next > 5 || (next == 5 && (more || v % 2 == 1)) {
        v += 1;
    }
    Some(if d.is_negative() { -v } else { v })
}

/// A signed 256-bit two's-complement sum: `hi * 2^128 + lo`. Wrapping operations are used
/// only so that a corrupted decoded table cannot panic; real sums stay far from the limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sum256 {
    pub(crate) lo: u128,
    pub(crate) hi: i128,
}

impl Sum256 {
    #[inline]
    pub(crate) fn add(&mut self, v: i128) {
        // Sign extension of v into the high half is -1 or 0.
        let (lo, carry) = self.lo.overflowing_add(v as u128);
        self.lo = lo;
        self.hi = self
            .hi
            .wrapping_add(if v < 0 { -1 } else { 0 })
            .wrapping_add(i128::from(carry));
    }

    pub(crate) fn merge(&mut self, other: Sum256) {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        self.lo = lo;
        self.hi = self
            .hi
            .wrapping_add(other.hi)
            .wrapping_add(i128::from(carry));
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.hi < 0
    }

    pub(crate) fn magnitude(&self) -> Big {
        if self.is_negative() {
            let lo = (!self.lo).wrapping_add(1);
            let hi = (!(self.hi as u128)).wrapping_add(u128::from(self.lo == 0));
            Big::from_parts(hi, lo)
        } else {
            Big::from_parts(self.hi as u128, self.lo)
        }
    }
}

/// An unsigned 256-bit sum of squares: `hi * 2^128 + lo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct U256 {
    pub(crate) lo: u128,
    pub(crate) hi: u128,
}

impl U256 {
    #[inline]
    pub(crate) fn add_square(&mut self, v: i128) {
        let m = v.unsigned_abs();
        let (hi, lo) = mul_wide(m, m);
        self.merge(U256 { lo, hi });
    }

    #[inline]
    pub(crate) fn merge(&mut self, other: U256) {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        self.lo = lo;
        self.hi = self
            .hi
            .wrapping_add(other.hi)
            .wrapping_add(u128::from(carry));
    }

    pub(crate) fn to_big(self) -> Big {
        Big::from_parts(self.hi, self.lo)
    }
}

/// The full 256-bit product `a * b` as (high, low) halves.
#[inline]
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a0, a1) = (a & MASK, a >> 64);
    let (b0, b1) = (b & MASK, b >> 64);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// An unbounded unsigned integer: little-endian 64-bit limbs without high zero limbs. Only
/// what the final formatting needs, and only used once per group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Big(Vec<u64>);

impl Big {
    pub(crate) fn from_u128(v: u128) -> Big {
        Big::from_parts(0, v)
    }

    fn from_parts(hi: u128, lo: u128) -> Big {
        let mut b = Big(vec![
            lo as u64,
            (lo >> 64) as u64,
            hi as u64,
            (hi >> 64) as u64,
        ]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() * 64 - top.leading_zeros() as usize,
        }
    }

    /// `u128` when it fits.
    #[cfg(test)]
    pub(crate) fn to_u128(&self) -> Option<u128> {
        match self.0.as_slice() {
            [] => Some(0),
            [a] => Some(u128::from(*a)),
            [a, b] => Some(u128::from(*a) | (u128::from(*b) << 64)),
            _ => None,
        }
    }

    pub(crate) fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u64; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u128::from(a) * u128::from(b) + u128::from(out[i + j]) + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            out[i + other.0.len()] = carry as u64;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    pub(crate) fn mul_small(&self, m: u64) -> Big {
        self.mul(&Big::from_u128(u128::from(m)))
    }

    pub(crate) fn add(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.0.len() + 1);
        let mut carry = 0u128;
        for (i, &a) in long.0.iter().enumerate() {
            let t = u128::from(a) + u128::from(short.0.get(i).copied().unwrap_or(0)) + carry;
            out.push(t as u64);
            carry = t >> 64;
        }
        out.push(carry as u64);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`, or `None` when that would be negative.
    pub(crate) fn sub(&self, other: &Big) -> Option<Big> {
        if self.cmp(other) == Ordering::Less {
            return None;
        }
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = false;
        for (i, &a) in self.0.iter().enumerate() {
            let b = other.0.get(i).copied().unwrap_or(0);
            let (t, b1) = a.overflowing_sub(b);
            let (t, b2) = t.overflowing_sub(u64::from(borrow));
            out.push(t);
            borrow = b1 || b2;
        }
        let mut b = Big(out);
        b.trim();
        Some(b)
    }

    /// Floor division by a non-zero `d`, and the remainder.
    pub(crate) fn divmod_small(&self, d: u64) -> (Big, u64) {
        let mut out = vec![0u64; self.0.len()];
        let mut rem = 0u128;
        for i in (0..self.0.len()).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        let mut b = Big(out);
        b.trim();
        (b, rem as u64)
    }

    fn shr(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 64, n % 64);
        if limbs >= self.0.len() {
            return Big::default();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let low = src[i] >> bits;
            let high = if bits == 0 {
                0
            } else {
                src.get(i + 1).map_or(0, |&h| h << (64 - bits))
            };
            out.push(low | high);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn pow2(n: usize) -> Big {
        let mut out = vec![0u64; n / 64 + 1];
        out[n / 64] = 1u64 << (n % 64);
        Big(out)
    }

    /// floor(sqrt(self)), digit by digit in base 4: only shifts, adds and compares, which is
    /// all `Big` needs to offer.
    pub(crate) fn isqrt(&self) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let mut n = self.clone();
        let mut res = Big::default();
        let mut bit = Big::pow2((self.bits() - 1) & !1);
        while !bit.is_zero() {
            let trial = res.add(&bit);
            match n.sub(&trial) {
                Some(rest) => {
                    n = rest;
                    res = res.shr(1).add(&bit);
                }
                None => res = res.shr(1),
            }
            bit = bit.shr(2);
        }
        res
    }

    /// Decimal digits, "0" for zero.
    pub(crate) fn to_decimal(&self) -> String {
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19, the largest power in a u64
        if self.is_zero() {
            return "0".to_string();
        }
        let mut parts = Vec::new();
        let mut cur = self.clone();
        while !cur.is_zero() {
            let (q, r) = cur.divmod_small(CHUNK);
            parts.push(r);
            cur = q;
        }
        let mut out = String::new();
        for (i, p) in parts.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&p.to_string());
            } else {
                out.push_str(&format!("{p:019}"));
            }
        }
        out
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

/// `digits / 10^scale` as text: `-` only for non-zero values, at least one integer digit;
/// with `trim` trailing fraction zeros (and a bare point) are dropped.
fn fixed_text(negative: bool, magnitude: &Big, scale: usize, trim: bool) -> String {
    let digits = magnitude.to_decimal();
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let frac = if trim {
        frac.trim_end_matches('0')
    } else {
        frac
    };
    let mut out = String::with_capacity(padded.len() + 2);
    if negative && !magnitude.is_zero() {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// The exact sum, without trailing fraction zeros or exponent: `12.5`, `-3`, `0`.
pub(crate) fn sum_text(sum: &Sum256) -> String {
    fixed_text(sum.is_negative(), &sum.magnitude(), SCALE_DIGITS, true)
}

/// Rounds to an integer given its floor and how the dropped part compares with one half
/// (`Greater`: more than a half); ties go to the even neighbour.
fn round_half_even(floor: Big, rest_vs_half: Ordering) -> Big {
    let up = match rest_vs_half {
        Ordering::Greater => true,
        Ordering::Equal => floor.0.first().is_some_and(|l| l & 1 == 1),
        Ordering::Less => false,
    };
    if up {
        floor.add(&Big::from_u128(1))
    } else {
        floor
    }
}

/// The mean of `n > 0` values summing to `sum` (10^-9 units), with [`OUT_DIGITS`] fraction
/// digits, rounded half-to-even from the exact quotient.
pub(crate) fn mean_text(sum: &Sum256, n: u64) -> String {
    let mag = sum.magnitude();
    // |S| / 10^3 / n floors to |S| / (1000 n); the remainders rebuild the exact remainder.
    let shift = 10u64.pow((SCALE_DIGITS - OUT_DIGITS) as u32);
    let (q1, r1) = mag.divmod_small(shift);
    let (q, r2) = q1.divmod_small(n);
    let rem = u128::from(r2) * u128::from(shift) + u128::from(r1);
    let den = u128::from(n) * u128::from(shift);
    let rounded = round_half_even(q, (2 * rem).cmp(&den));
    fixed_text(sum.is_negative(), &rounded, OUT_DIGITS, false)
}

/// The sample standard deviation of `n >= 2` values with sum `sum` (10^-9 units) and sum of
/// squares `squares` (10^-18 units), with [`OUT_DIGITS`] fraction digits, correctly rounded
/// (ties to even) from the exact value.
pub(crate) fn stddev_text(sum: &Sum256, squares: &U256, n: u64) -> String {
    // variance = (n Q - S^2) / (n (n-1)) in 10^-18 units, so the stddev in 10^-6 units is
    // sqrt(D / M) with D = n Q - S^2 and M = n (n-1) 10^6.
    let s = sum.magnitude();
    let d = squares
        .to_big()
        .mul_small(n)
        .sub(&s.mul(&s))
        // n Q >= S^2 always holds for genuine data (Cauchy-Schwarz, exactly in integers).
        .unwrap_or_default();
    let shift = 10u64.pow((2 * SCALE_DIGITS - 2 * OUT_DIGITS) as u32);
    // Nested floor divisions equal the floor of the division by their product.
    let (y, _) = d.divmod_small(n);
    let (y, _) = y.divmod_small(n - 1);
    let (y, _) = y.divmod_small(shift);
    // floor(sqrt(floor(D/M))) = floor(sqrt(D/M)); round up when sqrt(D/M) >= k + 1/2, that is
    // when 4 D >= (2k+1)^2 M.
    let k = y.isqrt();
    let m = Big::from_u128(u128::from(n) * u128::from(n - 1)).mul_small(shift);
    let odd = k.mul_small(2).add(&Big::from_u128(1));
    let rhs = odd.mul(&odd).mul(&m);
    let lhs = d.mul_small(4);
    let rounded = round_half_even(k, lhs.cmp(&rhs));
    fixed_text(false, &rounded, OUT_DIGITS, false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn sum_of(values: &[&str]) -> (Sum256, U256, u64) {
        let mut s = Sum256::default();
        let mut q = U256::default();
        for v in values {
            let x = scaled(v.as_bytes()).unwrap();
            s.add(x);
            q.add_square(x);
        }
        (s, q, values.len() as u64)
    }

    #[test]
    fn scales_and_rounds_half_even() {
        assert_eq!(scaled(b"1"), Some(1_000_000_000));
        assert_eq!(scaled(b"-2.5"), Some(-2_500_000_000));
        assert_eq!(scaled(b".000000001"), Some(1));
        assert_eq!(scaled(b"0.0000000005"), Some(0), "tie to even 0");
        assert_eq!(scaled(b"0.0000000015"), Some(2), "tie to even 2");
        assert_eq!(scaled(b"0.00000000150001"), Some(2));
        assert_eq!(
            scaled(b"0.00000000250001"),
            Some(3),
            "above the tie rounds up"
        );
        assert_eq!(
            scaled(b"-0.0000000015"),
            Some(-2),
            "symmetric for negatives"
        );
        assert_eq!(scaled(b"0.0000000014999"), Some(1));
        assert_eq!(
            scaled(b"9999999999999999999.9999999999"),
            Some(10i128.pow(28))
        );
        assert_eq!(scaled(b"10000000000000000000"), None, "20 integer digits");
        assert_eq!(
            scaled(b"000000000000000000001"),
            Some(1_000_000_000),
            "leading zeros are free"
        );
        assert_eq!(scaled(b"abc"), None);
        assert_eq!(scaled(b""), None);
        assert_eq!(scaled(b"1e5"), Some(100_000 * 1_000_000_000));
        assert_eq!(scaled(b"-2.5E-3"), Some(-2_500_000));
        assert_eq!(scaled(b"1.5e-9"), Some(2), "half to even");
        assert_eq!(scaled(b"2.5e-9"), Some(2), "half to even");
        assert_eq!(scaled(b"1e-300"), Some(0));
        assert_eq!(scaled(b"1e18"), Some(10i128.pow(27)));
        assert_eq!(scaled(b"1e19"), None, "20 integer digits");
    }

    #[test]
    fn sums_cross_the_128_bit_boundary_exactly() {
        let mut s = Sum256::default();
        let big = 10i128.pow(28) - 1;
        for _ in 0..1_000_000 {
            s.add(big);
        }
        // 10^6 * (10^28 - 1) units, beyond i128.
        assert_eq!(sum_text(&s), "9999999999999999999999999.999");
        for _ in 0..2_000_000 {
            s.add(-big);
        }
        assert_eq!(sum_text(&s), "-9999999999999999999999999.999");
        assert!(s.is_negative());
        let mut t = Sum256::default();
        t.add(-5);
        t.add(5);
        assert_eq!(t, Sum256::default());
        assert_eq!(sum_text(&t), "0");
    }

    #[test]
    fn sum_text_trims() {
        let (s, _, _) = sum_of(&["1.50", "2.25", "-0.75"]);
        assert_eq!(sum_text(&s), "3");
        let (s, _, _) = sum_of(&["0.1", "0.2"]);
        assert_eq!(sum_text(&s), "0.3");
        let (s, _, _) = sum_of(&["-0.000000001"]);
        assert_eq!(sum_text(&s), "-0.000000001");
    }

    #[test]
    fn means() {
        let (s, _, n) = sum_of(&["1", "2"]);
        assert_eq!(mean_text(&s, n), "1.500000");
        let (s, _, n) = sum_of(&["1", "1", "2"]);
        assert_eq!(mean_text(&s, n), "1.333333");
        let (s, _, n) = sum_of(&["2", "2", "1"]);
        assert_eq!(mean_text(&s, n), "1.666667");
        let (s, _, n) = sum_of(&["-2", "-2", "-1"]);
        assert_eq!(mean_text(&s, n), "-1.666667");
        // Exact ties at the 7th digit go to even.
        let (s, _, n) = sum_of(&["0.0000005"]);
        assert_eq!(mean_text(&s, n), "0.000000");
        let (s, _, n) = sum_of(&["0.0000015"]);
        assert_eq!(mean_text(&s, n), "0.000002");
        let (s, _, n) = sum_of(&["-0.0000001"]);
        assert_eq!(mean_text(&s, n), "0.000000", "no negative zero");
    }

    #[test]
    fn stddevs() {
        let (s, q, n) = sum_of(&["2", "4", "4", "4", "5", "5", "7", "9"]);
        // Sample variance 32/7.
        assert_eq!(stddev_text(&s, &q, n), "2.138090");
        let (s, q, n) = sum_of(&["1", "1"]);
        assert_eq!(stddev_text(&s, &q, n), "0.000000");
        let (s, q, n) = sum_of(&["0", "1"]);
        assert_eq!(stddev_text(&s, &q, n), "0.707107");
        let (s, q, n) = sum_of(&["-1000000", "1000000", "0.5"]);
        // 1000000.0000000416...: the tiny excess must not disappear into rounding errors.
        assert_eq!(stddev_text(&s, &q, n), "1000000.000000");
        let (s, q, n) = sum_of(&["0", "0.000001", "0.000002", "0.0000035"]);
        // 0.00000149303...
        assert_eq!(stddev_text(&s, &q, n), "0.000001");
        let (s, q, n) = sum_of(&["1", "2", "4.5", "2"]);
        assert_eq!(stddev_text(&s, &q, n), "1.493039");
        // Rounding up: sqrt(0.5) = 0.70710678 -> 0.707107 (checked above); a value just
        // below a half unit stays down.
        let (s, q, n) = sum_of(&["0", "0.0000009999"]);
        // sqrt(0.0000009999^2 / 2) = 0.000000707036... -> 0.000001
        assert_eq!(stddev_text(&s, &q, n), "0.000001");
        let (s, q, n) = sum_of(&["0", "0.0000007"]);
        // 0.000000494974... -> 0.000000
        assert_eq!(stddev_text(&s, &q, n), "0.000000");
    }

    #[test]
    fn big_basics() {
        let a = Big::from_u128(u128::MAX);
        let sq = a.mul(&a);
        assert_eq!(sq.isqrt(), a);
        assert_eq!(
            sq.sub(&Big::from_u128(1)).unwrap().isqrt(),
            Big::from_u128(u128::MAX - 1)
        );
        assert_eq!(a.to_decimal(), u128::MAX.to_string());
        assert_eq!(Big::from_u128(0).to_decimal(), "0");
        assert!(Big::from_u128(1).sub(&Big::from_u128(2)).is_none());
        assert_eq!(Big::from_u128(99).isqrt(), Big::from_u128(9));
        assert_eq!(Big::from_u128(100).isqrt(), Big::from_u128(10));
        let (q, r) = sq.divmod_small(7);
        assert_eq!(q.mul_small(7).add(&Big::from_u128(u128::from(r))), sq);
    }

    proptest! {
        #[test]
        fn fast_scaling_matches_wide(text in "[+-]?[0-9]{0,12}(\\.[0-9]{0,12})?") {
            if let Some(d) = Decimal::parse(text.as_bytes()) {
                prop_assert_eq!(scaled(text.as_bytes()), scaled_wide(&d), "{}", text);
            }
        }

        /// An exponent only moves the point: `m e k` scales like the plain text of the same
        /// number.
        #[test]
        fn exponents_scale_like_their_plain_text(
            text in "[+-]?[0-9]{0,12}(\\.[0-9]{0,12})?", k in -12i64..12,
        ) {
            if Decimal::parse(text.as_bytes()).is_some() {
                let exp = format!("{text}e{k}");
                let plain = Decimal::parse(exp.as_bytes()).unwrap().to_string();
                prop_assert_eq!(scaled(exp.as_bytes()), scaled(plain.as_bytes()), "{} = {}", exp, plain);
            }
        }

        #[test]
        fn wide_sum_matches_i128(values in proptest::collection::vec(-10i128.pow(30)..10i128.pow(30), 0..50)) {
            let mut s = Sum256::default();
            let mut halves = (Sum256::default(), Sum256::default());
            for (i, &v) in values.iter().enumerate() {
                s.add(v);
                if i % 2 == 0 { halves.0.add(v) } else { halves.1.add(v) }
            }
            halves.1.merge(halves.0);
            prop_assert_eq!(s, halves.1);
            let want: i128 = values.iter().sum();
            prop_assert_eq!(s.is_negative(), want < 0);
            prop_assert_eq!(s.magnitude().to_u128(), Some(want.unsigned_abs()));
        }

        #[test]
        fn mul_wide_matches_big(a in any::<u128>(), b in any::<u128>()) {
            let (hi, lo) = mul_wide(a, b);
            prop_assert_eq!(Big::from_parts(hi, lo), Big::from_u128(a).mul(&Big::from_u128(b)));
            if let Some(p) = a.checked_mul(b) {
                prop_assert_eq!((hi, lo), (0, p));
            }
        }

        #[test]
        fn isqrt_is_floor(v in any::<u128>()) {
            let r = Big::from_u128(v).isqrt().to_u128().unwrap();
            prop_assert!(r * r <= v);
            let next = r + 1;
            prop_assert!(next.checked_mul(next).is_none_or(|sq| sq > v));
        }

        #[test]
        fn mean_matches_i128_rounding(values in proptest::collection::vec(-10i64.pow(12)..10i64.pow(12), 1..20)) {
            // Values in 10^-9 units; the mean in 10^-6 units rounded half to even.
            let mut s = Sum256::default();
            for &v in &values { s.add(i128::from(v)); }
            let total: i128 = values.iter().map(|&v| i128::from(v)).sum();
            let den = values.len() as i128 * 1000;
            let (q, r) = (total.div_euclid(den), total.rem_euclid(den));
            let q = match (2 * r).cmp(&den) {
                Ordering::Greater => q + 1,
                Ordering::Equal if q % 2 != 0 => q + 1,
                _ => q,
            };
            let sign = if q < 0 { "-" } else { "" };
            let want = format!("{sign}{}.{:06}", q.abs() / 1_000_000, q.abs() % 1_000_000);
            prop_assert_eq!(mean_text(&s, values.len() as u64), want);
        }
    }
}
