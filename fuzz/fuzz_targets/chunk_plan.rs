//! The whole parallel plan: the input is written to a file, planned with the engine's chunk
//! planner at a fuzzed chunk size and scanned by the real job (thread engine, 1..4 workers:
//! speculative chunk starts, verification, boundary re-runs, ordered output). The result must
//! equal one sequential `csv` parse.
#![no_main]

use fleet_engine::input::plan::{ChunkPlan, PlannedFile};
use fleet_engine::{run_scan, EngineKind, JobOptions, ScanSpec};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

#[path = "reference.rs"]
mod reference;

/// A fresh file for every input (in /dev/shm when there is one: no disk traffic). Never
/// rewritten in place: the thread engine's workers may outlive `run_scan` by a moment (see
/// the note below) and still have the previous file mapped; truncating it would SIGBUS them.
fn scratch_file() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let dir = DIR.get_or_init(|| {
        // The thread engine's workers can outlive `run_scan` and notify a coordinator whose
        // pipe is closed: a Rust `main` ignores SIGPIPE, libFuzzer's does not.
        // SAFETY: setting a signal disposition to SIG_IGN has no preconditions.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        tempfile::Builder::new()
            .prefix("fleet-fuzz")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("temp dir")
    });
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    dir.path().join(format!("input-{n}.csv"))
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
    std::fs::write(&path, data).expect("write the input");
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
            compression: None,
            transcode: None,
        },
        data,
        chunk_size,
    );
    let spec = ScanSpec {
        ncols,
        predicates: preds
            .into_iter()
            .map(fleet_engine::query::condition::Condition::Test)
            .collect(),
        emit,
        framed: false,
        decode: None,
    };
    let opts = JobOptions {
        engine: EngineKind::Threads,
        workers: 1 + (*workers as usize % 4),
        ..JobOptions::default()
    };
    let mut out = Vec::new();
    let report = run_scan(plan, spec, &opts, &mut out, &mut |_| {}).expect("the scan runs");
    // Unlinking is safe while a lingering worker still has the file mapped.
    std::fs::remove_file(&path).expect("remove the input");
    assert_eq!(report.records, want.records, "records");
    assert_eq!(report.malformed, want.malformed, "malformed");
    assert_eq!(report.matches, want.matches, "matches");
    assert_eq!(out, want.out, "output");
});
