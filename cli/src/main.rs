//! `fleet`: the command-line front of fleet-engine. One module per subcommand; this file only
//! dispatches and turns errors into one line on stderr and an exit code.

mod agg;
mod args;
mod bench;
mod chart;
#[cfg(feature = "cluster")]
mod cluster;
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
#[cfg(feature = "sql")]
mod sql;
#[cfg(feature = "columnar")]
mod stats;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  fleet gen data/gps --files 4 --rows 1000000                   make sample taxi GPS data
  fleet scan --where id=11865 data/gps                           every point of one taxi
  fleet agg --group-by id --agg count --agg 'mean(speed)' data/gps
  fleet copy data/gps /mnt/ssd/gps                               a parallel, safe folder copy

Each command's --help has its own examples. Quote --where expressions ('speed>100').
Exit status: 0 success (scan: something matched), 1 scan matched nothing, 2 error,
130 after Ctrl-C (143 after SIGTERM).";

#[derive(Parser)]
#[command(
    name = "fleet",
    version,
    about = "Data-parallel jobs over directories of large CSV files, at the speed of memory",
    after_help = EXAMPLES
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
    /// Run a SQL query over datasets (joins, window functions, ORDER BY, ...) through Apache
    /// DataFusion, with fleet's scan reading and filtering the files.
    #[cfg(feature = "sql")]
    Sql(sql::SqlArgs),
    /// Profile every column in one pass: type, counts, min/max/mean/stddev/sum, quantiles,
    /// distinct and top values, time range, and histograms.
    #[cfg(feature = "columnar")]
    Stats(stats::StatsArgs),
    /// Run a node of an Apache Ballista cluster (scheduler or executor) with fleet's codecs,
    /// for `fleet sql|agg|scan --cluster`.
    #[cfg(feature = "cluster")]
    Cluster(cluster::ClusterArgs),
}

/// How a command ended, beyond plain success. The exit codes follow grep and ripgrep: 0
/// success (for scan: something matched), 1 a scan that matched nothing, 2 an error (a
/// partial result included), 128 + N after signal N (130 for Ctrl-C, 143 for SIGTERM).
pub enum Outcome {
    Ok,
    /// A scan that matched no record (or `--count` that printed 0).
    NoMatch,
    /// The command did its work but some input could not be read (already reported).
    Partial,
    /// Ctrl-C or SIGTERM: workers stopped, unfinished output removed.
    Interrupted,
}

/// Exit code of a command that failed.
const EXIT_ERROR: u8 = 2;

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
    // After Ctrl-C the output is abandoned: a write blocked on a reader that never reads
    // must not keep fleet from stopping (see `interrupt`). Without /dev/null, Ctrl-C still
    // works wherever output is not blocked.
    let _ = fleet_engine::job::interrupt::release_stdout_on_signal();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Agg(args) => agg::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Copy(args) => copy::run(args),
        Command::Bench(args) => bench::run(args),
        #[cfg(feature = "columnar")]
        Command::Convert(args) => convert::run(args),
        #[cfg(feature = "sql")]
        Command::Sql(args) => sql::run(args),
        #[cfg(feature = "columnar")]
        Command::Stats(args) => stats::run(args),
        #[cfg(feature = "cluster")]
        Command::Cluster(args) => cluster::run(args),
    };
    let signalled = || fleet_engine::job::interrupt::exit_code().unwrap_or(130);
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::NoMatch) => ExitCode::from(1),
        Ok(Outcome::Partial) => ExitCode::from(EXIT_ERROR),
        Ok(Outcome::Interrupted) => ExitCode::from(signalled()),
        // After Ctrl-C, whatever failed on the way out (a write cut short) is the interrupt.
        Err(err) if err.is::<Interrupted>() || fleet_engine::job::interrupt::interrupted() => {
            eprintln!("fleet: {Interrupted}");
            ExitCode::from(signalled())
        }
        // A stalled worker ends here too: with `--engine threads`, and in `fleet copy`, the
        // stuck thread is still there, and returning from `main` ends the process without
        // waiting for it.
        Err(err) => {
            eprintln!("fleet: error: {}", one_line(&err));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error and its causes on one line.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    // A failure on a cluster node arrives wrapped in Ballista's and DataFusion's context:
    // the line the fleet node wrote is the one to show.
    #[cfg(feature = "cluster")]
    let text = fleet_cluster::client::one_line(&text);
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and subcommand says what it does, and every help ends with examples.
    #[test]
    fn every_flag_has_a_description_and_every_command_examples() {
        let cli = Cli::command();
        assert!(cli
            .get_after_help()
            .is_some_and(|h| h.to_string().contains("Examples:")));
        for sub in cli.get_subcommands() {
            let name = sub.get_name();
            assert!(sub.get_about().is_some(), "{name} has no description");
            assert!(
                sub.get_after_help()
                    .is_some_and(|h| h.to_string().contains("Examples:")),
                "{name} --help has no examples"
            );
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{name} --{id} has no description");
            }
        }
    }
}
