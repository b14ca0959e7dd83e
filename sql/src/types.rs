//! The Arrow type of every column of a fleet table: declared in `fleet.toml` (`[types]
//! id = "int64"`), else inferred with fleet's exact columnar inference (`Int64` only if every
//! value seen is a canonical integer, and so on; an empty field is null) from a sample: the
//! first [`SAMPLE_BYTES`] of content of each of the first [`SAMPLE_FILES`] files
//! (decompressed and transcoded as the scan reads them). A later value that does not fit the
//! sampled type fails the query with its file and column named; declaring the type fixes it.

use crate::error::SqlError;
use fleet_engine::columnar::{decide_columns, ColumnGuess, ColumnType, OutputColumn};
use fleet_engine::input::compress::Source;
use fleet_engine::input::descriptor::Descriptor;
use fleet_engine::scan::record::GeneralRecords;
use fleet_engine::Dataset;

/// Content bytes read from each sampled file.
pub const SAMPLE_BYTES: usize = 1 << 20;
/// Files sampled (in plan order).
pub const SAMPLE_FILES: usize = 8;

/// The columns as the table shows them: fleet's names (positions `1`, `2`, ... when the data
/// has none) and types. The sample is read even when every type is declared: it also says
/// whether a column's default null markers are text and whether its times are UTC instants,
/// as `fleet convert` decides them.
pub fn table_columns(ds: &Dataset) -> Result<Vec<OutputColumn>, SqlError> {
    let ncols = ds.schema.ncols();
    let declared = declared_types(ds)?;
    let mut guesses = vec![ColumnGuess::default(); ncols];
    sample(ds, &mut guesses)?;
    let names: Vec<String> = (0..ncols).map(|i| ds.schema.display_name(i)).collect();
    let mut columns =
        decide_columns(&names, &guesses, &declared).map_err(|e| SqlError::Query(e.to_string()))?;
    for (column, ty) in columns.iter_mut().zip(&declared) {
        // A declared number or time column holds no text: its markers are missing values.
        if matches!(ty, Some(t) if *t != ColumnType::Utf8) {
            column.markers_null = true;
        }
    }
    Ok(columns)
}

/// `[types]` of the dataset's `fleet.toml`, per column (`None`: not declared).
fn declared_types(ds: &Dataset) -> Result<Vec<Option<ColumnType>>, SqlError> {
    let mut out = vec![None; ds.schema.ncols()];
    let Some(path) = &ds.descriptor else {
        return Ok(out);
    };
    let Some(types) = Descriptor::load(path)?.types else {
        return Ok(out);
    };
    for (column, ty) in types {
        let bad = |message: String| SqlError::Types {
            path: path.clone(),
            column: column.clone(),
            ty: ty.clone(),
            message,
        };
        let parsed = ColumnType::parse(&ty)
            .ok_or_else(|| bad("expected int64, float64, timestamp, utf8 or decimal".into()))?;
        let index = ds
            .schema
            .resolve(&fleet_engine::query::expr::ColumnRef::Name(column.clone()))
            .map_err(|e| bad(e.to_string()))?;
        out[index] = Some(parsed);
    }
    Ok(out)
}

/// Observes every field of the complete, well-formed records in the sample.
fn sample(ds: &Dataset, guesses: &mut [ColumnGuess]) -> Result<(), SqlError> {
    // The sample is read as the kernel reads the files (transcoded or not).
    let nulls = ds.scanned_nulls();
    for file in ds.plan.files.iter().take(SAMPLE_FILES) {
        if file.is_stdin() {
            return Err(SqlError::Stdin);
        }
        let failed = |e: fleet_engine::input::compress::StreamError| SqlError::Sample {
            path: file.path.clone(),
            message: e.to_string(),
        };
        let (bytes, complete) = Source::open(&file.path, file.compression, file.transcode)
            .map_err(failed)?
            .prefix(SAMPLE_BYTES)
            .map_err(failed)?;
        let start = (file.data_start as usize).min(bytes.len());
        let mut records = GeneralRecords::new(&bytes, start..bytes.len(), file.delimiter, complete);
        while let Some((_, n)) = records.next_record() {
            if n != guesses.len() {
                continue;
            }
            for (i, guess) in guesses.iter_mut().enumerate() {
                guess.observe(records.field(i), &nulls);
            }
        }
    }
    Ok(())
}
