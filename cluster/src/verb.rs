//! The verbs on the cluster: [`VerbTable`] is a table whose one scan is a [`VerbJob`], and
//! [`VerbExec`] runs it as one partition per group of whole files. A partition's result is
//! what the verb's [`PartRunner`] returns ([`PartOutput`]): bytes (a scan's output and its
//! report, an agg part's report), carried as Arrow rows `(part, seq, last, data)` in pieces
//! of at most [`PIECE`] bytes, and, for `agg`, the part's partial states as typed Arrow
//! columns (`fleet_engine`'s `AggTable::to_state_batches`: counts, exact sums as decimals,
//! min/max winners, distinct sets), in rows of their own after the pieces, whose `data` is
//! null. `seq` numbers every row of a part, so the client can tell a missing or repeated
//! row from a complete part.
//!
//! `VerbExec` is not a leaf: its input is an in-memory scan whose partition `i` is one row,
//! the number `i`, and it runs the part numbers it reads. Ballista 55 gives a task a slice of
//! a stage's partitions by rewriting the plan's *leaves* it knows (files, memory, shuffle
//! reads) to that slice and leaves any other leaf whole, so a task would run every partition
//! of a custom leaf: each part would be run by every task and arrive several times. Through
//! the memory scan, the scheduler's own restriction hands each task its part numbers.
//!
//! Groups are whole files because a file's first record starts at a known boundary: a
//! chunk inside a file starts at a guessed one, which only the previous chunk can confirm
//! (quoted newlines), and that check is local to one job. The client puts the parts back in
//! file order and refuses a result missing a piece or holding one twice ([`assemble`]).

use crate::client::tagged;
use arrow_array::{
    new_null_array, Array, BooleanArray, LargeBinaryArray, RecordBatch, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Largest piece of a part's result in one Arrow row.
pub const PIECE: usize = 4 << 20;

/// A file as the client planned it: every node must see the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub path: PathBuf,
    pub size: u64,
}

/// One verb's run on the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerbJob {
    /// `agg` or `scan`.
    pub verb: String,
    /// The verb's arguments as the user gave them (`--cluster` left out).
    pub argv: Vec<String>,
    /// The client's working directory: relative paths in `argv` are relative to it.
    pub cwd: PathBuf,
    /// The dataset's files as the client planned them.
    pub files: Vec<FileStamp>,
    /// Per partition, the files `[start, end)` it reads.
    pub groups: Vec<(u32, u32)>,
    /// The Arrow schema (IPC-encoded) of the partial states a part returns besides its
    /// bytes: `agg`'s state columns; empty for none.
    pub states: Vec<u8>,
}

impl VerbJob {
    /// Cuts `sizes.len()` files into at most `parts` groups of consecutive files with about
    /// the same bytes each.
    pub fn group_files(sizes: &[u64], parts: usize) -> Vec<(u32, u32)> {
        let n = sizes.len();
        let parts = parts.clamp(1, n.max(1));
        let total: u64 = sizes.iter().sum();
        let mut groups = Vec::with_capacity(parts);
        let mut start = 0usize;
        let mut acc = 0u64;
        for (i, &size) in sizes.iter().enumerate() {
            acc += size;
            let left_files = n - (i + 1);
            let left_groups = parts - groups.len() - 1;
            let due = total.saturating_mul(groups.len() as u64 + 1) / parts as u64;
            if left_groups == 0 {
                continue;
            }
            if acc >= due || left_files == left_groups {
                groups.push((start as u32, i as u32 + 1));
                start = i + 1;
            }
        }
        if start < n || groups.is_empty() {
            groups.push((start as u32, n as u32));
        }
        groups
    }
}

/// Runs one partition of a verb's job on an executor: the `fleet` binary's verbs.
pub trait PartRunner: fmt::Debug + Send + Sync {
    /// The result of part `part` of `job`, or one line saying why there is none.
    fn run(&self, job: &VerbJob, part: usize) -> Result<PartOutput, String>;
}

/// One part's result: bytes, and batches of the job's state schema ([`VerbJob::states`]).
#[derive(Debug, Default, Clone)]
pub struct PartOutput {
    pub bytes: Vec<u8>,
    pub states: Vec<RecordBatch>,
}

/// The columns before the states: which part, which row of it, whether the part's last
/// row, and a piece of its bytes (null on a state row).
const HEAD_COLUMNS: usize = 4;

/// `schema` IPC-encoded, for [`VerbJob::states`].
pub fn encode_schema(schema: &Schema) -> Result<Vec<u8>, String> {
    let mut w =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), schema).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    w.into_inner().map_err(|e| e.to_string())
}

fn decode_schema(bytes: &[u8]) -> Result<SchemaRef> {
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    Ok(reader.schema())
}

/// The rows a part's result travels in: [`HEAD_COLUMNS`], then `states`' columns.
pub fn part_schema(states: &[u8]) -> Result<SchemaRef> {
    let mut fields = vec![
        Field::new("part", DataType::UInt32, false),
        Field::new("seq", DataType::UInt32, false),
        Field::new("last", DataType::Boolean, false),
        Field::new("data", DataType::LargeBinary, true),
    ];
    if !states.is_empty() {
        let extra = decode_schema(states)?;
        fields.extend(extra.fields().iter().map(|f| f.as_ref().clone()));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The table whose scan is a verb's job.
#[derive(Debug, Clone)]
pub struct VerbTable {
    job: VerbJob,
    schema: SchemaRef,
}

impl VerbTable {
    pub fn new(job: VerbJob) -> Result<VerbTable> {
        let schema = part_schema(&job.states)?;
        Ok(VerbTable { job, schema })
    }

    pub fn job(&self) -> &VerbJob {
        &self.job
    }
}

#[async_trait]
impl TableProvider for VerbTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(p) = projection {
            if *p != (0..self.schema.fields().len()).collect::<Vec<_>>() {
                return Err(DataFusionError::Plan(
                    "fleet: a verb's parts are read whole".into(),
                ));
            }
        }
        Ok(Arc::new(VerbExec::new(self.job.clone())?))
    }
}

/// The part numbers `0..parts`, one per partition: the input [`VerbExec`] (and
/// [`crate::table::ClusterScanExec`]) read their parts from, in a form Ballista's scheduler
/// knows how to cut into a task's slice.
pub(crate) fn part_numbers(parts: usize) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "part",
        DataType::UInt32,
        false,
    )]));
    let partitions = (0..parts as u32)
        .map(|p| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(UInt32Array::from(vec![p]))])
                .map(|b| vec![b])
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// Runs the parts whose numbers its input yields; one output partition per input one.
#[derive(Debug)]
pub struct VerbExec {
    job: VerbJob,
    schema: SchemaRef,
    runner: Option<Arc<dyn PartRunner>>,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl VerbExec {
    /// The job over its part numbers (on the client and the scheduler).
    pub fn new(job: VerbJob) -> Result<VerbExec> {
        let input = part_numbers(job.groups.len().max(1))?;
        VerbExec::over(job, None, input)
    }

    /// The job over `input`, a slice of its part numbers (as a task receives it).
    pub fn over(
        job: VerbJob,
        runner: Option<Arc<dyn PartRunner>>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<VerbExec> {
        let schema = part_schema(&job.states)?;
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(
                input.properties().output_partitioning().partition_count(),
            ),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(VerbExec {
            job,
            schema,
            runner,
            input,
            properties: Arc::new(properties),
        })
    }

    pub fn job(&self) -> &VerbJob {
        &self.job
    }
}

impl DisplayAs for VerbExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FleetVerbExec: verb={}, files={}, parts={}",
            self.job.verb,
            self.job.files.len(),
            self.job.groups.len()
        )
    }
}

/// The one input of a plan node that reads its part numbers from it (`VerbExec`,
/// `ClusterScanExec`), as `with_new_children` gets it.
pub(crate) fn only_child(
    name: &str,
    children: Vec<Arc<dyn ExecutionPlan>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let [input] = <[_; 1]>::try_from(children).map_err(|c: Vec<_>| {
        DataFusionError::Internal(format!("{name} takes one input, got {}", c.len()))
    })?;
    Ok(input)
}

impl ExecutionPlan for VerbExec {
    fn name(&self) -> &str {
        "FleetVerbExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    // Each input partition is exactly the parts it names: never spread them out again.
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
        let input = only_child("FleetVerbExec", children)?;
        Ok(Arc::new(VerbExec::over(
            self.job.clone(),
            self.runner.clone(),
            input,
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(runner) = self.runner.clone() else {
            return Err(DataFusionError::Execution(tagged(
                "this executor cannot run fleet's verbs: start it with `fleet cluster executor`",
            )));
        };
        let job = Arc::new(self.job.clone());
        let schema = self.schema.clone();
        let stream = numbers_of(&self.input, partition, context)?
            .and_then(move |part| run_part(runner.clone(), job.clone(), schema.clone(), part))
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The part numbers partition `partition` of `input` (a [`part_numbers`] plan) yields.
pub(crate) fn numbers_of(
    input: &Arc<dyn ExecutionPlan>,
    partition: usize,
    context: Arc<TaskContext>,
) -> Result<impl futures::Stream<Item = Result<u32>> + Send + 'static> {
    Ok(input
        .execute(partition, context)?
        .map_ok(|batch| {
            let parts: Vec<Result<u32>> =
                match batch.column(0).as_any().downcast_ref::<UInt32Array>() {
                    Some(a) => a.values().iter().map(|&p| Ok(p)).collect(),
                    None => vec![Err(DataFusionError::Internal(
                        "fleet: part numbers of an unexpected type".into(),
                    ))],
                };
            futures::stream::iter(parts)
        })
        .try_flatten())
}

/// Part `part` of `job` as its rows. The verb runs fleet's thread engine on an OS thread
/// of its own: never inside tokio's workers, and never forking.
async fn run_part(
    runner: Arc<dyn PartRunner>,
    job: Arc<VerbJob>,
    schema: SchemaRef,
    part: u32,
) -> Result<Vec<RecordBatch>> {
    if part as usize >= job.groups.len() {
        return Err(DataFusionError::Internal(format!(
            "fleet: no part {part} in a job of {}",
            job.groups.len()
        )));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("fleet-part-{part}"))
        .spawn(move || {
            let _ = tx.send(runner.run(&job, part as usize));
        })
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    match rx.await {
        Ok(Ok(output)) => part_rows(part, &output, &schema),
        Ok(Err(message)) => Err(DataFusionError::Execution(tagged(&message))),
        Err(_) => Err(DataFusionError::Execution(tagged(&format!(
            "part {part} stopped without a result"
        )))),
    }
}

/// A part's result as rows of `schema`: its bytes in pieces of at most [`PIECE`] bytes (one
/// empty piece for no bytes), then its state batches' rows; `seq` numbers them all.
pub fn part_rows(part: u32, output: &PartOutput, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    let wrong = || {
        DataFusionError::Execution(tagged(
            "this executor's partial states do not have the client's columns \
             (is it another fleet version?)",
        ))
    };
    let state_fields = &schema.fields()[HEAD_COLUMNS..];
    let chunks: Vec<&[u8]> = if output.bytes.is_empty() {
        vec![&[]]
    } else {
        output.bytes.chunks(PIECE).collect()
    };
    let total = chunks.len()
        + output
            .states
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>();
    let total = u32::try_from(total).map_err(|_| wrong())?;
    let mut seq = 0u32;
    let mut head = |rows: usize, data: Arc<dyn Array>| -> Vec<Arc<dyn Array>> {
        let from = seq;
        seq += rows as u32;
        vec![
            Arc::new(UInt32Array::from(vec![part; rows])),
            Arc::new(UInt32Array::from_iter_values(from..seq)),
            Arc::new(BooleanArray::from_iter(
                (from..seq).map(|i| Some(i + 1 == total)),
            )),
            data,
        ]
    };
    let mut out = Vec::new();
    let n = chunks.len();
    let mut columns = head(n, Arc::new(LargeBinaryArray::from_iter_values(chunks)));
    columns.extend(
        state_fields
            .iter()
            .map(|f| new_null_array(f.data_type(), n)),
    );
    out.push(RecordBatch::try_new(schema.clone(), columns)?);
    for batch in &output.states {
        let same = batch.schema().fields().len() == state_fields.len()
            && batch
                .schema()
                .fields()
                .iter()
                .zip(state_fields)
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(wrong());
        }
        let rows = batch.num_rows();
        let mut columns = head(rows, new_null_array(&DataType::LargeBinary, rows));
        columns.extend(batch.columns().iter().cloned());
        out.push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    Ok(out)
}

/// The parts' results in part order, checked complete: every part present, its rows in
/// sequence, the last one marked, none twice.
pub fn assemble(batches: &[RecordBatch], parts: usize) -> Result<Vec<PartOutput>, String> {
    let shape = || "the cluster returned parts of an unexpected shape".to_string();
    // (part, seq, last, batch, row)
    let mut rows: Vec<(u32, u32, bool, usize, usize)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let col = |i: usize| batch.columns().get(i).ok_or_else(shape);
        let (Some(part), Some(seq), Some(last)) = (
            col(0)?.as_any().downcast_ref::<UInt32Array>(),
            col(1)?.as_any().downcast_ref::<UInt32Array>(),
            col(2)?.as_any().downcast_ref::<BooleanArray>(),
        ) else {
            return Err(shape());
        };
        col(3)?
            .as_any()
            .downcast_ref::<LargeBinaryArray>()
            .ok_or_else(shape)?;
        for r in 0..batch.num_rows() {
            rows.push((part.value(r), seq.value(r), last.value(r), b, r));
        }
    }
    rows.sort_by_key(|&(p, s, ..)| (p, s));
    let mut out: Vec<PartOutput> = vec![PartOutput::default(); parts];
    let mut next = 0u32; // next part expected complete
    let mut seq = 0u32;
    // A run of state rows of the current part in one batch: (batch, first row, rows).
    let mut run: Option<(usize, usize, usize)> = None;
    let flush =
        |run: &mut Option<(usize, usize, usize)>, part: &mut PartOutput| -> Result<(), String> {
            if let Some((b, from, n)) = run.take() {
                let batch = batches[b].slice(from, n);
                let states: Vec<usize> = (HEAD_COLUMNS..batch.num_columns()).collect();
                part.states
                    .push(batch.project(&states).map_err(|_| shape())?);
            }
            Ok(())
        };
    for (p, s, last, b, r) in rows {
        if p < next || (p == next && s < seq) {
            return Err(format!(
                "the cluster's result is inconsistent: part {p} row {s} arrived twice"
            ));
        }
        if p != next || s != seq {
            return Err(format!(
                "the cluster's result is incomplete: part {next} row {seq} missing"
            ));
        }
        let part = &mut out[p as usize];
        let data = batches[b].column(3);
        if data.is_valid(r) {
            flush(&mut run, part)?;
            if let Some(d) = data.as_any().downcast_ref::<LargeBinaryArray>() {
                part.bytes.extend_from_slice(d.value(r));
            }
        } else {
            run = match run {
                Some((rb, from, n)) if rb == b && from + n == r => Some((rb, from, n + 1)),
                other => {
                    let mut other = other;
                    flush(&mut other, part)?;
                    Some((b, r, 1))
                }
            };
        }
        if last {
            flush(&mut run, part)?;
            next += 1;
            seq = 0;
        } else {
            seq += 1;
        }
    }
    if next as usize != parts {
        return Err(format!(
            "the cluster's result is incomplete: {} of {parts} parts",
            next
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_the_files_in_order_and_balance_bytes() {
        for sizes in [
            vec![10u64, 10, 10, 10],
            vec![100, 1, 1, 1, 1],
            vec![1, 1, 1, 100],
            vec![5],
            vec![0, 0, 0],
        ] {
            for parts in 1..7 {
                let g = VerbJob::group_files(&sizes, parts);
                assert_eq!(g.first().map(|g| g.0), Some(0));
                assert_eq!(g.last().map(|g| g.1), Some(sizes.len() as u32));
                assert!(
                    g.len() <= parts.min(sizes.len()).max(1),
                    "{sizes:?} {parts} {g:?}"
                );
                for w in g.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                assert!(g.iter().all(|&(a, b)| a < b), "{sizes:?} {parts} {g:?}");
            }
        }
        assert_eq!(
            VerbJob::group_files(&[10, 10, 10, 10], 2),
            vec![(0, 2), (2, 4)]
        );
        assert_eq!(VerbJob::group_files(&[10, 10, 10, 10], 4).len(), 4);
    }

    fn bytes_only(bytes: &[u8]) -> PartOutput {
        PartOutput {
            bytes: bytes.to_vec(),
            states: vec![],
        }
    }

    #[test]
    fn parts_come_back_in_order_and_a_missing_piece_is_refused() {
        let schema = part_schema(&[]).unwrap();
        let rows = |part, bytes: &[u8]| {
            let mut b = part_rows(part, &bytes_only(bytes), &schema).unwrap();
            assert_eq!(b.len(), 1);
            b.remove(0)
        };
        let big = vec![7u8; PIECE + 3];
        let b0 = rows(0, b"abc");
        let b1 = rows(1, &big);
        let b2 = rows(2, b"");
        let out = assemble(&[b2.clone(), b1.clone(), b0.clone()], 3).unwrap();
        let bytes: Vec<Vec<u8>> = out.into_iter().map(|p| p.bytes).collect();
        assert_eq!(bytes, vec![b"abc".to_vec(), big.clone(), Vec::new()]);
        assert!(assemble(&[b0.clone(), b2.clone()], 3).is_err());
        assert!(assemble(&[b0.clone(), b1.slice(0, 1), b2.clone()], 3).is_err());
        assert!(assemble(&[b0, b1, b2.clone(), b2], 3).is_err());
    }

    #[test]
    fn state_rows_come_back_whole_in_order_and_checked() {
        use arrow_array::UInt64Array;
        let states = Schema::new(vec![Field::new("x", DataType::UInt64, true)]);
        let schema = part_schema(&encode_schema(&states).unwrap()).unwrap();
        let batch = |from: u64, n: u64| {
            RecordBatch::try_new(
                Arc::new(states.clone()),
                vec![Arc::new(UInt64Array::from_iter_values(from..from + n))],
            )
            .unwrap()
        };
        let part = |p: u32, bytes: &[u8], batches: Vec<RecordBatch>| {
            part_rows(
                p,
                &PartOutput {
                    bytes: bytes.to_vec(),
                    states: batches,
                },
                &schema,
            )
            .unwrap()
        };
        let p0 = part(0, b"report 0", vec![batch(0, 3), batch(3, 2)]);
        let p1 = part(1, b"", vec![]);
        let p2 = part(2, b"report 2", vec![batch(100, 1)]);
        let values = |out: &PartOutput| -> Vec<u64> {
            out.states
                .iter()
                .flat_map(|b| {
                    let a = b.column(0).as_any().downcast_ref::<UInt64Array>().unwrap();
                    a.values().to_vec()
                })
                .collect()
        };
        // Shuffled batches, and one split in two: the same parts back.
        let mut all: Vec<RecordBatch> = p2.iter().chain(&p0).chain(&p1).cloned().collect();
        let split = all.remove(3);
        all.push(split.slice(1, split.num_rows() - 1));
        all.insert(0, split.slice(0, 1));
        let out = assemble(&all, 3).unwrap();
        assert_eq!(out[0].bytes, b"report 0");
        assert_eq!(values(&out[0]), [0, 1, 2, 3, 4]);
        assert!(out[1].bytes.is_empty() && out[1].states.is_empty());
        assert_eq!(out[2].bytes, b"report 2");
        assert_eq!(values(&out[2]), [100]);
        assert_eq!(out[0].states[0].schema().fields().len(), 1);
        // A state row missing, or twice.
        let mut short = all.clone();
        let last = short.pop().unwrap();
        short.push(last.slice(0, last.num_rows() - 1));
        assert!(assemble(&short, 3).unwrap_err().contains("missing"));
        let mut twice = all.clone();
        twice.push(p0[1].slice(0, 1));
        assert!(assemble(&twice, 3).unwrap_err().contains("twice"));
        // States of other columns than the job's are refused on the executor.
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("y", DataType::UInt64, true)])),
            vec![Arc::new(UInt64Array::from(vec![1]))],
        )
        .unwrap();
        let e = part_rows(
            0,
            &PartOutput {
                bytes: vec![],
                states: vec![other],
            },
            &schema,
        )
        .unwrap_err();
        assert!(e.to_string().contains("client's columns"), "{e}");
    }

    /// Returns the part number as its result.
    #[derive(Debug)]
    struct EchoPart;

    impl PartRunner for EchoPart {
        fn run(&self, _job: &VerbJob, part: usize) -> Result<PartOutput, String> {
            Ok(bytes_only(format!("part {part}").as_bytes()))
        }
    }

    fn job(parts: usize) -> VerbJob {
        VerbJob {
            verb: "agg".into(),
            argv: vec![],
            cwd: PathBuf::from("/"),
            files: vec![],
            groups: (0..parts as u32).map(|i| (i, i + 1)).collect(),
            states: vec![],
        }
    }

    /// What one task of the stage runs: the plan after the scheduler's cut to `slice`, then
    /// through the codecs as an executor receives it, every output partition executed.
    async fn run_task(slice: &[usize]) -> Vec<Vec<u8>> {
        use crate::codec::FleetPhysicalCodec;
        use ballista_scheduler::state::task_builder::restrict_plan_to_partitions;
        use datafusion::prelude::SessionContext;
        use datafusion_proto::physical_plan::AsExecutionPlan;
        use datafusion_proto::protobuf::PhysicalPlanNode;

        let plan: Arc<dyn ExecutionPlan> = Arc::new(VerbExec::new(job(4)).unwrap());
        let cut = restrict_plan_to_partitions(plan, slice).unwrap();
        let proto =
            PhysicalPlanNode::try_from_physical_plan(cut, &FleetPhysicalCodec::default()).unwrap();
        let ctx = SessionContext::new();
        let received = proto
            .try_into_physical_plan(
                &ctx.task_ctx(),
                &FleetPhysicalCodec::with_runner(Arc::new(EchoPart)),
            )
            .unwrap();
        let n = received
            .properties()
            .output_partitioning()
            .partition_count();
        let mut batches = Vec::new();
        for i in 0..n {
            let stream = received.execute(i, ctx.task_ctx()).unwrap();
            batches.extend(stream.try_collect::<Vec<_>>().await.unwrap());
        }
        let mut out = Vec::new();
        for b in &batches {
            let data = b
                .column(3)
                .as_any()
                .downcast_ref::<LargeBinaryArray>()
                .unwrap();
            out.extend((0..b.num_rows()).map(|r| data.value(r).to_vec()));
        }
        out
    }

    #[tokio::test]
    async fn a_task_runs_only_the_parts_of_its_slice() {
        assert_eq!(run_task(&[2]).await, vec![b"part 2".to_vec()]);
        assert_eq!(
            run_task(&[3, 0]).await,
            vec![b"part 3".to_vec(), b"part 0".to_vec()]
        );
        assert_eq!(run_task(&[0, 1, 2, 3]).await.len(), 4);
    }
}
