//! Starting a Ballista scheduler or executor inside this process, with fleet's codecs. Each
//! runs on a multi-threaded tokio runtime of its own until the process is stopped; fleet's
//! work on an executor runs on OS threads beside it (the thread engine: a process that
//! forks must not be running tokio).

use crate::codec::{FleetLogicalCodec, FleetPhysicalCodec};
use crate::error::ClusterError;
use crate::verb::PartRunner;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::{BallistaCluster, ClusterStateEvent};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use futures::StreamExt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

static ROLE: OnceLock<String> = OnceLock::new();

/// What this process is, for error lines: `executor HOST:PORT`, `the scheduler`, `the client`.
pub fn role() -> &'static str {
    ROLE.get().map_or("the client", String::as_str)
}

/// How long the scheduler waits for an executor's heartbeat before it counts the executor
/// lost and runs its tasks elsewhere (Ballista's default is 180 s).
pub const EXECUTOR_TIMEOUT_SECS: u64 = 30;
/// How often an executor reports to the scheduler (Ballista's default is 60 s, which would
/// be longer than the timeout above).
pub const HEARTBEAT_SECS: u64 = 5;

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The host executors reach this scheduler at (they report task status there); default:
    /// the bind address, or `localhost` when that is `0.0.0.0`.
    pub advertise: Option<String>,
    pub executor_timeout_secs: u64,
}

fn runtime(name: &str) -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(ClusterError::Runtime)
}

/// Runs a scheduler until the process ends. Prints `listening on ADDR` once bound (the port
/// the OS chose for `:0`), then a line per executor registered or removed.
pub fn run_scheduler(opts: &SchedulerOptions) -> Result<(), ClusterError> {
    let _ = ROLE.set("the scheduler".into());
    crate::init_logging();
    let rt = runtime("fleet-scheduler")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|e| ClusterError::Ballista(format!("cannot listen on {}: {e}", opts.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ClusterError::Ballista(e.to_string()))?;
        // Executors send their task status to `external_host:bind_port`, which the
        // scheduler hands them with each task: it must be the port actually bound (not the
        // 0 of `--bind HOST:0`), or no task ever reports back and the job never ends.
        let host = opts.advertise.clone().unwrap_or_else(|| {
            if addr.ip().is_unspecified() {
                "localhost".to_string()
            } else {
                addr.ip().to_string()
            }
        });
        let config = SchedulerConfig {
            bind_host: addr.ip().to_string(),
            bind_port: addr.port(),
            external_host: host.clone(),
            executor_timeout_seconds: opts.executor_timeout_secs,
            expire_dead_executor_interval_seconds: 2.min(opts.executor_timeout_secs).max(1),
            no_executors_grace_period_seconds: opts.executor_timeout_secs,
            override_logical_codec: Some(Arc::new(FleetLogicalCodec::default())),
            override_physical_codec: Some(Arc::new(FleetPhysicalCodec::default())),
            ..SchedulerConfig::default()
        };
        let ballista = |e: ballista_core::error::BallistaError| {
            ClusterError::Ballista(crate::client::one_line(&e.to_string()))
        };
        config.validate().map_err(ballista)?;
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(ballista)?;
        let scheduler =
            create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
                .await
                .map_err(ballista)?;
        let mut events = scheduler
            .state
            .executor_manager
            .cluster_state_events()
            .await
            .map_err(ballista)?;
        tokio::spawn(async move {
            let mut alive = std::collections::BTreeSet::new();
            while let Some(event) = events.next().await {
                match event {
                    ClusterStateEvent::RegisteredExecutor { executor_id } => {
                        alive.insert(executor_id.clone());
                        eprintln!(
                            "fleet cluster scheduler: executor {executor_id} registered ({} alive)",
                            alive.len()
                        );
                    }
                    ClusterStateEvent::RemovedExecutor { executor_id } => {
                        alive.remove(&executor_id);
                        eprintln!(
                            "fleet cluster scheduler: executor {executor_id} removed ({} alive)",
                            alive.len()
                        );
                    }
                }
            }
        });
        eprintln!(
            "fleet cluster scheduler: fleet {} on Ballista {}, listening on {addr} \
             (executors report to {host}:{})",
            crate::wire::fleet_version(),
            ballista_core::BALLISTA_VERSION,
            addr.port()
        );
        start_grpc_service_with_listener(listener, scheduler)
            .await
            .map_err(ballista)
    })
}

#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// Arrow Flight (results) on this port, Ballista's gRPC on the next one.
    pub bind: SocketAddr,
    /// Tasks run at once.
    pub slots: usize,
    pub work_dir: Option<String>,
    pub heartbeat_secs: u64,
}

/// Runs an executor until the process ends or its scheduler is unreachable.
pub fn run_executor(
    opts: &ExecutorOptions,
    runner: Arc<dyn PartRunner>,
) -> Result<(), ClusterError> {
    let (host, port) = opts
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| ClusterError::BadAddress(opts.scheduler.clone()))?;
    crate::client::check_reachable(&opts.scheduler)?;
    let id = format!("fleet-{}", opts.bind);
    let _ = ROLE.set(format!("executor {}", opts.bind));
    crate::init_logging();
    let rt = runtime("fleet-executor")?;
    let config = ExecutorProcessConfig {
        executor_id: id.clone(),
        bind_host: opts.bind.ip().to_string(),
        external_host: Some(opts.bind.ip().to_string()),
        port: opts.bind.port(),
        grpc_port: opts.bind.port().wrapping_add(1),
        scheduler_host: host,
        scheduler_port: port,
        vcores: opts.slots.max(1),
        work_dir: opts.work_dir.clone(),
        executor_heartbeat_interval_seconds: opts.heartbeat_secs.max(1),
        override_logical_codec: Some(Arc::new(FleetLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(FleetPhysicalCodec::with_runner(runner))),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "fleet cluster executor: {id}, fleet {}, {} slot(s), scheduler {}",
        crate::wire::fleet_version(),
        config.vcores,
        opts.scheduler
    );
    rt.block_on(start_executor_process(Arc::new(config)))
        .map_err(|e| ClusterError::Ballista(crate::client::one_line(&e.to_string())))
}
