//! [`SqlSession`]: what `fleet sql` drives: a DataFusion session on a tokio runtime of its
//! own, fleet tables registered by name, and one query's results streamed batch by batch.

use crate::error::SqlError;
use crate::order::FileOrder;
use crate::pushdown::AggregatePushdown;
use crate::table::FleetTable;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::TableReference;
use datafusion::execution::context::SessionContext;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionConfig;
use futures::StreamExt;
use std::sync::Arc;

pub struct SqlSession {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
}

impl SqlSession {
    /// A session whose operators use `workers` partitions (and threads), with partial
    /// aggregates over fleet tables run by fleet's kernel ([`crate::pushdown`]).
    pub fn new(workers: usize) -> Result<SqlSession, SqlError> {
        SqlSession::with_pushdown(workers, true)
    }

    /// [`SqlSession::new`], with the aggregate pushdown on or off (off: DataFusion aggregates
    /// the scanned rows itself, the reference the pushdown is tested against).
    pub fn with_pushdown(workers: usize, pushdown: bool) -> Result<SqlSession, SqlError> {
        let workers = workers.max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("fleet-sql")
            .enable_all()
            .build()
            .map_err(SqlError::Runtime)?;
        let config = SessionConfig::new().with_target_partitions(workers);
        // FileOrder sees the plan as planned, before DataFusion repartitions it; the
        // aggregate pushdown sees the final plan.
        let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> =
            vec![Arc::new(FileOrder)];
        rules.extend(PhysicalOptimizer::new().rules);
        if pushdown {
            rules.push(Arc::new(AggregatePushdown));
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rules(rules)
            .build();
        Ok(SqlSession {
            ctx: SessionContext::new_with_state(state),
            runtime,
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a future on the session's runtime (e.g. registering another kind of table).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Registers `table` as `name` (as written: quote names that are not lower-case SQL
    /// identifiers, `"gps-gz"`).
    pub fn register(&self, name: &str, table: FleetTable) -> Result<(), SqlError> {
        self.ctx
            .register_table(name, Arc::new(table))
            .map(|_| ())
            .map_err(|e| SqlError::Query(format!("table {name}: {e}")))
    }

    /// Registers `table` under exactly `name` (no case folding, no `.` splitting): the name a
    /// query gives as a quoted path, `FROM 'data/gps'`.
    pub fn register_path(&self, name: &str, table: FleetTable) -> Result<(), SqlError> {
        self.ctx
            .register_table(TableReference::bare(name), Arc::new(table))
            .map(|_| ())
            .map_err(|e| SqlError::Query(format!("table {name}: {e}")))
    }

    /// The tables `sql` reads that are not registered, as written (e.g. the `data/gps` of
    /// `FROM 'data/gps'`): the caller opens the ones that are paths.
    pub fn unknown_tables(&self, sql: &str) -> Result<Vec<String>, SqlError> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect).map_err(query_error)?;
        let mut names = Vec::new();
        for reference in state
            .resolve_table_references(&statement)
            .map_err(query_error)?
        {
            let TableReference::Bare { table } = &reference else {
                continue;
            };
            if !self.ctx.table_exist(reference.clone()).unwrap_or(false)
                && !names.iter().any(|n| n == table.as_ref())
            {
                names.push(table.to_string());
            }
        }
        Ok(names)
    }

    /// Runs `sql`; `each` receives the result's batches in order. Returns the row count.
    pub fn query(
        &self,
        sql: &str,
        each: impl FnMut(&RecordBatch) -> std::io::Result<()>,
    ) -> Result<u64, SqlError> {
        self.query_with_schema(sql, each).map(|(rows, _)| rows)
    }

    /// [`query`](Self::query), also returning the result's schema (a header to write when
    /// there is no row). The statement is planned once: a DDL statement (`CREATE VIEW`) runs
    /// when planned, so planning it twice would fail on the second time.
    pub fn query_with_schema(
        &self,
        sql: &str,
        mut each: impl FnMut(&RecordBatch) -> std::io::Result<()>,
    ) -> Result<(u64, SchemaRef), SqlError> {
        self.runtime.block_on(async {
            let frame = self.ctx.sql(sql).await.map_err(query_error)?;
            let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
            let mut stream = frame.execute_stream().await.map_err(query_error)?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(query_error)?;
                rows += batch.num_rows() as u64;
                each(&batch).map_err(SqlError::Output)?;
            }
            Ok((rows, schema))
        })
    }
}

fn query_error(e: datafusion::error::DataFusionError) -> SqlError {
    // DataFusion wraps causes in context lines; one line for the terminal.
    SqlError::Query(
        e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}
