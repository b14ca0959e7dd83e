//! A worker: claims chunks from the shared cursor, scans each with private state, appends the
//! chunk's formatted output to its own spill file, and commits the chunk's outcome and done
//! mark together under the region's lock (once per chunk, never per record).
//!
//! A streamed file (compressed, or transcoded to UTF-8) is a single chunk: the worker reads it
//! through `input::compress::Source` in pieces (`input/stream.rs`), appends each piece's output to the spill
//! file as it goes, and commits the unit like any chunk, once.
//!
//! The same loop runs in a forked process and on a rayon thread; only the coordinator knows which.

use crate::input::compress::Source;
use crate::input::plan::PlannedFile;
use crate::input::stream::{PieceError, Pieces};
use crate::job::context::JobContext;
use crate::job::fault::FaultPoint;
use crate::job::task::{ChunkFailure, ChunkView};
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

/// Runs until no chunk is left (or the coordinator says stop). `first` is a chunk the
/// coordinator assigned for a re-run; it is taken before any fresh chunk.
pub fn run_worker(ctx: &JobContext, slot: usize, mut first: Option<usize>) -> io::Result<()> {
    let mut spill_len = {
        let guard = ctx.region.lock()?;
        ctx.region.slot(slot).spill_len.get(&guard)
    };
    let mut mapped: Option<MappedFile> = None;
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    while let Some(c) = claim(ctx, slot, first.take())? {
        let attempt = ctx.region.chunk(c).attempts.load(Ordering::Acquire);
        for point in [FaultPoint::Scan, FaultPoint::Stall, FaultPoint::Pause] {
            ctx.fault.trigger(point, c, attempt, ctx.in_process);
        }
        let file = &ctx.plan.files[ctx.plan.chunks[c].file as usize];
        let step = if file.is_stdin() && attempt > 0 {
            // Its first reader took the stream: a re-run would see only what was left.
            Step::Failed(ChunkFailure::StdinReread)
        } else if file.streamed() {
            scan_streamed(ctx, slot, file, &mut out, &mut scratch, spill_len)?
        } else {
            scan_mapped(ctx, slot, c, &mut mapped, &mut out, &mut scratch, spill_len)?
        };
        match step {
            Step::Scanned(scanned) => {
                commit(ctx, slot, c, attempt, &scanned, &out, spill_len)?;
                spill_len += scanned.out_len;
            }
            Step::Failed(failure) => fail(ctx, slot, c, failure)?,
            Step::Stopped => return Ok(()),
        }
    }
    Ok(())
}

/// How scanning one chunk ended.
// One per chunk, moved once: boxing the outcome would cost an allocation per chunk to save a
// copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
enum Step {
    Scanned(Scanned),
    /// The chunk's file could not be read: the coordinator reports it.
    Failed(ChunkFailure),
    /// The coordinator said stop.
    Stopped,
}

/// A scanned chunk: its result is in the spill file at the worker's spill length (`out_len`
/// bytes), and in `out` too when the task folds it into shared accumulators at commit.
struct Scanned {
    outcome: ChunkOutcome,
    out_len: u64,
}

/// The mapped file the worker's last chunk came from, kept for the next chunk of the file.
struct MappedFile {
    index: u32,
    map: Mmap,
    file: File,
}

/// Scans chunk `c` of a mapped file: its result goes to `out` and the spill file.
#[allow(clippy::too_many_arguments)]
fn scan_mapped(
    ctx: &JobContext,
    slot: usize,
    c: usize,
    mapped: &mut Option<MappedFile>,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    spill_at: u64,
) -> io::Result<Step> {
    let chunk = ctx.plan.chunks[c];
    let file = &ctx.plan.files[chunk.file as usize];
    if mapped.as_ref().map(|m| m.index) != Some(chunk.file) {
        *mapped = None;
        match map_file(&file.path) {
            Ok((map, f)) => {
                *mapped = Some(MappedFile {
                    index: chunk.file,
                    map,
                    file: f,
                })
            }
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                return Ok(Step::Failed(ChunkFailure::Read(errno)));
            }
        }
    }
    let Some(MappedFile {
        map,
        file: mapped_file,
        ..
    }) = mapped.as_ref()
    else {
        return Ok(Step::Failed(ChunkFailure::Read(libc::EIO)));
    };
    // A file cut short since it was planned (or mapped) would raise SIGBUS on the missing
    // pages, which only the process engine survives: check the mapping and the file right
    // before touching them. (A cut during the scan itself still ends a process worker, whose
    // chunk is re-run and then reported, and the thread engine's whole process.)
    if (map.len() as u64) < chunk.end
        || mapped_file.metadata().map_or(true, |m| m.len() < chunk.end)
    {
        return Ok(Step::Failed(ChunkFailure::FileShrank));
    }
    let start = ctx.region.chunk(c).start.load(Ordering::Acquire);
    if !crate::sys::page_cached(map, start as usize) {
        let _ = map.advise_range(
            Advice::WillNeed,
            start as usize,
            (chunk.end - start) as usize,
        );
    }
    out.clear();
    let at_eof = chunk.end == file.size;
    // A record that began before this chunk and does not end in it: no record starts here,
    // and parsing it again from its start would make a stray quote early in a big file cost
    // a pass over the rest of the file per chunk.
    let inside_one_record = start < chunk.start
        && !quoted_record_ends(
            map,
            chunk.start as usize..chunk.end as usize,
            file.delimiter,
            at_eof,
        );
    let (range, at_eof) = if inside_one_record {
        (start as usize..start as usize, false)
    } else {
        (start as usize..chunk.end as usize, at_eof)
    };
    let view = ChunkView {
        data: map,
        range,
        at_eof,
        delimiter: file.delimiter,
    };
    let mut outcome = ctx.task.run(view, out, scratch);
    if inside_one_record {
        outcome.partial = Some(start);
    }
    if !out.is_empty() {
        ctx.spills[slot]
            .write_all_at(out, spill_at)
            .map_err(|e| spill_failed(ctx, e))?;
    }
    let me = ctx.region.slot(slot);
    me.bytes.fetch_add(chunk.end - start, Ordering::Relaxed);
    me.records.fetch_add(outcome.records, Ordering::Relaxed);
    me.matches.fetch_add(outcome.matches, Ordering::Relaxed);
    Ok(Step::Scanned(Scanned {
        outcome,
        out_len: out.len() as u64,
    }))
}

/// Commits chunk `c` under the lock, exactly once: totals, the task's shared accumulators
/// (undo-logged), the outcome and where its output sits, then `DONE` (see the commit
/// protocol in `shm/region.rs`).
fn commit(
    ctx: &JobContext,
    slot: usize,
    c: usize,
    attempt: u32,
    scanned: &Scanned,
    out: &[u8],
    spill_at: u64,
) -> io::Result<()> {
    let outcome = &scanned.outcome;
    let region = &ctx.region;
    let entry = region.chunk(c);
    let me = region.slot(slot);
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
    header.totals.set(&guard, totals.plus(outcome));
    ctx.task.commit(out, &mut region.commit_view(&mut guard))?;
    ctx.fault
        .trigger(FaultPoint::Commit, c, attempt, ctx.in_process);
    entry.outcome.set(&guard, *outcome);
    entry.out_slot.set(&guard, slot as u32);
    entry.out_offset.set(&guard, spill_at);
    me.spill_len.set(&guard, spill_at + scanned.out_len);
    entry.state.store(CHUNK_DONE, Ordering::Release);
    header.journal.set(&guard, Journal::default());
    me.current.store(NO_CHUNK, Ordering::Release);
    drop(guard);
    ctx.notify();
    Ok(())
}

/// Scans a streamed file, one unit of work (see [`scan_stream`]).
fn scan_streamed(
    ctx: &JobContext,
    slot: usize,
    file: &PlannedFile,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    spill_at: u64,
) -> io::Result<Step> {
    match scan_stream(ctx, slot, file, out, scratch, spill_at) {
        Ok(outcome) => Ok(Step::Scanned(Scanned {
            out_len: outcome.out_bytes,
            outcome,
        })),
        Err(PieceError::Stopped) => Ok(Step::Stopped),
        Err(PieceError::Spill(e)) => Err(e),
        Err(PieceError::Stream(e)) => Ok(Step::Failed(ChunkFailure::from(&e))),
    }
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

/// Marks chunk `c` failed, with why, for the coordinator to report.
fn fail(ctx: &JobContext, slot: usize, c: usize, failure: ChunkFailure) -> io::Result<()> {
    let guard = ctx.region.lock()?;
    let entry = ctx.region.chunk(c);
    entry.failure.store(failure.to_word(), Ordering::Relaxed);
    entry.state.store(CHUNK_FAILED, Ordering::Release);
    ctx.region
        .slot(slot)
        .current
        .store(NO_CHUNK, Ordering::Release);
    drop(guard);
    ctx.notify();
    Ok(())
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
