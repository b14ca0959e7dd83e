//! The coordinator: the one single-threaded loop of a job. It reaps dead workers and re-runs
//! their uncommitted chunk once; verifies, in plan order, that each finished chunk started
//! where the previous one really ended (re-running it from the true record start when a
//! speculative boundary was wrong, after taking its commit back out); copies each verified
//! chunk's output from its spill file to the output, so output follows file order whatever
//! the worker count and memory stays bounded by a chunk, not by the result; and reports
//! progress from the shared counters. It also kills a worker that holds a chunk without
//! progress for the stall timeout (`watchdog.rs`) and re-runs its chunk once, as after a
//! crash; a worker thread cannot be killed, so the thread engine ends the job instead.
//! Because it never starts a thread in the process engine, forking a replacement worker is
//! safe at any time.

use super::context::{JobContext, SlotExit};
use super::error::JobError;
use super::options::JobOptions;
use super::process;
use super::report::{Progress, ScanReport, WorkerProgress, MALFORMED_EXAMPLES};
use super::task::{ChunkFailure, Consumer};
use super::watchdog::{Signature, Watchdog};
use super::worker::run_worker;
use crate::scan::outcome::ChunkOutcome;
use crate::shm::region::{Totals, CHUNK_DONE, CHUNK_FAILED, CHUNK_PENDING, CHUNK_RUNNING};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) enum Worker {
    Process(libc::pid_t),
    Thread,
}

pub(super) struct SlotUse {
    worker: Worker,
    /// The chunk this worker was started to re-run.
    assigned: Option<usize>,
}

pub(super) struct Coordinator {
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
    watchdog: Watchdog,
}

/// Why a worker's chunks were lost.
#[derive(Clone, Copy)]
enum Loss<'a> {
    /// It died, for this reason.
    Crash(&'a str),
    /// It held `chunk` without progress for `waited` and was killed.
    Stall { chunk: usize, waited: Duration },
}

impl Coordinator {
    pub(super) fn new(
        ctx: Arc<JobContext>,
        opts: &JobOptions,
        pool: Option<rayon::ThreadPool>,
        workers: usize,
        started: Instant,
    ) -> Coordinator {
        let report = ScanReport {
            files: ctx.plan.files.len(),
            ..ScanReport::default()
        };
        Coordinator {
            slots: (0..ctx.region.slot_count()).map(|_| None).collect(),
            watchdog: Watchdog::new(opts.stall_timeout, ctx.region.slot_count()),
            rerun_queued: vec![false; ctx.plan.chunks.len()],
            ctx,
            opts: opts.clone(),
            pool,
            reruns: VecDeque::new(),
            report,
            next: 0,
            prev_end: None,
            file_lines: 0,
            failed_file: None,
            started,
            workers,
        }
    }

    pub(super) fn run(
        &mut self,
        out: &mut Consumer<'_>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<ScanReport, JobError> {
        let nchunks = self.ctx.plan.chunks.len();
        for _ in 0..self.workers.min(nchunks) {
            self.spawn(None).map_err(JobError::Spawn)?;
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
            self.check_stalls()?;
            self.advance(out, &mut copy_buf)?;
            if self.next >= nchunks || self.report.limited {
                break;
            }
            self.start_reruns()?;
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
        let mut guard = self.ctx.region.lock().map_err(JobError::Lock)?;
        let shared = self.ctx.region.header().totals.get(&guard);
        check_totals(shared, &self.report)?;
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
                let failure = ChunkFailure::from_word(entry.failure.load(Ordering::Relaxed))
                    .unwrap_or(ChunkFailure::Read(libc::EIO));
                let path = ctx.plan.files[chunk.file as usize].path.clone();
                if failure.fails_job() {
                    return Err(JobError::BadInput {
                        path,
                        message: failure.to_string(),
                    });
                }
                self.report.failed_files.push((path, failure.to_string()));
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
            let mut guard = region.lock().map_err(JobError::Lock)?;
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
                        .map_err(JobError::SpillRead)?;
                    ctx.task
                        .uncommit(&bytes, &mut region.plain_view(&mut guard))
                        .map_err(|e| JobError::BadChunkResult(e.to_string()))?;
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
        for &line in outcome.incomparable_lines.iter().take(
            outcome
                .incomparable
                .min(outcome.incomparable_lines.len() as u64) as usize,
        ) {
            if self.report.incomparable_examples.len() < MALFORMED_EXAMPLES {
                let at = file.first_line + self.file_lines + line;
                self.report
                    .incomparable_examples
                    .push((file.path.clone(), at));
            }
        }
        self.report.incomparable += outcome.incomparable;
        self.report.paths.add(&outcome.paths);
        if outcome.paths.fallback() > 0 && self.report.fallback_example.is_none() {
            self.report.fallback_example = Some(file.path.clone());
        }
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
                    .map_err(JobError::SpillRead)?;
                consume(&bytes)?;
                crate::sys::punch_hole(spill, offset, outcome.out_bytes);
            }
            Consumer::Stream(out) if self.ctx.task.framed() => {
                // Each match is a u32 length and its bytes, so output stops exactly at the limit.
                let mut pos = offset;
                for _ in 0..wanted {
                    let mut len = [0u8; 4];
                    spill
                        .read_exact_at(&mut len, pos)
                        .map_err(JobError::SpillRead)?;
                    let len = u32::from_le_bytes(len) as u64;
                    copy_range(spill, pos + 4, len, &mut **out, buf)?;
                    pos += 4 + len;
                }
            }
            Consumer::Stream(out) => {
                copy_range(spill, offset, outcome.out_bytes, &mut **out, buf)?;
                crate::sys::punch_hole(spill, offset, outcome.out_bytes);
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

    fn start_reruns(&mut self) -> Result<(), JobError> {
        while let Some(&i) = self.reruns.front() {
            if !self.slots.iter().any(Option::is_none) {
                break;
            }
            self.reruns.pop_front();
            self.rerun_queued[i] = false;
            self.spawn(Some(i)).map_err(JobError::Spawn)?;
        }
        // Work left but nobody to do it (every worker exited or died): start one.
        let live = self.slots.iter().filter(|s| s.is_some()).count();
        let unclaimed = {
            let guard = self.ctx.region.lock().map_err(JobError::Lock)?;
            (self.ctx.region.header().cursor.get(&guard) as usize) < self.ctx.plan.chunks.len()
        };
        if live == 0 && unclaimed {
            self.spawn(None).map_err(JobError::Spawn)?;
        }
        Ok(())
    }

    fn spawn(&mut self, assigned: Option<usize>) -> io::Result<()> {
        let Some(slot) = self.slots.iter().position(Option::is_none) else {
            return Err(io::Error::other("no free worker slot"));
        };
        let worker = match &self.pool {
            None => {
                let ctx = &self.ctx;
                Worker::Process(process::fork_worker(|| run_worker(ctx, slot, assigned))?)
            }
            Some(pool) => {
                let ctx = Arc::clone(&self.ctx);
                ctx.thread_exit[slot].store(SlotExit::Running as u32, Ordering::Release);
                pool.spawn(move || {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_worker(&ctx, slot, assigned)
                    }));
                    let status = match result {
                        Ok(Ok(())) => SlotExit::Ok,
                        _ => SlotExit::Crashed,
                    };
                    ctx.thread_exit[slot].store(status as u32, Ordering::Release);
                    ctx.notify();
                });
                Worker::Thread
            }
        };
        self.slots[slot] = Some(SlotUse { worker, assigned });
        let shows = Signature::of(self.ctx.region.slot(slot));
        self.watchdog.start(slot, shows, Instant::now());
        Ok(())
    }

    /// Collects exited workers; a crashed one's chunk is re-run once, then the job fails.
    fn reap(&mut self) -> Result<(), JobError> {
        for slot in 0..self.slots.len() {
            let Some(used) = &self.slots[slot] else {
                continue;
            };
            let crash = match used.worker {
                Worker::Process(pid) => match process::try_wait(pid) {
                    None => continue,
                    Some(status) => process::status_crash(status),
                },
                Worker::Thread => match self.ctx.thread_exit[slot].load(Ordering::Acquire) {
                    s if s == SlotExit::Running as u32 => continue,
                    s if s == SlotExit::Ok as u32 => None,
                    _ => Some("the worker thread panicked".to_string()),
                },
            };
            let assigned = used.assigned;
            self.slots[slot] = None;
            self.watchdog.stop(slot);
            if let Some(cause) = crash {
                self.recover(slot, assigned, Loss::Crash(&cause))?;
            }
        }
        Ok(())
    }

    /// Finds workers that hold a chunk without progress for the stall timeout. A process is
    /// killed and its chunk re-run once on a fresh worker, exactly as after a crash (a second
    /// stall or crash of the chunk fails the job); a thread cannot be killed, so the job ends
    /// with the same message and the thread is abandoned (see `shutdown`).
    fn check_stalls(&mut self) -> Result<(), JobError> {
        let now = Instant::now();
        self.watchdog.tick(now);
        for slot in 0..self.slots.len() {
            let Some(used) = &self.slots[slot] else {
                continue;
            };
            let shows = Signature::of(self.ctx.region.slot(slot));
            let Some(waited) = self.watchdog.observe(slot, shows, now) else {
                continue;
            };
            let chunk = shows.chunk as usize;
            let assigned = used.assigned;
            match used.worker {
                Worker::Thread => return Err(self.stalled(chunk, waited, false)),
                Worker::Process(pid) => {
                    process::kill_and_reap(pid);
                    self.slots[slot] = None;
                    self.watchdog.stop(slot);
                    self.recover(slot, assigned, Loss::Stall { chunk, waited })?;
                }
            }
        }
        Ok(())
    }

    /// The error for chunk `i` held without progress for `waited`.
    fn stalled(&self, i: usize, waited: Duration, retried: bool) -> JobError {
        let region = &self.ctx.region;
        let (path, start, end) = match self.ctx.plan.chunks.get(i) {
            Some(chunk) => (
                self.ctx.plan.files[chunk.file as usize].path.clone(),
                region.chunk(i).start.load(Ordering::Relaxed),
                chunk.end,
            ),
            None => Default::default(),
        };
        JobError::Stalled {
            path,
            start,
            end,
            waited,
            retried,
        }
    }

    /// Puts back the chunks a dead (or killed) worker in `slot` held, to be re-run once; a
    /// chunk lost a second time fails the job.
    fn recover(
        &mut self,
        slot: usize,
        assigned: Option<usize>,
        loss: Loss<'_>,
    ) -> Result<(), JobError> {
        let ctx = Arc::clone(&self.ctx);
        let region = &ctx.region;
        let errno = region.header().spill_errno.load(Ordering::Acquire);
        if errno != 0 {
            return Err(JobError::Spill(io::Error::from_raw_os_error(errno)));
        }
        let guard = region.lock().map_err(JobError::Lock)?;
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
        match loss {
            Loss::Crash(_) => self.report.crash_reruns += lost.len() as u64,
            Loss::Stall { .. } => self.report.stall_reruns += lost.len() as u64,
        }
        for i in lost {
            let entry = region.chunk(i);
            let attempts = entry.attempts.fetch_add(1, Ordering::AcqRel) + 1;
            if attempts >= 2 {
                let chunk = ctx.plan.chunks[i];
                let cause = match loss {
                    Loss::Stall { chunk, waited } if chunk == i => {
                        return Err(self.stalled(i, waited, true));
                    }
                    Loss::Stall { waited, .. } => format!(
                        "its worker was killed after {:.1} s without progress",
                        waited.as_secs_f64()
                    ),
                    Loss::Crash(cause) => cause.to_string(),
                };
                return Err(JobError::WorkerFailed {
                    path: ctx.plan.files[chunk.file as usize].path.clone(),
                    start: entry.start.load(Ordering::Relaxed),
                    end: chunk.end,
                    cause,
                });
            }
            entry.state.store(CHUNK_PENDING, Ordering::Release);
            self.queue_rerun(i);
        }
        Ok(())
    }

    fn progress(&self) -> Progress {
        let region = &self.ctx.region;
        let now = Instant::now();
        let mut p = Progress {
            total_bytes: self.ctx.plan.total_bytes(),
            elapsed: self.started.elapsed(),
            stall_timeout: self.watchdog.timeout(),
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
                quiet: match self.slots[k] {
                    Some(_) => self.watchdog.quiet(k, now),
                    None => Duration::ZERO,
                },
            };
            p.bytes += w.bytes;
            p.records += w.records;
            p.matches += w.matches;
            if k < self.workers {
                p.workers.push(w);
            }
        }
        if !self.ctx.plan.has_stdin() {
            p.bytes = p.bytes.min(p.total_bytes);
        }
        p
    }

    /// Sleeps until a worker commits or the timeout passes (to notice deaths and redraw).
    fn wait(&self, timeout: Duration) {
        process::wait_readable(&self.ctx.notify_read, timeout);
    }

    /// Stops every worker: tells them, kills processes still running, reaps them all.
    pub(super) fn shutdown(&mut self) {
        self.ctx.region.header().stop.store(1, Ordering::Release);
        for slot in self.slots.iter_mut() {
            if let Some(SlotUse {
                worker: Worker::Process(pid),
                ..
            }) = slot.take()
            {
                process::kill_and_reap(pid);
            }
        }
        // Dropping the pool waits for nothing; threads see `stop` and finish their chunk. A
        // stalled thread never does: it is abandoned (with its own reference to the context),
        // and the program is expected to end (fleet's CLI exits with status 2).
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
            .map_err(JobError::SpillRead)?;
        out.write_all(&buf[..n]).map_err(JobError::Output)?;
        offset += n as u64;
    }
    Ok(())
}

/// The exactly-once check of every complete job: the totals workers committed into the
/// region must equal the sums of the chunks the coordinator verified and emitted. (A job
/// stopped at `--limit`, or with a file skipped after a read error, emits fewer chunks than
/// were committed, so the check does not apply there.)
fn check_totals(shared: Totals, report: &ScanReport) -> Result<(), JobError> {
    if report.limited || !report.failed_files.is_empty() {
        return Ok(());
    }
    let summed = (report.records, report.matches, report.malformed);
    let shared = (shared.records, shared.matches, shared.malformed);
    if shared != summed {
        return Err(JobError::TotalsMismatch {
            shared: format!("{shared:?}"),
            summed: format!("{summed:?}"),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_counted_twice_fails_the_job() {
        let report = ScanReport {
            records: 10,
            matches: 4,
            malformed: 1,
            ..ScanReport::default()
        };
        let exact = Totals {
            records: 10,
            matches: 4,
            malformed: 1,
        };
        assert!(check_totals(exact, &report).is_ok());
        let twice = Totals {
            records: 13,
            ..exact
        };
        let err = check_totals(twice, &report).unwrap_err();
        assert!(matches!(err, JobError::TotalsMismatch { .. }), "{err}");
        assert!(err.to_string().contains("(13, 4, 1)"), "{err}");
        let limited = ScanReport {
            limited: true,
            ..report
        };
        assert!(
            check_totals(twice, &limited).is_ok(),
            "--limit emits less than was committed"
        );
    }
}
