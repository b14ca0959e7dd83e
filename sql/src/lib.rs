//! fleet-sql: fleet's scan as an Apache DataFusion table, so SQL (joins, window functions,
//! `ORDER BY`, `CASE`, string and date functions) runs over folders of large CSV files while
//! fleet's kernels do the reading.
//!
//! - [`table`]: [`FleetTable`], the `TableProvider`: opens a dataset as `fleet scan` does,
//!   settles the Arrow schema, says which filters fleet evaluates exactly.
//! - [`types`]: column types from `fleet.toml`'s `[types]` or inferred from a sample.
//! - [`filter`]: DataFusion filter expressions compiled into fleet predicates (run by the
//!   kernel) and a residual condition (run on each kernel match, before any Arrow row exists).
//! - [`task`]: the `ChunkTask` the workers run: filter a chunk, build Arrow columns of the
//!   projected fields, hand them back as framed Arrow IPC.
//! - [`exec`]: [`FleetScanExec`], the `ExecutionPlan`: one partition per group of files, each
//!   a job on fleet's thread engine beside tokio, streaming its batches.
//! - [`order`]: [`order::FileOrder`], the rule that keeps file order where the result is
//!   the scan's rows as they come.
//! - [`pushdown`], [`aggregate`]: partial aggregates run by fleet's aggregation kernel.
//! - [`session`]: [`SqlSession`], a DataFusion session on its own tokio runtime (what `fleet
//!   sql` drives).
//! - [`format`]: results as CSV, JSON lines, a table, Arrow or Parquet.
//! - [`error`]: [`SqlError`], what every fallible call here returns.

pub mod aggregate;
pub mod error;
pub mod exec;
pub mod filter;
pub mod format;
mod frame;
pub mod order;
pub mod pushdown;
pub mod session;
pub mod table;
pub mod task;
pub mod types;

pub use datafusion;
pub use error::SqlError;
pub use exec::FleetScanExec;
pub use session::SqlSession;
pub use table::{FleetTable, ScanTotals, TableOptions};
