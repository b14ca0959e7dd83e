//! The record scanner under the planner's cuts, in process: the input is cut with the
//! planner's `split` at a fuzzed chunk size, each chunk is scanned with the kernel from its
//! true start (where the previous chunk's last record really began, as the coordinator's
//! verification settles it), and the concatenation must equal one sequential `csv` parse:
//! same records, malformed count, matches and output bytes. All three kernel paths (plain,
//! quoted and csv-core) and both emit formats are reached.
//!
//! With bit 6 of the mode byte, the input is first rewritten as an exporter writes it: every
//! field quoted (its quotes doubled, CRs and delimiters kept inside), with CRLF line ends when
//! bit 5 is set too. Such input is well-formed, so every chunk must then take the quoted pass
//! (not csv-core) and still agree with the reference.
//!
//! With bit 5 alone (bit 6 clear), every `\n` is written `\r\n` instead, as a Windows export
//! of the same bytes: when those hold no quote and no CR of their own, no chunk may then leave
//! the plain pass (its CRLF mode).
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
    let exported;
    let quoted = mode & 0x40 != 0;
    let windows = !quoted && mode & 0x20 != 0;
    let plain_only = windows && !data.iter().any(|&b| b == b'"' || b == b'\r');
    let data = if quoted {
        exported = quote_every_field(data, mode & 0x20 != 0);
        &exported[..]
    } else if windows {
        exported = crlf_line_ends(data);
        &exported[..]
    } else {
        data
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
        if quoted {
            assert_eq!(o.paths.fallback(), 0, "well-formed quoted input left to csv-core");
        }
        if plain_only {
            assert_eq!(o.paths.plain, 1, "quote-free CRLF input left the plain pass");
        }
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

/// `data` with every `\n` written `\r\n`.
fn crlf_line_ends(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 2);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// `data` as an exporter quoting every field writes it: lines split at `\n`, fields at `,`,
/// each field's quotes doubled and the field wrapped in quotes; line ends LF or CRLF.
fn quote_every_field(data: &[u8], crlf: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 2);
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if line.is_empty() {
            continue;
        }
        for (k, field) in line.split(|&b| b == b',').enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.push(b'"');
            for &b in field {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        }
    }
    out
}
