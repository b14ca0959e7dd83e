//! Query results as text: CSV with a header (timestamps as `YYYY-MM-DD HH:MM:SS[.f]`, as
//! fleet's inputs write them; NULL as an empty field), JSON lines (NULL keys left out), or an
//! aligned table for reading.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::util::pretty::pretty_format_batches;
use std::io::{self, Write};

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    Csv,
    Jsonl,
    Table,
}

/// Writes batches as they come (CSV, JSON lines) or at the end (table).
pub struct ResultWriter<W: Write> {
    format: TextFormat,
    out: W,
    header_done: bool,
    held: Vec<RecordBatch>,
}

impl<W: Write> ResultWriter<W> {
    pub fn new(format: TextFormat, out: W) -> ResultWriter<W> {
        ResultWriter {
            format,
            out,
            header_done: false,
            held: Vec::new(),
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        match self.format {
            TextFormat::Csv => {
                let mut writer = WriterBuilder::new()
                    .with_header(!self.header_done)
                    .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
                    .with_datetime_format(TIMESTAMP_FORMAT.to_string())
                    .build(&mut self.out);
                writer.write(batch).map_err(io::Error::other)?;
                self.header_done = true;
            }
            TextFormat::Jsonl => {
                let mut writer = LineDelimitedWriter::new(&mut self.out);
                writer.write(batch).map_err(io::Error::other)?;
                writer.finish().map_err(io::Error::other)?;
            }
            TextFormat::Table => self.held.push(batch.clone()),
        }
        Ok(())
    }

    /// Writes what is held (the table; a CSV header when no batch came) and returns the output.
    pub fn finish(mut self, schema: &SchemaRef) -> io::Result<W> {
        match self.format {
            TextFormat::Csv if !self.header_done => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                let mut csv = csv_line(&names);
                csv.push(b'\n');
                self.out.write_all(&csv)?;
            }
            TextFormat::Table => {
                let table = if self.held.is_empty() {
                    pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])
                } else {
                    pretty_format_batches(&self.held)
                }
                .map_err(io::Error::other)?;
                writeln!(self.out, "{table}")?;
            }
            _ => {}
        }
        self.out.flush()?;
        Ok(self.out)
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
