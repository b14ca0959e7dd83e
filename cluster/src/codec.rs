//! [`FleetLogicalCodec`] and [`FleetPhysicalCodec`]: Ballista's extension codecs with fleet's
//! nodes added. Client, scheduler and executors must all use them (the stock Ballista
//! binaries cannot decode a fleet plan). A fleet node is written as a [`crate::wire`]
//! envelope; anything else is handed to Ballista's codec, which knows its shuffle nodes and
//! the file formats.

use crate::table::{ClusterScanExec, ClusterTable, ScanRequest, TableSpec};
use crate::verb::{PartRunner, VerbExec, VerbJob, VerbTable};
use crate::wire;
use arrow_schema::SchemaRef;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use std::sync::Arc;

const TABLE: &str = "table";
const VERB_TABLE: &str = "verb-table";
const SCAN: &str = "scan";
const VERB: &str = "verb";

#[derive(Debug, Default)]
pub struct FleetLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for FleetLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if !wire::is_fleet(buf) {
            return self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx);
        }
        let (kind, body) = wire::open(buf)?;
        match kind {
            TABLE => {
                let table = ClusterTable::open(wire::decode::<TableSpec>(body)?)?;
                if table.schema().fields() != schema.fields() {
                    return Err(DataFusionError::Plan(crate::client::tagged(&format!(
                        "table {table_ref} has other columns on {} than on the client \
                         (is the data at the same path, the same on every node?)",
                        crate::node::role()
                    ))));
                }
                Ok(Arc::new(table))
            }
            VERB_TABLE => Ok(Arc::new(VerbTable::new(wire::decode::<VerbJob>(body)?)?)),
            other => Err(DataFusionError::Internal(format!(
                "fleet: unknown table kind '{other}'"
            ))),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(table) = node.downcast_ref::<ClusterTable>() {
            return wire::encode(TABLE, table.spec(), buf);
        }
        if let Some(table) = node.downcast_ref::<VerbTable>() {
            return wire::encode(VERB_TABLE, table.job(), buf);
        }
        if node.downcast_ref::<fleet_sql::FleetTable>().is_some() {
            return Err(DataFusionError::Internal(
                "fleet: a local fleet table cannot go to the cluster (register a ClusterTable)"
                    .into(),
            ));
        }
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// The physical codec; on an executor it also holds the [`PartRunner`] that runs the verbs'
/// partitions (the client and the scheduler never execute them).
#[derive(Debug, Default)]
pub struct FleetPhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
    runner: Option<Arc<dyn PartRunner>>,
}

impl FleetPhysicalCodec {
    pub fn with_runner(runner: Arc<dyn PartRunner>) -> FleetPhysicalCodec {
        FleetPhysicalCodec {
            ballista: BallistaPhysicalExtensionCodec::default(),
            runner: Some(runner),
        }
    }
}

impl PhysicalExtensionCodec for FleetPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !wire::is_fleet(buf) {
            return self.ballista.try_decode(buf, inputs, ctx, proto_converter);
        }
        let (kind, body) = wire::open(buf)?;
        match kind {
            SCAN => {
                let [input] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "fleet: a scan's plan takes one input, got {}",
                        inputs.len()
                    )));
                };
                Ok(Arc::new(
                    wire::decode::<ScanRequest>(body)?.plan(ctx, input.clone())?,
                ))
            }
            VERB => {
                let [input] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "fleet: a verb's plan takes one input, got {}",
                        inputs.len()
                    )));
                };
                Ok(Arc::new(VerbExec::over(
                    wire::decode::<VerbJob>(body)?,
                    self.runner.clone(),
                    input.clone(),
                )?))
            }
            other => Err(DataFusionError::Internal(format!(
                "fleet: unknown plan kind '{other}'"
            ))),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<ClusterScanExec>() {
            return wire::encode(SCAN, &scan.request, buf);
        }
        if let Some(verb) = node.downcast_ref::<VerbExec>() {
            return wire::encode(VERB, verb.job(), buf);
        }
        if node.downcast_ref::<fleet_sql::FleetScanExec>().is_some() {
            return Err(DataFusionError::Internal(
                "fleet: a local fleet scan cannot go to the cluster".into(),
            ));
        }
        self.ballista.try_encode(node, buf, proto_converter)
    }
}
