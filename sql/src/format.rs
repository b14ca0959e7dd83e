//! Query results: CSV with a header (timestamps as `YYYY-MM-DD HH:MM:SS[.f]`, as fleet's
//! inputs write them; NULL as an empty field), JSON lines (NULL keys left out), an aligned
//! table for reading, or a column file (Arrow IPC file format, or Parquet with zstd pages as
//! `fleet convert` writes them) holding the result's Arrow types as they are.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::util::pretty::pretty_format_batches;
use fleet_engine::columnar::{ROW_GROUP_BYTES, ROW_GROUP_ROWS, ZSTD_LEVEL};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::io::{self, Write};

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";
/// UTC instants (columns whose values had offsets) keep saying so.
const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f%:z";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    Csv,
    Jsonl,
    Table,
    /// Arrow IPC file format.
    Arrow,
    Parquet,
}

impl ResultFormat {
    /// A binary file format (never written to a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, ResultFormat::Arrow | ResultFormat::Parquet)
    }
}

/// A column file being written; it starts with the first batch's schema.
enum ColumnFile<W: Write + Send> {
    Arrow(arrow_ipc::writer::FileWriter<W>),
    Parquet(ArrowWriter<W>),
}

/// Writes batches as they come (CSV, JSON lines, column files) or at the end (table).
pub struct ResultWriter<W: Write + Send> {
    format: ResultFormat,
    /// The output, until a column file takes it.
    out: Option<W>,
    file: Option<ColumnFile<W>>,
    header_done: bool,
    held: Vec<RecordBatch>,
}

impl<W: Write + Send> ResultWriter<W> {
    pub fn new(format: ResultFormat, out: W) -> ResultWriter<W> {
        ResultWriter {
            format,
            out: Some(out),
            file: None,
            header_done: false,
            held: Vec::new(),
        }
    }

    /// The column file, started with `schema` if it was not yet.
    fn column_file(&mut self, schema: &SchemaRef) -> io::Result<&mut ColumnFile<W>> {
        if self.file.is_none() {
            let out = self
                .out
                .take()
                .ok_or_else(|| io::Error::other("the output was already handed over"))?;
            self.file = Some(match self.format {
                ResultFormat::Parquet => {
                    let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(io::Error::other)?;
                    let props = WriterProperties::builder()
                        .set_compression(Compression::ZSTD(level))
                        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                        .build();
                    ColumnFile::Parquet(
                        ArrowWriter::try_new(out, schema.clone(), Some(props))
                            .map_err(io::Error::other)?,
                    )
                }
                _ => ColumnFile::Arrow(
                    arrow_ipc::writer::FileWriter::try_new(out, schema)
                        .map_err(io::Error::other)?,
                ),
            });
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("no column file"))
    }

    fn text_out(&mut self) -> io::Result<&mut W> {
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("the output was already handed over"))
    }

    pub fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        match self.format {
            ResultFormat::Arrow | ResultFormat::Parquet => {
                match self.column_file(&batch.schema())? {
                    ColumnFile::Arrow(w) => w.write(batch).map_err(io::Error::other)?,
                    ColumnFile::Parquet(w) => w.write(batch).map_err(io::Error::other)?,
                }
            }
            ResultFormat::Csv => {
                let header = !self.header_done;
                let mut writer = WriterBuilder::new()
                    .with_header(header)
                    .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
                    .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.to_string())
                    .with_datetime_format(TIMESTAMP_FORMAT.to_string())
                    .build(self.text_out()?);
                writer.write(batch).map_err(io::Error::other)?;
                drop(writer);
                self.header_done = true;
            }
            ResultFormat::Jsonl => {
                let mut writer = LineDelimitedWriter::new(self.text_out()?);
                writer.write(batch).map_err(io::Error::other)?;
                writer.finish().map_err(io::Error::other)?;
            }
            ResultFormat::Table => self.held.push(batch.clone()),
        }
        Ok(())
    }

    /// Writes what is held (the table; a CSV header when no batch came; a column file's
    /// footer) and returns the output.
    pub fn finish(mut self, schema: &SchemaRef) -> io::Result<W> {
        match self.format {
            ResultFormat::Arrow | ResultFormat::Parquet => {
                self.column_file(schema)?;
                let mut out = match self.file.take() {
                    Some(ColumnFile::Arrow(w)) => w.into_inner().map_err(io::Error::other)?,
                    Some(ColumnFile::Parquet(w)) => w.into_inner().map_err(io::Error::other)?,
                    None => return Err(io::Error::other("no column file")),
                };
                out.flush()?;
                return Ok(out);
            }
            ResultFormat::Csv if !self.header_done => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                let mut csv = csv_line(&names);
                csv.push(b'\n');
                self.text_out()?.write_all(&csv)?;
            }
            ResultFormat::Table => {
                let table = if self.held.is_empty() {
                    pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])
                } else {
                    pretty_format_batches(&self.held)
                }
                .map_err(io::Error::other)?;
                writeln!(self.text_out()?, "{table}")?;
            }
            _ => {}
        }
        let mut out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("the output was already handed over"))?;
        out.flush()?;
        Ok(out)
    }
}

fn csv_line(names: &[&str]) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        fleet_engine::scan::format::write_csv_field(
            &mut line,
            name.as_bytes(),
            b',',
            names.len() == 1,
        );
    }
    line
}
