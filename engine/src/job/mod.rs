//! The coordinator of a scan job.
//!
//! It owns the [`ChunkPlan`], creates the [`SharedRegion`] and one spill file per worker slot,
//! starts workers (forked processes or rayon threads), and then runs one single-threaded loop:
//! reap dead workers and re-run their uncommitted chunk once; verify, in plan order, that each
//! finished chunk started where the previous one really ended (re-running it from the true
//! record start when a speculative boundary was wrong); copy each verified chunk's output from
//! its spill file to the output, so output follows file order whatever the worker count and
//! memory stays bounded by a chunk, not by the result; and report progress from the shared
//! counters. Because it never starts a thread in the process engine, forking a replacement
//! worker is safe at any time.

pub mod fault;
pub mod interrupt;
pub mod worker;

use crate::input::plan::ChunkPlan;
use crate::input::stream::{PieceError, Pieces};
use crate::job::fault::Fault;
use crate::job::worker::{run_worker, FILE_SHRANK};
use crate::scan::kernel::{scan_chunk, ScanSpec, Scratch};
use crate::scan::outcome::ChunkOutcome;
use crate::shm::region::{
    Accumulators, SharedRegion, Totals, CHUNK_DONE, CHUNK_FAILED, CHUNK_PENDING, CHUNK_RUNNING,
};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    pub fault: Fault,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            engine: EngineKind::Processes,
            workers: 1,
            limit: None,
            interrupt: None,
            fault: Fault::none(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot set up the job: {0}")]
    Setup(io::Error),
    #[error("cannot write the output: {0}")]
    Output(io::Error),
    #[error("cannot write temporary results (in {dir}): {0}", dir = std::env::temp_dir().display())]
    Spill(io::Error),
    #[error("{path}: bytes {start}..{end} could not be scanned: {cause} (failed twice; the result would be incomplete)")]
    WorkerFailed {
        path: PathBuf,
        start: u64,
        end: u64,
        cause: String,
    },
    #[error("{}: {message}", .path.display())]
    BadInput { path: PathBuf, message: String },
    #[error("interrupted")]
    Interrupted,
}

impl JobError {
    /// True when the output's reader went away (`fleet scan | head`): not worth reporting.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, JobError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// A point-in-time view of the job for progress bars.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub total_bytes: u64,
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
    pub workers: Vec<WorkerProgress>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct WorkerProgress {
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
    /// The file of the chunk it is scanning, if any.
    pub file: Option<PathBuf>,
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
    /// Files that could not be read during the scan (their output is missing or partial).
    pub failed_files: Vec<(PathBuf, String)>,
    /// The scan stopped at `--limit`.
    pub limited: bool,
    /// Chunks re-run because their speculative start was inside a record.
    pub boundary_reruns: u64,
    /// Chunks re-run because their worker died.
    pub crash_reruns: u64,
    /// The shared totals as the workers committed them (equal to the sums above unless the
    /// scan stopped early): tests use it to prove exactly-once commits.
    pub shared_totals: Totals,
    /// The region's accumulator words at the end (tasks with shared accumulators only).
    pub accumulators: Vec<u64>,
    pub elapsed: Duration,
}

/// How many malformed records are listed by file:line.
pub const MALFORMED_EXAMPLES: usize = crate::scan::outcome::REPORTED_MALFORMED;

/// What workers do with one chunk: find, filter and process its records, append the chunk's
/// result bytes to `out`. Scan formats matching records; agg encodes a private table.
pub trait ChunkTask: Send + Sync {
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        data: &[u8],
        range: std::ops::Range<usize>,
        at_eof: bool,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> ChunkOutcome;

    /// True when each match in `out` is framed by a u32 length (for `--limit`).
    fn framed(&self) -> bool {
        false
    }

    /// Words of shared accumulators, and of undo log for one commit, that this task keeps in
    /// the region (none by default).
    fn shared_words(&self) -> (usize, usize) {
        (0, 0)
    }

    /// Folds a finished chunk's result (`out`, as `run` wrote it) into the shared
    /// accumulators. The worker calls it under the lock, inside the chunk's commit, so it
    /// happens exactly once per committed chunk.
    fn commit(&self, _out: &[u8], _acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        Ok(())
    }

    /// Takes a committed chunk's contribution back out of the accumulators: the coordinator
    /// found its speculative start wrong and re-runs it.
    fn uncommit(&self, _out: &[u8], _acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        Ok(())
    }

    /// Runs over the pieces of a streamed file, one unit of work (see `stream.rs`). `flush`
    /// moves the output so far to the spill file, so memory stays bounded by a piece. A task
    /// whose result must be one whole per unit (agg's table) overrides this.
    fn run_pieces(
        &self,
        pieces: &mut Pieces<'_>,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> Result<(), PieceError> {
        while let Some((data, range, at_eof)) = pieces.next_piece()? {
            let outcome = self.run(data, range, at_eof, delimiter, out, scratch);
            pieces.done(&outcome);
            flush(out).map_err(PieceError::Spill)?;
        }
        Ok(())
    }
}

impl ChunkTask for ScanSpec {
    fn run(
        &self,
        data: &[u8],
        range: std::ops::Range<usize>,
        at_eof: bool,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> ChunkOutcome {
        scan_chunk(data, range, at_eof, delimiter, self, out, scratch)
    }

    fn framed(&self) -> bool {
        self.framed
    }
}

/// Where verified chunk results go, in plan order.
pub enum Consumer<'a> {
    /// Streamed as they are (scan output).
    Stream(&'a mut dyn Write),
    /// Each chunk's bytes whole (agg: one encoded table per chunk).
    Whole(&'a mut dyn FnMut(&[u8]) -> io::Result<()>),
}

/// Everything workers share; inherited by forked workers, behind an `Arc` for threads.
pub struct JobContext {
    pub plan: ChunkPlan,
    pub task: Box<dyn ChunkTask>,
    pub region: SharedRegion,
    pub spills: Vec<File>,
    pub fault: Fault,
    pub in_process: bool,
    notify_write: OwnedFd,
    /// The coordinator's end of the pipe. It lives here, not in the coordinator, so that a
    /// worker thread still finishing its chunk after the job returned never writes to a pipe
    /// without a reader (SIGPIPE kills a host program that does not ignore it).
    notify_read: OwnedFd,
    /// Thread engine only: each slot's exit (see `SLOT_*`).
    thread_exit: Vec<AtomicU32>,
}

const SLOT_RUNNING: u32 = 0;
const SLOT_OK: u32 = 1;
const SLOT_CRASHED: u32 = 2;

impl JobContext {
    /// Wakes the coordinator (a byte on a non-blocking pipe; a full pipe already wakes it).
    pub fn notify(&self) {
        // SAFETY: writes one byte from a valid buffer to a descriptor this context owns.
        unsafe {
            libc::write(self.notify_write.as_raw_fd(), [1u8].as_ptr().cast(), 1);
        }
    }
}

enum Worker {
    Process(libc::pid_t),
    Thread,
}

struct SlotUse {
    worker: Worker,
    /// The chunk this worker was started to re-run.
    assigned: Option<usize>,
}

/// Runs a scan: matching records go to `out` in plan order; `progress` is called at most ~15
/// times a second from the coordinator's own loop.
pub fn run_scan(
    plan: ChunkPlan,
    spec: ScanSpec,
    opts: &JobOptions,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ScanReport, JobError> {
    run_job(plan, Box::new(spec), opts, Consumer::Stream(out), progress)
}

/// Runs `task` over every chunk of `plan` on workers; verified chunk results reach `consumer`
/// in plan order.
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
    let (notify_read, notify_write) = pipe().map_err(JobError::Setup)?;
    let ctx = Arc::new(JobContext {
        plan,
        task,
        region,
        spills,
        fault: opts.fault,
        in_process: opts.engine == EngineKind::Processes,
        notify_write,
        notify_read,
        thread_exit: (0..slots).map(|_| AtomicU32::new(SLOT_OK)).collect(),
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
    let mut job = Coordinator {
        ctx,
        opts: opts.clone(),
        pool,
        slots: (0..slots).map(|_| None).collect(),
        reruns: VecDeque::new(),
        rerun_queued: Vec::new(),
        report: ScanReport::default(),
        next: 0,
        prev_end: None,
        file_lines: 0,
        failed_file: None,
        started,
        workers,
    };
    job.rerun_queued = vec![false; job.ctx.plan.chunks.len()];
    job.report.files = job.ctx.plan.files.len();
    let result = job.run(&mut consumer, progress);
    job.shutdown();
    let mut report = result?;
    report.elapsed = started.elapsed();
    Ok(report)
}

struct Coordinator {
    ctx: Arc<JobContext>,
    opts: JobOptions,
    pool: Option<rayon::ThreadPool>,
    slots: Vec<Option<SlotUse>>,
    reruns: VecDeque<usize>,
    rerun_queued: Vec<bool>,
    report: ScanReport,
    /// Next chunk to verify and emit.
    next: usize,
    /// Where the previous verified chunk's records really ended (same file only).
    prev_end: Option<(u32, u64)>,
    /// Lines of the current file before chunk `next`.
    file_lines: u64,
    /// The file whose remaining chunks are skipped because it failed.
    failed_file: Option<u32>,
    started: Instant,
    workers: usize,
}

impl Coordinator {
    fn run(
        &mut self,
        out: &mut Consumer<'_>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<ScanReport, JobError> {
        let nchunks = self.ctx.plan.chunks.len();
        for _ in 0..self.workers.min(nchunks) {
            self.spawn(None).map_err(JobError::Setup)?;
        }
        let mut copy_buf = vec![0u8; 1 << 20];
        let mut last_progress: Option<Instant> = None;
        while self.next < nchunks && !self.report.limited {
            if self
                .opts
                .interrupt
                .is_some_and(|f| f.load(Ordering::Relaxed))
            {
                return Err(JobError::Interrupted);
            }
            self.reap()?;
            self.advance(out, &mut copy_buf)?;
            if self.next >= nchunks || self.report.limited {
                break;
            }
            self.start_reruns().map_err(JobError::Setup)?;
            if last_progress.is_none_or(|t| t.elapsed() >= Duration::from_millis(66)) {
                progress(&self.progress());
                last_progress = Some(Instant::now());
            }
            self.wait(Duration::from_millis(20));
        }
        if let Consumer::Stream(w) = out {
            w.flush().map_err(JobError::Output)?;
        }
        progress(&self.progress());
        let mut guard = self.ctx.region.lock().map_err(JobError::Setup)?;
        self.report.shared_totals = self.ctx.region.header().totals.get(&guard);
        let mut acc = self.ctx.region.plain_view(&mut guard);
        let mut words = vec![0u64; acc.len()];
        acc.read(0, &mut words);
        self.report.accumulators = words;
        drop(guard);
        Ok(std::mem::take(&mut self.report))
    }

    /// Verifies and emits every finished chunk at the head of the plan.
    fn advance(&mut self, out: &mut Consumer<'_>, buf: &mut [u8]) -> Result<(), JobError> {
        let ctx = Arc::clone(&self.ctx);
        let region = &ctx.region;
        while self.next < ctx.plan.chunks.len() && !self.report.limited {
            let i = self.next;
            let chunk = ctx.plan.chunks[i];
            let entry = region.chunk(i);
            if self.failed_file == Some(chunk.file) {
                self.next += 1;
                continue;
            }
            let state = entry.state.load(Ordering::Acquire);
            if state == CHUNK_FAILED {
                let errno = entry.errno.load(Ordering::Relaxed);
                let path = ctx.plan.files[chunk.file as usize].path.clone();
                if let Some(message) = crate::input::compress::bad_data_text(errno) {
                    // A result without part of the file would look complete: fail the job.
                    return Err(JobError::BadInput {
                        path,
                        message: message.to_string(),
                    });
                }
                self.report.failed_files.push((path, describe_errno(errno)));
                self.failed_file = Some(chunk.file);
                self.next += 1;
                continue;
            }
            if state != CHUNK_DONE {
                return Ok(());
            }
            let new_file = self.prev_end.is_none_or(|(f, _)| f != chunk.file);
            let true_start = match self.prev_end {
                Some((f, end)) if f == chunk.file => end,
                _ => chunk.start,
            };
            if new_file {
                self.file_lines = 0;
            }
            let mut guard = region.lock().map_err(JobError::Setup)?;
            let outcome = entry.outcome.get(&guard);
            if entry.start.load(Ordering::Acquire) != true_start {
                // The speculative start was inside a record: undo its commit and re-run it
                // from where the previous chunk's last record really began.
                let header = region.header();
                header.totals.update(&guard, |t| t.minus(&outcome));
                if ctx.task.shared_words().0 > 0 {
                    let spill = &ctx.spills[entry.out_slot.get(&guard) as usize];
                    let mut bytes = vec![0u8; outcome.out_bytes as usize];
                    spill
                        .read_exact_at(&mut bytes, entry.out_offset.get(&guard))
                        .map_err(JobError::Setup)?;
                    ctx.task
                        .uncommit(&bytes, &mut region.plain_view(&mut guard))
                        .map_err(JobError::Setup)?;
                }
                entry.start.store(true_start, Ordering::Release);
                entry.state.store(CHUNK_PENDING, Ordering::Release);
                drop(guard);
                self.report.boundary_reruns += 1;
                self.queue_rerun(i);
                return Ok(());
            }
            let out_slot = entry.out_slot.get(&guard) as usize;
            let out_offset = entry.out_offset.get(&guard);
            drop(guard);
            self.emit(out, buf, &outcome, out_slot, out_offset)?;
            self.account(i, &outcome);
            self.prev_end = Some((chunk.file, outcome.partial.unwrap_or(chunk.end)));
            self.next += 1;
        }
        Ok(())
    }

    fn account(&mut self, i: usize, outcome: &ChunkOutcome) {
        let chunk = self.ctx.plan.chunks[i];
        let file = &self.ctx.plan.files[chunk.file as usize];
        let start = self.ctx.region.chunk(i).start.load(Ordering::Relaxed);
        let used_end = outcome.partial.unwrap_or(chunk.end);
        self.report.bytes += used_end - start;
        self.report.records += outcome.records;
        self.report.malformed += outcome.malformed;
        for &line in outcome
            .malformed_lines
            .iter()
            .take(outcome.malformed.min(outcome.malformed_lines.len() as u64) as usize)
        {
            if self.report.malformed_examples.len() < MALFORMED_EXAMPLES {
                let at = file.first_line + self.file_lines + line;
                self.report.malformed_examples.push((file.path.clone(), at));
            }
        }
        for &line in outcome
            .invalid_lines
            .iter()
            .take(outcome.invalid.min(outcome.invalid_lines.len() as u64) as usize)
        {
            let at = (file.path.clone(), file.first_line + self.file_lines + line);
            if self.report.invalid_examples.len() < MALFORMED_EXAMPLES
                && self.report.invalid_examples.last() != Some(&at)
            {
                self.report.invalid_examples.push(at);
            }
        }
        self.report.invalid += outcome.invalid;
        self.file_lines += outcome.lines;
    }

    fn emit(
        &mut self,
        out: &mut Consumer<'_>,
        buf: &mut [u8],
        outcome: &ChunkOutcome,
        slot: usize,
        offset: u64,
    ) -> Result<(), JobError> {
        let spill = &self.ctx.spills[slot];
        let wanted = match self.opts.limit {
            Some(limit) => (limit - self.report.matches).min(outcome.matches),
            None => outcome.matches,
        };
        match out {
            Consumer::Whole(consume) => {
                let mut bytes = vec![0u8; outcome.out_bytes as usize];
                spill
                    .read_exact_at(&mut bytes, offset)
                    .map_err(JobError::Setup)?;
                consume(&bytes).map_err(JobError::Output)?;
                punch_hole(spill, offset, outcome.out_bytes);
            }
            Consumer::Stream(out) if self.ctx.task.framed() => {
                // Each match is a u32 length and its bytes, so output stops exactly at the limit.
                let mut pos = offset;
                for _ in 0..wanted {
                    let mut len = [0u8; 4];
                    spill
                        .read_exact_at(&mut len, pos)
                        .map_err(JobError::Setup)?;
                    let len = u32::from_le_bytes(len) as u64;
                    copy_range(spill, pos + 4, len, &mut **out, buf)?;
                    pos += 4 + len;
                }
            }
            Consumer::Stream(out) => {
                copy_range(spill, offset, outcome.out_bytes, &mut **out, buf)?;
                punch_hole(spill, offset, outcome.out_bytes);
            }
        }
        self.report.matches += wanted;
        if self.opts.limit.is_some_and(|l| self.report.matches >= l) {
            self.report.limited = true;
        }
        Ok(())
    }

    fn queue_rerun(&mut self, i: usize) {
        if !self.rerun_queued[i] {
            self.rerun_queued[i] = true;
            self.reruns.push_back(i);
        }
    }

    fn start_reruns(&mut self) -> io::Result<()> {
        while let Some(&i) = self.reruns.front() {
            if !self.slots.iter().any(Option::is_none) {
                break;
            }
            self.reruns.pop_front();
            self.rerun_queued[i] = false;
            self.spawn(Some(i))?;
        }
        // Work left but nobody to do it (every worker exited or died): start one.
        let live = self.slots.iter().filter(|s| s.is_some()).count();
        let unclaimed = {
            let guard = self.ctx.region.lock()?;
            (self.ctx.region.header().cursor.get(&guard) as usize) < self.ctx.plan.chunks.len()
        };
        if live == 0 && unclaimed {
            self.spawn(None)?;
        }
        Ok(())
    }

    fn spawn(&mut self, assigned: Option<usize>) -> io::Result<()> {
        let Some(slot) = self.slots.iter().position(Option::is_none) else {
            return Err(io::Error::other("no free worker slot"));
        };
        let worker = match &self.pool {
            None => Worker::Process(fork_worker(&self.ctx, slot, assigned)?),
            Some(pool) => {
                let ctx = Arc::clone(&self.ctx);
                ctx.thread_exit[slot].store(SLOT_RUNNING, Ordering::Release);
                pool.spawn(move || {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_worker(&ctx, slot, assigned)
                    }));
                    let status = match result {
                        Ok(Ok(())) => SLOT_OK,
                        _ => SLOT_CRASHED,
                    };
                    ctx.thread_exit[slot].store(status, Ordering::Release);
                    ctx.notify();
                });
                Worker::Thread
            }
        };
        self.slots[slot] = Some(SlotUse { worker, assigned });
        Ok(())
    }

    /// Collects exited workers; a crashed one's chunk is re-run once, then the job fails.
    fn reap(&mut self) -> Result<(), JobError> {
        for slot in 0..self.slots.len() {
            let Some(used) = &self.slots[slot] else {
                continue;
            };
            let crash = match used.worker {
                Worker::Process(pid) => match try_wait(pid) {
                    None => continue,
                    Some(status) => status_crash(status),
                },
                Worker::Thread => match self.ctx.thread_exit[slot].load(Ordering::Acquire) {
                    SLOT_RUNNING => continue,
                    SLOT_OK => None,
                    _ => Some("the worker thread panicked".to_string()),
                },
            };
            let assigned = used.assigned;
            self.slots[slot] = None;
            if let Some(cause) = crash {
                self.recover_crash(slot, assigned, &cause)?;
            }
        }
        Ok(())
    }

    fn recover_crash(
        &mut self,
        slot: usize,
        assigned: Option<usize>,
        cause: &str,
    ) -> Result<(), JobError> {
        let ctx = Arc::clone(&self.ctx);
        let region = &ctx.region;
        let errno = region.header().spill_errno.load(Ordering::Acquire);
        if errno != 0 {
            return Err(JobError::Spill(io::Error::from_raw_os_error(errno)));
        }
        let guard = region.lock().map_err(JobError::Setup)?;
        let cursor = region.header().cursor.get(&guard) as usize;
        let mut lost = Vec::new();
        for i in self.next..cursor {
            let entry = region.chunk(i);
            let state = entry.state.load(Ordering::Acquire);
            let owned = entry.worker.load(Ordering::Acquire) as usize == slot;
            let awaited = self.slots.iter().flatten().any(|s| s.assigned == Some(i));
            let orphan = state == CHUNK_PENDING && !self.rerun_queued[i] && !awaited;
            if (state == CHUNK_RUNNING && owned)
                || orphan
                || (assigned == Some(i) && state == CHUNK_PENDING)
            {
                lost.push(i);
            }
        }
        drop(guard);
        self.report.crash_reruns += lost.len() as u64;
        for i in lost {
            let entry = region.chunk(i);
            let attempts = entry.attempts.fetch_add(1, Ordering::AcqRel) + 1;
            if attempts >= 2 {
                let chunk = ctx.plan.chunks[i];
                return Err(JobError::WorkerFailed {
                    path: ctx.plan.files[chunk.file as usize].path.clone(),
                    start: entry.start.load(Ordering::Relaxed),
                    end: chunk.end,
                    cause: cause.to_string(),
                });
            }
            entry.state.store(CHUNK_PENDING, Ordering::Release);
            self.queue_rerun(i);
        }
        Ok(())
    }

    fn progress(&self) -> Progress {
        let region = &self.ctx.region;
        let mut p = Progress {
            total_bytes: self.ctx.plan.total_bytes(),
            elapsed: self.started.elapsed(),
            ..Progress::default()
        };
        for k in 0..region.slot_count() {
            let s = region.slot(k);
            let w = WorkerProgress {
                bytes: s.bytes.load(Ordering::Relaxed),
                records: s.records.load(Ordering::Relaxed),
                matches: s.matches.load(Ordering::Relaxed),
                file: self.slots[k].as_ref().and_then(|_| {
                    let c = s.current.load(Ordering::Relaxed);
                    let chunk = self.ctx.plan.chunks.get(c as usize)?;
                    Some(self.ctx.plan.files[chunk.file as usize].path.clone())
                }),
            };
            p.bytes += w.bytes;
            p.records += w.records;
            p.matches += w.matches;
            if k < self.workers {
                p.workers.push(w);
            }
        }
        p.bytes = p.bytes.min(p.total_bytes);
        p
    }

    /// Sleeps until a worker commits or the timeout passes (to notice deaths and redraw).
    fn wait(&self, timeout: Duration) {
        let mut fds = [libc::pollfd {
            fd: self.ctx.notify_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: fds is a valid array of one pollfd for the duration of the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout.as_millis() as i32) };
        if ready > 0 {
            let mut drain = [0u8; 256];
            // SAFETY: reads into a local buffer of the given size from our own non-blocking fd.
            while unsafe {
                libc::read(
                    self.ctx.notify_read.as_raw_fd(),
                    drain.as_mut_ptr().cast(),
                    drain.len(),
                )
            } > 0
            {}
        }
    }

    /// Stops every worker: tells them, kills processes still running, reaps them all.
    fn shutdown(&mut self) {
        self.ctx.region.header().stop.store(1, Ordering::Release);
        for slot in self.slots.iter_mut() {
            if let Some(SlotUse {
                worker: Worker::Process(pid),
                ..
            }) = slot.take()
            {
                // SAFETY: pid is our own child, not yet reaped, so it cannot have been reused.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
        // Dropping the pool waits for nothing; threads see `stop` and finish their chunk.
        self.pool.take();
    }
}

fn copy_range(
    spill: &File,
    mut offset: u64,
    len: u64,
    out: &mut dyn Write,
    buf: &mut [u8],
) -> Result<(), JobError> {
    let end = offset + len;
    while offset < end {
        let n = ((end - offset) as usize).min(buf.len());
        spill
            .read_exact_at(&mut buf[..n], offset)
            .map_err(JobError::Setup)?;
        out.write_all(&buf[..n]).map_err(JobError::Output)?;
        offset += n as u64;
    }
    Ok(())
}

/// Frees the disk space of output already copied, so spill files never hold the whole result.
fn punch_hole(spill: &File, offset: u64, len: u64) {
    if len >= 1 << 20 {
        // SAFETY: fallocate on our own spill descriptor; failure only means the space is kept.
        unsafe {
            libc::fallocate(
                spill.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as libc::off_t,
                len as libc::off_t,
            );
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn fork_worker(
    ctx: &Arc<JobContext>,
    slot: usize,
    assigned: Option<usize>,
) -> io::Result<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the coordinator is single-threaded in the process engine, so the child does not
    // inherit locks held by other threads; the child only runs the worker loop and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(pid);
    }
    // In the child from here on.
    // SAFETY: plain syscalls on our own process.
    unsafe {
        // Die with the coordinator, and check it did not die before this was set.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(3);
        }
        // The coordinator handles Ctrl-C itself; a worker just stops.
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_worker(ctx, slot, assigned)
    }));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(_)) => 2,
        Err(_) => 1,
    };
    // SAFETY: `_exit` skips destructors and stdio flushing, which belong to the parent.
    unsafe { libc::_exit(code) }
}

/// The wait status of `pid` if it has exited.
fn try_wait(pid: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (rc == pid).then_some(status)
}

/// `None` for a clean exit, else why the worker died.
fn status_crash(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        return match libc::WEXITSTATUS(status) {
            0 => None,
            2 => Some("the worker hit an I/O error".to_string()),
            code => Some(format!("the worker exited with status {code}")),
        };
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        return Some(match sig {
            libc::SIGBUS => "the file changed while it was being read (SIGBUS)".to_string(),
            libc::SIGABRT => "the worker aborted (SIGABRT)".to_string(),
            libc::SIGKILL => "the worker was killed (SIGKILL)".to_string(),
            libc::SIGSEGV => "the worker crashed (SIGSEGV)".to_string(),
            _ => format!("the worker was killed by signal {sig}"),
        });
    }
    Some(format!("the worker stopped with wait status {status}"))
}

fn describe_errno(errno: i32) -> String {
    if errno == FILE_SHRANK {
        return "the file shrank while it was being scanned".to_string();
    }
    io::Error::from_raw_os_error(errno).to_string()
}
