//! [`ClusterError`]: what the cluster crate's fallible calls return.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("cannot reach the Ballista scheduler at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("invalid scheduler address '{0}': expected df://HOST:PORT or HOST:PORT")]
    BadAddress(String),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Ballista(String),
    #[error("{0}")]
    Query(String),
    #[error(transparent)]
    Sql(#[from] fleet_sql::SqlError),
}
