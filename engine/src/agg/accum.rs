//! The state one group keeps for one aggregate ([`Acc`]): how a value updates it, how two
//! states merge, and how the final state prints.
//!
//! Every state is exact and its merge is associative and commutative (counts add, sums add
//! as integers, sets unite, min/max keep a winner chosen by a total order), which is what
//! lets chunks be aggregated privately and merged in any order with identical output.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::number::Decimal;

use super::exact::{mean_text, scaled, stddev_text, sum_text, Sum256, U256};
use super::hash::BuildKeyHasher;
use super::spec::AggFn;

pub(crate) type ValueSet = HashSet<Box<[u8]>, BuildKeyHasher>;

#[derive(Debug)]
pub(crate) enum Acc {
    /// `count` prints the group's record count, kept once per group by the table.
    Records,
    NonEmpty(u64),
    /// sum, mean, stddev (only stddev maintains `squares`).
    Numeric(Numeric),
    /// min, max.
    Extreme(Extreme),
    Distinct(ValueSet),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Numeric {
    /// Values added (non-empty and numeric).
    pub(crate) n: u64,
    /// In 10^-9 units.
    pub(crate) sum: Sum256,
    /// In 10^-18 units.
    pub(crate) squares: U256,
}

/// min/max keep two winners because which one prints is only known at the end: the numeric
/// winner if every value was a number, otherwise the bytewise winner over all values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Extreme {
    /// A non-empty value was seen.
    pub(crate) seen: bool,
    /// Every value seen is a plain decimal; `numeric` is meaningful only while true.
    pub(crate) all_numeric: bool,
    /// Numeric winner's text; among numerically equal texts the bytewise smallest, so the
    /// winner does not depend on which came first.
    pub(crate) numeric: Vec<u8>,
    /// Bytewise winner.
    pub(crate) bytes: Vec<u8>,
}

impl Extreme {
    fn new() -> Extreme {
        Extreme {
            all_numeric: true,
            ..Extreme::default()
        }
    }

    #[inline]
    fn update(&mut self, v: &[u8], max: bool) {
        let want = if max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        if !self.seen || v.cmp(&self.bytes) == want {
            replace(&mut self.bytes, v);
        }
        if self.all_numeric {
            match Decimal::parse(v) {
                Some(d) if !self.seen || beats(d, v, &self.numeric, want) => {
                    replace(&mut self.numeric, v)
                }
                Some(_) => {}
                None => {
                    self.all_numeric = false;
                    self.numeric = Vec::new();
                }
            }
        }
        self.seen = true;
    }

    fn merge(&mut self, other: Extreme, max: bool) {
        if !other.seen {
            return;
        }
        if !self.seen {
            *self = other;
            return;
        }
        let want = if max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        if other.bytes.cmp(&self.bytes) == want {
            self.bytes = other.bytes;
        }
        self.all_numeric &= other.all_numeric;
        if !self.all_numeric {
            self.numeric = Vec::new();
        } else if let Some(d) = Decimal::parse(&other.numeric) {
            if beats(d, &other.numeric, &self.numeric, want) {
                self.numeric = other.numeric;
            }
        }
    }
}

/// Whether number `d` (text `v`) should replace the current numeric winner `cur`.
#[inline]
fn beats(d: Decimal<'_>, v: &[u8], cur: &[u8], want: Ordering) -> bool {
    match Decimal::parse(cur) {
        // Only a corrupted decoded table could hold a non-number here; any number replaces it.
        None => true,
        Some(c) => match d.cmp(&c) {
            Ordering::Equal => v < cur,
            o => o == want,
        },
    }
}

/// Reuses the buffer's capacity: a new winner usually fits where the old one was.
#[inline]
fn replace(buf: &mut Vec<u8>, v: &[u8]) {
    buf.clear();
    buf.extend_from_slice(v);
}

impl Acc {
    pub(crate) fn new(func: AggFn) -> Acc {
        match func {
            AggFn::Count => Acc::Records,
            AggFn::CountNonEmpty(_) => Acc::NonEmpty(0),
            AggFn::Sum(_) | AggFn::Mean(_) | AggFn::Stddev(_) => Acc::Numeric(Numeric::default()),
            AggFn::Min(_) | AggFn::Max(_) => Acc::Extreme(Extreme::new()),
            AggFn::Distinct(_) => Acc::Distinct(ValueSet::default()),
        }
    }

    /// Adds one field's value; returns true when a numeric aggregate got a non-number
    /// (which is skipped, never counted as 0). Empty values are nulls: skipped silently.
    #[inline]
    pub(crate) fn update(&mut self, func: AggFn, value: &[u8]) -> bool {
        if value.is_empty() {
            return false;
        }
        match self {
            Acc::Records => {}
            Acc::NonEmpty(n) => *n += 1,
            Acc::Numeric(num) => match scaled(value) {
                Some(x) => {
                    num.n += 1;
                    num.sum.add(x);
                    if let AggFn::Stddev(_) = func {
                        num.squares.add_square(x);
                    }
                }
                None => return true,
            },
            Acc::Extreme(e) => e.update(value, matches!(func, AggFn::Max(_))),
            Acc::Distinct(set) => {
                if !set.contains(value) {
                    set.insert(value.into());
                }
            }
        }
        false
    }

    /// Folds `other` (same function) into `self`.
    pub(crate) fn merge(&mut self, func: AggFn, other: Acc) {
        match (self, other) {
            (Acc::NonEmpty(a), Acc::NonEmpty(b)) => *a = a.wrapping_add(b),
            (Acc::Numeric(a), Acc::Numeric(b)) => {
                a.n = a.n.wrapping_add(b.n);
                a.sum.merge(b.sum);
                a.squares.merge(b.squares);
            }
            (Acc::Extreme(a), Acc::Extreme(b)) => a.merge(b, matches!(func, AggFn::Max(_))),
            (Acc::Distinct(a), Acc::Distinct(b)) => {
                // Move the smaller set into the larger one.
                if a.len() < b.len() {
                    let small = std::mem::replace(a, b);
                    a.extend(small);
                } else {
                    a.extend(b);
                }
            }
            // Same plan on both sides makes other pairs impossible; `Records` has no state.
            _ => {}
        }
    }

    /// The printed value; empty means null (no value to aggregate: no numbers for sum and
    /// mean, fewer than two for stddev, no non-empty value for min and max). min/max print
    /// the winning value's original bytes.
    pub(crate) fn render(&self, func: AggFn, records: u64) -> Vec<u8> {
        let text = match (self, func) {
            (Acc::Records, _) => records.to_string(),
            (Acc::NonEmpty(n), _) => n.to_string(),
            (Acc::Numeric(num), AggFn::Sum(_)) if num.n > 0 => sum_text(&num.sum),
            (Acc::Numeric(num), AggFn::Mean(_)) if num.n > 0 => mean_text(&num.sum, num.n),
            (Acc::Numeric(num), AggFn::Stddev(_)) if num.n > 1 => {
                stddev_text(&num.sum, &num.squares, num.n)
            }
            (Acc::Extreme(e), _) if e.seen => {
                return if e.all_numeric { &e.numeric } else { &e.bytes }.clone();
            }
            (Acc::Distinct(set), _) => set.len().to_string(),
            _ => String::new(),
        };
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(func: AggFn, values: &[&str]) -> (String, u64) {
        let mut acc = Acc::new(func);
        let mut bad = 0;
        for v in values {
            bad += u64::from(acc.update(func, v.as_bytes()));
        }
        (text(&acc, func, values.len()), bad)
    }

    fn text(acc: &Acc, func: AggFn, records: usize) -> String {
        String::from_utf8(acc.render(func, records as u64)).unwrap()
    }

    /// Every split point and both merge directions give the unsplit result.
    fn merged_everywhere(func: AggFn, values: &[&str]) -> String {
        let (whole, _) = run(func, values);
        for cut in 0..=values.len() {
            for flip in [false, true] {
                let mut a = Acc::new(func);
                let mut b = Acc::new(func);
                for v in &values[..cut] {
                    a.update(func, v.as_bytes());
                }
                for v in &values[cut..] {
                    b.update(func, v.as_bytes());
                }
                if flip {
                    std::mem::swap(&mut a, &mut b);
                }
                a.merge(func, b);
                assert_eq!(
                    text(&a, func, values.len()),
                    whole,
                    "{func:?} cut {cut} flip {flip}"
                );
            }
        }
        whole
    }

    #[test]
    fn numeric_skips_nulls_and_counts_malformed() {
        assert_eq!(
            run(AggFn::Sum(0), &["1.5", "", "x", "2", "1e3"]),
            ("3.5".into(), 2)
        );
        assert_eq!(run(AggFn::Sum(0), &["x", "y"]), (String::new(), 2));
        assert_eq!(run(AggFn::Mean(0), &[""]), (String::new(), 0));
        assert_eq!(run(AggFn::Stddev(0), &["3"]), (String::new(), 0));
        assert_eq!(run(AggFn::Stddev(0), &["3", "5"]).0, "1.414214");
        assert_eq!(
            run(AggFn::CountNonEmpty(0), &["", "a", " ", ""]),
            ("2".into(), 0)
        );
        assert_eq!(run(AggFn::Count, &["", "a"]), ("2".into(), 0));
        assert_eq!(
            run(AggFn::Distinct(0), &["a", "b", "a", "", "A"]),
            ("3".into(), 0)
        );
        assert_eq!(run(AggFn::Distinct(0), &[]), ("0".into(), 0));
    }

    #[test]
    fn min_max_numeric_or_bytewise() {
        assert_eq!(run(AggFn::Max(0), &["9", "10", "", "-1"]).0, "10");
        assert_eq!(run(AggFn::Min(0), &["9", "10", "-1"]).0, "-1");
        // One text value switches the whole group to bytewise.
        assert_eq!(run(AggFn::Max(0), &["9", "10", "1a"]).0, "9");
        assert_eq!(run(AggFn::Min(0), &["9", "10", "1a"]).0, "10");
        // Numerically equal texts: the bytewise smallest, whatever the order.
        assert_eq!(run(AggFn::Max(0), &["5.0", "5", "05"]).0, "05");
        assert_eq!(run(AggFn::Max(0), &["05", "5.0", "5"]).0, "05");
        assert_eq!(run(AggFn::Min(0), &["1.10", "1.1"]).0, "1.1");
        assert_eq!(run(AggFn::Min(0), &["", ""]).0, "");
        assert_eq!(
            run(
                AggFn::Min(0),
                &["2015-02-01 08:00:00", "2015-01-31 23:00:00"]
            )
            .0,
            "2015-01-31 23:00:00"
        );
    }

    #[test]
    fn merges_match_unsplit() {
        let values = ["5.0", "5", "x", "", "-3.25", "05", "12", "12.000", "b"];
        let numbers = ["5.0", "5", "", "-3.25", "05", "12", "12.000", "0.1"];
        for func in [
            AggFn::Count,
            AggFn::CountNonEmpty(0),
            AggFn::Sum(0),
            AggFn::Mean(0),
            AggFn::Min(0),
            AggFn::Max(0),
            AggFn::Stddev(0),
            AggFn::Distinct(0),
        ] {
            merged_everywhere(func, &values);
            merged_everywhere(func, &numbers);
        }
        assert_eq!(merged_everywhere(AggFn::Max(0), &numbers), "12");
        assert_eq!(merged_everywhere(AggFn::Min(0), &values), "-3.25");
        assert_eq!(merged_everywhere(AggFn::Max(0), &values), "x");
        assert_eq!(merged_everywhere(AggFn::Sum(0), &numbers), "35.85");
        assert_eq!(merged_everywhere(AggFn::Distinct(0), &values), "8");
    }
}
