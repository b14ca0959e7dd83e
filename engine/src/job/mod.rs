//! The job runtime: runs a [`ChunkTask`] over every chunk of a [`ChunkPlan`] on workers
//! (forked processes or rayon threads), exactly once per chunk, with results in plan order.
//!
//! - [`task`]: what runs per chunk ([`ChunkTask`] over a [`ChunkView`]), where verified
//!   results go ([`Consumer`]), and why a chunk failed ([`ChunkFailure`]).
//! - `options.rs`, `error.rs`, `report.rs`: what a caller passes in and gets back
//!   ([`JobOptions`], [`JobError`], [`Progress`], [`ScanReport`]).
//! - `context.rs`: [`JobContext`], what every worker shares.
//! - `coordinator.rs`: the single-threaded loop that verifies, re-runs and emits.
//! - `worker.rs`: a worker's loop: claim a chunk, scan it, commit it under the lock.
//! - `process.rs`: fork, waitpid and the notify pipe.
//! - `watchdog.rs`: when a live worker counts as stalled (`--stall-timeout`).
//! - [`fault`]: the test-only fault knobs; [`interrupt`]: Ctrl-C and SIGTERM as a flag.
//!
//! `docs/architecture.md` draws a chunk's path through them.

mod context;
mod coordinator;
mod error;
pub mod fault;
pub mod interrupt;
mod options;
mod process;
mod report;
pub mod task;
mod watchdog;
mod worker;

pub use context::JobContext;
pub use error::JobError;
pub use options::{EngineKind, JobOptions};
pub use report::{Progress, ScanReport, WorkerProgress, MALFORMED_EXAMPLES};
pub use task::{ChunkFailure, ChunkTask, ChunkView, Consumer};
pub use watchdog::{DEFAULT_STALL_TIMEOUT, STALL_MULTIPLE};

use crate::input::plan::ChunkPlan;
use crate::scan::kernel::ScanSpec;
use crate::shm::region::SharedRegion;
use context::SlotExit;
use coordinator::Coordinator;
use std::io::{self, Write};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Instant;

/// Runs a scan: matching records go to `out` in plan order; `progress` is called at most ~15
/// times a second from the coordinator's own loop.
pub fn run_scan(
    plan: ChunkPlan,
    mut spec: ScanSpec,
    opts: &JobOptions,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ScanReport, JobError> {
    crate::scan::kernel::order_predicates(&mut spec.predicates);
    run_job(plan, Box::new(spec), opts, Consumer::Stream(out), progress)
}

/// Runs `task` over every chunk of `plan` on workers; verified chunk results reach `consumer`
/// in plan order.
///
/// # Precondition (process engine)
/// With [`EngineKind::Processes`] this forks. A forked worker inherits every lock the host
/// program's other threads held at that moment, so the caller must not have threads that
/// may hold a lock the worker loop takes: the allocator's (glibc's is fork-safe), stdio's
/// (a worker writes nothing to stdout or stderr, unless it panics) or one of its own that a
/// [`ChunkTask`] uses. fleet's own binary is single-threaded when it calls this, and the
/// coordinator starts no thread of its own in this engine. A host that runs other threads
/// it cannot vouch for (an async runtime, a thread pool doing I/O) uses
/// [`EngineKind::Threads`].
pub fn run_job(
    plan: ChunkPlan,
    task: Box<dyn ChunkTask>,
    opts: &JobOptions,
    mut consumer: Consumer<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ScanReport, JobError> {
    let started = Instant::now();
    let workers = opts.workers.max(1).min(plan.chunks.len().max(1));
    // Room for replacements and re-runs beside the regular workers.
    let slots = workers * 2 + 2;
    let starts: Vec<u64> = plan.chunks.iter().map(|c| c.start).collect();
    let (acc_words, undo_words) = task.shared_words();
    let region = SharedRegion::create_with(slots, &starts, acc_words, undo_words)
        .map_err(JobError::Setup)?;
    let spills = (0..slots)
        .map(|_| tempfile::tempfile())
        .collect::<io::Result<Vec<_>>>()
        .map_err(JobError::Setup)?;
    let (notify_read, notify_write) = process::pipe().map_err(JobError::Setup)?;
    let ctx = Arc::new(JobContext {
        plan,
        task,
        region,
        spills,
        fault: opts.fault,
        in_process: opts.engine == EngineKind::Processes,
        notify_write,
        notify_read,
        thread_exit: (0..slots)
            .map(|_| AtomicU32::new(SlotExit::Ok as u32))
            .collect(),
    });
    let pool = match opts.engine {
        EngineKind::Threads => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .thread_name(|i| format!("fleet-worker-{i}"))
                .build()
                .map_err(|e| JobError::Setup(io::Error::other(e)))?,
        ),
        EngineKind::Processes => None,
    };
    let mut job = Coordinator::new(ctx, opts, pool, workers, started);
    let result = job.run(&mut consumer, progress);
    job.shutdown();
    let mut report = result?;
    report.elapsed = started.elapsed();
    Ok(report)
}
