//! Conformance: `fleet scan` reads CSV the way an independent implementation does. Python's
//! `csv` module (tests/oracle/csv_oracle.py) parses every file below; fleet scans the same file
//! (`--no-header --format jsonl`, so each output line shows the parsed fields) with several
//! chunk sizes down to 1 byte, worker counts and both engines, and the two must agree.
//!
//! The files: hand-written edge cases (quotes, `""` escapes, CR/LF/CRLF inside and outside
//! quotes, lone CR, BOM, whitespace around quotes, trailing commas, empty lines, ragged rows,
//! no final newline, invalid UTF-8, an unterminated quote), generated CSV with random quoting
//! and terminators, random byte soup over the CSV-significant alphabet, and large files: fields
//! of several MB and single records far larger than the chunk size.
//!
//! Fleet and Python differ on purpose in a few ways (docs/formats.md "CSV dialect"); each is a rule
//! applied to the oracle's output below, never a skipped case:
//! 1. An empty line is not a record in fleet (the `csv` crate's semantics); Python yields `[]`.
//! 2. The first record fixes the field count; a record with another count is *malformed* in
//!    fleet: counted and reported, never output. Python has no notion of it.
//! 3. A 0-byte file is an error in fleet (nothing to scan, named); Python yields no records.
//! 4. A NUL byte in the first 8 KiB makes fleet refuse the file as binary; Python reads it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file to compare on.
struct Case {
    name: String,
    data: Vec<u8>,
}

fn case(name: &str, data: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.to_string(),
        data: data.into(),
    }
}

fn hand_written() -> Vec<Case> {
    vec![
        case("plain", "a,b,c\n1,2,3\n"),
        case("no_final_newline", "a,b\n1,2"),
        case("quoted_comma", "\"a,b\",c\n\"1,,2\",3\n"),
        case("doubled_quotes", "\"a\"\"b\",\"\"\"\"\n\"\"\"x\"\"\",y\n"),
        case("quoted_empty", "\"\",\"\"\n\"\",x\n"),
        case("sole_quoted_empty", "a\n\"\"\nb\n"),
        case("quoted_lf", "1,\"line one\nline two\"\n2,x\n"),
        case("quoted_crlf", "1,\"a\r\nb\"\r\n2,x\r\n"),
        case("quoted_lone_cr", "1,\"a\rb\"\n2,x\n"),
        case("quoted_only_newlines", "1,\"\n\n\n\"\n2,\"\r\n\r\n\"\n"),
        case("crlf", "a,b\r\n1,2\r\n"),
        case("lone_cr_terminators", "a,b\r1,2\r3,4\r"),
        case("mixed_terminators", "a,b\n1,2\r\n3,4\r5,6\n"),
        case("cr_then_lf_empty_line", "a,b\r\r\n1,2\n"),
        case("bom", "\u{feff}a,b\n1,2\n"),
        case("bom_quoted_first_field", "\u{feff}\"a\",b\n1,2\n"),
        case("bom_inside_data", "a,b\n\u{feff}1,2\n"),
        case("bom_inside_quotes", "\"\u{feff}a\",b\n1,2\n"),
        case("space_before_quote", "a, \"b\"\n1, \"2\"\n"),
        case("space_after_quote", "\"a\" ,b\n\"1\" ,2\n"),
        case("text_after_closing_quote", "\"a\"b\"c\",d\n\"1\"2,3\n"),
        case("quote_inside_unquoted", "a\"b,c\"\"d\n1,2\n"),
        case("trailing_comma", "a,b,\n1,2,\n"),
        case("only_commas", ",,\n,,\n"),
        case("leading_empty_lines", "\n\n\na,b\n1,2\n"),
        case("empty_lines_between", "a,b\n\n1,2\n\r\n\r\n3,4\n\n"),
        case("only_empty_lines", "\n\r\n\r\n"),
        case("whitespace_lines", " \n\t\n  ,  \n"),
        case("ragged", "a,b,c\n1,2\n3,4,5\n6,7,8,9\n10\n"),
        case("ragged_first_short", "a\n1,2\n3\n"),
        case("unterminated_quote_at_eof", "a,b\n1,\"open\n2,3\n"),
        case("unterminated_quote_last_byte", "a,b\n1,\""),
        case("quote_at_eof_after_escape", "a,b\n1,\"x\"\"\n"),
        case("unicode", "名前,ville\n東京,\"Zürich, Genève\"\nÅ,ø\n"),
        case(
            "invalid_utf8",
            b"a,\xff\xfeb\n\xc3,\xe2\x82\n1,\xed\xa0\x80\n".to_vec(),
        ),
        case("tabs_and_semicolons", "a\tb;c,d\n1\t2;3,4\n"),
        case("control_bytes", "a\x0bb,c\x0cd\x01\n1,2\n"),
        case("backslashes", "a\\,b\\\"\n\"c\\\"\",d\n"),
        case("single_field_rows", "x\ny\n\"z\"\n"),
        case("one_byte", "a"),
        case("newline_only_after_quote", "\"a\"\n"),
        case(
            "nul_beyond_sniff_window",
            format!("{}x,\0y\n1,2\n", "a,b\n".repeat(3000)),
        ),
        case("empty_file", ""),
        case("nul_in_sniff_window", "a,b\n1,\0\n"),
    ]
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// CSV as people write it, with every quoting and terminator habit mixed in: mostly
/// well-formed rows (so fleet's output is large), some ragged, some empty lines.
fn generated_csv(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let ncols = 1 + rng.below(5) as usize;
    let rows = 5 + rng.below(60);
    let mut out = Vec::new();
    if rng.below(5) == 0 {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let plain: &[&[u8]] = &[
        b"a",
        b"11865",
        b"",
        b" ",
        b"x y",
        b"3.5",
        b"caf\xc3\xa9",
        b"\xe6\x97\xa5",
        b"a\"b",
        b"\xff",
        b"-",
    ];
    let quoted: &[&[u8]] = &[
        b"\"q\"",
        b"\"\"",
        b"\"a,b\"",
        b"\"he said \"\"hi\"\"\"",
        b"\"two\nlines\"",
        b"\"crlf\r\ninside\"",
        b"\"cr\rinside\"",
        b"\"\n\"",
        b"\"a\" ",
        b" \"a\"",
        b"\"a\"b",
        b"\"\"\"\"",
    ];
    let terminators: &[&[u8]] = &[b"\n", b"\n", b"\n", b"\r\n", b"\r\n", b"\r"];
    for row in 0..rows {
        if rng.below(12) == 0 {
            out.extend_from_slice(rng.pick(terminators));
        }
        let n = if row > 0 && rng.below(10) == 0 {
            1 + rng.below(6) as usize
        } else {
            ncols
        };
        for col in 0..n {
            if col > 0 {
                out.push(b',');
            }
            if rng.below(3) == 0 {
                out.extend_from_slice(rng.pick(quoted));
            } else {
                out.extend_from_slice(rng.pick(plain));
            }
        }
        if row + 1 < rows || rng.below(3) != 0 {
            out.extend_from_slice(rng.pick(terminators));
        }
    }
    if rng.below(8) == 0 {
        out.extend_from_slice(b"\"unterminated,x");
    }
    out
}

/// Random bytes over the alphabet that matters to a CSV parser.
fn byte_soup(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0xd134_2543_de82_ef95) | 1);
    let alphabet = b"aa1,,,\"\"\n\n\r  ";
    let len = rng.below(400) as usize;
    // A 1-byte field with no delimiter makes the first record a plausible schema.
    (0..len).map(|_| rng.pick(alphabet)).collect()
}

/// Large files: multi-MB fields and records far larger than the chunk sizes used on them.
fn large() -> Vec<Case> {
    let mb = |n: usize, unit: &str| unit.repeat(n * 1024 * 1024 / unit.len());
    vec![
        case(
            "field_of_4mb_unquoted",
            format!("a,b\n1,{}\n2,x\n", mb(4, "z")),
        ),
        case(
            "field_of_3mb_quoted_with_newlines_and_quotes",
            format!("a,b\n1,\"{}\"\n2,x\n", mb(3, "ab,\"\"\ncd\r\n")),
        ),
        case(
            "record_of_2mb_many_fields",
            format!(
                "{}\n{}\n",
                "h,".repeat(50_000) + "h",
                "v,".repeat(50_000) + "v"
            ),
        ),
        case(
            "many_records_then_a_huge_one_without_newline",
            format!("{}k,\"{}", "k,v\n".repeat(20_000), mb(2, "q\n")),
        ),
    ]
}

type Parsed = Result<Vec<Vec<String>>, String>;

/// Runs the Python oracle once over all files.
fn oracle(paths: &[PathBuf], delimiter: &str) -> HashMap<PathBuf, Parsed> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/oracle/csv_oracle.py");
    let o = Command::new("python3")
        .arg(&script)
        .args(["--delimiter", delimiter])
        .args(paths)
        .output()
        .expect("python3 runs (CI machines have it)");
    assert!(o.status.success(), "oracle failed: {}", stderr(&o));
    let mut out = HashMap::new();
    for line in stdout(&o).lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        let path = PathBuf::from(doc["path"].as_str().unwrap());
        let parsed = match doc.get("error") {
            Some(e) => Err(e.as_str().unwrap().to_string()),
            None => Ok(doc["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap().to_string())
                        .collect()
                })
                .collect()),
        };
        out.insert(path, parsed);
    }
    assert_eq!(out.len(), paths.len(), "one oracle answer per file");
    out
}

/// What fleet must print for a file, derived from the oracle's records by the rules above.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Scan {
        records: Vec<Vec<String>>,
        total: u64,
        malformed: u64,
    },
    /// Fleet refuses the file; its error names the file and says this.
    Refused(&'static str),
}

fn expected(data: &[u8], oracle: &Parsed) -> Expected {
    if data.is_empty() {
        return Expected::Refused("is empty"); // rule 3
    }
    if data[..data.len().min(8192)].contains(&0) {
        return Expected::Refused("looks binary"); // rule 4
    }
    let rows = oracle
        .as_ref()
        .unwrap_or_else(|e| panic!("the oracle rejected the file ({e}); no rule covers that"));
    let rows: Vec<&Vec<String>> = rows.iter().filter(|r| !r.is_empty()).collect(); // rule 1
    let ncols = rows.first().map_or(0, |r| r.len());
    let well_formed: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.len() == ncols) // rule 2
        .map(|r| (*r).clone())
        .collect();
    Expected::Scan {
        total: rows.len() as u64,
        malformed: (rows.len() - well_formed.len()) as u64,
        records: well_formed,
    }
}

/// The `N records, M matches, K malformed` figures of fleet's summary line.
fn summary(err: &str) -> (u64, u64, u64) {
    let line = err
        .lines()
        .find(|l| l.contains(" records, "))
        .unwrap_or_else(|| panic!("no summary in {err}"));
    let number_before = |word: &str| -> u64 {
        let at = line.find(word).unwrap();
        let figure = line[..at].trim_end().rsplit(' ').next().unwrap();
        figure.replace(',', "").parse().unwrap()
    };
    (
        number_before(" records"),
        number_before(" matches"),
        number_before(" malformed"),
    )
}

/// Fleet's JSON lines back into field lists, columns in order (keys are "1", "2", ...).
fn parse_jsonl(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|line| {
            let obj: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
            let mut fields: Vec<(usize, String)> = obj
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap(), v.as_str().unwrap().to_string()))
                .collect();
            fields.sort();
            assert!(fields.iter().enumerate().all(|(i, (k, _))| *k == i + 1));
            fields.into_iter().map(|(_, v)| v).collect()
        })
        .collect()
}

/// A run of fleet: chunk size, workers, engine, and whether to add a `--where` that every
/// record satisfies (so the filter path is taken too).
type Config = (&'static str, &'static str, &'static str, bool);

const SMALL: &[Config] = &[
    ("1", "3", "processes", false),
    ("7", "2", "threads", true),
    ("64", "4", "processes", false),
    ("1MiB", "1", "processes", false),
];
const LARGE: &[Config] = &[
    ("4KiB", "2", "processes", false),
    ("64KiB", "3", "threads", true),
    ("8MiB", "2", "processes", false),
];

fn check(path: &Path, want: &Expected, configs: &[Config], delimiter: &str) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    for &(chunk, workers, engine, filtered) in configs {
        let mut cmd = fleet();
        cmd.args([
            "scan",
            "--no-header",
            "--format",
            "jsonl",
            "--delimiter",
            delimiter,
        ])
        .arg("--chunk-size")
        .args([
            chunk,
            "--workers",
            workers,
            "--engine",
            engine,
            "--progress",
            "never",
        ]);
        let has_records = matches!(want, Expected::Scan { total, .. } if *total > 0);
        if filtered && has_records {
            // An empty regex matches every value (a file of no records has no column 1).
            cmd.args(["--where", "1~"]);
        }
        let o = cmd.arg(path).output().unwrap();
        let ctx = format!("{name} (chunk {chunk}, {workers} workers, {engine})");
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{ctx}: {err}");
        match want {
            Expected::Refused(why) => {
                assert!(!o.status.success(), "{ctx}: must be refused");
                assert!(err.contains(why) && err.contains(&name), "{ctx}: {err}");
                assert!(o.stdout.is_empty(), "{ctx}");
            }
            Expected::Scan {
                records,
                total,
                malformed,
            } => {
                // Exit 1 is "no record matched", as with grep.
                let code = if records.is_empty() { 1 } else { 0 };
                assert_eq!(o.status.code(), Some(code), "{ctx}: {err}");
                let got = parse_jsonl(&stdout(&o));
                if got != *records {
                    let first = got.iter().zip(records).position(|(g, w)| g != w);
                    panic!(
                        "{ctx}: {} records from fleet, {} from Python; first difference at {first:?}: fleet {:?} python {:?}",
                        got.len(),
                        records.len(),
                        first.and_then(|i| got.get(i)),
                        first.and_then(|i| records.get(i)),
                    );
                }
                assert_eq!(
                    summary(&err),
                    (*total, records.len() as u64, *malformed),
                    "{ctx}: records, matches, malformed"
                );
            }
        }
    }
    configs.len()
}

fn write_cases(dir: &Path, cases: &[Case]) -> Vec<PathBuf> {
    cases
        .iter()
        .map(|c| {
            let p = dir.join(format!("{}.csv", c.name));
            std::fs::write(&p, &c.data).unwrap();
            p
        })
        .collect()
}

fn run_cases(cases: Vec<Case>, configs: &[Config]) -> (usize, usize) {
    run_cases_with(cases, configs, ",")
}

fn run_cases_with(cases: Vec<Case>, configs: &[Config], delimiter: &str) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_cases(dir.path(), &cases);
    let answers = oracle(&paths, delimiter);
    let mut runs = 0;
    let mut records = 0;
    for (c, path) in cases.iter().zip(&paths) {
        let want = expected(&c.data, &answers[path]);
        if let Expected::Scan { records: r, .. } = &want {
            records += r.len();
        }
        runs += check(path, &want, configs, delimiter);
    }
    (runs, records)
}

#[test]
fn hand_written_edge_cases_match_python_csv() {
    let (runs, records) = run_cases(hand_written(), SMALL);
    assert!(runs >= 4 * 40);
    assert!(records > 100, "the cases must yield records to compare");
}

#[test]
fn generated_csv_matches_python_csv() {
    let cases = (0..40)
        .map(|seed| case(&format!("gen{seed:02}"), generated_csv(seed)))
        .collect();
    let (_, records) = run_cases(cases, SMALL);
    assert!(records > 1000, "{records} records compared");
}

#[test]
fn byte_soup_matches_python_csv() {
    let cases = (0..40)
        .map(|seed| case(&format!("soup{seed:02}"), byte_soup(seed)))
        .collect();
    let (_, records) = run_cases(cases, SMALL);
    assert!(records > 40, "{records} records compared");
}

#[test]
fn multi_megabyte_fields_and_records_larger_than_the_chunk_match_python_csv() {
    let (_, records) = run_cases(large(), LARGE);
    assert!(records > 20_000);
}

#[test]
fn other_delimiters_match_python_csv() {
    // The same habits with `;` and TAB as the delimiter; commas are then plain text.
    for delimiter in [";", "\t"] {
        let cases: Vec<Case> = (0..12)
            .map(|seed| {
                let data: Vec<u8> = generated_csv(100 + seed)
                    .into_iter()
                    .map(|b| match b {
                        b',' => delimiter.as_bytes()[0],
                        b';' | b'\t' => b',',
                        b => b,
                    })
                    .collect();
                case(&format!("delim{seed:02}"), data)
            })
            .chain([
                case("tab_commas", "a,b\tc\n\"x\ty\",z\t\"\"\n1,2\t3\n"),
                case("semicolon_commas", "a,b;c\n\"x;y\",z;\"\"\n1,2;3\n"),
            ])
            .collect();
        let (_, records) = run_cases_with(cases, SMALL, delimiter);
        assert!(records > 200, "{records} records compared");
    }
}

#[test]
fn the_rules_are_needed() {
    // Each difference rule must describe real behaviour of at least one case: if fleet ever
    // started to agree with Python there, the rule (and the README) should go.
    let cases = hand_written();
    let dir = tempfile::tempdir().unwrap();
    let paths = write_cases(dir.path(), &cases);
    let answers = oracle(&paths, ",");
    let raw = |name: &str| {
        let i = cases.iter().position(|c| c.name == name).unwrap();
        answers[&paths[i]].clone().unwrap()
    };
    assert!(raw("empty_lines_between").iter().any(|r| r.is_empty()));
    assert!(raw("ragged").iter().any(|r| r.len() != 3));
    assert!(raw("empty_file").is_empty());
    assert!(raw("nul_in_sniff_window")[1][1].contains('\0'));
}
