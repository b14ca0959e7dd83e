//! What `fleet bench` needs beyond running commands: statistics of repeated timings
//! ([`stats`]), the peak private memory of a process tree ([`memory`]), page-cache warming
//! ([`warm`]), one measured, result-checked run of a command ([`measure`](mod@measure)), and
//! grouped bar charts of the results as SVG ([`bars`]). The
//! workloads themselves and the data they run on are the CLI's (cli/src/bench.rs): they are
//! `fleet` command lines.

pub mod bars;
pub mod measure;
pub mod memory;
pub mod stats;
pub mod warm;

pub use measure::{measure, BenchError, Consistency, Invocation, Measured, Produces};
