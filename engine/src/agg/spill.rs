//! [`GroupStore`]: the coordinator's merged table of a hashed group-by under a memory limit
//! (`fleet agg --memory`), and the partitioned, parallel finish that turns it into rows.
//!
//! While chunk tables merge in, the store measures its table ([`AggTable::heap_bytes`]).
//! Past the limit it splits the groups by a radix of their key hash into [`PARTITIONS`]
//! parts, appends each part as an encoded table (the codec of `codec.rs`) to that
//! partition's temporary file, and starts again with an empty table that keeps only the
//! counters (malformed values and keys, text seen). A group may so be spilled many times,
//! in several runs of its partition's file; its states merge exactly whatever the grouping
//! (see `exact.rs`), so merging the runs gives the same states as merging in memory.
//!
//! At the end, when anything was spilled, what is in memory is spilled too, and the
//! partitions are merged one per rayon thread at a time: a partition's runs merge into a
//! table of its own (about 1/64 of the groups), which is rendered into rows, sorted and cut
//! to `--top` (a partition's top rows are a superset of its share of the global top), and
//! dropped. The partitions' rows are then put in the global order by the same comparison as
//! the in-memory path, which is total (key tuples are distinct and every comparison ends on
//! the key bytes), so the output is byte-identical to the in-memory path's.
//!
//! The temporary files live in one directory made by `tempfile`, removed when the store is
//! dropped: at the end, on an error, and after Ctrl-C (the job returns `Interrupted` and the
//! store is dropped on the way out). Only a second Ctrl-C, which ends the process at once,
//! or SIGKILL leave it behind (in the system's temporary folder, named `.fleet-groups*`).
//!
//! What stays unbounded: the output rows (every group's rendered keys and values are held
//! to be sorted), and a chunk's own table in a worker (bounded by the chunk size instead).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use rayon::prelude::*;

use super::error::AggError;
use super::output::{order_rows, rows_of, AggRow};
use super::spec::{AggPlan, Sort};
use super::table::AggTable;

/// How many parts the groups are split into when spilled.
pub const PARTITIONS: usize = 64;

/// A group's partition: 6 bits of its key hash from between the bits the group index uses
/// for the slot (low) and the tag (top 16), so each partition's own table still spreads well.
#[inline]
fn partition_of(hash: u64) -> usize {
    (hash >> 40) as usize & (PARTITIONS - 1)
}

/// The default `--memory`: half of physical memory (1 GiB when it cannot be read).
pub fn default_memory_limit() -> u64 {
    // SAFETY: sysconf only reads system configuration; it has no memory-safety
    // preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    match (u64::try_from(pages), u64::try_from(page)) {
        (Ok(pages), Ok(page)) if pages > 0 && page > 0 => pages.saturating_mul(page) / 2,
        _ => 1 << 30,
    }
}

/// What the store used, for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// `--memory`, in bytes.
    pub limit: u64,
    /// The largest the merged table (or, at the end, a partition's table) was.
    pub peak: u64,
    /// How many times the table was written out.
    pub spills: u32,
    /// Bytes written to the temporary files.
    pub spilled_bytes: u64,
}

/// The per-partition files of a store that has spilled.
struct SpillFiles {
    /// Removed (with the files) when dropped.
    dir: tempfile::TempDir,
    files: Vec<File>,
}

impl std::fmt::Debug for SpillFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpillFiles({})", self.dir.path().display())
    }
}

impl SpillFiles {
    fn create() -> std::io::Result<SpillFiles> {
        let dir = tempfile::Builder::new().prefix(".fleet-groups").tempdir()?;
        let files = (0..PARTITIONS)
            .map(|p| {
                File::options()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(dir.path().join(format!("part-{p:02}")))
            })
            .collect::<std::io::Result<Vec<File>>>()?;
        Ok(SpillFiles { dir, files })
    }
}

/// The merged hashed groups of a job, in memory up to a limit and spilled beyond it.
#[derive(Debug)]
pub struct GroupStore {
    /// Groups merged since the last spill, and every counter.
    table: AggTable,
    spill: Option<SpillFiles>,
    usage: MemoryUse,
}

/// The final rows and what the CLI reports besides them.
#[derive(Debug)]
pub struct Finished {
    pub rows: Vec<AggRow>,
    /// As [`AggTable::markers_read_as_text`] over every group.
    pub markers_read_as_text: Vec<String>,
    pub usage: MemoryUse,
    /// Groups (before `--top`).
    pub groups: u64,
}

impl GroupStore {
    /// An empty store for `plan` that spills past `limit` bytes.
    pub fn new(plan: &AggPlan, limit: u64) -> GroupStore {
        GroupStore {
            table: AggTable::new(plan),
            spill: None,
            usage: MemoryUse {
                limit,
                ..MemoryUse::default()
            },
        }
    }

    /// A store holding `table` (spilled at once if past the limit), with `usage` so far.
    pub fn from_table(table: AggTable, usage: MemoryUse) -> Result<GroupStore, AggError> {
        let mut store = GroupStore {
            table,
            spill: None,
            usage,
        };
        store.check()?;
        Ok(store)
    }

    /// The table in memory (every group when nothing was spilled).
    pub fn into_table(self) -> AggTable {
        self.table
    }

    /// The table in memory: every group when nothing was spilled, and in any case the
    /// counters (malformed values and keys) of every merged table.
    pub fn table(&self) -> &AggTable {
        &self.table
    }

    pub fn usage(&self) -> MemoryUse {
        self.usage
    }

    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Folds an encoded chunk table in (see [`AggTable::merge_encoded`]), then spills if
    /// the table passed the limit.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<(), AggError> {
        self.table.merge_encoded(bytes)?;
        self.check()
    }

    /// Folds `other` in, then spills if the table passed the limit.
    pub fn merge(&mut self, other: AggTable) -> Result<(), AggError> {
        self.table.merge(other);
        self.check()
    }

    fn check(&mut self) -> Result<(), AggError> {
        let used = self.table.heap_bytes() as u64;
        self.usage.peak = self.usage.peak.max(used);
        if used > self.usage.limit && self.table.groups() > 0 {
            self.spill_table()?;
        }
        Ok(())
    }

    /// Appends each partition of the table to its file and empties the table (counters
    /// kept).
    fn spill_table(&mut self) -> Result<(), AggError> {
        let mut parts: Vec<Vec<usize>> = vec![Vec::new(); PARTITIONS];
        for g in 0..self.table.groups() {
            parts[partition_of(self.table.group_hash(g))].push(g);
        }
        if self.spill.is_none() {
            self.spill = Some(SpillFiles::create().map_err(AggError::spill)?);
        }
        let Some(files) = self.spill.as_mut() else {
            return Ok(());
        };
        let mut buf = Vec::new();
        for (groups, file) in parts.iter().zip(&mut files.files) {
            if groups.is_empty() {
                continue;
            }
            buf.clear();
            buf.extend_from_slice(&[0; 8]);
            self.table.encode_groups(groups, false, &mut buf);
            let len = (buf.len() - 8) as u64;
            buf[..8].copy_from_slice(&len.to_le_bytes());
            file.write_all(&buf).map_err(AggError::spill)?;
            self.usage.spilled_bytes += buf.len() as u64;
        }
        self.usage.spills += 1;
        self.table = self.table.emptied();
        Ok(())
    }

    /// The final rows in output order (see [`crate::agg::finish_per`]): from the table in
    /// memory when nothing was spilled, else partition by partition from the files.
    pub fn finish(
        mut self,
        plan: &AggPlan,
        sort: Option<&Sort>,
        top: Option<usize>,
        top_by: Option<usize>,
    ) -> Result<Finished, AggError> {
        if self.spill.is_none() {
            return Ok(Finished {
                rows: super::output::finish_per(&self.table, plan, sort, top, top_by),
                markers_read_as_text: self.table.markers_read_as_text(),
                usage: self.usage,
                groups: self.table.groups() as u64,
            });
        }
        if self.table.groups() > 0 {
            self.spill_table()?;
        }
        let Some(spill) = self.spill.as_mut() else {
            unreachable!("checked above");
        };
        for file in &mut spill.files {
            file.flush().map_err(AggError::spill)?;
            file.seek(SeekFrom::Start(0)).map_err(AggError::spill)?;
        }
        let counters = &self.table;
        let limit = self.usage.limit;
        type Part = (Vec<AggRow>, Vec<String>, u64, usize);
        let parts: Vec<Result<Part, AggError>> = spill
            .files
            .par_iter()
            .enumerate()
            .map(|(p, file)| {
                let table = merge_partition(counters, file, p, limit)?;
                let used = table.heap_bytes() as u64;
                let markers = table.markers_read_as_text();
                let groups = table.groups();
                let rows = order_rows(rows_of(&table, plan), plan, sort, top, top_by);
                Ok((rows, markers, used, groups))
            })
            .collect();
        let mut rows = Vec::new();
        let mut markers: Vec<String> = Vec::new();
        let mut groups = 0u64;
        for part in parts {
            let (part_rows, part_markers, used, part_groups) = part?;
            groups += part_groups as u64;
            self.usage.peak = self.usage.peak.max(used);
            rows.extend(part_rows);
            for m in part_markers {
                if !markers.contains(&m) {
                    markers.push(m);
                }
            }
        }
        // In spec order, as the in-memory path lists them.
        markers.sort_by_key(|m| plan.specs.iter().position(|s| &s.text == m));
        Ok(Finished {
            rows: order_rows(rows, plan, sort, top, top_by),
            markers_read_as_text: markers,
            usage: self.usage,
            groups,
        })
    }
}

/// Partition `p`'s runs from `file` merged into one table with `counters`' counters (so
/// that values render as in the whole table). A partition larger than `limit` is an error:
/// splitting it further would need a second radix pass, which is not built.
fn merge_partition(
    counters: &AggTable,
    file: &File,
    p: usize,
    limit: u64,
) -> Result<AggTable, AggError> {
    let mut table = counters.emptied();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 8];
        match reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(AggError::spill(e)),
        }
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| AggError::Decode {
            reason: "spilled run too large",
            offset: 0,
        })?;
        buf.resize(len, 0);
        reader.read_exact(&mut buf).map_err(AggError::spill)?;
        table.merge_encoded(&buf)?;
        let used = table.heap_bytes() as u64;
        if used > limit {
            return Err(AggError::PartitionTooLarge {
                partition: p,
                groups: table.groups(),
                bytes: used,
                limit,
            });
        }
    }
    // The runs were written with zero counters; merge_encoded added nothing to them.
    table.set_counters(counters);
    Ok(table)
}
