//! An [`AggTable`] as Arrow record batches of typed state columns, and back: how an
//! executor of `fleet agg --cluster` hands its part's partial states to the client through
//! Ballista (Arrow Flight), where they merge with the same exact merge as a local run's
//! chunk tables, so the output is byte-identical.
//!
//! One row per group (`key:K` per group key, `records`, then each aggregate's state under
//! columns named after it), plus one head row that carries the table's counters and nothing
//! else (what [`AggTable::malformed_values`] and friends report). The state columns by
//! function, `S` the aggregate's text:
//! - `count(COL)`: `S.n`, `S.markers` (UInt64);
//! - `sum`, `mean`: `S.n` (UInt64), `S.sum` (Decimal256(76, 9): the exact sum);
//! - `stddev`: the same, plus `S.squares` (FixedSizeBinary(32): the sum of squares in
//!   10^-18 units, an unsigned 256-bit little-endian integer, which no decimal type holds);
//! - `min`, `max`: `S.seen`, `S.all_numeric` (Boolean), `S.numeric`, `S.bytes`, `S.marker`
//!   (LargeBinary: the winners as the input wrote them, see [`super::accum::Extreme`]);
//! - `distinct`: `S.values` (List of LargeBinary: the set);
//! - `quantile`, `median`: `S.dense` (List of UInt64: counts of the integers 0..n),
//!   `S.sparse_values` (List of Decimal128(38, 9)) and `S.sparse_counts` (List of
//!   UInt64);
//! - `approx_quantile`: `S.sketch` (Utf8: the DDSketch as JSON, its own exact form; null
//!   when empty, since an empty sketch's infinite bounds have no JSON form);
//! - `first`, `last`: `S.value` (LargeBinary, null when none was seen).
//!
//! Batches stay under a byte budget (Flight messages have a size limit). A group whose
//! distinct set or histogram alone passes it is written as several rows with the same key:
//! the first carries the group's other states, the rest only further pieces of the large
//! ones beside empty states. Reading merges every row into its group, so the split is
//! invisible in the result; a row read twice would not be, which is why the transport
//! numbers rows and refuses duplicates (`fleet-cluster`'s `assemble`).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Decimal256Builder, FixedSizeBinaryBuilder,
    LargeBinaryBuilder, ListBuilder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Decimal256Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::i256;
use arrow_schema::{DataType, Field, Schema};

use super::accum::{Column, Extreme, Hist, Pick, Present, Sketch, SpreadState, SumState};
use super::error::AggError;
use super::exact::{Sum256, U256};
use super::groups::key_hash;
use super::keys::push_part;
use super::spec::{AggFn, AggPlan};
use super::table::AggTable;

/// The budget [`AggTable::to_state_batches`] is usually given: a quarter of Ballista's
/// default gRPC message limit (16 MiB), since Arrow's buffers add to the estimate.
pub const STATE_BATCH_BYTES: usize = 4 << 20;

const SUM_PRECISION: u8 = 76;
const QUANTILE_PRECISION: u8 = 38;
/// Sums and histogram values are kept in 10^-9 units.
const SCALE: i8 = 9;
/// Bytes one histogram entry costs in a batch (value and count).
const HIST_ENTRY_BYTES: usize = 24;

/// Lists with 32-bit offsets (batches stay far below 2 GiB): arrow-flight 59's encoder
/// declares a `LargeList` field as a `List` in the schema it sends, and the receiver then
/// reads the 64-bit offsets as 32-bit ones.
fn item(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(dt, true)))
}

fn counters() -> DataType {
    item(DataType::UInt64)
}

/// The state columns of one aggregate (see the module docs).
fn spec_fields(text: &str, func: AggFn) -> Vec<Field> {
    let f = |suffix: &str, dt: DataType| Field::new(format!("{text}.{suffix}"), dt, true);
    let sum = || DataType::Decimal256(SUM_PRECISION, SCALE);
    match func {
        AggFn::Count => vec![],
        AggFn::CountNonEmpty(_) => vec![f("n", DataType::UInt64), f("markers", DataType::UInt64)],
        AggFn::Sum(_) | AggFn::Mean(_) => vec![f("n", DataType::UInt64), f("sum", sum())],
        AggFn::Stddev(_) => vec![
            f("n", DataType::UInt64),
            f("sum", sum()),
            f("squares", DataType::FixedSizeBinary(32)),
        ],
        AggFn::Min(_) | AggFn::Max(_) => vec![
            f("seen", DataType::Boolean),
            f("all_numeric", DataType::Boolean),
            f("numeric", DataType::LargeBinary),
            f("bytes", DataType::LargeBinary),
            f("marker", DataType::LargeBinary),
        ],
        AggFn::Distinct(_) => vec![f("values", item(DataType::LargeBinary))],
        AggFn::Quantile(..) => vec![
            f("dense", item(DataType::UInt64)),
            f(
                "sparse_values",
                item(DataType::Decimal128(QUANTILE_PRECISION, SCALE)),
            ),
            f("sparse_counts", item(DataType::UInt64)),
        ],
        AggFn::ApproxQuantile(..) => vec![f("sketch", DataType::Utf8)],
        AggFn::First(_) | AggFn::Last(_) => vec![f("value", DataType::LargeBinary)],
    }
}

/// One aggregate's builders, in the order of [`spec_fields`].
enum Builders {
    Records,
    NonEmpty(UInt64Builder, UInt64Builder),
    Sum(UInt64Builder, Decimal256Builder),
    Spread(UInt64Builder, Decimal256Builder, FixedSizeBinaryBuilder),
    Extreme(
        BooleanBuilder,
        BooleanBuilder,
        LargeBinaryBuilder,
        LargeBinaryBuilder,
        LargeBinaryBuilder,
    ),
    Distinct(ListBuilder<LargeBinaryBuilder>),
    Hist(
        ListBuilder<UInt64Builder>,
        ListBuilder<Decimal128Builder>,
        ListBuilder<UInt64Builder>,
    ),
    Sketch(StringBuilder),
    Pick(LargeBinaryBuilder),
}

fn sum_builder() -> Decimal256Builder {
    Decimal256Builder::new().with_data_type(DataType::Decimal256(SUM_PRECISION, SCALE))
}

fn sum_value(s: Sum256) -> i256 {
    i256::from_parts(s.lo, s.hi)
}

fn squares_bytes(u: U256) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&u.lo.to_le_bytes());
    b[16..].copy_from_slice(&u.hi.to_le_bytes());
    b
}

impl Builders {
    fn new(func: AggFn) -> Builders {
        match Column::new(func) {
            Column::Records => Builders::Records,
            Column::NonEmpty(_) => Builders::NonEmpty(UInt64Builder::new(), UInt64Builder::new()),
            Column::Sum(_) => Builders::Sum(UInt64Builder::new(), sum_builder()),
            Column::Spread(_) => Builders::Spread(
                UInt64Builder::new(),
                sum_builder(),
                FixedSizeBinaryBuilder::new(32),
            ),
            Column::Extreme(_) => Builders::Extreme(
                BooleanBuilder::new(),
                BooleanBuilder::new(),
                LargeBinaryBuilder::new(),
                LargeBinaryBuilder::new(),
                LargeBinaryBuilder::new(),
            ),
            Column::Distinct(_) => Builders::Distinct(ListBuilder::new(LargeBinaryBuilder::new())),
            Column::Hist(_) => Builders::Hist(
                ListBuilder::new(UInt64Builder::new()),
                ListBuilder::new(
                    Decimal128Builder::new()
                        .with_data_type(DataType::Decimal128(QUANTILE_PRECISION, SCALE)),
                ),
                ListBuilder::new(UInt64Builder::new()),
            ),
            Column::Sketch(_) => Builders::Sketch(StringBuilder::new()),
            Column::Pick(_) => Builders::Pick(LargeBinaryBuilder::new()),
        }
    }

    /// The head row: no state.
    fn append_null(&mut self) {
        match self {
            Builders::Records => {}
            Builders::NonEmpty(n, m) => {
                n.append_null();
                m.append_null();
            }
            Builders::Sum(n, s) => {
                n.append_null();
                s.append_null();
            }
            Builders::Spread(n, s, q) => {
                n.append_null();
                s.append_null();
                q.append_null();
            }
            Builders::Extreme(a, b, c, d, e) => {
                a.append_null();
                b.append_null();
                c.append_null();
                d.append_null();
                e.append_null();
            }
            Builders::Distinct(l) => l.append_null(),
            Builders::Hist(a, b, c) => {
                a.append_null();
                b.append_null();
                c.append_null();
            }
            Builders::Sketch(s) => s.append_null(),
            Builders::Pick(p) => p.append_null(),
        }
    }

    /// Group `g`'s state in `column`: whole when `piece` is 0; otherwise an empty state
    /// carrying only piece `piece` of a large set or histogram (see the module docs).
    /// Returns the bytes appended, roughly.
    fn append(&mut self, column: &Column, g: usize, piece: &Piece) -> Result<usize, AggError> {
        let first = piece.index == 0;
        Ok(match (self, column) {
            (Builders::Records, _) => 0,
            (Builders::NonEmpty(n, m), Column::NonEmpty(v)) => {
                let st = if first { v[g] } else { Present::default() };
                n.append_value(st.n);
                m.append_value(st.markers);
                16
            }
            (Builders::Sum(n, s), Column::Sum(v)) => {
                let st = if first { v[g] } else { SumState::default() };
                n.append_value(st.n);
                s.append_value(sum_value(st.sum));
                40
            }
            (Builders::Spread(n, s, q), Column::Spread(v)) => {
                let st = if first { v[g] } else { SpreadState::default() };
                n.append_value(st.n);
                s.append_value(sum_value(st.sum));
                q.append_value(squares_bytes(st.squares))
                    .map_err(|e| AggError::StateBatch(e.to_string()))?;
                72
            }
            (Builders::Extreme(seen, numeric_only, numeric, bytes, marker), Column::Extreme(v)) => {
                let default = Extreme::default();
                let st = if first { &v[g] } else { &default };
                seen.append_value(st.seen);
                numeric_only.append_value(st.all_numeric);
                numeric.append_value(st.numeric.as_slice());
                bytes.append_value(st.bytes.as_slice());
                marker.append_value(st.marker.as_slice());
                8 + st.numeric.as_slice().len()
                    + st.bytes.as_slice().len()
                    + st.marker.as_slice().len()
            }
            (Builders::Distinct(l), Column::Distinct(v)) => {
                let mut size = 0;
                for value in piece.values(&v[g]) {
                    l.values().append_value(value);
                    size += value.len() + 8;
                }
                l.append(true);
                size
            }
            (Builders::Hist(dense, values, counts), Column::Hist(v)) => {
                let h = &v[g];
                if first {
                    dense.values().append_slice(&h.dense);
                }
                dense.append(true);
                let entries = piece.entries(h);
                for &(value, n) in &entries {
                    values.values().append_value(value);
                    counts.values().append_value(n);
                }
                values.append(true);
                counts.append(true);
                (if first { h.dense.len() * 8 } else { 0 }) + entries.len() * HIST_ENTRY_BYTES
            }
            (Builders::Sketch(s), Column::Sketch(v)) => {
                // Null: an empty sketch.
                match v[g].to_json().filter(|_| first) {
                    Some(json) => {
                        let text = std::str::from_utf8(&json)
                            .map_err(|e| AggError::StateBatch(e.to_string()))?;
                        s.append_value(text);
                        json.len()
                    }
                    None => {
                        s.append_null();
                        0
                    }
                }
            }
            (Builders::Pick(p), Column::Pick(v)) => match (first, &v[g]) {
                (true, Pick { seen: true, value }) => {
                    p.append_value(value.as_slice());
                    value.as_slice().len()
                }
                _ => {
                    p.append_null();
                    0
                }
            },
            _ => return Err(AggError::StateBatch("state of another function".into())),
        })
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        match self {
            Builders::Records => {}
            Builders::NonEmpty(n, m) => {
                out.push(Arc::new(n.finish()));
                out.push(Arc::new(m.finish()));
            }
            Builders::Sum(n, s) => {
                out.push(Arc::new(n.finish()));
                out.push(Arc::new(s.finish()));
            }
            Builders::Spread(n, s, q) => {
                out.push(Arc::new(n.finish()));
                out.push(Arc::new(s.finish()));
                out.push(Arc::new(q.finish()));
            }
            Builders::Extreme(a, b, c, d, e) => {
                out.push(Arc::new(a.finish()));
                out.push(Arc::new(b.finish()));
                out.push(Arc::new(c.finish()));
                out.push(Arc::new(d.finish()));
                out.push(Arc::new(e.finish()));
            }
            Builders::Distinct(l) => out.push(Arc::new(l.finish())),
            Builders::Hist(a, b, c) => {
                out.push(Arc::new(a.finish()));
                out.push(Arc::new(b.finish()));
                out.push(Arc::new(c.finish()));
            }
            Builders::Sketch(s) => out.push(Arc::new(s.finish())),
            Builders::Pick(p) => out.push(Arc::new(p.finish())),
        }
    }
}

/// Which piece of a group's state a row carries: the row's `index` among the group's rows,
/// and for a large state the range of its items in this piece (values of a set, entries of
/// a histogram's sparse part).
struct Piece {
    index: usize,
    range: (usize, usize),
}

impl Piece {
    fn values<'a>(&self, set: &'a super::accum::ValueSet) -> impl Iterator<Item = &'a [u8]> {
        let (from, to) = self.range;
        set.iter().skip(from).take(to - from).map(|v| &v[..])
    }

    fn entries(&self, h: &Hist) -> Vec<(i128, u64)> {
        let (from, to) = self.range;
        h.sparse
            .iter()
            .skip(from)
            .take(to - from)
            .map(|(&v, &n)| (v, n))
            .collect()
    }
}

/// Cuts `sizes` (bytes per item, in order) into ranges of at most `budget` bytes (at least
/// one item each); one empty range when there are none.
fn cut(sizes: impl Iterator<Item = usize>, budget: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut start, mut bytes, mut i) = (0, 0, 0);
    for size in sizes {
        if i > start && bytes + size > budget {
            out.push((start, i));
            start = i;
            bytes = 0;
        }
        bytes += size;
        i += 1;
    }
    if i > start || out.is_empty() {
        out.push((start, i));
    }
    out
}

impl AggTable {
    /// The schema of [`AggTable::to_state_batches`]'s batches for `plan`.
    pub fn state_schema(plan: &AggPlan) -> Schema {
        let mut fields: Vec<Field> = plan
            .keys
            .iter()
            .map(|k| Field::new(format!("key:{}", k.text), DataType::LargeBinary, true))
            .collect();
        fields.push(Field::new("records", DataType::UInt64, true));
        for s in &plan.specs {
            fields.extend(spec_fields(&s.text, s.func));
        }
        fields.push(Field::new("malformed_keys", counters(), true));
        fields.push(Field::new("malformed_values", counters(), true));
        fields.push(Field::new("text_values", counters(), true));
        Schema::new(fields)
    }

    /// The table as batches of at most about `budget` bytes each (at least one: the head
    /// row), in group order; [`AggTable::merge_state_batch`] of each, in any order, into an
    /// empty table gives an equal table back.
    pub fn to_state_batches(&self, budget: usize) -> Result<Vec<RecordBatch>, AggError> {
        let schema = Arc::new(AggTable::state_schema(&self.plan));
        let budget = budget.max(1);
        let nkeys = self.plan.keys.len();
        let mut keys: Vec<LargeBinaryBuilder> =
            (0..nkeys).map(|_| LargeBinaryBuilder::new()).collect();
        let mut records = UInt64Builder::new();
        let mut states: Vec<Builders> = self
            .plan
            .specs
            .iter()
            .map(|s| Builders::new(s.func))
            .collect();
        let mut heads: [ListBuilder<UInt64Builder>; 3] =
            std::array::from_fn(|_| ListBuilder::new(UInt64Builder::new()));
        let mut batches = Vec::new();
        let mut flush = |keys: &mut Vec<LargeBinaryBuilder>,
                         records: &mut UInt64Builder,
                         states: &mut Vec<Builders>,
                         heads: &mut [ListBuilder<UInt64Builder>; 3]|
         -> Result<(), AggError> {
            let mut columns: Vec<ArrayRef> = keys
                .iter_mut()
                .map(|k| Arc::new(k.finish()) as ArrayRef)
                .collect();
            columns.push(Arc::new(records.finish()));
            for s in states.iter_mut() {
                s.finish(&mut columns);
            }
            for h in heads.iter_mut() {
                columns.push(Arc::new(h.finish()));
            }
            batches.push(
                RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| AggError::StateBatch(e.to_string()))?,
            );
            Ok(())
        };

        // The head row.
        for k in &mut keys {
            k.append_null();
        }
        records.append_null();
        for s in &mut states {
            s.append_null();
        }
        for (h, values) in heads.iter_mut().zip([
            &self.malformed_keys,
            &self.malformed_values,
            &self.text_values,
        ]) {
            h.values().append_slice(values);
            h.append(true);
        }
        let mut bytes = 0usize;
        let mut rows = 1usize;

        for g in 0..self.groups() {
            let key = self.index.key(g);
            let parts = super::keys::unpack(key, nkeys)
                .ok_or_else(|| AggError::StateBatch("malformed group key".into()))?;
            // Each large state's pieces; the group takes as many rows as the most.
            let ranges: Vec<Vec<(usize, usize)>> = self
                .columns
                .iter()
                .map(|c| match c {
                    Column::Distinct(v) => cut(v[g].iter().map(|b| b.len() + 8), budget / 2),
                    Column::Hist(v) => cut(
                        std::iter::repeat_n(HIST_ENTRY_BYTES, v[g].sparse.len()),
                        budget / 2,
                    ),
                    _ => vec![(0, 0)],
                })
                .collect();
            let pieces = ranges.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for index in 0..pieces {
                if rows > 0 && bytes >= budget {
                    flush(&mut keys, &mut records, &mut states, &mut heads)?;
                    bytes = 0;
                    rows = 0;
                }
                for (builder, part) in keys.iter_mut().zip(&parts) {
                    builder.append_value(part);
                    bytes += part.len() + 8;
                }
                records.append_value(if index == 0 { self.records[g] } else { 0 });
                for ((s, column), cuts) in states.iter_mut().zip(&self.columns).zip(&ranges) {
                    let piece = Piece {
                        index,
                        range: cuts.get(index).copied().unwrap_or((0, 0)),
                    };
                    bytes += s.append(column, g, &piece)?;
                }
                for h in &mut heads {
                    h.append_null();
                }
                bytes += 8;
                rows += 1;
            }
        }
        if rows > 0 {
            flush(&mut keys, &mut records, &mut states, &mut heads)?;
        }
        Ok(batches)
    }

    /// Folds a batch written by [`AggTable::to_state_batches`] for this table's plan into
    /// this table. Rows of the same key merge (a group split over rows, see the module
    /// docs). On an error `self` may hold part of the batch: the caller fails the job.
    pub fn merge_state_batch(&mut self, batch: &RecordBatch) -> Result<(), AggError> {
        let plan = self.plan.clone();
        let want = AggTable::state_schema(&plan);
        let have = batch.schema();
        if have.fields().len() != want.fields().len() {
            return Err(AggError::StateBatch(format!(
                "made for different --group-by/--agg ({} columns, {} expected)",
                have.fields().len(),
                want.fields().len()
            )));
        }
        for (a, b) in have.fields().iter().zip(want.fields()) {
            if a.name() != b.name() || a.data_type() != b.data_type() {
                return Err(AggError::StateBatch(format!(
                    "made for different --group-by/--agg (column {} {}, expected {} {})",
                    a.name(),
                    a.data_type(),
                    b.name(),
                    b.data_type()
                )));
            }
        }
        let bad = |row: usize, what: &str| AggError::StateBatch(format!("{what} (row {row})"));
        let cols = batch.columns();
        let nkeys = plan.keys.len();
        let keys = cols[..nkeys]
            .iter()
            .map(|c| {
                c.as_binary_opt::<i64>()
                    .ok_or_else(|| AggError::StateBatch("column of another type".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let records = cols[nkeys]
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| AggError::StateBatch("column of another type".into()))?;
        let heads = &cols[cols.len() - 3..];
        let mut scratch: Vec<Column> = plan.specs.iter().map(|s| Column::new(s.func)).collect();
        // Each aggregate's first state column and how many it has.
        let mut spans = Vec::with_capacity(plan.specs.len());
        let mut at = nkeys + 1;
        for spec in &plan.specs {
            let n = spec_fields(&spec.text, spec.func).len();
            spans.push(at..at + n);
            at += n;
        }
        let mut key = Vec::new();
        for row in 0..batch.num_rows() {
            let head = heads[0].is_valid(row);
            if head {
                if records.is_valid(row) {
                    return Err(bad(row, "a row both head and group"));
                }
                let mut counters: Vec<Vec<u64>> = Vec::with_capacity(3);
                for (h, want) in heads
                    .iter()
                    .zip([nkeys, plan.specs.len(), plan.specs.len()])
                {
                    let list = h
                        .as_list_opt::<i32>()
                        .filter(|l| l.is_valid(row))
                        .ok_or_else(|| bad(row, "incomplete head row"))?
                        .value(row);
                    let values = list
                        .as_primitive_opt::<UInt64Type>()
                        .ok_or_else(|| bad(row, "counters of another type"))?;
                    if values.len() != want || values.null_count() > 0 {
                        return Err(bad(row, "counters for another plan"));
                    }
                    counters.push(values.values().to_vec());
                }
                self.add_counters(&counters[0], &counters[1], &counters[2]);
                continue;
            }
            if !records.is_valid(row) {
                return Err(bad(row, "a row neither head nor group"));
            }
            key.clear();
            for k in &keys {
                if !k.is_valid(row) {
                    return Err(bad(row, "group without its key"));
                }
                push_part(&mut key, k.value(row));
            }
            for (column, span) in scratch.iter_mut().zip(&spans) {
                column.clear();
                read_state(column, &cols[span.clone()], row).map_err(|what| bad(row, what))?;
            }
            let g = self.group_hashed(key_hash(&key), &key);
            self.merge_states(g, records.value(row), &mut scratch);
        }
        Ok(())
    }
}

/// Reads one row's state of one aggregate from its columns and pushes it onto `column`.
fn read_state(column: &mut Column, cols: &[ArrayRef], row: usize) -> Result<(), &'static str> {
    const TYPE: &str = "state column of another type";
    const MISSING: &str = "missing state";
    let u64_at = |i: usize| -> Result<u64, &'static str> {
        let a = cols[i].as_primitive_opt::<UInt64Type>().ok_or(TYPE)?;
        a.is_valid(row).then(|| a.value(row)).ok_or(MISSING)
    };
    let sum_at = |i: usize| -> Result<Sum256, &'static str> {
        let a = cols[i].as_primitive_opt::<Decimal256Type>().ok_or(TYPE)?;
        let (lo, hi) = a
            .is_valid(row)
            .then(|| a.value(row))
            .ok_or(MISSING)?
            .to_parts();
        Ok(Sum256 { lo, hi })
    };
    let bool_at = |i: usize| -> Result<bool, &'static str> {
        let a = cols[i].as_boolean_opt().ok_or(TYPE)?;
        a.is_valid(row).then(|| a.value(row)).ok_or(MISSING)
    };
    let bytes_at = |i: usize| -> Result<&[u8], &'static str> {
        let a = cols[i].as_binary_opt::<i64>().ok_or(TYPE)?;
        a.is_valid(row).then(|| a.value(row)).ok_or(MISSING)
    };
    let list_at = |i: usize| -> Result<ArrayRef, &'static str> {
        let a = cols[i].as_list_opt::<i32>().ok_or(TYPE)?;
        a.is_valid(row).then(|| a.value(row)).ok_or(MISSING)
    };
    match column {
        Column::Records => {}
        Column::NonEmpty(v) => v.push(Present {
            n: u64_at(0)?,
            markers: u64_at(1)?,
        }),
        Column::Sum(v) => v.push(SumState {
            n: u64_at(0)?,
            sum: sum_at(1)?,
        }),
        Column::Spread(v) => {
            let a = cols[2].as_fixed_size_binary_opt().ok_or(TYPE)?;
            let b = a.is_valid(row).then(|| a.value(row)).ok_or(MISSING)?;
            let word = |r: std::ops::Range<usize>| -> Result<u128, &'static str> {
                let w: [u8; 16] = b.get(r).and_then(|s| s.try_into().ok()).ok_or(TYPE)?;
                Ok(u128::from_le_bytes(w))
            };
            v.push(SpreadState {
                n: u64_at(0)?,
                sum: sum_at(1)?,
                squares: U256 {
                    lo: word(0..16)?,
                    hi: word(16..32)?,
                },
            });
        }
        Column::Extreme(v) => v.push(
            Extreme::from_parts(
                bool_at(0)?,
                bool_at(1)?,
                bytes_at(3)?,
                bytes_at(2)?,
                bytes_at(4)?,
            )
            .ok_or("inconsistent min/max state")?,
        ),
        Column::Distinct(v) => {
            let list = list_at(0)?;
            let values = list.as_binary_opt::<i64>().ok_or(TYPE)?;
            let mut set = super::accum::ValueSet::default();
            set.reserve(values.len());
            for i in 0..values.len() {
                if values.is_null(i)
                    || values.value(i).is_empty()
                    || !set.insert(values.value(i).into())
                {
                    return Err("empty or duplicate distinct value");
                }
            }
            v.push(set);
        }
        Column::Hist(v) => {
            let dense = list_at(0)?;
            let dense = dense.as_primitive_opt::<UInt64Type>().ok_or(TYPE)?;
            let values = list_at(1)?;
            let values = values.as_primitive_opt::<Decimal128Type>().ok_or(TYPE)?;
            let counts = list_at(2)?;
            let counts = counts.as_primitive_opt::<UInt64Type>().ok_or(TYPE)?;
            if dense.len() > 1 << 16
                || values.len() != counts.len()
                || dense.null_count() + values.null_count() + counts.null_count() > 0
            {
                return Err("inconsistent histogram");
            }
            let mut h = Hist {
                dense: dense.values().to_vec(),
                ..Hist::default()
            };
            for (&value, &n) in values.values().iter().zip(counts.values()) {
                if h.sparse.insert(value, n).is_some() {
                    return Err("duplicate histogram value");
                }
            }
            v.push(h);
        }
        Column::Sketch(v) => {
            let a = cols[0].as_string_opt::<i32>().ok_or(TYPE)?;
            let json = a.is_valid(row).then(|| a.value(row).as_bytes());
            v.push(Sketch::from_json(json).ok_or("malformed quantile sketch")?);
        }
        Column::Pick(v) => {
            let a = cols[0].as_binary_opt::<i64>().ok_or(TYPE)?;
            v.push(if a.is_valid(row) {
                Pick {
                    seen: true,
                    value: a.value(row).into(),
                }
            } else {
                Pick::default()
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::agg::codec::tests::csv;
    use crate::input::schema::Schema as Columns;

    const EVERY_STATE: [&str; 14] = [
        "count",
        "count(v)",
        "sum(v)",
        "mean(v)",
        "min(v)",
        "max(v)",
        "stddev(v)",
        "distinct(v)",
        "median(v)",
        "quantile(v,0.9)",
        "approx_quantile(v,0.5)",
        "first(v)",
        "last(v)",
        "min(t)",
    ];

    fn plan(group_by: Option<&str>) -> AggPlan {
        let schema = Columns::new(Some(["id", "time", "v", "t"].map(String::from).to_vec()), 0);
        AggPlan::parse(group_by, &EVERY_STATE, &schema).unwrap()
    }

    /// Rows with numbers, text, empties, markers, big numbers and bad timestamps; group 1
    /// gets `n` distinct values of `v`, so its set and histogram can pass a budget.
    fn rows(n: usize) -> Vec<[String; 4]> {
        let mut rows: Vec<[String; 4]> = [
            ["1", "2015-02-01 00:00:00", "1.5", "a"],
            ["1", "2015-02-01 10:00:00", "-2", "NA"],
            ["1", "2015-02-02 10:00:00", "x", ""],
            ["2", "nope", "", "zz"],
            ["2", "2015-02-01 00:00:00", "9999999999999999999.5", "b"],
            ["3,\"", "2015-02-01 00:00:00", "7", "NA"],
            ["4", "2015-02-03 00:00:00", "NA", "c"],
        ]
        .iter()
        .map(|r| r.map(String::from))
        .collect();
        for i in 0..n {
            rows.push([
                "1".into(),
                "2015-02-01 03:00:00".into(),
                format!("{}.{:03}", i * 7 % 1000, i % 997),
                format!("t{i}"),
            ]);
        }
        rows
    }

    fn table(p: &AggPlan, rows: &[[String; 4]]) -> AggTable {
        let mut t = AggTable::new(p);
        for row in rows {
            t.update(p, |i| row[i].as_bytes());
        }
        t
    }

    fn read_back(p: &AggPlan, batches: &[RecordBatch]) -> AggTable {
        let mut back = AggTable::new(p);
        for b in batches {
            back.merge_state_batch(b).unwrap();
        }
        back
    }

    #[test]
    fn every_state_round_trips_whole_and_split_over_small_batches() {
        for group_by in [None, Some("id"), Some("id,day(time)")] {
            let p = plan(group_by);
            let t = table(&p, &rows(3000));
            let want = csv(&t, &p);
            assert!(want.len() > 200, "{}", String::from_utf8_lossy(&want));
            for budget in [STATE_BATCH_BYTES, 4096, 1] {
                let batches = t.to_state_batches(budget).unwrap();
                if budget < 5000 {
                    // The big group's set and histogram were cut over rows and batches.
                    assert!(
                        batches.len() > 3,
                        "{group_by:?} {budget}: {}",
                        batches.len()
                    );
                }
                let back = read_back(&p, &batches);
                assert_eq!(back.groups(), t.groups(), "{group_by:?} {budget}");
                assert_eq!(csv(&back, &p), want, "{group_by:?} {budget}");
                assert_eq!(back.malformed_values(), t.malformed_values());
                assert_eq!(back.malformed_keys(), t.malformed_keys());
                assert_eq!(back.markers_read_as_text(), t.markers_read_as_text());
                // Batches in another order give the same table (first/last aside, which
                // follow the order tables merge in: dropped from this comparison).
                let mut reversed = batches.clone();
                reversed.reverse();
                let back = read_back(&p, &reversed);
                assert_eq!(back.groups(), t.groups());
            }
        }
    }

    #[test]
    fn typed_columns_hold_the_states() {
        let p = plan(Some("id"));
        let t = table(&p, &rows(0));
        let batches = t.to_state_batches(STATE_BATCH_BYTES).unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        // Head row and four groups.
        assert_eq!(b.num_rows(), 5);
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let key = col("key:id");
        let key = key.as_binary::<i64>();
        let row = (1..5).find(|&r| key.value(r) == b"2").unwrap();
        // Group 2: the 19-digit number is summed exactly (as a decimal of scale 9).
        let sums = col("sum(v).sum");
        let sums = sums.as_primitive::<Decimal256Type>();
        assert_eq!(sums.value_as_string(row), "9999999999999999999.500000000");
        assert_eq!(col("records").as_primitive::<UInt64Type>().value(row), 2);
        let distinct = col("distinct(v).values");
        let set = distinct.as_list::<i32>().value(row);
        assert_eq!(set.as_binary::<i64>().value(0), b"9999999999999999999.5");
        assert!(key.is_null(0) && sums.is_null(0));
        let counters = col("malformed_values");
        let counters = counters.as_list::<i32>().value(0);
        // sum, mean, stddev, median, quantile and approx_quantile each skipped `x` (and
        // not the markers or empties).
        assert_eq!(
            counters
                .as_primitive::<UInt64Type>()
                .values()
                .iter()
                .sum::<u64>(),
            6
        );
    }

    #[test]
    fn a_batch_of_another_plan_or_with_broken_rows_is_refused() {
        let p = plan(Some("id"));
        let batches = table(&p, &rows(10))
            .to_state_batches(STATE_BATCH_BYTES)
            .unwrap();
        let other = plan(Some("id,day(time)"));
        let e = AggTable::new(&other)
            .merge_state_batch(&batches[0])
            .unwrap_err();
        assert!(e.to_string().contains("different --group-by/--agg"), "{e}");
        // A group row without its key, a min/max claiming a non-number as numeric winner.
        let b = &batches[0];
        let idx = b.schema().index_of("key:id").unwrap();
        let mut cols = b.columns().to_vec();
        cols[idx] = arrow_array::new_null_array(&DataType::LargeBinary, b.num_rows());
        let broken = RecordBatch::try_new(b.schema(), cols).unwrap();
        let e = AggTable::new(&p).merge_state_batch(&broken).unwrap_err();
        assert!(
            e.to_string().contains("group without its key (row 1)"),
            "{e}"
        );
        let idx = b.schema().index_of("min(v).numeric").unwrap();
        let mut cols = b.columns().to_vec();
        let junk: Vec<&[u8]> = vec![b"not a number"; b.num_rows()];
        cols[idx] = Arc::new(arrow_array::LargeBinaryArray::from(junk));
        let broken = RecordBatch::try_new(b.schema(), cols).unwrap();
        let e = AggTable::new(&p).merge_state_batch(&broken).unwrap_err();
        assert!(e.to_string().contains("inconsistent min/max state"), "{e}");
    }

    #[test]
    fn cut_keeps_every_item_once_within_the_budget() {
        assert_eq!(cut([].into_iter(), 10), vec![(0, 0)]);
        assert_eq!(cut([4, 4, 4].into_iter(), 8), vec![(0, 2), (2, 3)]);
        assert_eq!(cut([20, 1].into_iter(), 8), vec![(0, 1), (1, 2)]);
    }
}
