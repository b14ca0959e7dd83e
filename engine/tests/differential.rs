//! Differential tests: the engine (both engines, 1..8 workers, chunk sizes down to 1 byte)
//! against the plain `csv`-crate reference on generated tricky data: quoted commas and
//! newlines, `""` escapes, CRLF, BOM, empty fields and lines, ragged rows, no final newline.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::input::schema::Schema;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{Emit, EngineKind};
use fleet_fixtures::{tricky_csv, TrickyOptions};
use support::*;

const ENGINES: [EngineKind; 2] = [EngineKind::Processes, EngineKind::Threads];

fn predicates(text: &[&str], ncols: usize) -> Vec<Predicate> {
    let schema = Schema::new(None, ncols);
    text.iter()
        .map(|t| Predicate::compile(&parse_where(t).unwrap(), &schema).unwrap())
        .collect()
}

fn emits(ncols: usize, seed: u64) -> Emit {
    match seed % 4 {
        0 => Emit::Raw,
        1 => Emit::Nothing,
        2 => Emit::Csv {
            columns: vec![ncols - 1, 0],
            delimiter: b',',
        },
        _ => Emit::Jsonl {
            columns: (0..ncols).collect(),
            keys: (1..=ncols).map(|i| json_key(&i.to_string())).collect(),
        },
    }
}

#[test]
fn engine_matches_reference_on_tricky_data() {
    let mut checked = 0;
    let mut total_matches = 0;
    for seed in 0..24u64 {
        let mut topts = TrickyOptions::all(150, seed);
        topts.columns = 3 + (seed as usize % 3);
        // Split the data over 1..3 files; every file gets the same header setting.
        let nfiles = 1 + (seed as usize % 3);
        let files: Vec<Vec<u8>> = (0..nfiles)
            .map(|i| tricky_csv(seed * 10 + i as u64, &topts))
            .collect();
        let ncols = topts.columns;
        let where_text: &[&str] = match seed % 3 {
            0 => &["1=11865"],
            1 => &["1=11865", "2!=zzz"],
            _ => &[],
        };
        let emit = emits(ncols, seed);
        let want = reference(
            &files,
            topts.header,
            b',',
            &predicates(where_text, ncols),
            &emit,
        );
        assert!(want.records > 0);
        let (_dir, paths) = write_files(&files);
        for chunk_size in [1u64, 2, 7, 61, 4096, 1 << 20] {
            for workers in [1usize, 2, 3, 8] {
                for engine in ENGINES {
                    let got = run_engine(
                        &paths,
                        topts.header,
                        chunk_size,
                        predicates(where_text, ncols),
                        emit.clone(),
                        &opts(engine, workers),
                    )
                    .unwrap();
                    let ctx = format!(
                        "seed {seed} chunk {chunk_size} workers {workers} {engine:?} {topts:?}"
                    );
                    assert_eq!(got.report.records, want.records, "records, {ctx}");
                    assert_eq!(got.report.matches, want.matches, "matches, {ctx}");
                    assert_eq!(got.report.malformed, want.malformed, "malformed, {ctx}");
                    assert_eq!(
                        String::from_utf8_lossy(&got.out),
                        String::from_utf8_lossy(&want.out),
                        "output, {ctx}"
                    );
                    assert_eq!(got.out, want.out, "output bytes, {ctx}");
                    // Shared totals equal to these sums are checked by the job itself: it fails with
                    // JobError::TotalsMismatch otherwise (see the coordinator's check_totals).
                    let expected_examples: Vec<_> = want
                        .malformed_at
                        .iter()
                        .take(5)
                        .map(|&(f, line)| (paths[f].clone(), line))
                        .collect();
                    assert_eq!(
                        got.report.malformed_examples, expected_examples,
                        "malformed lines, {ctx}"
                    );
                    checked += 1;
                }
            }
        }
        total_matches += want.matches;
    }
    assert!(checked > 1000);
    assert!(total_matches > 0, "the filters must select something");
}
