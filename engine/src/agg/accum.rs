//! The per-aggregate state of every group ([`Column`]): how a value updates a group's state,
//! how two states merge, and how a final state prints.
//!
//! States are stored column-wise, one `Vec` per aggregate indexed by group number, each
//! holding only what its function needs (8 bytes for `count(COL)`, 48 for sum and mean, 80
//! for stddev): a record touches one compact entry per aggregate, which keeps the working
//! set of tens of thousands of groups in cache better than one wide state per group would.
//!
//! Every state is exact and its merge is associative and commutative (counts add, sums add
//! as integers, sets unite, min/max keep a winner chosen by a total order), which is what
//! lets chunks be aggregated privately and merged in any order with identical output.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::query::number::Decimal;

use super::exact::{mean_text, scaled, stddev_text, sum_text, Sum256, U256};
use super::hash::BuildKeyHasher;
use super::spec::AggFn;

pub(crate) type ValueSet = HashSet<Box<[u8]>, BuildKeyHasher>;

/// One aggregate's state for every group of a table, indexed by group number.
#[derive(Debug)]
pub(crate) enum Column {
    /// `count` prints the group's record count, kept once per group by the table.
    Records,
    NonEmpty(Vec<u64>),
    /// sum, mean.
    Sum(Vec<SumState>),
    /// stddev.
    Spread(Vec<SpreadState>),
    /// min, max.
    Extreme(Vec<Extreme>),
    Distinct(Vec<ValueSet>),
}

/// Numbers added (non-empty and numeric) and their sum in 10^-9 units.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SumState {
    pub(crate) n: u64,
    pub(crate) sum: Sum256,
}

/// [`SumState`] plus the sum of squares in 10^-18 units.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpreadState {
    pub(crate) n: u64,
    pub(crate) sum: Sum256,
    pub(crate) squares: U256,
}

/// min/max keep two winners because which one prints is only known at the end: the numeric
/// winner if every value was a number, otherwise the bytewise winner over all values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extreme {
    /// A non-empty value was seen.
    pub(crate) seen: bool,
    /// Every value seen is a plain decimal; `numeric` is meaningful only while true.
    pub(crate) all_numeric: bool,
    /// Numeric winner's text; among numerically equal texts the bytewise smallest, so the
    /// winner does not depend on which came first.
    pub(crate) numeric: SmallBytes,
    /// Bytewise winner.
    pub(crate) bytes: SmallBytes,
}

/// Nothing seen yet: vacuously all numeric.
impl Default for Extreme {
    fn default() -> Extreme {
        Extreme {
            seen: false,
            all_numeric: true,
            numeric: SmallBytes::default(),
            bytes: SmallBytes::default(),
        }
    }
}

impl Extreme {
    #[inline]
    fn update(&mut self, v: &[u8], max: bool) {
        let want = if max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        if !self.seen || v.cmp(self.bytes.as_slice()) == want {
            self.bytes.set(v);
        }
        if self.all_numeric {
            match Decimal::parse(v) {
                Some(d) if !self.seen || beats(d, v, self.numeric.as_slice(), want) => {
                    self.numeric.set(v)
                }
                Some(_) => {}
                None => {
                    self.all_numeric = false;
                    self.numeric = SmallBytes::default();
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
        if other.bytes.as_slice().cmp(self.bytes.as_slice()) == want {
            self.bytes = other.bytes;
        }
        self.all_numeric &= other.all_numeric;
        if !self.all_numeric {
            self.numeric = SmallBytes::default();
        } else if let Some(d) = Decimal::parse(other.numeric.as_slice()) {
            if beats(d, other.numeric.as_slice(), self.numeric.as_slice(), want) {
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

/// Bytes kept inline up to [`SmallBytes::INLINE`] (numbers, timestamps, short names) and on
/// the heap beyond: a min/max winner is read on every record of its group, and a pointer
/// there would cost a cache miss each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SmallBytes {
    Inline {
        len: u8,
        buf: [u8; SmallBytes::INLINE],
    },
    Heap(Vec<u8>),
}

impl Default for SmallBytes {
    fn default() -> SmallBytes {
        SmallBytes::Inline {
            len: 0,
            buf: [0; SmallBytes::INLINE],
        }
    }
}

impl SmallBytes {
    /// As large as the enum is anyway (a `Vec` and a tag: 32 bytes).
    pub(crate) const INLINE: usize = 30;

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..usize::from(*len)],
            SmallBytes::Heap(v) => v,
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, v: &[u8]) {
        match self {
            // A long winner's buffer is reused while winners stay long.
            SmallBytes::Heap(h) if v.len() > SmallBytes::INLINE => {
                h.clear();
                h.extend_from_slice(v);
            }
            _ => *self = SmallBytes::from(v),
        }
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(v: &[u8]) -> SmallBytes {
        match u8::try_from(v.len()) {
            Ok(len) if v.len() <= SmallBytes::INLINE => {
                let mut buf = [0; SmallBytes::INLINE];
                buf[..v.len()].copy_from_slice(v);
                SmallBytes::Inline { len, buf }
            }
            _ => SmallBytes::Heap(v.to_vec()),
        }
    }
}

impl Column {
    pub(crate) fn new(func: AggFn) -> Column {
        match func {
            AggFn::Count => Column::Records,
            AggFn::CountNonEmpty(_) => Column::NonEmpty(Vec::new()),
            AggFn::Sum(_) | AggFn::Mean(_) => Column::Sum(Vec::new()),
            AggFn::Stddev(_) => Column::Spread(Vec::new()),
            AggFn::Min(_) | AggFn::Max(_) => Column::Extreme(Vec::new()),
            AggFn::Distinct(_) => Column::Distinct(Vec::new()),
        }
    }

    /// Adds an empty state for a new group (whose number is the current length).
    pub(crate) fn push_group(&mut self) {
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => v.push(0),
            Column::Sum(v) => v.push(SumState::default()),
            Column::Spread(v) => v.push(SpreadState::default()),
            Column::Extreme(v) => v.push(Extreme::default()),
            Column::Distinct(v) => v.push(ValueSet::default()),
        }
    }

    /// Adds one field's value to group `g`; returns true when a numeric aggregate got a
    /// non-number (which is skipped, never counted as 0). Empty values are nulls: skipped
    /// silently.
    #[inline]
    pub(crate) fn update(&mut self, g: usize, func: AggFn, value: &[u8]) -> bool {
        if value.is_empty() {
            return false;
        }
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => v[g] += 1,
            Column::Sum(v) => match scaled(value) {
                Some(x) => {
                    let st = &mut v[g];
                    st.n += 1;
                    st.sum.add(x);
                }
                None => return true,
            },
            Column::Spread(v) => match scaled(value) {
                Some(x) => {
                    let st = &mut v[g];
                    st.n += 1;
                    st.sum.add(x);
                    st.squares.add_square(x);
                }
                None => return true,
            },
            Column::Extreme(v) => v[g].update(value, matches!(func, AggFn::Max(_))),
            Column::Distinct(v) => {
                let set = &mut v[g];
                if !set.contains(value) {
                    set.insert(value.into());
                }
            }
        }
        false
    }

    /// Folds group `og` of `other` (same function) into group `g`, taking its state.
    pub(crate) fn merge_from(&mut self, g: usize, func: AggFn, other: &mut Column, og: usize) {
        match (self, other) {
            (Column::NonEmpty(a), Column::NonEmpty(b)) => a[g] = a[g].wrapping_add(b[og]),
            (Column::Sum(a), Column::Sum(b)) => {
                let (a, b) = (&mut a[g], b[og]);
                a.n = a.n.wrapping_add(b.n);
                a.sum.merge(b.sum);
            }
            (Column::Spread(a), Column::Spread(b)) => {
                let (a, b) = (&mut a[g], b[og]);
                a.n = a.n.wrapping_add(b.n);
                a.sum.merge(b.sum);
                a.squares.merge(b.squares);
            }
            (Column::Extreme(a), Column::Extreme(b)) => {
                a[g].merge(std::mem::take(&mut b[og]), matches!(func, AggFn::Max(_)))
            }
            (Column::Distinct(a), Column::Distinct(b)) => {
                let (a, b) = (&mut a[g], std::mem::take(&mut b[og]));
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

    /// Group `g`'s printed value; empty means null (no value to aggregate: no numbers for sum
    /// and mean, fewer than two for stddev, no non-empty value for min and max). min/max
    /// print the winning value's original bytes. `g` past the end reads as an empty state,
    /// which is how the totals row of an empty table prints.
    pub(crate) fn render(&self, g: usize, func: AggFn, records: u64) -> Vec<u8> {
        let text = match self {
            Column::Records => records.to_string(),
            Column::NonEmpty(v) => v.get(g).copied().unwrap_or(0).to_string(),
            Column::Sum(v) => match v.get(g) {
                Some(st) if st.n > 0 => match func {
                    AggFn::Mean(_) => mean_text(&st.sum, st.n),
                    _ => sum_text(&st.sum),
                },
                _ => String::new(),
            },
            Column::Spread(v) => match v.get(g) {
                Some(st) if st.n > 1 => stddev_text(&st.sum, &st.squares, st.n),
                _ => String::new(),
            },
            Column::Extreme(v) => match v.get(g) {
                Some(e) if e.seen => {
                    let winner = if e.all_numeric { &e.numeric } else { &e.bytes };
                    return winner.as_slice().to_vec();
                }
                _ => String::new(),
            },
            Column::Distinct(v) => v.get(g).map_or(0, HashSet::len).to_string(),
        };
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one(func: AggFn) -> Column {
        let mut c = Column::new(func);
        c.push_group();
        c
    }

    fn run(func: AggFn, values: &[&str]) -> (String, u64) {
        let mut col = one(func);
        let mut bad = 0;
        for v in values {
            bad += u64::from(col.update(0, func, v.as_bytes()));
        }
        (text(&col, func, values.len()), bad)
    }

    fn text(col: &Column, func: AggFn, records: usize) -> String {
        String::from_utf8(col.render(0, func, records as u64)).unwrap()
    }

    /// Every split point and both merge directions give the unsplit result.
    fn merged_everywhere(func: AggFn, values: &[&str]) -> String {
        let (whole, _) = run(func, values);
        for cut in 0..=values.len() {
            for flip in [false, true] {
                let mut a = one(func);
                let mut b = one(func);
                for v in &values[..cut] {
                    a.update(0, func, v.as_bytes());
                }
                for v in &values[cut..] {
                    b.update(0, func, v.as_bytes());
                }
                if flip {
                    std::mem::swap(&mut a, &mut b);
                }
                a.merge_from(0, func, &mut b, 0);
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
            ("1003.5".into(), 1)
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
    fn small_bytes() {
        let mut b = SmallBytes::default();
        assert_eq!(b.as_slice(), b"");
        let long = [b'x'; 40];
        for v in [
            &b"abc"[..],
            &long,
            &long[..31],
            &long[..30],
            b"",
            &long[..35],
            b"z",
        ] {
            b.set(v);
            assert_eq!(b.as_slice(), v);
            assert_eq!(SmallBytes::from(v).as_slice(), v);
        }
        assert!(matches!(
            SmallBytes::from(&long[..30]),
            SmallBytes::Inline { .. }
        ));
        assert!(matches!(SmallBytes::from(&long[..31]), SmallBytes::Heap(_)));
        assert_eq!(std::mem::size_of::<SmallBytes>(), 32);
    }

    #[test]
    fn long_values_win_too() {
        let long_a = format!("{}a", "x".repeat(40));
        let long_b = format!("{}b", "x".repeat(40));
        assert_eq!(run(AggFn::Max(0), &[&long_a, "x", &long_b, "a"]).0, long_b);
        assert_eq!(run(AggFn::Min(0), &[&long_b, &long_a, "y"]).0, long_a);
        let big = format!("1{}", "0".repeat(40));
        assert_eq!(run(AggFn::Max(0), &["5", &big, "7"]).0, big);
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
