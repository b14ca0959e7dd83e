//! Fault injection at the engine level: a worker dies mid-chunk or while holding the lock in
//! the middle of a commit; the job still produces exactly the reference result, and the shared
//! totals committed under the robust lock count every record exactly once. A worker that stays
//! alive but stops making progress (the `stall` knobs) is killed and its chunk re-run, or, when
//! it cannot be (a second stall, a thread), the job fails naming the chunk instead of hanging.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::input::schema::Schema;
use fleet_engine::job::fault::Fault;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{Emit, EngineKind, JobError, JobOptions};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use support::*;

fn data() -> Vec<Vec<u8>> {
    (0..2)
        .map(|i| fleet_fixtures::gps_file(3, i, 20_000))
        .collect()
}

fn pred() -> Vec<Predicate> {
    let schema = Schema::new(None, 7);
    vec![Predicate::compile(&parse_where("5>100").unwrap(), &schema).unwrap()]
}

#[test]
fn crashes_anywhere_leave_the_result_exact() {
    let files = data();
    let want = reference(&files, false, b',', &pred(), &Emit::Raw);
    assert!(want.matches > 100);
    let (_dir, paths) = write_files(&files);
    for fault in ["scan:0", "scan:7", "commit:3", "commit:12"] {
        for engine in [EngineKind::Processes, EngineKind::Threads] {
            for workers in [1, 2, 4] {
                let opts = JobOptions {
                    engine,
                    workers,
                    fault: Fault::parse(fault).unwrap(),
                    ..JobOptions::default()
                };
                let got = run_engine(&paths, false, 64 << 10, pred(), Emit::Raw, &opts).unwrap();
                let ctx = format!("{fault} {engine:?} {workers}");
                assert_eq!(
                    got.report.crash_reruns, 1,
                    "exactly one chunk re-run, {ctx}"
                );
                assert_eq!(got.out, want.out, "{ctx}");
                assert_eq!(got.report.records, want.records, "{ctx}");
                // Shared totals equal to these sums are checked by the job itself: it fails with
                // JobError::TotalsMismatch otherwise (see the coordinator's check_totals).
            }
        }
    }
}

#[test]
fn a_chunk_failing_twice_fails_the_job_naming_it() {
    let (_dir, paths) = write_files(&data());
    for engine in [EngineKind::Processes, EngineKind::Threads] {
        let opts = JobOptions {
            engine,
            workers: 2,
            fault: Fault::parse("scan-always:4").unwrap(),
            ..JobOptions::default()
        };
        match run_engine(&paths, false, 64 << 10, pred(), Emit::Raw, &opts) {
            Err(JobError::WorkerFailed {
                path,
                start,
                end,
                cause,
            }) => {
                assert_eq!(path, paths[0]);
                assert!(start < end);
                assert!(!cause.is_empty());
            }
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("a chunk that always fails must fail the job ({engine:?})"),
        }
    }
}

/// Runs a scan of `paths` (64 KiB chunks) with `opts` on another thread, failing the test if
/// it has not ended within 60 s: a stall the watchdog misses is a failure, not a hung test.
fn scan_within_a_minute(paths: &[PathBuf], opts: JobOptions) -> Result<Run, JobError> {
    let (tx, rx) = mpsc::channel();
    let paths = paths.to_vec();
    std::thread::spawn(move || {
        let _ = tx.send(run_engine(
            &paths,
            false,
            64 << 10,
            pred(),
            Emit::Raw,
            &opts,
        ));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the job hung: the stall was not caught")
}

fn stalling(engine: EngineKind, workers: usize, fault: &str) -> JobOptions {
    JobOptions {
        engine,
        workers,
        stall_timeout: Some(Duration::from_secs(1)),
        fault: Fault::parse(fault).unwrap(),
        ..JobOptions::default()
    }
}

#[test]
fn a_stalled_worker_is_killed_and_its_chunk_re_run_exactly_once() {
    let files = data();
    let want = reference(&files, false, b',', &pred(), &Emit::Raw);
    let (_dir, paths) = write_files(&files);
    for workers in [1, 3] {
        // The worker that takes chunk 5 first blocks forever, alive; the re-run goes through.
        let opts = stalling(EngineKind::Processes, workers, "stall-once:5");
        let got = scan_within_a_minute(&paths, opts).unwrap();
        assert_eq!(got.report.stall_reruns, 1, "{workers} workers");
        assert_eq!(got.report.crash_reruns, 0, "{workers} workers");
        assert_eq!(got.out, want.out, "{workers} workers");
        assert_eq!(got.report.records, want.records, "{workers} workers");
    }
}

#[test]
fn a_chunk_that_stalls_on_every_attempt_fails_the_job_naming_it() {
    let (_dir, paths) = write_files(&data());
    let size = std::fs::metadata(&paths[0]).unwrap().len();
    // Every worker blocks at chunks 4 and on (all in the first file's first half): the first
    // two stalled chunks are killed and re-run, and their second stall ends the job.
    let opts = stalling(EngineKind::Processes, 2, "stall:4");
    match scan_within_a_minute(&paths, opts) {
        Err(
            e @ JobError::Stalled {
                retried: true,
                start,
                end,
                waited,
                ..
            },
        ) => {
            let text = e.to_string();
            let JobError::Stalled { path, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path, &paths[0]);
            assert!(
                4 * (64 << 10) <= start && start < end && end < size / 2,
                "{text}"
            );
            assert!(waited >= Duration::from_secs(1), "{text}");
            assert!(!text.contains('\n'), "one line: {text}");
            assert!(
                text.starts_with(&format!("{}: bytes {start}..{end} ", path.display())),
                "{text}"
            );
            assert!(
                text.contains("no progress for") && text.contains("twice"),
                "{text}"
            );
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a chunk that always stalls must fail the job"),
    }
}

#[test]
fn the_thread_engine_reports_a_stall_instead_of_hanging() {
    let (_dir, paths) = write_files(&data());
    // The stalled thread cannot be killed: it stays parked, abandoned, in this test process.
    let opts = stalling(EngineKind::Threads, 2, "stall-once:3");
    match scan_within_a_minute(&paths, opts) {
        Err(
            e @ JobError::Stalled {
                retried: false,
                start,
                end,
                waited,
                ..
            },
        ) => {
            assert!(3 * (64 << 10) <= start && start < end, "{e}");
            assert!(waited >= Duration::from_secs(1), "{e}");
            assert!(e.to_string().contains("cannot be stopped"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a stalled thread must fail the job"),
    }
}
