//! Fault injection at the engine level: a worker dies mid-chunk or while holding the lock in
//! the middle of a commit; the job still produces exactly the reference result, and the shared
//! totals committed under the robust lock count every record exactly once.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::input::schema::Schema;
use fleet_engine::job::fault::Fault;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{Emit, EngineKind, JobError, JobOptions};
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
