//! [`JobContext`]: everything a job's workers share, built by `run_job` before any worker
//! starts. Forked workers inherit it; worker threads hold it behind an `Arc`. It lives apart
//! from the coordinator so that workers depend on it alone, never on the coordinator.

use crate::input::plan::ChunkPlan;
use crate::job::fault::Fault;
use crate::job::task::ChunkTask;
use crate::shm::region::SharedRegion;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::atomic::AtomicU32;

pub struct JobContext {
    pub plan: ChunkPlan,
    pub task: Box<dyn ChunkTask>,
    pub region: SharedRegion,
    /// One spill file per worker slot: a chunk's result bytes wait there until the
    /// coordinator copies them out in plan order.
    pub spills: Vec<File>,
    pub fault: Fault,
    /// Workers are forked processes (not threads).
    pub in_process: bool,
    pub(super) notify_write: OwnedFd,
    /// The coordinator's end of the pipe. It lives here, not in the coordinator, so that a
    /// worker thread still finishing its chunk after the job returned never writes to a pipe
    /// without a reader (SIGPIPE kills a host program that does not ignore it).
    pub(super) notify_read: OwnedFd,
    /// Thread engine only: each slot's exit (see [`SlotExit`]).
    pub(super) thread_exit: Vec<AtomicU32>,
}

/// How a worker thread's slot ended, as stored in `JobContext::thread_exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(super) enum SlotExit {
    Running = 0,
    Ok = 1,
    Crashed = 2,
}

impl JobContext {
    /// Wakes the coordinator (a byte on a non-blocking pipe; a full pipe already wakes it).
    pub fn notify(&self) {
        super::process::poke(&self.notify_write);
    }
}
