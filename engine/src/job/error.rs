//! [`JobError`]: why a job failed, one variant per cause.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a job failed. Each cause has its own variant and message, so what the user reads
/// names what went wrong (the input, the output, the temporary folder, or fleet itself).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Creating the shared region, the spill files, the notify pipe or the thread pool.
    #[error("cannot set up the job: {0}")]
    Setup(io::Error),
    /// Forking a worker (or a replacement) failed mid-run.
    #[error("cannot start a worker: {0}")]
    Spawn(io::Error),
    /// The region's robust lock failed (not a dead owner: that is recovered).
    #[error("the job's shared lock failed: {0}")]
    Lock(io::Error),
    #[error("cannot write the output: {0}")]
    Output(io::Error),
    #[error("cannot write temporary results (in {dir}): {0}", dir = std::env::temp_dir().display())]
    Spill(io::Error),
    #[error("cannot read back temporary results (in {dir}): {0}", dir = std::env::temp_dir().display())]
    SpillRead(io::Error),
    /// A chunk's result bytes did not decode: fleet wrote them itself, so this is a bug.
    #[error("a chunk's result could not be read back ({0}); this is a bug in fleet")]
    BadChunkResult(String),
    /// The exactly-once check at the end of a complete job failed: a bug in fleet.
    #[error("the workers' shared totals {shared} differ from the verified chunks' {summed} (records, matches, malformed); this is a bug in fleet")]
    TotalsMismatch { shared: String, summed: String },
    #[error("{path}: bytes {start}..{end} could not be scanned: {cause} (failed twice; the result would be incomplete)")]
    WorkerFailed {
        path: PathBuf,
        start: u64,
        end: u64,
        cause: String,
    },
    /// A worker held the chunk `start..end` without progress for `waited`: with processes,
    /// twice (its worker was killed and the chunk re-run once); with threads, once, as a
    /// thread cannot be killed.
    #[error("{}: bytes {start}..{end} made no progress for {:.1} s{}", .path.display(), .waited.as_secs_f64(), stall_tail(*.retried))]
    Stalled {
        path: PathBuf,
        start: u64,
        end: u64,
        waited: Duration,
        /// The chunk was re-run once on a fresh worker (process engine) and stalled again.
        retried: bool,
    },
    #[error("{}: {message}", .path.display())]
    BadInput { path: PathBuf, message: String },
    /// The coordinator's group table (spilling past `--memory`, or a part that does not fit).
    #[error(transparent)]
    Agg(crate::agg::AggError),
    #[error("interrupted")]
    Interrupted,
}

/// The end of a stall's message: what was tried, and what the user can do.
fn stall_tail(retried: bool) -> &'static str {
    if retried {
        ", twice (its worker was killed and the chunk re-run once); the result would be incomplete (see --stall-timeout)"
    } else {
        "; a worker thread cannot be stopped and its chunk re-run, so the job ends (--engine processes re-runs it once; see --stall-timeout)"
    }
}

impl JobError {
    /// True when the output's reader went away (`fleet scan | head`): not worth reporting.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, JobError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
