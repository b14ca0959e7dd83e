//! `fleet bench`: fleet's standard throughput benchmark, on the user's own machine.
//!
//! Every measured run is a child process of this very binary (`current_exe`), so a timing is
//! what a user's `fleet scan ...` takes, process start and all. Before the runs the data is
//! generated (once: it is cached) and put in the page cache; every run's result is checked
//! against the first run of the same workload (any engine, any worker count) and the
//! benchmark fails if one differs. The timing, memory sampling and checking are
//! `fleet_benches`; this module owns the workloads, the cached data and the report.

use crate::args::{human_bytes, human_count, parse_size};
use crate::gen::DialectArg;
use crate::input::Engine;
use crate::Outcome;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use fleet_benches::bars::{Bar, BarChart, BarGroup};
use fleet_benches::measure::tree_digest;
use fleet_benches::stats::Summary;
use fleet_benches::warm::{warm, Warmed};
use fleet_benches::{measure, Consistency, Invocation, Produces};
use fleet_engine::input::dataset::{self, DatasetOptions};
use fleet_fixtures::{GenOptions, Kind};
use serde_json::json;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

/// Average bytes per generated gps record (measured on `fleet gen` output: 55.5).
const GPS_BYTES_PER_RECORD: f64 = 55.5;
/// The seed of benchmark data: fixed, so every machine benchmarks the same bytes.
const SEED: u64 = 1;
/// The id list of the `count-ids` workload, in the scratch folder.
const IDS_FILE: &str = "ids.txt";
/// How many ids it holds (fewer when the data has fewer).
const IDS: usize = 1000;
/// Written last into a generated folder; its absence means the folder is incomplete.
const MARKER: &str = ".bench-complete";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// scan --where id=11865 -o FILE (selective: one taxi).
    ScanId,
    /// scan --count --where 'speed>100' (a numeric test on every record).
    CountSpeed,
    /// scan --count --where 'id in @ids.txt' with 1,000 ids taken from the data (a set probe
    /// on every record).
    CountIds,
    /// scan --select id,time,speed --where 'speed>60' -o FILE (projection).
    SelectSpeed,
    /// agg --group-by id --agg count --agg 'mean(speed)' -o FILE.
    AggId,
    /// agg --group-by 'hour(time)' --agg count -o FILE.
    AggHour,
    /// agg --group-by 'bucket(time,15m)' --agg count --agg 'median(speed)' -o FILE (time
    /// windows and an exact quantile: the hashed path).
    AggBucket,
    /// agg --group-by lat --agg count -o FILE (hundreds of thousands of decimal-text keys: the
    /// hashed path at high cardinality).
    AggLat,
    /// agg --group-by 'id,hour(time)' --agg count --agg 'mean(speed)' -o FILE (a pair of
    /// small keys, hundreds of thousands of groups).
    AggIdHour,
    /// copy DIR to a temporary folder on the same filesystem.
    Copy,
}

const ALL_WORKLOADS: [Workload; 10] = [
    Workload::ScanId,
    Workload::CountSpeed,
    Workload::CountIds,
    Workload::SelectSpeed,
    Workload::AggId,
    Workload::AggHour,
    Workload::AggBucket,
    Workload::AggLat,
    Workload::AggIdHour,
    Workload::Copy,
];

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::ScanId => "scan-id",
            Workload::CountSpeed => "count-speed",
            Workload::CountIds => "count-ids",
            Workload::SelectSpeed => "select-speed",
            Workload::AggId => "agg-id",
            Workload::AggHour => "agg-hour",
            Workload::AggBucket => "agg-bucket",
            Workload::AggLat => "agg-lat",
            Workload::AggIdHour => "agg-id-hour",
            Workload::Copy => "copy",
        }
    }

    /// The arguments after `fleet`, and where the result appears.
    fn command(self, data: &Path, scratch: &Path) -> (Vec<OsString>, Produces) {
        let out = scratch.join("out.csv");
        let words = |w: &[&str]| w.iter().map(OsString::from).collect::<Vec<_>>();
        let (sub, rest, produces): (&str, Vec<OsString>, Produces) = match self {
            Workload::ScanId => (
                "scan",
                [
                    words(&["--where", "id=11865", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::CountSpeed => (
                "scan",
                words(&["--count", "--where", "speed>100"]),
                Produces::Stdout,
            ),
            Workload::CountIds => (
                "scan",
                vec![
                    "--count".into(),
                    "--where".into(),
                    format!("id in @{}", scratch.join(IDS_FILE).display()).into(),
                ],
                Produces::Stdout,
            ),
            Workload::SelectSpeed => (
                "scan",
                [
                    words(&["--select", "id,time,speed", "--where", "speed>60", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::AggId => (
                "agg",
                [
                    words(&["--group-by", "id", "--agg", "count", "--agg", "mean(speed)"]),
                    words(&["-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::AggHour => (
                "agg",
                [
                    words(&["--group-by", "hour(time)", "--agg", "count", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::AggBucket => (
                "agg",
                [
                    words(&["--group-by", "bucket(time,15m)", "--agg", "count"]),
                    words(&["--agg", "median(speed)", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::AggLat => (
                "agg",
                [
                    words(&["--group-by", "lat", "--agg", "count", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::AggIdHour => (
                "agg",
                [
                    words(&["--group-by", "id,hour(time)", "--agg", "count"]),
                    words(&["--agg", "mean(speed)", "-o"]),
                    vec![out.clone().into()],
                ]
                .concat(),
                Produces::File(out),
            ),
            Workload::Copy => {
                let dest = scratch.join("copy");
                return (
                    vec!["copy".into(), data.into(), dest.clone().into(), "-q".into()],
                    Produces::Tree(dest),
                );
            }
        };
        let mut args = vec![OsString::from(sub), data.into()];
        args.extend(rest);
        args.push("-q".into());
        (args, produces)
    }
}

const BENCH_EXAMPLES: &str = "\
Examples:
  fleet bench                                     2 GiB of generated data, 1 and all cores, both engines
  fleet bench --size 256MiB --runs 3 --workers 1,2,4 --engines processes
  fleet bench --data DATA_DIR --workloads scan-id,agg-id --json > results.json
  fleet bench --size 256MiB --report bench-report     also bench-report/report.svg and .json
  fleet bench --size 512MiB --dialect crlf            the same records with CRLF line ends";

#[derive(Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Benchmark this gps-shaped data (columns id,time,...,speed) instead of generated data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// How much gps data to generate (cached in $XDG_CACHE_HOME/fleet, reused when present).
    #[arg(long, value_parser = parse_size, default_value = "2GiB", conflicts_with = "data")]
    size: u64,
    /// The dialect the generated data is written in (the same records: quoted files are
    /// about a quarter bigger); see `fleet gen --dialect`.
    #[arg(long, value_enum, default_value = "plain", conflicts_with = "data")]
    dialect: DialectArg,
    /// Worker counts to compare, comma-separated [default: 1 and the number of cores].
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    workers: Vec<usize>,
    /// Engines to compare (copy has only threads and runs once per worker count).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "processes,threads"
    )]
    engines: Vec<Engine>,
    /// Timed runs of each workload per engine and worker count.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these workloads [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// Print results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write DIR/report.json (as --json prints) and DIR/report.svg, a bar chart of GB/s
    /// per workload with engines and worker counts side by side and the speed-up over one
    /// worker above each bar.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// The data under test.
struct BenchData {
    dir: PathBuf,
    files: Vec<PathBuf>,
    bytes: u64,
    records: u64,
    generated: bool,
}

/// The runs of one workload × engine × worker count.
struct Cell {
    workload: Workload,
    engine: &'static str,
    workers: usize,
    command: String,
    seconds: Vec<f64>,
    peaks: Vec<u64>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<Outcome> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.workers.contains(&0) {
        bail!("--workers must be at least 1");
    }
    let mut workers = args.workers.clone();
    if workers.is_empty() {
        workers = vec![
            1,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ];
    }
    workers.sort_unstable();
    workers.dedup();
    let mut engines: Vec<&'static str> = args
        .engines
        .iter()
        .map(|e| match e {
            Engine::Processes => "processes",
            Engine::Threads => "threads",
        })
        .collect();
    engines.dedup();
    let workloads: Vec<Workload> = if args.workloads.is_empty() {
        ALL_WORKLOADS.to_vec()
    } else {
        ALL_WORKLOADS
            .into_iter()
            .filter(|w| args.workloads.contains(w))
            .collect()
    };
    let fleet = std::env::current_exe().context("cannot find the fleet binary itself")?;
    // Ctrl-C reaches the measured child too (same process group) and it stops cleanly; this
    // process then notices the flag and returns, so the scratch folder (maybe a copy of
    // the whole data) is removed instead of left behind.
    let interrupted = fleet_engine::job::interrupt::install();
    let stop = || interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let say = |text: String| {
        if !args.quiet {
            eprintln!("fleet bench: {text}");
        }
    };

    let mut data = match &args.data {
        Some(dir) => existing_data(dir)?,
        None => generated_data(args.size, args.dialect, &say)?,
    };
    let scratch = scratch_dir(&data.dir)?;
    let mut warmed = warm(&data.files).context("cannot read the data to warm the page cache")?;
    say(format!(
        "data {}: {} files, {}; {}",
        data.dir.display(),
        data.files.len(),
        human_bytes(data.bytes),
        warm_note(&warmed)
    ));
    if !data.generated {
        data.records = count_records(&fleet, &data.dir)?;
    }
    say(format!("{} records", human_count(data.records)));

    let mut consistency = Consistency::default();
    if workloads.contains(&Workload::Copy) {
        consistency.expect(
            Workload::Copy.name(),
            "the source folder",
            tree_digest(&data.dir)?,
        );
    }
    if workloads.contains(&Workload::CountIds) {
        write_ids(&data.files, &scratch.path().join(IDS_FILE))?;
    }
    let mut cells = Vec::new();
    for &workload in &workloads {
        if warmed.locked.is_err() {
            // Not pinned: re-read, in case the previous workload's output evicted inputs.
            warmed = warm(&data.files)?;
        }
        let workload_engines: &[&'static str] = if workload == Workload::Copy {
            &["threads"]
        } else {
            &engines
        };
        for &engine in workload_engines {
            for &n in &workers {
                let (mut cmd, produces) = workload.command(&data.dir, scratch.path());
                if workload != Workload::Copy {
                    cmd.extend(["--engine".into(), engine.into()]);
                }
                cmd.extend(["--workers".into(), n.to_string().into()]);
                let inv = Invocation {
                    one_is_no_match: cmd.first().is_some_and(|c| c == "scan"),
                    program: fleet.clone(),
                    args: cmd,
                    produces,
                };
                let mut cell = Cell {
                    workload,
                    engine,
                    workers: n,
                    command: inv.display(),
                    seconds: Vec::new(),
                    peaks: Vec::new(),
                };
                for run in 1..=args.runs {
                    let measured = measure(&inv);
                    if stop() {
                        eprintln!("fleet bench: interrupted; no results");
                        return Ok(Outcome::Interrupted);
                    }
                    let m = measured?;
                    let label = format!("{engine} with {n} worker(s), run {run}");
                    consistency.check(workload.name(), &label, m.digest)?;
                    cell.seconds.push(m.wall.as_secs_f64());
                    cell.peaks.push(m.peak_private);
                }
                let median = Summary::of(&cell.seconds).map_or(0.0, |s| s.median);
                say(format!(
                    "{} {engine} x{n}: median {median:.3} s of {} run(s)",
                    workload.name(),
                    args.runs
                ));
                cells.push(cell);
            }
        }
    }
    let page_cache = warm_note(&warmed);
    drop(warmed);
    if let Some(dir) = &args.report {
        let json = json_report(&data, &cells, args.runs, &fleet, &page_cache)?;
        write_report(dir, &json, &report_chart(&data, &cells))?;
        say(format!(
            "report written to {} (report.svg, report.json)",
            dir.display()
        ));
    }
    if args.json {
        println!(
            "{}",
            json_report(&data, &cells, args.runs, &fleet, &page_cache)?
        );
    } else {
        print!("{}", table(&data, &cells));
    }
    Ok(Outcome::Ok)
}

/// The cache folder of generated data: `$XDG_CACHE_HOME/fleet`, else `~/.cache/fleet`.
fn cache_root() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => bail!("neither XDG_CACHE_HOME nor HOME is set: use --data DIR"),
        },
    };
    Ok(base.join("fleet"))
}

/// `2GiB`, `2MiB`, `1536KiB` or a byte count: the exact size, for a folder name.
fn size_label(bytes: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    format!("{bytes}B")
}

/// How a size of gps data is laid out: a few files (one per day), each big enough to be cut
/// into many chunks; 2 GiB makes 8 files of 256 MiB.
fn layout(size: u64) -> (usize, u64) {
    let files = (size / (256 * MIB)).clamp(4, 64) as usize;
    let records = (size as f64 / GPS_BYTES_PER_RECORD).ceil() as u64;
    (files, records.div_ceil(files as u64).max(1))
}

fn marker_text(files: usize, rows: u64, bytes: u64) -> String {
    format!("files={files}\nrows={rows}\nbytes={bytes}\nseed={SEED}\n")
}

/// Generates (or reuses) `size` of gps data (as plain records: other dialects write the same
/// records in more bytes) in the cache folder.
fn generated_data(
    size: u64,
    dialect: DialectArg,
    say: &impl Fn(String),
) -> anyhow::Result<BenchData> {
    let name = match dialect.name() {
        "plain" => format!("bench-gps-{}", size_label(size)),
        other => format!("bench-gps-{}-{other}", size_label(size)),
    };
    let dir = cache_root()?.join(name);
    let (files, rows) = layout(size);
    let names: Vec<PathBuf> = (0..files)
        .map(|k| dir.join(fleet_fixtures::file_name(Kind::Gps, k)))
        .collect();
    if let Some(bytes) = complete_cache(&dir, files, rows, &names) {
        say(format!("reusing generated data in {}", dir.display()));
        return Ok(BenchData {
            dir,
            files: names,
            bytes,
            records: rows * files as u64,
            generated: true,
        });
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot clear incomplete {}", dir.display()))?;
    }
    say(format!(
        "generating {} of gps data into {} (once; it is reused)",
        human_bytes(size),
        dir.display()
    ));
    let report = fleet_fixtures::generate(
        &dir,
        &GenOptions {
            kind: Kind::Gps,
            files,
            rows,
            seed: SEED,
            plates: None,
            dialect: dialect.dialect(),
        },
    )
    .with_context(|| format!("cannot write to {}", dir.display()))?;
    let marker = dir.join(MARKER);
    let part = dir.join(format!("{MARKER}.part"));
    fs::write(&part, marker_text(files, rows, report.bytes))
        .and_then(|_| fs::rename(&part, &marker))
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(BenchData {
        dir,
        files: report.files,
        bytes: report.bytes,
        records: report.rows,
        generated: true,
    })
}

/// The byte count of a complete cached folder: its marker matches this layout and the files
/// add up to the bytes it records.
fn complete_cache(dir: &Path, files: usize, rows: u64, names: &[PathBuf]) -> Option<u64> {
    let text = fs::read_to_string(dir.join(MARKER)).ok()?;
    let bytes: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("bytes="))?
        .parse()
        .ok()?;
    if text != marker_text(files, rows, bytes) {
        return None;
    }
    let mut total = 0;
    for name in names {
        total += fs::metadata(name).ok()?.len();
    }
    (total == bytes).then_some(bytes)
}

/// The user's data: the files fleet itself would scan.
fn existing_data(dir: &Path) -> anyhow::Result<BenchData> {
    if !dir.is_dir() {
        bail!("--data {}: not a directory", dir.display());
    }
    let ds = dataset::open(&DatasetOptions {
        paths: vec![dir.to_path_buf()],
        chunk_size: 8 * MIB,
        ..DatasetOptions::default()
    })
    .with_context(|| format!("--data {}", dir.display()))?;
    if let Some(bad) = ds.discovery.unreadable.first() {
        bail!("--data: cannot read {}: {}", bad.path.display(), bad.reason);
    }
    Ok(BenchData {
        dir: dir.to_path_buf(),
        files: ds.plan.files.iter().map(|f| f.path.clone()).collect(),
        bytes: ds.plan.files.iter().map(|f| f.size).sum(),
        records: 0,
        generated: false,
    })
}

/// The records of the user's data, as `fleet scan --count` (no filter) sees them.
fn count_records(fleet: &Path, dir: &Path) -> anyhow::Result<u64> {
    let counted = measure(&Invocation {
        program: fleet.to_path_buf(),
        args: vec!["scan".into(), dir.into(), "--count".into(), "-q".into()],
        produces: Produces::Stdout,
        one_is_no_match: true,
    })?;
    let text = String::from_utf8_lossy(&counted.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("fleet scan --count printed '{}'", text.trim()))
}

/// A hidden folder for outputs and copies beside the data (same filesystem, so a copy is a
/// copy and not a cross-device move of bytes), or in the cache folder if that is read-only.
/// Writes up to [`IDS`] distinct first fields of the data's records to `path`, one per
/// line, taken every few records from the start of each file in turn, so the set holds ids
/// that occur in the data.
fn write_ids(files: &[PathBuf], path: &Path) -> anyhow::Result<()> {
    use std::io::BufRead;
    let mut ids = std::collections::BTreeSet::new();
    for file in files {
        let reader = std::io::BufReader::new(
            fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        );
        for line in reader.split(b'\n').step_by(7).take(200_000) {
            let line = line.with_context(|| format!("cannot read {}", file.display()))?;
            let id = line.split(|&b| b == b',').next().unwrap_or_default();
            // Quoted dialects write `"12345"`.
            let id = id
                .strip_prefix(b"\"")
                .and_then(|i| i.strip_suffix(b"\""))
                .unwrap_or(id);
            if !id.is_empty() && id.iter().all(u8::is_ascii_digit) {
                ids.insert(id.to_vec());
            }
            if ids.len() >= IDS {
                break;
            }
        }
        if ids.len() >= IDS {
            break;
        }
    }
    if ids.is_empty() {
        bail!("no numeric ids found in the first column of the data for count-ids");
    }
    let text: Vec<u8> = ids
        .iter()
        .flat_map(|id| [&id[..], b"\n"].concat())
        .collect();
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn scratch_dir(data: &Path) -> anyhow::Result<tempfile::TempDir> {
    let beside = data
        .canonicalize()
        .ok()
        .and_then(|d| d.parent().map(Path::to_path_buf));
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix(".fleet-bench-");
        b
    };
    if let Some(Ok(dir)) = beside.map(|p| builder().tempdir_in(p)) {
        return Ok(dir);
    }
    let root = cache_root()?;
    fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    builder()
        .tempdir_in(&root)
        .with_context(|| format!("cannot create a scratch folder in {}", root.display()))
}

fn warm_note(w: &Warmed) -> String {
    match &w.locked {
        Ok(()) => "read once into the page cache and locked there (mlock)".to_string(),
        Err(why) => format!("read once into the page cache, re-read before each workload; {why}"),
    }
}

/// What the table and the JSON show of a cell.
struct Figures {
    summary: Summary,
    gb_per_s: f64,
    records_per_s: f64,
    speedup: Option<f64>,
    peak: u64,
}

fn figures(data: &BenchData, cells: &[Cell], cell: &Cell) -> Figures {
    let median_of = |c: &Cell| Summary::of(&c.seconds).map_or(f64::NAN, |s| s.median);
    let summary = Summary::of(&cell.seconds).unwrap_or(Summary {
        min: f64::NAN,
        median: f64::NAN,
        p90: f64::NAN,
        max: f64::NAN,
    });
    let one = cells
        .iter()
        .find(|c| c.workload == cell.workload && c.engine == cell.engine && c.workers == 1);
    let secs = summary.median.max(1e-9);
    Figures {
        summary,
        gb_per_s: data.bytes as f64 / secs / 1e9,
        records_per_s: data.records as f64 / secs,
        speedup: one.map(|c| median_of(c) / secs),
        peak: cell.peaks.iter().copied().max().unwrap_or(0),
    }
}

fn table(data: &BenchData, cells: &[Cell]) -> String {
    let mut out = format!(
        "\nfleet bench: {} ({} files, {}, {} records)\n\n",
        data.dir.display(),
        data.files.len(),
        human_bytes(data.bytes),
        human_count(data.records)
    );
    out.push_str("| workload | engine | workers | median s | GB/s | Mrecords/s | speed-up | peak private MiB |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for cell in cells {
        let f = figures(data, cells, cell);
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.2} | {:.1} | {} | {:.1} |\n",
            cell.workload.name(),
            cell.engine,
            cell.workers,
            f.summary.median,
            f.gb_per_s,
            f.records_per_s / 1e6,
            f.speedup.map_or("-".to_string(), |s| format!("{s:.2}x")),
            f.peak as f64 / MIB as f64
        ));
    }
    out.push_str(
        "\nWall time of the whole command (process start included), median of the runs; \
         peak private memory is RssAnon of coordinator + workers plus the shared region once, \
         not the page cache of the mapped inputs.\n",
    );
    out
}

/// The bar chart of `--report`: one group per workload, one bar per engine and worker count
/// (GB/s), labelled with its GB/s and its speed-up over one worker of the same engine.
fn report_chart(data: &BenchData, cells: &[Cell]) -> BarChart {
    let mut groups: Vec<BarGroup> = Vec::new();
    for cell in cells {
        let f = figures(data, cells, cell);
        let label = match f.speedup {
            Some(s) if cell.workers > 1 => format!("{:.2} ({s:.1}x)", f.gb_per_s),
            _ => format!("{:.2}", f.gb_per_s),
        };
        let bar = Bar {
            series: format!("{} x{}", cell.engine, cell.workers),
            value: f.gb_per_s,
            label,
        };
        let name = cell.workload.name();
        match groups.iter_mut().find(|g| g.name == name) {
            Some(g) => g.bars.push(bar),
            None => groups.push(BarGroup {
                name: name.to_string(),
                bars: vec![bar],
            }),
        }
    }
    BarChart {
        title: format!(
            "fleet bench: GB/s on {} (speed-up over 1 worker in brackets)",
            human_bytes(data.bytes)
        ),
        y_label: "GB/s".into(),
        log_scale: false,
        groups,
    }
}

/// Writes DIR/report.json and DIR/report.svg, creating DIR.
fn write_report(dir: &Path, json: &str, chart: &BarChart) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("report.json");
    fs::write(&path, format!("{json}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    chart.write_svg(&dir.join("report.svg"))?;
    Ok(())
}

fn json_report(
    data: &BenchData,
    cells: &[Cell],
    runs: usize,
    fleet: &Path,
    page_cache: &str,
) -> anyhow::Result<String> {
    let results: Vec<serde_json::Value> = cells
        .iter()
        .map(|cell| {
            let f = figures(data, cells, cell);
            json!({
                "workload": cell.workload.name(),
                "engine": cell.engine,
                "workers": cell.workers,
                "command": cell.command,
                "seconds": cell.seconds,
                "min_s": f.summary.min,
                "median_s": f.summary.median,
                "p90_s": f.summary.p90,
                "max_s": f.summary.max,
                "gb_per_s": f.gb_per_s,
                "records_per_s": f.records_per_s,
                "speedup_over_1_worker": f.speedup,
                "peak_private_bytes": f.peak,
                "peak_private_bytes_per_run": cell.peaks,
            })
        })
        .collect();
    let report = json!({
        "fleet": fleet.display().to_string(),
        "data": {
            "dir": data.dir.display().to_string(),
            "files": data.files.len(),
            "bytes": data.bytes,
            "records": data.records,
            "generated": data.generated,
        },
        "page_cache": page_cache,
        "runs": runs,
        "results": results,
    });
    Ok(serde_json::to_string_pretty(&report)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_say_the_exact_size() {
        assert_eq!(size_label(2 * GIB), "2GiB");
        assert_eq!(size_label(2 * MIB), "2MiB");
        assert_eq!(size_label(1536 * KIB), "1536KiB");
        assert_eq!(size_label(1000), "1000B");
    }

    #[test]
    fn layout_covers_the_size() {
        let (files, rows) = layout(2 * GIB);
        assert_eq!(files, 8);
        let bytes = files as f64 * rows as f64 * GPS_BYTES_PER_RECORD;
        assert!((bytes / (2 * GIB) as f64 - 1.0).abs() < 0.001, "{bytes}");
        assert_eq!(layout(2 * MIB).0, 4);
        assert_eq!(layout(1).1, 1);
    }
}
