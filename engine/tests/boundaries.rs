//! Chunk boundaries under stress: random bytes over the CSV-significant alphabet (quotes,
//! delimiters, CR, LF) and hand-made cases where guessed boundaries fall inside quoted fields,
//! so speculative chunks must be detected and re-run. Always checked against the `csv` crate.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::input::schema::Schema;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::{Emit, EngineKind};
use proptest::prelude::*;
use support::*;

fn check(
    data: &[u8],
    chunk_size: u64,
    workers: usize,
    engine: EngineKind,
    filter: Option<&str>,
) -> u64 {
    let ncols = {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        if !rdr.read_byte_record(&mut rec).unwrap() {
            return 0;
        }
        rec.len()
    };
    let preds = |ncols| -> Vec<Predicate> {
        filter
            .map(|f| {
                Predicate::compile(&parse_where(f).unwrap(), &Schema::new(None, ncols)).unwrap()
            })
            .into_iter()
            .collect()
    };
    let want = reference(&[data.to_vec()], false, b',', &preds(ncols), &Emit::Raw);
    let (_dir, paths) = write_files(&[data.to_vec()]);
    let got = run_engine(
        &paths,
        false,
        chunk_size,
        preds(ncols),
        Emit::Raw,
        &opts(engine, workers),
    )
    .unwrap();
    assert_eq!(got.report.records, want.records, "records");
    assert_eq!(got.report.malformed, want.malformed, "malformed");
    assert_eq!(
        got.out,
        want.out,
        "output for {:?}",
        String::from_utf8_lossy(data)
    );
    got.report.boundary_reruns
}

#[test]
fn quoted_newlines_across_every_boundary() {
    let mut data = Vec::new();
    for i in 0..40 {
        data.extend_from_slice(
            format!("{i},\"line one\nline two, with comma\n\"\"quoted\"\"\",x\n").as_bytes(),
        );
        data.extend_from_slice(format!("{i},plain,y\r\n").as_bytes());
    }
    let mut reruns = 0;
    for chunk in [1, 2, 3, 5, 8, 13, 40, 1000] {
        for workers in [1, 3] {
            for engine in [EngineKind::Processes, EngineKind::Threads] {
                reruns += check(&data, chunk, workers, engine, None);
                check(&data, chunk, workers, engine, Some("3=x"));
            }
        }
    }
    assert!(
        reruns > 0,
        "small chunks must hit boundaries inside quoted fields"
    );
}

#[test]
fn a_record_larger_than_many_chunks() {
    let big = "z".repeat(5000);
    let data = format!("a,b\n1,\"{big}\n{big}\"\n2,c\n");
    for chunk in [1, 64, 4096] {
        check(data.as_bytes(), chunk, 2, EngineKind::Processes, None);
    }
}

#[test]
fn bom_no_final_newline_empty_lines_and_lone_cr() {
    for data in [
        &b"\xef\xbb\xbfa,b\n1,2"[..],
        b"\n\n1,2\n\n\n3,4\n\n",
        b"1,2\r3,4\r\n5,6\r",
        b"\"a\"\"b\",1\n\"\",2\n",
        b"1,2\n\xef\xbb\xbf3,4\n",
    ] {
        for chunk in [1, 2, 3, 100] {
            check(data, chunk, 2, EngineKind::Threads, None);
            check(data, chunk, 2, EngineKind::Processes, None);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn random_csv_bytes_any_chunking(
        data in proptest::collection::vec(prop_oneof![
            4 => Just(b'a'), 2 => Just(b'1'), 3 => Just(b','), 2 => Just(b'"'),
            3 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(b' ')
        ], 0..300),
        chunk in 1u64..64,
        workers in 1usize..4,
        threads in any::<bool>(),
    ) {
        let engine = if threads { EngineKind::Threads } else { EngineKind::Processes };
        check(&data, chunk, workers, engine, Some("1~a"));
    }
}
