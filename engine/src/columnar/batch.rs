//! One record batch being filled from CSV records: a typed Arrow builder per column, cut into
//! a [`RecordBatch`] when full. The builders are reused, so a conversion allocates per batch
//! at most, never per value. Empty fields and null markers become nulls
//! ([`super::infer::is_null_value`]); timestamps with offsets are written as UTC instants.

use super::infer::{
    in_unit, is_null_value, parse_decimal, parse_float_loose, parse_int_loose, parse_timestamp,
};
use super::types::{
    ColumnType, OutputColumn, BATCH_BYTES, BATCH_ROWS, DECIMAL_PRECISION, DECIMAL_SCALE,
};
use crate::input::nulls::NullMarkers;
use arrow_array::builder::{
    Decimal128Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

enum ColumnBuilder {
    Int(Int64Builder),
    Float(Float64Builder),
    Micros(TimestampMicrosecondBuilder),
    Nanos(TimestampNanosecondBuilder),
    Text(StringBuilder),
    Decimal(Decimal128Builder),
}

/// The time zone of timestamp columns whose values had UTC offsets.
const UTC: &str = "UTC";

/// The Arrow schema of the output: every column nullable (an empty field is null).
pub fn arrow_schema(columns: &[OutputColumn]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, data_type(c), true))
        .collect();
    Arc::new(Schema::new(fields))
}

fn data_type(c: &OutputColumn) -> DataType {
    match c.ty {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Timestamp => DataType::Timestamp(c.unit, c.utc.then(|| UTC.into())),
        ColumnType::Utf8 => DataType::Utf8,
        ColumnType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    }
}

/// A value that the first pass accepted and the second did not: only possible if the text
/// changed between the passes.
#[derive(Debug)]
pub struct Unparsable {
    pub column: usize,
}

pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    /// Per column: default markers are null in it.
    markers_null: Vec<bool>,
    nulls: NullMarkers,
    rows: usize,
    bytes: usize,
    /// Utf8 values that were not valid UTF-8 (written with U+FFFD replacements).
    pub replaced: u64,
}

impl BatchBuilder {
    pub fn new(columns: &[OutputColumn], nulls: &NullMarkers) -> BatchBuilder {
        let builders = columns
            .iter()
            .map(|c| {
                let zone = c.utc.then_some(UTC);
                match (c.ty, c.unit) {
                    (ColumnType::Int64, _) => ColumnBuilder::Int(Int64Builder::new()),
                    (ColumnType::Float64, _) => ColumnBuilder::Float(Float64Builder::new()),
                    (ColumnType::Timestamp, TimeUnit::Nanosecond) => ColumnBuilder::Nanos(
                        TimestampNanosecondBuilder::new().with_timezone_opt(zone),
                    ),
                    (ColumnType::Timestamp, _) => ColumnBuilder::Micros(
                        TimestampMicrosecondBuilder::new().with_timezone_opt(zone),
                    ),
                    (ColumnType::Utf8, _) => ColumnBuilder::Text(StringBuilder::new()),
                    (ColumnType::Decimal, _) => ColumnBuilder::Decimal(
                        Decimal128Builder::new()
                            .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
                            .expect("38 and 9 are a valid Decimal128 precision and scale"),
                    ),
                }
            })
            .collect();
        BatchBuilder {
            schema: arrow_schema(columns),
            columns: builders,
            markers_null: columns.iter().map(|c| c.markers_null).collect(),
            nulls: nulls.clone(),
            rows: 0,
            bytes: 0,
            replaced: 0,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// Appends one record; `field(i)` is its i-th field, one per column.
    pub fn append<'r>(&mut self, field: impl Fn(usize) -> &'r [u8]) -> Result<(), Unparsable> {
        for (i, (builder, &markers_null)) in
            self.columns.iter_mut().zip(&self.markers_null).enumerate()
        {
            let value = field(i);
            self.bytes += value.len();
            let bad = || Unparsable { column: i };
            match builder {
                _ if is_null_value(value, &self.nulls, markers_null) => append_null(builder),
                ColumnBuilder::Int(b) => b.append_value(parse_int_loose(value).ok_or_else(bad)?),
                ColumnBuilder::Float(b) => {
                    b.append_value(parse_float_loose(value).ok_or_else(bad)?)
                }
                ColumnBuilder::Decimal(b) => b.append_value(parse_decimal(value).ok_or_else(bad)?),
                ColumnBuilder::Micros(b) => b.append_value(
                    parse_timestamp(value)
                        .and_then(|t| in_unit(&t, TimeUnit::Microsecond))
                        .ok_or_else(bad)?,
                ),
                ColumnBuilder::Nanos(b) => b.append_value(
                    parse_timestamp(value)
                        .and_then(|t| in_unit(&t, TimeUnit::Nanosecond))
                        .ok_or_else(bad)?,
                ),
                ColumnBuilder::Text(b) => match std::str::from_utf8(value) {
                    Ok(text) => b.append_value(text),
                    Err(_) => {
                        self.replaced += 1;
                        b.append_value(String::from_utf8_lossy(value));
                    }
                },
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows appended since the last call, as one batch; the builders start afresh.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColumnBuilder::Int(b) => Arc::new(b.finish()),
                    ColumnBuilder::Float(b) => Arc::new(b.finish()),
                    ColumnBuilder::Micros(b) => Arc::new(b.finish()),
                    ColumnBuilder::Nanos(b) => Arc::new(b.finish()),
                    ColumnBuilder::Text(b) => Arc::new(b.finish()),
                    ColumnBuilder::Decimal(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        if arrays.is_empty() {
            // A batch without columns still has a row count.
            let opts = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
            return RecordBatch::try_new_with_options(self.schema.clone(), arrays, &opts);
        }
        RecordBatch::try_new(self.schema.clone(), arrays)
    }
}

fn append_null(builder: &mut ColumnBuilder) {
    match builder {
        ColumnBuilder::Int(b) => b.append_null(),
        ColumnBuilder::Float(b) => b.append_null(),
        ColumnBuilder::Micros(b) => b.append_null(),
        ColumnBuilder::Nanos(b) => b.append_null(),
        ColumnBuilder::Text(b) => b.append_null(),
        ColumnBuilder::Decimal(b) => b.append_null(),
    }
}
