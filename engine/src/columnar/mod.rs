//! Arrow IPC and Parquet output: CSV text in, typed columns out, in bounded batches
//! (`fleet scan|agg --format arrow|parquet` and `fleet convert`).
//!
//! Types are inferred *exactly*: a column is Int64 only if every value written parses as an
//! i64 (see `infer.rs` for the grammars), Float64 only if every value is a finite decimal,
//! Timestamp only if every value is a `YYYY-MM-DD[ T]HH:MM:SS[.f]` date-time (UTC when they
//! carry offsets), Utf8 otherwise; an empty field or a null marker is null
//! ([`crate::input::nulls`]). Both Arrow's and Parquet's file formats put the schema before the
//! first row, so the type of a column must be known before anything is written, and the last
//! value can change it. Hence two passes over CSV *text* that is already in output order:
//!
//! 1. infer: read every record, keep one [`ColumnGuess`] per column (a few flags);
//! 2. write: read again, build Arrow arrays of [`BATCH_ROWS`] rows (or [`BATCH_BYTES`] of
//!    field text), hand each batch to the Arrow or Parquet writer, forget it.
//!
//! Memory is a batch (Parquet also holds the current row group's *encoded* pages, capped at
//! [`ROW_GROUP_BYTES`]), never the result. Where the text comes from:
//! - `fleet convert`: the input file itself, memory-mapped; nothing is copied.
//! - `fleet scan`: the scan's CSV output, which the job already streams in plan order, is
//!   written to a [`Spool`], an unnamed temporary file in the *output's* directory (on the same
//!   disk as the result, not in a `/tmp` that may be RAM), then mapped and read twice. The
//!   alternatives cost more: scanning the input twice reads the whole dataset again (the input
//!   is usually far larger than the result), and writing provisional Utf8 columns to rewrite
//!   them later is the same second pass with a worse first one. The spool costs the result's
//!   size in disk, once, and vanishes with the process.
//! - `fleet agg`: the result is already in memory (a table of groups); its CSV text is used.
//!
//! Reading with the `csv` crate (built on the same `csv-core` as the scan kernels) keeps
//! quoting identical to the CSV output. Records whose field count is not the schema's are
//! skipped in both passes, counted and reported with their line, as `fleet scan` does.

mod batch;
mod convert;
mod infer;
mod spool;
mod table;
mod types;
mod write;

pub use batch::{arrow_schema, BatchBuilder, Unparsable};
pub use convert::{
    convert_files, plan_outputs, ConvertFile, ConvertOptions, ConvertPhase, ConvertProgress,
    ConvertReport, FileOutcome,
};
pub use infer::{
    in_unit, parse_float, parse_float_loose, parse_int, parse_int_loose, parse_timestamp,
    ColumnGuess, Timestamp,
};
pub use spool::Spool;
pub use table::{
    decide_columns, infer_text, parse_schema_arg, write_table, write_text, CsvText, Inferred,
    TableReport, TableSpec, Tick,
};
pub use types::{
    ColumnType, ColumnarError, ColumnarFormat, OutputColumn, BATCH_BYTES, BATCH_ROWS,
    REPORTED_MALFORMED, ROW_GROUP_BYTES, ROW_GROUP_ROWS, ZSTD_LEVEL,
};
