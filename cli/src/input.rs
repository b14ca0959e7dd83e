//! What every data subcommand (scan, agg) shares: the input options, and what they become:
//! an opened dataset, compiled `--where` predicates, job options, the closing summary and the
//! outcome (partial when some file could not be read).

use crate::args::{human_bytes, human_count, parse_delimiter, parse_size, parse_timeout, Timeout};
use crate::progress::{Bars, ProgressMode};
use crate::Outcome;
use anyhow::bail;
use clap::{Args, ValueEnum};
use fleet_engine::input::charset::Encoding;
use fleet_engine::input::dataset::{self, DatasetOptions};
use fleet_engine::job::fault::Fault;
use fleet_engine::job::DEFAULT_STALL_TIMEOUT;
use fleet_engine::query::condition::{compile_filter, Condition, FilterError, FilterOptions};
use fleet_engine::{Dataset, EngineKind, JobError, JobOptions, ScanReport};
use std::path::PathBuf;

/// Default chunk size for scan: large enough that per-chunk costs (a lock, a pipe byte, a
/// spill write) vanish, small enough that 2 GB makes hundreds of chunks for load balancing.
pub const SCAN_CHUNK: u64 = 8 << 20;
/// Default chunk size for agg: each chunk's table is handed over and merged whole, at a cost
/// that grows with its number of groups (30,000 taxi ids appear in every 8 MiB chunk), so
/// fewer, larger chunks; 2 GB still makes 32 of them for load balancing.
pub const AGG_CHUNK: u64 = 64 << 20;

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Forked worker processes sharing one memory region.
    #[default]
    Processes,
    /// A thread pool in one process.
    Threads,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputEncoding {
    /// Records decoded to UTF-8 (invalid sequences become U+FFFD and are reported).
    #[default]
    #[value(name = "utf-8")]
    Utf8,
    /// The input's bytes exactly as they are.
    Keep,
}

#[derive(Args)]
pub struct InputArgs {
    /// Files or directories (walked recursively; *.csv, *.txt, *.tsv, also .gz/.zst, in sorted
    /// path order); `-` reads standard input (plain, gzip or zstd) as one stream.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Keep records where COLUMN OP VALUE holds, OP one of = != < <= > >=, COLUMN ~ REGEX (a
    /// search in the field), COLUMN !~ REGEX, COLUMN is [not] null, COLUMN [not] in (V1, V2,
    /// ...) or COLUMN in @FILE (one value per line); joined with and, or, not and
    /// parentheses. Numbers compare as numbers; a missing value never matches a number, and
    /// `not` of an unknown is unknown (SQL). Repeatable: all must hold. Quote it: unquoted,
    /// the shell reads `--where speed>100` as a redirection into a file `100`.
    #[arg(short = 'w', long = "where", value_name = "EXPR")]
    pub wheres: Vec<String>,
    /// Keep the well-formed records the --where tests do not keep (as grep -v), those with a
    /// missing or not comparable value included.
    #[arg(short = 'v', long)]
    pub invert: bool,
    /// Ignore case in =, !=, in and ~ on text values (Unicode lowercase).
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// A value that means "missing" (repeatable; replaces the default NA, NULL, null, NaN,
    /// N/A, \N and fleet.toml's list). Empty fields are always missing.
    #[arg(long = "null", value_name = "VALUE", allow_hyphen_values = true)]
    pub nulls: Vec<String>,
    /// Field delimiter: one character, or \t / tab (default: from fleet.toml, tab for .tsv,
    /// else comma).
    #[arg(short = 'd', long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// The files have a header line (overrides detection and fleet.toml).
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// The files have no header line.
    #[arg(short = 'n', long)]
    pub no_header: bool,
    /// Names for the columns, e.g. id,time,lon,lat,speed,heading,occupied.
    #[arg(long, value_name = "NAMES")]
    pub columns: Option<String>,
    /// Take files matching this glob in directories instead of *.csv, *.txt, *.tsv (each
    /// also as .gz or .zst).
    #[arg(long, value_name = "PATTERN")]
    pub glob: Option<String>,
    /// Text encoding of the input: utf-8, gbk, gb2312, gb18030, big5 or latin1 (overrides
    /// fleet.toml). --where values and column names are given in UTF-8.
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,
    /// Encoding of the output records.
    #[arg(long, value_enum, default_value_t, value_name = "ENC")]
    pub output_encoding: OutputEncoding,
    /// Bytes of decompressed content scanned at a time in a .gz/.zst file [default: 4MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub piece_size: Option<u64>,
    /// How workers run: as forked processes sharing one memory region (a crash costs one
    /// chunk, which is re-run), or as threads in one process.
    #[arg(long, value_enum, default_value_t)]
    pub engine: Engine,
    /// Number of workers (default: available cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub workers: Option<usize>,
    /// Bytes per chunk, with an optional KiB/MiB/GiB suffix [default: 8MiB for scan, 64MiB for
    /// agg; for a hashed group-by, about two chunks per worker of 64MiB to 256MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub chunk_size: Option<u64>,
    /// Kill a worker that holds a chunk without progress for this long (or for 10x the
    /// longest a chunk has gone without progress, if that is longer) and re-run its chunk once;
    /// a second stall fails the job (exit 2), as does the first with --engine threads, which
    /// cannot kill a thread. 0 turns the watchdog off.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout,
          default_value_t = Timeout(Some(DEFAULT_STALL_TIMEOUT)))]
    pub stall_timeout: Timeout,
    /// Fail if any record has the wrong number of fields.
    #[arg(long)]
    pub strict: bool,
    /// Progress bars on stderr: per worker, with bytes, records and matches.
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressMode,
    /// No summary and no progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

impl InputArgs {
    /// Discovers, reads headers, plans with `--chunk-size` or `default_chunk`; warns about
    /// unreadable files.
    pub fn open(&self, default_chunk: u64) -> anyhow::Result<Dataset> {
        open_dataset(DatasetOptions {
            paths: self.paths.clone(),
            glob: self.glob.clone(),
            header: header_flag(self.header, self.no_header),
            columns: column_names(self.columns.as_deref())?,
            delimiter: self.delimiter,
            chunk_size: self.chunk_size.unwrap_or(default_chunk),
            encoding: self.encoding.clone(),
            piece_size: self.piece_size.unwrap_or(0),
            nulls: null_flags(&self.nulls),
        })
    }

    pub fn predicates(&self, ds: &Dataset) -> anyhow::Result<Vec<Condition>> {
        let opts = FilterOptions {
            nulls: ds.scanned_nulls(),
            encoding: ds.scanned_encoding(),
            ignore_case: self.ignore_case,
            invert: self.invert,
        };
        compile_filter(&self.wheres, &ds.schema, &opts).map_err(|e| match &e {
            FilterError::Syntax(syntax) => match redirected_value(syntax) {
                Some(hint) => anyhow::anyhow!("{e}; {hint}"),
                None => e.into(),
            },
            _ => e.into(),
        })
    }

    /// The encoding to decode output records from, if any (`--output-encoding`).
    pub fn output_decode(&self, ds: &Dataset) -> anyhow::Result<Option<&'static Encoding>> {
        if self.output_encoding == OutputEncoding::Utf8 {
            return Ok(ds.scanned_encoding());
        }
        if let (Some(encoding), true) = (ds.encoding, ds.transcoded) {
            bail!(
                "--output-encoding keep: with delimiter '{}' the {} input is transcoded to UTF-8 before scanning (that byte can occur inside its characters), so its original bytes are not kept; use a delimiter such as ',' or tab, or UTF-8 output",
                ds.delimiter.escape_ascii(),
                encoding.name().to_ascii_lowercase()
            );
        }
        Ok(None)
    }

    pub fn job_options(&self, limit: Option<u64>) -> anyhow::Result<JobOptions> {
        Ok(JobOptions {
            interrupt: Some(fleet_engine::job::interrupt::install()),
            ..self.job_options_without_interrupt(limit)?
        })
    }

    /// The job options with no Ctrl-C/SIGTERM handler installed: for a process whose signals
    /// belong to something else (a cluster executor, whose tokio runtime stops on SIGTERM;
    /// fleet's handler would swallow the signal).
    pub fn job_options_without_interrupt(&self, limit: Option<u64>) -> anyhow::Result<JobOptions> {
        if self.workers == Some(0) {
            bail!("--workers must be at least 1");
        }
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(JobOptions {
            engine: match self.engine {
                Engine::Processes => EngineKind::Processes,
                Engine::Threads => EngineKind::Threads,
            },
            workers,
            limit,
            interrupt: None,
            stall_timeout: self.stall_timeout.0,
            fault: Fault::from_env()?,
        })
    }

    fn bars(&self, ds: &Dataset, opts: &JobOptions) -> Option<Bars> {
        let shown = opts.workers.min(ds.plan.chunks.len().max(1));
        // Standard input's size is not known: bytes read, without a total.
        let total = (!ds.plan.has_stdin()).then(|| ds.plan.total_bytes());
        Bars::new(self.progress, self.quiet, total, shown)
    }

    /// Runs a job with the progress bars `--progress` asks for, fed by the job's progress
    /// callback and finished whatever the job's result.
    pub fn with_progress<R>(
        &self,
        ds: &Dataset,
        opts: &JobOptions,
        run: impl FnOnce(&mut dyn FnMut(&fleet_engine::Progress)) -> R,
    ) -> R {
        let bars = self.bars(ds, opts);
        let mut on_progress = |p: &fleet_engine::Progress| {
            if let Some(b) = &bars {
                b.update(p)
            }
        };
        let result = run(&mut on_progress);
        if let Some(b) = bars {
            b.finish();
        }
        result
    }

    /// Fails when `--strict` and some record was malformed, or had a value a numeric
    /// `--where` could not compare.
    pub fn check_strict(&self, report: &ScanReport) -> anyhow::Result<()> {
        if self.strict && report.incomparable > 0 {
            let (path, line) = report
                .incomparable_examples
                .first()
                .cloned()
                .unwrap_or_default();
            bail!(
                "{} record(s) have a value that is neither a number nor missing where --where \
                 compares numbers (first at {}:{}); --strict refuses them",
                human_count(report.incomparable),
                path.display(),
                line
            );
        }
        if self.strict && report.malformed > 0 {
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
        Ok(())
    }

    /// Prints the summary (unless quiet) and failures; says whether the result is partial.
    pub fn finish(&self, ds: &Dataset, report: &ScanReport) -> Outcome {
        if !self.quiet {
            summary(ds, report);
        }
        for (path, reason) in &report.failed_files {
            eprintln!(
                "fleet: error: {} could not be scanned: {reason}",
                path.display()
            );
        }
        if ds.discovery.unreadable.is_empty() && report.failed_files.is_empty() {
            return Outcome::Ok;
        }
        eprintln!(
            "fleet: the result is partial: {} file(s) could not be read",
            ds.discovery.unreadable.len() + report.failed_files.len()
        );
        Outcome::Partial
    }
}

/// For a `--where` without an operator: the files the shell just created in the current
/// directory, which is what an unquoted `--where speed>100` does (it writes into `100`).
fn redirected_value(e: &fleet_engine::query::expr::ExprError) -> Option<String> {
    if !matches!(e, fleet_engine::query::expr::ExprError::NoOperator { .. }) {
        return None;
    }
    let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    let mut names: Vec<String> = std::fs::read_dir(".")
        .ok()?
        .flatten()
        .filter(|e| {
            e.metadata().is_ok_and(|m| {
                m.is_file() && m.len() == 0 && m.modified().is_ok_and(|t| t >= recent)
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort();
    Some(format!(
        "the shell may have read '>' or '<' as a redirection: the empty file(s) {} just appeared in this directory; quote the expression, e.g. --where 'speed>100'",
        names.join(", ")
    ))
}

/// `--null` values as a setting: `None` (no flag) leaves them to fleet.toml or the default.
pub fn null_flags(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// `--header` / `--no-header` as a setting: `None` leaves it to fleet.toml or detection.
pub fn header_flag(header: bool, no_header: bool) -> Option<bool> {
    match (header, no_header) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// `--columns a,b,c` as names; an empty name is an error.
pub fn column_names(text: Option<&str>) -> anyhow::Result<Option<Vec<String>>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let names: Vec<String> = text.split(',').map(|c| c.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        bail!("--columns '{text}' has an empty name");
    }
    Ok(Some(names))
}

/// Discovers, reads headers and plans; warns about unreadable files.
pub fn open_dataset(opts: DatasetOptions) -> anyhow::Result<Dataset> {
    let ds = dataset::open(&opts)?;
    for bad in &ds.discovery.unreadable {
        eprintln!(
            "fleet: warning: cannot read {}: {}",
            bad.path.display(),
            bad.reason
        );
    }
    Ok(ds)
}

/// How a job error ends the command: quietly for a closed pipe, 130 for Ctrl-C.
pub fn job_error(e: JobError, output: Option<&std::path::Path>) -> anyhow::Result<Outcome> {
    if fleet_engine::job::interrupt::interrupted() {
        // A write cut short by Ctrl-C (the reader never read) ends as the interrupt it is.
        eprintln!("fleet: interrupted; no output file was written");
        return Ok(Outcome::Interrupted);
    }
    match e {
        JobError::Output(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            let name = output.map_or("stdout".into(), |p| p.display().to_string());
            Err(anyhow::anyhow!("cannot write {name}: {err}"))
        }
        e if e.is_broken_pipe() => Ok(Outcome::Ok),
        JobError::Interrupted => {
            eprintln!("fleet: interrupted; no output file was written");
            Ok(Outcome::Interrupted)
        }
        e => Err(e.into()),
    }
}

/// Which pass scanned the chunks, when not all took the plain one: a user can then tell a
/// file's dialect (quoted, CRLF, or a rarity csv-core must parse) from a slow disk.
fn paths_summary(r: &ScanReport) {
    let p = &r.paths;
    if p.quoted == 0 && p.fallback() == 0 && p.plain_crlf == 0 {
        return;
    }
    // The plain chunks read in CRLF mode (a Windows file without quotes).
    let crlf = match p.plain_crlf {
        0 => String::new(),
        n => format!(" ({} CRLF)", human_count(n)),
    };
    // The quoted chunks a selective scan read with its needle search fused into the pass.
    let searched = match p.quoted_candidates {
        0 => String::new(),
        n => format!(" ({} with the needle search)", human_count(n)),
    };
    let mut line = format!(
        "fleet: chunks: {} plain pass{crlf}, {} quoted/CRLF pass{searched}, {} csv-core",
        human_count(p.plain),
        human_count(p.quoted),
        human_count(p.fallback())
    );
    if p.fallback() > 0 {
        let why: Vec<String> = [
            (
                p.stray_quote,
                "a quote inside an unquoted field or after a closing quote",
            ),
            (p.lone_cr, "a CR not followed by LF"),
            (p.open_quote, "a quoted field running past the chunk"),
            (p.delimiter, "a quote, CR or LF delimiter"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{what} ({})", human_count(*n)))
        .collect();
        line += &format!(
            "{}: {}",
            r.fallback_example
                .as_ref()
                .map_or(String::new(), |f| format!(" (first in {})", f.display())),
            why.join(", ")
        );
    }
    eprintln!("{line}");
}

fn summary(ds: &Dataset, r: &ScanReport) {
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
    if r.invalid > 0 {
        let name = ds
            .encoding
            .map_or("utf-8".to_string(), |e| e.name().to_ascii_lowercase());
        eprintln!(
            "fleet: {} invalid {name} byte sequence(s) replaced by U+FFFD",
            human_count(r.invalid)
        );
        for (path, line) in &r.invalid_examples {
            eprintln!("fleet: invalid {name} text at {}:{}", path.display(), line);
        }
    }
    paths_summary(r);
    if r.stall_reruns > 0 {
        eprintln!(
            "fleet: {} chunk(s) re-run after their worker made no progress and was stopped (--stall-timeout)",
            human_count(r.stall_reruns)
        );
    }
    if r.incomparable > 0 {
        eprintln!(
            "fleet: warning: {} record(s) have a value that is neither a number nor missing \
             where --where compares numbers; they never match",
            human_count(r.incomparable)
        );
        for (path, line) in &r.incomparable_examples {
            eprintln!(
                "fleet: not comparable with a number at {}:{}",
                path.display(),
                line
            );
        }
    }
    let s = &ds.discovery.skipped;
    if s.total() > 0 {
        eprintln!(
            "fleet: skipped {} hidden, {} not matching, {} binary, {} empty file(s)",
            s.hidden, s.not_matching, s.binary, s.empty
        );
    }
}
