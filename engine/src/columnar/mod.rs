//! Arrow IPC and Parquet output: CSV text in, typed columns out, in bounded batches
//! (`fleet scan|agg --format arrow|parquet` and `fleet convert`).
//!
//! Types are inferred *exactly*: a column is Int64 only if every value written parses as an
//! i64 (see `infer.rs` for the grammars), Float64 only if every value is a finite decimal,
//! Timestamp only if every value is a `YYYY-MM-DD[ T]HH:MM:SS[.f]` date-time, Utf8 otherwise;
//! an empty field is null. Both Arrow's and Parquet's file formats put the schema before the
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
mod write;

pub use convert::{
    convert_files, plan_outputs, ConvertFile, ConvertOptions, ConvertPhase, ConvertProgress,
    ConvertReport, FileOutcome,
};
pub use infer::{parse_float, parse_int, parse_timestamp, ColumnGuess, Timestamp};
pub use spool::Spool;
pub use table::{
    decide_columns, infer_text, parse_schema_arg, write_table, write_text, CsvText, Inferred,
    OutputColumn, TableReport, TableSpec, Tick,
};

use std::fmt;
use std::path::PathBuf;

/// Rows per record batch: large enough that per-batch costs vanish, small enough that a
/// batch of wide rows stays a few MiB.
pub const BATCH_ROWS: usize = 64 * 1024;
/// A batch is also cut when its fields hold this much text, whatever the row count.
pub const BATCH_BYTES: usize = 16 << 20;
/// Parquet row groups: at most 1 Mi rows (the format's usual size, good for readers'
/// parallelism and statistics) and at most this many encoded bytes held before flushing.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
pub const ROW_GROUP_BYTES: usize = 64 << 20;
/// zstd level for Parquet pages: level 3 is zstd's default, fast to write and to read.
pub const ZSTD_LEVEL: i32 = 3;
/// How many malformed records per file (or result) are reported with their line.
pub const REPORTED_MALFORMED: usize = 5;

/// The column file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnarFormat {
    /// The Arrow IPC *file* format (random access, what `pyarrow.ipc.open_file`, DuckDB and
    /// Polars `read_ipc` read).
    Arrow,
    /// Parquet with zstd-compressed pages.
    Parquet,
}

impl ColumnarFormat {
    /// The file extension `fleet convert` gives outputs.
    pub fn extension(self) -> &'static str {
        match self {
            ColumnarFormat::Arrow => "arrow",
            ColumnarFormat::Parquet => "parquet",
        }
    }
}

/// A column's type in the output (what `--schema` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int64,
    Float64,
    /// Without time zone, microseconds (nanoseconds when a value has more than 6 fraction
    /// digits).
    Timestamp,
    Utf8,
}

impl ColumnType {
    pub fn parse(text: &str) -> Option<ColumnType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "int64" => Some(ColumnType::Int64),
            "float64" => Some(ColumnType::Float64),
            "timestamp" => Some(ColumnType::Timestamp),
            "utf8" => Some(ColumnType::Utf8),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Utf8 => "utf8",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ColumnarError {
    #[error("--schema '{text}': {message}")]
    SchemaArg { text: String, message: String },
    #[error("--schema {column}:{ty}: {value:?} at {at} does not parse as {ty}")]
    DoesNotFit {
        column: String,
        ty: ColumnType,
        value: String,
        at: String,
    },
    #[error("{count} malformed records (first at {first}); --strict refuses them")]
    Strict { count: u64, first: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {message}")]
    Format { what: String, message: String },
    #[error("{0}")]
    Outputs(String),
    #[error("{} and {} would both be written to {}", .first.display(), .second.display(), .output.display())]
    SameOutput {
        first: PathBuf,
        second: PathBuf,
        output: PathBuf,
    },
    #[error("interrupted")]
    Interrupted,
}

impl ColumnarError {
    fn io(what: impl Into<String>, source: std::io::Error) -> ColumnarError {
        ColumnarError::Io {
            what: what.into(),
            source,
        }
    }

    fn format(what: impl Into<String>, err: impl fmt::Display) -> ColumnarError {
        ColumnarError::Format {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
