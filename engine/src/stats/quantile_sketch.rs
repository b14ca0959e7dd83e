//! [`QuantileSketch`]: the quantiles of a column past the exact cap, from counts in bins of
//! at most 2^-10 relative width (a DDSketch whose bin index is read from the value's bits
//! rather than computed with a logarithm).
//!
//! Values arrive as integers of 10^-9 units (the exact sums' own). A magnitude `m > 0` falls
//! in the bin of its binary exponent `e` (its highest set bit) and the 10 bits after that
//! bit: the bin `[2^e·(1 + k/1024), 2^e·(1 + (k+1)/1024))`, whose width is at most 1/1024 of
//! its smallest value. Reporting a bin by its midpoint is then off by at most 1/2048 of any
//! value in it, under 0.05%, the accuracy `docs/stats.md` states. The index is two
//! instructions on the integer (no float conversion, no `ln`, no `floor`) and exact, so a
//! value always lands in the same bin whatever the worker or chunk.
//!
//! Bins merge by addition and no bin is ever collapsed: counts live in a vector from the
//! lowest to the highest bin seen per sign (values up to 2^127 have under 131,072 bins), so
//! the merged sketch is the same whatever the chunking and the order of merges.

/// Bits of the mantissa kept per bin: 1024 bins per power of two.
const MANTISSA_BITS: u32 = 10;

/// Counts per bin of one sign, dense from the lowest bin seen. Two are equal when their
/// non-empty bins are, however wide their vectors grew.
#[derive(Clone, Default)]
pub struct Bins {
    /// Bin index of `counts[0]`.
    first: u32,
    counts: Vec<u64>,
}

impl PartialEq for Bins {
    fn eq(&self, other: &Bins) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Bins {}

impl std::fmt::Debug for Bins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Bins {
    #[inline]
    fn add(&mut self, bin: u32, n: u64) {
        if let Some(slot) = bin
            .checked_sub(self.first)
            .and_then(|i| self.counts.get_mut(i as usize))
        {
            *slot += n;
            return;
        }
        self.grow(bin);
        self.counts[(bin - self.first) as usize] += n;
    }

    /// Widens the range to hold `bin`, a little beyond it so that values creeping past
    /// the edge do not reallocate every time.
    #[cold]
    fn grow(&mut self, bin: u32) {
        const SLACK: u32 = 64;
        if self.counts.is_empty() {
            self.first = bin.saturating_sub(SLACK);
            self.counts = vec![0; (bin - self.first + SLACK) as usize];
            return;
        }
        let last = self.first + self.counts.len() as u32 - 1;
        let first = self.first.min(bin.saturating_sub(SLACK));
        let last = last.max(bin.saturating_add(SLACK));
        let mut counts = vec![0; (last - first + 1) as usize];
        let at = (self.first - first) as usize;
        counts[at..at + self.counts.len()].copy_from_slice(&self.counts);
        self.first = first;
        self.counts = counts;
    }

    fn merge(&mut self, other: &Bins) {
        for (bin, n) in other.iter() {
            self.add(bin, n);
        }
    }

    /// (bin, count) of the non-empty bins, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (self.first + i as u32, n))
    }
}

/// The bin of a magnitude `m > 0` (see the module docs).
#[inline(always)]
fn bin_of(m: u128) -> u32 {
    // Most values fit 64 bits, whose leading zeros and shifts are single instructions.
    if let Ok(small) = u64::try_from(m) {
        return bin_of_u64(small);
    }
    let e = 127 - m.leading_zeros();
    // The 10 bits below the highest: shifted down when there are more, up when fewer.
    let mantissa = if e >= MANTISSA_BITS {
        (m >> (e - MANTISSA_BITS)) as u32
    } else {
        (m << (MANTISSA_BITS - e)) as u32
    } & ((1 << MANTISSA_BITS) - 1);
    (e << MANTISSA_BITS) | mantissa
}

/// [`bin_of`] for a magnitude `m > 0` of at most 64 bits.
#[inline(always)]
fn bin_of_u64(m: u64) -> u32 {
    let e = 63 - m.leading_zeros();
    let mantissa = if e >= MANTISSA_BITS {
        (m >> (e - MANTISSA_BITS)) as u32
    } else {
        (m << (MANTISSA_BITS - e)) as u32
    } & ((1 << MANTISSA_BITS) - 1);
    (e << MANTISSA_BITS) | mantissa
}

/// The midpoint of a bin, in the values' units.
fn midpoint(bin: u32) -> f64 {
    let e = bin >> MANTISSA_BITS;
    let k = bin & ((1 << MANTISSA_BITS) - 1);
    let unit = 2f64.powi(e as i32 - MANTISSA_BITS as i32 - 1);
    unit * f64::from((1 << (MANTISSA_BITS + 1)) + 2 * k + 1)
}

/// Counts of values by bin, negative and positive apart, and of zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuantileSketch {
    pub negative: Bins,
    pub zeros: u64,
    pub positive: Bins,
}

impl QuantileSketch {
    /// Takes `n` values `v` (10^-9 units).
    #[inline(always)]
    pub fn add(&mut self, v: i128, n: u64) {
        match v.cmp(&0) {
            std::cmp::Ordering::Greater => self.positive.add(bin_of(v.unsigned_abs()), n),
            std::cmp::Ordering::Less => self.negative.add(bin_of(v.unsigned_abs()), n),
            std::cmp::Ordering::Equal => self.zeros += n,
        }
    }

    pub fn merge(&mut self, other: &QuantileSketch) {
        self.negative.merge(&other.negative);
        self.zeros += other.zeros;
        self.positive.merge(&other.positive);
    }

    pub fn count(&self) -> u64 {
        let sum = |b: &Bins| b.counts.iter().sum::<u64>();
        sum(&self.negative) + self.zeros + sum(&self.positive)
    }

    /// The value of nearest rank `q` (0..=1; the smallest value with at least q·n values at
    /// or below it, as the exact quantiles), as the midpoint of its bin (in 10^-9 units);
    /// `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        // (sign, bin) in value order; a zero is bin 0 of no sign.
        let negatives = self.negative.iter().rev().map(|(b, n)| ((-1.0, b), n));
        let zeros = std::iter::once(((0.0, 0), self.zeros));
        let positives = self.positive.iter().map(|(b, n)| ((1.0, b), n));
        for ((sign, bin), n) in negatives.chain(zeros).chain(positives) {
            seen += n;
            if seen >= rank {
                return Some(if sign == 0.0 {
                    0.0
                } else {
                    sign * midpoint(bin)
                });
            }
        }
        None
    }

    /// The sketch as bytes (for the codec): zeros, then per sign the non-empty bins.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.zeros.to_le_bytes());
        for bins in [&self.negative, &self.positive] {
            let filled = bins.iter().count() as u64;
            out.extend_from_slice(&filled.to_le_bytes());
            for (bin, n) in bins.iter() {
                out.extend_from_slice(&bin.to_le_bytes());
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
    }

    /// What [`QuantileSketch::encode`] wrote, from the front of `bytes` (which moves past
    /// it); `None` when the bytes are not such a sketch.
    pub fn decode(bytes: &mut &[u8]) -> Option<QuantileSketch> {
        fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
            let (head, rest) = bytes.split_first_chunk::<N>()?;
            *bytes = rest;
            Some(*head)
        }
        let mut s = QuantileSketch {
            zeros: u64::from_le_bytes(take(bytes)?),
            ..QuantileSketch::default()
        };
        for sign in 0..2 {
            let filled = u64::from_le_bytes(take(bytes)?);
            // Each bin takes 12 bytes: a corrupt count cannot make this loop long.
            if filled > (bytes.len() / 12) as u64 {
                return None;
            }
            let bins = if sign == 0 {
                &mut s.negative
            } else {
                &mut s.positive
            };
            let mut last = None;
            for _ in 0..filled {
                let bin = u32::from_le_bytes(take(bytes)?);
                let n = u64::from_le_bytes(take(bytes)?);
                // Written in increasing order, non-empty, within the 128-bit range.
                if last.is_some_and(|l| bin <= l) || n == 0 || bin >> MANTISSA_BITS > 127 {
                    return None;
                }
                last = Some(bin);
                bins.add(bin, n);
            }
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bins_order_as_values_and_are_at_most_one_1024th_wide() {
        let mut ms: Vec<u128> = (1u128..5000)
            .chain((0..126).flat_map(|s| [3u128 << s, (3u128 << s) - 1, 5u128 << s]))
            .chain([u128::MAX, u128::MAX - 1])
            .collect();
        ms.sort_unstable();
        ms.dedup();
        let mut previous = 0;
        for m in ms {
            let b = bin_of(m);
            assert!(b >= previous, "{m}");
            previous = b;
            let mid = midpoint(b);
            let rel = (mid - m as f64).abs() / m as f64;
            assert!(rel <= 1.0 / 2048.0 + 1e-12, "{m}: {mid} off by {rel}");
        }
        assert_eq!(bin_of(u128::MAX) >> MANTISSA_BITS, 127);
    }

    #[test]
    fn quantiles_are_within_the_relative_accuracy_and_merge_exactly() {
        let values: Vec<i128> = (-300..3000).map(|i| i * 7_777_777 + 13).collect();
        let mut whole = QuantileSketch::default();
        for &v in &values {
            whole.add(v, 1);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0] {
            let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
            let want = sorted[rank - 1] as f64;
            let got = whole.quantile(q).unwrap();
            assert!(
                (got - want).abs() <= want.abs() / 2048.0 + 1e-9,
                "{q}: {got} vs {want}"
            );
        }
        for cut in [0, 1, 500, 3299] {
            let (mut a, mut b) = (QuantileSketch::default(), QuantileSketch::default());
            values[..cut].iter().for_each(|&v| a.add(v, 1));
            values[cut..].iter().for_each(|&v| b.add(v, 1));
            b.merge(&a);
            assert_eq!(b.count(), whole.count());
            assert!(b.negative.iter().eq(whole.negative.iter()));
            assert!(b.positive.iter().eq(whole.positive.iter()));
            assert_eq!(b.zeros, whole.zeros);
        }
        assert_eq!(QuantileSketch::default().quantile(0.5), None);
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_corrupt_bytes() {
        let mut s = QuantileSketch::default();
        for v in [-5_000_000_000i128, 0, 0, 1, 114_368_542_000, i128::MAX] {
            s.add(v, 2);
        }
        let mut bytes = Vec::new();
        s.encode(&mut bytes);
        let mut rest = bytes.as_slice();
        let back = QuantileSketch::decode(&mut rest).unwrap();
        assert!(rest.is_empty());
        assert!(back.positive.iter().eq(s.positive.iter()));
        assert!(back.negative.iter().eq(s.negative.iter()));
        assert_eq!(back.zeros, 4);
        for cut in 0..bytes.len() {
            let mut part = &bytes[..cut];
            assert!(QuantileSketch::decode(&mut part).is_none(), "cut at {cut}");
        }
    }
}
