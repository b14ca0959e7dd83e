//! The whole parallel plan: the input is written to a file, planned with the engine's chunk
//! planner at a fuzzed chunk size and scanned by the real job (thread engine, 1..4 workers:
//! speculative chunk starts, verification, boundary re-runs, ordered output). The result must
//! equal one sequential `csv` parse.
#![no_main]

use fleet_engine::plan::{ChunkPlan, PlannedFile};
use fleet_engine::{run_scan, EngineKind, JobOptions, ScanSpec};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

#[path = "reference.rs"]
mod reference;

/// One file, rewritten for every input (in /dev/shm when there is one: no disk traffic).
fn scratch_file() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("fleet-fuzz")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("temp dir");
        let path = dir.path().join("input.csv");
        (dir, path)
    })
    .1
}

fuzz_target!(|input: &[u8]| {
    let [size, mode, workers, data @ ..] = input else {
        return;
    };
    let chunk_size = if size & 0x80 == 0 {
        1 + (*size as u64 & 0x1f)
    } else {
        1 + (*size as u64 & 0x7f) * 37
    };
    let ncols = reference::first_record_fields(data);
    let preds = reference::filter(mode >> 1, ncols);
    let emit = reference::emit(*mode, ncols);
    let want = reference::expected(data, &preds, &emit);
    let path = scratch_file();
    std::fs::write(path, data).expect("write the input");
    let data_start = if data.starts_with(reference::BOM) {
        reference::BOM.len() as u64
    } else {
        0
    };
    let mut plan = ChunkPlan::default();
    plan.push_file(
        PlannedFile {
            path: path.clone(),
            size: data.len() as u64,
            delimiter: b',',
            data_start,
            first_line: 1,
        },
        data,
        chunk_size,
    );
    let spec = ScanSpec {
        ncols,
        predicates: preds,
        emit,
        framed: false,
    };
    let opts = JobOptions {
        engine: EngineKind::Threads,
        workers: 1 + (*workers as usize % 4),
        ..JobOptions::default()
    };
    let mut out = Vec::new();
    let report = run_scan(plan, spec, &opts, &mut out, &mut |_| {}).expect("the scan runs");
    assert_eq!(report.records, want.records, "records");
    assert_eq!(report.malformed, want.malformed, "malformed");
    assert_eq!(report.matches, want.matches, "matches");
    assert_eq!(out, want.out, "output");
});
