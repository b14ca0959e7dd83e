//! Summary statistics of repeated timings: median and percentiles by linear interpolation
//! between closest ranks (the definition NumPy and hyperfine use by default), so a table built
//! from `fleet bench --json` agrees with one built by those tools from the same samples.

/// The `p`-th percentile (0..=100) of `values`, or `None` when there are none (or a NaN).
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let frac = rank - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * frac)
}

/// The median: the middle value, or the mean of the two middle values.
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// What a results table shows of one configuration's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        Some(Summary {
            min: percentile(values, 0.0)?,
            median: percentile(values, 50.0)?,
            p90: percentile(values, 90.0)?,
            max: percentile(values, 100.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&v, 0.0), Some(10.0));
        assert_eq!(percentile(&v, 100.0), Some(50.0));
        assert_eq!(percentile(&v, 25.0), Some(20.0));
        // rank 0.9 * 4 = 3.6: 40 + 0.6 * 10.
        let p90 = percentile(&v, 90.0).unwrap_or(f64::NAN);
        assert!((p90 - 46.0).abs() < 1e-12, "{p90}");
        assert_eq!(percentile(&v, 101.0), None);
    }

    #[test]
    fn summary_does_not_depend_on_order() {
        let a = Summary::of(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        let b = Summary::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(a, b);
        assert_eq!(a.map(|s| (s.min, s.median, s.max)), Some((1.0, 3.0, 5.0)));
    }
}
