//! [`FleetScanExec`]: the scan as a DataFusion `ExecutionPlan`.
//!
//! Its output partitions are groups of whole files ([`ChunkPlan::file_groups`]), contiguous
//! in file order and about equal in bytes, one per worker (fewer when there are fewer files);
//! each partition is one run of fleet's job runtime on its *thread* engine (forking worker
//! processes inside a multi-threaded tokio process is not safe) over its files' chunks, with
//! the workers shared out among the partitions. A file is never split between partitions,
//! so each job verifies its chunks' speculative starts (quoted newlines) on its own, and
//! partitions never wait for each other: DataFusion may run them in any order, or drop
//! some. Rows of a partition come out in file order; when the query's output is the scan's
//! rows as they come ([`crate::order`]), the scan runs as one partition with every worker,
//! so results keep fleet scan's file order. Each job runs on its own OS thread; batches
//! reach the async stream through a bounded channel, so a slow consumer holds the scan back
//! instead of buffering the dataset. With a `LIMIT` pushed down (only when every filter was
//! pushed as exact), each job stops once that many rows are out.

use crate::frame::{read_frames, Frame};
use crate::table::TableInner;
use crate::task::SqlTask;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use fleet_engine::job::{Consumer, JobError};
use fleet_engine::{run_job, ChunkPlan, EngineKind, JobOptions};
use std::fmt;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Batches in flight between the job and the stream.
const CHANNEL_BATCHES: usize = 8;

#[derive(Debug)]
pub struct FleetScanExec {
    table: Arc<TableInner>,
    task: SqlTask,
    /// Pushed filters as SQL text (EXPLAIN).
    filters: Vec<String>,
    limit: Option<usize>,
    workers: usize,
    /// One per output partition.
    parts: Vec<Part>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

/// What one output partition scans: whole files, and the threads its job runs.
#[derive(Debug, Clone)]
struct Part {
    plan: ChunkPlan,
    threads: usize,
}

/// The table's files in up to `workers` groups, the workers shared out among them.
fn parts(plan: &ChunkPlan, workers: usize, partitions: usize) -> Vec<Part> {
    let groups = plan.file_groups(partitions.min(workers));
    let n = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, plan)| Part {
            plan,
            threads: workers / n + usize::from(i < workers % n),
        })
        .collect()
}

impl FleetScanExec {
    pub(crate) fn new(
        table: Arc<TableInner>,
        task: SqlTask,
        filters: Vec<String>,
        limit: Option<usize>,
        workers: usize,
    ) -> FleetScanExec {
        let parts = parts(&table.ds.plan, workers, workers);
        FleetScanExec::with_parts(table, task, filters, limit, workers, parts)
    }

    fn with_parts(
        table: Arc<TableInner>,
        task: SqlTask,
        filters: Vec<String>,
        limit: Option<usize>,
        workers: usize,
        parts: Vec<Part>,
    ) -> FleetScanExec {
        let schema = fleet_engine::columnar::arrow_schema(&task.columns);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(parts.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        FleetScanExec {
            table,
            task,
            filters,
            limit,
            workers,
            parts,
            schema,
            properties: Arc::new(properties),
        }
    }

    /// Output partitions: groups of whole files.
    pub fn partitions(&self) -> usize {
        self.parts.len()
    }

    /// The same scan as one partition with every worker: rows in file order.
    pub(crate) fn in_one_partition(&self) -> FleetScanExec {
        let parts = parts(&self.table.ds.plan, self.workers, 1);
        FleetScanExec::with_parts(
            Arc::clone(&self.table),
            self.task.clone(),
            self.filters.clone(),
            self.limit,
            self.workers,
            parts,
        )
    }

    /// The pushed-down filters, as SQL text.
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// Whether the scan's rows are exactly the records fleet's predicates pass: every
    /// filter pushed as exact and no limit (what an aggregate pushed below it needs).
    pub(crate) fn pushable(&self) -> bool {
        self.task.residual.is_empty() && self.limit.is_none()
    }

    /// The dataset field behind output column `column`.
    pub(crate) fn field_of(&self, column: usize) -> Option<usize> {
        self.task.projection.get(column).copied()
    }

    pub(crate) fn task(&self) -> &SqlTask {
        &self.task
    }

    pub(crate) fn table(&self) -> &Arc<TableInner> {
        &self.table
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers
    }
}

impl DisplayAs for FleetScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.task.columns.iter().map(|c| c.name.as_str()).collect();
        write!(
            f,
            "FleetScanExec: files={}, chunks={}, partitions={}, workers={}, projection=[{}]",
            self.table.ds.plan.files.len(),
            self.table.ds.plan.chunks.len(),
            self.parts.len(),
            self.workers,
            names.join(", ")
        )?;
        if !self.filters.is_empty() {
            write!(f, ", filters=[{}]", self.filters.join(", "))?;
        }
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for FleetScanExec {
    fn name(&self) -> &str {
        "FleetScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(part) = self.parts.get(partition) else {
            return Err(DataFusionError::Internal(format!(
                "FleetScanExec has {} partition(s), asked for {partition}",
                self.parts.len()
            )));
        };
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let job = ScanJob {
            table: Arc::clone(&self.table),
            plan: part.plan.clone(),
            task: self.task.clone(),
            limit: self.limit,
            workers: part.threads,
            first: partition == 0,
        };
        std::thread::Builder::new()
            .name("fleet-sql-scan".into())
            .spawn(move || job.run(&tx))
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// One partition's run of the scan, on its own thread.
struct ScanJob {
    table: Arc<TableInner>,
    plan: ChunkPlan,
    task: SqlTask,
    limit: Option<usize>,
    workers: usize,
    /// Partition 0: counts the scan in the table's totals (the others add their figures).
    first: bool,
}

/// Why the consumer stopped the job early.
enum Stop {
    /// The limit was reached, or the stream was dropped: not an error.
    Done,
    Failed(String),
}

impl ScanJob {
    fn run(self, tx: &mpsc::Sender<Result<RecordBatch>>) {
        let opts = JobOptions {
            engine: EngineKind::Threads,
            workers: self.workers,
            interrupt: self.table.options.interrupt,
            ..JobOptions::default()
        };
        let mut left = self.limit;
        let empty = left == Some(0);
        let mut rows = 0u64;
        let mut stop: Option<Stop> = None;
        let mut consume = |bytes: &[u8]| -> Result<(), JobError> {
            let frames = read_frames(bytes).map_err(JobError::BadChunkResult)?;
            for frame in frames {
                let batches = match frame {
                    Frame::Batches(b) => b,
                    Frame::Error(message) => {
                        stop = Some(Stop::Failed(message));
                        return Err(JobError::Interrupted);
                    }
                };
                for mut batch in batches {
                    if let Some(n) = left {
                        if batch.num_rows() >= n {
                            batch = batch.slice(0, n);
                        }
                        left = Some(n - batch.num_rows());
                    }
                    rows += batch.num_rows() as u64;
                    if tx.blocking_send(Ok(batch)).is_err() || left == Some(0) {
                        stop = Some(Stop::Done);
                        return Err(JobError::Interrupted);
                    }
                }
            }
            Ok(())
        };
        let result = if empty {
            Ok(None)
        } else {
            run_job(
                self.plan,
                Box::new(self.task),
                &opts,
                Consumer::Whole(&mut consume),
                &mut |_| {},
            )
            .map(Some)
        };
        let failure = match (result, stop) {
            (_, Some(Stop::Failed(message))) => Some(message),
            (Ok(report), _) => {
                if let (Ok(mut totals), Some(report)) = (self.table.totals.lock(), report) {
                    totals.scans += u64::from(self.first);
                    totals.add_report(&report, rows);
                }
                None
            }
            (Err(_), Some(Stop::Done)) => {
                if let Ok(mut totals) = self.table.totals.lock() {
                    totals.scans += u64::from(self.first);
                    totals.rows += rows;
                }
                None
            }
            (Err(e), None) => Some(e.to_string()),
        };
        if let Some(message) = failure {
            let _ = tx.blocking_send(Err(DataFusionError::Execution(message)));
        }
    }
}
