//! [`FleetTable`]: a fleet dataset as a DataFusion table. Opening it is opening the dataset
//! as `fleet scan` does (discovery, `fleet.toml`, header, delimiter, encoding, gz/zst) and
//! settling column types ([`crate::types`]); scanning it plans a [`FleetScanExec`].

use crate::error::SqlError;
use crate::exec::FleetScanExec;
use crate::filter::{compile, supported, FilterContext, NullRule};
use crate::task::SqlTask;
use crate::types::table_columns;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use fleet_engine::columnar::{arrow_schema, OutputColumn};
use fleet_engine::input::dataset::{self, DatasetOptions};
use fleet_engine::input::nulls::NullMarkers;
use fleet_engine::{ChunkPlan, Dataset};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// How the table's scans run.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Worker threads per scan (default: the session's `target_partitions`).
    pub workers: Option<usize>,
    /// Set asynchronously (Ctrl-C): running scans stop.
    pub interrupt: Option<&'static AtomicBool>,
}

/// What every scan of a table found, added up (for the summary and for tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanTotals {
    pub scans: u64,
    pub bytes: u64,
    pub records: u64,
    /// Records that passed the kernel's predicates.
    pub matches: u64,
    /// Rows handed to DataFusion.
    pub rows: u64,
    /// Scans that ran as fleet's aggregation kernel instead ([`crate::pushdown`]).
    pub pushed_aggregates: u64,
    /// Why a pushed aggregate handed the work back to DataFusion, one entry per time.
    pub aggregate_fallbacks: Vec<String>,
    pub malformed: u64,
    /// Examples of malformed records: file and line.
    pub malformed_examples: Vec<(PathBuf, u64)>,
    /// Files that could not be read during a scan, and why.
    pub failed_files: Vec<(PathBuf, String)>,
}

impl ScanTotals {
    /// Adds one finished fleet job: its scan figures and the `rows` it handed to DataFusion
    /// (the caller counts the scan: a scan of several partitions runs several jobs).
    pub(crate) fn add_report(&mut self, report: &fleet_engine::ScanReport, rows: u64) {
        self.bytes += report.bytes;
        self.records += report.records;
        self.matches += report.matches;
        self.malformed += report.malformed;
        self.malformed_examples
            .extend(report.malformed_examples.iter().cloned());
        self.failed_files
            .extend(report.failed_files.iter().cloned());
        self.rows += rows;
    }
}

/// A fleet dataset as a DataFusion table.
#[derive(Debug, Clone)]
pub struct FleetTable {
    inner: Arc<TableInner>,
}

#[derive(Debug)]
pub(crate) struct TableInner {
    pub(crate) ds: Dataset,
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) schema: SchemaRef,
    /// The null markers in the encoding the kernel sees.
    pub(crate) scanned_nulls: NullMarkers,
    /// The chunks a pushed aggregate runs over (larger than the scan's by default).
    pub(crate) agg_chunks: ChunkPlan,
    pub(crate) options: TableOptions,
    pub(crate) totals: Mutex<ScanTotals>,
}

impl FleetTable {
    /// Opens the dataset at `opts.paths` (a 0 chunk size means fleet scan's 8 MiB).
    pub fn open(opts: &DatasetOptions, options: TableOptions) -> Result<FleetTable, SqlError> {
        let mut opts = opts.clone();
        if opts.paths.iter().any(|p| p.as_os_str() == "-") {
            return Err(SqlError::Stdin);
        }
        // Rows stream out of 8 MiB chunks (fleet scan's size); an aggregate pushed into
        // fleet's kernel hands over one table per chunk and takes fleet agg's 64 MiB.
        let agg_chunks = match opts.chunk_size {
            0 => {
                opts.chunk_size = 64 << 20;
                let plan = dataset::open(&opts)?.plan;
                opts.chunk_size = 8 << 20;
                Some(plan)
            }
            _ => None,
        };
        let ds = dataset::open(&opts)?;
        let agg_chunks = agg_chunks.unwrap_or_else(|| ds.plan.clone());
        let columns = table_columns(&ds)?;
        let schema = arrow_schema(&columns);
        let scanned_nulls = ds.scanned_nulls();
        Ok(FleetTable {
            inner: Arc::new(TableInner {
                ds,
                columns,
                schema,
                scanned_nulls,
                agg_chunks,
                options,
                totals: Mutex::new(ScanTotals::default()),
            }),
        })
    }

    pub fn dataset(&self) -> &Dataset {
        &self.inner.ds
    }

    pub fn columns(&self) -> &[OutputColumn] {
        &self.inner.columns
    }

    /// Everything this table's scans found so far.
    pub fn totals(&self) -> ScanTotals {
        self.inner
            .totals
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    fn filter_context(&self) -> FilterContext<'_> {
        FilterContext {
            columns: &self.inner.columns,
            schema: &self.inner.ds.schema,
            encoding: self.inner.ds.scanned_encoding(),
            nulls: &self.inner.scanned_nulls,
        }
    }
}

#[async_trait]
impl TableProvider for FleetTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let cx = self.filter_context();
        Ok(filters
            .iter()
            .map(|f| {
                if supported(f, cx) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.inner.columns.len()).collect(),
        };
        let compiled = compile(filters, self.filter_context());
        let task = SqlTask {
            ncols: self.inner.ds.schema.ncols(),
            predicates: compiled
                .predicates
                .into_iter()
                .map(fleet_engine::query::condition::Condition::Test)
                .collect(),
            residual: compiled.residual,
            rule: NullRule::new(self.inner.scanned_nulls.clone(), &self.inner.columns),
            nulls: self.inner.ds.nulls.clone(),
            columns: projection
                .iter()
                .map(|&c| self.inner.columns[c].clone())
                .collect(),
            projection,
            decode: self.inner.ds.scanned_encoding(),
        };
        let workers = self
            .inner
            .options
            .workers
            .unwrap_or_else(|| state.config().target_partitions())
            .max(1);
        Ok(Arc::new(FleetScanExec::new(
            Arc::clone(&self.inner),
            task,
            compiled.shown,
            limit,
            workers,
        )))
    }
}
