//! The two passes over one CSV text ([`infer_text`], [`write_text`]), the decision between
//! them ([`decide_columns`]), and `--schema` ([`parse_schema_arg`]). `fleet convert` runs the
//! passes per file with one decision for all files; scan and agg use [`write_table`].

use super::batch::BatchBuilder;
use super::infer::{value_fits, ColumnGuess};
use super::types::{
    ColumnType, ColumnarError, ColumnarFormat, OutputColumn, BATCH_ROWS, REPORTED_MALFORMED,
};
use super::write::TableWriter;
use crate::input::nulls::NullMarkers;
use crate::input::schema::Schema;
use crate::query::expr::parse_column_list;
use std::io::Write;
use std::path::Path;

/// CSV text to convert, and where it came from (for messages).
#[derive(Debug, Clone, Copy)]
pub struct CsvText<'a> {
    pub data: &'a [u8],
    pub delimiter: u8,
    /// The first record is a header, not data.
    pub header: bool,
    /// The file the text is part of, or `None` for a command's result.
    pub path: Option<&'a Path>,
    /// The line number of `data[0]` in that file.
    pub first_line: u64,
}

impl CsvText<'_> {
    /// A command's result as CSV text (comma-separated, as fleet writes it).
    pub fn result(data: &[u8], header: bool) -> CsvText<'_> {
        CsvText {
            data,
            delimiter: b',',
            header,
            path: None,
            first_line: 1,
        }
    }

    /// `path:line` in a file, `record N of the result` otherwise.
    fn at(&self, line: u64, record: u64) -> String {
        match self.path {
            Some(path) => format!("{}:{}", path.display(), self.first_line + line - 1),
            None => format!("record {record} of the result"),
        }
    }
}

/// What the first pass found.
#[derive(Debug, Clone, Default)]
pub struct Inferred {
    pub guesses: Vec<ColumnGuess>,
    pub rows: u64,
    pub malformed: u64,
    /// Where the first [`REPORTED_MALFORMED`] malformed records are.
    pub malformed_at: Vec<String>,
}

/// What the second pass wrote.
#[derive(Debug, Clone, Default)]
pub struct TableReport {
    pub columns: Vec<OutputColumn>,
    pub rows: u64,
    pub malformed: u64,
    pub malformed_at: Vec<String>,
    /// Text values that were not valid UTF-8 and were written with U+FFFD replacements.
    pub replaced: u64,
}

/// Called every [`super::BATCH_ROWS`] records with the input bytes consumed and the records
/// taken since the last call; an error (say, [`ColumnarError::Interrupted`]) stops the pass.
pub type Tick<'a> = &'a mut dyn FnMut(u64, u64) -> Result<(), ColumnarError>;

/// The well-formed records of a text, in order; the others are counted and located.
struct Records<'a> {
    text: CsvText<'a>,
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    ncols: usize,
    /// Data records read so far, well-formed or not.
    seen: u64,
    header_done: bool,
    malformed: u64,
    malformed_at: Vec<String>,
    consumed: u64,
}

impl<'a> Records<'a> {
    fn new(text: CsvText<'a>, ncols: usize) -> Records<'a> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(text.delimiter)
            .from_reader(text.data);
        Records {
            text,
            reader,
            record: csv::ByteRecord::new(),
            ncols,
            seen: 0,
            header_done: !text.header,
            malformed: 0,
            malformed_at: Vec::new(),
            consumed: 0,
        }
    }

    /// The next well-formed record and where it is (for messages).
    fn next(&mut self) -> Result<Option<(&csv::ByteRecord, u64, u64)>, ColumnarError> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| ColumnarError::format("cannot read the CSV text", e))?;
            if !more {
                return Ok(None);
            }
            if !self.header_done {
                self.header_done = true;
                continue;
            }
            self.seen += 1;
            let line = self.record.position().map_or(0, |p| p.line());
            if self.record.len() != self.ncols {
                if self.malformed_at.len() < REPORTED_MALFORMED {
                    self.malformed_at.push(self.text.at(line, self.seen));
                }
                self.malformed += 1;
                continue;
            }
            return Ok(Some((&self.record, line, self.seen)));
        }
    }

    /// Input bytes consumed since the last call.
    fn consumed_since(&mut self) -> u64 {
        let now = self.reader.position().byte();
        let delta = now.saturating_sub(self.consumed);
        self.consumed = now;
        delta
    }
}

/// Pass 1: what every column's values can be read as. A column with a `checks` type (from
/// `--schema`) must fit it in every record, or the first value that does not is the error.
pub fn infer_text(
    text: CsvText<'_>,
    names: &[String],
    checks: &[Option<ColumnType>],
    nulls: &NullMarkers,
    tick: Tick<'_>,
) -> Result<Inferred, ColumnarError> {
    let ncols = names.len();
    let mut guesses = vec![ColumnGuess::default(); ncols];
    let mut records = Records::new(text, ncols);
    let mut rows = 0u64;
    while let Some((record, line, seen)) = records.next()? {
        for (i, (value, guess)) in record.iter().zip(guesses.iter_mut()).enumerate() {
            if !guess.settled() {
                guess.observe(value, nulls);
            }
            if let Some(Some(ty)) = checks.get(i) {
                if !value_fits(value, *ty, nulls) {
                    return Err(ColumnarError::DoesNotFit {
                        column: names[i].clone(),
                        ty: *ty,
                        value: String::from_utf8_lossy(value).into_owned(),
                        at: text.at(line, seen),
                    });
                }
            }
        }
        rows += 1;
        if rows.is_multiple_of(BATCH_ROWS as u64) {
            tick(records.consumed_since(), BATCH_ROWS as u64)?;
        }
    }
    tick(records.consumed_since(), rows % BATCH_ROWS as u64)?;
    Ok(Inferred {
        guesses,
        rows,
        malformed: records.malformed,
        malformed_at: records.malformed_at,
    })
}

/// The output columns: `--schema` types where given, inferred ones elsewhere.
pub fn decide_columns(
    names: &[String],
    guesses: &[ColumnGuess],
    overrides: &[Option<ColumnType>],
) -> Result<Vec<OutputColumn>, ColumnarError> {
    names
        .iter()
        .zip(guesses)
        .enumerate()
        .map(|(i, (name, guess))| {
            let ty = match overrides.get(i).copied().flatten() {
                Some(ColumnType::Timestamp) if !guess.has_time_unit() => {
                    // Every value fits on its own (checked in pass 1), but no one unit holds
                    // them all: microseconds are too coarse for some, nanoseconds too short.
                    return Err(ColumnarError::SchemaArg {
                        text: format!("{name}:timestamp"),
                        message: "no one time unit holds every value exactly (some have more \
                                  than 6 fraction digits, some are outside 1677..2262); use utf8"
                            .to_string(),
                    });
                }
                Some(ColumnType::Timestamp) if guess.mixes_zones() => {
                    return Err(ColumnarError::SchemaArg {
                        text: format!("{name}:timestamp"),
                        message: "some values have a UTC offset and some do not, so they are \
                                  not one kind of time; use utf8"
                            .to_string(),
                    });
                }
                Some(ty) => ty,
                None => guess.column_type(),
            };
            Ok(OutputColumn {
                name: name.clone(),
                ty,
                unit: guess.time_unit(),
                utc: guess.is_utc(),
                markers_null: guess.markers_are_null(),
            })
        })
        .collect()
}

/// Pass 2: the records of `text` as `columns`, written to `out` in batches. `what` names the
/// output in messages.
pub fn write_text<W: Write + Send>(
    text: CsvText<'_>,
    columns: &[OutputColumn],
    nulls: &NullMarkers,
    format: ColumnarFormat,
    out: W,
    what: &str,
    tick: Tick<'_>,
) -> Result<(W, TableReport), ColumnarError> {
    let mut batch = BatchBuilder::new(columns, nulls);
    let mut writer = TableWriter::new(format, out, batch.schema(), what)?;
    let mut records = Records::new(text, columns.len());
    let mut rows = 0u64;
    let mut ticked = 0u64;
    while let Some((record, _, _)) = records.next()? {
        batch
            .append(|i| record.get(i).unwrap_or_default())
            .map_err(|bad| ColumnarError::Format {
                what: what.to_string(),
                message: format!(
                    "a value of column {} changed between reading and writing (was the input \
                     modified?)",
                    columns[bad.column].name
                ),
            })?;
        rows += 1;
        if batch.is_full() {
            let full = batch.finish().map_err(|e| ColumnarError::format(what, e))?;
            writer.write(&full, what)?;
            tick(records.consumed_since(), rows - ticked)?;
            ticked = rows;
        }
    }
    if batch.rows() > 0 {
        let last = batch.finish().map_err(|e| ColumnarError::format(what, e))?;
        writer.write(&last, what)?;
    }
    tick(records.consumed_since(), rows - ticked)?;
    let out = writer.finish(what)?;
    Ok((
        out,
        TableReport {
            columns: columns.to_vec(),
            rows,
            malformed: records.malformed,
            malformed_at: records.malformed_at,
            replaced: batch.replaced,
        },
    ))
}

/// What a column file is to hold: the columns' names, `--schema` types (one entry per
/// column, `None` to infer), the null markers and the format.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec<'a> {
    pub names: &'a [String],
    pub overrides: &'a [Option<ColumnType>],
    pub nulls: &'a NullMarkers,
    pub format: ColumnarFormat,
}

/// Both passes over one text: infer, apply the overrides, write. `tick` is called during both.
pub fn write_table<W: Write + Send>(
    text: CsvText<'_>,
    spec: TableSpec<'_>,
    out: W,
    what: &str,
    tick: Tick<'_>,
) -> Result<(W, TableReport), ColumnarError> {
    let inferred = infer_text(text, spec.names, spec.overrides, spec.nulls, tick)?;
    let columns = decide_columns(spec.names, &inferred.guesses, spec.overrides)?;
    write_text(text, &columns, spec.nulls, spec.format, out, what, tick)
}

/// Parses `--schema col:type,...` against the output's column names (a name, matched as
/// `--select` does, or a 1-based position): one entry per column, `None` where not given.
pub fn parse_schema_arg(
    text: &str,
    names: &[String],
) -> Result<Vec<Option<ColumnType>>, ColumnarError> {
    let schema = Schema::new(Some(names.to_vec()), names.len());
    let mut types = vec![None; names.len()];
    for item in text.split(',') {
        let fail = |message: String| ColumnarError::SchemaArg {
            text: item.trim().to_string(),
            message,
        };
        let Some((column, ty)) = item.rsplit_once(':') else {
            return Err(fail(
                "expected COLUMN:TYPE, e.g. speed:float64 (types: int64, float64, timestamp, utf8, decimal)"
                    .to_string(),
            ));
        };
        let ty = ColumnType::parse(ty).ok_or_else(|| {
            fail(format!(
                "unknown type '{}' (use int64, float64, timestamp, utf8 or decimal)",
                ty.trim()
            ))
        })?;
        let refs = parse_column_list(column.trim()).map_err(|e| fail(e.to_string()))?;
        let [column_ref] = refs.as_slice() else {
            return Err(fail("expected one column before ':'".to_string()));
        };
        let index = schema
            .resolve(column_ref)
            .map_err(|e| fail(e.to_string()))?;
        if types[index].is_some() {
            return Err(fail(format!("column '{}' is given twice", names[index])));
        }
        types[index] = Some(ty);
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn schema_arg_resolves_names_and_positions() {
        let cols = names(&["id", "time", "speed"]);
        let types = parse_schema_arg("speed:float64, 1:utf8", &cols).unwrap();
        assert_eq!(
            types,
            vec![Some(ColumnType::Utf8), None, Some(ColumnType::Float64)]
        );
        let types = parse_schema_arg("SPEED:Int64", &cols).unwrap();
        assert_eq!(types[2], Some(ColumnType::Int64));
    }

    #[test]
    fn schema_arg_errors_name_the_item() {
        let cols = names(&["id", "time", "speed"]);
        let err = |text: &str| parse_schema_arg(text, &cols).unwrap_err().to_string();
        let e = err("sped:int64");
        assert!(
            e.starts_with("--schema 'sped:int64': unknown column 'sped'"),
            "{e}"
        );
        assert!(e.contains("did you mean 'speed'"), "{e}");
        let e = err("speed:integer");
        assert!(e.contains("unknown type 'integer'"), "{e}");
        assert!(err("speed").contains("expected COLUMN:TYPE"));
        assert!(err("9:int64").contains("out of range"));
        assert!(err("speed:int64,3:utf8").contains("given twice"));
        assert!(err("speed:int64,").contains("expected COLUMN:TYPE"));
    }

    #[test]
    fn inference_skips_and_locates_malformed_records() {
        let data = b"a,b\n1,x\n2\n3,y,z\n4,w\n";
        let text = CsvText {
            data,
            delimiter: b',',
            header: true,
            path: Some(Path::new("in.csv")),
            first_line: 10,
        };
        let nulls = NullMarkers::default();
        let inferred =
            infer_text(text, &names(&["a", "b"]), &[], &nulls, &mut |_, _| Ok(())).unwrap();
        assert_eq!(inferred.rows, 2);
        assert_eq!(inferred.malformed, 2);
        assert_eq!(inferred.malformed_at, vec!["in.csv:12", "in.csv:13"]);
        assert_eq!(inferred.guesses[0].column_type(), ColumnType::Int64);
        assert_eq!(inferred.guesses[1].column_type(), ColumnType::Utf8);
    }

    #[test]
    fn a_value_that_does_not_fit_the_override_is_located() {
        let data = b"1,a\n2.5,b\n";
        let text = CsvText::result(data, false);
        let err = infer_text(
            text,
            &names(&["n", "s"]),
            &[Some(ColumnType::Int64), None],
            &NullMarkers::default(),
            &mut |_, _| Ok(()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--schema n:int64: \"2.5\" at record 2 of the result does not parse as int64"
        );
    }

    fn arrow_batch_rows(file: Vec<u8>) -> Vec<usize> {
        let reader =
            arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(file), None).unwrap();
        reader.map(|b| b.unwrap().num_rows()).collect()
    }

    #[test]
    fn output_is_streamed_in_bounded_batches() {
        let rows = 2 * super::super::BATCH_ROWS + 1000;
        let mut data = Vec::new();
        for i in 0..rows {
            data.extend_from_slice(format!("{i},{}.5\n", i % 7).as_bytes());
        }
        let (file, report) = write_table(
            CsvText::result(&data, false),
            TableSpec {
                names: &names(&["n", "x"]),
                overrides: &[],
                nulls: &NullMarkers::default(),
                format: ColumnarFormat::Arrow,
            },
            Vec::new(),
            "test",
            &mut |_, _| Ok(()),
        )
        .unwrap();
        assert_eq!(report.rows, rows as u64);
        let batches = arrow_batch_rows(file);
        assert_eq!(batches, vec![65536, 65536, 1000]);

        // Wide rows: cut by bytes, long before the row limit.
        let wide = "w".repeat(1 << 20);
        let data: Vec<u8> = (0..20)
            .flat_map(|_| format!("{wide}\n").into_bytes())
            .collect();
        let (file, _) = write_table(
            CsvText::result(&data, false),
            TableSpec {
                names: &names(&["w"]),
                overrides: &[],
                nulls: &NullMarkers::default(),
                format: ColumnarFormat::Arrow,
            },
            Vec::new(),
            "test",
            &mut |_, _| Ok(()),
        )
        .unwrap();
        assert_eq!(arrow_batch_rows(file), vec![16, 4]);
    }
}
