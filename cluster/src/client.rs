//! The client side: a Ballista session that carries fleet's codecs, the scheduler address
//! checked before anything is planned, and errors from anywhere in the cluster cut down to
//! the one line a fleet node wrote.

use crate::codec::{FleetLogicalCodec, FleetPhysicalCodec};
use crate::error::ClusterError;
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

const OPEN: &str = "<fleet>";
const CLOSE: &str = "</fleet>";

/// Marks a message written by a fleet node so that the client can find it inside the
/// layers of context Ballista and DataFusion wrap around a failed task.
pub fn tagged(message: &str) -> String {
    format!("{OPEN}{message}{CLOSE}")
}

/// What Ballista says when an executor could not decode a task (the reason stays on the
/// executor).
const REJECTED: &str = "rejected by executor";

/// One line for the terminal: the first fleet-tagged message inside `error` if there is one,
/// else the whole text on one line.
pub fn one_line(error: &str) -> String {
    let line = first_line(error);
    if line.contains(REJECTED) && !line.contains("fleet build") {
        return format!(
            "{line} (an executor could not read the task: does every node run the same fleet \
             build? the executor's stderr says why)"
        );
    }
    line
}

fn first_line(error: &str) -> String {
    if let Some(start) = error.find(OPEN) {
        let rest = &error[start + OPEN.len()..];
        if let Some(end) = rest.find(CLOSE) {
            // A message that went through Debug formatting on its way has escaped quotes.
            return rest[..end].replace("\\\"", "\"").replace("\\\\", "\\");
        }
    }
    error.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `df://HOST:PORT` or `HOST:PORT` as the `HOST:PORT` to connect to.
pub fn scheduler_addr(url: &str) -> Result<String, ClusterError> {
    let hostport = url
        .strip_prefix("df://")
        .unwrap_or(url)
        .trim_end_matches('/');
    match hostport.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(hostport.to_string())
        }
        _ => Err(ClusterError::BadAddress(url.to_string())),
    }
}

/// Fails with one line unless something accepts TCP connections at `addr` (a Ballista
/// client would otherwise only fail at the first query, with a gRPC transport error).
pub fn check_reachable(addr: &str) -> Result<(), ClusterError> {
    let unreachable = |reason: String| ClusterError::Unreachable {
        addr: addr.to_string(),
        reason,
    };
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// The session config every fleet client uses: Ballista's, with fleet's codecs.
pub fn session_config(target_partitions: usize) -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_target_partitions(target_partitions.max(1))
        .with_ballista_logical_extension_codec(Arc::new(FleetLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(FleetPhysicalCodec::default()))
}

/// A DataFusion context whose queries run on the Ballista cluster at `addr` (`HOST:PORT`).
/// Must be called inside a tokio runtime.
pub async fn remote_context(
    addr: &str,
    target_partitions: usize,
) -> Result<SessionContext, ClusterError> {
    crate::init_logging();
    let state = SessionStateBuilder::new()
        .with_config(session_config(target_partitions))
        .with_default_features()
        .build();
    SessionContext::remote_with_state(&format!("df://{addr}"), state)
        .await
        .map_err(|e| ClusterError::Ballista(one_line(&e.to_string())))
}

/// Runs `job` on the cluster at `addr` and returns each part's result, in part order.
pub fn run_verb(
    addr: &str,
    job: crate::verb::VerbJob,
) -> Result<Vec<crate::verb::PartOutput>, ClusterError> {
    check_reachable(addr)?;
    let parts = job.groups.len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fleet-client")
        .enable_all()
        .build()
        .map_err(ClusterError::Runtime)?;
    let batches = rt.block_on(async {
        let ctx = remote_context(addr, parts).await?;
        let table = crate::verb::VerbTable::new(job)
            .map_err(|e| ClusterError::Query(one_line(&e.to_string())))?;
        let frame = ctx
            .read_table(Arc::new(table))
            .map_err(|e| ClusterError::Query(one_line(&e.to_string())))?;
        frame
            .collect()
            .await
            .map_err(|e| ClusterError::Query(one_line(&e.to_string())))
    })?;
    crate::verb::assemble(&batches, parts).map_err(ClusterError::Query)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_line_is_found_inside_wrapped_errors() {
        let inner = tagged("path /data/gps is missing on executor e1");
        let wrapped = format!("Execution error: Job failed: Task failed: {inner:?} (retries: 4)");
        assert_eq!(
            one_line(&wrapped),
            "path /data/gps is missing on executor e1"
        );
        assert_eq!(one_line("a\n  b"), "a b");
    }

    #[test]
    fn scheduler_addresses() {
        assert_eq!(
            scheduler_addr("df://127.0.0.1:50050").unwrap(),
            "127.0.0.1:50050"
        );
        assert_eq!(scheduler_addr("host:1").unwrap(), "host:1");
        assert!(scheduler_addr("df://host").is_err());
        assert!(scheduler_addr("df://:1").is_err());
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let e = check_reachable(&addr).unwrap_err().to_string();
        assert!(
            e.starts_with("cannot reach the Ballista scheduler at"),
            "{e}"
        );
    }
}
