//! Differential tests: the engine (both engines, 1..8 workers, chunk sizes down to 1 byte)
//! against the plain `csv`-crate reference on generated tricky data: quoted commas and
//! newlines, `""` escapes, CRLF, BOM, empty fields and lines, ragged rows, no final newline.
#![allow(clippy::unwrap_used)]

mod support;

use fleet_engine::input::schema::Schema;
use fleet_engine::query::condition::{compile_filter, Condition, FilterOptions};
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::scan::outcome::Paths;
use fleet_engine::{Emit, EngineKind};
use fleet_fixtures::{tricky_csv, TrickyOptions};
use std::path::PathBuf;
use support::*;

const ENGINES: [EngineKind; 2] = [EngineKind::Processes, EngineKind::Threads];

fn predicates(text: &[&str], ncols: usize) -> Vec<Predicate> {
    let schema = Schema::new(None, ncols);
    text.iter()
        .map(|t| Predicate::compile(&parse_where(t).unwrap(), &schema).unwrap())
        .collect()
}

/// `--where` texts compiled as the command line does (`or`, sets, a top-level `and` split).
fn conditions(text: &[&str], ncols: usize) -> Vec<Condition> {
    let texts: Vec<String> = text.iter().map(|t| t.to_string()).collect();
    compile_filter(&texts, &Schema::new(None, ncols), &FilterOptions::default()).unwrap()
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
                    // Shared totals equal to these sums are checked by the job itself: it fails with
                    // JobError::TotalsMismatch otherwise (see the coordinator's check_totals).
                    assert_same_as_reference(&got, &want, &paths, &ctx);
                    checked += 1;
                }
            }
        }
        total_matches += want.matches;
    }
    assert!(checked > 1000);
    assert!(total_matches > 0, "the filters must select something");
}

/// The engine's run equals the reference's: records, matches, malformed records and where the
/// first five are, and the output bytes.
fn assert_same_as_reference(got: &Run, want: &Reference, paths: &[PathBuf], ctx: &str) {
    assert_eq!(got.report.records, want.records, "records, {ctx}");
    assert_eq!(got.report.matches, want.matches, "matches, {ctx}");
    assert_eq!(got.report.malformed, want.malformed, "malformed, {ctx}");
    assert_eq!(
        String::from_utf8_lossy(&got.out),
        String::from_utf8_lossy(&want.out),
        "output, {ctx}"
    );
    assert_eq!(got.out, want.out, "output bytes, {ctx}");
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
}

/// A seeded generator of numbers below `n`, for the data generators below.
fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    }
}

/// An id: `11865` one time in eight, now and then written `1.1865e4`, else 10000..13000.
fn test_id(next: &mut impl FnMut(u64) -> u64) -> String {
    match next(16) {
        0 | 1 => "11865".to_string(),
        2 => "1.1865e4".to_string(),
        _ => (10000 + next(3000)).to_string(),
    }
}

/// Well-formed exporter-style CSV: every field quoted (`all`) or only those that need it,
/// `""` escapes, quoted commas, CRLF or LF, now and then an empty line and a ragged record;
/// quoted newlines only with `newlines`. About one record in 8 has id `11865` (written
/// `"11865"` when quoted, now and then as `1.1865e4`), and some text fields hold `11865` too.
fn dialect_csv(seed: u64, rows: usize, all: bool, crlf: bool, newlines: bool) -> Vec<u8> {
    let mut next = lcg(seed);
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut data = Vec::new();
    for _ in 0..rows {
        let id = test_id(&mut next);
        let text = match next(7) {
            0 => "say \"hi\", then go".to_string(),
            1 => "a,b".to_string(),
            2 if newlines => "two\nlines".to_string(),
            3 => String::new(),
            4 => "11865".to_string(),
            5 => "\"".to_string(),
            _ => format!("t{}", next(100)),
        };
        let speed = next(200).to_string();
        let mut record = vec![id, text, speed];
        if next(50) == 0 {
            record.push("extra".to_string());
        }
        for (k, field) in record.iter().enumerate() {
            if k > 0 {
                data.push(b',');
            }
            let needs = field.contains(['"', ',', '\n', '\r']);
            if all || needs {
                data.push(b'"');
                data.extend_from_slice(field.replace('"', "\"\"").as_bytes());
                data.push(b'"');
            } else {
                data.extend_from_slice(field.as_bytes());
            }
        }
        data.extend_from_slice(eol);
        if next(40) == 0 {
            data.extend_from_slice(eol);
        }
    }
    data
}

/// Quoted and CRLF dialects take the quoted block pass (not csv-core) and agree with the
/// reference, whatever the chunk size, worker count and engine.
#[test]
fn quoted_and_crlf_data_take_the_quoted_pass_and_match_the_reference() {
    let mut quoted_chunks = 0;
    let mut searched_chunks = 0;
    for seed in 0..8u64 {
        let (all, crlf, newlines) = (seed % 2 == 0, seed % 4 < 2, seed % 8 >= 6);
        let files: Vec<Vec<u8>> = (0..2)
            .map(|i| dialect_csv(seed * 10 + i, 200, all, crlf, newlines))
            .collect();
        let ncols = 3;
        let where_text: &[&str] = match (seed + seed / 4) % 4 {
            0 => &["1=11865"],
            1 => &["3>100"],
            2 => &["1=11865", "2!=zzz"],
            _ => &["2=a,b"],
        };
        let emit = emits(ncols, seed + 2);
        let want = reference(&files, false, b',', &predicates(where_text, ncols), &emit);
        assert!(want.matches > 0, "seed {seed}");
        assert!(want.malformed > 0, "seed {seed}");
        let (_dir, paths) = write_files(&files);
        for chunk_size in [2u64, 7, 61, 1 << 20] {
            for workers in [1usize, 2, 3] {
                for engine in ENGINES {
                    let got = run_engine(
                        &paths,
                        false,
                        chunk_size,
                        predicates(where_text, ncols),
                        emit.clone(),
                        &opts(engine, workers),
                    )
                    .unwrap();
                    let ctx = format!(
                        "seed {seed} all {all} crlf {crlf} newlines {newlines} chunk {chunk_size} workers {workers} {engine:?}"
                    );
                    assert_same_as_reference(&got, &want, &paths, &ctx);
                    let p = got.report.paths;
                    // Nothing here is a rarity: a chunk falls back only when its planned end
                    // cuts a quoted newline (its last record runs on past it).
                    assert!(p.quoted > 0, "the quoted pass never ran, {ctx}: {p:?}");
                    assert_eq!(p.fallback(), p.open_quote, "{ctx}: {p:?}");
                    if !newlines {
                        assert_eq!(p.fallback(), 0, "{ctx}: {p:?}");
                    }
                    if (crlf || all) && chunk_size >= 61 {
                        // Every record holds a CR or a quote, and every chunk a record (tiny
                        // ones may hold just an empty line): a plain chunk is a CRLF one
                        // without a quote, and with every field quoted there is none.
                        assert_eq!(p.plain, p.plain_crlf, "{ctx}: {p:?}");
                        if all {
                            assert_eq!(p.plain, 0, "{ctx}: {p:?}");
                        }
                    }
                    // A single needle (`1=11865`, `2=a,b`) takes the fused candidate pass on
                    // every quoted chunk; a range test (`3>100`) never does.
                    if where_text[0] == "3>100" {
                        assert_eq!(p.quoted_candidates, 0, "{ctx}: {p:?}");
                    } else {
                        assert_eq!(p.quoted_candidates, p.quoted, "{ctx}: {p:?}");
                    }
                    searched_chunks += p.quoted_candidates;
                    quoted_chunks += p.quoted;
                }
            }
        }
    }
    assert!(quoted_chunks > 1000);
    assert!(searched_chunks > 500, "{searched_chunks}");
}

/// A Windows export of plain data: CRLF line ends, no quote. Empty lines, ragged records, ids
/// written `1.1865e4`, a file without a final line end, one with a BOM, one with a LF-only
/// line now and then, one with a lone CR (csv-core) and one with a quote half-way (the quoted
/// pass from there). Every kind of filter (one needle, several, a big set, a range test, none)
/// agrees with the reference, and the chunks without a quote or lone CR take the plain pass in
/// CRLF mode, not the quoted pass.
#[test]
fn crlf_files_without_quotes_take_the_plain_pass_in_crlf_mode() {
    let big_set = format!(
        "1 in ({})",
        (10000..10100)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let filters: [&[&str]; 6] = [
        &["1=11865"],
        &["1=11865", "2!=zzz"],
        &["1=11865 or 1=10007"],
        &[big_set.as_str()],
        &["3>100"],
        &[],
    ];
    let mut crlf_chunks = 0;
    for seed in 0..6u64 {
        let mut files: Vec<Vec<u8>> = (0..5)
            .map(|i| crlf_csv(seed * 10 + i, 300, i == 1))
            .collect();
        files[2].splice(0..0, b"\xef\xbb\xbf".iter().copied());
        // A lone CR a few records in, and a quoted field half-way, each at a line start.
        let line_start =
            |f: &[u8], from: usize| from + f[from..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let at = line_start(&files[3], files[3].len() / 3);
        files[3].splice(at..at, b"10001,a\rb,9\r\n".iter().copied());
        let at = line_start(&files[4], files[4].len() / 2);
        files[4].splice(at..at, b"10002,\"q,uoted\",9\r\n".iter().copied());
        let ncols = 3;
        let where_text = filters[seed as usize % filters.len()];
        let emit = emits(ncols, seed);
        let want = reference_conditions(&files, b',', &conditions(where_text, ncols), &emit);
        assert!(want.malformed > 0, "seed {seed}");
        if !where_text.is_empty() {
            assert!(want.matches > 0, "seed {seed}");
        }
        let (_dir, paths) = write_files(&files);
        for chunk_size in [1u64, 7, 61, 4096, 1 << 20] {
            for workers in [1usize, 3] {
                for engine in ENGINES {
                    let got = run_engine_conditions(
                        &paths,
                        false,
                        chunk_size,
                        conditions(where_text, ncols),
                        emit.clone(),
                        &opts(engine, workers),
                    )
                    .unwrap();
                    let ctx = format!("seed {seed} {where_text:?} chunk {chunk_size} workers {workers} {engine:?}");
                    assert_same_as_reference(&got, &want, &paths, &ctx);
                    let p = got.report.paths;
                    if chunk_size >= 61 {
                        // The quoted pass only for the chunk holding the quote, csv-core for
                        // the lone CR's; the rest is plain CRLF (LF-only lines ride along).
                        assert_eq!(p.quoted, 1, "{ctx}: {p:?}");
                        assert!(p.plain_crlf > 0, "{ctx}: {p:?}");
                        assert_eq!(p.lone_cr, 1, "{ctx}: {p:?}");
                    }
                    crlf_chunks += p.plain_crlf;
                }
            }
        }
    }
    assert!(crlf_chunks > 1000, "{crlf_chunks}");
}

/// Quote-free CRLF records: ids (`11865` one time in eight, now and then `1.1865e4`), a text
/// field, a speed; an empty line and a ragged record now and then; with `lf_too`, a LF-only
/// line end now and then; no final line end in one seed out of two.
fn crlf_csv(seed: u64, rows: usize, lf_too: bool) -> Vec<u8> {
    let mut next = lcg(seed);
    let mut data = Vec::new();
    for _ in 0..rows {
        let id = test_id(&mut next);
        let text = match next(5) {
            0 => String::new(),
            1 => "11865".to_string(),
            2 => "Delta".to_string(),
            _ => format!("t{}", next(100)),
        };
        let mut record = format!("{id},{text},{}", next(200));
        if next(40) == 0 {
            record.push_str(",extra");
        }
        data.extend_from_slice(record.as_bytes());
        data.extend_from_slice(if lf_too && next(9) == 0 {
            b"\n"
        } else {
            b"\r\n"
        });
        if next(30) == 0 {
            data.extend_from_slice(b"\r\n");
        }
    }
    if seed % 2 == 1 {
        while data.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            data.pop();
        }
    }
    data
}

/// Rarities (a lone CR, a quote inside an unquoted field) leave their chunks to csv-core, which
/// the report says, and the results still agree with the reference.
#[test]
fn rarities_fall_back_to_csv_core_and_say_why() {
    type Why = fn(&Paths) -> u64;
    let cases: [(&[u8], Why); 2] = [
        (b"1,a\r2,b\n3,c\n", |p| p.lone_cr),
        (b"1,a\"b\n2,\"c\"\n3,c\n", |p| p.stray_quote),
    ];
    for (data, why) in cases {
        let files = vec![data.to_vec()];
        let want = reference(&files, false, b',', &predicates(&["1>0"], 2), &Emit::Raw);
        let (_dir, paths) = write_files(&files);
        for engine in ENGINES {
            let got = run_engine(
                &paths,
                false,
                1 << 20,
                predicates(&["1>0"], 2),
                Emit::Raw,
                &opts(engine, 1),
            )
            .unwrap();
            assert_eq!(got.out, want.out);
            assert_eq!(got.report.records, want.records);
            let p = got.report.paths;
            assert_eq!(why(&p), 1, "{p:?}");
            assert_eq!(p.fallback(), 1, "{p:?}");
            assert_eq!(p.fast(), 0, "{p:?}");
            assert!(got.report.fallback_example.is_some());
        }
    }
}
