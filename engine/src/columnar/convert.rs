//! `fleet convert`: every input file becomes one column file under the output directory, at
//! the same relative path with the format's extension, converted in parallel across files.
//!
//! All files get *one* schema: pass 1 infers every file (in parallel, over its mapping),
//! the guesses are merged, then pass 2 writes every file with the merged types. A dataset
//! handed to DuckDB, Polars or Spark as a directory must not have `speed` Int64 in one file
//! and Float64 in the next (Polars refuses, Spark needs schema merging). Each output is an
//! [`AtomicOutput`]: complete under its name or absent.
//!
//! Malformed (ragged) records are skipped, counted and reported with `file:line` as `fleet
//! scan` does; with `strict` any of them fails the conversion after pass 1, before anything
//! is written. A file that cannot be read or written is reported and the others go on.

use super::infer::ColumnGuess;
use super::table::{decide_columns, infer_text, write_text, CsvText, Inferred};
use super::types::{ColumnType, ColumnarError, ColumnarFormat, OutputColumn};
use crate::input::nulls::NullMarkers;
use crate::input::plan::PlannedFile;
use crate::output::{clobbers_input, AtomicOutput};
use memmap2::Mmap;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One input file and where its conversion goes.
#[derive(Debug, Clone)]
pub struct ConvertFile {
    pub input: PlannedFile,
    pub output: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ConvertOptions {
    pub format: ColumnarFormat,
    /// The dataset's column names.
    pub names: Vec<String>,
    /// `--schema`, one entry per column.
    pub overrides: Vec<Option<ColumnType>>,
    /// What counts as missing (written as null).
    pub nulls: NullMarkers,
    pub workers: usize,
    pub strict: bool,
    pub interrupt: Option<&'static AtomicBool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertPhase {
    /// Pass 1: reading every file to settle the column types.
    Inferring,
    /// Pass 2: writing the column files.
    Writing,
}

/// A snapshot for progress display. Bytes count input read in the current phase.
#[derive(Debug, Clone)]
pub struct ConvertProgress {
    pub phase: ConvertPhase,
    pub bytes: u64,
    pub total_bytes: u64,
    pub files_done: usize,
    pub files: usize,
    pub rows: u64,
}

/// One converted file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub input: PathBuf,
    pub output: PathBuf,
    pub rows: u64,
    pub malformed: u64,
    pub malformed_at: Vec<String>,
    pub replaced: u64,
    pub output_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ConvertReport {
    pub columns: Vec<OutputColumn>,
    pub converted: Vec<FileOutcome>,
    /// Files that could not be read or written, with the reason (one line).
    pub failed: Vec<(PathBuf, String)>,
    pub input_bytes: u64,
    pub elapsed: Duration,
}

impl ConvertReport {
    pub fn rows(&self) -> u64 {
        self.converted.iter().map(|f| f.rows).sum()
    }

    pub fn malformed(&self) -> u64 {
        self.converted.iter().map(|f| f.malformed).sum()
    }

    pub fn output_bytes(&self) -> u64 {
        self.converted.iter().map(|f| f.output_bytes).sum()
    }
}

/// Where each file goes: its path relative to the first of `roots` (the command's PATHs)
/// that is a directory holding it, or its file name when it was named itself, under
/// `out_dir`, with the format's extension. Two files landing on one output, or an output
/// that is one of the inputs, is an error.
pub fn plan_outputs(
    files: &[PlannedFile],
    roots: &[PathBuf],
    out_dir: &Path,
    format: ColumnarFormat,
) -> Result<Vec<ConvertFile>, ColumnarError> {
    let mut planned = Vec::with_capacity(files.len());
    let mut taken: HashMap<PathBuf, PathBuf> = HashMap::new();
    for file in files {
        let relative = roots
            .iter()
            .filter(|root| root.is_dir())
            .find_map(|root| file.path.strip_prefix(root).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .or_else(|| file.path.file_name().map(PathBuf::from))
            .ok_or_else(|| {
                ColumnarError::Outputs(format!("{} has no file name", file.path.display()))
            })?;
        let output = out_dir.join(relative.with_extension(format.extension()));
        if let Some(first) = taken.insert(output.clone(), file.path.clone()) {
            return Err(ColumnarError::SameOutput {
                first,
                second: file.path.clone(),
                output,
            });
        }
        if let Some(input) = clobbers_input(&output, files.iter().map(|f| f.path.as_path())) {
            return Err(ColumnarError::Outputs(format!(
                "{} is one of the inputs ({}); refusing to overwrite it",
                output.display(),
                input.display()
            )));
        }
        planned.push(ConvertFile {
            input: file.clone(),
            output,
        });
    }
    Ok(planned)
}

/// Counters shared by the workers of one phase.
struct Counters<'a> {
    phase: ConvertPhase,
    bytes: AtomicU64,
    rows: AtomicU64,
    files_done: AtomicUsize,
    total_bytes: u64,
    files: usize,
    on_progress: &'a (dyn Fn(&ConvertProgress) + Sync),
    interrupt: Option<&'static AtomicBool>,
}

impl Counters<'_> {
    fn tick(&self, bytes: u64, rows: u64) -> Result<(), ColumnarError> {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.report();
        if self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
            return Err(ColumnarError::Interrupted);
        }
        Ok(())
    }

    fn file_done(&self) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    fn report(&self) {
        (self.on_progress)(&ConvertProgress {
            phase: self.phase,
            bytes: self.bytes.load(Ordering::Relaxed),
            total_bytes: self.total_bytes,
            files_done: self.files_done.load(Ordering::Relaxed),
            files: self.files,
            rows: self.rows.load(Ordering::Relaxed),
        });
    }
}

/// Converts every file (see the module comment). Returns an error only for what stops the
/// whole conversion: a `--schema` type that a value does not fit, `strict` with malformed
/// records, Ctrl-C, or a thread pool that cannot start.
pub fn convert_files(
    files: &[ConvertFile],
    opts: &ConvertOptions,
    on_progress: &(dyn Fn(&ConvertProgress) + Sync),
) -> Result<ConvertReport, ColumnarError> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.workers.max(1))
        .build()
        .map_err(|e| ColumnarError::format("cannot start the worker threads", e))?;
    let total_bytes = files.iter().map(|f| data_len(&f.input)).sum();
    let counters = |phase| Counters {
        phase,
        bytes: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        files_done: AtomicUsize::new(0),
        total_bytes,
        files: files.len(),
        on_progress,
        interrupt: opts.interrupt,
    };

    let inferring = counters(ConvertPhase::Inferring);
    let inferred: Vec<Result<Inferred, String>> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let result = infer_file(f, opts, &inferring);
                inferring.file_done();
                result
            })
            .collect::<Result<_, ColumnarError>>()
    })?;
    let mut report = ConvertReport {
        input_bytes: total_bytes,
        ..ConvertReport::default()
    };
    let mut guesses = vec![ColumnGuess::default(); opts.names.len()];
    let mut malformed = 0u64;
    let mut first_malformed = None;
    for (file, result) in files.iter().zip(&inferred) {
        match result {
            Ok(found) => {
                for (all, one) in guesses.iter_mut().zip(&found.guesses) {
                    all.merge(one);
                }
                malformed += found.malformed;
                if first_malformed.is_none() {
                    first_malformed = found.malformed_at.first().cloned();
                }
            }
            Err(reason) => report
                .failed
                .push((file.input.path.clone(), reason.clone())),
        }
    }
    if opts.strict && malformed > 0 {
        return Err(ColumnarError::Strict {
            count: malformed,
            first: first_malformed.unwrap_or_default(),
        });
    }
    report.columns = decide_columns(&opts.names, &guesses, &opts.overrides)?;

    let writing = counters(ConvertPhase::Writing);
    let readable: Vec<&ConvertFile> = files
        .iter()
        .zip(&inferred)
        .filter(|(_, r)| r.is_ok())
        .map(|(f, _)| f)
        .collect();
    let written: Vec<Result<FileOutcome, String>> = pool.install(|| {
        readable
            .par_iter()
            .map(|f| {
                let result = write_file(f, &report.columns, &opts.nulls, opts.format, &writing);
                writing.file_done();
                result
            })
            .collect::<Result<_, ColumnarError>>()
    })?;
    for (file, result) in readable.iter().zip(written) {
        match result {
            Ok(outcome) => report.converted.push(outcome),
            Err(reason) => report.failed.push((file.input.path.clone(), reason)),
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

fn data_len(file: &PlannedFile) -> u64 {
    file.size.saturating_sub(file.data_start)
}

/// Pass 1 over one file. `Err(String)` is this file's failure (reported, others go on);
/// the outer error stops everything.
fn infer_file(
    file: &ConvertFile,
    opts: &ConvertOptions,
    counters: &Counters<'_>,
) -> Result<Result<Inferred, String>, ColumnarError> {
    let map = match map_input(&file.input) {
        Ok(map) => map,
        Err(reason) => return Ok(Err(reason)),
    };
    let text = text_of(&file.input, data_of(&map, &file.input));
    let mut tick = |bytes, rows| counters.tick(bytes, rows);
    infer_text(text, &opts.names, &opts.overrides, &opts.nulls, &mut tick).map(Ok)
}

/// Pass 2 over one file: its column file, complete under its name or absent.
fn write_file(
    file: &ConvertFile,
    columns: &[OutputColumn],
    nulls: &NullMarkers,
    format: ColumnarFormat,
    counters: &Counters<'_>,
) -> Result<Result<FileOutcome, String>, ColumnarError> {
    let map = match map_input(&file.input) {
        Ok(map) => map,
        Err(reason) => return Ok(Err(reason)),
    };
    let text = text_of(&file.input, data_of(&map, &file.input));
    let output = &file.output;
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            return Ok(Err(format!("cannot create {}: {e}", parent.display())));
        }
    }
    let out = match AtomicOutput::create(output) {
        Ok(out) => out,
        Err(e) => return Ok(Err(format!("cannot create {}: {e}", output.display()))),
    };
    let what = output.display().to_string();
    let mut tick = |bytes, rows| counters.tick(bytes, rows);
    let (out, written) = match write_text(text, columns, nulls, format, out, &what, &mut tick) {
        Ok(done) => done,
        Err(ColumnarError::Interrupted) => return Err(ColumnarError::Interrupted),
        Err(e) => return Ok(Err(e.to_string())),
    };
    if let Err(e) = out.commit() {
        return Ok(Err(format!("cannot finish {}: {e}", output.display())));
    }
    let output_bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    Ok(Ok(FileOutcome {
        input: file.input.path.clone(),
        output: output.clone(),
        rows: written.rows,
        malformed: written.malformed,
        malformed_at: written.malformed_at,
        replaced: written.replaced,
        output_bytes,
    }))
}

/// The input file, mapped (`Err` is the reason it cannot be read, one line).
fn map_input(file: &PlannedFile) -> Result<Option<Mmap>, String> {
    let opened = File::open(&file.path).map_err(|e| e.to_string())?;
    let len = opened.metadata().map_err(|e| e.to_string())?.len();
    if len == 0 {
        return Ok(None);
    }
    if len < file.size {
        return Err(format!(
            "the file shrank from {} to {len} bytes since it was planned",
            file.size
        ));
    }
    // SAFETY: a read-only map of an input file. Another process truncating it while we read
    // would raise SIGBUS, the hazard every mmap-based reader (and `fleet scan`) accepts.
    let map = unsafe { Mmap::map(&opened) }.map_err(|e| e.to_string())?;
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(Some(map))
}

/// The part of the mapping that was planned: after the header, up to the planned size (a
/// file that grew since is converted as it was when the dataset was opened).
fn data_of<'m>(map: &'m Option<Mmap>, file: &PlannedFile) -> &'m [u8] {
    let data: &[u8] = map.as_deref().unwrap_or_default();
    let end = (file.size as usize).min(data.len());
    let start = (file.data_start as usize).min(end);
    &data[start..end]
}

fn text_of<'a>(file: &'a PlannedFile, data: &'a [u8]) -> CsvText<'a> {
    CsvText {
        data,
        delimiter: file.delimiter,
        header: false,
        path: Some(&file.path),
        first_line: file.first_line,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::dataset::{self, DatasetOptions};

    static STOP: AtomicBool = AtomicBool::new(true);

    fn dataset(dir: &Path) -> crate::Dataset {
        dataset::open(&DatasetOptions {
            paths: vec![dir.to_path_buf()],
            chunk_size: u64::MAX,
            ..DatasetOptions::default()
        })
        .unwrap()
    }

    fn options(ds: &crate::Dataset, interrupt: Option<&'static AtomicBool>) -> ConvertOptions {
        let names: Vec<String> = (0..ds.schema.ncols())
            .map(|c| ds.schema.display_name(c))
            .collect();
        ConvertOptions {
            format: ColumnarFormat::Parquet,
            overrides: vec![None; names.len()],
            nulls: NullMarkers::default(),
            names,
            workers: 2,
            strict: false,
            interrupt,
        }
    }

    #[test]
    fn interrupted_conversion_leaves_no_output() {
        let src = tempfile::tempdir().unwrap();
        for name in ["a.csv", "b.csv"] {
            std::fs::write(src.path().join(name), "x,y\n1,2\n3,4\n").unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        let ds = dataset(src.path());
        let files = plan_outputs(
            &ds.plan.files,
            &[src.path().to_path_buf()],
            out.path(),
            ColumnarFormat::Parquet,
        )
        .unwrap();
        let result = convert_files(&files, &options(&ds, Some(&STOP)), &|_| {});
        assert!(matches!(result, Err(ColumnarError::Interrupted)));
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_file_that_cannot_be_written_is_reported_and_the_others_are_converted() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("a.csv"), "x,y\n1,2\n").unwrap();
        std::fs::write(src.path().join("sub/b.csv"), "x,y\n3,4.5\n").unwrap();
        let out = tempfile::tempdir().unwrap();
        // `sub` exists in the output as a file: sub/b.parquet cannot be created.
        std::fs::write(out.path().join("sub"), "in the way").unwrap();
        let ds = dataset(src.path());
        let files = plan_outputs(
            &ds.plan.files,
            &[src.path().to_path_buf()],
            out.path(),
            ColumnarFormat::Parquet,
        )
        .unwrap();
        let report = convert_files(&files, &options(&ds, None), &|_| {}).unwrap();
        assert_eq!(report.converted.len(), 1);
        assert_eq!(report.converted[0].output, out.path().join("a.parquet"));
        assert_eq!(report.converted[0].rows, 1);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, src.path().join("sub/b.csv"));
        assert!(
            report.failed[0].1.contains("cannot create"),
            "{:?}",
            report.failed
        );
        // The schema is the whole dataset's, the failed file's values included.
        assert_eq!(report.columns[1].ty, ColumnType::Float64);
    }
}
