//! fleet-engine: all of fleet's logic. The `fleet` binary (cli/) only parses arguments and prints.
//!
//! How the pieces fit, in the order a scan uses them:
//! - [`discover`] finds the input files, [`descriptor`] reads a dataset's `fleet.toml`,
//!   [`schema`] settles header and column names, [`expr`] parses `--where` text and
//!   [`predicate`] compiles it against the schema ([`number`] holds the exact decimal compare).
//! - [`plan`] splits each file into chunks at guessed record boundaries ([`ChunkPlan`]);
//!   a compressed (or transcoded, see [`charset`]) file is one unit instead, read through
//!   [`compress`] and scanned in pieces by [`stream`].
//! - [`kernel`] scans one chunk: filter, count, format matching records into a byte sink.
//! - [`region`] is the one shared-memory mapping that coordinator and workers share; [`lock`]
//!   is the robust process-shared mutex on it and [`shared`] the typed accumulators.
//! - [`dataset`] ties discovery, descriptor, header detection and planning together;
//!   [`output`] writes result files atomically; [`interrupt`] turns Ctrl-C into a flag.
//! - [`job`] is the coordinator: it runs workers ([`worker`]) as forked processes or threads,
//!   verifies speculative chunk boundaries, re-runs failed chunks, and streams output in order.
//! - [`bench`](mod@bench) is what `fleet bench` measures with: checked, timed child runs, peak private
//!   memory of a process tree, timing statistics, page-cache warming.
//! - [`columnar`] (feature `columnar`) turns CSV text (a scan's result, an agg table, or input
//!   files for `fleet convert`) into Arrow IPC or Parquet files with exactly inferred types.
//! - [`structure`] and [`candidate`] are the quote-free passes a chunk's bytes go through;
//!   [`digits`] reads the short integers aggregation parses in every record.
pub mod agg;
pub mod aggregate;
pub mod bench;
pub mod candidate;
pub mod charset;
#[cfg(feature = "columnar")]
pub mod columnar;
pub mod compress;
pub mod copy;
pub mod dataset;
pub mod descriptor;
pub mod digits;
pub mod discover;
pub mod expr;
pub mod fault;
pub mod interrupt;
pub mod job;
pub mod kernel;
pub mod lock;
pub mod number;
pub mod output;
pub mod plan;
pub mod predicate;
pub mod record;
pub mod region;
pub mod schema;
pub mod shared;
pub mod stream;
pub mod structure;
pub mod worker;

pub use dataset::{Dataset, DatasetError, DatasetOptions};
pub use job::{
    run_job, run_scan, ChunkTask, Consumer, EngineKind, JobError, JobOptions, Progress, ScanReport,
};
pub use kernel::{Emit, ScanSpec};
pub use plan::{Chunk, ChunkPlan, PlannedFile};
