//! `agg` as a job: workers aggregate each chunk's passing records into a private
//! [`AggTable`] and hand it over encoded in their spill file; the coordinator decodes and
//! merges tables in plan order, and only for chunks whose speculative start was verified, so a
//! wrongly guessed boundary or a worker that died mid-chunk can never count a record twice.
//!
//! Why per-chunk tables merged by the coordinator rather than a shared hash table in the
//! region: a group's state holds variable-size data (min/max texts, distinct sets), which a
//! fixed region cannot hold without an allocator of its own, and merging in the coordinator
//! keeps the undo story trivial (an unverified table is simply not merged). Memory is bounded
//! by the number of groups (one table per chunk in flight plus the merged one), not by rows.

use crate::agg::{AggPlan, AggTable};
use crate::job::{run_job, ChunkTask, Consumer, JobError, JobOptions, Progress, ScanReport};
use crate::kernel::{filter_chunk, ChunkOutcome, Filter, MatchSink, Scratch};
use crate::plan::ChunkPlan;
use crate::predicate::Predicate;
use crate::stream::{PieceError, Pieces};
use std::io;
use std::ops::Range;

/// What workers run for `agg`.
#[derive(Debug, Clone)]
pub struct AggTask {
    /// Fields per well-formed record.
    pub ncols: usize,
    /// `--where` tests: only passing records are aggregated.
    pub predicates: Vec<Predicate>,
    pub plan: AggPlan,
}

struct TableSink<'a> {
    plan: &'a AggPlan,
    table: &'a mut AggTable,
}

impl MatchSink for TableSink<'_> {
    fn fields_needed(&self) -> usize {
        self.plan.columns_needed()
    }

    #[inline]
    fn matched<'f>(&mut self, _raw: &[u8], field: &dyn Fn(usize) -> &'f [u8]) {
        self.table.update(self.plan, field);
    }

    fn restart(&mut self) {
        *self.table = AggTable::new(self.plan);
    }
}

impl ChunkTask for AggTask {
    fn run(
        &self,
        data: &[u8],
        range: Range<usize>,
        at_eof: bool,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> ChunkOutcome {
        let mut table = AggTable::new(&self.plan);
        let filter = Filter {
            ncols: self.ncols,
            predicates: &self.predicates,
        };
        let mut sink = TableSink {
            plan: &self.plan,
            table: &mut table,
        };
        let outcome = filter_chunk(data, range, at_eof, delimiter, filter, &mut sink, scratch);
        let start = out.len();
        table.encode(out);
        ChunkOutcome {
            out_bytes: (out.len() - start) as u64,
            ..outcome
        }
    }

    /// A streamed file is one unit with one table: each piece's table is merged into it
    /// (a piece's own table may be restarted by the kernel, the unit's must not be).
    fn run_pieces(
        &self,
        pieces: &mut Pieces<'_>,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        _flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> Result<(), PieceError> {
        let mut unit = AggTable::new(&self.plan);
        let filter = Filter {
            ncols: self.ncols,
            predicates: &self.predicates,
        };
        while let Some((data, range, at_eof)) = pieces.next_piece()? {
            let mut table = AggTable::new(&self.plan);
            let mut sink = TableSink {
                plan: &self.plan,
                table: &mut table,
            };
            let outcome = filter_chunk(data, range, at_eof, delimiter, filter, &mut sink, scratch);
            pieces.done(&outcome);
            unit.merge(table);
        }
        unit.encode(out);
        Ok(())
    }
}

/// The merged table of every verified chunk, and the scan figures behind it.
#[derive(Debug)]
pub struct AggResult {
    pub table: AggTable,
    pub report: ScanReport,
}

/// Runs `task` over `plan` on workers and merges the chunks' tables in plan order.
pub fn run_agg(
    plan: ChunkPlan,
    task: AggTask,
    opts: &JobOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<AggResult, JobError> {
    let agg_plan = task.plan.clone();
    let mut total = AggTable::new(&agg_plan);
    let mut merge = |bytes: &[u8]| -> io::Result<()> {
        let table = AggTable::decode(&agg_plan, bytes).map_err(io::Error::other)?;
        total.merge(table);
        Ok(())
    };
    let report = run_job(
        plan,
        Box::new(task),
        opts,
        Consumer::Whole(&mut merge),
        progress,
    )?;
    Ok(AggResult {
        table: total,
        report,
    })
}
