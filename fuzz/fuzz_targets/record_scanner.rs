//! The record scanner under the planner's cuts, in process: the input is cut with the
//! planner's `split` at a fuzzed chunk size, each chunk is scanned with the kernel from its
//! true start (where the previous chunk's last record really began, as the coordinator's
//! verification settles it), and the concatenation must equal one sequential `csv` parse:
//! same records, malformed count, matches and output bytes. Both kernel paths (quote-free and
//! csv-core) and both emit formats are reached.
#![no_main]

use fleet_engine::scan::kernel::{scan_chunk, Scratch};
use fleet_engine::input::plan::split;
use fleet_engine::ScanSpec;
use libfuzzer_sys::fuzz_target;

#[path = "reference.rs"]
mod reference;

fuzz_target!(|input: &[u8]| {
    let [size, mode, data @ ..] = input else {
        return;
    };
    // Mostly tiny chunks (every boundary lands somewhere interesting), sometimes larger.
    let chunk_size = if size & 0x80 == 0 {
        1 + (*size as usize & 0x1f)
    } else {
        1 + (*size as usize & 0x7f) * 37
    };
    let ncols = reference::first_record_fields(data);
    let preds = reference::filter(mode >> 1, ncols);
    let emit = reference::emit(*mode, ncols);
    let want = reference::expected(data, &preds, &emit);
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
    let data_start = if data.starts_with(reference::BOM) {
        reference::BOM.len()
    } else {
        0
    };
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    let (mut records, mut matches, mut malformed) = (0, 0, 0);
    let mut true_start = data_start;
    for (guess, end) in split(data, data_start, chunk_size) {
        assert!(true_start <= guess, "a record start past its chunk's start");
        let o = scan_chunk(
            data,
            true_start..end,
            end == data.len(),
            b',',
            &spec,
            &mut out,
            &mut scratch,
        );
        records += o.records;
        matches += o.matches;
        malformed += o.malformed;
        true_start = match o.partial {
            Some(p) => {
                assert!(end < data.len(), "a partial record at end of file");
                p as usize
            }
            None => end,
        };
    }
    assert_eq!(records, want.records, "records");
    assert_eq!(malformed, want.malformed, "malformed");
    assert_eq!(matches, want.matches, "matches");
    assert_eq!(out, want.out, "output");
});
