//! The vocabulary of column files shared by every part of this folder: formats, column types,
//! the column as written, limits of batches and row groups, and the one error type.

use arrow_schema::TimeUnit;
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
    /// Microseconds (nanoseconds when a value has more than 6 fraction digits), in UTC when
    /// the values had UTC offsets, else without a time zone.
    Timestamp,
    Utf8,
    /// Exact fixed-point numbers: Arrow `Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)`, so
    /// sums are exact where float64 would round (money, long fixed-point measures). Never
    /// inferred; only declared.
    Decimal,
}

/// Digits of a `decimal` column in all, and after the point: Decimal128's widest precision,
/// and 9 fraction digits (nanos of a unit), which leaves 29 integer digits.
pub const DECIMAL_PRECISION: u8 = 38;
pub const DECIMAL_SCALE: i8 = 9;

impl ColumnType {
    pub fn parse(text: &str) -> Option<ColumnType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "int64" => Some(ColumnType::Int64),
            "float64" => Some(ColumnType::Float64),
            "timestamp" => Some(ColumnType::Timestamp),
            "utf8" => Some(ColumnType::Utf8),
            "decimal" => Some(ColumnType::Decimal),
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
            ColumnType::Decimal => "decimal",
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
    pub(super) fn io(what: impl Into<String>, source: std::io::Error) -> ColumnarError {
        ColumnarError::Io {
            what: what.into(),
            source,
        }
    }

    pub(super) fn format(what: impl Into<String>, err: impl fmt::Display) -> ColumnarError {
        ColumnarError::Format {
            what: what.into(),
            message: err.to_string(),
        }
    }
}

/// A column as written: its name and type (and the unit, for a timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    pub name: String,
    pub ty: ColumnType,
    pub unit: TimeUnit,
    /// A timestamp column of UTC instants (its values had offsets), tagged with time zone
    /// "UTC"; otherwise timestamps are wall-clock times without a zone.
    pub utc: bool,
    /// The default markers (`NA`, ...) are written as null: the column holds no text
    /// (see [`crate::input::nulls`]).
    pub markers_null: bool,
}

impl OutputColumn {
    /// The type as the summary prints it: `int64`, `timestamp (UTC)`.
    pub fn type_text(&self) -> String {
        if self.ty == ColumnType::Timestamp && self.utc {
            format!("{} (UTC)", self.ty)
        } else {
            self.ty.to_string()
        }
    }
}
