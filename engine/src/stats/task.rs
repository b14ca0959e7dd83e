//! `stats` as a job: [`StatsTask`] profiles each chunk's records that pass `--where` into one
//! [`ColumnProfile`] per selected column and hands them over encoded; [`run_stats`] decodes
//! and merges them in the coordinator in plan order, for verified chunks only (as agg's
//! hashed path: a chunk re-run after a wrong boundary or a crash is merged once). Nothing is
//! shared in the region: a profile's distinct values and sketches have no fixed size.

use super::codec::{decode, encode};
use super::profile::ColumnProfile;
use crate::input::nulls::NullMarkers;
use crate::input::plan::ChunkPlan;
use crate::input::stream::{PieceError, Pieces};
use crate::job::{
    run_job, ChunkTask, ChunkView, Consumer, JobError, JobOptions, Progress, ScanReport,
};
use crate::query::condition::Condition;
use crate::scan::kernel::{filter_chunk, Filter, MatchSink, Scratch};
use crate::scan::outcome::ChunkOutcome;
use std::io;

/// What workers run for `stats`.
#[derive(Debug, Clone)]
pub struct StatsTask {
    /// Fields per well-formed record.
    pub ncols: usize,
    /// `--where` tests: only passing records are profiled.
    pub predicates: Vec<Condition>,
    /// The columns profiled (0-based), in output order.
    pub columns: Vec<usize>,
    pub nulls: NullMarkers,
}

impl StatsTask {
    pub fn new(
        ncols: usize,
        mut predicates: Vec<Condition>,
        columns: Vec<usize>,
        nulls: NullMarkers,
    ) -> StatsTask {
        crate::scan::kernel::order_predicates(&mut predicates);
        StatsTask {
            ncols,
            predicates,
            columns,
            nulls,
        }
    }

    fn fresh(&self) -> Vec<ColumnProfile> {
        vec![ColumnProfile::default(); self.columns.len()]
    }

    fn profile(
        &self,
        view: ChunkView<'_>,
        profiles: &mut Vec<ColumnProfile>,
        scratch: &mut Scratch,
    ) -> ChunkOutcome {
        let filter = Filter {
            ncols: self.ncols,
            predicates: &self.predicates,
        };
        let mut sink = ProfileSink {
            task: self,
            profiles,
        };
        let ChunkView {
            data,
            range,
            at_eof,
            delimiter,
        } = view;
        let outcome = filter_chunk(data, range, at_eof, delimiter, filter, &mut sink, scratch);
        for p in profiles.iter_mut() {
            p.finish();
        }
        outcome
    }
}

struct ProfileSink<'a> {
    task: &'a StatsTask,
    profiles: &'a mut Vec<ColumnProfile>,
}

impl MatchSink for ProfileSink<'_> {
    fn fields_needed(&self) -> usize {
        self.task.columns.iter().map(|c| c + 1).max().unwrap_or(0)
    }

    #[inline]
    fn matched<'f>(&mut self, raw: &[u8], field: &impl Fn(usize) -> &'f [u8]) {
        for (p, &c) in self.profiles.iter_mut().zip(&self.task.columns) {
            p.observe_in(raw, field(c), &self.task.nulls);
        }
    }

    fn restart(&mut self) {
        *self.profiles = self.task.fresh();
    }
}

impl ChunkTask for StatsTask {
    fn run(&self, view: ChunkView<'_>, out: &mut Vec<u8>, scratch: &mut Scratch) -> ChunkOutcome {
        let mut profiles = self.fresh();
        let outcome = self.profile(view, &mut profiles, scratch);
        let start = out.len();
        encode(&profiles, out);
        ChunkOutcome {
            out_bytes: (out.len() - start) as u64,
            ..outcome
        }
    }

    /// A streamed file is one unit with one result: its pieces' profiles are merged.
    fn run_pieces(
        &self,
        pieces: &mut Pieces<'_>,
        delimiter: u8,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        _flush: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> Result<(), PieceError> {
        let mut unit = self.fresh();
        while let Some((data, range, at_eof)) = pieces.next_piece()? {
            let mut piece = self.fresh();
            let view = ChunkView {
                data,
                range,
                at_eof,
                delimiter,
            };
            let outcome = self.profile(view, &mut piece, scratch);
            pieces.done(&outcome);
            for (u, p) in unit.iter_mut().zip(piece) {
                u.merge(p);
            }
        }
        encode(&unit, out);
        Ok(())
    }
}

/// The merged profiles of every verified chunk, one per selected column, and the scan
/// figures behind them (records, malformed records, ...).
#[derive(Debug)]
pub struct StatsResult {
    pub profiles: Vec<ColumnProfile>,
    pub report: ScanReport,
}

/// Runs `task` over `plan` on workers; the chunks' profiles merge in the coordinator.
pub fn run_stats(
    plan: ChunkPlan,
    task: StatsTask,
    opts: &JobOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<StatsResult, JobError> {
    let mut total = task.fresh();
    let mut merge = |bytes: &[u8]| -> Result<(), JobError> {
        let chunk = decode(bytes).map_err(|e| JobError::BadChunkResult(e.to_string()))?;
        if chunk.len() != total.len() {
            return Err(JobError::BadChunkResult(
                super::StatsError::Corrupt.to_string(),
            ));
        }
        for (t, p) in total.iter_mut().zip(chunk) {
            t.merge(p);
        }
        Ok(())
    };
    let report = run_job(
        plan,
        Box::new(task),
        opts,
        Consumer::Whole(&mut merge),
        progress,
    )?;
    Ok(StatsResult {
        profiles: total,
        report,
    })
}
