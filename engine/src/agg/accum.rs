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
use std::collections::{BTreeMap, HashSet};

use sketches_ddsketch::{Config, DDSketch};

use crate::input::nulls::{is_text, NullMarkers};
use crate::query::number::Decimal;

use super::exact::{mean_text, scaled, stddev_text, sum_text, Sum256, U256};
use super::hash::BuildKeyHasher;
use super::keys::scaled_text;
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
    /// quantile, median: a count per distinct number.
    Hist(Vec<Hist>),
    /// approx_quantile.
    Sketch(Vec<Sketch>),
    /// first, last.
    Pick(Vec<Pick>),
}

/// Canonical small integers below this are counted in a plain array (speeds, ages, hours):
/// one increment per value instead of a tree insert.
const HIST_DENSE: usize = 4096;

/// Exact quantiles: how many times each number occurs in the group. Counts add under merge,
/// so the state (and the quantile read from it) cannot depend on chunking or merge order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Hist {
    /// `dense[v]`: occurrences of the canonical integer `v` (`v < HIST_DENSE`).
    pub(crate) dense: Vec<u64>,
    /// Every other number, in 10^-9 units.
    pub(crate) sparse: BTreeMap<i128, u64>,
}

impl Hist {
    #[inline]
    fn add_small(&mut self, v: usize) {
        if v >= self.dense.len() {
            self.dense
                .resize((v + 1).next_power_of_two().clamp(128, HIST_DENSE), 0);
        }
        self.dense[v] += 1;
    }

    fn merge(&mut self, other: Hist) {
        if self.dense.len() < other.dense.len() {
            self.dense.resize(other.dense.len(), 0);
        }
        for (a, b) in self.dense.iter_mut().zip(&other.dense) {
            *a = a.wrapping_add(*b);
        }
        for (v, n) in other.sparse {
            let c = self.sparse.entry(v).or_default();
            *c = c.wrapping_add(n);
        }
    }

    /// (value in 10^-9 units, count) ascending: the dense and sparse parts merged.
    fn ascending(&self) -> Vec<(i128, u64)> {
        const UNIT: i128 = 1_000_000_000;
        let dense = self
            .dense
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(v, &n)| (v as i128 * UNIT, n));
        let mut out: Vec<(i128, u64)> = Vec::with_capacity(self.sparse.len() + 128);
        let mut sparse = self.sparse.iter().map(|(&v, &n)| (v, n)).peekable();
        for (v, n) in dense {
            while let Some(&(s, m)) = sparse.peek() {
                if s >= v {
                    break;
                }
                out.push((s, m));
                sparse.next();
            }
            match sparse.peek() {
                Some(&(s, m)) if s == v => {
                    out.push((v, n + m));
                    sparse.next();
                }
                _ => out.push((v, n)),
            }
        }
        out.extend(sparse);
        out
    }

    /// The `q` quantile (q in billionths) with linear interpolation between the values at
    /// ranks `floor(q (n-1))` and the next (DuckDB's `quantile_cont`), in 10^-9 units
    /// rounded half-to-even; `None` when empty.
    pub(crate) fn quantile(&self, q: u32) -> Option<i128> {
        const UNIT: u128 = 1_000_000_000;
        let values = self.ascending();
        let n: u64 = values.iter().map(|&(_, c)| c).sum();
        if n == 0 {
            return None;
        }
        let pos = u128::from(q) * u128::from(n - 1);
        let (lo, rem) = ((pos / UNIT) as u64, pos % UNIT);
        let at = |rank: u64| -> i128 {
            let mut seen = 0u64;
            for &(v, c) in &values {
                seen += c;
                if rank < seen {
                    return v;
                }
            }
            values.last().map_or(0, |&(v, _)| v)
        };
        let low = at(lo);
        if rem == 0 {
            return Some(low);
        }
        let high = at(lo + 1);
        let num = (high - low) * rem as i128;
        let unit = UNIT as i128;
        let (quot, r) = (num.div_euclid(unit), num.rem_euclid(unit));
        let up = match (2 * r).cmp(&unit) {
            Ordering::Greater => true,
            Ordering::Equal => quot % 2 != 0,
            Ordering::Less => false,
        };
        Some(low + quot + i128::from(up))
    }
}

/// The relative accuracy of `approx_quantile`: DDSketch's default, 1% of the value.
pub const APPROX_RELATIVE_ERROR: f64 = 0.01;

/// A group's DDSketch (the crate's type has no `Debug`).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sketch(pub(crate) DDSketch);

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch({} values)", self.0.count())
    }
}

fn new_sketch() -> Sketch {
    Sketch(DDSketch::new(Config::defaults()))
}

impl Sketch {
    /// The sketch as JSON (serde keeps the configuration bit for bit, which `merge`
    /// compares); `None` when empty, whose infinite min and max have no JSON form.
    pub(crate) fn to_json(&self) -> Option<Vec<u8>> {
        if self.0.count() == 0 {
            return None;
        }
        serde_json::to_vec(self).ok()
    }

    /// The sketch [`Sketch::to_json`] wrote (`None`: an empty one); `None` when malformed.
    pub(crate) fn from_json(json: Option<&[u8]>) -> Option<Sketch> {
        match json {
            None => Some(new_sketch()),
            Some(j) => serde_json::from_slice(j).ok(),
        }
    }
}

/// first/last: the value chosen so far. Tables merge in file order (earlier table first; the
/// coordinator merges chunk tables in plan order), so a chunk's first and last values are
/// placed by the chunk's position in the file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Pick {
    pub(crate) seen: bool,
    pub(crate) value: SmallBytes,
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

impl Extreme {
    /// A state read back from its parts (a decoded table); `None` when the parts are
    /// inconsistent: a numeric winner that is not a number, a winner without `seen`.
    pub(crate) fn from_parts(
        seen: bool,
        all_numeric: bool,
        bytes: &[u8],
        numeric: &[u8],
        marker: &[u8],
    ) -> Option<Extreme> {
        let consistent = if !seen {
            bytes.is_empty() && numeric.is_empty()
        } else if all_numeric {
            Decimal::parse(numeric).is_some() && !bytes.is_empty()
        } else {
            numeric.is_empty() && !bytes.is_empty()
        };
        consistent.then(|| Extreme {
            seen,
            all_numeric: all_numeric || !seen,
            numeric: numeric.into(),
            bytes: bytes.into(),
            marker: marker.into(),
        })
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
            AggFn::Quantile(..) => Column::Hist(Vec::new()),
            AggFn::ApproxQuantile(..) => Column::Sketch(Vec::new()),
            AggFn::First(_) | AggFn::Last(_) => Column::Pick(Vec::new()),
        }
    }

    /// Adds an empty state for a new group (whose number is the current length).
    /// Drops every group's state, keeping the allocation (a scratch column reused per group).
    pub(crate) fn clear(&mut self) {
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => v.clear(),
            Column::Sum(v) => v.clear(),
            Column::Spread(v) => v.clear(),
            Column::Extreme(v) => v.clear(),
            Column::Distinct(v) => v.clear(),
            Column::Hist(v) => v.clear(),
            Column::Sketch(v) => v.clear(),
            Column::Pick(v) => v.clear(),
        }
    }

    /// Bytes this column holds, estimated: its vector's capacity, plus what states keep on
    /// the heap (long min/max and first/last texts, distinct sets, quantile counts). Fixed-size
    /// states cost O(1) to measure; the others a walk over the groups. The memory limit
    /// (`--memory`) is checked against this, so it errs on the high side for hash sets and
    /// trees (a per-entry overhead is counted).
    pub(crate) fn heap_bytes(&self) -> usize {
        fn bytes<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        fn small(b: &SmallBytes) -> usize {
            match b {
                SmallBytes::Heap(v) => v.capacity(),
                SmallBytes::Inline { .. } => 0,
            }
        }
        match self {
            Column::Records => 0,
            Column::NonEmpty(v) => bytes(v),
            Column::Sum(v) => bytes(v),
            Column::Spread(v) => bytes(v),
            Column::Extreme(v) => {
                bytes(v)
                    + v.iter()
                        .map(|e| small(&e.numeric) + small(&e.bytes) + small(&e.marker))
                        .sum::<usize>()
            }
            Column::Pick(v) => bytes(v) + v.iter().map(|p| small(&p.value)).sum::<usize>(),
            Column::Distinct(v) => {
                bytes(v)
                    + v.iter()
                        .map(|set| {
                            set.capacity() * (std::mem::size_of::<Box<[u8]>>() + 1)
                                + set.iter().map(|b| b.len()).sum::<usize>()
                        })
                        .sum::<usize>()
            }
            // A B-tree entry: key, value and about as much again for nodes.
            Column::Hist(v) => {
                bytes(v)
                    + v.iter()
                        .map(|h| h.dense.capacity() * 8 + h.sparse.len() * 48)
                        .sum::<usize>()
            }
            // A sketch's bins grow with the spread of its values; a fixed guess per group.
            Column::Sketch(v) => bytes(v) + v.len() * 2048,
        }
    }

    pub(crate) fn push_group(&mut self) {
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => v.push(Present::default()),
            Column::Sum(v) => v.push(SumState::default()),
            Column::Spread(v) => v.push(SpreadState::default()),
            Column::Extreme(v) => v.push(Extreme::default()),
            Column::Distinct(v) => v.push(ValueSet::default()),
            Column::Hist(v) => v.push(Hist::default()),
            Column::Sketch(v) => v.push(new_sketch()),
            Column::Pick(v) => v.push(Pick::default()),
        }
    }

    /// Asks the CPU to start loading group `g`'s state (see [`crate::agg::pipeline`]).
    #[inline(always)]
    pub(crate) fn prefetch(&self, g: usize) {
        use super::prefetch::prefetch;
        match self {
            Column::Records => {}
            Column::NonEmpty(v) => prefetch(v, g, 1),
            Column::Sum(v) => prefetch(v, g, 1),
            Column::Spread(v) => prefetch(v, g, 1),
            Column::Extreme(v) => prefetch(v, g, 1),
            Column::Distinct(v) => prefetch(v, g, 1),
            Column::Hist(v) => prefetch(v, g, 1),
            Column::Sketch(v) => prefetch(v, g, 1),
            Column::Pick(v) => prefetch(v, g, 1),
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
            Column::Hist(v) => {
                if !nulls.has_numeric_marker() {
                    if let Some(n) = super::table::small_int(value).filter(|&n| n < HIST_DENSE) {
                        v[g].add_small(n);
                        return false;
                    }
                }
                match number(value, nulls) {
                    Number::Value(x) => *v[g].sparse.entry(x).or_default() += 1,
                    Number::Missing => {}
                    Number::Unusable => return true,
                }
            }
            Column::Sketch(v) => match number(value, nulls) {
                Number::Value(x) => v[g].0.add(x as f64 / 1e9),
                Number::Missing => {}
                Number::Unusable => return true,
            },
            Column::Pick(v) => {
                if nulls.is_null_everywhere(value) {
                    return false;
                }
                let p = &mut v[g];
                if matches!(func, AggFn::Last(_)) || !p.seen {
                    p.value.set(value);
                    p.seen = true;
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
            (Column::Hist(a), Column::Hist(b)) => a[g].merge(std::mem::take(&mut b[og])),
            (Column::Sketch(a), Column::Sketch(b)) => {
                // Same configuration on both sides, which is all `merge` checks.
                let _ = a[g].0.merge(&b[og].0);
            }
            (Column::Pick(a), Column::Pick(b)) => {
                let theirs = std::mem::take(&mut b[og]);
                // `other` holds later records (see [`Pick`]).
                let take = match func {
                    AggFn::Last(_) => theirs.seen,
                    _ => !a[g].seen,
                };
                if take {
                    a[g] = theirs;
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
            Column::Hist(v) => {
                let q = match func {
                    AggFn::Quantile(_, q) => q,
                    _ => 0,
                };
                v.get(g)
                    .and_then(|h| h.quantile(q))
                    .map(scaled_text)
                    .unwrap_or_default()
            }
            Column::Sketch(v) => {
                let q = match func {
                    AggFn::ApproxQuantile(_, q) => f64::from(q) / 1e9,
                    _ => 0.0,
                };
                match v.get(g).and_then(|s| s.0.quantile(q).ok().flatten()) {
                    Some(x) => approx_text(x),
                    None => String::new(),
                }
            }
            Column::Pick(v) => {
                return v
                    .get(g)
                    .filter(|p| p.seen)
                    .map(|p| p.value.as_slice().to_vec())
                    .unwrap_or_default();
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
            Column::Records
            | Column::Sum(_)
            | Column::Spread(_)
            | Column::Hist(_)
            | Column::Sketch(_)
            | Column::Pick(_) => false,
        }
    }
}

/// An approximate value to 6 significant digits (more would be noise at 1% accuracy), as a
/// plain decimal.
fn approx_text(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 12) as usize;
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
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
    fn quantiles_interpolate_like_quantile_cont() {
        let q = |q: u32, values: &[&str]| run(AggFn::Quantile(0, q), values);
        let half = 500_000_000;
        assert_eq!(q(half, &["1", "2", "3", "4"]), ("2.5".into(), 0));
        assert_eq!(q(half, &["3", "1", "2"]), ("2".into(), 0));
        assert_eq!(q(0, &["3", "1", "2"]).0, "1");
        assert_eq!(q(1_000_000_000, &["3", "1", "2"]).0, "3");
        // 0.95 of 0..=10: position 9.5.
        let ten: Vec<String> = (0..=10).map(|v| v.to_string()).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        assert_eq!(q(950_000_000, &ten).0, "9.5");
        // Decimals, negatives and large values go beside the dense counts.
        assert_eq!(
            q(half, &["-1.5", "5000", "2", "2.0", "x", ""]),
            ("2".into(), 1)
        );
        assert_eq!(q(half, &["-1.5", "0.25"]).0, "-0.625");
        assert_eq!(q(half, &[]).0, "");
        assert_eq!(q(half, &["NA"]), (String::new(), 0));
        // 1/3 between 0 and 1 rounds half-to-even at 10^-9.
        assert_eq!(q(333_333_333, &["0", "1", "1", "1"]).0, "0.999999999");
        for values in [&ten[..], &["5", "-1.5", "5000", "2", "2.0", "7"][..]] {
            for f in [0, 100_000_000, half, 950_000_000, 1_000_000_000] {
                merged_everywhere(AggFn::Quantile(0, f), values);
            }
        }
    }

    #[test]
    fn first_and_last_in_order() {
        assert_eq!(run(AggFn::First(0), &["", "b", "c", ""]).0, "b");
        assert_eq!(run(AggFn::Last(0), &["", "b", "c", ""]).0, "c");
        assert_eq!(run(AggFn::First(0), &["", ""]).0, "");
        // A merge takes `other` as the later records.
        let nulls = NullMarkers::default();
        for (func, want) in [(AggFn::First(0), "a"), (AggFn::Last(0), "d")] {
            let (mut a, mut b) = (one(func), one(func));
            let mut t = 0;
            a.update(0, func, b"a", &nulls, &mut t);
            a.update(0, func, b"b", &nulls, &mut t);
            b.update(0, func, b"c", &nulls, &mut t);
            b.update(0, func, b"d", &nulls, &mut t);
            a.merge_from(0, func, &mut b, 0);
            assert_eq!(text(&a, func, 4, true, &nulls), want);
        }
    }

    #[test]
    fn approx_quantile_within_its_bound() {
        let values: Vec<String> = (1..=1000).map(|v| v.to_string()).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let got: f64 = merged_everywhere_approx(&values).parse().unwrap();
        assert!(
            (got - 500.0).abs() <= 500.0 * APPROX_RELATIVE_ERROR * 1.01,
            "{got}"
        );
    }

    fn merged_everywhere_approx(values: &[&str]) -> String {
        let func = AggFn::ApproxQuantile(0, 500_000_000);
        let nulls = NullMarkers::default();
        let (mut a, mut b) = (one(func), one(func));
        let mut t = 0;
        for (i, v) in values.iter().enumerate() {
            let side = if i % 3 == 0 { &mut a } else { &mut b };
            side.update(0, func, v.as_bytes(), &nulls, &mut t);
        }
        a.merge_from(0, func, &mut b, 0);
        let whole = run(func, values).0;
        assert_eq!(text(&a, func, values.len(), false, &nulls), whole);
        whole
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
