//! How a job runs: which engine, how many workers, where to stop.

use crate::job::fault::Fault;
use crate::job::watchdog::DEFAULT_STALL_TIMEOUT;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Which kind of worker runs the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// Forked worker processes sharing the region (the default): a crash costs one chunk.
    #[default]
    Processes,
    /// A rayon pool in one process: same kernels, same region, same results.
    Threads,
}

#[derive(Debug, Clone)]
pub struct JobOptions {
    pub engine: EngineKind,
    pub workers: usize,
    /// Stop after this many matches (in output order).
    pub limit: Option<u64>,
    /// Set asynchronously (Ctrl-C): the job stops its workers and returns `Interrupted`.
    pub interrupt: Option<&'static AtomicBool>,
    /// The least time a worker may hold a chunk without progress before it counts as stalled
    /// (the watchdog waits longer when chunks are slow: see `job/watchdog.rs`); `None` never.
    pub stall_timeout: Option<Duration>,
    pub fault: Fault,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            engine: EngineKind::Processes,
            workers: 1,
            limit: None,
            interrupt: None,
            stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
            fault: Fault::none(),
        }
    }
}
