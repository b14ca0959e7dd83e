//! [`ClusterTable`]: a `fleet sql` table on the cluster. The client, the scheduler (which
//! plans the query) and the executor that runs the scan each open the dataset from the same
//! [`TableSpec`], so the data must be at the same path on every node. The scan itself is
//! fleet-sql's `FleetScanExec`, wrapped in [`ClusterScanExec`] to remember how it was asked
//! for (the physical codec ships that request, not the opened dataset) and to run only the
//! scan partitions of a task's slice: like `VerbExec` it reads its partition numbers from an
//! in-memory scan, the kind of leaf Ballista 55 cuts to a task's slice (a leaf of its own
//! would run whole in every task, each task returning every row).

use crate::client::tagged;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use datafusion_proto::bytes::Serializeable;
use fleet_engine::input::dataset::DatasetOptions;
use fleet_sql::{FleetTable, TableOptions};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// How to open a table: `DatasetOptions` with absolute paths, and the scan's threads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSpec {
    pub options: DatasetOptions,
    pub workers: usize,
}

impl TableSpec {
    /// The spec of `opts`, paths made absolute against the current directory (executors
    /// have directories of their own).
    pub fn new(opts: &DatasetOptions, workers: usize) -> TableSpec {
        let cwd = std::env::current_dir().unwrap_or_default();
        TableSpec {
            options: DatasetOptions {
                paths: opts.paths.iter().map(|p| cwd.join(p)).collect(),
                ..opts.clone()
            },
            workers: workers.max(1),
        }
    }

    /// Opens the table on this node; a failure names the node's role and the paths.
    pub fn open(&self) -> Result<FleetTable> {
        FleetTable::open(
            &self.options,
            TableOptions {
                workers: Some(self.workers),
                interrupt: None,
            },
        )
        .map_err(|e| {
            DataFusionError::Execution(tagged(&format!(
                "on {}: cannot open {}: {e}",
                crate::node::role(),
                show_paths(&self.options.paths)
            )))
        })
    }
}

pub(crate) fn show_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fleet table whose queries run on a Ballista cluster.
#[derive(Debug, Clone)]
pub struct ClusterTable {
    table: FleetTable,
    spec: TableSpec,
}

impl ClusterTable {
    pub fn new(table: FleetTable, spec: TableSpec) -> ClusterTable {
        ClusterTable { table, spec }
    }

    pub fn open(spec: TableSpec) -> Result<ClusterTable> {
        Ok(ClusterTable {
            table: spec.open()?,
            spec,
        })
    }

    pub fn spec(&self) -> &TableSpec {
        &self.spec
    }

    pub fn table(&self) -> &FleetTable {
        &self.table
    }
}

#[async_trait]
impl TableProvider for ClusterTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.table.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let inner = self.table.scan(state, projection, filters, limit).await?;
        let request = ScanRequest {
            spec: self.spec.clone(),
            projection: projection.cloned(),
            filters: filters
                .iter()
                .map(|f| f.to_bytes().map(|b| b.to_vec()))
                .collect::<Result<_>>()?,
            limit,
        };
        let input =
            crate::verb::part_numbers(inner.properties().output_partitioning().partition_count())?;
        Ok(Arc::new(ClusterScanExec::new(request, inner, input)))
    }
}

/// What a scan was asked for: enough to plan it again on an executor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanRequest {
    pub spec: TableSpec,
    pub projection: Option<Vec<usize>>,
    /// The pushed filters, each a DataFusion protobuf `LogicalExprNode`.
    pub filters: Vec<Vec<u8>>,
    pub limit: Option<usize>,
}

impl ScanRequest {
    /// Opens the table on this node and plans the same scan, over `input` (the partition
    /// numbers this task runs).
    pub fn plan(self, ctx: &TaskContext, input: Arc<dyn ExecutionPlan>) -> Result<ClusterScanExec> {
        let table = self.spec.open()?;
        let filters = self
            .filters
            .iter()
            .map(|b| Expr::from_bytes_with_ctx(b, ctx))
            .collect::<Result<Vec<_>>>()?;
        let state = SessionStateBuilder::new()
            .with_config(ctx.session_config().clone())
            .with_runtime_env(ctx.runtime_env())
            .build();
        // FleetTable::scan awaits nothing: it plans synchronously.
        let inner = futures::executor::block_on(table.scan(
            &state,
            self.projection.as_ref(),
            &filters,
            self.limit,
        ))?;
        Ok(ClusterScanExec::new(self, inner, input))
    }
}

/// fleet-sql's scan plus the request that planned it; it runs the scan partitions whose
/// numbers `input` yields.
#[derive(Debug)]
pub struct ClusterScanExec {
    pub(crate) request: ScanRequest,
    inner: Arc<dyn ExecutionPlan>,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl ClusterScanExec {
    fn new(
        request: ScanRequest,
        inner: Arc<dyn ExecutionPlan>,
        input: Arc<dyn ExecutionPlan>,
    ) -> ClusterScanExec {
        let of = inner.properties();
        let properties = PlanProperties::new(
            of.eq_properties.clone(),
            Partitioning::UnknownPartitioning(
                input.properties().output_partitioning().partition_count(),
            ),
            of.emission_type,
            of.boundedness,
        );
        ClusterScanExec {
            request,
            inner,
            input,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for ClusterScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cluster")?;
        match self.inner.downcast_ref::<fleet_sql::FleetScanExec>() {
            Some(scan) => scan.fmt_as(t, f),
            None => write!(f, "ScanExec"),
        }
    }
}

impl ExecutionPlan for ClusterScanExec {
    fn name(&self) -> &str {
        "ClusterScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    // Each input partition is exactly the scan partitions it names.
    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = crate::verb::only_child("ClusterScanExec", children)?;
        Ok(Arc::new(ClusterScanExec::new(
            self.request.clone(),
            Arc::clone(&self.inner),
            input,
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let inner = Arc::clone(&self.inner);
        let ctx = Arc::clone(&context);
        let stream = crate::verb::numbers_of(&self.input, partition, context)?
            .and_then(move |p| {
                let stream = inner.execute(p as usize, Arc::clone(&ctx));
                async move { stream }
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.inner.schema(),
            stream,
        )))
    }
}
