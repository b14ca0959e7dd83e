//! A worker: claims chunks from the shared cursor, scans each with private state, appends the
//! chunk's formatted output to its own spill file, and commits the chunk's outcome and done
//! mark together under the region's lock (once per chunk, never per record).
//!
//! A streamed file (compressed, or transcoded to UTF-8) is a single chunk: the worker reads it
//! through `compress::Source` in pieces (`stream.rs`), appends each piece's output to the spill
//! file as it goes, and commits the unit like any chunk, once.
//!
//! The same loop runs in a forked process and on a rayon thread; only `job.rs` knows which.

use crate::input::compress::Source;
use crate::input::plan::PlannedFile;
use crate::input::stream::{PieceError, Pieces};
use crate::job::fault::{Fault, FaultPoint};
use crate::job::JobContext;
use crate::scan::kernel::Scratch;
use crate::scan::outcome::ChunkOutcome;
use crate::scan::record::quoted_record_ends;
use crate::shm::region::{
    Journal, CHUNK_DONE, CHUNK_FAILED, CHUNK_PENDING, CHUNK_RUNNING, NO_CHUNK,
};
use memmap2::{Advice, Mmap};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

/// The errno recorded when a file is shorter than planned (it changed during the scan).
pub const FILE_SHRANK: i32 = libc::ESTALE;

/// Runs until no chunk is left (or the coordinator says stop). `first` is a chunk the
/// coordinator assigned for a re-run; it is taken before any fresh chunk.
pub fn run_worker(ctx: &JobContext, slot: usize, mut first: Option<usize>) -> io::Result<()> {
    let region = &ctx.region;
    let me = region.slot(slot);
    let mut spill_len = {
        let guard = region.lock()?;
        me.spill_len.get(&guard)
    };
    let mut mapped: Option<(u32, Mmap, File)> = None;
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    while let Some(c) = claim(ctx, slot, first.take())? {
        let chunk = ctx.plan.chunks[c];
        let entry = region.chunk(c);
        let file = &ctx.plan.files[chunk.file as usize];
        let attempt = entry.attempts.load(Ordering::Acquire);
        for point in [FaultPoint::Scan, FaultPoint::Stall, FaultPoint::Pause] {
            ctx.fault.trigger(point, c, attempt, ctx.in_process);
        }
        let (outcome, out_len) = if file.streamed() {
            match scan_stream(ctx, slot, file, &mut out, &mut scratch, spill_len) {
                Ok(outcome) => (outcome, outcome.out_bytes),
                Err(PieceError::Stopped) => return Ok(()),
                Err(PieceError::Spill(e)) => return Err(e),
                Err(PieceError::Stream(e)) => {
                    fail(ctx, slot, c, e.errno())?;
                    continue;
                }
            }
        } else {
            if mapped.as_ref().map(|m| m.0) != Some(chunk.file) {
                mapped = None;
                match map_file(&file.path) {
                    Ok((map, f)) => mapped = Some((chunk.file, map, f)),
                    Err(e) => {
                        fail(ctx, slot, c, e.raw_os_error().unwrap_or(libc::EIO))?;
                        continue;
                    }
                }
            }
            let Some((_, map, mapped_file)) = mapped.as_ref() else {
                continue;
            };
            // A file cut short since it was planned (or mapped) would raise SIGBUS on the
            // missing pages, which only the process engine survives: check the mapping and
            // the file right before touching them. (A cut during the scan itself still ends
            // a process worker, whose chunk is re-run and then reported, and the thread
            // engine's whole process.)
            if (map.len() as u64) < chunk.end
                || mapped_file.metadata().map_or(true, |m| m.len() < chunk.end)
            {
                fail(ctx, slot, c, FILE_SHRANK)?;
                continue;
            }
            let start = entry.start.load(Ordering::Acquire);
            if !cached(map, start as usize) {
                let _ = map.advise_range(
                    Advice::WillNeed,
                    start as usize,
                    (chunk.end - start) as usize,
                );
            }
            out.clear();
            let at_eof = chunk.end == file.size;
            // A record that began before this chunk and does not end in it: no record starts
            // here, and parsing it again from its start would make a stray quote early in a
            // big file cost a pass over the rest of the file per chunk.
            let inside_one_record = start < chunk.start
                && !quoted_record_ends(
                    map,
                    chunk.start as usize..chunk.end as usize,
                    file.delimiter,
                    at_eof,
                );
            let outcome = if inside_one_record {
                let empty = ctx.task.run(
                    map,
                    start as usize..start as usize,
                    false,
                    file.delimiter,
                    &mut out,
                    &mut scratch,
                );
                ChunkOutcome {
                    partial: Some(start),
                    ..empty
                }
            } else {
                ctx.task.run(
                    map,
                    start as usize..chunk.end as usize,
                    at_eof,
                    file.delimiter,
                    &mut out,
                    &mut scratch,
                )
            };
            if !out.is_empty() {
                ctx.spills[slot]
                    .write_all_at(&out, spill_len)
                    .map_err(|e| spill_failed(ctx, e))?;
            }
            me.bytes.fetch_add(chunk.end - start, Ordering::Relaxed);
            me.records.fetch_add(outcome.records, Ordering::Relaxed);
            me.matches.fetch_add(outcome.matches, Ordering::Relaxed);
            (outcome, out.len() as u64)
        };

        let mut guard = region.lock()?;
        let header = region.header();
        let totals = header.totals.get(&guard);
        header.journal.set(
            &guard,
            Journal {
                active: true,
                chunk: c as u64,
                old_totals: totals,
                undo_len: 0,
            },
        );
        header.totals.set(&guard, totals.plus(&outcome));
        ctx.task.commit(&out, &mut region.commit_view(&mut guard))?;
        ctx.fault
            .trigger(FaultPoint::Commit, c, attempt, ctx.in_process);
        entry.outcome.set(&guard, outcome);
        entry.out_slot.set(&guard, slot as u32);
        entry.out_offset.set(&guard, spill_len);
        spill_len += out_len;
        me.spill_len.set(&guard, spill_len);
        entry.state.store(CHUNK_DONE, Ordering::Release);
        header.journal.set(&guard, Journal::default());
        me.current.store(NO_CHUNK, Ordering::Release);
        drop(guard);
        ctx.notify();
    }
    Ok(())
}

/// Default content bytes per piece of a streamed file.
const PIECE_SIZE: usize = 4 << 20;

/// Scans a streamed file (compressed or transcoded) as one unit: pieces of its content go
/// through the task's kernel, output reaches the spill file (at `spill_at`) piece by piece,
/// and progress counts the bytes read from disk.
fn scan_stream(
    ctx: &JobContext,
    slot: usize,
    file: &PlannedFile,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    spill_at: u64,
) -> Result<ChunkOutcome, PieceError> {
    let source = Source::open(&file.path, file.compression, file.transcode)?;
    let me = ctx.region.slot(slot);
    let mut progress = |n: u64| {
        me.bytes.fetch_add(n, Ordering::Relaxed);
    };
    let stopped = || ctx.region.header().stop.load(Ordering::Acquire) != 0;
    let piece_size = match ctx.plan.piece_size {
        0 => PIECE_SIZE,
        n => n.min(usize::MAX as u64) as usize,
    };
    let mut pieces = Pieces::new(source, file.data_start, piece_size, &mut progress, &stopped);
    let spill = &ctx.spills[slot];
    let mut written = 0u64;
    let mut flush = |out: &mut Vec<u8>| -> io::Result<()> {
        if !out.is_empty() {
            spill
                .write_all_at(out, spill_at + written)
                .map_err(|e| spill_failed(ctx, e))?;
            written += out.len() as u64;
            out.clear();
        }
        Ok(())
    };
    out.clear();
    ctx.task
        .run_pieces(&mut pieces, file.delimiter, out, scratch, &mut flush)?;
    flush(out).map_err(PieceError::Spill)?;
    if ctx.task.shared_words().0 > 0 {
        // The commit folds the unit's whole result into the shared accumulators.
        out.resize(written as usize, 0);
        spill
            .read_exact_at(out, spill_at)
            .map_err(PieceError::Spill)?;
    }
    let mut outcome = pieces.finish(file.first_line);
    outcome.out_bytes = written;
    me.records.fetch_add(outcome.records, Ordering::Relaxed);
    me.matches.fetch_add(outcome.matches, Ordering::Relaxed);
    Ok(outcome)
}

/// Notes a failed spill write for the coordinator (see `RegionHeader::spill_errno`).
fn spill_failed(ctx: &JobContext, e: io::Error) -> io::Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    ctx.region
        .header()
        .spill_errno
        .store(errno, Ordering::Release);
    e
}

/// Takes the assigned chunk if it still waits, else the next fresh one.
fn claim(ctx: &JobContext, slot: usize, assigned: Option<usize>) -> io::Result<Option<usize>> {
    let region = &ctx.region;
    let header = region.header();
    let guard = region.lock()?;
    if header.stop.load(Ordering::Acquire) != 0 {
        return Ok(None);
    }
    let c = match assigned {
        Some(c) if region.chunk(c).state.load(Ordering::Acquire) == CHUNK_PENDING => c,
        _ => {
            let c = header.cursor.get(&guard);
            if c as usize >= region.chunk_count() {
                return Ok(None);
            }
            header.cursor.set(&guard, c + 1);
            c as usize
        }
    };
    let entry = region.chunk(c);
    // If the previous chunk of the same file already finished with its last record running
    // past its end, start there instead of at the guessed boundary. Only a better guess: the
    // coordinator still verifies every start, so a wrong one just costs a re-run.
    if let Some(prev) = c.checked_sub(1) {
        let before = region.chunk(prev);
        if ctx.plan.chunks[prev].file == ctx.plan.chunks[c].file
            && before.state.load(Ordering::Acquire) == CHUNK_DONE
        {
            if let Some(start) = before.outcome.get(&guard).partial {
                entry.start.store(start, Ordering::Release);
            }
        }
    }
    entry.worker.store(slot as u32, Ordering::Relaxed);
    entry.state.store(CHUNK_RUNNING, Ordering::Release);
    region.slot(slot).current.store(c as u64, Ordering::Release);
    Ok(Some(c))
}

fn fail(ctx: &JobContext, slot: usize, c: usize, errno: i32) -> io::Result<()> {
    let guard = ctx.region.lock()?;
    let entry = ctx.region.chunk(c);
    entry.errno.store(errno, Ordering::Relaxed);
    entry.state.store(CHUNK_FAILED, Ordering::Release);
    ctx.region
        .slot(slot)
        .current
        .store(NO_CHUNK, Ordering::Release);
    drop(guard);
    ctx.notify();
    Ok(())
}

/// Whether the page holding `map[at]` is in the page cache. A chunk whose first page is
/// cached is taken to be warm and not read ahead (`WILLNEED`): on warm data that hint costs a
/// page-cache lookup per 4 KiB page, a tenth of a selective scan's time, for nothing. Pages
/// evicted further on are still read ahead as they fault, by the map's `Sequential` advice.
fn cached(map: &Mmap, at: usize) -> bool {
    if at >= map.len() {
        return false;
    }
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let addr = (map.as_ptr() as usize + at) & !(page - 1);
    let mut resident = 0u8;
    // SAFETY: `addr` is page-aligned and inside the mapping (which starts on a page boundary
    // and holds `at`); mincore reads no memory, it only writes one byte per page to `resident`.
    let r = unsafe { libc::mincore(addr as *mut libc::c_void, 1, &mut resident) };
    r == 0 && resident & 1 == 1
}

fn map_file(path: &std::path::Path) -> io::Result<(Mmap, File)> {
    let file = File::open(path)?;
    // SAFETY: the map is read-only. If another process truncates the file while it is mapped,
    // reads past the new end raise SIGBUS: the process engine turns that into a failed worker
    // whose chunk is re-run and then reported with its cause (the file changed under us).
    let map = unsafe { Mmap::map(&file)? };
    let _ = map.advise(Advice::Sequential);
    Ok((map, file))
}

impl Fault {
    /// Dies here if the test knob asks for it: a process aborts (as a crash would), a thread
    /// panics (the closest a thread can get without taking the whole job down).
    fn trigger(&self, point: FaultPoint, chunk: usize, attempt: u32, in_process: bool) {
        if self.fires(point, chunk, attempt) {
            if point == FaultPoint::Stall {
                loop {
                    std::thread::park();
                }
            }
            if point == FaultPoint::Pause {
                // SAFETY: raise has no preconditions; SIGSTOP stops this process (a worker, or
                // the whole job for the thread engine) until the test sends SIGCONT.
                unsafe { libc::raise(libc::SIGSTOP) };
                return;
            }
            if in_process {
                std::process::abort();
            }
            panic!("injected fault at chunk {chunk}");
        }
    }
}
