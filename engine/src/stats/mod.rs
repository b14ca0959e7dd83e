//! `fleet stats`: every column profiled in one parallel pass over the same inputs, engines,
//! progress and `--where` as `scan` and `agg`.
//!
//! - [`profile`]: [`ColumnProfile`], what a pass learns about one column (type guess, counts,
//!   exact sums, extremes, timestamps per day, distinct values exactly up to a cap and as
//!   sketches beyond it), built per chunk and merged exactly across chunks and workers.
//! - [`quantile_sketch`]: [`quantile_sketch::QuantileSketch`], the quantiles past the cap
//!   (log-spaced bins read from a value's bits, 0.05% relative accuracy).
//! - `codec.rs`: a chunk's profiles as bytes, to cross from a worker process to the
//!   coordinator; `error.rs`: [`StatsError`].
//! - [`task`]: [`task::StatsTask`], the [`crate::job::ChunkTask`] workers run, and
//!   [`task::run_stats`], which merges the chunks' profiles in plan order (as agg merges its
//!   hashed tables: only verified chunks, so a re-run never counts a record twice).
//! - [`summary`]: the figures printed for one column ([`ColumnSummary`]), from its merged
//!   profile: the column type as `fleet convert` infers it ([`crate::columnar::infer`]),
//!   missing values by the null rule of [`crate::input::nulls`].

mod codec;
mod error;
pub mod profile;
pub mod quantile_sketch;
pub mod summary;
pub mod task;

pub use codec::{decode, encode};
pub use error::StatsError;
pub use profile::{ColumnProfile, EXACT_CAP};
pub use summary::{ColumnSummary, HISTOGRAM_BINS, QUANTILES};
