//! `fleet convert`: arguments, progress and summary of turning CSV files into Parquet or
//! Arrow files, one per input; the conversion itself is `fleet_engine::columnar`.

use crate::args::{human_bytes, human_count, parse_delimiter};
use crate::columnar::ColumnarKind;
use crate::input::{column_names, header_flag, null_flags, open_dataset};
use crate::progress::{draw_target, ProgressMode};
use crate::Outcome;
use anyhow::bail;
use clap::Args;
use fleet_engine::columnar::{
    convert_files, parse_schema_arg, plan_outputs, ColumnType, ColumnarError, ColumnarFormat,
    ConvertOptions, ConvertPhase, ConvertProgress, ConvertReport,
};
use fleet_engine::DatasetOptions;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

const AFTER_HELP: &str = "\
Every input file becomes one file under OUT_DIR at the same relative path (relative to the \
directory it was found in, or just its name when named itself), with the extension .parquet \
or .arrow. All files get one schema: each column's type is inferred from every value in every \
file (Int64, Float64, Timestamp for YYYY-MM-DD HH:MM:SS or ISO text, in UTC when the values \
carry Z or +hh:mm, Utf8 otherwise; an empty field is null, and so are NA, NULL, null, NaN, \
N/A and \\N in a column without other text, or exactly the --null values when given), so the \
directory reads as one table in DuckDB, Polars or Spark. Records with \
the wrong number of fields are skipped and reported with file:line (--strict refuses them). \
Each output appears only when complete.

Examples:
  fleet convert data/gps -o data/gps-parquet
  fleet convert data/trips -o data/trips-arrow --to arrow -j 4
  fleet convert data/gps -o out --schema id:utf8

Exit status: 0 on success, 2 on an error (some file not converted included), 130 after Ctrl-C.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct ConvertArgs {
    /// Files or directories (walked recursively; *.csv, *.txt, *.tsv in sorted path order).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The directory to write into; created if missing.
    #[arg(short, long, value_name = "OUT_DIR")]
    output: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = ColumnarKind::Parquet)]
    to: ColumnarKind,
    /// Column types, e.g. id:utf8,speed:float64 (int64, float64, timestamp, utf8, decimal =
    /// Decimal128(38,9), exact); other columns are inferred.
    #[arg(long, value_name = "COL:TYPE,...")]
    schema: Option<String>,
    /// Field delimiter: one character, or \t / tab.
    #[arg(short = 'd', long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// The files have a header line (overrides detection and fleet.toml).
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// The files have no header line.
    #[arg(short = 'n', long)]
    no_header: bool,
    /// Names for the columns, e.g. id,time,lon,lat,speed,heading,occupied.
    #[arg(long, value_name = "NAMES")]
    columns: Option<String>,
    /// A value that means "missing" (repeatable; replaces the default NA, NULL, null, NaN,
    /// N/A, \N and fleet.toml's list). Empty fields are always missing.
    #[arg(long = "null", value_name = "VALUE", allow_hyphen_values = true)]
    nulls: Vec<String>,
    /// Take files matching this glob in directories instead of *.csv, *.txt, *.tsv.
    #[arg(long, value_name = "PATTERN")]
    glob: Option<String>,
    /// Number of files converted at once (default: available cores).
    #[arg(short = 'j', long, value_name = "N")]
    workers: Option<usize>,
    /// Fail, writing nothing, if any record has the wrong number of fields.
    #[arg(long)]
    strict: bool,
    /// Progress bars on stderr.
    #[arg(long, value_enum, default_value_t)]
    progress: ProgressMode,
    /// No summary and no progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<Outcome> {
    if args.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    if args.output.exists() && !args.output.is_dir() {
        bail!(
            "--output {} exists and is not a directory",
            args.output.display()
        );
    }
    let ds = open_dataset(DatasetOptions {
        paths: args.paths.clone(),
        glob: args.glob.clone(),
        header: header_flag(args.header, args.no_header),
        columns: column_names(args.columns.as_deref())?,
        delimiter: args.delimiter,
        // Files are converted whole, one per worker: no chunks to plan.
        chunk_size: u64::MAX,
        encoding: None,
        piece_size: 0,
        nulls: null_flags(&args.nulls),
    })?;
    // Conversion maps each input whole; compressed or transcoded inputs would need the
    // streaming reader, which convert does not use yet.
    if let Some(f) = ds.plan.files.iter().find(|f| f.streamed()) {
        bail!(
            "{}: convert reads plain CSV files only; decompress it first",
            f.path.display()
        );
    }
    let names: Vec<String> = (0..ds.schema.ncols())
        .map(|c| ds.schema.display_name(c))
        .collect();
    let overrides: Vec<Option<ColumnType>> = match &args.schema {
        Some(text) => parse_schema_arg(text, &names)?,
        None => vec![None; names.len()],
    };
    let format = match args.to {
        ColumnarKind::Arrow => ColumnarFormat::Arrow,
        ColumnarKind::Parquet => ColumnarFormat::Parquet,
    };
    let files = plan_outputs(&ds.plan.files, &args.paths, &args.output, format)?;
    let opts = ConvertOptions {
        format,
        names,
        overrides,
        nulls: ds.nulls.clone(),
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        strict: args.strict,
        interrupt: Some(fleet_engine::job::interrupt::install()),
    };
    let bar = new_bar(args.progress, args.quiet);
    let writing = AtomicBool::new(false);
    let on_progress = |p: &ConvertProgress| {
        if let Some(bar) = &bar {
            // The second pass starts the bar afresh, rate and ETA included.
            if p.phase == ConvertPhase::Writing && !writing.swap(true, Ordering::Relaxed) {
                bar.reset();
            }
            update(bar, p);
        }
    };
    let result = convert_files(&files, &opts, &on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(ColumnarError::Interrupted) => {
            eprintln!("fleet: interrupted; unfinished output files were not written");
            return Ok(Outcome::Interrupted);
        }
        Err(e) => return Err(e.into()),
    };
    if !args.quiet {
        summary(&report, args.to, ds.schema.ncols());
    }
    for (path, reason) in &report.failed {
        eprintln!(
            "fleet: error: {} could not be converted: {reason}",
            path.display()
        );
    }
    if report.failed.is_empty() && ds.discovery.unreadable.is_empty() {
        return Ok(Outcome::Ok);
    }
    eprintln!(
        "fleet: the conversion is partial: {} file(s) could not be converted",
        report.failed.len() + ds.discovery.unreadable.len()
    );
    Ok(Outcome::Partial)
}

fn new_bar(mode: ProgressMode, quiet: bool) -> Option<ProgressBar> {
    let target = draw_target(mode, quiet)?;
    let style = ProgressStyle::with_template(
        "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    Some(ProgressBar::with_draw_target(Some(0), target).with_style(style))
}

/// Pass 1 and pass 2 each read every byte once: the bar runs twice, labelled.
fn update(bar: &ProgressBar, p: &ConvertProgress) {
    bar.set_length(p.total_bytes);
    bar.set_position(p.bytes);
    let what = match p.phase {
        ConvertPhase::Inferring => "1/2 inferring types",
        ConvertPhase::Writing => "2/2 writing",
    };
    bar.set_message(format!(
        "{what}: {}/{} files, {} records",
        human_count(p.files_done as u64),
        human_count(p.files as u64),
        human_count(p.rows)
    ));
}

fn summary(r: &ConvertReport, to: ColumnarKind, ncols: usize) {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "fleet: converted {} files ({}, {} records) to {} ({}), {} malformed, in {:.3} s \
         ({}/s)",
        human_count(r.converted.len() as u64),
        human_bytes(r.input_bytes),
        human_count(r.rows()),
        to.name(),
        human_bytes(r.output_bytes()),
        human_count(r.malformed()),
        secs,
        human_bytes((r.input_bytes as f64 / secs) as u64),
    );
    let columns: Vec<String> = r
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.type_text()))
        .collect();
    eprintln!("fleet: columns: {}", columns.join(", "));
    for file in &r.converted {
        for at in &file.malformed_at {
            eprintln!("fleet: malformed record (not {ncols} fields) at {at}");
        }
    }
    let replaced: u64 = r.converted.iter().map(|f| f.replaced).sum();
    if replaced > 0 {
        eprintln!(
            "fleet: warning: {} text value(s) were not valid UTF-8; written with U+FFFD \
             replacements",
            human_count(replaced)
        );
    }
}
