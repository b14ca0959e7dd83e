//! The two file writers behind one interface: Arrow IPC file format, and Parquet (zstd pages,
//! row groups of at most [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] encoded bytes).

use super::types::{ColumnarError, ColumnarFormat, ROW_GROUP_BYTES, ROW_GROUP_ROWS, ZSTD_LEVEL};
use arrow_array::RecordBatch;
use arrow_ipc::writer::FileWriter;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::io::Write;

pub enum TableWriter<W: Write + Send> {
    Arrow(FileWriter<W>),
    Parquet(ArrowWriter<W>),
}

impl<W: Write + Send> TableWriter<W> {
    /// Starts the file (the schema is written first in both formats).
    pub fn new(
        format: ColumnarFormat,
        out: W,
        schema: &SchemaRef,
        what: &str,
    ) -> Result<TableWriter<W>, ColumnarError> {
        let fail = |e: &dyn std::fmt::Display| ColumnarError::format(what, e);
        match format {
            ColumnarFormat::Arrow => FileWriter::try_new(out, schema)
                .map(TableWriter::Arrow)
                .map_err(|e| fail(&e)),
            ColumnarFormat::Parquet => {
                let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| fail(&e))?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(level))
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .build();
                ArrowWriter::try_new(out, schema.clone(), Some(props))
                    .map(TableWriter::Parquet)
                    .map_err(|e| fail(&e))
            }
        }
    }

    pub fn write(&mut self, batch: &RecordBatch, what: &str) -> Result<(), ColumnarError> {
        match self {
            TableWriter::Arrow(w) => w.write(batch).map_err(|e| ColumnarError::format(what, e)),
            TableWriter::Parquet(w) => w.write(batch).map_err(|e| ColumnarError::format(what, e)),
        }
    }

    /// Writes the footer and hands back the output.
    pub fn finish(self, what: &str) -> Result<W, ColumnarError> {
        match self {
            TableWriter::Arrow(w) => w.into_inner().map_err(|e| ColumnarError::format(what, e)),
            TableWriter::Parquet(w) => w.into_inner().map_err(|e| ColumnarError::format(what, e)),
        }
    }
}
