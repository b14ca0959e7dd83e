//! [`ColumnProfile`]: what one pass learns about one column, kept so that the profiles of two
//! parts of the data merge into exactly the profile of both. A worker fills one profile per
//! column for its chunk; the coordinator merges the chunks' profiles in plan order.
//!
//! Every part merges exactly, whatever the chunking: counts and the exact sums
//! ([`Sum256`]/[`U256`], the agg module's) add; minima and maxima are taken on exact keys;
//! the type guess is the column files' own ([`ColumnGuess`]). Distinct values are counted
//! per text in a map while a column has at most [`EXACT_CAP`] of them: quantiles, distinct
//! counts and the top values are then exact. Past the cap the map becomes two sketches
//! ([`Sketches`]): HyperLogLog registers (merged by maximum) for the distinct count and a
//! [`QuantileSketch`] (bins merged by addition) for quantiles. Whether a column is exact does
//! not depend on the chunking either: a union passes the cap exactly when the whole column
//! does.
//!
//! What a value costs matters here (every field of every record): each value's bytes are
//! classified once ([`plain_number`]: number, and whether `fleet convert` would read it as an
//! int or a float, in one pass), texts that are small integers (`0`..`999`, as speeds,
//! headings, flags) are counted in an array indexed by value ([`ExactCounts`]) rather than
//! hashed, and numbers are no longer read once the column cannot be numeric.

use super::quantile_sketch::QuantileSketch;
use crate::agg::exact::{scaled, Sum256, POW10, SCALE_DIGITS, U256};
use crate::columnar::ColumnGuess;
use crate::input::nulls::NullMarkers;
use crate::query::timestamp::{parse_timestamp, Timestamp};
use crate::simd::digits::short_digits;
use hyperloglogplus::{HyperLogLog, HyperLogLogPF};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Distinct texts per column counted exactly; past it, sketches.
pub const EXACT_CAP: usize = 10_000;
/// HyperLogLog precision: 2^14 registers, a standard error of about 0.8%.
const HLL_PRECISION: u8 = 14;

/// A hasher whose hashes are the same in every worker process and thread, so HyperLogLog
/// registers filled by different workers merge.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FixedHasher;

impl BuildHasher for FixedHasher {
    type Hasher = foldhash::fast::FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        // FixedState: the same seeds in every process (RandomState would differ per process).
        foldhash::fast::FixedState::with_seed(0x243f_6a88_85a3_08d3).build_hasher()
    }
}

/// Values are inserted as byte slices (`Vec<u8>: Borrow<[u8]>`).
pub type Hll = HyperLogLogPF<Vec<u8>, FixedHasher>;

/// Counts per distinct text while a column is exact. Looked up once per value: foldhash
/// (std's SipHash cost more than the rest of a value's profiling); seeded per process, as
/// the map never leaves it (it travels as text and count pairs).
pub type Counts = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

/// The approximate state past [`EXACT_CAP`] distinct values.
#[derive(Clone)]
pub struct Sketches {
    /// Every value's text (not the default markers, counted apart).
    pub hll: Hll,
    /// Every value that is a number, while the column may be numeric.
    pub quantiles: QuantileSketch,
}

impl std::fmt::Debug for Sketches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketches")
            .field("numbers", &self.quantiles.count())
            .finish()
    }
}

impl Sketches {
    pub fn new() -> Sketches {
        Sketches {
            // The precision is a constant inside the allowed range.
            hll: match Hll::new(HLL_PRECISION, FixedHasher) {
                Ok(h) => h,
                Err(_) => unreachable!("HLL_PRECISION is within 4..=16"),
            },
            quantiles: QuantileSketch::default(),
        }
    }

    /// Takes `count` values `text`, whose number (10^-9 units) is `number`.
    #[inline]
    fn add(&mut self, text: &[u8], number: Option<i128>, count: u64) {
        self.hll.insert(text);
        if let Some(v) = number {
            self.quantiles.add(v, count);
        }
    }

    fn merge(&mut self, other: &Sketches) {
        // Same precision and configuration on both sides: the merges cannot fail.
        let _ = self.hll.merge(&other.hll);
        self.quantiles.merge(&other.quantiles);
    }
}

impl Default for Sketches {
    fn default() -> Self {
        Sketches::new()
    }
}

/// `value` in 10^-9 units, exactly as [`scaled`] reads it, the commonest forms first: up to
/// 8 digits read as one word from `line`, the record's line ([`short_digits`]), then
/// [`plain_scaled`]; anything else takes the general grammar.
#[inline(always)]
pub(crate) fn number_in(line: &[u8], value: &[u8]) -> Option<i128> {
    if let Some(v) = short_digits(line, value) {
        return Some(i128::from(v * POW10[SCALE_DIGITS]));
    }
    plain_scaled(value).or_else(|| scaled(value))
}

/// An optional `-`, 1 to 9 digits and optionally a dot and 1 to 9 digits (`114.368542`),
/// in 10^-9 units: such a value fits a u64 without rounding. `None` for any other text,
/// which says nothing about whether it is a number.
#[inline(always)]
fn plain_scaled(text: &[u8]) -> Option<i128> {
    plain_scaled_dotted(text).map(|(v, _)| v)
}

/// [`plain_scaled`], and whether the text has a fraction (a dot).
#[inline(always)]
fn plain_scaled_dotted(text: &[u8]) -> Option<(i128, bool)> {
    let (negative, body) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let int_len = body
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    if !(1..=SCALE_DIGITS).contains(&int_len) {
        return None;
    }
    let digits = |d: &[u8]| d.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    let int = digits(&body[..int_len]);
    let dotted = int_len < body.len();
    let frac = match &body[int_len..] {
        [] => 0,
        [b'.', f @ ..]
            if (1..=SCALE_DIGITS).contains(&f.len()) && f.iter().all(u8::is_ascii_digit) =>
        {
            digits(f) * POW10[SCALE_DIGITS - f.len()]
        }
        _ => return None,
    };
    let v = i128::from(int * POW10[SCALE_DIGITS] + frac);
    Some((if negative { -v } else { v }, dotted))
}

/// What one pass over a value's bytes tells of the commonest numbers: an optional `-`, 1
/// to 9 digits and optionally a dot and 1 to 9 digits, with no leading zero (so that
/// `fleet convert` reads it as a float, and as an int when it has no dot and is not `-0`).
/// Its value in 10^-9 units and whether it is an int; `None` for any other text (which may
/// still be a number: the caller then takes the general route).
#[inline(always)]
pub(crate) fn plain_number(line: &[u8], value: &[u8]) -> Option<(i128, bool)> {
    if let Some(v) = short_digits(line, value) {
        // 1 to 8 digits: canonical unless a longer one starts with 0.
        if value.len() > 1 && value[0] == b'0' {
            return None;
        }
        return Some((i128::from(v * POW10[SCALE_DIGITS]), true));
    }
    if let Some(v) = dotted_words(line, value) {
        return Some((v, false));
    }
    plain_number_bytes(value)
}

/// [`plain_number`] byte by byte, for any length and position (and as the test oracle of
/// the word-at-a-time paths).
#[inline(always)]
fn plain_number_bytes(value: &[u8]) -> Option<(i128, bool)> {
    let (v, dotted) = plain_scaled_dotted(value)?;
    let negative = value[0] == b'-';
    let body = &value[usize::from(negative)..];
    if body.len() > 1 && body[0] == b'0' && body[1] != b'.' {
        return None;
    }
    let minus_zero = negative && v == 0;
    Some((v, !(dotted || minus_zero)))
}

/// Adds `v`'s square to `squares`: one multiplication when `|v|` fits 64 bits (every
/// number below 1.8e10, the usual case), else [`U256::add_square`]'s full product.
#[inline(always)]
fn add_square(squares: &mut U256, v: i128) {
    let m = v.unsigned_abs();
    if m >> 64 == 0 {
        squares.merge(U256 { lo: m * m, hi: 0 });
    } else {
        squares.add_square(v);
    }
}

/// Bit 7 of each byte of the result is set exactly where the byte of `x` is zero (no false
/// positives from borrows, unlike the shorter `(x - 0x01..) & !x & 0x80..`).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The commonest decimals with a fraction (`114.368542`, `-22.5`) read a word at a time: an
/// optional `-`, 1 to 8 digits with no leading zero, a dot and 1 to 7 digits, the whole
/// value inside `line` with at least 8 bytes of it before the value's end. The dot is found
/// in the last 8 bytes in one step and both digit runs are read by [`short_digits`], so
/// there is no loop over the bytes. `None` when the value is not of this form (which says
/// nothing about whether it is a number: [`plain_number`] then reads it byte by byte).
#[inline(always)]
fn dotted_words(line: &[u8], value: &[u8]) -> Option<i128> {
    let negative = value.first() == Some(&b'-');
    let body = &value[usize::from(negative)..];
    // Comparing addresses only locates `value` in `line`; the read is a checked slice.
    let end = (body.as_ptr() as usize).checked_sub(line.as_ptr() as usize)? + body.len();
    let last8: [u8; 8] = line.get(end.checked_sub(8)?..end)?.try_into().ok()?;
    let dots = zero_bytes(u64::from_le_bytes(last8) ^ 0x2E2E_2E2E_2E2E_2E2E);
    if dots == 0 {
        return None;
    }
    // The last dot: its byte index in the word, the value's last byte being byte 7.
    let frac_len = 7 - (63 - dots.leading_zeros() as usize) / 8;
    let int_len = body.len().checked_sub(frac_len + 1)?;
    if frac_len == 0 || int_len == 0 || (int_len > 1 && body[0] == b'0') {
        return None;
    }
    let int = short_digits(line, &body[..int_len])?;
    let frac = short_digits(line, &body[int_len + 1..])?;
    let v = i128::from(int * POW10[SCALE_DIGITS] + frac * POW10[SCALE_DIGITS - frac_len]);
    Some(if negative { -v } else { v })
}

/// The index of `text` among the small integers counted densely: `0`..`999` written with
/// no leading zero (no other text has the same index, so the array and the map never hold
/// the same text).
#[inline(always)]
fn small_index(text: &[u8]) -> Option<usize> {
    let d = |b: u8| b.wrapping_sub(b'0');
    match *text {
        [a] if d(a) < 10 => Some(usize::from(d(a))),
        [a, b] if (1..10).contains(&d(a)) && d(b) < 10 => {
            Some(usize::from(d(a)) * 10 + usize::from(d(b)))
        }
        [a, b, c] if (1..10).contains(&d(a)) && d(b) < 10 && d(c) < 10 => {
            Some(usize::from(d(a)) * 100 + usize::from(d(b)) * 10 + usize::from(d(c)))
        }
        _ => None,
    }
}

/// Small integers counted densely: `0`..`SMALL - 1`.
const SMALL: usize = 1000;

/// Counts per distinct text while a column is exact: the small integers ([`small_index`])
/// in an array indexed by value, a lookup with no hashing, and every other text in a map.
#[derive(Debug, Clone, Default)]
pub struct ExactCounts {
    map: Counts,
    /// Empty until a small integer is seen, then [`SMALL`] counts.
    small: Vec<u64>,
    /// Non-zero counts in `small`.
    small_distinct: usize,
}

impl ExactCounts {
    /// Distinct texts.
    pub fn len(&self) -> usize {
        self.map.len() + self.small_distinct
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `n` to the count of `text` when it is counted already or there is room for
    /// another distinct text; false (nothing done) when a new text would pass the cap.
    #[inline(always)]
    fn add(&mut self, text: &[u8], n: u64) -> bool {
        if let Some(i) = small_index(text) {
            // A small integer seen before (the usual case): one increment.
            if let Some(slot) = self.small.get_mut(i).filter(|c| **c > 0) {
                *slot += n;
                return true;
            }
            return self.add_new_small(i, n);
        }
        if let Some(c) = self.map.get_mut(text) {
            *c += n;
            return true;
        }
        if self.len() >= EXACT_CAP {
            return false;
        }
        self.map.insert(text.to_vec(), n);
        true
    }

    /// [`ExactCounts::add`] of the small integer of index `i`, not counted yet.
    #[inline(never)]
    fn add_new_small(&mut self, i: usize, n: u64) -> bool {
        if self.map.len() + self.small_distinct >= EXACT_CAP {
            return false;
        }
        if self.small.is_empty() {
            self.small = vec![0; SMALL];
        }
        self.small_distinct += 1;
        self.small[i] += n;
        true
    }

    fn contains(&self, text: &[u8]) -> bool {
        match small_index(text) {
            Some(i) => self.small.get(i).is_some_and(|&c| c > 0),
            None => self.map.contains_key(text),
        }
    }

    /// Each distinct text and its count (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, [u8]>, u64)> + '_ {
        let small = self
            .small
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (Cow::Owned(i.to_string().into_bytes()), c));
        self.map
            .iter()
            .map(|(k, &c)| (Cow::Borrowed(k.as_slice()), c))
            .chain(small)
    }
}

impl FromIterator<(Vec<u8>, u64)> for ExactCounts {
    /// Distinct texts and their counts (more than the cap are all kept).
    fn from_iter<I: IntoIterator<Item = (Vec<u8>, u64)>>(iter: I) -> ExactCounts {
        let mut e = ExactCounts::default();
        for (text, n) in iter {
            match small_index(&text) {
                Some(i) => {
                    if e.small.is_empty() {
                        e.small = vec![0; SMALL];
                    }
                    if e.small[i] == 0 {
                        e.small_distinct += 1;
                    }
                    e.small[i] += n;
                }
                None => *e.map.entry(text).or_insert(0) += n,
            }
        }
        e
    }
}

/// The distinct values of a column: exact counts per text, or sketches past the cap.
#[derive(Debug, Clone)]
pub enum Distinct {
    Exact(ExactCounts),
    Sketched(Box<Sketches>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(ExactCounts::default())
    }
}

impl Distinct {
    /// Takes one value `text`, whose number is `number`.
    #[inline(always)]
    fn add(&mut self, text: &[u8], number: Option<i128>) {
        match self {
            Distinct::Exact(counts) => {
                if !counts.add(text, 1) {
                    self.pass_the_cap(text, number);
                }
            }
            Distinct::Sketched(s) => s.add(text, number, 1),
        }
    }

    /// Takes `text`, the value that makes an exact column one too many: to sketches.
    #[cold]
    #[inline(never)]
    fn pass_the_cap(&mut self, text: &[u8], number: Option<i128>) {
        if let Distinct::Exact(counts) = self {
            let mut sketches = Self::sketch(counts);
            sketches.add(text, number, 1);
            *self = Distinct::Sketched(sketches);
        }
    }

    /// Takes the value just taken once more (see [`Repeat`]): its text is counted already
    /// or in the sketches, whose HyperLogLog registers it cannot change again.
    #[inline]
    fn add_again(&mut self, text: &[u8], number: Option<i128>) {
        match self {
            Distinct::Exact(counts) => {
                let counted = counts.add(text, 1);
                debug_assert!(counted, "a repeated text is in the exact counts");
            }
            Distinct::Sketched(s) => {
                if let Some(v) = number {
                    s.quantiles.add(v, 1);
                }
            }
        }
    }

    /// Takes the integers counted by value in [`DenseInts`]: `counts[i]` values `base + i`,
    /// `distinct` of them non-zero. The result is what taking each value alone gives: the
    /// exact counts if the column stays within the cap, else the sketches of every text
    /// (HyperLogLog registers keep a maximum and the quantile bins add, so one insert per
    /// distinct value with its count is the same as one per value).
    fn add_ints(&mut self, base: u64, counts: &[u32], distinct: usize) {
        let each = || {
            counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(move |(i, &c)| (base + i as u64, u64::from(c)))
        };
        let mut buf = [0u8; 20];
        if let Distinct::Exact(e) = self {
            let fits = e.len() + distinct <= EXACT_CAP || {
                let new = each()
                    .filter(|&(v, _)| !e.contains(int_text(v, &mut buf)))
                    .count();
                e.len() + new <= EXACT_CAP
            };
            if fits {
                for (v, c) in each() {
                    // Within the cap, as counted above.
                    let counted = e.add(int_text(v, &mut buf), c);
                    debug_assert!(counted, "within the cap");
                }
                return;
            }
            *self = Distinct::Sketched(Self::sketch(e));
        }
        if let Distinct::Sketched(s) = self {
            for (v, c) in each() {
                let number = i128::from(v) * i128::from(POW10[SCALE_DIGITS]);
                s.add(int_text(v, &mut buf), Some(number), c);
            }
        }
    }

    fn sketch(counts: &ExactCounts) -> Box<Sketches> {
        let mut s = Box::new(Sketches::new());
        for (text, n) in counts.iter() {
            s.add(&text, scaled(&text), n);
        }
        s
    }

    fn merge(&mut self, other: Distinct) {
        let mine = std::mem::take(self);
        *self = match (mine, other) {
            (Distinct::Exact(mut a), Distinct::Exact(b)) => {
                let new = b.iter().filter(|(k, _)| !a.contains(k)).count();
                if a.len() + new <= EXACT_CAP {
                    for (k, n) in b.iter() {
                        // Within the cap, as counted above.
                        let _ = a.add(&k, n);
                    }
                    Distinct::Exact(a)
                } else {
                    let mut s = Self::sketch(&a);
                    s.merge(&Self::sketch(&b));
                    Distinct::Sketched(s)
                }
            }
            (Distinct::Exact(a), Distinct::Sketched(mut s))
            | (Distinct::Sketched(mut s), Distinct::Exact(a)) => {
                s.merge(&Self::sketch(&a));
                Distinct::Sketched(s)
            }
            (Distinct::Sketched(mut a), Distinct::Sketched(b)) => {
                a.merge(&b);
                Distinct::Sketched(a)
            }
        };
    }
}

/// `v` written canonically (no sign, no leading zero), in `buf`.
fn int_text(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[at..];
        }
    }
}

/// Widest range of values [`DenseInts`] counts (4 MiB of counts).
const DENSE_MAX_SPAN: u64 = 1 << 20;
/// Times in a chunk a value other than a canonical integer may end the counting by value
/// before the column is read value by value for the rest of the chunk (each end walks the
/// counts).
const DENSE_STRIKES: u8 = 8;

/// A column of small non-negative integers counted by value: once every value of the
/// column so far is a canonical integer (so that another one changes nothing in the type
/// guess but its count of values, and the column cannot be a timestamp), each value that
/// is 1 to 8 digits with no leading zero, inside the counted range, is one increment in
/// `counts`, and empty values are counted as missing. The counts become the profile's
/// counts, extremes, lengths, sums and distinct values at the chunk's end
/// ([`ColumnProfile::finish`]) or before any other value is taken: everything they add is
/// independent of the order of the values, so the profile is the one taking each value
/// alone gives. It belongs to one pass over one chunk: not encoded, not merged.
#[derive(Debug, Clone)]
pub(super) struct DenseInts {
    active: bool,
    /// The value counted in `counts[0]`.
    base: u64,
    counts: Vec<u32>,
    /// Values that may still be counted before the counts are taken (so that no count
    /// overflows): `from` less the values counted.
    left: u32,
    /// `left` when the counts were last taken: `u32::MAX` (less in tests).
    from: u32,
    /// Times the counting ended on another value in this chunk; at [`DENSE_STRIKES`] it
    /// does not start again.
    strikes: u8,
}

impl Default for DenseInts {
    fn default() -> Self {
        DenseInts {
            active: false,
            base: 0,
            counts: Vec::new(),
            left: u32::MAX,
            from: u32::MAX,
            strikes: 0,
        }
    }
}

impl DenseInts {
    /// Values counted and not yet taken into the profile.
    fn pending(&self) -> u64 {
        u64::from(self.from - self.left)
    }

    /// Counts `v` when it is inside the range and a count cannot overflow.
    #[inline(always)]
    fn count(&mut self, v: u64) -> bool {
        if self.left > 0 {
            if let Some(c) = usize::try_from(v.wrapping_sub(self.base))
                .ok()
                .and_then(|i| self.counts.get_mut(i))
            {
                *c += 1;
                self.left -= 1;
                return true;
            }
        }
        false
    }

    /// Widens the range to hold `v` when at most `4096 + 8 * seen` values wide (so that
    /// the counts, and the walk over them, stay in proportion to the values read), with
    /// room beyond `v` for values creeping past the edge.
    fn grow(&mut self, v: u64, seen: u64) -> bool {
        let allowed = DENSE_MAX_SPAN.min(4096 + 8 * seen);
        let end = self.base + self.counts.len() as u64;
        let below = v < self.base;
        let (lo, hi) = if self.counts.is_empty() {
            (v, v + 1)
        } else if below {
            (v, end)
        } else {
            (self.base, v.max(end - 1) + 1)
        };
        let need = hi - lo;
        if need > allowed {
            return false;
        }
        let slack = (need / 2).max(64).min(allowed - need);
        let (lo, hi) = if self.counts.is_empty() {
            (lo.saturating_sub(slack), hi + slack)
        } else if below {
            (lo.saturating_sub(slack), hi)
        } else {
            (lo, hi + slack)
        };
        let mut counts = vec![0u32; (hi - lo) as usize];
        if !self.counts.is_empty() {
            let at = (self.base - lo) as usize;
            counts[at..at + self.counts.len()].copy_from_slice(&self.counts);
        }
        self.base = lo;
        self.counts = counts;
        true
    }
}

/// `m` times `k` in 256 bits.
fn mul_u128_u64(m: u128, k: u64) -> U256 {
    let k = u128::from(k);
    let low = (m & u128::from(u64::MAX)) * k;
    let high = (m >> 64) * k;
    let (lo, carry) = low.overflowing_add(high << 64);
    U256 {
        lo,
        hi: (high >> 64) + u128::from(carry),
    }
}

/// Sum, sum of squares and extremes of the values that are numbers, exactly (10^-9 units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbers {
    pub count: u64,
    pub(crate) sum: Sum256,
    pub(crate) squares: U256,
    pub min: i128,
    pub max: i128,
    /// Numbers too large to sum exactly (more than 19 integer digits): left out of the above.
    pub unusable: u64,
}

impl Numbers {
    /// Takes one number.
    #[inline(always)]
    fn add(&mut self, v: i128) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum.add(v);
        add_square(&mut self.squares, v);
    }

    fn merge(&mut self, other: &Numbers) {
        if other.count > 0 {
            if self.count == 0 {
                self.min = other.min;
                self.max = other.max;
            } else {
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        self.count += other.count;
        self.sum.merge(other.sum);
        self.squares.merge(other.squares);
        self.unusable += other.unusable;
    }
}

/// The earliest and latest timestamps and the records per day, while every value of the
/// column read so far is a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Times {
    /// False once a value was not a timestamp: the column cannot be one.
    pub possible: bool,
    /// (instant in ns, its text) of the first and last timestamps.
    pub first: Option<(i128, Vec<u8>)>,
    pub last: Option<(i128, Vec<u8>)>,
    /// Values per day (days since 1970-01-01 of the written or UTC time).
    pub days: BTreeMap<i64, u64>,
}

impl Default for Times {
    fn default() -> Self {
        Times {
            possible: true,
            first: None,
            last: None,
            days: BTreeMap::new(),
        }
    }
}

/// An extreme's key and text replaced by `key` and `text`, in the text's own buffer.
#[inline]
fn set_text(k: &mut i128, t: &mut Vec<u8>, key: i128, text: &[u8]) {
    *k = key;
    t.clear();
    t.extend_from_slice(text);
}

impl Times {
    /// Takes `text`, whose timestamp (if it is one) is `parsed`; the day it counted.
    fn observe(&mut self, text: &[u8], parsed: Option<Timestamp>) -> Option<i64> {
        let Some(t) = parsed else {
            *self = Times {
                possible: false,
                ..Times::default()
            };
            return None;
        };
        let secs = t.utc_seconds();
        let key = i128::from(secs) * 1_000_000_000 + i128::from(t.nanos);
        // In time-ordered data `last` moves on every record: its text is rewritten in place
        // rather than allocated anew.
        match &mut self.first {
            Some((k, t)) if key < *k => set_text(k, t, key, text),
            Some(_) => {}
            None => self.first = Some((key, text.to_vec())),
        }
        match &mut self.last {
            Some((k, t)) if key > *k => set_text(k, t, key, text),
            Some(_) => {}
            None => self.last = Some((key, text.to_vec())),
        }
        let day = secs.div_euclid(86_400);
        *self.days.entry(day).or_insert(0) += 1;
        Some(day)
    }

    fn merge(&mut self, other: Times) {
        if !(self.possible && other.possible) {
            *self = Times {
                possible: false,
                ..Times::default()
            };
            return;
        }
        // Ties keep the earlier part's text, so the result follows plan order.
        if let Some(f) = other.first {
            if self.first.as_ref().is_none_or(|(k, _)| f.0 < *k) {
                self.first = Some(f);
            }
        }
        if let Some(l) = other.last {
            if self.last.as_ref().is_none_or(|(k, _)| l.0 > *k) {
                self.last = Some(l);
            }
        }
        for (day, n) in other.days {
            *self.days.entry(day).or_insert(0) += n;
        }
    }
}

/// What one pass learns about one column (see the module docs).
#[derive(Debug, Clone)]
pub struct ColumnProfile {
    /// What every value can be read as: decides the column's type, as `fleet convert` does.
    pub guess: ColumnGuess,
    /// Empty fields and values of a given `--null` list: missing in every column.
    pub nulls: u64,
    /// The default markers (`NA`, ...) by text: missing unless the column holds text.
    pub markers: BTreeMap<Vec<u8>, u64>,
    /// Values that are neither missing nor a default marker.
    pub values: u64,
    /// Shortest and longest value in characters (default markers included); `u64::MAX`
    /// and 0 while there is none, so that every value and merge is a plain min and max.
    pub min_len: u64,
    pub max_len: u64,
    pub numbers: Numbers,
    pub times: Times,
    /// Distinct texts of `values` (not the markers).
    pub distinct: Distinct,
    /// The last value that took the general route, to take its repeats cheaply.
    pub(super) repeat: Repeat,
    /// Canonical integers counted by value, not yet taken into the figures above.
    pub(super) dense: DenseInts,
    /// Every canonical number changes nothing in the type guess but its count of values
    /// (a float column), the column cannot be a timestamp nor hold a numeric null marker:
    /// such numbers skip the missing-value, marker, type and time checks. Belongs to one
    /// pass over one chunk, as `dense`.
    pub(super) floats: bool,
}

/// The last value of a column that took the general route (not a plain number: a
/// timestamp, a text, an unusual number) and what it added, so that the same value again
/// right after it (ignoring missing values and markers, which change none of this), as
/// runs of equal timestamps in time-ordered data, adds the same without being read again.
/// It belongs to one pass over one chunk: not encoded, not merged.
#[derive(Debug, Clone, Default)]
pub(super) struct Repeat {
    /// `values` after the value was taken; 0 for none. The next value repeats it only when
    /// `values` is one more (no other value in between).
    at: u64,
    text: Vec<u8>,
    number: Option<i128>,
    /// It is a number too large to sum ([`Numbers::unusable`]).
    unusable: bool,
    /// The day it counted in [`Times::days`], while the column may be a timestamp.
    day: Option<i64>,
}

impl Default for ColumnProfile {
    fn default() -> Self {
        ColumnProfile {
            guess: ColumnGuess::default(),
            nulls: 0,
            markers: BTreeMap::new(),
            values: 0,
            min_len: u64::MAX,
            max_len: 0,
            numbers: Numbers::default(),
            times: Times::default(),
            distinct: Distinct::default(),
            repeat: Repeat::default(),
            dense: DenseInts::default(),
            floats: false,
        }
    }
}

impl ColumnProfile {
    /// Takes one field of a record that passed `--where`.
    pub fn observe(&mut self, value: &[u8], nulls: &NullMarkers) {
        self.observe_in(value, value, nulls);
    }

    /// [`ColumnProfile::observe`] for a field of `line`, the record's line (any slice will
    /// do: it only lets short numbers be read a word at a time, see [`number_in`]).
    ///
    /// Some values may be counted without being taken into the figures yet ([`DenseInts`]):
    /// [`ColumnProfile::finish`] takes them, and must be called before the figures are read.
    #[inline(always)]
    pub fn observe_in(&mut self, line: &[u8], value: &[u8], nulls: &NullMarkers) {
        if self.dense.active {
            if let Some(v) = short_digits(line, value) {
                if value.len() == 1 || value[0] != b'0' {
                    if self.dense.count(v) || self.count_far_int(v) {
                        return;
                    }
                    // Outside the range: taken alone, which may come before or after the
                    // counted values as they are all canonical integers.
                    return self.observe_alone(line, value, nulls);
                }
            } else if value.is_empty() {
                self.nulls += 1;
                return;
            }
            self.end_dense();
        } else if self.floats {
            if let Some((v, _)) = plain_number(line, value) {
                // What observe_alone does with it, less what cannot change (see `floats`).
                self.values += 1;
                self.note_chars(value.len() as u64);
                self.guess.observe_same_again();
                self.numbers.add(v);
                self.distinct.add(value, Some(v));
                return;
            }
            if value.is_empty() {
                self.nulls += 1;
                return;
            }
            self.floats = false;
            self.dense.strikes = self.dense.strikes.saturating_add(1);
        }
        self.observe_alone(line, value, nulls);
    }

    /// Takes the values counted by value into the figures (see [`DenseInts`]); the
    /// counting goes on.
    pub fn finish(&mut self) {
        if self.dense.pending() > 0 {
            self.take_dense();
        }
    }

    /// Whether some values are counted and not yet in the figures ([`ColumnProfile::finish`]).
    pub fn has_pending(&self) -> bool {
        self.dense.pending() > 0
    }

    /// Counts the canonical integer `v` outside the counted range, or when the counts
    /// are full: widens the range, or takes the counts first. False when `v` is too far.
    #[cold]
    #[inline(never)]
    fn count_far_int(&mut self, v: u64) -> bool {
        if self.dense.left == 0 {
            self.take_dense();
            if self.dense.count(v) {
                return true;
            }
        }
        let seen = self.values + self.dense.pending();
        self.dense.grow(v, seen) && self.dense.count(v)
    }

    /// A value other than a canonical integer: the counted values are taken first (they
    /// all came before it) and the counting stops.
    #[cold]
    #[inline(never)]
    fn end_dense(&mut self) {
        self.take_dense();
        self.dense.active = false;
        self.dense.strikes = self.dense.strikes.saturating_add(1);
    }

    /// Starts counting by value when another canonical integer changes nothing in the
    /// column's type guess but its count of values (it is the same as taking the same
    /// value again) and the column cannot be a timestamp nor hold a numeric null marker.
    #[cold]
    #[inline(never)]
    fn start_fast(&mut self, nulls: &NullMarkers, int: bool) {
        if self.times.possible {
            return;
        }
        let mut again = self.guess;
        again.observe_same_again();
        // What a canonical number changes in the guess, besides its count of values.
        let changes = |number: &[u8], int: bool| {
            let mut g = self.guess;
            g.observe_canonical_number(number, int).is_some() || g != again
        };
        if nulls.has_numeric_marker() || changes(b"1", true) {
            // Neither changes within a chunk once so.
            self.dense.strikes = DENSE_STRIKES;
            return;
        }
        if int {
            self.dense.active = true;
            self.dense.left = u32::MAX;
            self.dense.from = u32::MAX;
        } else if !changes(b"1.5", false) {
            self.floats = true;
        }
    }

    /// Takes the counted values (see [`DenseInts`]) into the figures and empties the counts.
    #[cold]
    #[inline(never)]
    fn take_dense(&mut self) {
        let n = self.dense.pending();
        if n == 0 {
            return;
        }
        let base = self.dense.base;
        let mut counts = std::mem::take(&mut self.dense.counts);
        let (mut first, mut last, mut distinct) = (None, 0u64, 0usize);
        let (mut sum, mut squares) = (0u128, 0u128);
        for (i, &c) in counts.iter().enumerate() {
            if c > 0 {
                let v = base + i as u64;
                first.get_or_insert(v);
                last = v;
                distinct += 1;
                // v < 10^8 and the counts add to less than 2^32: no overflow.
                sum += u128::from(v) * u128::from(c);
                squares += u128::from(v * v) * u128::from(c);
            }
        }
        let first = first.unwrap_or(last);
        let digits = |v: u64| u64::from(v.checked_ilog10().unwrap_or(0) + 1);
        self.note_chars(digits(first));
        self.note_chars(digits(last));
        self.values += n;
        for _ in 0..n {
            self.guess.observe_same_again();
        }
        let scale = i128::from(POW10[SCALE_DIGITS]);
        let (lo, hi) = (i128::from(first) * scale, i128::from(last) * scale);
        let nums = &mut self.numbers;
        if nums.count == 0 {
            nums.min = lo;
            nums.max = hi;
        } else {
            nums.min = nums.min.min(lo);
            nums.max = nums.max.max(hi);
        }
        nums.count += n;
        // Below 2^59 times 10^9: fits.
        nums.sum.add(sum as i128 * scale);
        nums.squares.merge(mul_u128_u64(
            squares,
            POW10[SCALE_DIGITS] * POW10[SCALE_DIGITS],
        ));
        self.distinct.add_ints(base, &counts, distinct);
        counts.fill(0);
        self.dense.counts = counts;
        self.dense.left = u32::MAX;
        self.dense.from = u32::MAX;
    }

    /// [`ColumnProfile::observe_in`] value by value.
    #[inline(always)]
    fn observe_alone(&mut self, line: &[u8], value: &[u8], nulls: &NullMarkers) {
        if value.is_empty() || nulls.is_null_everywhere(value) {
            self.nulls += 1;
            return;
        }
        if nulls.is_marker(value) {
            self.note_length(value);
            *self.markers.entry(value.to_vec()).or_insert(0) += 1;
            return;
        }
        // The general-route value just taken, again (a run of equal timestamps): it is no
        // plain number either (the same bytes, the same answer), so it is not read as one.
        if self.repeat.at == self.values && self.repeat.text == value {
            self.values += 1;
            self.observe_repeat(value);
            return;
        }
        self.values += 1;
        let (mut fast, mut int_value) = (false, false);
        let (parsed, number, general) = match plain_number(line, value) {
            Some((v, int)) => {
                fast = !(self.dense.active || self.floats) && self.dense.strikes < DENSE_STRIKES;
                int_value = int;
                // ASCII: its length in characters is its length in bytes.
                self.note_chars(value.len() as u64);
                (
                    self.guess.observe_canonical_number(value, int),
                    Some(v),
                    false,
                )
            }
            None => {
                self.note_length(value);
                let parsed = self.guess.observe_value(value);
                // A column that cannot be numeric prints no number figures: its numbers
                // (and their quantiles) are not read.
                let number = if self.guess.may_be_number() {
                    number_in(line, value)
                } else {
                    None
                };
                (parsed, number, true)
            }
        };
        let mut unusable = false;
        match number {
            Some(v) => self.numbers.add(v),
            None => {
                if self.guess.may_be_number()
                    && crate::query::number::Decimal::parse(value).is_some()
                {
                    self.numbers.unusable += 1;
                    unusable = true;
                }
            }
        }
        let mut day = None;
        if self.times.possible {
            // The guess parsed the value while its column could still be a timestamp.
            let t = parsed.unwrap_or_else(|| parse_timestamp(value));
            day = self.times.observe(value, t);
        }
        self.distinct.add(value, number);
        if general {
            let r = &mut self.repeat;
            r.at = self.values;
            r.text.clear();
            r.text.extend_from_slice(value);
            r.number = number;
            r.unusable = unusable;
            r.day = day;
        }
        if fast {
            self.start_fast(nulls, int_value);
        }
    }

    /// Takes `value` again right after [`Repeat`] took it: every answer is the same, so the
    /// type guess, the extremes, the lengths and the first and last timestamps stay; the
    /// counts and sums grow.
    #[inline(never)]
    fn observe_repeat(&mut self, value: &[u8]) {
        self.guess.observe_same_again();
        let r = &mut self.repeat;
        r.at = self.values;
        if let Some(v) = r.number {
            let n = &mut self.numbers;
            n.count += 1;
            n.sum.add(v);
            add_square(&mut n.squares, v);
        } else if r.unusable {
            self.numbers.unusable += 1;
        }
        if let (true, Some(day)) = (self.times.possible, r.day) {
            *self.times.days.entry(day).or_insert(0) += 1;
        }
        self.distinct.add_again(value, r.number);
    }

    #[inline]
    fn note_length(&mut self, value: &[u8]) {
        let len = if value.is_ascii() {
            value.len()
        } else {
            String::from_utf8_lossy(value).chars().count()
        } as u64;
        self.note_chars(len);
    }

    #[inline(always)]
    fn note_chars(&mut self, len: u64) {
        self.min_len = self.min_len.min(len);
        self.max_len = self.max_len.max(len);
    }

    /// Adds the profile of another part of the data.
    pub fn merge(&mut self, mut other: ColumnProfile) {
        self.finish();
        other.finish();
        self.min_len = self.min_len.min(other.min_len);
        self.max_len = self.max_len.max(other.max_len);
        self.guess.merge(&other.guess);
        self.nulls += other.nulls;
        for (m, n) in other.markers {
            *self.markers.entry(m).or_insert(0) += n;
        }
        self.values += other.values;
        self.numbers.merge(&other.numbers);
        self.times.merge(other.times);
        self.distinct.merge(other.distinct);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn profile(values: &[&str]) -> ColumnProfile {
        let nulls = NullMarkers::default();
        let mut p = ColumnProfile::default();
        for v in values {
            p.observe(v.as_bytes(), &nulls);
        }
        p.finish();
        p
    }

    fn exact_counts(p: &ColumnProfile) -> BTreeMap<Vec<u8>, u64> {
        match &p.distinct {
            Distinct::Exact(m) => m.iter().map(|(k, v)| (k.into_owned(), v)).collect(),
            Distinct::Sketched(_) => panic!("sketched"),
        }
    }

    #[test]
    fn a_split_column_merges_into_the_whole_columns_profile() {
        let values = [
            "3",
            "",
            "NA",
            "-1.5",
            "x",
            "3",
            "2015-02-01 00:00:00",
            "7",
            "NA",
        ];
        let whole = profile(&values);
        for cut in 0..=values.len() {
            let mut a = profile(&values[..cut]);
            a.merge(profile(&values[cut..]));
            assert_eq!(a.nulls, whole.nulls);
            assert_eq!(a.values, whole.values);
            assert_eq!(a.markers, whole.markers);
            assert_eq!((a.min_len, a.max_len), (whole.min_len, whole.max_len));
            assert_eq!(a.numbers, whole.numbers);
            assert_eq!(a.times, whole.times);
            // What the guess decides (its internal flags may differ by where it was cut).
            assert_eq!(a.guess.column_type(), whole.guess.column_type());
            assert_eq!(a.guess.markers_are_null(), whole.guess.markers_are_null());
            assert_eq!(exact_counts(&a), exact_counts(&whole));
        }
        assert_eq!(whole.nulls, 1);
        assert_eq!(whole.values, 6);
        assert_eq!(whole.numbers.count, 4);
        assert_eq!(whole.numbers.min, -1_500_000_000);
        assert_eq!(whole.numbers.max, 7_000_000_000);
        assert!(!whole.times.possible);
    }

    #[test]
    fn past_the_cap_a_column_is_sketched_however_it_was_split() {
        let values: Vec<String> = (0..EXACT_CAP + 10).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let whole = profile(&refs);
        assert!(matches!(whole.distinct, Distinct::Sketched(_)));
        let mut a = profile(&refs[..EXACT_CAP / 2]);
        a.merge(profile(&refs[EXACT_CAP / 2..]));
        let (Distinct::Sketched(x), Distinct::Sketched(y)) = (&whole.distinct, &a.distinct) else {
            panic!("not sketched");
        };
        assert_eq!(x.quantiles, y.quantiles);
        assert_eq!(x.quantiles.count(), (EXACT_CAP + 10) as u64);
        let (mut hx, mut hy) = (x.hll.clone(), y.hll.clone());
        let (cx, cy) = (hx.count(), hy.count());
        assert_eq!(cx, cy);
        let n = (EXACT_CAP + 10) as f64;
        assert!((cx - n).abs() / n < 0.05, "{cx} vs {n}");
    }

    #[test]
    fn the_fast_number_paths_read_as_scaled_does() {
        let texts = [
            "0",
            "-0",
            "7",
            "-7",
            "007",
            "-007.50",
            "12345678",
            "123456789",
            "1234567890",
            "114.368542",
            "-22.5",
            "1.",
            ".5",
            "-.5",
            "1.123456789",
            "1.1234567891",
            "999999999.999999999",
            "+5",
            " 5",
            "5 ",
            "1e3",
            "-",
            "",
            "a",
            "1.2.3",
            "1-2",
            "2015-02-01 00:00:00",
            "00000000000000000001.5",
        ];
        for t in texts {
            let b = t.as_bytes();
            assert_eq!(number_in(b, b), scaled(b), "{t}");
            // Inside a longer line, where short numbers are read a word at a time.
            let line = format!("abcdefgh,{t},ijklmnop");
            let lb = line.as_bytes();
            assert_eq!(
                number_in(lb, &lb[9..9 + b.len()]),
                scaled(b),
                "{t} in a line"
            );
            if let Some(v) = plain_scaled(b) {
                assert_eq!(Some(v), scaled(b), "{t}");
            }
        }
        assert_eq!(plain_scaled(b"114.368542"), Some(114_368_542_000));
        assert_eq!(plain_scaled(b"-0.000000001"), Some(-1));
    }

    /// What `plain_number` says of `text` is what `scaled` and the column guess say.
    fn check_plain_number(text: &[u8]) {
        let Some((v, int)) = plain_number(text, text) else {
            return;
        };
        assert_eq!(Some(v), scaled(text), "{text:?}");
        // From every state a guess can be in, the shortcut ends where the full check does.
        for before in [
            &[][..],
            &["x"][..],
            &["1.5"][..],
            &["7"][..],
            &["2015-02-01"][..],
        ] {
            let mut full = ColumnGuess::default();
            for b in before {
                full.observe_value(b.as_bytes());
            }
            let mut short = full;
            let want = full.observe_value(text);
            assert_eq!(short.observe_canonical_number(text, int), want, "{text:?}");
            assert_eq!(short, full, "{text:?} after {before:?}");
        }
    }

    #[test]
    fn plain_numbers_are_classified_as_the_column_guess_does() {
        for t in [
            "0",
            "-0",
            "00",
            "07",
            "-07",
            "0.5",
            "-0.5",
            "00.5",
            "7",
            "-7",
            "12345678",
            "123456789",
            "-123456789",
            "1.5",
            "-1.50",
            "114.368542",
            "999999999.999999999",
            "1.",
            ".5",
            "x",
        ] {
            check_plain_number(t.as_bytes());
        }
        assert_eq!(plain_number(b"0", b"0"), Some((0, true)));
        assert_eq!(plain_number(b"-0", b"-0"), Some((0, false)));
        assert_eq!(plain_number(b"07", b"07"), None);
        assert_eq!(plain_number(b"-0.5", b"-0.5"), Some((-500_000_000, false)));
    }

    #[test]
    fn small_integers_are_counted_by_text_as_every_other_value() {
        let mut values: Vec<String> = Vec::new();
        for i in -20i64..1100 {
            values.push(i.to_string());
            if i % 7 == 0 {
                values.push(format!("0{i}"));
                values.push(String::new());
                values.push("x".into());
                values.push(format!("{i}.0"));
            }
        }
        values.extend(["-0", "00", "0", "999", "1000", "NA"].map(String::from));
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let p = profile(&refs);
        let mut want: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for v in &refs {
            if !v.is_empty() && *v != "NA" {
                *want.entry(v.as_bytes().to_vec()).or_insert(0) += 1;
            }
        }
        assert_eq!(exact_counts(&p), want);
        let Distinct::Exact(counts) = &p.distinct else {
            panic!("sketched");
        };
        assert_eq!(counts.len(), want.len());
        assert!(counts.small_distinct == SMALL, "{}", counts.small_distinct);
        for cut in [0, 1, 500, refs.len() / 2, refs.len()] {
            let mut a = profile(&refs[..cut]);
            a.merge(profile(&refs[cut..]));
            assert_eq!(exact_counts(&a), want);
        }
    }

    #[test]
    fn small_integers_count_towards_the_cap() {
        // EXACT_CAP - 3 other texts, then small integers: exact up to the cap, then sketched.
        let mut values: Vec<String> = (0..EXACT_CAP - 3).map(|i| format!("t{i}")).collect();
        values.extend(["5", "6", "5", "7"].map(String::from));
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let exact = profile(&refs);
        assert_eq!(exact_counts(&exact).len(), EXACT_CAP);
        assert_eq!(exact_counts(&exact)[&b"5"[..]], 2);
        for cut in [0, 3, EXACT_CAP - 3, refs.len()] {
            let mut a = profile(&refs[cut..]);
            let mut b = profile(&refs[..cut]);
            b.merge(std::mem::take(&mut a));
            assert_eq!(exact_counts(&b), exact_counts(&exact));
        }
        let mut over = refs.clone();
        over.push("8");
        let p = profile(&over);
        let Distinct::Sketched(s) = &p.distinct else {
            panic!("exact past the cap");
        };
        assert_eq!(s.quantiles.count(), 5);
        for cut in [0, 3, EXACT_CAP - 3, over.len()] {
            let mut b = profile(&over[..cut]);
            b.merge(profile(&over[cut..]));
            let Distinct::Sketched(t) = &b.distinct else {
                panic!("exact past the cap, cut at {cut}");
            };
            assert_eq!(t.quantiles, s.quantiles);
        }
    }

    proptest::proptest! {
        #[test]
        fn number_in_agrees_with_scaled(text in "-?[0-9]{0,11}(\\.[0-9]{0,11})?|[-+. 0-9e]{0,6}") {
            let b = text.as_bytes();
            check_plain_number(b);
            proptest::prop_assert_eq!(number_in(b, b), scaled(b));
            let line = format!("12345678,{text},");
            let lb = line.as_bytes();
            proptest::prop_assert_eq!(number_in(lb, &lb[9..9 + b.len()]), scaled(b));
        }
    }

    #[test]
    fn dotted_decimals_read_a_word_at_a_time_as_byte_by_byte() {
        let texts = [
            "114.368542",
            "-22.5",
            "0.5",
            "-0.5",
            "00.5",
            "-00.5",
            "0.0",
            "-0.0",
            "12345678.1234567",
            "123456789.1",
            "1.12345678",
            "1.",
            ".5",
            "-.5",
            "-",
            "1.2.3",
            "1..2",
            "1.-2",
            "1.5x",
            "x1.5",
            "1,5",
            "1 .5",
        ];
        for t in texts {
            for prefix in ["", "1", "1.", "abcdefgh,", "12345678.1234,"] {
                let line = format!("{prefix}{t},9");
                let lb = line.as_bytes();
                let value = &lb[prefix.len()..prefix.len() + t.len()];
                assert_eq!(
                    plain_number(lb, value),
                    plain_number_bytes(value),
                    "{t} after {prefix:?}"
                );
            }
        }
        let line = b"abcdefgh,114.368542,";
        assert_eq!(dotted_words(line, &line[9..19]), Some(114_368_542_000));
        assert_eq!(dotted_words(line, &line[8..19]), None, "the comma");
        let line = b"abcdefgh,-0.000001";
        assert_eq!(dotted_words(line, &line[9..]), Some(-1_000));
    }

    /// Every field of the profiles `a` and `b` (sketches by their figures).
    fn assert_same_profile(a: &ColumnProfile, b: &ColumnProfile, what: &str) {
        assert_eq!(a.guess, b.guess, "{what}");
        assert_eq!(a.nulls, b.nulls, "{what}");
        assert_eq!(a.markers, b.markers, "{what}");
        assert_eq!(a.values, b.values, "{what}");
        assert_eq!((a.min_len, a.max_len), (b.min_len, b.max_len), "{what}");
        assert_eq!(a.numbers, b.numbers, "{what}");
        assert_eq!(a.times, b.times, "{what}");
        match (&a.distinct, &b.distinct) {
            (Distinct::Exact(_), Distinct::Exact(_)) => {
                assert_eq!(exact_counts(a), exact_counts(b), "{what}")
            }
            (Distinct::Sketched(x), Distinct::Sketched(y)) => {
                assert_eq!(x.quantiles, y.quantiles, "{what}");
                let (mut hx, mut hy) = (x.hll.clone(), y.hll.clone());
                assert_eq!(hx.count(), hy.count(), "{what}");
            }
            _ => panic!("{what}: one exact, one sketched"),
        }
    }

    /// The profile of `values` taking every value the full way: the shortcut for repeats
    /// forgotten before each value.
    fn profile_without_repeats(values: &[&str]) -> ColumnProfile {
        let nulls = NullMarkers::default();
        let mut p = ColumnProfile::default();
        for v in values {
            p.repeat = Repeat::default();
            p.observe(v.as_bytes(), &nulls);
        }
        p.finish();
        p
    }

    /// Runs of equal values, taken once and then repeated (see [`Repeat`]), add up to what
    /// each value adds when read the full way, as the type changes along the way.
    #[test]
    fn repeated_values_add_what_each_adds_alone() {
        let runs: Vec<Vec<&str>> = vec![
            // Timestamps in runs, with missing values and markers inside the runs.
            vec!["2015-02-01 00:00:00"; 3],
            vec!["2015-02-01 00:00:00", "", "NA", "2015-02-01 00:00:00"],
            vec!["2015-02-02 23:59:59"; 2],
            // A plain number inside a run breaks it; then the run goes on.
            vec!["2015-02-02 23:59:59", "7", "2015-02-02 23:59:59"],
            // Numbers off the plain path: 11 digits, and too large to sum.
            vec!["12345678901"; 3],
            vec!["123456789012345678901234567890"; 2],
            vec!["-5.1234567890"; 2],
            // The column turns text late, in a run.
            vec!["later"; 3],
            vec!["NA", "NA", "later", "Zoë", "Zoë"],
            vec!["12345678901"; 2],
        ];
        let values: Vec<&str> = runs.concat();
        for start in 0..values.len() {
            for end in start + 1..=values.len() {
                let part = &values[start..end];
                assert_same_profile(
                    &profile(part),
                    &profile_without_repeats(part),
                    &format!("values {start}..{end}"),
                );
            }
        }
        // An int column turning float, then text, each value repeated.
        let mut late: Vec<String> = Vec::new();
        for i in 0..40 {
            let v = match i {
                0..=19 => format!("{}", 10_000_000_000i64 + i / 4),
                20..=29 => format!("{}.25", 10_000_000_000i64 + i / 4),
                _ => format!("t{}", i / 4),
            };
            late.extend([v.clone(), v.clone(), String::new(), v]);
        }
        let refs: Vec<&str> = late.iter().map(String::as_str).collect();
        let whole = profile(&refs);
        assert_eq!(whole.guess.column_type(), crate::columnar::ColumnType::Utf8);
        assert_same_profile(&whole, &profile_without_repeats(&refs), "int, float, text");
        // The shortcut was taken (the last value, a text, is remembered).
        assert_eq!(whole.repeat.at, whole.values);
        // Numbers were summed up to the text, and none after it.
        assert_eq!(whole.numbers.count, 90);
        assert!(whole.times.days.is_empty() && !whole.times.possible);
    }

    #[test]
    fn repeated_values_past_the_cap_add_to_the_quantiles_only() {
        // Distinct 11-digit numbers (off the plain path), each twice: sketched halfway.
        let values: Vec<String> = (0..EXACT_CAP as u64 + 500)
            .flat_map(|i| {
                let v = (20_000_000_000 + i * 7).to_string();
                [v.clone(), v]
            })
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let whole = profile(&refs);
        assert!(matches!(whole.distinct, Distinct::Sketched(_)));
        assert_same_profile(&whole, &profile_without_repeats(&refs), "past the cap");
        // And as a merge of two halves, each exact.
        let mut halves = profile(&refs[..EXACT_CAP]);
        halves.merge(profile(&refs[EXACT_CAP..]));
        assert_same_profile(&whole, &halves, "past the cap, in halves");
        let Distinct::Sketched(s) = &whole.distinct else {
            unreachable!()
        };
        assert_eq!(s.quantiles.count(), refs.len() as u64);
    }

    /// `values` counted by value where they can be, and a float column's numbers taken
    /// the short way (each inside a record's line, so that short numbers are read a word
    /// at a time), and each taken alone the general way: the same profile, HyperLogLog
    /// registers included. Returns whether values were counted by value or taken the
    /// short way at all.
    fn check_counted_by_value(values: &[String], nulls: &NullMarkers, what: &str) -> bool {
        let mut fast = ColumnProfile::default();
        let mut alone = ColumnProfile::default();
        let mut counted = false;
        for (i, v) in values.iter().enumerate() {
            let line = format!("12345678,{v},87654321");
            let lb = line.as_bytes();
            let value = &lb[9..9 + v.len()];
            if i % 3 == 0 {
                // Also outside any line (read byte by byte).
                fast.observe(v.as_bytes(), nulls);
            } else {
                fast.observe_in(lb, value, nulls);
            }
            counted |= fast.has_pending() || fast.floats;
            alone.observe_alone(lb, value, nulls);
            assert!(!alone.has_pending(), "{what}");
        }
        fast.finish();
        assert!(!fast.has_pending(), "{what}");
        assert_same_profile(&fast, &alone, what);
        assert_eq!(
            fast.guess.column_type(),
            alone.guess.column_type(),
            "{what}"
        );
        if let (Distinct::Sketched(x), Distinct::Sketched(y)) = (&fast.distinct, &alone.distinct) {
            assert_eq!(
                serde_json::to_vec(&x.hll).unwrap(),
                serde_json::to_vec(&y.hll).unwrap(),
                "{what}: registers"
            );
        }
        counted
    }

    /// A seeded sequence of integers in `0..range`.
    fn ints(n: usize, range: u64, seed: u64) -> Vec<String> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((x >> 33) % range).to_string()
            })
            .collect()
    }

    /// `head`, then `odd` twice, then `tail`: a settled column broken by one odd value.
    fn broken_by(head: Vec<String>, odd: &str, tail: Vec<String>) -> Vec<String> {
        let mut values = head;
        values.extend([odd.to_string(), odd.to_string()]);
        values.extend(tail);
        values
    }

    #[test]
    fn integers_counted_by_value_give_the_profile_of_each_taken_alone() {
        let nulls = NullMarkers::default();
        // Plain columns: small, wide (past the cap, sketched), far apart values.
        let small = ints(10_000, 121, 1);
        assert!(check_counted_by_value(&small, &nulls, "small"));
        let wide = ints(30_000, 40_000, 2);
        assert!(check_counted_by_value(&wide, &nulls, "wide"));
        let mut far = ints(5_000, 100, 3);
        for (i, v) in ints(5_000, 100, 4).into_iter().enumerate() {
            far.insert(2 * i, format!("{}", 50_000_000 + v.parse::<u64>().unwrap()));
        }
        assert!(check_counted_by_value(&far, &nulls, "far apart"));
        // Integers for 10,000 values, then one value that does not fit, then integers again.
        for odd in [
            "1.5",
            "",
            "NA",
            "-3",
            "-0",
            "007",
            "123456789",
            "123456789012",
            "99999999999999999999999",
            "x",
            "2015-02-01 00:00:00",
            "Zoë",
        ] {
            for range in [100, 40_000] {
                let values = broken_by(ints(10_000, range, 5), odd, ints(3_000, range, 6));
                let what = format!("{odd:?} in 0..{range}");
                assert!(check_counted_by_value(&values, &nulls, &what), "{what}");
            }
        }
        // An odd value every 50 values: the counting stops after a few and the rest is
        // read value by value.
        let mut values = ints(20_000, 1_000, 7);
        for i in (0..values.len()).step_by(50) {
            values[i] = "-1".into();
        }
        check_counted_by_value(&values, &nulls, "odd every 50");
        // A numeric null marker: never counted by value (5 is missing).
        let five = NullMarkers::only(&["5"]);
        assert!(!check_counted_by_value(&small, &five, "--null 5"));
        // The counts taken early when full (as when a count would overflow).
        let mut p = ColumnProfile::default();
        let mut q = ColumnProfile::default();
        for (i, v) in wide.iter().enumerate() {
            p.observe(v.as_bytes(), &nulls);
            if i % 1_000 == 10 {
                assert!(p.dense.active);
                p.finish();
                p.dense.left = 7;
                p.dense.from = 7;
            }
            q.observe_alone(v.as_bytes(), v.as_bytes(), &nulls);
        }
        p.finish();
        assert_same_profile(&p, &q, "full counts");
        // What the counts add: exact figures.
        let values: Vec<String> = ["7", "", "3", "99999999", "3", "0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let p = profile(&refs);
        assert_eq!(p.nulls, 1);
        assert_eq!(p.values, 5);
        assert_eq!((p.min_len, p.max_len), (1, 8));
        assert_eq!(p.numbers.count, 5);
        assert_eq!(p.numbers.min, 0);
        assert_eq!(p.numbers.max, 99_999_999_000_000_000);
        let mut sum = Sum256::default();
        let mut squares = U256::default();
        for v in [7i128, 3, 99_999_999, 3, 0] {
            sum.add(v * 1_000_000_000);
            squares.add_square(v * 1_000_000_000);
        }
        assert_eq!(p.numbers.sum, sum);
        assert_eq!(p.numbers.squares, squares);
        assert_eq!(exact_counts(&p).get(&b"3"[..]), Some(&2));
        assert_eq!(exact_counts(&p).get(&b"99999999"[..]), Some(&1));
    }

    #[test]
    fn a_float_columns_numbers_taken_the_short_way_give_the_profile_of_each_taken_alone() {
        let nulls = NullMarkers::default();
        let floats = |n: usize, seed: u64| -> Vec<String> {
            ints(n, 900_000, seed)
                .iter()
                .map(|v| format!("{}.{}", 113 + v.len() % 2, v))
                .collect()
        };
        let plain = floats(30_000, 1);
        assert!(check_counted_by_value(&plain, &nulls, "floats"));
        for odd in [
            "7",
            "-22.5",
            "0.5",
            "-0",
            "",
            "NA",
            "007",
            "1e5",
            "1.1234567891",
            "123456789012.5",
            "x",
            "2015-02-01 00:00:00",
        ] {
            let values = broken_by(floats(10_000, 2), odd, floats(3_000, 3));
            let what = format!("{odd:?} among floats");
            assert!(check_counted_by_value(&values, &nulls, &what), "{what}");
        }
        // Integers first, then floats: counted by value, then the short way.
        let mut values = ints(5_000, 300, 4);
        values.extend(floats(5_000, 5));
        values.extend(ints(5_000, 300, 6));
        assert!(check_counted_by_value(&values, &nulls, "ints then floats"));
        // A numeric null marker: never the short way.
        let marker = NullMarkers::only(&["114.000001", "NA"]);
        let mut values = floats(5_000, 7);
        values.push("114.000001".into());
        values.extend(floats(5_000, 8));
        assert!(!check_counted_by_value(&values, &marker, "numeric marker"));
    }

    #[test]
    fn wide_products_are_exact() {
        use crate::agg::exact::Big;
        let m = u128::MAX / 3;
        let k = u64::MAX - 5;
        let p = mul_u128_u64(m, k);
        let want = Big::from_u128(m).mul_small(k);
        assert_eq!(p.to_big(), want);
        assert_eq!(mul_u128_u64(12, 10).to_big(), Big::from_u128(120));
    }

    #[test]
    fn timestamps_keep_first_last_and_days() {
        let p = profile(&[
            "2015-02-02 10:00:00",
            "2015-02-01 23:59:59",
            "",
            "2015-02-02 00:00:00",
        ]);
        assert!(p.times.possible);
        assert_eq!(p.times.first.as_ref().unwrap().1, b"2015-02-01 23:59:59");
        assert_eq!(p.times.last.as_ref().unwrap().1, b"2015-02-02 10:00:00");
        assert_eq!(p.times.days.values().copied().collect::<Vec<_>>(), [1, 2]);
    }
}
