//! [`ClusterTable`]: a `fleet sql` table on the cluster. The client, the scheduler (which
//! plans the query) and the executor that runs the scan each open the dataset from the same
//! [`TableSpec`], so the data must be at the same path on every node. The scan itself is
//! fleet-sql's `FleetScanExec`, wrapped in [`ClusterScanExec`] only to remember how it was
//! asked for: the physical codec ships that request, not the opened dataset.

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
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use datafusion_proto::bytes::Serializeable;
use fleet_engine::input::dataset::DatasetOptions;
use fleet_sql::{FleetTable, TableOptions};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// How to open a table: `DatasetOptions` with absolute paths, and the scan's threads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSpec {
    pub paths: Vec<PathBuf>,
    pub glob: Option<String>,
    pub header: Option<bool>,
    pub columns: Option<Vec<String>>,
    pub delimiter: Option<u8>,
    pub chunk_size: u64,
    pub encoding: Option<String>,
    pub piece_size: u64,
    pub nulls: Option<Vec<String>>,
    pub workers: usize,
}

impl TableSpec {
    /// The spec of `opts`, paths made absolute against the current directory (executors
    /// have directories of their own).
    pub fn new(opts: &DatasetOptions, workers: usize) -> TableSpec {
        let cwd = std::env::current_dir().unwrap_or_default();
        TableSpec {
            paths: opts.paths.iter().map(|p| cwd.join(p)).collect(),
            glob: opts.glob.clone(),
            header: opts.header,
            columns: opts.columns.clone(),
            delimiter: opts.delimiter,
            chunk_size: opts.chunk_size,
            encoding: opts.encoding.clone(),
            piece_size: opts.piece_size,
            nulls: opts.nulls.clone(),
            workers: workers.max(1),
        }
    }

    pub fn options(&self) -> DatasetOptions {
        DatasetOptions {
            paths: self.paths.clone(),
            glob: self.glob.clone(),
            header: self.header,
            columns: self.columns.clone(),
            delimiter: self.delimiter,
            chunk_size: self.chunk_size,
            encoding: self.encoding.clone(),
            piece_size: self.piece_size,
            nulls: self.nulls.clone(),
        }
    }

    /// Opens the table on this node; a failure names the node's role and the paths.
    pub fn open(&self) -> Result<FleetTable> {
        FleetTable::open(
            &self.options(),
            TableOptions {
                workers: Some(self.workers),
                interrupt: None,
            },
        )
        .map_err(|e| {
            DataFusionError::Execution(tagged(&format!(
                "on {}: cannot open {}: {e}",
                crate::node::role(),
                show_paths(&self.paths)
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
        Ok(Arc::new(ClusterScanExec {
            request: ScanRequest {
                spec: self.spec.clone(),
                projection: projection.cloned(),
                filters: filters
                    .iter()
                    .map(|f| f.to_bytes().map(|b| b.to_vec()))
                    .collect::<Result<_>>()?,
                limit,
            },
            inner,
        }))
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
    /// Opens the table on this node and plans the same scan.
    pub fn plan(self, ctx: &TaskContext) -> Result<ClusterScanExec> {
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
        Ok(ClusterScanExec {
            request: self,
            inner,
        })
    }
}

/// fleet-sql's scan plus the request that planned it.
#[derive(Debug)]
pub struct ClusterScanExec {
    pub(crate) request: ScanRequest,
    inner: Arc<dyn ExecutionPlan>,
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
        self.inner.properties()
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
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.inner.execute(partition, context)
    }
}
