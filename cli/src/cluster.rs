//! `fleet cluster scheduler|executor` (feature `cluster`): Ballista's processes with fleet's
//! codecs (crate fleet-cluster), and what `fleet agg --cluster` / `fleet scan --cluster`
//! share: the job a verb sends, the part an executor runs, the part reports put back
//! together on the client.
//!
//! A part is the verb itself, run on an executor over a group of whole files: the executor
//! parses the same arguments, opens the same dataset (the data must be at the same path on
//! every node), checks that it sees the files the client planned, keeps only its group's
//! chunks and runs fleet's thread engine. It hands back a small JSON report (what the
//! summary and the exit code need) and the verb's bytes.

use crate::input::InputArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use fleet_cluster::node::{self, ExecutorOptions, SchedulerOptions};
use fleet_cluster::{FileStamp, PartOutput, PartRunner, VerbJob};
use fleet_engine::job::MALFORMED_EXAMPLES;
use fleet_engine::{Dataset, EngineKind, JobOptions, ScanReport};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

const CLUSTER_EXAMPLES: &str = "\
Examples:
  fleet cluster scheduler --bind 0.0.0.0:50050
  fleet cluster executor --scheduler 10.0.0.1:50050 --bind 10.0.0.2:50051 --slots 8
  fleet agg --cluster df://10.0.0.1:50050 --group-by id --agg count /nfs/gps
  fleet sql --cluster df://10.0.0.1:50050 'SELECT id, count(*) FROM gps GROUP BY id' -t /nfs/gps

Every node runs the same fleet build (the stock Ballista binaries cannot decode fleet's
plans) and sees the data at the same path. See docs/cluster.md.";

#[derive(Args)]
#[command(after_help = CLUSTER_EXAMPLES)]
pub struct ClusterArgs {
    #[command(subcommand)]
    node: Node,
}

#[derive(Subcommand)]
enum Node {
    /// Run a Ballista scheduler with fleet's codecs until stopped.
    Scheduler {
        /// Address to listen on (port 0: one the system picks, printed on stderr).
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:50050")]
        bind: SocketAddr,
        /// The host executors reach this scheduler at (they report task status to it);
        /// default: the --bind host, or localhost when that is 0.0.0.0 (give this machine's
        /// address when executors run on other machines).
        #[arg(long, value_name = "HOST")]
        advertise: Option<String>,
        /// Seconds without a heartbeat after which an executor is counted lost and its
        /// tasks run elsewhere.
        #[arg(long, value_name = "SECS", default_value_t = node::EXECUTOR_TIMEOUT_SECS)]
        executor_timeout: u64,
    },
    /// Run a Ballista executor with fleet's codecs and verbs until stopped.
    Executor {
        /// The scheduler's address.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// This machine's address as the others reach it: Arrow Flight on PORT, Ballista's
        /// gRPC on PORT+1.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
        bind: SocketAddr,
        /// Tasks run at once (default: the number of CPUs). Each task runs one thread.
        #[arg(long, value_name = "N")]
        slots: Option<usize>,
        /// Directory for shuffle files (default: a temporary directory).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Seconds between heartbeats to the scheduler.
        #[arg(long, value_name = "SECS", default_value_t = node::HEARTBEAT_SECS)]
        heartbeat: u64,
        /// This node sees the client's path FROM at TO (shared storage mounted elsewhere),
        /// for `agg` and `scan --cluster`; repeatable, the longest FROM that applies wins.
        #[arg(long = "path-map", value_name = "FROM=TO", value_parser = parse_path_map)]
        path_map: Vec<(PathBuf, PathBuf)>,
    },
}

pub fn run(args: ClusterArgs) -> anyhow::Result<crate::Outcome> {
    match args.node {
        Node::Scheduler {
            bind,
            advertise,
            executor_timeout,
        } => {
            if executor_timeout == 0 {
                bail!("--executor-timeout must be at least 1");
            }
            node::run_scheduler(&SchedulerOptions {
                bind,
                advertise,
                executor_timeout_secs: executor_timeout,
            })?
        }
        Node::Executor {
            scheduler,
            bind,
            slots,
            work_dir,
            heartbeat,
            mut path_map,
        } => {
            path_map.sort_by_key(|(from, _)| std::cmp::Reverse(from.as_os_str().len()));
            let _ = PATH_MAP.set(path_map);
            if slots == Some(0) {
                bail!("--slots must be at least 1");
            }
            let scheduler = fleet_cluster::client::scheduler_addr(&scheduler)?;
            if let Some(dir) = &work_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("--work-dir {}", dir.display()))?;
            }
            let slots = slots
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            node::run_executor(
                &ExecutorOptions {
                    scheduler,
                    bind,
                    slots,
                    work_dir: work_dir.map(|d| d.display().to_string()),
                    heartbeat_secs: heartbeat,
                },
                Arc::new(Verbs),
            )?
        }
    }
    Ok(crate::Outcome::Ok)
}

fn parse_path_map(text: &str) -> Result<(PathBuf, PathBuf), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((PathBuf::from(from), PathBuf::from(to)))
        }
        _ => Err(format!(
            "'{text}': expected FROM=TO, e.g. /data=/mnt/nfs/data"
        )),
    }
}

/// The executor's `--path-map`, longest FROM first.
static PATH_MAP: std::sync::OnceLock<Vec<(PathBuf, PathBuf)>> = std::sync::OnceLock::new();

/// A client's path as this node sees it.
fn local_path(p: &std::path::Path) -> PathBuf {
    for (from, to) in PATH_MAP.get().map_or(&[][..], Vec::as_slice) {
        if let Ok(rest) = p.strip_prefix(from) {
            return to.join(rest);
        }
    }
    p.to_path_buf()
}

/// The verbs an executor runs.
#[derive(Debug)]
struct Verbs;

impl PartRunner for Verbs {
    fn run(&self, job: &VerbJob, part: usize) -> Result<PartOutput, String> {
        eprintln!(
            "fleet cluster executor: running {} part {} of {}",
            job.verb,
            part + 1,
            job.groups.len()
        );
        let result = match job.verb.as_str() {
            "agg" => crate::agg::run_part(job, part),
            "scan" => crate::scan::run_part(job, part),
            other => Err(anyhow::anyhow!("unknown verb '{other}'")),
        };
        match result {
            Ok(output) => {
                let states: usize = output
                    .states
                    .iter()
                    .map(|b| b.get_array_memory_size())
                    .sum();
                eprintln!(
                    "fleet cluster executor: ran {} part {} of {} ({} bytes)",
                    job.verb,
                    part + 1,
                    job.groups.len(),
                    output.bytes.len() + states
                );
                Ok(output)
            }
            Err(e) => {
                let line = format!("on {}: {}", node::role(), crate::one_line(&e));
                eprintln!("fleet cluster executor: {line}");
                Err(line)
            }
        }
    }
}

/// The arguments after `fleet VERB`, without `--cluster URL`: what executors parse again.
pub fn verb_argv(verb: &str) -> Vec<String> {
    let mut args = std::env::args().skip_while(|a| a != verb).skip(1);
    let mut out = Vec::new();
    while let Some(a) = args.next() {
        if a == "--cluster" {
            args.next();
        } else if !a.starts_with("--cluster=") {
            out.push(a);
        }
    }
    out
}

/// Executors have one part of the plan each; a cluster has no single place for a limit.
pub fn job(verb: &str, ds: &Dataset) -> anyhow::Result<VerbJob> {
    if ds.plan.has_stdin() {
        bail!("--cluster reads files at the same path on every node, not standard input");
    }
    let cwd = std::env::current_dir().context("the current directory")?;
    // Executors resolve the arguments' paths against `cwd`: so do their stamps.
    let files: Vec<FileStamp> = ds
        .plan
        .files
        .iter()
        .map(|f| FileStamp {
            path: cwd.join(&f.path),
            size: f.size,
        })
        .collect();
    let sizes: Vec<u64> = files.iter().map(|f| f.size).collect();
    Ok(VerbJob {
        verb: verb.to_string(),
        argv: verb_argv(verb),
        cwd,
        groups: VerbJob::group_files(&sizes, sizes.len().min(256)),
        files,
        states: Vec::new(),
    })
}

/// The command line of `job` (its verb's arguments as the client gave them), parsed as
/// `fleet VERB` would; a bad line is its first line of clap's message.
pub fn parse_part_line<L: clap::Parser>(job: &VerbJob) -> anyhow::Result<L> {
    L::try_parse_from(
        std::iter::once(format!("fleet {}", job.verb)).chain(job.argv.iter().cloned()),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.to_string().lines().next().unwrap_or("bad arguments")
        )
    })
}

/// On an executor: the dataset as the client's arguments open it, checked against the
/// client's plan and cut down to the part's files.
pub fn open_part(
    input: &mut InputArgs,
    job: &VerbJob,
    part: usize,
    default_chunk: u64,
) -> anyhow::Result<Dataset> {
    for path in &mut input.paths {
        *path = local_path(&job.cwd.join(&*path));
    }
    let mut ds = input.open(default_chunk)?;
    let here: Vec<FileStamp> = ds
        .plan
        .files
        .iter()
        .map(|f| FileStamp {
            path: f.path.clone(),
            size: f.size,
        })
        .collect();
    if here.len() != job.files.len() {
        bail!(
            "the data differs from the client's: {} file(s) here, {} on the client",
            here.len(),
            job.files.len()
        );
    }
    for (h, c) in here.iter().zip(&job.files) {
        if h.path != local_path(&c.path) || h.size != c.size {
            bail!(
                "the data differs from the client's: {} ({} bytes) here, {} ({} bytes) on the client",
                h.path.display(),
                h.size,
                c.path.display(),
                c.size
            );
        }
    }
    let &(start, end) = job
        .groups
        .get(part)
        .with_context(|| format!("no part {part}"))?;
    ds.plan.chunks.retain(|c| (start..end).contains(&c.file));
    Ok(ds)
}

/// A part's job options: the thread engine (an executor runs tokio; it must not fork), one
/// thread (a task is a slot), no Ctrl-C handler (the executor has its own).
pub fn part_options(input: &InputArgs, limit: Option<u64>) -> anyhow::Result<JobOptions> {
    Ok(JobOptions {
        engine: EngineKind::Threads,
        workers: 1,
        ..input.job_options_without_interrupt(limit)?
    })
}

/// The figures of a part's scan the client's summary and exit code need.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PartReport {
    bytes: u64,
    records: u64,
    matches: u64,
    malformed: u64,
    malformed_examples: Vec<(PathBuf, u64)>,
    invalid: u64,
    invalid_examples: Vec<(PathBuf, u64)>,
    incomparable: u64,
    incomparable_examples: Vec<(PathBuf, u64)>,
    failed_files: Vec<(PathBuf, String)>,
    boundary_reruns: u64,
}

/// A part's result: the report's JSON length (8 bytes, little-endian), the JSON, the data.
pub fn encode_part(report: &ScanReport, data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let json = serde_json::to_vec(&PartReport {
        bytes: report.bytes,
        records: report.records,
        matches: report.matches,
        malformed: report.malformed,
        malformed_examples: report.malformed_examples.clone(),
        invalid: report.invalid,
        invalid_examples: report.invalid_examples.clone(),
        incomparable: report.incomparable,
        incomparable_examples: report.incomparable_examples.clone(),
        failed_files: report.failed_files.clone(),
        boundary_reruns: report.boundary_reruns,
    })?;
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(data);
    Ok(out)
}

/// Runs `job` on the cluster at `url`: the parts' data (their bytes after the report) and
/// states in file order, and one report of all.
pub fn run_job(
    url: &str,
    job: VerbJob,
    ds: &Dataset,
) -> anyhow::Result<(ScanReport, Vec<PartOutput>)> {
    let addr = fleet_cluster::client::scheduler_addr(url)?;
    let parts = fleet_cluster::client::run_verb(&addr, job)?;
    let mut report = ScanReport {
        files: ds.plan.files.len(),
        ..ScanReport::default()
    };
    let mut datas = Vec::with_capacity(parts.len());
    for PartOutput { bytes, states } in parts {
        let bad = || anyhow::anyhow!("the cluster returned a malformed part");
        let len = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(bad)? as usize;
        let json = bytes.get(8..8 + len).ok_or_else(bad)?;
        let part: PartReport = serde_json::from_slice(json).map_err(|_| bad())?;
        report.bytes += part.bytes;
        report.records += part.records;
        report.matches += part.matches;
        report.malformed += part.malformed;
        report.malformed_examples.extend(part.malformed_examples);
        report.invalid += part.invalid;
        report.invalid_examples.extend(part.invalid_examples);
        report.incomparable += part.incomparable;
        report
            .incomparable_examples
            .extend(part.incomparable_examples);
        report.failed_files.extend(part.failed_files);
        report.boundary_reruns += part.boundary_reruns;
        datas.push(PartOutput {
            bytes: bytes[8 + len..].to_vec(),
            states,
        });
    }
    report.malformed_examples.truncate(MALFORMED_EXAMPLES);
    report.invalid_examples.truncate(MALFORMED_EXAMPLES);
    report.incomparable_examples.truncate(MALFORMED_EXAMPLES);
    Ok((report, datas))
}
