//! [`SqlTask`]: what fleet's workers run for a SQL scan. The kernel (`filter_chunk`) finds and
//! filters a chunk's records with the pushed-down predicates; each match that also passes the
//! residual condition has its projected fields parsed into Arrow builders (fleet's columnar
//! `BatchBuilder`), and the chunk's batches leave as frames (see `frame.rs`).

use crate::filter::{Cond, NullRule};
use crate::frame::{write_batch, write_error};
use fleet_engine::columnar::{BatchBuilder, ColumnType, OutputColumn};
use fleet_engine::input::charset::{decode_into, Encoding};
use fleet_engine::input::nulls::NullMarkers;
use fleet_engine::job::{ChunkTask, ChunkView};
use fleet_engine::query::condition::Condition;
use fleet_engine::scan::kernel::{filter_chunk, Filter, MatchSink, Scratch};
use fleet_engine::scan::outcome::ChunkOutcome;

/// Fixed for the whole scan.
#[derive(Debug, Clone)]
pub struct SqlTask {
    /// Fields per well-formed record.
    pub ncols: usize,
    /// The pushed-down comparisons (each a [`Condition::Test`]), all of which must hold.
    pub predicates: Vec<Condition>,
    pub residual: Vec<Cond>,
    /// Which raw fields are null (for `residual`).
    pub rule: NullRule,
    /// The null markers in UTF-8, for the batch builder (text fields reach it decoded).
    pub nulls: NullMarkers,
    /// 0-based fields to output, in order, and their columns.
    pub projection: Vec<usize>,
    pub columns: Vec<OutputColumn>,
    /// Text fields are decoded from this encoding (input not transcoded to UTF-8).
    pub decode: Option<&'static Encoding>,
}

impl ChunkTask for SqlTask {
    fn run(&self, view: ChunkView<'_>, out: &mut Vec<u8>, scratch: &mut Scratch) -> ChunkOutcome {
        let start = out.len();
        let mut sink = ArrowSink {
            task: self,
            builder: BatchBuilder::new(&self.columns, &self.nulls),
            out,
            start,
            failed: false,
            decoded: vec![Vec::new(); self.projection.len()],
            needed: self.fields_needed(),
        };
        let filter = Filter {
            ncols: self.ncols,
            predicates: &self.predicates,
        };
        let outcome = filter_chunk(
            view.data,
            view.range,
            view.at_eof,
            view.delimiter,
            filter,
            &mut sink,
            scratch,
        );
        sink.flush();
        ChunkOutcome {
            out_bytes: (out.len() - start) as u64,
            ..outcome
        }
    }
}

impl SqlTask {
    fn fields_needed(&self) -> usize {
        let mut needed = self.projection.iter().map(|c| c + 1).max().unwrap_or(0);
        for cond in &self.residual {
            needed = needed.max(cond_needs(cond));
        }
        needed
    }
}

fn cond_needs(cond: &Cond) -> usize {
    match cond {
        Cond::Pred(p) => p.column() + 1,
        Cond::Float { column, .. }
        | Cond::Time { column, .. }
        | Cond::Prefix { column, .. }
        | Cond::IsNull(column) => column + 1,
        Cond::And(all) | Cond::Or(all) => all.iter().map(cond_needs).max().unwrap_or(0),
        Cond::Not(c) => cond_needs(c),
    }
}

/// Turns matching records into Arrow rows.
struct ArrowSink<'a> {
    task: &'a SqlTask,
    builder: BatchBuilder,
    out: &'a mut Vec<u8>,
    start: usize,
    /// An error frame was written: the scan fails, nothing more is built.
    failed: bool,
    /// Reusable buffers for decoded text fields.
    decoded: Vec<Vec<u8>>,
    needed: usize,
}

impl ArrowSink<'_> {
    fn flush(&mut self) {
        if self.failed || self.builder.rows() == 0 {
            return;
        }
        let written = self
            .builder
            .finish()
            .map_err(|e| e.to_string())
            .and_then(|batch| write_batch(self.out, &batch));
        if let Err(e) = written {
            self.fail(&format!("cannot encode a record batch: {e}"));
        }
    }

    fn fail(&mut self, message: &str) {
        write_error(self.out, message);
        self.failed = true;
    }
}

impl MatchSink for ArrowSink<'_> {
    fn fields_needed(&self) -> usize {
        self.needed
    }

    fn matched<'f>(&mut self, _raw: &[u8], field: &impl Fn(usize) -> &'f [u8]) {
        if self.failed {
            return;
        }
        if !self
            .task
            .residual
            .iter()
            .all(|c| c.eval(field, &self.task.rule) == Some(true))
        {
            return;
        }
        let task = self.task;
        let appended = match task.decode {
            Some(encoding) => {
                for (slot, (&c, col)) in task.projection.iter().zip(&task.columns).enumerate() {
                    let buf = &mut self.decoded[slot];
                    buf.clear();
                    if col.ty == ColumnType::Utf8 {
                        decode_into(encoding, field(c), buf);
                    } else {
                        buf.extend_from_slice(field(c));
                    }
                }
                let decoded = &self.decoded;
                self.builder.append(|i| decoded[i].as_slice())
            }
            None => self.builder.append(|i| field(task.projection[i])),
        };
        if let Err(bad) = appended {
            let col = &task.columns[bad.column];
            let value = String::from_utf8_lossy(field(task.projection[bad.column])).into_owned();
            self.fail(&format!(
                "column '{}': {value:?} is not {} (the type was inferred from a sample; declare it in fleet.toml [types], e.g. {} = \"utf8\")",
                col.name, col.ty, col.name
            ));
            return;
        }
        if self.builder.is_full() {
            self.flush();
        }
    }

    fn restart(&mut self) {
        self.out.truncate(self.start);
        self.failed = false;
        if self.builder.rows() > 0 {
            let _ = self.builder.finish();
        }
    }
}
