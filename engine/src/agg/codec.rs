//! [`AggTable::encode`] and [`AggTable::decode`]: a table as bytes, so a worker process can
//! hand its table to the coordinator through a file, and back to an equal table.
//!
//! Layout (integers are LEB128 unless said otherwise):
//! `fleetagg` version(u8) | plan fingerprint: nkeys, (kind u8, column)*, nspecs,
//! (kind u8, column)* | malformed per key, per spec | text values per spec | ngroups | per
//! group: key length, packed key, records, one state per spec. States: count: nothing;
//! count(COL): n, markers; sum/mean: n, sum (32 bytes, little-endian two's complement);
//! stddev: the same plus the sum of squares (32 bytes); min/max: flags u8 (1 = seen, 2 = all
//! numeric), bytewise winner, numeric winner, marker winner (each length-prefixed); distinct:
//! count, then each value length-prefixed.
//!
//! Decoding trusts nothing: every length is checked against what is left, the fingerprint
//! must match the plan, and states must be consistent, so a truncated or foreign file is an
//! error naming the byte offset rather than a panic or a silently wrong result.

use super::accum::{Column, Extreme, Hist, Pick, Present, Sketch, SpreadState, SumState, ValueSet};
use super::error::AggError;
use super::exact::{Sum256, U256};
use super::groups::{key_hash, GroupIndex};
use super::keys::{push_varint, read_varint, unpack};
use super::spec::{AggFn, AggPlan, KeyFn};
use super::table::{AggTable, SpecCounts};

const MAGIC: &[u8] = b"fleetagg";
const VERSION: u8 = 3;

/// Groups of an encoded table held between decoding and merging ([`AggTable::merge_encoded`]).
const MERGE_RING: usize = 16;
/// Groups between a group's decoding and its lookup, and between its lookup and its merge.
const MERGE_LAG: usize = MERGE_RING / 2;

/// One decoded group waiting to be merged: where it starts, its packed key and hash, its
/// record count, its group in the merged table once looked up, and its states (as group 0).
struct Decoded<'b> {
    at: usize,
    key: &'b [u8],
    hash: u64,
    records: u64,
    group: usize,
    states: Vec<Column>,
}

/// (kind, column, parameter: window, bin width or fraction; 0 when none).
fn key_code(f: KeyFn) -> (u8, usize, u128) {
    match f {
        KeyFn::Column(c) => (0, c, 0),
        KeyFn::Hour(c) => (1, c, 0),
        KeyFn::Day(c) => (2, c, 0),
        KeyFn::Weekday(c) => (3, c, 0),
        KeyFn::Month(c) => (4, c, 0),
        KeyFn::Bucket(c, w) => (5, c, u128::from(w)),
        KeyFn::Bin(c, w) => (6, c, w as u128),
    }
}

fn spec_code(f: AggFn) -> (u8, usize, u128) {
    match f {
        AggFn::Count => (0, 0, 0),
        AggFn::CountNonEmpty(c) => (1, c, 0),
        AggFn::Sum(c) => (2, c, 0),
        AggFn::Mean(c) => (3, c, 0),
        AggFn::Min(c) => (4, c, 0),
        AggFn::Max(c) => (5, c, 0),
        AggFn::Stddev(c) => (6, c, 0),
        AggFn::Distinct(c) => (7, c, 0),
        AggFn::Quantile(c, q) => (8, c, u128::from(q)),
        AggFn::ApproxQuantile(c, q) => (9, c, u128::from(q)),
        AggFn::First(c) => (10, c, 0),
        AggFn::Last(c) => (11, c, 0),
    }
}

fn fingerprint(plan: &AggPlan, out: &mut Vec<u8>) {
    let part = |out: &mut Vec<u8>, (code, col, param): (u8, usize, u128)| {
        out.push(code);
        push_varint(out, col as u64);
        out.extend_from_slice(&param.to_le_bytes());
    };
    push_varint(out, plan.keys.len() as u64);
    for k in &plan.keys {
        part(out, key_code(k.func));
    }
    push_varint(out, plan.specs.len() as u64);
    for s in &plan.specs {
        part(out, spec_code(s.func));
    }
    // Epoch columns change what the derived keys are.
    push_varint(out, plan.times.len() as u64);
    for &(c, f) in &plan.times {
        push_varint(out, c as u64);
        out.push(f as u8);
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl AggTable {
    /// Appends the table's bytes to `out`; [`AggTable::decode`] with the same plan gives an
    /// equal table back.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_head(true, out);
        push_varint(out, self.groups() as u64);
        for g in 0..self.groups() {
            self.encode_group(g, out);
        }
    }

    /// Encodes only `groups` (group numbers of this table, each once), as a table of its own
    /// whose counters are zero unless `counters`: one partition of a spilled table, whose
    /// counters stay with the table in memory.
    pub(crate) fn encode_groups(&self, groups: &[usize], counters: bool, out: &mut Vec<u8>) {
        self.encode_head(counters, out);
        push_varint(out, groups.len() as u64);
        for &g in groups {
            self.encode_group(g, out);
        }
    }

    fn encode_head(&self, counters: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        fingerprint(&self.plan, out);
        for &n in self
            .malformed_keys
            .iter()
            .chain(&self.malformed_values)
            .chain(&self.text_values)
        {
            push_varint(out, if counters { n } else { 0 });
        }
    }

    fn encode_group(&self, g: usize, out: &mut Vec<u8>) {
        push_bytes(out, self.index.key(g));
        push_varint(out, self.records.get(g).copied().unwrap_or(0));
        for column in &self.columns {
            encode_state(column, g, out);
        }
    }

    /// Reads a table written by [`AggTable::encode`] for the same plan.
    pub fn decode(plan: &AggPlan, bytes: &[u8]) -> Result<AggTable, AggError> {
        let mut r = Reader { bytes, pos: 0 };
        let counts = read_head(&mut r, plan)?;
        let ngroups = r.len()?;
        // A group takes at least two bytes, which bounds what a bogus count can reserve.
        let mut index = GroupIndex::default();
        index.reserve(ngroups.min(r.left() / 2), 0);
        let mut records = Vec::with_capacity(ngroups.min(r.left() / 2));
        let mut columns: Vec<Column> = plan.specs.iter().map(|s| Column::new(s.func)).collect();
        for _ in 0..ngroups {
            let at = r.pos;
            let key = r.sized()?;
            if unpack(key, plan.keys.len()).is_none() {
                return Err(r.fail_at(at, "malformed group key"));
            }
            let hash = key_hash(key);
            if index.find(hash, key).is_some() {
                return Err(r.fail_at(at, "duplicate group key"));
            }
            index.push(hash, key);
            records.push(r.varint()?);
            for column in &mut columns {
                decode_state(&mut r, column)?;
            }
        }
        if r.left() != 0 {
            return Err(r.fail("trailing bytes after the table"));
        }
        Ok(AggTable::from_parts(plan, index, records, columns, counts))
    }

    /// Folds a table written by [`AggTable::encode`] for this table's plan into this table,
    /// as `self.merge(AggTable::decode(plan, bytes)?)` would, without building the decoded
    /// table: each group is looked up once, in `self`. This is the coordinator's share of a
    /// hashed group-by, once per chunk, so it runs alone while the workers scan. On an error
    /// `self` may hold part of the table: the caller fails the job.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<(), AggError> {
        let plan = self.plan.clone();
        let mut r = Reader { bytes, pos: 0 };
        let counts = read_head(&mut r, &plan)?;
        self.add_counters(
            &counts.malformed_keys,
            &counts.malformed_values,
            &counts.text_values,
        );
        let ngroups = r.len()?;
        // The merged table has at least as many groups as either side: room for them now,
        // not step by step (each step re-places every group). A group takes at least two
        // bytes, which bounds what a bogus count can reserve.
        let at_least = ngroups.min(r.left() / 2);
        self.index
            .reserve(at_least.saturating_sub(self.groups()), 0);
        // Groups wait in a ring between decoding (their slot in `self` prefetched), lookup
        // (their states prefetched) and merging, as `pipeline.rs` does for records: with
        // hundreds of thousands of groups nearly every lookup and state misses the cache.
        let mut ring: Vec<Decoded<'_>> = (0..MERGE_RING)
            .map(|_| Decoded {
                at: 0,
                key: &[],
                hash: 0,
                records: 0,
                group: 0,
                states: plan.specs.iter().map(|s| Column::new(s.func)).collect(),
            })
            .collect();
        // Groups of `self` this table has already named: a key twice is a corrupt table.
        let mut named = vec![false; self.groups()];
        let mut merge = |table: &mut AggTable, d: &mut Decoded<'_>| -> Result<(), AggError> {
            let g = d.group;
            table.merge_states(g, d.records, &mut d.states);
            if g >= named.len() {
                named.resize(g + 1, false);
            }
            if std::mem::replace(&mut named[g], true) {
                return Err(AggError::Decode {
                    reason: "duplicate group key",
                    offset: d.at,
                });
            }
            Ok(())
        };
        let (mut looked_up, mut merged) = (0usize, 0usize);
        for i in 0..ngroups {
            if i - merged == MERGE_RING {
                merge(self, &mut ring[merged % MERGE_RING])?;
                merged += 1;
            }
            if i - looked_up == MERGE_LAG {
                self.look_up_decoded(&mut ring[looked_up % MERGE_RING]);
                looked_up += 1;
            }
            let d = &mut ring[i % MERGE_RING];
            d.at = r.pos;
            d.key = r.sized()?;
            if unpack(d.key, plan.keys.len()).is_none() {
                return Err(r.fail_at(d.at, "malformed group key"));
            }
            d.records = r.varint()?;
            for column in &mut d.states {
                column.clear();
                decode_state(&mut r, column)?;
            }
            d.hash = key_hash(d.key);
            self.index.prefetch(d.hash);
        }
        while looked_up < ngroups {
            self.look_up_decoded(&mut ring[looked_up % MERGE_RING]);
            looked_up += 1;
        }
        while merged < ngroups {
            merge(self, &mut ring[merged % MERGE_RING])?;
            merged += 1;
        }
        if r.left() != 0 {
            return Err(r.fail("trailing bytes after the table"));
        }
        Ok(())
    }
}

impl AggTable {
    /// Finds (or adds) a decoded group's group in this table and prefetches its states.
    #[inline(always)]
    fn look_up_decoded(&mut self, d: &mut Decoded<'_>) {
        d.group = self.group_hashed(d.hash, d.key);
        self.prefetch_states(d.group);
    }
}

/// Reads what precedes the groups: magic, version, the plan's fingerprint (which must be
/// `plan`'s) and the counters.
fn read_head(r: &mut Reader<'_>, plan: &AggPlan) -> Result<SpecCounts, AggError> {
    if r.take(MAGIC.len())? != MAGIC {
        return Err(r.fail_at(0, "not an aggregate table (bad magic)"));
    }
    if r.byte()? != VERSION {
        return Err(r.fail("unsupported version"));
    }
    let mut want = Vec::new();
    fingerprint(plan, &mut want);
    let at = r.pos;
    if r.take(want.len())? != want {
        return Err(r.fail_at(at, "table was made for different --group-by/--agg"));
    }
    let mut malformed_keys = Vec::with_capacity(plan.keys.len());
    for _ in &plan.keys {
        malformed_keys.push(r.varint()?);
    }
    let mut malformed_values = Vec::with_capacity(plan.specs.len());
    for _ in &plan.specs {
        malformed_values.push(r.varint()?);
    }
    let mut text_values = Vec::with_capacity(plan.specs.len());
    for _ in &plan.specs {
        text_values.push(r.varint()?);
    }
    Ok(SpecCounts {
        malformed_values,
        text_values,
        malformed_keys,
    })
}

fn push_sum(out: &mut Vec<u8>, n: u64, sum: &Sum256) {
    push_varint(out, n);
    out.extend_from_slice(&sum.lo.to_le_bytes());
    out.extend_from_slice(&sum.hi.to_le_bytes());
}

/// Writes group `g`'s state of one column.
fn encode_state(column: &Column, g: usize, out: &mut Vec<u8>) {
    match column {
        Column::Records => {}
        Column::NonEmpty(v) => {
            push_varint(out, v[g].n);
            push_varint(out, v[g].markers);
        }
        Column::Sum(v) => push_sum(out, v[g].n, &v[g].sum),
        Column::Spread(v) => {
            let st = &v[g];
            push_sum(out, st.n, &st.sum);
            out.extend_from_slice(&st.squares.lo.to_le_bytes());
            out.extend_from_slice(&st.squares.hi.to_le_bytes());
        }
        Column::Extreme(v) => {
            let e = &v[g];
            out.push(u8::from(e.seen) | (u8::from(e.all_numeric) << 1));
            push_bytes(out, e.bytes.as_slice());
            push_bytes(out, e.numeric.as_slice());
            push_bytes(out, e.marker.as_slice());
        }
        Column::Distinct(v) => {
            push_varint(out, v[g].len() as u64);
            for value in &v[g] {
                push_bytes(out, value);
            }
        }
        Column::Hist(v) => {
            let h = &v[g];
            push_varint(out, h.dense.len() as u64);
            for &n in &h.dense {
                push_varint(out, n);
            }
            push_varint(out, h.sparse.len() as u64);
            for (&value, &n) in &h.sparse {
                out.extend_from_slice(&value.to_le_bytes());
                push_varint(out, n);
            }
        }
        Column::Sketch(v) => {
            // An empty sketch is written as nothing.
            push_bytes(out, &v[g].to_json().unwrap_or_default());
        }
        Column::Pick(v) => {
            out.push(u8::from(v[g].seen));
            push_bytes(out, v[g].value.as_slice());
        }
    }
}

/// Reads one group's state of one column and appends it.
fn decode_state(r: &mut Reader<'_>, column: &mut Column) -> Result<(), AggError> {
    match column {
        Column::Records => {}
        Column::NonEmpty(v) => v.push(Present {
            n: r.varint()?,
            markers: r.varint()?,
        }),
        Column::Sum(v) => {
            let (n, sum) = r.sum()?;
            v.push(SumState { n, sum });
        }
        Column::Spread(v) => {
            let (n, sum) = r.sum()?;
            let squares = U256 {
                lo: r.u128()?,
                hi: r.u128()?,
            };
            v.push(SpreadState { n, sum, squares });
        }
        Column::Extreme(v) => {
            let at = r.pos;
            let flags = r.byte()?;
            let (seen, all_numeric) = (flags & 1 != 0, flags & 2 != 0);
            let bytes = r.sized()?;
            let numeric = r.sized()?;
            let marker = r.sized()?;
            let state = Extreme::from_parts(seen, all_numeric, bytes, numeric, marker)
                .filter(|_| flags < 4)
                .ok_or_else(|| r.fail_at(at, "inconsistent min/max state"))?;
            v.push(state);
        }
        Column::Distinct(v) => {
            let count = r.len()?;
            let mut set = ValueSet::default();
            set.reserve(count.min(r.left() / 2));
            for _ in 0..count {
                let at = r.pos;
                let value = r.sized()?;
                if value.is_empty() || !set.insert(value.into()) {
                    return Err(r.fail_at(at, "empty or duplicate distinct value"));
                }
            }
            v.push(set);
        }
        Column::Hist(v) => {
            let at = r.pos;
            let dense_len = r.len()?;
            if dense_len > 1 << 16 {
                return Err(r.fail_at(at, "histogram too long"));
            }
            let mut h = Hist::default();
            h.dense.reserve(dense_len.min(r.left()));
            for _ in 0..dense_len {
                h.dense.push(r.varint()?);
            }
            let sparse_len = r.len()?;
            for _ in 0..sparse_len {
                let at = r.pos;
                let value = i128::from_le_bytes(
                    r.take(16)?
                        .try_into()
                        .map_err(|_| r.fail_at(at, "truncated"))?,
                );
                let n = r.varint()?;
                if h.sparse.insert(value, n).is_some() {
                    return Err(r.fail_at(at, "duplicate histogram value"));
                }
            }
            v.push(h);
        }
        Column::Sketch(v) => {
            let at = r.pos;
            let json = r.sized()?;
            let sketch = Sketch::from_json(Some(json).filter(|j| !j.is_empty()))
                .ok_or_else(|| r.fail_at(at, "malformed quantile sketch"))?;
            v.push(sketch);
        }
        Column::Pick(v) => {
            let at = r.pos;
            let seen = r.byte()?;
            let value = r.sized()?;
            if seen > 1 || (seen == 0 && !value.is_empty()) {
                return Err(r.fail_at(at, "inconsistent first/last state"));
            }
            v.push(Pick {
                seen: seen == 1,
                value: value.into(),
            });
        }
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn fail(&self, reason: &'static str) -> AggError {
        self.fail_at(self.pos, reason)
    }

    fn fail_at(&self, offset: usize, reason: &'static str) -> AggError {
        AggError::Decode { reason, offset }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AggError> {
        if n > self.left() {
            return Err(self.fail("truncated"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, AggError> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, AggError> {
        let at = self.pos;
        read_varint(self.bytes, &mut self.pos)
            .ok_or_else(|| self.fail_at(at, "truncated or overlong number"))
    }

    /// A count or length, which cannot exceed what is left to read in any valid table.
    fn len(&mut self) -> Result<usize, AggError> {
        let at = self.pos;
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= self.left())
            .ok_or_else(|| self.fail_at(at, "length beyond the end"))
    }

    fn sized(&mut self) -> Result<&'a [u8], AggError> {
        let n = self.len()?;
        self.take(n)
    }

    fn sum(&mut self) -> Result<(u64, Sum256), AggError> {
        let n = self.varint()?;
        let lo = self.u128()?;
        let hi = self.u128()? as i128;
        Ok((n, Sum256 { lo, hi }))
    }

    fn u128(&mut self) -> Result<u128, AggError> {
        let mut w = [0u8; 16];
        w.copy_from_slice(self.take(16)?);
        Ok(u128::from_le_bytes(w))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::agg::output::{finish, write_csv};
    use crate::input::schema::Schema;

    fn plan() -> AggPlan {
        let schema = Schema::new(Some(["id", "time", "v"].map(String::from).to_vec()), 0);
        AggPlan::parse(
            Some("id,day(time)"),
            &[
                "count",
                "count(v)",
                "sum(v)",
                "mean(v)",
                "min(v)",
                "max(v)",
                "stddev(v)",
                "distinct(v)",
            ],
            &schema,
        )
        .unwrap()
    }

    fn table(p: &AggPlan) -> AggTable {
        let rows = [
            ["1", "2015-02-01 00:00:00", "1.5"],
            ["1", "2015-02-01 10:00:00", "-2"],
            ["1", "2015-02-02 10:00:00", "x"],
            ["2", "nope", ""],
            ["2", "2015-02-01 00:00:00", "99999999999999999999"],
            ["3,\"", "2015-02-01 00:00:00", "7"],
        ];
        let mut t = AggTable::new(p);
        for row in &rows {
            t.update(p, |i| row[i].as_bytes());
        }
        t
    }

    /// The table's rows as `fleet agg` prints them in CSV.
    pub(crate) fn csv(t: &AggTable, p: &AggPlan) -> Vec<u8> {
        let mut out = Vec::new();
        write_csv(&finish(t, p, None, None), p, &mut out);
        out
    }

    #[test]
    fn round_trips() {
        let p = plan();
        let t = table(&p);
        let mut bytes = Vec::new();
        t.encode(&mut bytes);
        let back = AggTable::decode(&p, &bytes).unwrap();
        assert_eq!(back.groups(), t.groups());
        assert_eq!(back.malformed_values(), t.malformed_values());
        assert_eq!(back.malformed_keys(), t.malformed_keys());
        assert_eq!(csv(&back, &p), csv(&t, &p));
        let mut again = Vec::new();
        back.encode(&mut again);
        assert_eq!(
            AggTable::decode(&p, &again).map(|t| csv(&t, &p)).unwrap(),
            csv(&t, &p)
        );
        let empty = AggTable::new(&p);
        let mut bytes = Vec::new();
        empty.encode(&mut bytes);
        assert_eq!(AggTable::decode(&p, &bytes).unwrap().groups(), 0);
    }

    #[test]
    fn an_empty_quantile_sketch_round_trips() {
        // Group 2 has no number: its sketch is empty, with infinite bounds JSON cannot hold.
        let schema = Schema::new(Some(["id", "v"].map(String::from).to_vec()), 0);
        let p = AggPlan::parse(Some("id"), &["approx_quantile(v,0.5)", "count"], &schema).unwrap();
        let mut t = AggTable::new(&p);
        for row in [["1", "3"], ["1", "5"], ["2", ""], ["2", "x"]] {
            t.update(&p, |i| row[i].as_bytes());
        }
        let mut bytes = Vec::new();
        t.encode(&mut bytes);
        let back = AggTable::decode(&p, &bytes).unwrap();
        assert_eq!(csv(&back, &p), csv(&t, &p));
        let text = String::from_utf8(csv(&back, &p)).unwrap();
        assert!(text.lines().any(|l| l == "2,,2"), "{text}");
    }

    #[test]
    fn rejects_truncation_garbage_and_other_plans() {
        let p = plan();
        let mut bytes = Vec::new();
        table(&p).encode(&mut bytes);
        for cut in 0..bytes.len() {
            let e = AggTable::decode(&p, &bytes[..cut]);
            assert!(e.is_err(), "prefix of {cut} bytes decoded");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        let e = AggTable::decode(&p, &extra).unwrap_err();
        assert!(e.to_string().contains("trailing bytes"), "{e}");
        let schema = Schema::new(Some(["id", "time", "v"].map(String::from).to_vec()), 0);
        let other = AggPlan::parse(Some("id"), &["count"], &schema).unwrap();
        let e = AggTable::decode(&other, &bytes).unwrap_err();
        assert!(e.to_string().contains("different --group-by/--agg"), "{e}");
        let e = AggTable::decode(&p, b"not a table at all").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid aggregate table: not an aggregate table (bad magic) at byte 0"
        );
        // Flipping any single byte either fails to decode or decodes without panicking.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            if let Ok(t) = AggTable::decode(&p, &b) {
                let _ = csv(&t, &p);
            }
        }
    }

    #[test]
    fn merging_encoded_equals_decoding_then_merging() {
        let p = plan();
        let mut bytes = Vec::new();
        table(&p).encode(&mut bytes);
        // Into an empty table, into one holding the same groups, twice in a row.
        let mut fused = AggTable::new(&p);
        let mut plain = AggTable::new(&p);
        for _ in 0..2 {
            fused.merge_encoded(&bytes).unwrap();
            plain.merge(AggTable::decode(&p, &bytes).unwrap());
            assert_eq!(csv(&fused, &p), csv(&plain, &p));
            assert_eq!(fused.malformed_values(), plain.malformed_values());
            assert_eq!(fused.malformed_keys(), plain.malformed_keys());
        }
        assert_eq!(fused.groups(), table(&p).groups());
        // A truncated table or a key named twice is an error, not a panic.
        for cut in 0..bytes.len() {
            let mut t = AggTable::new(&p);
            assert!(
                t.merge_encoded(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        let q = AggPlan::parse(
            Some("id"),
            &["count"],
            &Schema::new(Some(["id", "time", "v"].map(String::from).to_vec()), 0),
        )
        .unwrap();
        let mut one = AggTable::new(&q);
        one.update(&q, |_| b"7");
        let mut twice = Vec::new();
        one.encode(&mut twice);
        // The one group is its key ([2, 1, '7']: length, packed key) and its record count;
        // the group count is the byte before it. Name the group twice.
        let group = twice[twice.len() - 4..].to_vec();
        assert_eq!(group, [2, 1, b'7', 1]);
        let count_at = twice.len() - 5;
        twice[count_at] = 2;
        twice.extend_from_slice(&group);
        let mut t = AggTable::new(&q);
        let e = t.merge_encoded(&twice).unwrap_err();
        assert!(e.to_string().contains("duplicate group key"), "{e}");
        assert!(AggTable::decode(&q, &twice).is_err());
    }
}
