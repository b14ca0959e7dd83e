//! fleet-engine: all of fleet's scan and aggregation logic. The `fleet` binary (cli/) only
//! parses arguments and prints. A scan passes through the layers in this order:
//!
//! - [`input`]: find files, read `fleet.toml`, settle header and columns, plan chunks at
//!   record boundaries ([`ChunkPlan`]); compressed or transcoded files are streamed in pieces.
//! - [`query`]: parse `--where` text and compile it into [`Predicate`](query::predicate::Predicate)s.
//! - [`scan`]: the chunk kernel ([`ScanSpec`], `scan_chunk`, `filter_chunk`), record splitting
//!   and the CSV/JSON field writers.
//! - [`simd`]: the structural and candidate passes over 64-byte blocks, and SWAR digits.
//! - [`job`]: the coordinator and its workers (forked processes or threads) running a
//!   [`ChunkTask`] over a plan, exactly once per chunk, output in plan order.
//! - [`shm`]: the shared-memory region workers commit into, its robust lock and typed values.
//! - [`agg`]: `fleet agg` as a [`ChunkTask`]: specs, keys, dense shared cells, hashed tables.
//! - [`columnar`] (feature `columnar`): Arrow IPC / Parquet output and `fleet convert`.
//! - [`stats`] (feature `columnar`, whose type inference it shares): `fleet stats` as a
//!   [`ChunkTask`]: per-chunk column profiles merged exactly in the coordinator.
//! - [`output`]: atomic result files; [`sys`]: the few raw system calls; [`text`]: message text.
//!
//! `docs/architecture.md` draws the path of one chunk from plan to commit to output.
pub mod agg;
#[cfg(feature = "columnar")]
pub mod columnar;
pub mod input;
pub mod job;
pub mod output;
pub mod query;
pub mod scan;
pub mod shm;
pub mod simd;
#[cfg(feature = "columnar")]
pub mod stats;
pub mod sys;
pub mod text;

pub use input::dataset::{Dataset, DatasetError, DatasetOptions};
pub use input::plan::{Chunk, ChunkPlan, PlannedFile};
pub use job::{
    run_job, run_scan, ChunkTask, Consumer, EngineKind, JobError, JobOptions, Progress, ScanReport,
};
pub use scan::format::Emit;
pub use scan::kernel::ScanSpec;
