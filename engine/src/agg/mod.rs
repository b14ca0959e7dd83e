//! The aggregation kernel behind `fleet agg`: group records by keys and compute exact
//! aggregates, chunk by chunk, in private tables that merge in any order with byte-identical
//! output.
//!
//! How the pieces fit (files of this folder):
//! - `spec.rs` parses `--agg`, `--group-by` and `--sort` against the
//!   [`crate::input::schema::Schema`] into an [`AggPlan`]; `error.rs` holds the one error type,
//!   [`AggError`].
//! - [`AggTable`] (`table.rs`) is a worker's private state: `update` per record, `merge` per
//!   table. Group keys are packed by `keys.rs` (which also derives hour/day/weekday/month
//!   from timestamps) and hashed with `hash.rs`; the per-aggregate states live in `accum.rs`,
//!   whose sums use the exact fixed-point arithmetic of `exact.rs` (which also explains why
//!   the output cannot depend on chunking or merge order).
//! - `pipeline.rs` feeds a table many records at a time when there are many groups: each
//!   record's group slot is prefetched and looked up a few records later, its states
//!   updated a few records after that, so the cache misses of a large table overlap
//!   (`groups.rs` is the index it probes, `prefetch.rs` the hint).
//! - `dense.rs` is the shared path: totals and small-integer keys (ids, hours, weekdays) as
//!   fixed-width cells in the job's shared region, committed by workers under the lock.
//! - `codec.rs` turns a table into bytes and back, for tables that cross process boundaries;
//!   `arrow_states.rs` (feature `columnar`) into Arrow batches of typed state columns and
//!   back, for tables that cross machines (`fleet agg --cluster`).
//! - `spill.rs` holds the coordinator's merged table under `--memory` ([`GroupStore`]):
//!   past the limit its groups go to temporary files in 64 hash partitions, merged and
//!   sorted partition by partition on the rayon pool at the end.
//! - `output.rs` prints the merged table: [`finish`] orders the rows, [`write_csv`] and
//!   [`write_jsonl`] format them.
//! - [`task`] runs all of it as a job: [`task::AggTask`] is the [`crate::job::ChunkTask`]
//!   workers run, [`task::run_agg`] the entry point.

mod accum;
#[cfg(feature = "columnar")]
mod arrow_states;
mod codec;
mod dense;
mod error;
pub(crate) mod exact;
mod groups;
mod hash;
mod keys;
mod output;
mod pipeline;
mod prefetch;
mod spec;
mod spill;
mod table;
pub mod task;

pub use accum::APPROX_RELATIVE_ERROR;
#[cfg(feature = "columnar")]
pub use arrow_states::STATE_BATCH_BYTES;
pub use dense::{DenseDelta, DenseLayout};
pub use error::AggError;
pub use output::{finish, finish_per, unordered_rows, write_csv, write_jsonl, write_table, AggRow};
pub use spec::{
    parse_agg, parse_group_by, parse_sort, parse_top_by, AggFn, AggPlan, AggSpec, GroupKey, KeyFn,
    Sort, SortKey, SortTerm, TimeFormat,
};
pub use spill::{default_memory_limit, Finished, GroupStore, MemoryUse, PARTITIONS};
pub(crate) use table::small_int;
pub use table::AggTable;
