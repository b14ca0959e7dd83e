//! What a job tells its caller: [`Progress`] while it runs, a [`ScanReport`] when it ends.

use std::path::PathBuf;
use std::time::Duration;

/// A point-in-time view of the job for progress bars.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub total_bytes: u64,
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
    pub workers: Vec<WorkerProgress>,
    pub elapsed: Duration,
    /// How long a worker may now go without progress before it counts as stalled (the
    /// watchdog's current timeout); `None` when the watchdog is off.
    pub stall_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkerProgress {
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
    /// The file of the chunk it is scanning, if any.
    pub file: Option<PathBuf>,
    /// How long its counters and chunk have not moved while it holds a chunk (zero when it
    /// holds none): a stalled worker's grows towards `Progress::stall_timeout`.
    pub quiet: Duration,
}

/// What a finished scan found, summed over verified chunks in output order.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub files: usize,
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
    pub malformed: u64,
    /// File and 1-based line of the first malformed records.
    pub malformed_examples: Vec<(PathBuf, u64)>,
    /// Invalid byte sequences in the declared encoding, replaced by U+FFFD in the output.
    pub invalid: u64,
    /// File and 1-based line of the records holding the first of them.
    pub invalid_examples: Vec<(PathBuf, u64)>,
    /// Records a numeric `--where` could not compare (a value neither a number nor missing):
    /// never matched.
    pub incomparable: u64,
    /// File and 1-based line of the first of them.
    pub incomparable_examples: Vec<(PathBuf, u64)>,
    /// Files that could not be read during the scan (their output is missing or partial).
    pub failed_files: Vec<(PathBuf, String)>,
    /// The scan stopped at `--limit`.
    pub limited: bool,
    /// Which pass scanned the chunks: the plain or quoted block pass, or csv-core and why.
    pub paths: crate::scan::outcome::Paths,
    /// The first file with a chunk left to csv-core.
    pub fallback_example: Option<PathBuf>,
    /// Chunks re-run because their speculative start was inside a record.
    pub boundary_reruns: u64,
    /// Chunks re-run because their worker died.
    pub crash_reruns: u64,
    /// Chunks re-run because their worker made no progress and was killed (process engine).
    pub stall_reruns: u64,
    /// The region's accumulator words at the end (tasks with shared accumulators only).
    pub accumulators: Vec<u64>,
    pub elapsed: Duration,
}

/// How many malformed records are listed by file:line.
pub const MALFORMED_EXAMPLES: usize = crate::scan::outcome::REPORTED_MALFORMED;
