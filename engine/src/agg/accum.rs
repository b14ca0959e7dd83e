//! The per-aggregate state of every group ([`Column`]): how a value updates a group's state,
//! how two states merge, and how a final state prints.
//!
//! Missing values ([`crate::input::nulls`]) are skipped by every aggregate, silently: an
//! empty field and a marker of a given list always; a default marker (`NA`, ...) in `sum`,
//! `mean` and `stddev` always, and in `count(COL)`, `min`/`max` and `distinct` unless the
//! column holds text. Which is known only at the end, so those states keep what the markers
//! would add apart (a count, the bytewise winner, the set members), and the table counts per
//! aggregate whether it saw a text value ([`Column::update`]'s `texts`, non-zero once one
//! was seen, added up when tables merge); [`Column::render`] is told whether there were any.
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

use crate::input::nulls::{is_text, NullMarkers};
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
    /// count(COL).
    NonEmpty(Vec<Present>),
    /// sum, mean.
    Sum(Vec<SumState>),
    /// stddev.
    Spread(Vec<SpreadState>),
    /// min, max.
    Extreme(Vec<Extreme>),
    Distinct(Vec<ValueSet>),
}

/// count(COL)'s state: values that are not missing and not a default marker, and the
/// default markers, which count only in a column that holds text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Present {
    pub(crate) n: u64,
    pub(crate) markers: u64,
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

/// min/max keep several winners because which one prints is only known at the end: the
/// numeric winner if every value was a number, otherwise the bytewise winner; and apart, the
/// bytewise winner among default markers, which compete only in a column that holds text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extreme {
    /// A value that is neither missing nor a default marker was seen.
    pub(crate) seen: bool,
    /// Every such value is a number; `numeric` is meaningful only while true.
    pub(crate) all_numeric: bool,
    /// Numeric winner's text; among numerically equal texts the bytewise smallest, so the
    /// winner does not depend on which came first.
    pub(crate) numeric: SmallBytes,
    /// Bytewise winner.
    pub(crate) bytes: SmallBytes,
    /// Bytewise winner among the default markers seen (empty: none).
    pub(crate) marker: SmallBytes,
}

/// Nothing seen yet: vacuously all numeric.
impl Default for Extreme {
    fn default() -> Extreme {
        Extreme {
            seen: false,
            all_numeric: true,
            numeric: SmallBytes::default(),
            bytes: SmallBytes::default(),
            marker: SmallBytes::default(),
        }
    }
}

/// The order min (`Less`) or max (`Greater`) wants.
fn wanted(max: bool) -> Ordering {
    if max {
        Ordering::Greater
    } else {
        Ordering::Less
    }
}

impl Extreme {
    /// Adds a value that is not empty; returns whether it is text (see the module docs), as
    /// far as it had to be found out: only while `text_known` is false.
    #[inline]
    fn update(&mut self, v: &[u8], max: bool, nulls: &NullMarkers, text_known: bool) -> bool {
        let want = wanted(max);
        if nulls.is_marker(v) {
            if !nulls.is_null_everywhere(v)
                && (self.marker.as_slice().is_empty() || v.cmp(self.marker.as_slice()) == want)
            {
                self.marker.set(v);
            }
            return false;
        }
        if !self.seen || v.cmp(self.bytes.as_slice()) == want {
            self.bytes.set(v);
        }
        let mut number = false;
        if self.all_numeric {
            match Decimal::parse(v) {
                Some(d) => {
                    number = true;
                    if !self.seen || beats(d, v, self.numeric.as_slice(), want) {
                        self.numeric.set(v)
                    }
                }
                None => {
                    self.all_numeric = false;
                    self.numeric = SmallBytes::default();
                }
            }
        }
        self.seen = true;
        !number && !text_known && is_text(v)
    }

    /// The winner to print; `column_text`: the column holds text, so markers are values.
    fn winner(&self, max: bool, column_text: bool) -> Option<&[u8]> {
        let marker = Some(self.marker.as_slice()).filter(|m| column_text && !m.is_empty());
        let value = self.seen.then(|| {
            if self.all_numeric {
                self.numeric.as_slice()
            } else {
                self.bytes.as_slice()
            }
        });
        match (value, marker) {
            (Some(_), Some(m)) => {
                // A marker is text, so the group is not all numbers: bytewise over both.
                let b = self.bytes.as_slice();
                Some(if m.cmp(b) == wanted(max) { m } else { b })
            }
            (v, m) => v.or(m),
        }
    }

    fn merge(&mut self, mut other: Extreme, max: bool) {
        let want = wanted(max);
        let theirs = std::mem::take(&mut other.marker);
        if !theirs.as_slice().is_empty()
            && (self.marker.as_slice().is_empty()
                || theirs.as_slice().cmp(self.marker.as_slice()) == want)
        {
            self.marker = theirs;
        }
        if !other.seen {
            return;
        }
        if !self.seen {
            let marker = std::mem::take(&mut self.marker);
            *self = other;
            self.marker = marker;
            return;
        }
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
            Column::NonEmpty(v) => v.push(Present::default()),
            Column::Sum(v) => v.push(SumState::default()),
            Column::Spread(v) => v.push(SpreadState::default()),
            Column::Extreme(v) => v.push(Extreme::default()),
            Column::Distinct(v) => v.push(ValueSet::default()),
        }
    }

    /// Adds one field's value to group `g`; returns true when a numeric aggregate got a
    /// value that is neither a number nor missing (skipped, never counted as 0, reported).
    /// Missing values are skipped silently (see the module docs). `texts` becomes non-zero
    /// when a value is text (after which values are not looked at for it again: one is all
    /// the output needs).
    #[inline]
    pub(crate) fn update(
        &mut self,
        g: usize,
        func: AggFn,
        value: &[u8],
        nulls: &NullMarkers,
        texts: &mut u64,
    ) -> bool {
        if value.is_empty() {
            return false;
        }
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => {
                if nulls.is_marker(value) {
                    if !nulls.is_null_everywhere(value) {
                        v[g].markers += 1;
                    }
                } else {
                    v[g].n += 1;
                    if *texts == 0 && is_text(value) {
                        *texts = 1;
                    }
                }
            }
            Column::Sum(v) => match number(value, nulls) {
                Number::Value(x) => {
                    let st = &mut v[g];
                    st.n += 1;
                    st.sum.add(x);
                }
                Number::Missing => {}
                Number::Unusable => return true,
            },
            Column::Spread(v) => match number(value, nulls) {
                Number::Value(x) => {
                    let st = &mut v[g];
                    st.n += 1;
                    st.sum.add(x);
                    st.squares.add_square(x);
                }
                Number::Missing => {}
                Number::Unusable => return true,
            },
            Column::Extreme(v) => {
                let max = matches!(func, AggFn::Max(_));
                if v[g].update(value, max, nulls, *texts > 0) {
                    *texts = 1;
                }
            }
            Column::Distinct(v) => {
                if nulls.is_marker(value) {
                    if nulls.is_null_everywhere(value) {
                        return false;
                    }
                } else if *texts == 0 && is_text(value) {
                    *texts = 1;
                }
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
            (Column::NonEmpty(a), Column::NonEmpty(b)) => {
                a[g].n = a[g].n.wrapping_add(b[og].n);
                a[g].markers = a[g].markers.wrapping_add(b[og].markers);
            }
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
    /// and mean, fewer than two for stddev, no value for min and max). min/max print the
    /// winning value's original bytes. `column_text`: the aggregate saw text in its column,
    /// so the default markers are values, not missing. `g` past the end reads as an empty
    /// state, which is how the totals row of an empty table prints.
    pub(crate) fn render(
        &self,
        g: usize,
        func: AggFn,
        records: u64,
        column_text: bool,
        nulls: &NullMarkers,
    ) -> Vec<u8> {
        let text = match self {
            Column::Records => records.to_string(),
            Column::NonEmpty(v) => {
                let p = v.get(g).copied().unwrap_or_default();
                let markers = if column_text { p.markers } else { 0 };
                p.n.wrapping_add(markers).to_string()
            }
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
            Column::Extreme(v) => {
                let max = matches!(func, AggFn::Max(_));
                let winner = v.get(g).and_then(|e| e.winner(max, column_text));
                return winner.map(<[u8]>::to_vec).unwrap_or_default();
            }
            Column::Distinct(v) => {
                let set = v.get(g);
                let len = set.map_or(0, HashSet::len);
                let markers = match set {
                    Some(set) if !column_text => nulls.contextual_in(|m| set.contains(m)),
                    _ => 0,
                };
                (len - markers).to_string()
            }
        };
        text.into_bytes()
    }
}

impl Column {
    /// Whether some group holds a default marker (`NA`, ...) that would count as a value
    /// where the column holds text.
    pub(crate) fn holds_markers(&self, nulls: &NullMarkers) -> bool {
        match self {
            Column::NonEmpty(v) => v.iter().any(|p| p.markers > 0),
            Column::Extreme(v) => v.iter().any(|e| !e.marker.as_slice().is_empty()),
            Column::Distinct(v) => v
                .iter()
                .any(|set| nulls.contextual_in(|m| set.contains(m)) > 0),
            Column::Records | Column::Sum(_) | Column::Spread(_) => false,
        }
    }
}

/// What a numeric aggregate makes of a value.
enum Number {
    /// In 10^-9 units.
    Value(i128),
    Missing,
    /// Neither a number nor missing.
    Unusable,
}

/// A non-empty value for sum, mean or stddev: markers are missing (found first when one could
/// pass for a number; otherwise only when the value is not a number).
#[inline]
fn number(value: &[u8], nulls: &NullMarkers) -> Number {
    if nulls.has_numeric_marker() && nulls.is_marker(value) {
        return Number::Missing;
    }
    match scaled(value) {
        Some(x) => Number::Value(x),
        None if nulls.is_marker(value) => Number::Missing,
        None => Number::Unusable,
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
        run_with(func, values, &NullMarkers::default())
    }

    fn run_with(func: AggFn, values: &[&str], nulls: &NullMarkers) -> (String, u64) {
        let mut col = one(func);
        let (mut bad, mut texts) = (0, 0);
        for v in values {
            bad += u64::from(col.update(0, func, v.as_bytes(), nulls, &mut texts));
        }
        (text(&col, func, values.len(), texts > 0, nulls), bad)
    }

    fn text(col: &Column, func: AggFn, records: usize, texts: bool, nulls: &NullMarkers) -> String {
        String::from_utf8(col.render(0, func, records as u64, texts, nulls)).unwrap()
    }

    /// Every split point and both merge directions give the unsplit result.
    fn merged_everywhere(func: AggFn, values: &[&str]) -> String {
        let nulls = NullMarkers::default();
        let (whole, _) = run(func, values);
        for cut in 0..=values.len() {
            for flip in [false, true] {
                let mut a = one(func);
                let mut b = one(func);
                let mut texts = [0, 0];
                for v in &values[..cut] {
                    a.update(0, func, v.as_bytes(), &nulls, &mut texts[0]);
                }
                for v in &values[cut..] {
                    b.update(0, func, v.as_bytes(), &nulls, &mut texts[1]);
                }
                if flip {
                    std::mem::swap(&mut a, &mut b);
                }
                a.merge_from(0, func, &mut b, 0);
                let column_text = texts[0] + texts[1] > 0;
                assert_eq!(
                    text(&a, func, values.len(), column_text, &nulls),
                    whole,
                    "{func:?} cut {cut} flip {flip}"
                );
            }
        }
        whole
    }

    #[test]
    fn markers_are_missing_in_numeric_columns_and_text_in_text_columns() {
        // Numeric aggregates skip them silently, like empty fields.
        assert_eq!(
            run(AggFn::Sum(0), &["1", "NA", "2", "\\N", "", "NaN"]),
            ("3".into(), 0)
        );
        assert_eq!(run(AggFn::Mean(0), &["NA", "NULL"]), (String::new(), 0));
        // count(COL), min/max, distinct: missing in a column of numbers or times...
        assert_eq!(run(AggFn::CountNonEmpty(0), &["1", "NA", "2", ""]).0, "2");
        assert_eq!(run(AggFn::CountNonEmpty(0), &["NA", "NA"]).0, "0");
        assert_eq!(run(AggFn::Max(0), &["744", "NA", "1007", "-5"]).0, "1007");
        assert_eq!(run(AggFn::Min(0), &["NA", "-5", "N/A"]).0, "-5");
        assert_eq!(run(AggFn::Max(0), &["NA", "NA"]).0, "");
        assert_eq!(
            run(
                AggFn::Max(0),
                &["2013-01-01T10:00:00Z", "NA", "2013-01-02T10:00:00Z"]
            )
            .0,
            "2013-01-02T10:00:00Z"
        );
        assert_eq!(
            run(AggFn::Distinct(0), &["1", "NA", "1", "2", "null"]).0,
            "2"
        );
        // ... and values in a column that holds text.
        assert_eq!(run(AggFn::CountNonEmpty(0), &["Ann", "NA", "Bo"]).0, "3");
        assert_eq!(run(AggFn::Max(0), &["Ann", "NA", "Bo"]).0, "NA");
        assert_eq!(run(AggFn::Min(0), &["NA", "Ann", "Bo"]).0, "Ann");
        assert_eq!(run(AggFn::Max(0), &["7", "NA", "x"]).0, "x");
        assert_eq!(run(AggFn::Distinct(0), &["a", "NA", "b", "NA"]).0, "3");
        for func in [
            AggFn::CountNonEmpty(0),
            AggFn::Max(0),
            AggFn::Min(0),
            AggFn::Distinct(0),
        ] {
            merged_everywhere(func, &["5", "NA", "x", "", "NULL", "-2"]);
            merged_everywhere(func, &["5", "NA", "3", "", "NULL", "-2"]);
            merged_everywhere(func, &["NA", "", "NULL"]);
        }
    }

    #[test]
    fn a_given_list_is_missing_everywhere() {
        let nulls = NullMarkers::only(&["-999", "?"]);
        assert_eq!(
            run_with(AggFn::Sum(0), &["-999", "1", "?"], &nulls),
            ("1".into(), 0)
        );
        assert_eq!(
            run_with(AggFn::Sum(0), &["NA", "1"], &nulls),
            ("1".into(), 1)
        );
        assert_eq!(
            run_with(AggFn::CountNonEmpty(0), &["a", "?", "NA"], &nulls).0,
            "2"
        );
        assert_eq!(run_with(AggFn::Max(0), &["1", "-999", "?"], &nulls).0, "1");
        assert_eq!(run_with(AggFn::Min(0), &["1", "-999"], &nulls).0, "1");
        assert_eq!(
            run_with(AggFn::Distinct(0), &["1", "-999", "?", "1"], &nulls).0,
            "1"
        );
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
