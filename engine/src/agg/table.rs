//! [`AggTable`]: the private state a worker fills from one chunk (or many), and the merge that
//! combines such tables in any order.
//!
//! Layout: a [`GroupIndex`] from a group's packed key tuple ([`crate::agg::keys`]) to a dense
//! group number (keys kept end to end in one arena), a record count per group, and per
//! aggregate a [`Column`] of states indexed by group number. A record costs one packing into
//! a reused scratch buffer, one hash and one probe (or, for a single small-integer key, or a
//! small integer with an hour or weekday, one array read); a new group appends its key to
//! the arena and pushes its states.

use super::accum::Column;
use super::groups::{key_hash, GroupIndex};
use super::hash::{hash_short, load_le, words_bytes};
use super::keys::{derive, push_part, WEEKDAYS};
use super::spec::{AggPlan, GroupKey, KeyFn, TimeFormat};

/// Entries of the dense index for small integer keys: 8 MiB at most, enough for ids up to
/// about two million, or ids up to about 87,000 paired with an hour (taxi ids are
/// 10000..39999). It grows only as far as the keys seen need.
const DENSE_MAX: usize = 1 << 21;

/// A single column key shorter than this packs (with its one-byte length) into the 16 bytes
/// a [`GroupIndex`] slot holds, and is looked up without packing ([`AggTable::group_of_short`]).
pub(crate) const INLINE_VALUE: usize = 16;

/// Slots per integer in the dense index of an integer key paired with an hour or weekday.
const PART_SLOTS: usize = 24;

/// The value of a key in canonical integer form (ASCII digits, no sign, no leading zero),
/// the only form where value and bytes determine each other, so the dense index can stand
/// in for the byte key: `011865` and `11865` are different keys.
#[inline]
pub(crate) fn small_int(text: &[u8]) -> Option<usize> {
    small_int_in(text, text)
}

/// [`small_int`] of a field inside `line` (the record's line), read eight bytes at a time
/// ([`crate::simd::digits`]).
#[inline(always)]
pub(crate) fn small_int_in(line: &[u8], text: &[u8]) -> Option<usize> {
    if text.len() > 7 || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    usize::try_from(crate::simd::digits::short_digits(line, text)?).ok()
}

/// A single column key `value` shorter than [`INLINE_VALUE`] bytes, packed (a one-byte
/// length, then the bytes): as two zero-padded words, its length and its hash, computed
/// from `value` directly and the same as [`key_hash`] of the packed bytes.
#[inline(always)]
pub(crate) fn packed_short(value: &[u8]) -> ([u64; 2], usize, u64) {
    debug_assert!(value.len() < INLINE_VALUE);
    let len = value.len();
    let head = load_le(&value[..len.min(7)]);
    let tail = if len > 7 { load_le(&value[7..]) } else { 0 };
    let words = [len as u64 | head << 8, tail];
    (words, len + 1, hash_short(words, len + 1))
}

/// Whether `tail`, what follows `YYYY-MM-DD HH:MM` in a text time, is `:SS` (00..59) with an
/// optional `.FRACTION`: the rest of a time [`derive`] accepts, without a leap second (which
/// would carry into the next minute).
#[inline]
fn same_minute(tail: &[u8]) -> bool {
    match tail {
        [b':', b'0'..=b'5', b'0'..=b'9'] => true,
        [b':', b'0'..=b'5', b'0'..=b'9', b'.', frac @ ..] => {
            !frac.is_empty() && frac.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// A table's counters apart from its groups, as the codec reads them.
pub(crate) struct SpecCounts {
    pub(crate) malformed_values: Vec<u64>,
    pub(crate) text_values: Vec<u64>,
    pub(crate) malformed_keys: Vec<u64>,
}

#[derive(Debug)]
pub struct AggTable {
    /// A copy of the plan the table was made for (a few short strings per table): merge and
    /// the malformed reports need the functions and texts without being handed the plan.
    pub(crate) plan: AggPlan,
    /// Packed key tuple -> group number.
    pub(crate) index: GroupIndex,
    /// Records per group.
    pub(crate) records: Vec<u64>,
    /// One per spec.
    pub(crate) columns: Vec<Column>,
    /// Per spec: values neither numbers nor missing seen by sum/mean/stddev.
    pub(crate) malformed_values: Vec<u64>,
    /// Per spec: non-zero when count(COL), min/max or distinct met a text value (see
    /// [`Column::update`]), which makes the default markers of that column values.
    pub(crate) text_values: Vec<u64>,
    /// Per key: non-empty values a derived key could not read as a timestamp.
    pub(crate) malformed_keys: Vec<u64>,
    scratch: Vec<u8>,
    /// A cache in front of `index` for a single column key holding small canonical integers:
    /// key value -> group number + 1 (0: not cached). `index` stays the source of truth, so
    /// groups added by merge or decode are simply found there and cached on first use.
    dense: Vec<u32>,
    /// For a single `bucket` key of whole-minute windows that divide a day, on text times:
    /// the last record's `YYYY-MM-DD HH:MM` (validated) and its group. Every time in the
    /// same minute falls in the same window, and data sorted by time repeats the minute
    /// for many records in a row, so most records skip parsing, formatting and hashing.
    minute: Option<([u8; 16], usize)>,
    /// For a small integer key paired with `hour` or `weekday` of text times: the last
    /// record's validated `YYYY-MM-DD HH:MM` and its hour (0..23) or weekday (0..6). With
    /// it, such a pair finds its group in `dense` at `id * PART_SLOTS + part`, without
    /// parsing the time, packing or hashing (the packed key follows from the two numbers:
    /// the integer is canonical and the part's text is fixed).
    minute_part: Option<([u8; 16], usize)>,
}

impl AggTable {
    pub fn new(plan: &AggPlan) -> AggTable {
        AggTable {
            plan: plan.clone(),
            columns: plan.specs.iter().map(|s| Column::new(s.func)).collect(),
            index: GroupIndex::default(),
            records: Vec::new(),
            malformed_values: vec![0; plan.specs.len()],
            text_values: vec![0; plan.specs.len()],
            malformed_keys: vec![0; plan.keys.len()],
            scratch: Vec::new(),
            dense: Vec::new(),
            minute: None,
            minute_part: None,
        }
    }

    /// An empty table with room for `groups` groups without growing (a size hint: the
    /// table still grows past it).
    pub fn with_groups(plan: &AggPlan, groups: usize) -> AggTable {
        let mut table = AggTable::new(plan);
        if groups > 0 {
            table.index.reserve(groups, 0);
            table.records.reserve(groups);
            crate::sys::advise_huge(&mut table.records);
        }
        table
    }

    /// Adds one well-formed record; `field(i)` is field i's unescaped bytes and is only asked
    /// for `i < plan.columns_needed()`. `plan` must be the one the table was made with.
    #[inline]
    pub fn update<'f>(&mut self, plan: &AggPlan, field: impl Fn(usize) -> &'f [u8]) {
        debug_assert!(
            plan.keys.len() == self.plan.keys.len() && plan.specs.len() == self.columns.len(),
            "a table is updated with its own plan"
        );
        let group = self.group_of(plan, &field);
        self.add_record(plan, group, |s| match plan.specs[s].func.column() {
            Some(c) => field(c),
            None => b"",
        });
    }

    /// Counts one record in `group` and adds its values: `value(s)` is spec `s`'s field (empty
    /// for a spec without a column).
    #[inline(always)]
    pub(crate) fn add_record<'v>(
        &mut self,
        plan: &AggPlan,
        group: usize,
        value: impl Fn(usize) -> &'v [u8],
    ) {
        self.records[group] += 1;
        for (s, (((spec, column), bad), texts)) in plan
            .specs
            .iter()
            .zip(&mut self.columns)
            .zip(&mut self.malformed_values)
            .zip(&mut self.text_values)
            .enumerate()
        {
            *bad += u64::from(column.update(group, spec.func, value(s), &plan.nulls, texts));
        }
    }

    /// The record's group number, creating the group when it is new.
    #[inline]
    fn group_of<'f>(&mut self, plan: &AggPlan, field: &impl Fn(usize) -> &'f [u8]) -> usize {
        match plan.keys.as_slice() {
            // Totals: there is only ever the one group.
            [] if !self.records.is_empty() => return 0,
            [GroupKey {
                func: KeyFn::Column(c),
                ..
            }] => {
                let value = field(*c);
                if let Some(n) = small_int(value) {
                    if let Some(&g) = self.dense.get(n).filter(|&&g| g != 0) {
                        return g as usize - 1;
                    }
                    self.scratch.clear();
                    push_part(&mut self.scratch, value);
                    let g = self.find_or_add();
                    self.remember_dense(n, g);
                    return g;
                }
                if value.len() < INLINE_VALUE {
                    return self.group_of_short(value);
                }
            }
            [GroupKey {
                func: KeyFn::Column(c),
                ..
            }, GroupKey {
                func: part @ (KeyFn::Hour(t) | KeyFn::Weekday(t)),
                ..
            }] if plan.time_format(*t) == TimeFormat::Text => {
                if let Some(n) = small_int(field(*c)) {
                    if let Some(p) = self.time_part(*part, field(*t)) {
                        let slot = n.saturating_mul(PART_SLOTS).saturating_add(p);
                        if let Some(&g) = self.dense.get(slot).filter(|&&g| g != 0) {
                            return g as usize - 1;
                        }
                        let g = self.group_of_keys(plan, field);
                        self.remember_dense(slot, g);
                        return g;
                    }
                }
            }
            [GroupKey {
                func: KeyFn::Bucket(c, width),
                ..
            }] if width % 60 == 0
                && 86_400 % width == 0
                && plan.time_format(*c) == TimeFormat::Text =>
            {
                let value = field(*c);
                if let Some((prefix, g)) = &self.minute {
                    if value.len() >= 19 && value[..16] == prefix[..] && same_minute(&value[16..]) {
                        return *g;
                    }
                }
                let g = self.group_of_keys(plan, field);
                // Cache only a minute that parsed (a malformed time is grouped under ""),
                // and not from a leap second, which belongs to the next minute's window.
                if value.len() >= 19
                    && same_minute(&value[16..])
                    && derive(plan.keys[0].func, value, TimeFormat::Text).is_some()
                {
                    let mut prefix = [0u8; 16];
                    prefix.copy_from_slice(&value[..16]);
                    self.minute = Some((prefix, g));
                }
                return g;
            }
            _ => {}
        }
        self.group_of_keys(plan, field)
    }

    /// The group of a single column key `value` shorter than [`INLINE_VALUE`] bytes (see
    /// [`packed_short`]): the key is only copied when it makes a new group.
    #[inline(always)]
    fn group_of_short(&mut self, value: &[u8]) -> usize {
        let (words, len, hash) = packed_short(value);
        self.group_of_words(hash, words, len)
    }

    /// The group of the short packed key held as `words` (`len` bytes, see
    /// [`super::hash::short_words`]) with hash `hash`, added with empty states when new.
    #[inline(always)]
    pub(crate) fn group_of_words(&mut self, hash: u64, words: [u64; 2], len: usize) -> usize {
        if let Some(g) = self.index.find_short(hash, words, len) {
            return g;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&words_bytes(words)[..len]);
        self.add_group(hash)
    }

    /// The hour (0..23) or weekday (0..6, Monday first) of text time `value`, or `None` when
    /// it is not a timestamp `derive` accepts; from the cached minute when `value` is in it.
    #[inline]
    pub(crate) fn time_part(&mut self, func: KeyFn, value: &[u8]) -> Option<usize> {
        if let Some((prefix, p)) = &self.minute_part {
            if value.len() >= 19 && value[..16] == prefix[..] && same_minute(&value[16..]) {
                return Some(*p);
            }
        }
        let derived = derive(func, value, TimeFormat::Text)?;
        let text = derived.as_bytes();
        let p = match func {
            KeyFn::Hour(_) => match text {
                [a @ b'0'..=b'2', b @ b'0'..=b'9'] => {
                    usize::from(a - b'0') * 10 + usize::from(b - b'0')
                }
                _ => return None,
            },
            _ => WEEKDAYS.iter().position(|w| &w[..] == text)?,
        };
        if value.len() >= 19 && same_minute(&value[16..]) {
            let mut prefix = [0u8; 16];
            prefix.copy_from_slice(&value[..16]);
            self.minute_part = Some((prefix, p));
        }
        Some(p)
    }

    /// The record's group by packing every key (the general path).
    #[inline]
    fn group_of_keys<'f>(&mut self, plan: &AggPlan, field: &impl Fn(usize) -> &'f [u8]) -> usize {
        self.scratch.clear();
        for (k, key) in plan.keys.iter().enumerate() {
            let value = field(key.func.column());
            match key.func {
                KeyFn::Column(_) => push_part(&mut self.scratch, value),
                derived => match derive(derived, value, plan.time_format(derived.column())) {
                    Some(d) => push_part(&mut self.scratch, d.as_bytes()),
                    None => {
                        // A missing value is a null, not a malformed timestamp.
                        if let Some(n) = self.malformed_keys.get_mut(k) {
                            *n += u64::from(!plan.nulls.is_null_number(value));
                        }
                        push_part(&mut self.scratch, b"");
                    }
                },
            }
        }
        self.find_or_add()
    }

    /// The group of the packed key in `scratch`.
    #[inline]
    fn find_or_add(&mut self) -> usize {
        let hash = key_hash(&self.scratch);
        match self.index.find(hash, &self.scratch) {
            Some(g) => g,
            None => self.add_group(hash),
        }
    }

    /// Caches group `g` for integer key `n` when the dense index may grow that far.
    #[cold]
    fn remember_dense(&mut self, n: usize, g: usize) {
        let Ok(slot) = u32::try_from(g + 1) else {
            return;
        };
        if n >= self.dense.len() {
            if n >= DENSE_MAX {
                return;
            }
            let len = (n + 1).next_power_of_two().clamp(1024, DENSE_MAX);
            self.dense.resize(len, 0);
        }
        self.dense[n] = slot;
    }

    /// Registers the group in `scratch` (hash `hash`, not yet a group) with empty states;
    /// returns its number.
    #[cold]
    fn add_group(&mut self, hash: u64) -> usize {
        let group = self.index.push(hash, &self.scratch);
        self.push_states();
        group
    }

    /// The group of packed key `key` whose hash is `hash`, added with empty states when new.
    pub(crate) fn group_hashed(&mut self, hash: u64, key: &[u8]) -> usize {
        let (group, added) = self.index.find_or_insert(hash, key);
        if added {
            self.push_states();
        }
        group
    }

    /// Adds `key` (whose hash is `hash`) as a new group without looking for it first: the
    /// caller knows no group has it. Returns its number.
    pub(crate) fn push_distinct(&mut self, hash: u64, key: &[u8]) -> usize {
        let g = self.index.push(hash, key);
        self.push_states();
        g
    }

    /// A record count and empty states for the group just added to the index.
    fn push_states(&mut self) {
        self.records.push(0);
        for column in &mut self.columns {
            column.push_group();
        }
    }

    /// Folds `other` (made from the same plan) into `self`. Every state's merge is exact,
    /// associative and commutative, so any grouping and order of merges gives equal tables.
    pub fn merge(&mut self, mut other: AggTable) {
        self.add_counters(
            &other.malformed_keys,
            &other.malformed_values,
            &other.text_values,
        );
        if self.records.is_empty() && self.index.len() == 0 {
            // Nothing to merge into: the other table is the result (plus the counters above).
            other.malformed_values = std::mem::take(&mut self.malformed_values);
            other.malformed_keys = std::mem::take(&mut self.malformed_keys);
            other.text_values = std::mem::take(&mut self.text_values);
            let scratch = std::mem::take(&mut self.scratch);
            *self = other;
            self.scratch = scratch;
            return;
        }
        for og in 0..other.index.len() {
            let g = self.group_hashed(other.index.hash(og), other.index.key(og));
            let theirs = other.records.get(og).copied().unwrap_or(0);
            self.records[g] = self.records[g].wrapping_add(theirs);
            for ((column, spec), their_column) in self
                .columns
                .iter_mut()
                .zip(&self.plan.specs)
                .zip(&mut other.columns)
            {
                column.merge_from(g, spec.func, their_column, og);
            }
        }
    }

    /// Adds another table's counters (per key, per spec, per spec) to this one's.
    pub(crate) fn add_counters(
        &mut self,
        malformed_keys: &[u64],
        malformed_values: &[u64],
        text_values: &[u64],
    ) {
        for (mine, theirs) in [
            (&mut self.malformed_keys, malformed_keys),
            (&mut self.malformed_values, malformed_values),
            (&mut self.text_values, text_values),
        ] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a = a.wrapping_add(*b);
            }
        }
    }

    /// Folds one decoded group's record count and states (group 0 of each `scratch` column,
    /// which is taken) into group `g`.
    #[inline]
    pub(crate) fn merge_states(&mut self, g: usize, records: u64, scratch: &mut [Column]) {
        self.records[g] = self.records[g].wrapping_add(records);
        for ((column, spec), theirs) in self.columns.iter_mut().zip(&self.plan.specs).zip(scratch) {
            column.merge_from(g, spec.func, theirs, 0);
        }
    }

    /// Asks the CPU to start loading group `g`'s record count and states.
    #[inline(always)]
    pub(crate) fn prefetch_states(&self, g: usize) {
        super::prefetch::prefetch(&self.records, g, 1);
        for column in &self.columns {
            column.prefetch(g);
        }
    }

    pub fn groups(&self) -> usize {
        self.records.len()
    }

    /// Per numeric spec (sum, mean, stddev) with any: (spec text, values that were not
    /// numbers and were skipped). Numbers with more than 19 integer digits count here too:
    /// they cannot be summed exactly.
    pub fn malformed_values(&self) -> Vec<(String, u64)> {
        self.plan
            .specs
            .iter()
            .zip(&self.malformed_values)
            .filter(|(_, &n)| n > 0)
            .map(|(s, &n)| (s.text.clone(), n))
            .collect()
    }

    /// Whether spec `s` saw text in its column, so the default markers there are values.
    pub(crate) fn column_text(&self, s: usize) -> bool {
        self.text_values.get(s).is_some_and(|&n| n > 0)
    }

    /// The aggregates whose column holds text and also default markers (`NA`, ...), which
    /// they therefore read as values, not as missing: worth telling the user, since one
    /// stray text in a column of numbers is enough.
    pub fn markers_read_as_text(&self) -> Vec<String> {
        self.plan
            .specs
            .iter()
            .zip(&self.columns)
            .enumerate()
            .filter(|(s, (_, column))| {
                self.column_text(*s) && column.holds_markers(&self.plan.nulls)
            })
            .map(|(_, (spec, _))| spec.text.clone())
            .collect()
    }

    /// Per derived key with any: (key text, values neither missing nor timestamps, which
    /// were grouped under the empty key).
    pub fn malformed_keys(&self) -> Vec<(String, u64)> {
        self.plan
            .keys
            .iter()
            .zip(&self.malformed_keys)
            .filter(|(_, &n)| n > 0)
            .map(|(k, &n)| (k.text.clone(), n))
            .collect()
    }

    /// Bytes the table holds, estimated (see [`Column::heap_bytes`]): what `--memory`
    /// limits.
    pub fn heap_bytes(&self) -> usize {
        self.index.heap_bytes()
            + self.records.capacity() * 8
            + self.dense.capacity() * 4
            + self.columns.iter().map(Column::heap_bytes).sum::<usize>()
    }

    /// Group `g`'s key hash (the same in every table).
    pub(crate) fn group_hash(&self, g: usize) -> u64 {
        self.index.hash(g)
    }

    /// An empty table for the same plan carrying this table's counters (malformed values and
    /// keys, text seen): what is left in memory when the groups are spilled.
    pub(crate) fn emptied(&self) -> AggTable {
        let mut t = AggTable::new(&self.plan);
        t.malformed_values.clone_from(&self.malformed_values);
        t.malformed_keys.clone_from(&self.malformed_keys);
        t.text_values.clone_from(&self.text_values);
        t
    }

    /// Takes the counters of `from` (a table of the same plan) as this table's own.
    pub(crate) fn set_counters(&mut self, from: &AggTable) {
        self.malformed_values.clone_from(&from.malformed_values);
        self.malformed_keys.clone_from(&from.malformed_keys);
        self.text_values.clone_from(&from.text_values);
    }

    /// (packed key, records) of every group, indexed by group number.
    pub(crate) fn group_list(&self) -> Vec<(&[u8], u64)> {
        self.index
            .keys()
            .zip(self.records.iter().copied())
            .collect()
    }

    /// Rebuilds a table from decoded parts: group `g` is the `g`th group of `index` with
    /// `records[g]` and row `g` of every column. The codec has checked their consistency.
    pub(crate) fn from_parts(
        plan: &AggPlan,
        index: GroupIndex,
        records: Vec<u64>,
        columns: Vec<Column>,
        counts: SpecCounts,
    ) -> AggTable {
        let SpecCounts {
            malformed_values,
            text_values,
            malformed_keys,
        } = counts;
        let mut table = AggTable::new(plan);
        table.malformed_values = malformed_values;
        table.text_values = text_values;
        table.malformed_keys = malformed_keys;
        table.columns = columns;
        table.index = index;
        table.records = records;
        table
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::schema::Schema;

    fn plan(group_by: Option<&str>, aggs: &[&str]) -> AggPlan {
        let schema = Schema::new(Some(["id", "time", "speed"].map(String::from).to_vec()), 0);
        AggPlan::parse(group_by, aggs, &schema).unwrap()
    }

    fn feed(table: &mut AggTable, plan: &AggPlan, rows: &[[&str; 3]]) {
        for row in rows {
            table.update(plan, |i| row[i].as_bytes());
        }
    }

    #[test]
    fn short_single_keys_find_the_groups_their_packed_bytes_name() {
        // Values of every length around the 7- and 15-byte word edges, a long one that takes
        // the general path, canonical integers (the dense cache) and non-canonical ones.
        let p = plan(Some("time"), &["count"]);
        let values: Vec<String> = (0..=18)
            .map(|n| "22.649698123456789xyz"[..n].to_string())
            .chain(["0", "011865", "11865", "-3", "a,b", "\"q\"", "é"].map(String::from))
            .collect();
        let mut t = AggTable::new(&p);
        for round in 0..2 {
            for v in &values {
                t.update(&p, |_| v.as_bytes());
            }
            assert_eq!(t.groups(), values.len(), "round {round}");
        }
        for (g, v) in values.iter().enumerate() {
            let mut packed = Vec::new();
            push_part(&mut packed, v.as_bytes());
            assert_eq!(t.index.key(g), &packed[..], "{v:?}");
            assert_eq!(t.index.hash(g), key_hash(&packed), "{v:?}");
            assert_eq!(t.index.find(key_hash(&packed), &packed), Some(g), "{v:?}");
            assert_eq!(t.records[g], 2, "{v:?}");
        }
        assert_eq!(t.groups(), values.len());
    }

    #[test]
    fn groups_and_malformed() {
        let p = plan(Some("id,hour(time)"), &["count", "sum(speed)"]);
        let mut t = AggTable::new(&p);
        feed(
            &mut t,
            &p,
            &[
                ["1", "2015-02-01 08:00:00", "10"],
                ["1", "2015-02-01 08:59:59", "x"],
                ["1", "2015-02-01 09:00:00", "5"],
                ["2", "garbage", ""],
                ["2", "", "7"],
            ],
        );
        // (1,08) (1,09) (2,"")
        assert_eq!(t.groups(), 3);
        assert_eq!(t.malformed_values(), vec![("sum(speed)".to_string(), 1)]);
        assert_eq!(t.malformed_keys(), vec![("hour(time)".to_string(), 1)]);
        let list = t.group_list();
        assert_eq!(list.iter().map(|g| g.1).sum::<u64>(), 5);
    }

    #[test]
    fn merge_adds_counts_and_new_groups() {
        let p = plan(Some("id"), &["count", "sum(speed)"]);
        let mut a = AggTable::new(&p);
        feed(&mut a, &p, &[["1", "", "1"], ["2", "", "x"]]);
        let mut b = AggTable::new(&p);
        feed(
            &mut b,
            &p,
            &[["3", "", "1"], ["2", "", "2"], ["2", "", "y"]],
        );
        a.merge(b);
        assert_eq!(a.groups(), 3);
        assert_eq!(a.malformed_values(), vec![("sum(speed)".to_string(), 2)]);
        let mut by_key: Vec<(Vec<u8>, u64)> = a
            .group_list()
            .into_iter()
            .map(|(k, r)| (k.to_vec(), r))
            .collect();
        by_key.sort();
        assert_eq!(
            by_key,
            vec![
                (b"\x011".to_vec(), 1),
                (b"\x012".to_vec(), 3),
                (b"\x013".to_vec(), 1)
            ]
        );
        // Merging an empty table changes nothing; merging into an empty one copies.
        a.merge(AggTable::new(&p));
        assert_eq!(a.groups(), 3);
        let mut e = AggTable::new(&p);
        e.merge(a);
        assert_eq!(e.groups(), 3);
    }

    #[test]
    fn no_keys_is_one_group() {
        let p = plan(None, &["count"]);
        let mut t = AggTable::new(&p);
        assert_eq!(t.groups(), 0);
        feed(&mut t, &p, &[["1", "", ""], ["2", "", ""]]);
        assert_eq!(t.groups(), 1);
        assert_eq!(t.group_list()[0].1, 2);
    }

    #[test]
    fn small_ints() {
        assert_eq!(small_int(b"0"), Some(0));
        assert_eq!(small_int(b"11865"), Some(11865));
        assert_eq!(small_int(b"9999999"), Some(9_999_999));
        for bad in [
            &b""[..],
            b"011865",
            b"00",
            b"+1",
            b"-1",
            b"1.0",
            b"12345678",
            b"1a",
        ] {
            assert_eq!(small_int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn dense_path_keeps_byte_keys_apart_and_agrees_with_merge() {
        let p = plan(Some("id"), &["count", "sum(speed)"]);
        let ids = [
            "11865", "011865", "11865.0", "0", "00", "5000000", "1048575", "1048576", "", "x",
        ];
        let mut whole = AggTable::new(&p);
        let mut a = AggTable::new(&p);
        let mut b = AggTable::new(&p);
        for round in 0..3 {
            for (i, id) in ids.iter().enumerate() {
                let row = [*id, "", "1"];
                whole.update(&p, |c| row[c].as_bytes());
                if (i + round) % 2 == 0 { &mut a } else { &mut b }
                    .update(&p, |c| row[c].as_bytes());
            }
        }
        assert_eq!(
            whole.groups(),
            ids.len(),
            "byte-distinct keys stay distinct"
        );
        a.merge(b);
        // Keys merged in from `b` are found through the index and then cached.
        for id in ids {
            let row = [id, "", "1"];
            a.update(&p, |c| row[c].as_bytes());
            whole.update(&p, |c| row[c].as_bytes());
        }
        let mut x: Vec<(Vec<u8>, u64)> = a
            .group_list()
            .into_iter()
            .map(|(k, r)| (k.to_vec(), r))
            .collect();
        let mut y: Vec<(Vec<u8>, u64)> = whole
            .group_list()
            .into_iter()
            .map(|(k, r)| (k.to_vec(), r))
            .collect();
        x.sort();
        y.sort();
        assert_eq!(x, y);
        assert!(x.iter().all(|(_, r)| *r == 4), "{x:?}");
        assert!(a.dense.len() <= DENSE_MAX);
    }

    #[test]
    fn minute_cache_agrees_with_parsing_every_time() {
        let p = plan(Some("bucket(time,15m)"), &["count"]);
        let times = [
            "2015-02-01 08:14:59",
            "2015-02-01 08:14:60",
            "2015-02-01 08:14:5x",
            "2015-02-01 08:14:30.5",
            "2015-02-01 08:14:30.",
            "2015-02-01T08:14:30",
            "2015-02-01 08:15:00",
            "2015-02-01 08:14:01",
        ];
        let mut t = AggTable::new(&p);
        for time in times {
            feed(&mut t, &p, &[["1", time, "5"]]);
        }
        let mut groups: Vec<(String, u64)> = t
            .group_list()
            .into_iter()
            .map(|(k, n)| {
                let parts = super::super::keys::unpack(k, 1).unwrap();
                (String::from_utf8(parts[0].to_vec()).unwrap(), n)
            })
            .collect();
        groups.sort();
        assert_eq!(
            groups,
            [
                (String::new(), 2),
                ("2015-02-01 08:00:00".to_string(), 4),
                ("2015-02-01 08:15:00".to_string(), 2),
            ]
        );
        assert_eq!(t.malformed_keys(), [("bucket(time,15m)".to_string(), 2)]);
    }
}
