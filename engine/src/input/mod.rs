//! Everything before the first byte is scanned: which files ([`discover`]), how the dataset
//! describes itself ([`descriptor`]: `fleet.toml`), header and column names ([`schema`]),
//! text encodings ([`charset`]) and compression ([`compress`]), the chunk plan ([`plan`]), and
//! the piecewise reading of files that cannot be mapped ([`stream`]), standard input as an
//! input ([`stdin`]), and what counts as a missing value ([`nulls`]). [`dataset`] ties them
//! together into the plan and schema a job runs on.
pub mod charset;
pub mod compress;
pub mod dataset;
pub mod descriptor;
pub mod discover;
pub mod nulls;
pub mod plan;
pub mod schema;
pub mod stdin;
pub mod stream;
