//! [`AggregatePushdown`]: a physical optimizer rule that hands a partial aggregate over a
//! fleet scan to fleet's own aggregation kernel (the one `fleet agg` runs), so that records
//! never become Arrow rows: `SELECT id, count(*), avg(speed) FROM gps GROUP BY id` scans at
//! `fleet agg` speed and DataFusion only merges the partial states, one row per group.
//!
//! The rule rewrites `AggregateExec(mode=Partial)` whose input is a [`FleetScanExec`] (through
//! round-robin repartitioning only) with every filter pushed as exact and
//! no limit, when every group key is a column and every aggregate is one of
//! - `count(*)`, and `count`, `sum`, `avg` of an `Int64` or `Float64` column,
//! - `min` and `max` of an `Int64` column,
//!
//! without `DISTINCT`, `FILTER` or `ORDER BY`, and when DataFusion's state fields are the
//! types built here. Anything else keeps DataFusion's plan. What fleet's kernel and
//! DataFusion's reader may disagree on (a value fleet does not read as a number, a null
//! marker, an integer sum beyond `i64`) is found when the job ends: then the original
//! partial aggregate runs instead ([`crate::aggregate`]), so the result never depends on the
//! rewrite.

use crate::aggregate::{FleetAggregateExec, KeyColumn, StateColumn};
use crate::exec::FleetScanExec;
use arrow_schema::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::expressions::{CastExpr, Column, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use fleet_engine::agg::{AggFn, AggSpec};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct AggregatePushdown;

impl PhysicalOptimizerRule for AggregatePushdown {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|node| {
            Ok(match rewrite(&node) {
                Some(pushed) => Transformed::yes(pushed),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "fleet_aggregate_pushdown"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The fleet scan under `plan`, through operators that neither drop, add nor change rows.
fn scan_below(plan: &Arc<dyn ExecutionPlan>) -> Option<&FleetScanExec> {
    if let Some(scan) = plan.downcast_ref::<FleetScanExec>() {
        return Some(scan);
    }
    if let Some(r) = plan.downcast_ref::<RepartitionExec>() {
        if matches!(r.partitioning(), Partitioning::RoundRobinBatch(_)) && !r.preserve_order() {
            return scan_below(r.input());
        }
        return None;
    }
    None
}

fn rewrite(node: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let agg = node.downcast_ref::<AggregateExec>()?;
    if *agg.mode() != AggregateMode::Partial
        || !agg.group_expr().is_single()
        || agg.filter_expr().iter().any(Option::is_some)
        || agg.limit_options().is_some()
    {
        return None;
    }
    let scan = scan_below(agg.input())?;
    if !scan.pushable() {
        return None;
    }
    let input = agg.input_schema();
    // Scan output column `i` is the dataset's field `projection[i]`.
    let field_of = |e: &Arc<dyn PhysicalExpr>| -> Option<(usize, DataType)> {
        let col = e.downcast_ref::<Column>()?;
        let ty = input.fields().get(col.index())?.data_type().clone();
        Some((col.index(), ty))
    };
    let mut keys = Vec::new();
    for (expr, _) in agg.group_expr().expr() {
        let (column, _) = field_of(expr)?;
        keys.push(KeyColumn { column });
    }
    let mut specs: Vec<AggSpec> = Vec::new();
    let mut states = Vec::new();
    let field = |column: usize| scan.field_of(column);
    for aggr in agg.aggr_expr() {
        if aggr.is_distinct() || !aggr.order_bys().is_empty() {
            return None;
        }
        let args = aggr.expressions();
        let [arg] = args.as_slice() else {
            return None;
        };
        let state_types: Vec<DataType> = aggr
            .state_fields()
            .ok()?
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let mut spec = |func: AggFn| {
            specs.push(AggSpec {
                text: format!("s{}", specs.len()),
                func,
            });
            specs.len() - 1
        };
        let state = match (aggr.fun().name(), numeric_arg(arg, &field_of)) {
            ("count", _) if is_non_null_literal(arg) => StateColumn::Count(spec(AggFn::Count)),
            ("count", Some((c, _, _))) => StateColumn::Count(spec(AggFn::CountNonEmpty(field(c)?))),
            ("sum", Some((c, DataType::Int64, false))) => {
                StateColumn::SumInt(spec(AggFn::Sum(field(c)?)))
            }
            ("sum", Some((c, DataType::Float64, false))) => {
                StateColumn::SumFloat(spec(AggFn::Sum(field(c)?)))
            }
            ("avg", Some((c, _, _))) => {
                let f = field(c)?;
                StateColumn::Avg {
                    count: spec(AggFn::CountNonEmpty(f)),
                    sum: spec(AggFn::Sum(f)),
                }
            }
            ("min", Some((c, DataType::Int64, false))) => {
                StateColumn::MinMax(spec(AggFn::Min(field(c)?)))
            }
            ("max", Some((c, DataType::Int64, false))) => {
                StateColumn::MinMax(spec(AggFn::Max(field(c)?)))
            }
            _ => return None,
        };
        if state_types != state.arrow_types() {
            return None;
        }
        states.push(state);
    }
    let partitions = agg.properties().output_partitioning().partition_count();
    FleetAggregateExec::try_new(scan, keys, specs, states, Arc::clone(node), partitions)
        .map(|e| Arc::new(e) as Arc<dyn ExecutionPlan>)
}

/// A column of a number type, possibly cast to `Float64` (as `avg` of an integer is
/// planned): the scan column, its type, and whether a cast was seen.
fn numeric_arg(
    arg: &Arc<dyn PhysicalExpr>,
    field_of: &impl Fn(&Arc<dyn PhysicalExpr>) -> Option<(usize, DataType)>,
) -> Option<(usize, DataType, bool)> {
    if let Some(cast) = arg.downcast_ref::<CastExpr>() {
        let (c, ty) = field_of(cast.expr())?;
        return (matches!(ty, DataType::Int64 | DataType::Float64)
            && *cast.cast_type() == DataType::Float64)
            .then_some((c, ty, true));
    }
    let (c, ty) = field_of(arg)?;
    matches!(ty, DataType::Int64 | DataType::Float64).then_some((c, ty, false))
}

fn is_non_null_literal(arg: &Arc<dyn PhysicalExpr>) -> bool {
    arg.downcast_ref::<Literal>()
        .is_some_and(|l| !l.value().is_null())
}
