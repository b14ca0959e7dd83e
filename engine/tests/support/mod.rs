//! Test support: a plain sequential reference scan (the `csv` crate, no tricks) and helpers to
//! run the engine on in-memory files through a temporary directory.
#![allow(dead_code, clippy::unwrap_used)]

use csv::{ByteRecord, ReaderBuilder};
use fleet_engine::input::dataset::{self, DatasetOptions};
use fleet_engine::query::condition::Condition;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::scan::format::write_json_string;
use fleet_engine::{run_scan, Emit, EngineKind, JobOptions, ScanReport, ScanSpec};
use std::path::PathBuf;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reference {
    pub records: u64,
    pub matches: u64,
    pub malformed: u64,
    /// (file index, 1-based line) of every malformed record.
    pub malformed_at: Vec<(usize, u64)>,
    pub out: Vec<u8>,
}

/// Reads every file with `csv::Reader` (flexible, no header handling) and applies the same
/// predicate semantics and output formats the engine promises.
pub fn reference(
    files: &[Vec<u8>],
    header: bool,
    delimiter: u8,
    preds: &[Predicate],
    emit: &Emit,
) -> Reference {
    let keep = |rec: &ByteRecord| preds.iter().all(|p| p.matches(&rec[p.column()]));
    reference_with(files, header, delimiter, keep, emit)
}

/// As [`reference`], for conditions (`or`, sets): each record the `csv` crate reads is tested
/// by the conditions' own general evaluation, which no pass of the kernel is.
pub fn reference_conditions(
    files: &[Vec<u8>],
    delimiter: u8,
    conditions: &[Condition],
    emit: &Emit,
) -> Reference {
    let keep = |rec: &ByteRecord| {
        let field = |i: usize| &rec[i];
        conditions.iter().all(|c| c.holds(&field, &mut false))
    };
    reference_with(files, false, delimiter, keep, emit)
}

/// The reference scan with `keep` deciding which well-formed records match.
pub fn reference_with(
    files: &[Vec<u8>],
    header: bool,
    delimiter: u8,
    keep: impl Fn(&ByteRecord) -> bool,
    emit: &Emit,
) -> Reference {
    let mut r = Reference::default();
    let mut ncols = None;
    for (index, data) in files.iter().enumerate() {
        let mut rdr = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(&data[..]);
        let mut rec = ByteRecord::new();
        let mut first = true;
        while rdr.read_byte_record(&mut rec).unwrap() {
            let mut start = rec.position().unwrap().byte() as usize;
            if start == 0 && data.starts_with(b"\xef\xbb\xbf") {
                start = 3; // record bytes never include the BOM
            }
            while start < data.len() && (data[start] == b'\n' || data[start] == b'\r') {
                start += 1;
            }
            let mut end = rdr.position().byte() as usize;
            if end > 0 && data[end - 1] == b'\r' && data.get(end) == Some(&b'\n') {
                end += 1;
            }
            if first {
                first = false;
                if ncols.is_none() {
                    ncols = Some(rec.len());
                }
                if header {
                    continue;
                }
            }
            r.records += 1;
            if Some(rec.len()) != ncols {
                r.malformed += 1;
                let line = 1 + data[..start].iter().filter(|&&b| b == b'\n').count() as u64;
                r.malformed_at.push((index, line));
                continue;
            }
            if !keep(&rec) {
                continue;
            }
            r.matches += 1;
            match emit {
                Emit::Nothing => {}
                Emit::Raw => {
                    r.out.extend_from_slice(&data[start..end]);
                    if !matches!(data[..end].last(), Some(b'\n' | b'\r')) {
                        r.out.push(b'\n');
                    }
                }
                Emit::Csv { columns, delimiter } => {
                    let mut w = csv::WriterBuilder::new()
                        .delimiter(*delimiter)
                        .from_writer(Vec::new());
                    let fields: Vec<&[u8]> = columns.iter().map(|&c| &rec[c]).collect();
                    w.write_record(&fields).unwrap();
                    r.out.extend_from_slice(&w.into_inner().unwrap());
                }
                Emit::Jsonl { columns, keys } => {
                    r.out.push(b'{');
                    for (i, (&c, key)) in columns.iter().zip(keys).enumerate() {
                        if i > 0 {
                            r.out.push(b',');
                        }
                        r.out.extend_from_slice(key.as_bytes());
                        r.out.push(b':');
                        let text = String::from_utf8_lossy(&rec[c]).into_owned();
                        r.out
                            .extend_from_slice(serde_json::to_string(&text).unwrap().as_bytes());
                    }
                    r.out.extend_from_slice(b"}\n");
                }
            }
        }
    }
    r
}

/// Writes `files` as `f000.csv`... in a fresh temp dir.
pub fn write_files(files: &[Vec<u8>]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = files
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let p = dir.path().join(format!("f{i:03}.csv"));
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect();
    (dir, paths)
}

pub struct Run {
    pub report: ScanReport,
    pub out: Vec<u8>,
}

/// Opens the files as a dataset and scans them with the engine.
pub fn run_engine(
    paths: &[PathBuf],
    header: bool,
    chunk_size: u64,
    preds: Vec<Predicate>,
    emit: Emit,
    opts: &JobOptions,
) -> Result<Run, fleet_engine::JobError> {
    let conditions = preds.into_iter().map(Condition::Test).collect();
    run_engine_conditions(paths, header, chunk_size, conditions, emit, opts)
}

/// As [`run_engine`], with any conditions (see `fleet_engine::query::condition::compile_filter`).
pub fn run_engine_conditions(
    paths: &[PathBuf],
    header: bool,
    chunk_size: u64,
    conditions: Vec<Condition>,
    emit: Emit,
    opts: &JobOptions,
) -> Result<Run, fleet_engine::JobError> {
    let ds = dataset::open(&DatasetOptions {
        paths: paths.to_vec(),
        header: Some(header),
        chunk_size,
        ..DatasetOptions::default()
    })
    .unwrap();
    let spec = ScanSpec {
        ncols: ds.schema.ncols(),
        predicates: conditions,
        emit,
        decode: None,
        framed: opts.limit.is_some(),
    };
    let mut out = Vec::new();
    let report = run_scan(ds.plan, spec, opts, &mut out, &mut |_| {})?;
    Ok(Run { report, out })
}

pub fn opts(engine: EngineKind, workers: usize) -> JobOptions {
    JobOptions {
        engine,
        workers,
        ..JobOptions::default()
    }
}

pub fn json_key(name: &str) -> String {
    let mut k = Vec::new();
    write_json_string(&mut k, name.as_bytes());
    String::from_utf8(k).unwrap()
}
