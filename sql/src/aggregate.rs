//! [`FleetAggregateExec`]: a partial aggregate computed by fleet's aggregation kernel (the
//! job `fleet agg` runs, on the thread engine) and handed to DataFusion as partial states in
//! the schema of the `AggregateExec(mode=Partial)` it replaces ([`crate::pushdown`]).
//!
//! Fleet groups by a key's bytes, DataFusion by its typed value: `11865` and `011865` are
//! two fleet groups but one SQL group. That is sound for a *partial* aggregate, whose rows
//! the final aggregate merges by value anyway; keys are converted with the scan's own
//! [`BatchBuilder`], so a key means what it would mean as a scanned value.
//!
//! The job runs once, on the first partition asked for; partition 0 returns every row and
//! the others none (the plan above repartitions by key). When fleet's kernel saw something
//! DataFusion's reader would treat differently (a value that is not a number, a null
//! marker read as text, an integer sum beyond `i64`), every partition runs the original
//! partial aggregate instead, over the original scan.

use crate::exec::FleetScanExec;
use crate::table::TableInner;
use crate::task::SqlTask;
use arrow_array::builder::{Float64Builder, Int64Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
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
use fleet_engine::agg::task::{run_agg, AggResult, AggTask};
use fleet_engine::agg::{unordered_rows, AggPlan, AggRow, AggSpec, GroupKey, KeyFn};
use fleet_engine::columnar::{BatchBuilder, ColumnType, OutputColumn};
use fleet_engine::input::charset::decode_into;
use fleet_engine::{EngineKind, JobOptions};
use futures::{StreamExt, TryStreamExt};
use std::fmt;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// A group key: scan output column `column`.
#[derive(Debug, Clone, Copy)]
pub struct KeyColumn {
    pub column: usize,
}

/// How one DataFusion aggregate's state is built from fleet's aggregates (indexes into
/// the fleet plan's specs).
#[derive(Debug, Clone, Copy)]
pub enum StateColumn {
    /// `count`: `[Int64]`.
    Count(usize),
    /// `sum` of integers: `[Int64]`.
    SumInt(usize),
    /// `sum` of floats: `[Float64]` (fleet's exact sum, rounded once).
    SumFloat(usize),
    /// `avg`: `[UInt64 count, Float64 sum]`.
    Avg { count: usize, sum: usize },
    /// `min` or `max` of integers: `[Int64]`.
    MinMax(usize),
}

impl StateColumn {
    pub fn arrow_types(&self) -> Vec<DataType> {
        match self {
            StateColumn::Count(_) | StateColumn::SumInt(_) | StateColumn::MinMax(_) => {
                vec![DataType::Int64]
            }
            StateColumn::SumFloat(_) => vec![DataType::Float64],
            StateColumn::Avg { .. } => vec![DataType::UInt64, DataType::Float64],
        }
    }
}

/// What the fleet job gave.
enum Outcome {
    Batches(Vec<RecordBatch>),
    /// Run the original partial aggregate.
    Fallback(String),
}

#[derive(Debug)]
struct AggJob {
    table: Arc<TableInner>,
    task: SqlTask,
    plan: AggPlan,
    /// Per key, its column (for conversion).
    key_columns: Vec<OutputColumn>,
    states: Vec<StateColumn>,
    workers: usize,
    schema: SchemaRef,
}

#[derive(Debug)]
pub struct FleetAggregateExec {
    job: Arc<AggJob>,
    /// The `AggregateExec` this replaces, run when fleet's result cannot stand.
    original: Arc<dyn ExecutionPlan>,
    outcome: Arc<OnceCell<std::result::Result<Arc<Outcome>, String>>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Batches(b) => write!(f, "Batches({})", b.len()),
            Outcome::Fallback(why) => write!(f, "Fallback({why})"),
        }
    }
}

impl FleetAggregateExec {
    /// `None` when the scan's columns do not allow it (a text key to decode is fine).
    pub(crate) fn try_new(
        scan: &FleetScanExec,
        keys: Vec<KeyColumn>,
        specs: Vec<AggSpec>,
        states: Vec<StateColumn>,
        original: Arc<dyn ExecutionPlan>,
        partitions: usize,
    ) -> Option<FleetAggregateExec> {
        let task = scan.task().clone();
        let mut group_keys = Vec::with_capacity(keys.len());
        let mut key_columns = Vec::with_capacity(keys.len());
        for key in &keys {
            let column = task.columns.get(key.column)?.clone();
            let field = *task.projection.get(key.column)?;
            group_keys.push(GroupKey {
                text: column.name.clone(),
                func: KeyFn::Column(field),
            });
            key_columns.push(column);
        }
        let table = scan.table();
        let plan = AggPlan {
            keys: group_keys,
            specs,
            nulls: table.scanned_nulls.clone(),
            times: Vec::new(),
        };
        let schema = original.schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions.max(1)),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Some(FleetAggregateExec {
            job: Arc::new(AggJob {
                table: Arc::clone(table),
                task,
                plan,
                key_columns,
                states,
                workers: scan.workers(),
                schema,
            }),
            original,
            outcome: Arc::new(OnceCell::new()),
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for FleetAggregateExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.job.plan.keys.iter().map(|k| k.text.as_str()).collect();
        write!(
            f,
            "FleetAggregateExec: files={}, chunks={}, workers={}, gby=[{}], states={}",
            self.job.table.ds.plan.files.len(),
            self.job.table.agg_chunks.chunks.len(),
            self.job.workers,
            keys.join(", "),
            self.job.states.len()
        )
    }
}

impl ExecutionPlan for FleetAggregateExec {
    fn name(&self) -> &str {
        "FleetAggregateExec"
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
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let job = Arc::clone(&self.job);
        let cell = Arc::clone(&self.outcome);
        let original = Arc::clone(&self.original);
        let schema = Arc::clone(&self.job.schema);
        let stream = futures::stream::once(async move {
            let outcome = cell
                .get_or_init(|| async move {
                    tokio::task::spawn_blocking(move || job.run().map(Arc::new))
                        .await
                        .unwrap_or_else(|e| Err(format!("fleet's aggregation stopped: {e}")))
                })
                .await;
            let outcome = outcome.clone().map_err(DataFusionError::Execution)?;
            let inner: SendableRecordBatchStream = match &*outcome {
                Outcome::Batches(batches) => {
                    let batches = if partition == 0 {
                        batches.clone()
                    } else {
                        Vec::new()
                    };
                    Box::pin(RecordBatchStreamAdapter::new(
                        original.schema(),
                        futures::stream::iter(batches.into_iter().map(Ok)),
                    ))
                }
                Outcome::Fallback(_) => original.execute(partition, context)?,
            };
            Ok::<_, DataFusionError>(inner)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            stream.boxed(),
        )))
    }
}

impl AggJob {
    fn run(&self) -> std::result::Result<Outcome, String> {
        let chunks = &self.table.agg_chunks;
        let opts = JobOptions {
            engine: EngineKind::Threads,
            workers: self.workers,
            interrupt: self.table.options.interrupt,
            ..JobOptions::default()
        };
        let task = AggTask::new(
            self.task.ncols,
            self.task.predicates.clone(),
            self.plan.clone(),
            chunks,
        );
        let result =
            run_agg(chunks.clone(), task, &opts, &mut |_| {}).map_err(|e| e.to_string())?;
        let outcome = self.outcome(&result)?;
        if let (Outcome::Fallback(why), Ok(mut totals)) = (&outcome, self.table.totals.lock()) {
            totals.aggregate_fallbacks.push(why.clone());
        }
        Ok(outcome)
    }

    fn outcome(&self, result: &AggResult) -> std::result::Result<Outcome, String> {
        let table = &result.table;
        let report = &result.report;
        if let Some((value, _)) = table
            .malformed_values()
            .into_iter()
            .chain(table.malformed_keys())
            .next()
        {
            return Ok(Outcome::Fallback(format!("{value} is not a number")));
        }
        if let Some(what) = table.markers_read_as_text().into_iter().next() {
            return Ok(Outcome::Fallback(format!("{what} read as text")));
        }
        // DataFusion's final aggregate merges and orders the rows: no sort here.
        let rows = unordered_rows(table, &self.plan);
        let batches = match self.batches(&rows)? {
            Some(b) => b,
            None => return Ok(Outcome::Fallback("a sum beyond 64 bits".into())),
        };
        if let Ok(mut totals) = self.table.totals.lock() {
            totals.scans += 1;
            totals.add_report(report, rows.len() as u64);
            totals.pushed_aggregates += 1;
        }
        Ok(Outcome::Batches(batches))
    }

    /// The partial-state batches for `rows`; `None` when a value does not fit its state.
    fn batches(&self, rows: &[AggRow]) -> std::result::Result<Option<Vec<RecordBatch>>, String> {
        let mut keys = BatchBuilder::new(&self.key_columns, &self.task.nulls);
        let mut decoded: Vec<Vec<u8>> = vec![Vec::new(); self.key_columns.len()];
        let mut out = Vec::new();
        let mut start = 0;
        for (i, row) in rows.iter().enumerate() {
            let appended = match self.task.decode {
                Some(encoding) => {
                    for ((buf, key), col) in
                        decoded.iter_mut().zip(&row.keys).zip(&self.key_columns)
                    {
                        buf.clear();
                        if col.ty == ColumnType::Utf8 {
                            decode_into(encoding, key, buf);
                        } else {
                            buf.extend_from_slice(key);
                        }
                    }
                    keys.append(|k| decoded[k].as_slice())
                }
                None => keys.append(|k| row.keys[k].as_slice()),
            };
            if let Err(bad) = appended {
                let col = &self.key_columns[bad.column];
                let value = String::from_utf8_lossy(&row.keys[bad.column]);
                return Err(format!(
                    "column '{}': {value:?} is not {}",
                    col.name, col.ty
                ));
            }
            if keys.is_full() || i + 1 == rows.len() {
                let mut columns: Vec<ArrayRef> = if self.key_columns.is_empty() {
                    Vec::new()
                } else {
                    keys.finish().map_err(|e| e.to_string())?.columns().to_vec()
                };
                let Some(states) = self.state_arrays(&rows[start..=i]) else {
                    return Ok(None);
                };
                columns.extend(states);
                out.push(
                    RecordBatch::try_new(Arc::clone(&self.schema), columns)
                        .map_err(|e| e.to_string())?,
                );
                start = i + 1;
            }
        }
        Ok(Some(out))
    }

    fn state_arrays(&self, rows: &[AggRow]) -> Option<Vec<ArrayRef>> {
        let mut arrays: Vec<ArrayRef> = Vec::new();
        fn text(row: &AggRow, spec: usize) -> Option<&str> {
            let value = row.values.get(spec)?;
            std::str::from_utf8(value).ok().filter(|v| !v.is_empty())
        }
        for state in &self.states {
            match *state {
                StateColumn::Count(s) => {
                    let mut b = Int64Builder::with_capacity(rows.len());
                    for row in rows {
                        b.append_value(text(row, s).map_or(Some(0), |v| v.parse().ok())?);
                    }
                    arrays.push(Arc::new(b.finish()));
                }
                StateColumn::SumInt(s) | StateColumn::MinMax(s) => {
                    let mut b = Int64Builder::with_capacity(rows.len());
                    for row in rows {
                        match text(row, s) {
                            Some(v) => b.append_value(v.parse().ok()?),
                            None => b.append_null(),
                        }
                    }
                    arrays.push(Arc::new(b.finish()));
                }
                StateColumn::SumFloat(s) => {
                    let mut b = Float64Builder::with_capacity(rows.len());
                    for row in rows {
                        match text(row, s) {
                            Some(v) => b.append_value(v.parse().ok()?),
                            None => b.append_null(),
                        }
                    }
                    arrays.push(Arc::new(b.finish()));
                }
                StateColumn::Avg { count, sum } => {
                    let mut counts = UInt64Builder::with_capacity(rows.len());
                    let mut sums = Float64Builder::with_capacity(rows.len());
                    for row in rows {
                        let n: u64 = text(row, count).map_or(Some(0), |v| v.parse().ok())?;
                        counts.append_value(n);
                        match text(row, sum) {
                            Some(v) if n > 0 => sums.append_value(v.parse().ok()?),
                            _ => sums.append_null(),
                        }
                    }
                    arrays.push(Arc::new(counts.finish()));
                    arrays.push(Arc::new(sums.finish()));
                }
            }
        }
        Some(arrays)
    }
}
