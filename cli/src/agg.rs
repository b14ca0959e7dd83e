//! `fleet agg`: counts, sums, means, min/max, stddev, distinct counts, exact and approximate
//! quantiles, first/last values over the same inputs as `scan`, grouped by columns, parts or
//! fixed windows of a timestamp column, or numeric bins, in one pass.

use crate::args::{human_bytes, human_count};
use crate::columnar::{require_output, ColumnarKind, ColumnarSink};
use crate::input::{job_error, InputArgs, AGG_CHUNK};
use crate::sink::{ignore_broken_pipe, Sink};
use crate::Outcome;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use fleet_engine::agg::task::{run_agg_within, AggTask};
use fleet_engine::agg::{
    default_memory_limit, parse_sort, parse_top_by, write_csv, write_jsonl, write_table, AggPlan,
    MemoryUse, TimeFormat,
};
use fleet_engine::input::charset::decode_into;
use fleet_engine::query::expr::ColumnRef;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AggFormat {
    Csv,
    Jsonl,
    /// Columns aligned for reading (the default when stdout is a terminal).
    Table,
    /// Arrow IPC file with typed columns (needs -o).
    Arrow,
    /// Parquet file with typed columns, zstd-compressed (needs -o).
    Parquet,
}

impl AggFormat {
    fn columnar(self) -> Option<ColumnarKind> {
        match self {
            AggFormat::Arrow => Some(ColumnarKind::Arrow),
            AggFormat::Parquet => Some(ColumnarKind::Parquet),
            AggFormat::Csv | AggFormat::Jsonl | AggFormat::Table => None,
        }
    }
}

const AGG_EXAMPLES: &str = "\
Examples:
  fleet agg --group-by id --agg count --agg 'mean(speed)' data/gps     points and mean speed per taxi
  fleet agg --group-by 'hour(time)' --agg count --sort -count data/gps busiest hours of the day
  fleet agg -w 'speed>100' --agg count --agg 'distinct(id)' data/gps   fast points, taxis involved
  fleet agg -w 'id in @taxis.txt' -w 'not (occupied=1 and speed=0)' --group-by id --agg count data/gps
                                                       points of listed taxis, stopped fares left out
  fleet agg -w 'id=11865 or id=20001' --group-by 'date(time),id' --agg 'max(speed)' data/gps
  fleet agg --group-by payment_type --agg 'sum(total_amount)' --format jsonl data/trips
  fleet agg --group-by 'bucket(time,15m)' --agg count --agg 'median(speed)' data/gps
                                                       points and median speed per 15 minutes
  fleet agg --group-by 'id,date(time)' --agg 'first(time)' --agg 'last(time)' data/gps
                                                       each taxi's first and last point per day
  fleet agg --group-by 'bin(speed,10)' --agg count --agg 'quantile(lat,0.95)' data/gps
                                                       speed histogram in 10 km/h bins
  fleet agg --group-by 'date(time),id' --agg count --sort -count --top 3 --top-by 'date(time)' data/gps
                                                       the 3 busiest taxis of each day
  fleet agg --time-format ts=epoch_ms --group-by 'hour(ts)' --agg count data/events
                                                       a column of epoch milliseconds (UTC)
  fleet agg --group-by 'hour(time)' --agg count --chart data/gps       points per hour as bars

Exit status: 0 on success, 2 on an error (a partial result included), 130 after Ctrl-C.";

#[derive(Args)]
#[command(after_help = AGG_EXAMPLES)]
pub struct AggArgs {
    #[command(flatten)]
    input: InputArgs,
    /// count, count(COL), sum(COL), mean(COL), min(COL), max(COL), stddev(COL),
    /// distinct(COL), median(COL), quantile(COL, Q) (exact, Q from 0 to 1, linear
    /// interpolation as DuckDB's quantile_cont; median is Q = 0.5), approx_quantile(COL, Q)
    /// (DDSketch: within 1% of the value, for columns with too many distinct values to count),
    /// first(COL), last(COL) (in file order); repeatable (default: count). Missing values (see
    /// --null) are skipped.
    #[arg(long = "agg", value_name = "SPEC")]
    aggs: Vec<String>,
    /// Group keys, comma-separated: columns; of a timestamp column hour(COL) (the hour of
    /// day, 00-23, across all days), day(COL) or date(COL) (YYYY-MM-DD), weekday(COL),
    /// month(COL), bucket(COL, 15m) (the start of fixed windows of N s/m/h/d, aligned as
    /// DuckDB's time_bucket); bin(COL, 10) (lower edge of numeric bins: 0, 10, 20, ...).
    #[arg(long, value_name = "KEYS")]
    group_by: Option<String>,
    /// Order rows by group keys or aggregates as written, comma-separated, - for descending,
    /// e.g. -count,id (default: by keys).
    #[arg(long, value_name = "KEY,...", allow_hyphen_values = true)]
    sort: Option<String>,
    /// Keep only the first N rows (per value of --top-by if given).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// With --top N: keep the first N rows for each value of this group key, rows grouped by
    /// it, e.g. --group-by 'date(time),id' --sort -count --top 3 --top-by 'date(time)'.
    #[arg(long, value_name = "KEY", requires = "top")]
    top_by: Option<String>,
    /// How a timestamp column is written for the time keys: COL=epoch_s (integer seconds
    /// since 1970-01-01 UTC), COL=epoch_ms (milliseconds) or COL=text (the default); also
    /// [time_format] in fleet.toml. Repeatable. All times are read as UTC.
    #[arg(long = "time-format", value_name = "COL=FORMAT")]
    time_formats: Vec<String>,
    /// Memory for the table of groups, with a KiB/MiB/GiB suffix: past it, groups are
    /// spilled to temporary files in 64 hash partitions and merged part by part at the end
    /// (same output) [default: half of physical memory].
    #[arg(long, value_name = "SIZE", value_parser = crate::args::parse_size)]
    memory: Option<u64>,
    /// Write to FILE (atomically: it appears only when complete) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format (default: table on a terminal, csv otherwise).
    #[arg(long, value_enum)]
    format: Option<AggFormat>,
    /// Column types for --format arrow|parquet, e.g. count:float64 (int64, float64,
    /// timestamp, utf8, decimal = Decimal128(38,9)); other columns are inferred from every
    /// value written.
    #[arg(long, value_name = "COL:TYPE,...")]
    schema: Option<String>,
    /// Draw the first aggregate by group as a horizontal bar chart (after --sort and --top)
    /// instead of printing the rows.
    #[arg(long, conflicts_with_all = ["format", "output"])]
    chart: bool,
    /// Width of the --chart in characters (default: the terminal's, else COLUMNS, else 80).
    #[arg(long, value_name = "N", requires = "chart")]
    width: Option<usize>,
    /// Run on the Ballista cluster whose scheduler is at this address (`fleet cluster`):
    /// each executor aggregates a group of whole files, the client merges the partial
    /// tables exactly as a local run does. The data must be at the same path on every node.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
}

/// `fleet agg`'s arguments on their own: what an executor parses for its part.
#[cfg(feature = "cluster")]
#[derive(clap::Parser)]
struct AggLine {
    #[command(flatten)]
    args: AggArgs,
}

/// A column as written on the command line: digits are a 1-based position, else a name.
fn column_ref(text: &str) -> ColumnRef {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => ColumnRef::Index(n),
        _ => ColumnRef::Name(text.to_string()),
    }
}

pub fn run(args: AggArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let columnar = args.format.and_then(AggFormat::columnar);
    if let Some(kind) = columnar {
        require_output(kind, args.output.as_deref())?;
    } else if args.schema.is_some() {
        bail!("--schema applies to --format arrow or parquet only");
    }
    let ds = args.input.open(AGG_CHUNK)?;
    let (plan, predicates) = agg_plan(&args, &ds)?;
    let sort = match &args.sort {
        Some(text) => Some(parse_sort(text, &plan).with_context(|| format!("--sort '{text}'"))?),
        None => None,
    };
    let top_by = match &args.top_by {
        Some(text) => Some(parse_top_by(text, &plan)?),
        None => None,
    };
    let opts = args.input.job_options(None)?;
    let decode = args.input.output_decode(&ds)?;
    let sink = match (columnar, &args.output) {
        (Some(kind), Some(path)) => {
            let names = plan
                .keys
                .iter()
                .map(|k| k.text.clone())
                .chain(plan.specs.iter().map(|s| s.text.clone()))
                .collect();
            // The CSV text below starts with its header line.
            Sink::Columns(Box::new(ColumnarSink::open(
                kind,
                path,
                &ds,
                names,
                args.schema.as_deref(),
                true,
                &args.input,
            )?))
        }
        _ => Sink::open(args.output.as_deref(), &ds)?,
    };
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            AggFormat::Table
        } else {
            AggFormat::Csv
        },
    );
    let memory = args.memory.unwrap_or_else(default_memory_limit);
    let task = AggTask::new(ds.schema.ncols(), predicates, plan.clone(), &ds.plan)
        .within_memory(memory, opts.workers);
    #[cfg(feature = "cluster")]
    let on_cluster = args.cluster.as_deref();
    #[cfg(not(feature = "cluster"))]
    let on_cluster: Option<&str> = None;
    let result = match on_cluster {
        Some(url) => cluster_agg(url, &ds, &plan, memory),
        None => {
            let chunks = match args.input.chunk_size {
                Some(_) => ds.plan.clone(),
                None => task.chunks_for(&ds.plan, opts.workers, memory),
            };
            args.input
                .with_progress(&ds, &opts, |on_progress| {
                    run_agg_within(chunks, task, &opts, memory, on_progress)
                })
                .map_err(anyhow::Error::from)
        }
    };
    let mut result = match result {
        Ok(r) => r,
        Err(e) => match e.downcast::<fleet_engine::JobError>() {
            Ok(e) => return job_error(e, args.output.as_deref()),
            Err(e) => return Err(e),
        },
    };
    result.report.elapsed = started.elapsed();
    args.input.check_strict(&result.report)?;
    let finished = result.finish(&plan, sort.as_ref(), args.top, top_by)?;
    let mut rows = finished.rows;
    if let Some(encoding) = decode {
        // Keys and min/max texts are the input's bytes: decoded only for printing, so groups
        // and their order are those of the raw bytes.
        for row in &mut rows {
            for text in row.keys.iter_mut().chain(row.values.iter_mut()) {
                if !text.is_ascii() {
                    let mut decoded = Vec::new();
                    decode_into(encoding, text, &mut decoded);
                    *text = decoded;
                }
            }
        }
    }
    let mut text = Vec::new();
    if args.chart {
        text = crate::chart::agg_chart(&rows, &plan, crate::chart::chart_width(args.width))
            .into_bytes();
    } else {
        match format {
            AggFormat::Csv | AggFormat::Arrow | AggFormat::Parquet => {
                write_csv(&rows, &plan, &mut text)
            }
            AggFormat::Jsonl => write_jsonl(&rows, &plan, &mut text),
            AggFormat::Table => write_table(&rows, &plan, &mut text),
        }
    }
    let mut sink = sink;
    sink.write_all(&text)
        .or_else(ignore_broken_pipe)
        .with_context(|| match &args.output {
            Some(path) => format!("cannot write {}", path.display()),
            None => "cannot write stdout".to_string(),
        })?;
    sink.finish()?;
    if !args.input.quiet {
        for (what, n) in result
            .table
            .malformed_values()
            .into_iter()
            .chain(result.table.malformed_keys())
        {
            if n > 0 {
                eprintln!(
                    "fleet: warning: {n} value(s) for {what} were not usable and were skipped"
                );
            }
        }
        for what in &finished.markers_read_as_text {
            eprintln!(
                "fleet: note: {what} read NA, NULL, null, NaN, N/A and \\N as values, not as \
                 missing: its column also holds other text (say what is missing with --null)"
            );
        }
    }
    let outcome = args.input.finish(&ds, &result.report);
    if !args.input.quiet && !plan.keys.is_empty() {
        eprintln!("{}", memory_line(finished.groups, &finished.usage));
    }
    Ok(outcome)
}

/// The summary's line about the group table: how many groups, the most memory the table
/// took against `--memory`, and what was spilled.
fn memory_line(groups: u64, usage: &MemoryUse) -> String {
    let mut line = format!(
        "fleet: {} groups, group table peak {} of --memory {}",
        human_count(groups),
        human_bytes(usage.peak),
        human_bytes(usage.limit)
    );
    if usage.spills > 0 {
        line.push_str(&format!(
            "; spilled {} time(s), {} to temporary files, merged in {} parts",
            usage.spills,
            human_bytes(usage.spilled_bytes),
            fleet_engine::agg::PARTITIONS
        ));
    }
    line
}

/// The aggregation `args` ask for over `ds`, and the `--where` conditions.
fn agg_plan(
    args: &AggArgs,
    ds: &fleet_engine::Dataset,
) -> anyhow::Result<(AggPlan, Vec<fleet_engine::query::condition::Condition>)> {
    let predicates = args.input.predicates(ds)?;
    let specs: Vec<&str> = if args.aggs.is_empty() {
        vec!["count"]
    } else {
        args.aggs.iter().map(String::as_str).collect()
    };
    let mut times = Vec::new();
    let given = ds
        .time_formats
        .iter()
        .map(|(c, f)| (c.as_str(), f.as_str(), "fleet.toml"))
        .chain(args.time_formats.iter().map(|t| match t.split_once('=') {
            Some((c, f)) => (c.trim(), f.trim(), "--time-format"),
            None => ("", t.as_str(), "--time-format"),
        }));
    for (column, format, from) in given {
        if column.is_empty() {
            bail!("invalid {from} '{format}': expected COL=FORMAT, e.g. time=epoch_s");
        }
        let col = ds
            .schema
            .resolve(&column_ref(column))
            .with_context(|| format!("invalid {from} column '{column}'"))?;
        let Some(f) = TimeFormat::parse(format) else {
            bail!(
                "invalid {from} '{column}={format}': the format must be text, epoch_s or epoch_ms"
            );
        };
        times.push((col, f));
    }
    let plan = AggPlan::parse(args.group_by.as_deref(), &specs, &ds.schema)?
        .with_nulls(ds.scanned_nulls())
        .with_time_formats(times);
    Ok((plan, predicates))
}

/// `--cluster`: the job on the cluster; the parts' tables merged in file order, as the
/// local run merges its chunks' (first/last values depend on that order).
#[cfg(feature = "cluster")]
fn cluster_agg(
    url: &str,
    ds: &fleet_engine::Dataset,
    plan: &AggPlan,
    memory: u64,
) -> anyhow::Result<fleet_engine::agg::task::AggResult> {
    use fleet_engine::agg::{AggTable, GroupStore};
    let mut job = crate::cluster::job("agg", ds)?;
    // The parts' partial states come back as these typed Arrow columns.
    job.states = fleet_cluster::encode_schema(&AggTable::state_schema(plan))
        .map_err(|e| anyhow::anyhow!("the aggregate states' schema: {e}"))?;
    let (report, parts) = crate::cluster::run_job(url, job, ds)?;
    // The same store a local run merges its chunks into: past `--memory` it spills.
    let mut store = GroupStore::new(plan, memory);
    for batch in parts.iter().flat_map(|p| &p.states) {
        let mut table = AggTable::new(plan);
        table
            .merge_state_batch(batch)
            .context("the cluster returned malformed aggregate states")?;
        store.merge(table)?;
    }
    Ok(fleet_engine::agg::task::AggResult::from_store(
        store, report,
    ))
}

#[cfg(not(feature = "cluster"))]
fn cluster_agg(
    _url: &str,
    _ds: &fleet_engine::Dataset,
    _plan: &AggPlan,
    _memory: u64,
) -> anyhow::Result<fleet_engine::agg::task::AggResult> {
    bail!("this fleet was built without the cluster feature")
}

/// On an executor: part `part` of an `agg --cluster` job: its report, and its `AggTable` as
/// Arrow batches of typed state columns.
#[cfg(feature = "cluster")]
pub fn run_part(
    job: &fleet_cluster::VerbJob,
    part: usize,
) -> anyhow::Result<fleet_cluster::PartOutput> {
    let mut args = crate::cluster::parse_part_line::<AggLine>(job)?.args;
    let ds = crate::cluster::open_part(&mut args.input, job, part, AGG_CHUNK)?;
    let (plan, predicates) = agg_plan(&args, &ds)?;
    let opts = crate::cluster::part_options(&args.input, None)?;
    let task = AggTask::new(ds.schema.ncols(), predicates, plan, &ds.plan);
    // No --memory on an executor: its part is one file group's table, sent whole. Its
    // chunks are cut as a local run's (fewer, larger ones for hashed groups).
    let chunks = match args.input.chunk_size {
        Some(_) => ds.plan.clone(),
        None => task.chunks_for(&ds.plan, opts.workers, default_memory_limit()),
    };
    let result = fleet_engine::agg::task::run_agg(chunks, task, &opts, &mut |_| {})?;
    Ok(fleet_cluster::PartOutput {
        bytes: crate::cluster::encode_part(&result.report, &[])?,
        states: result
            .table
            .to_state_batches(fleet_engine::agg::STATE_BATCH_BYTES)?,
    })
}
