//! `fleet scan`: every record matching all `--where` tests, exact, in file order.

use crate::columnar::{require_output, ColumnarKind, ColumnarSink};
use crate::input::{job_error, InputArgs, SCAN_CHUNK};
use crate::sink::{ignore_broken_pipe, Sink};
use crate::table::TableSink;
use crate::Outcome;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use fleet_engine::input::charset::{decode_into, encode, Encoding};
use fleet_engine::query::expr::parse_column_list;
use fleet_engine::scan::format::{write_csv_field, write_json_string};
use fleet_engine::{run_scan, Dataset, Emit, JobError, ScanReport, ScanSpec};
use std::io::{self, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Records exactly as in the input (projected fields CSV-quoted as needed).
    #[default]
    Csv,
    /// One JSON object per record, field names as keys, values as strings.
    Jsonl,
    /// Columns aligned for reading, long fields cut; the header shown even for headerless
    /// data (names from fleet.toml or --columns, else positions).
    Table,
    /// Arrow IPC file with typed columns (needs -o).
    Arrow,
    /// Parquet file with typed columns, zstd-compressed (needs -o).
    Parquet,
}

impl Format {
    fn columnar(self) -> Option<ColumnarKind> {
        match self {
            Format::Arrow => Some(ColumnarKind::Arrow),
            Format::Parquet => Some(ColumnarKind::Parquet),
            Format::Csv | Format::Jsonl | Format::Table => None,
        }
    }
}

const SCAN_EXAMPLES: &str = "\
Examples:
  fleet scan --where id=11865 data/gps                      every point of taxi 11865
  fleet scan -w 'speed>100' -w occupied=1 --count data/gps  how many fast, occupied points
  fleet scan -w 'time~ 0[78]:' -s id,time,speed --format table --head 20 data/gps
  fleet scan -w payment_type=2 --format parquet -o cash.parquet data/trips
  fleet scan -w 'id in (11865, 20001) or id in @taxis.txt' data/gps  sets: a list, a file
  fleet scan -w 'not (occupied=1 and speed=0)' --count data/gps    and, or, not, ( )
  fleet scan -i -w 'city~^san ' -w 'name !~ test' data/places      -i: any case; !~: no match
  fleet scan -v -w 'speed>0' --count data/gps                      -v: the records not kept

Exit status: 0 when a record matched (or --count printed more than 0), 1 when none did,
2 on an error (a partial result, with an unreadable file, included), 130 after Ctrl-C.";

#[derive(Args)]
#[command(after_help = SCAN_EXAMPLES)]
pub struct ScanArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output only these columns, in this order (names or 1-based positions).
    #[arg(short = 's', long, value_name = "COLS")]
    select: Option<String>,
    /// Stop after N matching records (the first N in file order).
    #[arg(short = 'l', long, visible_alias = "head", value_name = "N")]
    limit: Option<u64>,
    /// Print only the number of matching records.
    #[arg(long)]
    count: bool,
    /// Write to FILE (atomically: it appears only when complete) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Column types for --format arrow|parquet, e.g. id:utf8,speed:float64 (int64, float64,
    /// timestamp, utf8, decimal = Decimal128(38,9)); other columns are inferred from every
    /// value written.
    #[arg(long, value_name = "COL:TYPE,...")]
    schema: Option<String>,
    /// Run on the Ballista cluster whose scheduler is at this address (`fleet cluster`):
    /// each executor scans a group of whole files, the output comes back in file order.
    /// The data must be at the same path on every node.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "df://HOST:PORT", conflicts_with = "limit")]
    cluster: Option<String>,
}

/// `fleet scan`'s arguments on their own: what an executor parses for its part.
#[cfg(feature = "cluster")]
#[derive(clap::Parser)]
struct ScanLine {
    #[command(flatten)]
    args: ScanArgs,
}

pub fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let columnar = args.format.columnar();
    if let Some(kind) = columnar {
        require_output(kind, args.output.as_deref())?;
        if args.count {
            bail!(
                "--count prints a number; it cannot be written as --format {}",
                kind.name()
            );
        }
    } else if args.schema.is_some() {
        bail!("--schema applies to --format arrow or parquet only");
    } else if args.format == Format::Table && args.output.is_some() {
        bail!("--format table is drawn for reading on stdout; with -o use csv or jsonl");
    }
    let ds = args.input.open(SCAN_CHUNK)?;
    let predicates = args.input.predicates(&ds)?;
    let selected = match &args.select {
        Some(text) => Some(
            ds.schema
                .resolve_all(&parse_column_list(text)?)
                .with_context(|| format!("--select '{text}'"))?,
        ),
        None => None,
    };
    let emit = emit(&args, &ds, selected.as_deref());
    let decode = args.input.output_decode(&ds)?;
    if args.format == Format::Jsonl
        && args.input.output_encoding == crate::input::OutputEncoding::Keep
        && ds.encoding.is_some()
    {
        anyhow::bail!("--output-encoding keep: JSON lines output is always UTF-8");
    }
    let opts = args.input.job_options(args.limit)?;
    let mut sink = match (columnar, &args.output) {
        (Some(kind), Some(path)) => {
            let names = match selected.as_deref() {
                Some(cols) => cols.iter().map(|&c| ds.schema.display_name(c)).collect(),
                None => (0..ds.schema.ncols())
                    .map(|c| ds.schema.display_name(c))
                    .collect(),
            };
            Sink::Columns(Box::new(ColumnarSink::open(
                kind,
                path,
                &ds,
                names,
                args.schema.as_deref(),
                false,
                &args.input,
            )?))
        }
        (None, None) if args.format == Format::Table && !args.count => {
            let names = match selected.as_deref() {
                Some(cols) => cols.iter().map(|&c| ds.schema.display_name(c)).collect(),
                None => (0..ds.schema.ncols())
                    .map(|c| ds.schema.display_name(c))
                    .collect(),
            };
            Sink::Table(TableSink::new(names))
        }
        _ => Sink::open(args.output.as_deref(), &ds)?,
    };
    let spec = ScanSpec {
        ncols: ds.schema.ncols(),
        predicates,
        emit,
        framed: args.limit.is_some() && !args.count,
        decode,
    };
    #[cfg(feature = "cluster")]
    if let Some(url) = args.cluster.as_deref() {
        sink.write_all(&header_line(&args, &ds, selected.as_deref(), decode))
            .or_else(ignore_broken_pipe)?;
        let job = crate::cluster::job("scan", &ds)?;
        let (report, parts) = crate::cluster::run_job(url, job, &ds)?;
        if !args.count {
            for part in &parts {
                sink.write_all(&part.bytes).or_else(ignore_broken_pipe)?;
            }
        }
        return finish_scan(&args, &ds, sink, report, started);
    }
    let result = args.input.with_progress(&ds, &opts, |on_progress| {
        if args.limit == Some(0) {
            return Ok(None);
        }
        sink.write_all(&header_line(&args, &ds, selected.as_deref(), decode))
            .map_err(JobError::Output)?;
        let plan = ds.plan.clone();
        if args.count {
            run_scan(plan, spec, &opts, &mut io::sink(), on_progress).map(Some)
        } else {
            run_scan(plan, spec, &opts, &mut sink, on_progress).map(Some)
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => return job_error(e, args.output.as_deref()),
    };
    let report = report.unwrap_or_else(|| ScanReport {
        files: ds.plan.files.len(),
        limited: true,
        ..Default::default()
    });
    finish_scan(&args, &ds, sink, report, started)
}

/// The count, the summary and the exit status, once the records are out.
fn finish_scan(
    args: &ScanArgs,
    ds: &Dataset,
    mut sink: Sink,
    mut report: ScanReport,
    started: std::time::Instant,
) -> anyhow::Result<Outcome> {
    // The summary's time is the whole command's: discovery and planning included.
    report.elapsed = started.elapsed();
    args.input.check_strict(&report)?;
    if args.count {
        writeln!(sink, "{}", report.matches).or_else(ignore_broken_pipe)?;
    }
    sink.finish()?;
    Ok(match args.input.finish(ds, &report) {
        Outcome::Ok if report.matches == 0 => Outcome::NoMatch,
        outcome => outcome,
    })
}

fn emit(args: &ScanArgs, ds: &Dataset, selected: Option<&[usize]>) -> Emit {
    match (args.count, args.format, selected) {
        (true, _, _) => Emit::Nothing,
        (false, Format::Csv, None) => Emit::Raw,
        // Column files are made from normalised CSV: comma-separated, every field re-quoted
        // as the `csv` crate reads it back, whatever each input file's delimiter.
        (false, Format::Arrow | Format::Parquet | Format::Table, cols) => Emit::Csv {
            columns: cols.map_or_else(|| (0..ds.schema.ncols()).collect(), <[usize]>::to_vec),
            delimiter: b',',
        },
        (false, Format::Csv, Some(cols)) => Emit::Csv {
            columns: cols.to_vec(),
            delimiter: ds.delimiter,
        },
        (false, Format::Jsonl, cols) => {
            let columns = cols.map_or_else(|| (0..ds.schema.ncols()).collect(), <[usize]>::to_vec);
            let keys = columns
                .iter()
                .map(|&c| {
                    let mut key = Vec::new();
                    write_json_string(&mut key, ds.schema.display_name(c).as_bytes());
                    String::from_utf8_lossy(&key).into_owned()
                })
                .collect();
            Emit::Jsonl { columns, keys }
        }
    }
}

/// The header to print first: the input's own, or the projected names (CSV with a header only).
/// Decoded to UTF-8 when records are (`decode`); names kept in the input's encoding otherwise.
fn header_line(
    args: &ScanArgs,
    ds: &Dataset,
    selected: Option<&[usize]>,
    decode: Option<&'static Encoding>,
) -> Vec<u8> {
    let mut line = Vec::new();
    if !ds.has_header || args.count || args.format != Format::Csv {
        return line;
    }
    // The names as written: in the input's encoding unless output is decoded (or the
    // scanned bytes are UTF-8 already).
    let keep_names = ds.scanned_encoding().filter(|_| decode.is_none());
    match (selected, &ds.header_raw) {
        (None, Some(raw)) => match decode {
            Some(encoding) => {
                decode_into(encoding, raw, &mut line);
            }
            None => line.extend_from_slice(raw),
        },
        (Some(cols), _) => {
            for (i, &c) in cols.iter().enumerate() {
                if i > 0 {
                    line.push(ds.delimiter);
                }
                let name = ds.schema.display_name(c);
                let name = keep_names
                    .and_then(|e| encode(e, &name))
                    .unwrap_or_else(|| name.as_bytes().to_vec());
                write_csv_field(&mut line, &name, ds.delimiter, cols.len() == 1);
            }
            line.push(b'\n');
        }
        (None, None) => {}
    }
    line
}

/// On an executor: part `part` of a `scan --cluster` job, the records as a local run of the
/// part's files writes them.
#[cfg(feature = "cluster")]
pub fn run_part(
    job: &fleet_cluster::VerbJob,
    part: usize,
) -> anyhow::Result<fleet_cluster::PartOutput> {
    let mut args = crate::cluster::parse_part_line::<ScanLine>(job)?.args;
    let ds = crate::cluster::open_part(&mut args.input, job, part, SCAN_CHUNK)?;
    let predicates = args.input.predicates(&ds)?;
    let selected = match &args.select {
        Some(text) => Some(ds.schema.resolve_all(&parse_column_list(text)?)?),
        None => None,
    };
    let spec = ScanSpec {
        ncols: ds.schema.ncols(),
        predicates,
        emit: emit(&args, &ds, selected.as_deref()),
        framed: false,
        decode: args.input.output_decode(&ds)?,
    };
    let opts = crate::cluster::part_options(&args.input, None)?;
    let mut out = Vec::new();
    let report = run_scan(ds.plan.clone(), spec, &opts, &mut out, &mut |_| {})?;
    Ok(fleet_cluster::PartOutput {
        bytes: crate::cluster::encode_part(&report, &out)?,
        states: vec![],
    })
}
