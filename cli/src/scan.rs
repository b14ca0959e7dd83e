//! `fleet scan`: every record matching all `--where` tests, exact, in file order.

use crate::args::{human_bytes, human_count, parse_delimiter, parse_size};
use crate::progress::{Bars, ProgressMode};
use crate::Outcome;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use fleet_engine::dataset::{self, DatasetOptions};
use fleet_engine::expr::{parse_column_list, parse_where};
use fleet_engine::fault::Fault;
use fleet_engine::kernel::write_csv_field;
use fleet_engine::output::{clobbers_input, AtomicOutput};
use fleet_engine::predicate::Predicate;
use fleet_engine::{interrupt, run_scan, Emit, EngineKind, JobError, JobOptions, ScanSpec};
use std::io::{self, Write};
use std::path::PathBuf;

/// Default chunk size: large enough that per-chunk costs (a lock, a pipe byte, a spill
/// write) vanish, small enough that 2 GB makes hundreds of chunks for load balancing.
const DEFAULT_CHUNK: &str = "8MiB";

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Csv,
    Jsonl,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    #[default]
    Processes,
    Threads,
}

#[derive(Args)]
pub struct ScanArgs {
    /// Files or directories (walked recursively; *.csv, *.txt, *.tsv in sorted path order).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// COLUMN OP VALUE with OP one of = != < <= > >=, or COLUMN ~ REGEX; repeatable, all must hold.
    #[arg(short = 'w', long = "where", value_name = "EXPR")]
    wheres: Vec<String>,
    /// Output only these columns, in this order (names or 1-based positions).
    #[arg(long, value_name = "COLS")]
    select: Option<String>,
    /// Stop after N matching records.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Print only the number of matching records.
    #[arg(long)]
    count: bool,
    /// Write to FILE (atomically: it appears only when complete) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Field delimiter: one character, or \t / tab.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// The files have a header line (overrides detection and fleet.toml).
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// The files have no header line.
    #[arg(long)]
    no_header: bool,
    /// Names for the columns, e.g. id,time,lon,lat,speed,heading,occupied.
    #[arg(long, value_name = "NAMES")]
    columns: Option<String>,
    /// Take files matching this glob in directories instead of *.csv, *.txt, *.tsv.
    #[arg(long, value_name = "PATTERN")]
    glob: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    engine: Engine,
    /// Number of workers (default: available cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Bytes per chunk, with an optional KiB/MiB/GiB suffix.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = DEFAULT_CHUNK)]
    chunk_size: u64,
    /// Fail if any record has the wrong number of fields.
    #[arg(long)]
    strict: bool,
    #[arg(long, value_enum, default_value_t)]
    progress: ProgressMode,
    /// No summary and no progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let interrupt = interrupt::install();
    let columns: Option<Vec<String>> = args
        .columns
        .as_ref()
        .map(|text| text.split(',').map(|c| c.trim().to_string()).collect());
    if columns
        .as_ref()
        .is_some_and(|c| c.iter().any(String::is_empty))
    {
        bail!(
            "--columns '{}' has an empty name",
            args.columns.unwrap_or_default()
        );
    }
    let header = match (args.header, args.no_header) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let ds = dataset::open(&DatasetOptions {
        paths: args.paths.clone(),
        glob: args.glob.clone(),
        header,
        columns,
        delimiter: args.delimiter,
        chunk_size: args.chunk_size,
    })?;
    for bad in &ds.discovery.unreadable {
        eprintln!(
            "fleet: warning: cannot read {}: {}",
            bad.path.display(),
            bad.reason
        );
    }
    let predicates = args
        .wheres
        .iter()
        .map(|text| {
            let expr = parse_where(text)?;
            Predicate::compile(&expr, &ds.schema).with_context(|| format!("--where '{text}'"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let selected = match &args.select {
        Some(text) => Some(
            ds.schema
                .resolve_all(&parse_column_list(text)?)
                .with_context(|| format!("--select '{text}'"))?,
        ),
        None => None,
    };
    let emit = match (args.count, args.format, &selected) {
        (true, _, _) => Emit::Nothing,
        (false, Format::Csv, None) => Emit::Raw,
        (false, Format::Csv, Some(cols)) => Emit::Csv {
            columns: cols.clone(),
            delimiter: ds.delimiter,
        },
        (false, Format::Jsonl, cols) => {
            let columns = cols
                .clone()
                .unwrap_or_else(|| (0..ds.schema.ncols()).collect());
            let keys = columns
                .iter()
                .map(|&c| {
                    let mut key = Vec::new();
                    fleet_engine::kernel::write_json_string(
                        &mut key,
                        ds.schema.display_name(c).as_bytes(),
                    );
                    String::from_utf8_lossy(&key).into_owned()
                })
                .collect();
            Emit::Jsonl { columns, keys }
        }
    };

    let inputs: Vec<PathBuf> = ds.plan.files.iter().map(|f| f.path.clone()).collect();
    let mut sink = match &args.output {
        Some(path) => {
            if let Some(input) = clobbers_input(path, inputs.iter().map(PathBuf::as_path)) {
                bail!(
                    "--output {} is one of the inputs ({}); refusing to overwrite it",
                    path.display(),
                    input.display()
                );
            }
            Sink::File(
                AtomicOutput::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )
        }
        None => Sink::Stdout(io::BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let mut header_line = Vec::new();
    if ds.has_header && !args.count && args.format == Format::Csv {
        match (&selected, &ds.header_raw) {
            (None, Some(raw)) => header_line.extend_from_slice(raw),
            (Some(cols), _) => {
                for (i, &c) in cols.iter().enumerate() {
                    if i > 0 {
                        header_line.push(ds.delimiter);
                    }
                    write_csv_field(
                        &mut header_line,
                        ds.schema.display_name(c).as_bytes(),
                        ds.delimiter,
                        cols.len() == 1,
                    );
                }
                header_line.push(b'\n');
            }
            (None, None) => {}
        }
    }
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    if args.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    let opts = JobOptions {
        engine: match args.engine {
            Engine::Processes => EngineKind::Processes,
            Engine::Threads => EngineKind::Threads,
        },
        workers,
        limit: args.limit,
        interrupt: Some(interrupt),
        fault: Fault::from_env()?,
    };
    let spec = ScanSpec {
        ncols: ds.schema.ncols(),
        predicates,
        emit,
        framed: args.limit.is_some() && !args.count,
    };
    let bars = Bars::new(
        args.progress,
        args.quiet,
        ds.plan.total_bytes(),
        workers.min(ds.plan.chunks.len().max(1)),
    );
    let plan = ds.plan.clone();
    let result = (|| -> Result<_, JobError> {
        if args.limit != Some(0) {
            sink.write_all(&header_line).map_err(JobError::Output)?;
        }
        if args.limit == Some(0) {
            return Ok(None);
        }
        let mut on_progress = |p: &fleet_engine::Progress| {
            if let Some(b) = &bars {
                b.update(p)
            }
        };
        if args.count {
            run_scan(plan, spec, &opts, &mut io::sink(), &mut on_progress).map(Some)
        } else {
            run_scan(plan, spec, &opts, &mut sink, &mut on_progress).map(Some)
        }
    })();
    if let Some(b) = bars {
        b.finish();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) if e.is_broken_pipe() => return Ok(Outcome::Ok),
        Err(JobError::Interrupted) => {
            eprintln!("fleet: interrupted; no output file was written");
            return Ok(Outcome::Interrupted);
        }
        Err(e) => return Err(e.into()),
    };
    let mut report = report.unwrap_or_else(|| fleet_engine::ScanReport {
        files: ds.plan.files.len(),
        limited: true,
        ..Default::default()
    });
    // The summary's time is the whole command's: discovery and planning included.
    report.elapsed = started.elapsed();
    if args.strict && report.malformed > 0 {
        let (path, line) = report
            .malformed_examples
            .first()
            .cloned()
            .unwrap_or_default();
        bail!(
            "{} malformed records (first at {}:{}); --strict refuses them",
            human_count(report.malformed),
            path.display(),
            line
        );
    }
    if args.count {
        writeln!(sink, "{}", report.matches).or_else(ignore_broken_pipe)?;
    }
    sink.finish()?;
    let partial = !ds.discovery.unreadable.is_empty() || !report.failed_files.is_empty();
    if !args.quiet {
        summary(&ds, &report, args.chunk_size);
    }
    for (path, reason) in &report.failed_files {
        eprintln!(
            "fleet: error: {} could not be scanned: {reason}",
            path.display()
        );
    }
    if partial {
        eprintln!(
            "fleet: the result is partial: {} file(s) could not be read",
            ds.discovery.unreadable.len() + report.failed_files.len()
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Ok)
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

/// Where results go: stdout, or a file that gets its name only when complete.
enum Sink {
    Stdout(io::BufWriter<io::StdoutLock<'static>>),
    File(AtomicOutput),
}

impl Sink {
    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush().or_else(ignore_broken_pipe)?,
            Sink::File(out) => out.commit().context("cannot finish the output file")?,
        }
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::File(out) => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(buf),
            Sink::File(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::File(out) => out.flush(),
        }
    }
}

fn summary(ds: &fleet_engine::Dataset, r: &fleet_engine::ScanReport, _chunk: u64) {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "fleet: {} files, {}, {} records, {} matches, {} malformed in {:.3} s ({:.2} GB/s){}",
        human_count(r.files as u64),
        human_bytes(r.bytes),
        human_count(r.records),
        human_count(r.matches),
        human_count(r.malformed),
        secs,
        r.bytes as f64 / secs / 1e9,
        if r.limited {
            " (stopped at --limit)"
        } else {
            ""
        }
    );
    for (path, line) in &r.malformed_examples {
        eprintln!(
            "fleet: malformed record (not {} fields) at {}:{}",
            ds.schema.ncols(),
            path.display(),
            line
        );
    }
    let s = &ds.discovery.skipped;
    if s.total() > 0 {
        eprintln!(
            "fleet: skipped {} hidden, {} not matching, {} binary, {} empty file(s)",
            s.hidden, s.not_matching, s.binary, s.empty
        );
    }
}
