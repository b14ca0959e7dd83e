//! `agg` as a job. Two paths, chosen per plan by [`AggTask::new`]:
//!
//! - **Dense, shared** (totals; one key that is a small-range canonical integer column,
//!   `hour(COL)` or `weekday(COL)`; only count/count(COL)/sum/mean/stddev): the accumulators
//!   live in the job's shared region as fixed-width cells ([`DenseLayout`]). A worker
//!   aggregates a chunk privately and folds the touched cells into the shared array under the
//!   robust lock, inside the chunk's commit (undo-logged, so a death mid-commit rolls back).
//!   The coordinator subtracts a chunk again if its speculative start proves wrong, and at
//!   the end reads the array. Records whose key falls outside the array go to the hashed
//!   path below within the same chunk.
//! - **Hashed, merged by the coordinator** (any other key or aggregate): a worker hands each
//!   chunk's private [`AggTable`] over encoded in its spill file; the coordinator decodes and
//!   merges tables in plan order, and only for chunks whose start was verified, so a wrong
//!   boundary or a worker that died mid-chunk can never count a record twice.
//!
//! Why not a shared hash table in the region for the second path: a group's state may hold
//! variable-size data (min/max texts, distinct sets) that a fixed region cannot hold without
//! an allocator of its own, and merging in the coordinator keeps undo trivial (an unverified
//! table is simply not merged). Memory is bounded by the number of groups (one table per
//! chunk in flight plus the merged one), not by rows.
//!
//! A chunk's result bytes: the dense delta's length (u64 little-endian), the delta, then the
//! encoded overflow table.

use crate::agg::pipeline::Pipeline;
use crate::agg::{
    finish_per, AggError, AggPlan, AggTable, DenseDelta, DenseLayout, Finished, GroupStore, KeyFn,
    MemoryUse, Sort,
};
use crate::input::plan::ChunkPlan;
use crate::input::stream::{PieceError, Pieces};
use crate::job::{
    run_job, ChunkTask, ChunkView, Consumer, JobError, JobOptions, Progress, ScanReport,
};
use crate::query::condition::Condition;
use crate::scan::kernel::{filter_chunk, Filter, MatchSink, Scratch};
use crate::scan::outcome::ChunkOutcome;
use crate::scan::record::GeneralRecords;
use crate::shm::region::Accumulators;
use std::io;

/// What workers run for `agg`.
#[derive(Debug, Clone)]
pub struct AggTask {
    /// Fields per well-formed record.
    pub ncols: usize,
    /// `--where` tests: only passing records are aggregated.
    pub predicates: Vec<Condition>,
    pub plan: AggPlan,
    /// The shared cells, when the plan takes the dense path.
    pub dense: Option<DenseLayout>,
}

impl AggTask {
    /// The task for `plan`, on the dense path when the plan allows it; for an integer key
    /// column the array covers the key range seen in a sample of `chunks`.
    pub fn new(
        ncols: usize,
        mut predicates: Vec<Condition>,
        plan: AggPlan,
        chunks: &ChunkPlan,
    ) -> AggTask {
        crate::scan::kernel::order_predicates(&mut predicates);
        // The integer column of a one-key plan, or of a two-key plan's other key a time part.
        let int_column = match plan.keys.as_slice() {
            [k] => Some(k.func),
            [a, b] => match (a.func, b.func) {
                (k @ KeyFn::Column(_), KeyFn::Hour(_) | KeyFn::Weekday(_))
                | (KeyFn::Hour(_) | KeyFn::Weekday(_), k @ KeyFn::Column(_)) => Some(k),
                _ => None,
            },
            _ => None,
        };
        let range = match int_column {
            Some(KeyFn::Column(c)) => sample_key_range(chunks, c),
            _ => None,
        };
        let dense = DenseLayout::for_plan(&plan, range);
        AggTask {
            ncols,
            predicates,
            plan,
            dense,
        }
    }

    /// The task, its dense array given up for the hashed path (which spills past `memory`)
    /// when the array, its undo log and the private cells of `workers` workers would take
    /// more than `memory` bytes.
    pub fn within_memory(mut self, memory: u64, workers: usize) -> AggTask {
        if let Some(layout) = &self.dense {
            if layout.footprint(workers) > memory {
                self.dense = None;
            }
        }
        self
    }
}

/// The largest chunk [`AggTask::chunks_for`] makes: a worker's table for one chunk grows with
/// the chunk's distinct keys, so this also bounds it (a few hundred MiB with unique keys).
pub const HASHED_CHUNK_MAX: u64 = 256 << 20;

impl AggTask {
    /// The chunks to run when the user did not choose a chunk size. On the hashed path each
    /// chunk builds a table of its own that is encoded, handed over and merged by the
    /// coordinator, so with many groups the cost grows with the number of chunks (a table of
    /// 380,000 `lat` groups costs about 1,000 instructions per group to build, encode and
    /// merge again): `chunks` is cut into about two chunks per worker, at most
    /// [`HASHED_CHUNK_MAX`] bytes and `memory / (2 * workers)` each, and never smaller than
    /// planned ([`ChunkPlan::coalesced`]: boundaries are only dropped). The dense path folds
    /// chunks into shared cells at no such cost and keeps `chunks` as they are.
    pub fn chunks_for(&self, chunks: &ChunkPlan, workers: usize, memory: u64) -> ChunkPlan {
        if self.dense.is_some() {
            return chunks.clone();
        }
        let share = 2 * workers.max(1) as u64;
        let target = (chunks.total_bytes() / share)
            .min(HASHED_CHUNK_MAX)
            .min(memory / share);
        chunks.coalesced(target)
    }
}

/// Bytes read at each chunk start to guess an integer key's range.
const SAMPLE_BYTES: usize = 16 << 10;
/// Chunk starts sampled at most.
const SAMPLE_CHUNKS: usize = 512;

/// The smallest and largest canonical small integer in column `column` over a sample of
/// records at chunk starts, widened by a quarter of the span on each side: only a sizing
/// hint (keys outside the array are still aggregated exactly, on the hashed path).
pub fn sample_key_range(chunks: &ChunkPlan, column: usize) -> Option<(usize, usize)> {
    let step = chunks.chunks.len().div_ceil(SAMPLE_CHUNKS).max(1);
    let mut lo = usize::MAX;
    let mut hi = 0usize;
    for chunk in chunks.chunks.iter().step_by(step) {
        let file = &chunks.files[chunk.file as usize];
        let Some(buf) = sample_at(file, chunk) else {
            continue;
        };
        // The last line may be cut short: leave it out.
        let end = memchr::memrchr(b'\n', &buf).unwrap_or(0);
        let mut records = GeneralRecords::new(&buf, 0..end, file.delimiter, true);
        while let Some((_, fields)) = records.next_record() {
            if column < fields {
                if let Some(n) = crate::agg::small_int(records.field(column)) {
                    lo = lo.min(n);
                    hi = hi.max(n);
                }
            }
        }
    }
    if lo > hi {
        return None;
    }
    let pad = (hi - lo) / 4 + 16;
    Some((lo.saturating_sub(pad), hi.saturating_add(pad)))
}

/// Up to `SAMPLE_BYTES` of content at the chunk's start (from the start of the decompressed
/// or transcoded content for a streamed file), or `None` when unreadable.
fn sample_at(
    file: &crate::input::plan::PlannedFile,
    chunk: &crate::input::plan::Chunk,
) -> Option<Vec<u8>> {
    if file.streamed() {
        let mut source =
            crate::input::compress::Source::open(&file.path, file.compression, file.transcode)
                .ok()?;
        let (buf, _) = source
            .prefix(file.data_start as usize + SAMPLE_BYTES)
            .ok()?;
        return Some(buf.get(file.data_start as usize..)?.to_vec());
    }
    let f = std::fs::File::open(&file.path).ok()?;
    let mut buf = vec![0u8; SAMPLE_BYTES.min((chunk.end - chunk.start) as usize)];
    let n = std::os::unix::fs::FileExt::read_at(&f, &mut buf, chunk.start).ok()?;
    buf.truncate(n);
    Some(buf)
}

struct TableSink<'a> {
    plan: &'a AggPlan,
    table: &'a mut AggTable,
    pipe: Pipeline,
    dense: Option<(&'a DenseLayout, &'a mut DenseDelta)>,
}

impl MatchSink for TableSink<'_> {
    fn fields_needed(&self) -> usize {
        self.plan.columns_needed()
    }

    #[inline]
    fn matched<'f>(&mut self, raw: &[u8], field: &impl Fn(usize) -> &'f [u8]) {
        if let Some((layout, delta)) = &mut self.dense {
            if let Some(i) = layout.cell_of(raw, &field) {
                delta.update(layout, i, raw, &field);
                return;
            }
        }
        self.table
            .update_pipelined(&mut self.pipe, self.plan, field);
    }

    fn restart(&mut self) {
        self.pipe.clear();
        *self.table = AggTable::new(self.plan);
        if let Some((layout, delta)) = &mut self.dense {
            delta.clear(layout);
        }
    }
}

/// Splits a chunk result into the dense delta and the encoded overflow table.
fn split_result(bytes: &[u8]) -> io::Result<(&[u8], &[u8])> {
    let bad = || io::Error::other("a chunk's aggregate is corrupt");
    let len: [u8; 8] = bytes
        .get(..8)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| bad())?;
    let rest = &bytes[8..];
    if len > rest.len() {
        return Err(bad());
    }
    Ok(rest.split_at(len))
}

impl AggTask {
    /// Aggregates the records of `data[range]` into `table` and `delta` (dense plans).
    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &self,
        view: ChunkView<'_>,
        table: &mut AggTable,
        delta: &mut DenseDelta,
        scratch: &mut Scratch,
    ) -> ChunkOutcome {
        let filter = Filter {
            ncols: self.ncols,
            predicates: &self.predicates,
        };
        if let Some(layout) = &self.dense {
            delta.prepare(layout, view.range.len());
        }
        let mut sink = TableSink {
            plan: &self.plan,
            table,
            pipe: Pipeline::for_plan(&self.plan),
            dense: self.dense.as_ref().map(|l| (l, delta)),
        };
        let ChunkView {
            data,
            range,
            at_eof,
            delimiter,
        } = view;
        let outcome = filter_chunk(data, range, at_eof, delimiter, filter, &mut sink, scratch);
        sink.table.flush_pipeline(&mut sink.pipe, &self.plan);
        outcome
    }

    /// Appends a result as `split_result` reads it: `dense` writes the delta, then the table.
    fn frame(out: &mut Vec<u8>, dense: impl FnOnce(&mut Vec<u8>), table: &AggTable) {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        dense(out);
        let dense_len = (out.len() - start - 8) as u64;
        out[start..start + 8].copy_from_slice(&dense_len.to_le_bytes());
        table.encode(out);
    }

    /// Adds (or, with `negate`, takes back) a committed result's delta in the shared cells.
    fn fold(&self, out: &[u8], acc: &mut Accumulators<'_, '_>, negate: bool) -> io::Result<()> {
        let Some(layout) = &self.dense else {
            return Ok(());
        };
        let (delta, _) = split_result(out)?;
        let fits = if negate {
            layout.uncommit(delta, acc)
        } else {
            layout.commit(delta, acc)
        };
        if fits {
            Ok(())
        } else {
            Err(io::Error::other(
                "a chunk's aggregate does not fit the shared array",
            ))
        }
    }
}

/// What a worker keeps across chunks in its scratch: the dense delta (it may be megabytes),
/// and how many hashed groups its last chunk had, which sizes the next chunk's table so it
/// does not grow step by step (each step re-places every group, a cache miss apiece at
/// hundreds of thousands of groups).
#[derive(Default)]
struct WorkerState {
    delta: DenseDelta,
    last_groups: usize,
}

fn take_state(scratch: &mut Scratch) -> WorkerState {
    scratch
        .task_state
        .take()
        .and_then(|b| b.downcast::<WorkerState>().ok())
        .map(|b| *b)
        .unwrap_or_default()
}

impl ChunkTask for AggTask {
    fn run(&self, view: ChunkView<'_>, out: &mut Vec<u8>, scratch: &mut Scratch) -> ChunkOutcome {
        let WorkerState {
            mut delta,
            last_groups,
        } = take_state(scratch);
        let mut table = AggTable::with_groups(&self.plan, last_groups);
        let outcome = self.aggregate(view, &mut table, &mut delta, scratch);
        let start = out.len();
        Self::frame(
            out,
            |out| {
                if let Some(layout) = &self.dense {
                    delta.encode(layout, out);
                }
            },
            &table,
        );
        scratch.task_state = Some(Box::new(WorkerState {
            delta,
            last_groups: table.groups(),
        }));
        ChunkOutcome {
            out_bytes: (out.len() - start) as u64,
            ..outcome
        }
    }

    fn shared_words(&self) -> (usize, usize) {
        match &self.dense {
            Some(layout) => (layout.words(), layout.undo_words()),
            None => (0, 0),
        }
    }

    fn commit(&self, out: &[u8], acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        self.fold(out, acc, false)
    }

    fn uncommit(&self, out: &[u8], acc: &mut Accumulators<'_, '_>) -> io::Result<()> {
        self.fold(out, acc, true)
    }

    /// A streamed file is one unit with one result: each piece is aggregated privately (the
    /// kernel may restart a piece) and then added into the unit's table and cells.
    fn run_pieces(
        &self,
        pieces: &mut Pieces<'_>,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        _flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> Result<(), PieceError> {
        let mut unit = AggTable::new(&self.plan);
        let mut unit_cells = self.dense.as_ref().map(|l| vec![0u64; l.words()]);
        let WorkerState {
            mut delta,
            last_groups,
        } = take_state(scratch);
        while let Some((data, range, at_eof)) = pieces.next_piece()? {
            let mut table = AggTable::new(&self.plan);
            let view = ChunkView {
                data,
                range,
                at_eof,
                delimiter,
            };
            let outcome = self.aggregate(view, &mut table, &mut delta, scratch);
            pieces.done(&outcome);
            if let (Some(layout), Some(cells)) = (&self.dense, &mut unit_cells) {
                delta.drain_into(layout, cells);
            }
            unit.merge(table);
        }
        scratch.task_state = Some(Box::new(WorkerState { delta, last_groups }));
        Self::frame(
            out,
            |out| {
                if let (Some(layout), Some(cells)) = (&self.dense, &unit_cells) {
                    layout.encode_words(cells, out);
                }
            },
            &unit,
        );
        Ok(())
    }
}

/// The merged groups of every verified chunk, and the scan figures behind it.
#[derive(Debug)]
pub struct AggResult {
    /// Every group when nothing was spilled; in any case the counters (malformed values
    /// and keys) of every chunk. [`AggResult::finish`] gives the rows.
    pub table: AggTable,
    pub report: ScanReport,
    /// The groups past the memory limit, when any were spilled.
    pub store: Option<GroupStore>,
    pub memory: MemoryUse,
}

impl AggResult {
    /// The result of `store`, every part merged into it (a local run's chunks, or a
    /// cluster's parts), with the scan figures behind it.
    pub fn from_store(store: GroupStore, report: ScanReport) -> AggResult {
        let memory = store.usage();
        if store.spilled() {
            return AggResult {
                table: store.table().emptied(),
                report,
                store: Some(store),
                memory,
            };
        }
        AggResult {
            table: store.into_table(),
            report,
            store: None,
            memory,
        }
    }

    /// The final rows (see [`crate::agg::finish_per`]), from memory or from the spilled
    /// partitions.
    pub fn finish(
        &mut self,
        plan: &AggPlan,
        sort: Option<&Sort>,
        top: Option<usize>,
        top_by: Option<usize>,
    ) -> Result<Finished, AggError> {
        match self.store.take() {
            Some(store) => store.finish(plan, sort, top, top_by),
            None => Ok(Finished {
                rows: finish_per(&self.table, plan, sort, top, top_by),
                markers_read_as_text: self.table.markers_read_as_text(),
                usage: self.memory,
                groups: self.table.groups() as u64,
            }),
        }
    }
}

/// Runs `task` over `plan` on workers with no memory limit (see [`run_agg_within`]).
pub fn run_agg(
    plan: ChunkPlan,
    task: AggTask,
    opts: &JobOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<AggResult, JobError> {
    run_agg_within(plan, task, opts, u64::MAX, progress)
}

/// Runs `task` over `plan` on workers: overflow tables merge in plan order in the
/// coordinator, into a [`GroupStore`] that spills past `memory` bytes; the shared cells are
/// read once at the end.
pub fn run_agg_within(
    plan: ChunkPlan,
    task: AggTask,
    opts: &JobOptions,
    memory: u64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<AggResult, JobError> {
    let agg_plan = task.plan.clone();
    let dense = task.dense.clone();
    let mut store = GroupStore::new(&agg_plan, memory);
    let mut merge = |bytes: &[u8]| -> Result<(), JobError> {
        let bad = |e: &dyn std::fmt::Display| JobError::BadChunkResult(e.to_string());
        let (_, table) = split_result(bytes).map_err(|e| bad(&e))?;
        store.merge_encoded(table).map_err(|e| match e {
            AggError::Decode { .. } => bad(&e),
            other => JobError::Agg(other),
        })
    };
    let report = run_job(
        plan,
        Box::new(task),
        opts,
        Consumer::Whole(&mut merge),
        progress,
    )?;
    if let Some(layout) = dense {
        let table = layout.table(&agg_plan, &report.accumulators);
        if store.spilled() {
            store.merge(table).map_err(JobError::Agg)?;
        } else {
            // The dense table is usually the big one: fold the overflow into it rather than
            // the other way round, which also keeps its groups in key order for the final
            // sort.
            let mut table = table;
            let overflow = std::mem::replace(&mut store, GroupStore::new(&agg_plan, memory));
            let usage = overflow.usage();
            table.merge(overflow.into_table());
            store = GroupStore::from_table(table, usage).map_err(JobError::Agg)?;
        }
    }
    Ok(AggResult::from_store(store, report))
}
