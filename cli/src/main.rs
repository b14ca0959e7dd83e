//! `fleet`: the command-line front of fleet-engine. One module per subcommand; this file only
//! dispatches and turns errors into one line on stderr and an exit code.

mod agg;
mod args;
mod bench;
mod columnar;
#[cfg(feature = "columnar")]
mod convert;
mod copy;
mod gen;
mod input;
mod output;
mod progress;
mod scan;
mod sink;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fleet",
    version,
    about = "Data-parallel jobs over directories of large CSV files, at the speed of memory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every record that matches all --where tests, exactly, in file order.
    Scan(scan::ScanArgs),
    /// Count, sum, mean, min/max, stddev, distinct, grouped by columns or time buckets.
    Agg(agg::AggArgs),
    /// Write deterministic synthetic data (taxi GPS points or NYC-style trips).
    Gen(gen::GenArgs),
    /// Copy a directory tree in parallel, faithfully (modes, times, symlinks, hard links) and
    /// safely (no partial file ever under its real name).
    Copy(copy::CopyArgs),
    /// Time scan, agg and copy workloads on generated (or your) data, per engine and worker
    /// count, with results checked across runs.
    Bench(bench::BenchArgs),
    /// Convert CSV files to Parquet or Arrow files with typed columns, one output per input,
    /// in parallel.
    #[cfg(feature = "columnar")]
    Convert(convert::ConvertArgs),
}

/// How a command ended, beyond plain success.
pub enum Outcome {
    Ok,
    /// The command did its work but some input could not be read (already reported).
    Partial,
    /// Ctrl-C: workers stopped, unfinished output removed.
    Interrupted,
}

/// Ctrl-C after the job, while its output was being finished: exit 130, no output file.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; no output file was written")
    }
}

impl std::error::Error for Interrupted {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Agg(args) => agg::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Copy(args) => copy::run(args),
        Command::Bench(args) => bench::run(args),
        #[cfg(feature = "columnar")]
        Command::Convert(args) => convert::run(args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Err(err) if err.is::<Interrupted>() => {
            eprintln!("fleet: {err}");
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("fleet: error: {}", one_line(&err));
            ExitCode::from(if stalled(&err) { 2 } else { 1 })
        }
    }
}

/// A worker made no progress and the command gave up on it (exit status 2, so scripts can
/// tell a hang from bad input). With `--engine threads`, and in `fleet copy`, the stuck
/// thread is still there: returning from `main` ends the process without waiting for it.
fn stalled(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<fleet_engine::JobError>(),
        Some(fleet_engine::JobError::Stalled { .. })
    ) || matches!(
        err.downcast_ref::<fleet_copy::CopyError>(),
        Some(fleet_copy::CopyError::Stalled { .. })
    )
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text.replace('\n', " ")
}
