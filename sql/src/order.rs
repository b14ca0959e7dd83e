//! [`FileOrder`]: a physical optimizer rule that keeps fleet scan's file order in results
//! that are the scan's rows as they come. A [`FleetScanExec`] has one partition per group of
//! files, and DataFusion interleaves partitions in no fixed order; for a query whose output
//! is the scan's rows passed through projections, filters and limits only (`SELECT ... FROM
//! gps WHERE ... LIMIT n`), the rule turns the scan into one partition with every worker,
//! which fleet's job emits in file order, as `fleet scan` does. Queries that sort, group,
//! join or window keep the partitions (their own operators fix the order they promise).
//!
//! It runs before DataFusion's rules, on the plan as planned, so it sees the plain chain
//! before any repartitioning is added.

use crate::exec::FleetScanExec;
use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::limit::{GlobalLimitExec, LocalLimitExec};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{replace_children_if_necessary, ExecutionPlan};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct FileOrder;

impl PhysicalOptimizerRule for FileOrder {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(in_file_order(&plan)?.unwrap_or(plan))
    }

    fn name(&self) -> &str {
        "fleet_file_order"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` with its scan in one partition, when `plan` is a chain of row-order-keeping
/// operators over a fleet scan of several partitions; `None` otherwise.
fn in_file_order(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(scan) = plan.downcast_ref::<FleetScanExec>() {
        return Ok((scan.partitions() > 1)
            .then(|| Arc::new(scan.in_one_partition()) as Arc<dyn ExecutionPlan>));
    }
    let keeps_order = plan.downcast_ref::<ProjectionExec>().is_some()
        || plan.downcast_ref::<FilterExec>().is_some()
        || plan.downcast_ref::<GlobalLimitExec>().is_some()
        || plan.downcast_ref::<LocalLimitExec>().is_some()
        || plan.downcast_ref::<CoalescePartitionsExec>().is_some();
    let children = plan.children();
    let [child] = children.as_slice() else {
        return Ok(None);
    };
    if !keeps_order {
        return Ok(None);
    }
    match in_file_order(child)? {
        Some(child) => replace_children_if_necessary(Arc::clone(plan), vec![child]).map(Some),
        None => Ok(None),
    }
}
