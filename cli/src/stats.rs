//! `fleet stats`: a profile of every column (or `--select`ed ones) in one parallel pass over
//! the same inputs as `scan` and `agg`, `--where` included: type, counts, numbers' extremes,
//! exact sum, mean, stddev and quantiles, timestamps' range and records per day, text lengths
//! and top values, distinct counts, and a histogram drawn as a sparkline. The figures are
//! computed in `fleet_engine::stats`; this module only prints them.

use crate::chart::sparkline;
use crate::input::{job_error, InputArgs, AGG_CHUNK};
use crate::sink::{ignore_broken_pipe, Sink};
use crate::Outcome;
use anyhow::Context;
use clap::{Args, ValueEnum};
use fleet_engine::query::expr::parse_column_list;
use fleet_engine::scan::format::{write_csv_field, write_json_string};
use fleet_engine::stats::task::{run_stats, StatsTask};
use fleet_engine::stats::ColumnSummary;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use unicode_width::UnicodeWidthStr;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// One column per data column, one row per figure, histograms as sparklines (the default
    /// on a terminal).
    Table,
    /// One record per data column.
    Csv,
    /// One JSON object per data column.
    Jsonl,
}

const STATS_EXAMPLES: &str = "\
Examples:
  fleet stats data/gps                                  profile every column
  fleet stats --select speed,time -w 'occupied=1' data/gps
  fleet stats --format jsonl data/gps > profile.jsonl

Quantiles and distinct counts are exact up to 10,000 distinct values per column; beyond,
they come from sketches and are marked with ~ (and *_approx in csv/jsonl).
Exit status: 0 on success, 2 on an error (a partial result included), 130 after Ctrl-C.";

#[derive(Args)]
#[command(after_help = STATS_EXAMPLES)]
pub struct StatsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Profile only these columns, in this order (names or 1-based positions).
    #[arg(short = 's', long, value_name = "COLS")]
    select: Option<String>,
    /// Write to FILE (atomically: it appears only when complete) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format (default: table on a terminal, csv otherwise).
    #[arg(long, value_enum)]
    format: Option<StatsFormat>,
}

pub fn run(args: StatsArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let ds = args.input.open(AGG_CHUNK)?;
    let predicates = args.input.predicates(&ds)?;
    let columns = match &args.select {
        Some(text) => ds
            .schema
            .resolve_all(&parse_column_list(text)?)
            .with_context(|| format!("--select '{text}'"))?,
        None => (0..ds.schema.ncols()).collect(),
    };
    let names: Vec<String> = columns.iter().map(|&c| ds.schema.display_name(c)).collect();
    let opts = args.input.job_options(None)?;
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            StatsFormat::Table
        } else {
            StatsFormat::Csv
        },
    );
    let sink = Sink::open(args.output.as_deref(), &ds)?;
    let task = StatsTask::new(ds.schema.ncols(), predicates, columns, ds.scanned_nulls());
    let result = args.input.with_progress(&ds, &opts, |on_progress| {
        run_stats(ds.plan.clone(), task, &opts, on_progress)
    });
    let mut result = match result {
        Ok(r) => r,
        Err(e) => return job_error(e, args.output.as_deref()),
    };
    result.report.elapsed = started.elapsed();
    args.input.check_strict(&result.report)?;
    let decode = args.input.output_decode(&ds)?;
    let summaries: Vec<ColumnSummary> = names
        .into_iter()
        .zip(&result.profiles)
        .map(|(name, p)| ColumnSummary::new(name, p))
        .map(|mut s| {
            if let Some(encoding) = decode {
                // Values are the input's bytes, decoded only for printing.
                for (text, _) in &mut s.top {
                    let mut bytes = Vec::new();
                    fleet_engine::input::charset::decode_into(
                        encoding,
                        &text.clone().into_bytes(),
                        &mut bytes,
                    );
                    *text = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
            s
        })
        .collect();
    let mut text = Vec::new();
    match format {
        StatsFormat::Table => write_table(
            &summaries,
            result.report.matches,
            result.report.malformed,
            &mut text,
        ),
        StatsFormat::Csv => write_csv(&summaries, &mut text),
        StatsFormat::Jsonl => write_jsonl(&summaries, &mut text),
    }
    let mut sink = sink;
    sink.write_all(&text)
        .or_else(ignore_broken_pipe)
        .with_context(|| match &args.output {
            Some(path) => format!("cannot write {}", path.display()),
            None => "cannot write stdout".to_string(),
        })?;
    sink.finish()?;
    Ok(args.input.finish(&ds, &result.report))
}

/// The figures of one column by name, as printed (`~` before an approximate one); `None`
/// where it does not apply.
fn figures(s: &ColumnSummary) -> Vec<(&'static str, Option<String>)> {
    let approx = |v: &str, a: bool| if a { format!("~{v}") } else { v.to_string() };
    let q = |i: usize| {
        s.quantiles
            .as_ref()
            .map(|q| approx(&q[i], s.quantiles_approx))
    };
    let mut rows = vec![
        ("type", Some(s.column_type.to_string())),
        ("count", Some(s.count.to_string())),
        ("missing", Some(s.missing.to_string())),
        (
            "distinct",
            Some(approx(&s.distinct.to_string(), s.distinct_approx)),
        ),
        ("min", s.min.clone()),
        ("max", s.max.clone()),
        ("mean", s.mean.clone()),
        ("stddev", s.stddev.clone()),
        ("sum", s.sum.clone()),
        ("p1", q(0)),
        ("p25", q(1)),
        ("median", q(2)),
        ("p75", q(3)),
        ("p99", q(4)),
        ("first", s.first.clone()),
        ("last", s.last.clone()),
        ("per_day", s.per_day.clone()),
        ("min_len", s.min_len.map(|v| v.to_string())),
        ("max_len", s.max_len.map(|v| v.to_string())),
    ];
    for (i, name) in ["top1", "top2", "top3", "top4", "top5"].iter().enumerate() {
        rows.push((name, s.top.get(i).map(|(v, n)| format!("{v} ({n})"))));
    }
    rows
}

/// The widest a cell is drawn; longer texts are cut with an ellipsis.
const MAX_CELL: usize = 32;

/// Figures as rows and data columns as columns (as `describe` prints them), rows that no
/// column has left out, histograms last as sparklines.
fn write_table(summaries: &[ColumnSummary], records: u64, malformed: u64, out: &mut Vec<u8>) {
    let columns: Vec<Vec<(&'static str, Option<String>)>> = summaries.iter().map(figures).collect();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let nrows = columns.first().map_or(0, Vec::len);
    for r in 0..nrows {
        if columns.iter().all(|c| c[r].1.is_none()) {
            continue;
        }
        let cells = columns
            .iter()
            .map(|c| cut(c[r].1.clone().unwrap_or_default()))
            .collect();
        rows.push((columns[0][r].0.to_string(), cells));
    }
    if summaries.iter().any(|s| !s.histogram.is_empty()) {
        rows.push((
            "histogram".into(),
            summaries.iter().map(|s| sparkline(&s.histogram)).collect(),
        ));
    }
    let label_w = rows.iter().map(|r| r.0.width()).max().unwrap_or(0);
    let widths: Vec<usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            rows.iter()
                .map(|r| r.1[i].width())
                .chain([s.name.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = writeln!(
        out,
        "{records} records{}",
        if malformed > 0 {
            format!(", {malformed} malformed (not profiled)")
        } else {
            String::new()
        }
    );
    let mut line = format!("{:label_w$}", "");
    for (s, w) in summaries.iter().zip(&widths) {
        line.push_str("  ");
        line.push_str(&format!("{:>w$}", s.name, w = w));
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for (label, cells) in &rows {
        let mut line = format!("{label:label_w$}");
        for (cell, w) in cells.iter().zip(&widths) {
            line.push_str("  ");
            // Right-aligned, by display width.
            line.push_str(&" ".repeat(w - cell.width()));
            line.push_str(cell);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn cut(text: String) -> String {
    if text.width() <= MAX_CELL {
        return text;
    }
    let mut s = String::new();
    for c in text.chars() {
        if s.width() + 1 >= MAX_CELL {
            break;
        }
        s.push(c);
    }
    s.push('…');
    s
}

const CSV_HEADER: [&str; 24] = [
    "column",
    "type",
    "count",
    "missing",
    "distinct",
    "distinct_approx",
    "min",
    "max",
    "mean",
    "stddev",
    "sum",
    "p1",
    "p25",
    "median",
    "p75",
    "p99",
    "quantiles_approx",
    "first",
    "last",
    "per_day",
    "min_len",
    "max_len",
    "top",
    "histogram",
];

/// The values of one column in [`CSV_HEADER`] order, without the `~` marks.
fn plain_values(s: &ColumnSummary) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let q = |i: usize| s.quantiles.as_ref().map_or(String::new(), |q| q[i].clone());
    let top: Vec<String> = s.top.iter().map(|(v, n)| format!("{v}={n}")).collect();
    let hist: Vec<String> = s.histogram.iter().map(u64::to_string).collect();
    vec![
        s.name.clone(),
        s.column_type.to_string(),
        s.count.to_string(),
        s.missing.to_string(),
        s.distinct.to_string(),
        s.distinct_approx.to_string(),
        o(&s.min),
        o(&s.max),
        o(&s.mean),
        o(&s.stddev),
        o(&s.sum),
        q(0),
        q(1),
        q(2),
        q(3),
        q(4),
        s.quantiles_approx.to_string(),
        o(&s.first),
        o(&s.last),
        o(&s.per_day),
        s.min_len.map_or(String::new(), |v| v.to_string()),
        s.max_len.map_or(String::new(), |v| v.to_string()),
        top.join(";"),
        hist.join(" "),
    ]
}

fn write_csv(summaries: &[ColumnSummary], out: &mut Vec<u8>) {
    let row = |out: &mut Vec<u8>, values: &[String]| {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_csv_field(out, v.as_bytes(), b',', values.len() == 1);
        }
        out.push(b'\n');
    };
    let header: Vec<String> = CSV_HEADER.iter().map(|h| h.to_string()).collect();
    row(out, &header);
    for s in summaries {
        row(out, &plain_values(s));
    }
}

fn write_jsonl(summaries: &[ColumnSummary], out: &mut Vec<u8>) {
    for s in summaries {
        let values = plain_values(s);
        out.push(b'{');
        for (i, (name, v)) in CSV_HEADER.iter().zip(&values).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(out, name.as_bytes());
            out.push(b':');
            match *name {
                "top" => {
                    out.push(b'[');
                    for (j, (text, n)) in s.top.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        out.push(b'[');
                        write_json_string(out, text.as_bytes());
                        let _ = write!(out, ",{n}]");
                    }
                    out.push(b']');
                }
                "histogram" => {
                    let _ = write!(out, "[{}]", v.replace(' ', ","));
                }
                "count" | "missing" | "distinct" | "min_len" | "max_len" | "distinct_approx"
                | "quantiles_approx"
                    if !v.is_empty() =>
                {
                    out.extend_from_slice(v.as_bytes());
                }
                _ if v.is_empty() => out.extend_from_slice(b"null"),
                _ => write_json_string(out, v.as_bytes()),
            }
        }
        out.extend_from_slice(b"}\n");
    }
}
