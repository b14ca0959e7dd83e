//! The dense shared path of `fleet agg`: totals, and group-by on one key whose values map to a
//! small range of integers (a canonical integer column such as taxi ids 10000..39999, or
//! `hour(COL)`, `weekday(COL)`) or on such an integer paired with an hour or weekday (ids by
//! hour), kept as one fixed-width cell of `u64` words per key value in
//! the job's shared region: the `Array` of multiprocessing, and for totals a single cell, its
//! `Value`.
//!
//! A worker adds a chunk's records into a private [`DenseDelta`] (an array read, no hashing),
//! writes the touched cells into its chunk result, and folds them into the shared cells
//! under the region lock inside the chunk's commit ([`DenseLayout::commit`]), once per chunk.
//! Records whose key falls outside the range (or is not a canonical integer, or not a
//! timestamp) go to an ordinary private [`AggTable`] that travels to the coordinator like any
//! hashed group-by, so any data is aggregated exactly, only faster when it fits.
//!
//! Only aggregates whose states are fixed-size and form a group under addition are dense:
//! `count`, `count(COL)`, `sum`, `mean`, `stddev` (counts and exact 256-bit two's complement
//! sums). That is what makes a commit undoable: a chunk whose speculative start proves wrong
//! is taken back out by subtracting the very cells it added ([`DenseLayout::uncommit`]), and a
//! worker that dies mid-commit is rolled back from the region's undo log. min/max and
//! distinct have variable-size, non-invertible states, so plans using them take the hashed
//! path (per-chunk tables merged by the coordinator, see `aggregate.rs`).
//!
//! Cell layout (words): `records`, then per spec: count: none; count(COL): n, default markers
//! (see `accum.rs`); sum/mean: n, sum (4 words, little-endian two's complement); stddev: n,
//! sum (4), squares (4). After the cells, one word per spec: values a numeric aggregate could
//! not read, or for count(COL) 1 when the chunk held a text value (added up over chunks:
//! only whether it is 0 matters).
//!
//! Missing values cost plain numeric data next to nothing: a short integer is read as before,
//! and a field is looked up among the null markers only when it is not one (a plan whose
//! given markers could pass for numbers takes the wide cells, which look first). count(COL)
//! must also know whether its column holds text: digits are not, anything else is read out
//! of line, and only until the chunk has found one text value.

use super::accum::{Column, Present, SpreadState, SumState};
use super::exact::{scaled, scaled_in, Sum256, POW10, SCALE_DIGITS, U256};
use super::groups::key_hash;
use super::keys::{derive, push_part, WEEKDAYS};
use super::prefetch::prefetch;
use super::spec::{AggFn, AggPlan, KeyFn, TimeFormat};
use super::table::{small_int_in, AggTable};
use crate::input::nulls::{is_text, NullMarkers};
use crate::query::number::Decimal;

/// Cap on the shared array, in bytes, so the region (array plus an undo log of the same
/// size) stays around 100 MB whatever the key range looks like. 48 MiB holds 30,000 taxi
/// ids by 24 hours with `count` and `mean` (48-byte cells): such a pair on the hashed path
/// costs more than the array, a table of 720,000 groups per chunk.
const MAX_ARRAY_BYTES: usize = 48 << 20;

/// How a record finds its cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DenseKey {
    /// No group-by: one cell.
    Total,
    /// Canonical integers `lo .. lo + cells` of a column.
    Int {
        column: usize,
        lo: usize,
    },
    Hour(usize),
    Weekday(usize),
    /// A canonical integer column (values `lo .. lo + ids`) paired with an hour or weekday
    /// of a time column, in either order (`int_first`: the integer is the first key): cell
    /// `part * ids + (n - lo)`. Part-major, so records in time order, as dumps usually are,
    /// work in one band of cells at a time.
    IntPart {
        column: usize,
        lo: usize,
        ids: usize,
        part: KeyFn,
        int_first: bool,
    },
}

/// The cells a time part takes: 24 hours or 7 weekdays.
fn part_cells(part: KeyFn) -> Option<usize> {
    match part {
        KeyFn::Hour(_) => Some(24),
        KeyFn::Weekday(_) => Some(7),
        _ => None,
    }
}

/// The index of a record's hour (0..24) or weekday (Monday 0), or `None` when its field is
/// not a timestamp.
#[inline(always)]
fn part_index(part: KeyFn, field: &[u8], time: TimeFormat) -> Option<usize> {
    let d = derive(part, field, time)?;
    let b = d.as_bytes();
    match part {
        KeyFn::Hour(_) => Some(usize::from(b[0] - b'0') * 10 + usize::from(b[1] - b'0')),
        _ => WEEKDAYS.iter().position(|w| &w[..] == b),
    }
}

/// A time part's key text for index `i`.
fn part_text(part: KeyFn, i: usize) -> Vec<u8> {
    match part {
        KeyFn::Hour(_) => format!("{i:02}").into_bytes(),
        _ => WEEKDAYS[i % 7].to_vec(),
    }
}

/// The shape of the shared cells for one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseLayout {
    key: DenseKey,
    cells: usize,
    /// Words per cell.
    width: usize,
    /// Per spec: its function and the word offset of its state in a cell.
    specs: Vec<(AggFn, usize)>,
    /// What counts as missing (the plan's).
    nulls: NullMarkers,
    /// How the key column's timestamps are written (hour and weekday keys).
    time: TimeFormat,
}

fn state_words(func: AggFn) -> Option<usize> {
    match func {
        AggFn::Count => Some(0),
        AggFn::CountNonEmpty(_) => Some(2),
        AggFn::Sum(_) | AggFn::Mean(_) => Some(5),
        AggFn::Stddev(_) => Some(9),
        AggFn::Min(_)
        | AggFn::Max(_)
        | AggFn::Distinct(_)
        | AggFn::Quantile(..)
        | AggFn::ApproxQuantile(..)
        | AggFn::First(_)
        | AggFn::Last(_) => None,
    }
}

impl DenseLayout {
    /// The layout for `plan`, or `None` when the plan needs the hashed path. `int_range` is
    /// the range of integer key values to give cells to (for a column key; see
    /// `aggregate::sample_key_range`); it is cut to the array's size cap.
    pub fn for_plan(plan: &AggPlan, int_range: Option<(usize, usize)>) -> Option<DenseLayout> {
        let mut width = 1;
        let mut specs = Vec::with_capacity(plan.specs.len());
        for spec in &plan.specs {
            let words = state_words(spec.func)?;
            specs.push((spec.func, width));
            width += words;
        }
        let max_cells = (MAX_ARRAY_BYTES / 8 / width).max(1);
        let int_part = |column: usize, part: KeyFn, int_first: bool| {
            let (lo, hi) = int_range?;
            let parts = part_cells(part)?;
            let ids = hi.checked_sub(lo)?.checked_add(1)?.min(max_cells / parts);
            (ids > 0).then_some((
                DenseKey::IntPart {
                    column,
                    lo,
                    ids,
                    part,
                    int_first,
                },
                ids * parts,
            ))
        };
        let (key, cells) = match plan.keys.as_slice() {
            [] => (DenseKey::Total, 1),
            [a, b] => match (a.func, b.func) {
                (KeyFn::Column(c), part) if part_cells(part).is_some() => int_part(c, part, true)?,
                (part, KeyFn::Column(c)) if part_cells(part).is_some() => int_part(c, part, false)?,
                _ => return None,
            },
            [k] => match k.func {
                KeyFn::Hour(c) => (DenseKey::Hour(c), 24),
                KeyFn::Weekday(c) => (DenseKey::Weekday(c), 7),
                KeyFn::Column(column) => {
                    let (lo, hi) = int_range?;
                    let cells = hi.checked_sub(lo)?.checked_add(1)?.min(max_cells);
                    (DenseKey::Int { column, lo }, cells)
                }
                KeyFn::Day(_) | KeyFn::Month(_) | KeyFn::Bucket(..) | KeyFn::Bin(..) => {
                    return None
                }
            },
            _ => return None,
        };
        let time = match key {
            DenseKey::IntPart { part, .. } => plan.time_format(part.column()),
            _ => match plan.keys.as_slice() {
                [k] => plan.time_format(k.func.column()),
                _ => TimeFormat::Text,
            },
        };
        Some(DenseLayout {
            key,
            cells,
            width,
            specs,
            nulls: plan.nulls.clone(),
            time,
        })
    }

    /// Accumulator words in the region: the cells, then the malformed counters.
    pub fn words(&self) -> usize {
        self.cells * self.width + self.specs.len()
    }

    /// Bytes a job on this layout may hold at most: the shared array and its undo log, each
    /// of `workers` workers' private cells (wide and narrow, counted wide) and the
    /// coordinator's copy of the array at the end.
    pub fn footprint(&self, workers: usize) -> u64 {
        let words = self.words() as u64;
        8 * (self.undo_words() as u64 + words * (2 * workers as u64 + 2))
    }

    /// Undo-log words one commit may need: every word once, plus two per logged range.
    pub fn undo_words(&self) -> usize {
        self.words() + 2 * (self.cells + 1)
    }

    fn globals_at(&self) -> usize {
        self.cells * self.width
    }

    /// The record's cell, or `None` when it belongs to the overflow table.
    #[inline]
    /// `line` is the record's line, which the fields usually lie in (see [`crate::simd::digits`]).
    pub fn cell_of<'f>(&self, line: &[u8], field: &impl Fn(usize) -> &'f [u8]) -> Option<usize> {
        match self.key {
            DenseKey::Total => Some(0),
            DenseKey::Int { column, lo } => {
                let n = small_int_in(line, field(column))?;
                let i = n.checked_sub(lo)?;
                (i < self.cells).then_some(i)
            }
            DenseKey::Hour(c) => part_index(KeyFn::Hour(c), field(c), self.time),
            DenseKey::Weekday(c) => part_index(KeyFn::Weekday(c), field(c), self.time),
            DenseKey::IntPart {
                column,
                lo,
                ids,
                part,
                ..
            } => {
                let n = small_int_in(line, field(column))?;
                let i = n.checked_sub(lo)?;
                if i >= ids {
                    return None;
                }
                Some(part_index(part, field(part.column()), self.time)? * ids + i)
            }
        }
    }

    /// Appends cell `i`'s packed group key (no parts for the total).
    fn push_key(&self, i: usize, key: &mut Vec<u8>) {
        match self.key {
            DenseKey::Total => {}
            DenseKey::Int { lo, .. } => push_part(key, (lo + i).to_string().as_bytes()),
            DenseKey::Hour(c) => push_part(key, &part_text(KeyFn::Hour(c), i)),
            DenseKey::Weekday(c) => push_part(key, &part_text(KeyFn::Weekday(c), i)),
            DenseKey::IntPart {
                lo,
                ids,
                part,
                int_first,
                ..
            } => {
                let int = (lo + i % ids).to_string();
                let part = part_text(part, i / ids);
                let (a, b) = if int_first {
                    (int.as_bytes(), &part[..])
                } else {
                    (&part[..], int.as_bytes())
                };
                push_part(key, a);
                push_part(key, b);
            }
        }
    }

    /// Folds one encoded delta (as [`DenseDelta::encode`] wrote it) into shared words through
    /// `modify(first, len, f)`; `negate` takes it back out instead. False when the bytes do
    /// not fit this layout or `modify` refused.
    fn apply(
        &self,
        bytes: &[u8],
        negate: bool,
        mut modify: impl FnMut(usize, usize, &mut dyn FnMut(&mut [u64])) -> bool,
    ) -> bool {
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect();
        if !bytes.len().is_multiple_of(8) || words.len() < self.specs.len() {
            return false;
        }
        let (cells, globals) = words.split_at(words.len() - self.specs.len());
        if cells.len() % (self.width + 1) != 0 {
            return false;
        }
        for cell in cells.chunks_exact(self.width + 1) {
            let i = cell[0] as usize;
            if i >= self.cells {
                return false;
            }
            let ok = modify(i * self.width, self.width, &mut |w| {
                self.add_cell(w, &cell[1..], negate)
            });
            if !ok {
                return false;
            }
        }
        modify(self.globals_at(), self.specs.len(), &mut |w| {
            for (a, &b) in w.iter_mut().zip(globals) {
                *a = if negate {
                    a.wrapping_sub(b)
                } else {
                    a.wrapping_add(b)
                };
            }
        })
    }

    /// `dst += src` (or `-=`), word by word for counts and with carries across each 4-word
    /// sum, so sums stay exact 256-bit integers and subtraction undoes addition exactly.
    fn add_cell(&self, dst: &mut [u64], src: &[u64], negate: bool) {
        let one = |a: &mut u64, b: u64| {
            *a = if negate {
                a.wrapping_sub(b)
            } else {
                a.wrapping_add(b)
            }
        };
        one(&mut dst[0], src[0]);
        for &(func, at) in &self.specs {
            let words = state_words(func).unwrap_or(0);
            if words == 0 {
                continue;
            }
            // Counters (count(COL) has two), then 4-word sums.
            let counters = if let AggFn::CountNonEmpty(_) = func {
                2
            } else {
                1
            };
            for w in at..at + counters {
                one(&mut dst[w], src[w]);
            }
            let mut wide = at + counters;
            while wide < at + words {
                add_wide(&mut dst[wide..wide + 4], &src[wide..wide + 4], negate);
                wide += 4;
            }
        }
    }

    /// Builds the table of every non-empty cell of `words` (the region's accumulators).
    ///
    /// Cells are distinct keys, so groups are added without a lookup, into an index sized
    /// up front; each key's slot is prefetched a few groups ahead, since at hundreds of
    /// thousands of cells (ids by hour) nearly every slot is a cache miss.
    pub fn table(&self, plan: &AggPlan, words: &[u64]) -> AggTable {
        if words.len() < self.words() {
            return AggTable::new(plan);
        }
        let cell = |i: usize| &words[i * self.width..(i + 1) * self.width];
        let used: Vec<usize> = (0..self.cells).filter(|&i| cell(i)[0] != 0).collect();
        let mut keys = Vec::new();
        let mut ends = Vec::with_capacity(used.len());
        let mut hashes = Vec::with_capacity(used.len());
        for &i in &used {
            let start = keys.len();
            self.push_key(i, &mut keys);
            hashes.push(key_hash(&keys[start..]));
            ends.push(keys.len());
        }
        let mut table = AggTable::with_groups(plan, used.len());
        const AHEAD: usize = 8;
        for (k, &i) in used.iter().enumerate() {
            if let Some(&h) = hashes.get(k + AHEAD) {
                table.index.prefetch(h);
            }
            let start = if k == 0 { 0 } else { ends[k - 1] };
            let g = table.push_distinct(hashes[k], &keys[start..ends[k]]);
            let cell = cell(i);
            table.records[g] = cell[0];
            for (column, &(_, at)) in table.columns.iter_mut().zip(&self.specs) {
                match column {
                    Column::NonEmpty(v) => {
                        v[g] = Present {
                            n: cell[at],
                            markers: cell[at + 1],
                        }
                    }
                    Column::Sum(v) => {
                        v[g] = SumState {
                            n: cell[at],
                            sum: sum256(&cell[at + 1..at + 5]),
                        }
                    }
                    Column::Spread(v) => {
                        v[g] = SpreadState {
                            n: cell[at],
                            sum: sum256(&cell[at + 1..at + 5]),
                            squares: u256(&cell[at + 5..at + 9]),
                        }
                    }
                    _ => {}
                }
            }
        }
        for (s, &n) in words[self.globals_at()..self.words()].iter().enumerate() {
            match self.specs[s].0 {
                AggFn::CountNonEmpty(_) => table.text_values[s] = n,
                _ => table.malformed_values[s] = n,
            }
        }
        table
    }
}

/// 256-bit two's complement `dst += src` (or `-=`) over little-endian words.
fn add_wide(dst: &mut [u64], src: &[u64], negate: bool) {
    let mut carry = 0u64;
    for (a, &b) in dst.iter_mut().zip(src) {
        if negate {
            let (d, b1) = a.overflowing_sub(b);
            let (d, b2) = d.overflowing_sub(carry);
            *a = d;
            carry = u64::from(b1 || b2);
        } else {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(carry);
            *a = s;
            carry = u64::from(c1 || c2);
        }
    }
}

fn sum256(w: &[u64]) -> Sum256 {
    Sum256 {
        lo: u128::from(w[0]) | (u128::from(w[1]) << 64),
        hi: (u128::from(w[2]) | (u128::from(w[3]) << 64)) as i128,
    }
}

fn u256(w: &[u64]) -> U256 {
    U256 {
        lo: u128::from(w[0]) | (u128::from(w[1]) << 64),
        hi: u128::from(w[2]) | (u128::from(w[3]) << 64),
    }
}

fn put_wide(w: &mut [u64], lo: u128, hi: u128) {
    w[0] = lo as u64;
    w[1] = (lo >> 64) as u64;
    w[2] = hi as u64;
    w[3] = (hi >> 64) as u64;
}

/// Specs a record's parsed values are buffered for (see [`DenseDelta::update`]).
const PIPELINE_SPECS: usize = 8;

/// One aggregate input of a record, parsed.
#[derive(Debug, Clone, Copy, Default)]
enum Parsed {
    /// Nothing to add (count, or a missing value).
    #[default]
    Skip,
    /// A value for count(COL), and whether it was found to be text.
    Present {
        text: bool,
    },
    /// A default marker for count(COL).
    Marker,
    Number(i128),
    /// Neither a number nor missing, for a numeric aggregate.
    Bad,
}

/// A worker's private cells for the chunk in hand, in the shared layout, reused from chunk
/// to chunk: only touched cells are encoded and then cleared.
///
/// Keys such as taxi ids hit cells at random in an array of megabytes, so each update would
/// wait on a cache miss. Instead a record's values are parsed and its cell prefetched, and
/// the update is applied when the next record arrives: the miss overlaps the next record's
/// work.
#[derive(Debug, Default)]
pub struct DenseDelta {
    words: Vec<u64>,
    /// Narrow cells (see [`Narrow`]), when the chunk and the plan allow them.
    narrow: Vec<u64>,
    shape: Option<Narrow>,
    touched: Vec<u32>,
    /// Two records' parsed values, filled in turn so nothing is copied: the one not being
    /// filled is the record still waiting for its cell.
    pipe: [(usize, [Parsed; PIPELINE_SPECS]); 2],
    /// The slot the next record fills.
    next: usize,
    pending: bool,
}

/// The private cells a worker updates per record, narrower than the shared layout: `u32`
/// counters packed two to a word and one `i64` sum per summed spec, instead of `u64` counters
/// and 256-bit sums. For `count` plus `mean(speed)` a cell is 16 bytes instead of 48, so the
/// cells of some 45,000 taxi ids stay in a 1 MiB L2 cache instead of missing it on every
/// record, and an update is one add instead of a carry chain. They are folded into the wide
/// cells when the chunk is encoded. Exactness is kept by construction: a chunk of under 2^32
/// bytes has under 2^32 records, so no counter can wrap, and a value or sum that leaves `i64`
/// goes to the wide cell's sum directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Narrow {
    /// Words per narrow cell.
    width: usize,
    /// The specs that read a column, in order (plain `count` is lane 0 of every cell).
    ops: [NarrowOp; PIPELINE_SPECS],
    n_ops: usize,
}

/// What a record does to a narrow cell for one spec that reads a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct NarrowOp {
    column: usize,
    spec: usize,
    /// Its counter's lane (lane 0 counts records; lane `l` is bits `32 * (l % 2)` of word
    /// `l / 2`).
    lane: u8,
    /// The word of its `i64` sum, or `NONE` for `count(COL)`.
    sum: u8,
    /// For `count(COL)`, the lane counting default markers; `NONE` for sums.
    markers: u8,
}

const NONE: u8 = u8::MAX;

impl Narrow {
    /// The narrow shape for `layout`, if every spec has one (not stddev, whose squares need
    /// the wide cell) and there are few enough specs for the pipeline. Not when a null marker
    /// could pass for a number (`--null -999`): the narrow step reads short integers without
    /// looking for markers, so such plans take the wide cells, which do.
    fn for_layout(layout: &DenseLayout) -> Option<Narrow> {
        if layout.specs.len() > PIPELINE_SPECS || layout.nulls.has_numeric_marker() {
            return None;
        }
        let mut ops = [NarrowOp::default(); PIPELINE_SPECS];
        let mut n_ops = 0;
        for (s, &(func, _)) in layout.specs.iter().enumerate() {
            match func {
                AggFn::Count => {}
                AggFn::CountNonEmpty(column) | AggFn::Sum(column) | AggFn::Mean(column) => {
                    let summed = !matches!(func, AggFn::CountNonEmpty(_));
                    ops[n_ops] = NarrowOp {
                        column,
                        spec: s,
                        lane: n_ops as u8 + 1,
                        sum: if summed { 0 } else { NONE },
                        markers: NONE,
                    };
                    n_ops += 1;
                }
                _ => return None,
            }
        }
        // Counter words first (lanes 0..=n_ops, then a markers lane per count(COL), two to a
        // word), then one word per sum.
        let mut lanes = n_ops + 1;
        for op in ops[..n_ops].iter_mut().filter(|op| op.sum == NONE) {
            op.markers = lanes as u8;
            lanes += 1;
        }
        let mut width = lanes.div_ceil(2);
        for op in ops[..n_ops].iter_mut().filter(|op| op.sum != NONE) {
            op.sum = width as u8;
            width += 1;
        }
        Some(Narrow { width, ops, n_ops })
    }
}

/// [`DenseDelta::update`]'s narrow step for a sum's value that is not a short integer.
#[inline(never)]
fn add_narrow_slow(
    narrow: &mut [u64],
    words: &mut [u64],
    layout: &DenseLayout,
    shape: &Narrow,
    i: usize,
    op: &NarrowOp,
    value: &[u8],
) {
    let Some(x) = scaled(value) else {
        // No marker is a number here (see `Narrow::for_layout`): missing, or not usable.
        if !layout.nulls.is_marker(value) {
            words[layout.globals_at() + op.spec] += 1;
        }
        return;
    };
    let cell = &mut narrow[i * shape.width..(i + 1) * shape.width];
    bump(cell, op.lane);
    add_sum(&mut cell[usize::from(op.sum)], words, layout, i, op.spec, x);
}

/// [`DenseDelta::update`]'s narrow step for a `count(COL)` value that is not a short integer
/// (or may be a marker).
#[inline(never)]
fn count_narrow_slow(
    narrow: &mut [u64],
    words: &mut [u64],
    layout: &DenseLayout,
    shape: &Narrow,
    i: usize,
    op: &NarrowOp,
    value: &[u8],
) {
    let cell = &mut narrow[i * shape.width..(i + 1) * shape.width];
    let found = &mut words[layout.globals_at() + op.spec];
    match count_value(&layout.nulls, value, *found > 0) {
        Parsed::Present { text } => {
            bump(cell, op.lane);
            *found |= u64::from(text);
        }
        Parsed::Marker => bump(cell, op.markers),
        _ => {}
    }
}

/// Adds `x` to a narrow cell's `i64` sum, or, for a value or total out of `i64`'s reach, to
/// spec `spec`'s wide sum in cell `i`.
#[inline(always)]
fn add_sum(sum: &mut u64, words: &mut [u64], layout: &DenseLayout, i: usize, spec: usize, x: i128) {
    match i64::try_from(x)
        .ok()
        .and_then(|x| (*sum as i64).checked_add(x))
    {
        Some(total) => *sum = total as u64,
        None => add_wide_sum(words, layout, i, spec, x),
    }
}

fn add_wide_sum(words: &mut [u64], layout: &DenseLayout, i: usize, spec: usize, x: i128) {
    let at = i * layout.width + layout.specs[spec].1;
    let mut wide = sum256(&words[at + 1..at + 5]);
    wide.add(x);
    put_wide(&mut words[at + 1..at + 5], wide.lo, wide.hi as u128);
}

/// Adds one to counter `lane` of a narrow cell.
#[inline(always)]
fn bump(cell: &mut [u64], lane: u8) {
    cell[usize::from(lane / 2)] += 1u64 << (32 * u32::from(lane % 2));
}

/// Counter `lane` of a narrow cell.
#[inline(always)]
fn lane(cell: &[u64], lane: u8) -> u64 {
    (cell[usize::from(lane / 2)] >> (32 * u32::from(lane % 2))) & u64::from(u32::MAX)
}

/// [`DenseDelta::update`]'s narrow strategy. Narrow cells sit in the L2 cache: a prefetch
/// now covers its latency while the values are parsed, and going straight to the cell saves
/// storing and reloading them through the pipe. A free function over the delta's fields, so
/// the shape it reads stays borrowed from the delta rather than copied per record.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_narrow<'f>(
    narrow: &mut [u64],
    words: &mut [u64],
    touched: &mut Vec<u32>,
    layout: &DenseLayout,
    shape: &Narrow,
    i: usize,
    line: &[u8],
    field: &impl Fn(usize) -> &'f [u8],
) {
    let at = i * shape.width;
    prefetch(narrow, at, shape.width);
    for op in &shape.ops[..shape.n_ops] {
        let value = field(op.column);
        if value.is_empty() {
            continue;
        }
        if op.sum != NONE {
            // A short integer is a number, never missing (no marker is a number here, see
            // `Narrow::for_layout`).
            let Some(v) = crate::simd::digits::short_digits(line, value) else {
                // Anything else: the general reading, out of line.
                add_narrow_slow(narrow, words, layout, shape, i, op, value);
                continue;
            };
            let x = i128::from(v * POW10[SCALE_DIGITS]);
            let sum = &mut narrow[at + usize::from(op.sum)];
            add_sum(sum, words, layout, i, op.spec, x);
        } else if !Decimal::is_plain(value) {
            // count(COL): a plain number is never missing nor text (no marker is a number
            // here); anything else is looked at out of line.
            count_narrow_slow(narrow, words, layout, shape, i, op, value);
            continue;
        }
        bump(&mut narrow[at..], op.lane);
    }
    let cell = &mut narrow[at..at + shape.width];
    if lane(cell, 0) == 0 {
        touched.push(i as u32);
    }
    bump(cell, 0);
}

impl DenseDelta {
    /// Sizes the delta for `layout` and a chunk of `bytes` bytes; called once per chunk (or
    /// streamed piece), before any `update`, when the delta is empty.
    pub fn prepare(&mut self, layout: &DenseLayout, bytes: usize) {
        self.size(layout);
        self.shape = Narrow::for_layout(layout).filter(|_| bytes < 1 << 32);
        if let Some(shape) = self.shape {
            let len = layout.cells * shape.width;
            if self.narrow.len() != len {
                // Zeroed pages not yet touched: huge pages can still back them (cells of ids
                // by hour are megabytes, hit at random).
                self.narrow = vec![0; len];
                crate::sys::advise_huge(&mut self.narrow);
            }
        }
    }

    fn size(&mut self, layout: &DenseLayout) {
        if self.words.len() != layout.words() {
            self.words = vec![0; layout.words()];
            self.touched.clear();
            self.pending = false;
            self.shape = None;
        }
    }

    /// Adds narrow cell `i` into its wide cell and zeroes it.
    fn fold(&mut self, layout: &DenseLayout, i: usize) {
        let Some(shape) = self.shape else {
            return;
        };
        let cell = &mut self.narrow[i * shape.width..(i + 1) * shape.width];
        let wide = &mut self.words[i * layout.width..(i + 1) * layout.width];
        wide[0] += lane(cell, 0);
        for op in &shape.ops[..shape.n_ops] {
            let at = layout.specs[op.spec].1;
            wide[at] += lane(cell, op.lane);
            if op.markers != NONE {
                wide[at + 1] += lane(cell, op.markers);
            }
            if op.sum != NONE {
                let mut sum = sum256(&wide[at + 1..at + 5]);
                sum.add(i128::from(cell[usize::from(op.sum)] as i64));
                put_wide(&mut wide[at + 1..at + 5], sum.lo, sum.hi as u128);
            }
        }
        cell.fill(0);
    }

    /// Adds one record to cell `i` (possibly only when the next record comes, or at
    /// [`DenseDelta::encode`]). One of three strategies, fixed per chunk by `prepare`:
    /// narrow cells when every spec has a narrow form ([`update_narrow`]), else the
    /// wide cells directly when there are more specs than the pipeline holds
    /// ([`Self::update_direct`]), else the wide cells one record late
    /// ([`Self::update_pipelined`]).
    #[inline]
    pub fn update<'f>(
        &mut self,
        layout: &DenseLayout,
        i: usize,
        line: &[u8],
        field: &impl Fn(usize) -> &'f [u8],
    ) {
        debug_assert_eq!(self.words.len(), layout.words(), "prepare() first");
        if let Some(shape) = &self.shape {
            update_narrow(
                &mut self.narrow,
                &mut self.words,
                &mut self.touched,
                layout,
                shape,
                i,
                line,
                field,
            );
        } else if layout.specs.len() > PIPELINE_SPECS {
            self.update_direct(layout, i, line, field);
        } else {
            self.update_pipelined(layout, i, line, field);
        }
    }

    /// More specs than the pipeline holds: every value parsed and added at once.
    #[inline(always)]
    fn update_direct<'f>(
        &mut self,
        layout: &DenseLayout,
        i: usize,
        line: &[u8],
        field: &impl Fn(usize) -> &'f [u8],
    ) {
        count_record(&mut self.words, &mut self.touched, layout, i);
        for (s, &(func, _)) in layout.specs.iter().enumerate() {
            let text_known = self.words[layout.globals_at() + s] > 0;
            let parsed = parse(layout, func, text_known, line, field);
            apply_one(&mut self.words, layout, i, s, parsed);
        }
    }

    /// The record's values are parsed now and added when the next record comes, so the
    /// prefetch of its wide cell has a record's worth of time to arrive.
    #[inline(always)]
    fn update_pipelined<'f>(
        &mut self,
        layout: &DenseLayout,
        i: usize,
        line: &[u8],
        field: &impl Fn(usize) -> &'f [u8],
    ) {
        let slot = self.next;
        self.pipe[slot].0 = i;
        let globals = &self.words[layout.globals_at()..];
        let specs = self.pipe[slot].1.iter_mut().zip(&layout.specs).zip(globals);
        for ((value, &(func, _)), &found) in specs {
            *value = parse(layout, func, found > 0, line, field);
        }
        prefetch(&self.words, i * layout.width, layout.width);
        if self.pending {
            self.apply(layout, slot ^ 1);
        }
        self.pending = true;
        self.next = slot ^ 1;
    }

    /// Applies the record waiting in pipe slot `slot`.
    #[inline]
    fn apply(&mut self, layout: &DenseLayout, slot: usize) {
        let (i, values) = self.pipe[slot];
        count_record(&mut self.words, &mut self.touched, layout, i);
        for (s, &p) in values.iter().enumerate().take(layout.specs.len()) {
            apply_one(&mut self.words, layout, i, s, p);
        }
    }

    fn flush(&mut self, layout: &DenseLayout) {
        if self.pending {
            self.apply(layout, self.next ^ 1);
            self.pending = false;
        }
    }

    /// Appends the touched cells (index, then the cell's words) and the malformed counters,
    /// all little-endian u64, and clears the delta for the next chunk.
    pub fn encode(&mut self, layout: &DenseLayout, out: &mut Vec<u8>) {
        self.size(layout);
        self.flush(layout);
        self.touched.sort_unstable();
        for k in 0..self.touched.len() {
            self.fold(layout, self.touched[k] as usize);
        }
        for &i in &self.touched {
            let cell = &mut self.words[i as usize * layout.width..][..layout.width];
            out.extend_from_slice(&u64::from(i).to_le_bytes());
            for w in cell.iter_mut() {
                out.extend_from_slice(&w.to_le_bytes());
                *w = 0;
            }
        }
        self.touched.clear();
        for w in &mut self.words[layout.globals_at()..] {
            out.extend_from_slice(&w.to_le_bytes());
            *w = 0;
        }
    }

    /// Adds the touched cells and malformed counters into `words` (an array of this layout,
    /// e.g. a streamed file's total over its pieces) and clears the delta.
    pub fn drain_into(&mut self, layout: &DenseLayout, words: &mut [u64]) {
        self.size(layout);
        self.flush(layout);
        for k in 0..self.touched.len() {
            self.fold(layout, self.touched[k] as usize);
        }
        for &i in &self.touched {
            let cell = i as usize * layout.width..(i as usize + 1) * layout.width;
            layout.add_cell(&mut words[cell.clone()], &self.words[cell.clone()], false);
            self.words[cell].fill(0);
        }
        self.touched.clear();
        let globals = layout.globals_at()..layout.words();
        for (a, b) in words[globals.clone()]
            .iter_mut()
            .zip(&mut self.words[globals])
        {
            *a = a.wrapping_add(*b);
            *b = 0;
        }
    }

    /// Forgets everything since the chunk started.
    pub fn clear(&mut self, layout: &DenseLayout) {
        let mut sink = Vec::new();
        self.encode(layout, &mut sink);
    }
}

/// What record field `func` reads holds, for the wide cells; `text_known`: this delta has
/// found text for the spec already, so count(COL) need not look again.
#[inline(always)]
fn parse<'f>(
    layout: &DenseLayout,
    func: AggFn,
    text_known: bool,
    line: &[u8],
    field: &impl Fn(usize) -> &'f [u8],
) -> Parsed {
    let value = match func.column() {
        Some(c) => field(c),
        None => return Parsed::Skip,
    };
    if value.is_empty() {
        return Parsed::Skip;
    }
    let nulls = &layout.nulls;
    if let AggFn::CountNonEmpty(_) = func {
        return count_value(nulls, value, text_known);
    }
    if nulls.has_numeric_marker() && nulls.is_marker(value) {
        return Parsed::Skip;
    }
    match scaled_in(line, value) {
        Some(x) => Parsed::Number(x),
        None if nulls.is_marker(value) => Parsed::Skip,
        None => Parsed::Bad,
    }
}

/// count(COL)'s reading of a non-empty value (see `accum.rs`); whether it is text is only
/// looked at while `text_known` is false (one text value is all the output needs).
#[inline]
fn count_value(nulls: &NullMarkers, value: &[u8], text_known: bool) -> Parsed {
    if nulls.is_marker(value) {
        if nulls.is_null_everywhere(value) {
            Parsed::Skip
        } else {
            Parsed::Marker
        }
    } else {
        Parsed::Present {
            text: !text_known && is_text(value),
        }
    }
}

fn count_record(words: &mut [u64], touched: &mut Vec<u32>, layout: &DenseLayout, i: usize) {
    let base = i * layout.width;
    if words[base] == 0 {
        touched.push(i as u32);
    }
    words[base] += 1;
}

#[inline]
fn apply_one(words: &mut [u64], layout: &DenseLayout, i: usize, s: usize, p: Parsed) {
    let (func, at) = layout.specs[s];
    let at = i * layout.width + at;
    match p {
        Parsed::Skip => {}
        Parsed::Present { text } => {
            words[at] += 1;
            // A flag, not a count: the same whether narrow or wide cells, pipelined or not,
            // saw the text first.
            words[layout.globals_at() + s] |= u64::from(text);
        }
        Parsed::Marker => words[at + 1] += 1,
        Parsed::Bad => words[layout.globals_at() + s] += 1,
        Parsed::Number(x) => {
            words[at] += 1;
            let mut sum = sum256(&words[at + 1..at + 5]);
            sum.add(x);
            put_wide(&mut words[at + 1..at + 5], sum.lo, sum.hi as u128);
            if let AggFn::Stddev(_) = func {
                let mut sq = u256(&words[at + 5..at + 9]);
                sq.add_square(x);
                put_wide(&mut words[at + 5..at + 9], sq.lo, sq.hi);
            }
        }
    }
}

impl DenseLayout {
    /// Adds an encoded delta to the shared words (a worker, under the lock, logging for undo).
    pub fn commit(&self, bytes: &[u8], acc: &mut crate::shm::region::Accumulators<'_, '_>) -> bool {
        self.apply(bytes, false, |first, len, f| {
            acc.modify(first, len, |w| f(w))
        })
    }

    /// Encodes a whole array of this layout's words as [`DenseDelta::encode`] would.
    pub fn encode_words(&self, words: &[u64], out: &mut Vec<u8>) {
        for i in 0..self.cells {
            let cell = &words[i * self.width..(i + 1) * self.width];
            if cell[0] != 0 {
                out.extend_from_slice(&(i as u64).to_le_bytes());
                for w in cell {
                    out.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        for w in &words[self.globals_at()..self.words()] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// Subtracts an encoded delta that was committed before.
    pub fn uncommit(
        &self,
        bytes: &[u8],
        acc: &mut crate::shm::region::Accumulators<'_, '_>,
    ) -> bool {
        self.apply(bytes, true, |first, len, f| {
            acc.modify(first, len, |w| f(w))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::schema::Schema;

    /// Runs the same records through a delta with narrow cells and one without: the encoded
    /// deltas must be the same bytes, with sums that leave `i64` on the way (one value alone,
    /// and two that only overflow together), negative and fractional values, bad, empty and
    /// missing ones, and a second chunk in the same deltas to show the cells were cleared;
    /// with the default null rule and with given markers. (Markers that are numbers take the
    /// wide cells only: `engine/tests/missing.rs` holds those to the reference.)
    /// An integer paired with an hour or weekday, in either order, gets ids x parts cells,
    /// hour-major, cut to the size cap; the cell of a record and the key of a cell agree.
    #[test]
    fn integer_and_time_part_pairs() {
        let schema = Schema::new(None, 3);
        let time = b"2015-02-03 17:04:05";
        for (keys, parts, int_first) in [
            ("1,hour(2)", 24, true),
            ("hour(2),1", 24, false),
            ("1,weekday(2)", 7, true),
            ("weekday(2),1", 7, false),
        ] {
            let plan = AggPlan::parse(Some(keys), &["count", "mean(3)"], &schema).expect("plan");
            let layout = DenseLayout::for_plan(&plan, Some((100, 139))).expect("a dense plan");
            assert_eq!(layout.cells, 40 * parts, "{keys}");
            let fields: [&[u8]; 3] = [b"117", time, b"5"];
            let field = |i: usize| fields[i];
            let line = b"117,2015-02-03 17:04:05,5";
            let i = layout.cell_of(line, &field).expect("a cell");
            let part = if parts == 24 { 17 } else { 1 };
            assert_eq!(i, part * 40 + 17, "{keys}: part-major");
            let mut key = Vec::new();
            layout.push_key(i, &mut key);
            let (id, p) = (b"117".to_vec(), part_text(layout_part(&layout), part));
            let mut want = Vec::new();
            for text in if int_first { [&id, &p] } else { [&p, &id] } {
                push_part(&mut want, text);
            }
            assert_eq!(key, want, "{keys}");
            // Out of range, not an integer, not a time: the hashed path.
            for bad in [
                [&b"99"[..], time, b"5"],
                [b"0117", time, b"5"],
                [b"117", b"soon", b"5"],
            ] {
                assert_eq!(
                    layout.cell_of(b"", &|i: usize| bad[i]),
                    None,
                    "{keys} {bad:?}"
                );
            }
        }
        // Pairs of anything else are not dense; a huge id range is cut to the cap.
        for keys in ["1,day(2)", "1,3", "hour(2),weekday(2)", "1,hour(2),3"] {
            let plan = AggPlan::parse(Some(keys), &["count"], &schema).expect("plan");
            assert_eq!(DenseLayout::for_plan(&plan, Some((0, 99))), None, "{keys}");
        }
        let plan =
            AggPlan::parse(Some("1,hour(2)"), &["count", "stddev(3)"], &schema).expect("plan");
        let layout = DenseLayout::for_plan(&plan, Some((0, 1 << 40))).expect("a dense plan");
        assert!(
            layout.cells * layout.width * 8 <= MAX_ARRAY_BYTES,
            "{}",
            layout.cells
        );
        assert_eq!(layout.cells % 24, 0);
        // 30,000 taxi ids by hour, count and mean: 35 MB of cells, so a job with 2 workers
        // needs more than 100 MB and a 64 MiB --memory takes the hashed path.
        let plan = AggPlan::parse(Some("1,hour(2)"), &["count", "mean(3)"], &schema).expect("plan");
        let layout = DenseLayout::for_plan(&plan, Some((10_000, 39_999))).expect("a dense plan");
        assert_eq!(layout.cells, 720_000);
        assert!(layout.footprint(2) > 64 << 20 && layout.footprint(2) < 1 << 30);
        assert!(layout.footprint(3) > layout.footprint(2));
    }

    fn layout_part(layout: &DenseLayout) -> KeyFn {
        match layout.key {
            DenseKey::IntPart { part, .. } => part,
            other => panic!("not a pair: {other:?}"),
        }
    }

    #[test]
    fn narrow_cells_encode_exactly_like_wide_ones() {
        let schema = Schema::new(None, 3);
        let aggs = ["count", "sum(2)", "mean(3)", "count(3)"];
        for nulls in [NullMarkers::default(), NullMarkers::only(&["x", "NA"])] {
            let plan = AggPlan::parse(Some("1"), &aggs, &schema)
                .expect("plan")
                .with_nulls(nulls.clone());
            let layout = DenseLayout::for_plan(&plan, Some((100, 140))).expect("a dense plan");
            let values: [&[u8]; 11] = [
                b"5",
                b"9223372036",
                b"-9223372036.854775808",
                b"4611686018.5",
                b"",
                b"x",
                b"0.000000001",
                b"99999999999999",
                b"NA",
                b"\\N",
                b"1.5e3",
            ];
            let mut narrow = DenseDelta::default();
            let mut wide = DenseDelta::default();
            for round in 0..2 {
                narrow.prepare(&layout, 1000);
                wide.prepare(&layout, 1 << 32);
                assert!(narrow.shape.is_some() && wide.shape.is_none());
                for k in 0..5000usize {
                    let key = (100 + (k * 7 + round) % 41).to_string();
                    let parts = [
                        key.as_bytes(),
                        values[k % values.len()],
                        values[(k * 3 + round) % values.len()],
                    ];
                    // The fields as slices of their line (the kernel's quote-free case, read a
                    // word at a time) or of a copy apart from it (the full parser's case).
                    let line = parts.join(&b',');
                    let mut fields: [&[u8]; 3] = [&[]; 3];
                    let mut at = 0;
                    for (f, part) in fields.iter_mut().zip(parts) {
                        *f = if k % 2 == 0 {
                            &line[at..at + part.len()]
                        } else {
                            part
                        };
                        at += part.len() + 1;
                    }
                    let field = |i: usize| fields[i];
                    let i = layout.cell_of(&line, &field).expect("the key is in range");
                    narrow.update(&layout, i, &line, &field);
                    wide.update(&layout, i, &line, &field);
                }
                let (mut a, mut b) = (Vec::new(), Vec::new());
                narrow.encode(&layout, &mut a);
                wide.encode(&layout, &mut b);
                assert!(a.len() > 41 * 8, "every cell was touched");
                assert!(a == b, "round {round}: narrow and wide deltas differ");
            }
        }
        let plan = AggPlan::parse(Some("1"), &aggs, &schema)
            .expect("plan")
            .with_nulls(NullMarkers::only(&["-999"]));
        let layout = DenseLayout::for_plan(&plan, Some((100, 140))).expect("a dense plan");
        assert_eq!(
            Narrow::for_layout(&layout),
            None,
            "a marker that is a number"
        );
    }
}
