//! fleet-cluster: fleet on an Apache Ballista cluster. The scheduler and executor processes
//! are Ballista's, started with fleet's extension codecs so that fleet's tables and execution
//! plans travel between client, scheduler and executors; the verbs (`fleet agg --cluster`,
//! `fleet scan --cluster`) run as one Ballista job whose tasks are groups of whole files.
//!
//! - [`wire`]: the envelope of every fleet payload in a Ballista plan: a magic tag and the
//!   fleet version, refused on a mismatch.
//! - [`codec`]: [`FleetLogicalCodec`] and [`FleetPhysicalCodec`], Ballista's codecs with
//!   fleet's nodes added.
//! - [`table`]: [`ClusterTable`], a `fleet sql` table whose scan is planned on the scheduler
//!   and run on an executor.
//! - [`verb`]: [`VerbTable`] and [`VerbExec`], one partition per group of files, each run by a
//!   [`PartRunner`] the `fleet` binary provides (the verbs' code lives in the CLI).
//! - [`node`]: starting a scheduler or an executor in this process.
//! - [`client`]: a Ballista session with fleet's codecs, and running a verb's job.
//! - [`logging`]: Ballista's log lines on stderr when `RUST_LOG` is set.
//! - [`error`]: what the fallible calls here return, [`ClusterError`].

pub mod client;
pub mod codec;
pub mod error;
pub mod logging;
pub mod node;
pub mod table;
pub mod verb;
pub mod wire;

pub use codec::{FleetLogicalCodec, FleetPhysicalCodec};
pub use error::ClusterError;
pub use table::ClusterTable;
pub use verb::{encode_schema, FileStamp, PartOutput, PartRunner, VerbExec, VerbJob, VerbTable};

pub use logging::init_logging;
