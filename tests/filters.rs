//! `--where` sets (`in (...)`, `in @FILE`), boolean expressions (`and`, `or`, `not`,
//! parentheses, `!~`), `-v` and `-i`, end to end: `fleet scan` and `fleet agg` against a plain
//! reference (the `csv` crate, the expression evaluated naively in three-valued logic) on
//! generated data with quoted commas and newlines, `""` escapes, CRLF, a BOM, empty, missing
//! and non-numeric values, ragged rows; both engines, 1 and 3 workers, chunks down to a few
//! bytes; plain, gzip, zstd, GBK and standard input.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fleet, stderr, stdout};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// SQL's three values, plus unknown-because-not-comparable (counted by fleet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    True,
    False,
    Unknown,
    Incomparable,
}

fn t(b: bool) -> T {
    if b {
        T::True
    } else {
        T::False
    }
}

fn not(x: T) -> T {
    match x {
        T::True => T::False,
        T::False => T::True,
        u => u,
    }
}

fn merge_unknown(a: T, b: T) -> T {
    if a == T::Incomparable || b == T::Incomparable {
        T::Incomparable
    } else {
        T::Unknown
    }
}

fn and(items: &[T]) -> T {
    let mut out = T::True;
    for &x in items {
        match x {
            T::True => {}
            T::False => return T::False,
            u => out = merge_unknown(u, out),
        }
    }
    out
}

fn or(items: &[T]) -> T {
    let mut out = T::False;
    for &x in items {
        match x {
            T::False => {}
            T::True => return T::True,
            u => {
                out = if out == T::False {
                    u
                } else {
                    merge_unknown(u, out)
                }
            }
        }
    }
    out
}

fn missing(v: &str) -> bool {
    ["", "NA", "NULL", "null", "NaN", "N/A", "\\N"].contains(&v)
}

/// The number grammar of docs/missing-values.md, read plainly.
fn number(v: &str) -> Option<f64> {
    let body = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok_mantissa = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let ok_exponent = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    (ok_mantissa && ok_exponent)
        .then(|| v.parse::<f64>().ok())
        .flatten()
}

/// `COL = number` and `COL in (numbers, texts)`: unknown on missing and non-numbers.
fn in_set(field: &str, numbers: &[f64], texts: &[&str]) -> T {
    if texts.contains(&field) {
        return T::True;
    }
    if numbers.is_empty() {
        return T::False;
    }
    match number(field) {
        Some(x) => t(numbers.contains(&x)),
        None => T::Unknown,
    }
}

/// `COL OP number` other than `=`: not comparable on text.
fn compare(field: &str, holds: impl Fn(f64) -> bool) -> T {
    if missing(field) {
        return T::Unknown;
    }
    match number(field) {
        Some(x) => t(holds(x)),
        None => T::Incomparable,
    }
}

/// Columns: n (row number), id, name, speed, occupied.
type Record = Vec<String>;

const IDS: &[&str] = &[
    "11865", "20001", "31337", "11865.0", "011865", "+20001", "1.1865e4", "5", "118650", "211865",
    "", "NA", "x11865", "12", "2e1",
];
const NAMES: &[&str] = &[
    "bob",
    "BOB",
    "Bob",
    "alice",
    "Al,ice",
    "a\"b",
    "two\nlines",
    "",
    "NA",
    "Été",
    "été",
    "张三",
    "and",
    "x or y",
];
const SPEEDS: &[&str] = &[
    "0", "50", "51", "100", "150", "", "NA", "fast", "1e2", "-3", "50.5",
];
const OCCUPIED: &[&str] = &["0", "1", "", "NA"];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn field(out: &mut String, v: &str, force_quote: bool) {
    if force_quote || v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// A data set as UTF-8 text: a header, `rows` records (some ragged), with the given line
/// ends, an optional BOM and trailing newline.
fn data(seed: u64, rows: usize, crlf: bool, bom: bool, trailing: bool, names: &[&str]) -> String {
    data_quoted(seed, rows, crlf, bom, trailing, names, true)
}

/// [`data`]; without `quotes`, no field is quoted unless it must be.
fn data_quoted(
    seed: u64,
    rows: usize,
    crlf: bool,
    bom: bool,
    trailing: bool,
    names: &[&str],
    quotes: bool,
) -> String {
    let mut rng = Rng(seed * 2654435761 + 1);
    let end = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str("n,id,name,speed,occupied");
    for n in 1..=rows {
        out.push_str(end);
        let mut rec = vec![
            n.to_string(),
            IDS[rng.below(IDS.len())].to_string(),
            names[rng.below(names.len())].to_string(),
            SPEEDS[rng.below(SPEEDS.len())].to_string(),
            OCCUPIED[rng.below(OCCUPIED.len())].to_string(),
        ];
        match rng.below(20) {
            0 => {
                rec.pop();
            }
            1 => rec.push("extra".into()),
            _ => {}
        }
        for (i, v) in rec.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v, quotes && rng.below(10) == 0);
        }
    }
    if trailing {
        out.push_str(end);
    }
    out
}

/// The well-formed records, as the `csv` crate reads them.
fn records(text: &str) -> Vec<Record> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    rdr.records()
        .skip(1)
        .map(|r| r.unwrap())
        .filter(|r| r.len() == 5)
        .map(|r| r.iter().map(str::to_string).collect())
        .collect()
}

/// One case: the flags given to fleet and the reference per record (each `--where` in
/// order; a record kept when all are true).
struct Case {
    flags: Vec<String>,
    invert: bool,
    tests: Vec<fn(&Record) -> T>,
}

fn case(flags: &[&str], tests: Vec<fn(&Record) -> T>) -> Case {
    Case {
        flags: flags.iter().map(|s| s.to_string()).collect(),
        invert: flags.contains(&"-v"),
        tests,
    }
}

/// The reference: the row numbers kept and the records counted as not comparable.
fn expected(records: &[Record], case: &Case) -> (Vec<u64>, u64) {
    let mut kept = Vec::new();
    let mut incomparable = 0;
    for r in records {
        let mut verdict = T::True;
        for test in &case.tests {
            let v = test(r);
            if v != T::True {
                verdict = v;
                break;
            }
        }
        let keep = if case.invert {
            verdict != T::True
        } else {
            verdict == T::True
        };
        if keep {
            kept.push(r[0].parse().unwrap());
        }
        if !case.invert && verdict == T::Incomparable {
            incomparable += 1;
        }
    }
    (kept, incomparable)
}

fn ids_file(dir: &Path) -> String {
    let path = dir.join("taxis.txt");
    // A BOM, CRLF lines, blank lines, duplicates, a number written another way, and many
    // ids not in the data.
    let mut text = String::from("\u{feff}11865\r\n\r\n20001\r\n  31337  \n11865.0\n");
    for i in 0..2000 {
        text.push_str(&format!("{}\n", 500_000 + i * 7));
    }
    text.push_str("\n20001");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn cases(ids: &str) -> Vec<Case> {
    let in_file = format!("id in @{ids}");
    vec![
        case(
            &["-w", "id in (11865, 20001, 31337)"],
            vec![|r| in_set(&r[1], &[11865.0, 20001.0, 31337.0], &[])],
        ),
        case(
            &["-w", &in_file],
            vec![|r| in_set(&r[1], &[11865.0, 20001.0, 31337.0], &[])],
        ),
        case(
            &["-w", "id=11865 or id=20001"],
            vec![|r| {
                or(&[
                    in_set(&r[1], &[11865.0], &[]),
                    in_set(&r[1], &[20001.0], &[]),
                ])
            }],
        ),
        case(
            &["-w", "id in (11865, x11865, NA)"],
            vec![|r| in_set(&r[1], &[11865.0], &["x11865", "NA"])],
        ),
        case(
            &["-w", "not (occupied=1 and speed=0)"],
            vec![|r| {
                not(and(&[
                    in_set(&r[4], &[1.0], &[]),
                    in_set(&r[3], &[0.0], &[]),
                ]))
            }],
        ),
        case(
            &["-w", "id not in (11865) and speed>50"],
            vec![|r| not(in_set(&r[1], &[11865.0], &[])), |r| {
                compare(&r[3], |x| x > 50.0)
            }],
        ),
        case(
            &["-w", "speed>50 or id=20001", "-w", "occupied!=0"],
            vec![
                |r| or(&[compare(&r[3], |x| x > 50.0), in_set(&r[1], &[20001.0], &[])]),
                |r| compare(&r[4], |x| x != 0.0),
            ],
        ),
        case(
            &["-w", "not speed<=50"],
            vec![|r| not(compare(&r[3], |x| x <= 50.0))],
        ),
        case(
            &["-w", "name !~ ^(a|b)"],
            vec![|r| t(!(r[2].starts_with('a') || r[2].starts_with('b')))],
        ),
        case(
            &["-w", "name = 'x or y' or name = and"],
            vec![|r| t(r[2] == "x or y" || r[2] == "and")],
        ),
        case(
            &["-i", "-w", "name=bob or name in (été, 'al,ice')"],
            vec![|r| {
                let l = r[2].to_lowercase();
                t(l == "bob" || l == "été" || l == "al,ice")
            }],
        ),
        case(
            &["-i", "-w", "name~O", "-w", "name!=BOB"],
            vec![|r| t(r[2].to_lowercase().contains('o')), |r| {
                t(r[2].to_lowercase() != "bob")
            }],
        ),
        case(
            &["-v", "-w", "speed>50", "-w", "occupied=1"],
            vec![|r| compare(&r[3], |x| x > 50.0), |r| {
                in_set(&r[4], &[1.0], &[])
            }],
        ),
    ]
}

/// Row numbers `fleet scan ... -s n` printed, and the not-comparable count it reported.
fn scan(args: &[String], stdin: Option<&[u8]>) -> (Vec<u64>, u64) {
    let mut cmd = fleet();
    cmd.args(args);
    let o = match stdin {
        Some(bytes) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(bytes).unwrap();
            child.wait_with_output().unwrap()
        }
        None => cmd.output().unwrap(),
    };
    let code = o.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{args:?}: {}",
        stderr(&o)
    );
    let kept: Vec<u64> = stdout(&o).lines().filter_map(|l| l.parse().ok()).collect();
    assert_eq!(code == Some(0), !kept.is_empty(), "{args:?}");
    let incomparable = stderr(&o)
        .lines()
        .find_map(|l| {
            l.strip_prefix("fleet: warning: ")?
                .split(' ')
                .next()?
                .replace(',', "")
                .parse()
                .ok()
        })
        .unwrap_or(0);
    (kept, incomparable)
}

fn run_cases(path: &Path, extra: &[&str], records: &[Record], ids: &str, stdin: Option<&[u8]>) {
    for c in cases(ids) {
        let (want, want_incomparable) = expected(records, &c);
        assert!(
            !want.is_empty(),
            "{:?} keeps nothing: a useless case",
            c.flags
        );
        for (engine, workers, chunk) in [
            ("processes", "3", "7"),
            ("threads", "1", "64"),
            ("threads", "3", "1MiB"),
        ] {
            let mut args: Vec<String> = [
                "scan",
                "--header",
                "-s",
                "n",
                "--engine",
                engine,
                "-j",
                workers,
                "--chunk-size",
                chunk,
                "--piece-size",
                "50",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(extra.iter().map(|s| s.to_string()));
            args.extend(c.flags.iter().cloned());
            args.push(path.display().to_string());
            let (got, incomparable) = scan(&args, stdin);
            assert_eq!(got, want, "{args:?}");
            assert_eq!(incomparable, want_incomparable, "{args:?}");
        }
    }
}

#[test]
fn plain_files_every_feature_against_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ids_file(dir.path());
    for (seed, crlf, bom, trailing) in [(1, false, false, true), (2, true, true, false)] {
        let text = data(seed, 600, crlf, bom, trailing, NAMES);
        let path = dir.path().join(format!("d{seed}.csv"));
        std::fs::write(&path, &text).unwrap();
        run_cases(&path, &[], &records(&text), &ids, None);
    }
    // Quote-free data: the pre-filters (one needle, several needles) do the work.
    let plain: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| !n.contains([',', '"', '\n']))
        .collect();
    let text = data_quoted(3, 600, false, false, true, &plain, false);
    assert!(!text.contains('"'));
    let path = dir.path().join("plain.csv");
    std::fs::write(&path, &text).unwrap();
    run_cases(&path, &[], &records(&text), &ids, None);
}

#[test]
fn compressed_and_stdin_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ids_file(dir.path());
    let text = data(3, 400, true, false, true, NAMES);
    let recs = records(&text);
    let gz = dir.path().join("d.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    run_cases(&gz, &[], &recs, &ids, None);
    let zst = dir.path().join("d.csv.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 1).unwrap()).unwrap();
    run_cases(&zst, &[], &recs, &ids, None);
    run_cases(Path::new("-"), &[], &recs, &ids, Some(text.as_bytes()));
}

#[test]
fn gbk_input() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ids_file(dir.path());
    // GBK has no accented Latin letters.
    let names: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| !n.contains(['É', 'é']))
        .collect();
    let text = data(4, 400, false, false, true, &names);
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let path = dir.path().join("gbk.csv");
    std::fs::write(&path, &bytes).unwrap();
    run_cases(&path, &["--encoding", "gbk"], &records(&text), &ids, None);
    // A set of Chinese text in a GBK file.
    let c = case(
        &["-w", "name in (张三, bob)"],
        vec![|r| t(r[2] == "张三" || r[2] == "bob")],
    );
    let (want, _) = expected(&records(&text), &c);
    let args: Vec<String> = [
        "scan",
        "--header",
        "-s",
        "n",
        "--encoding",
        "gbk",
        "--chunk-size",
        "9",
        "-w",
        "name in (张三, bob)",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([path.display().to_string()])
    .collect();
    assert!(!want.is_empty());
    assert_eq!(scan(&args, None).0, want);
}

#[test]
fn agg_shares_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ids_file(dir.path());
    let text = data(5, 500, false, true, true, NAMES);
    let recs = records(&text);
    let path = dir.path().join("d.csv");
    std::fs::write(&path, &text).unwrap();
    for c in cases(&ids) {
        let (want, _) = expected(&recs, &c);
        for engine in ["processes", "threads"] {
            let o = fleet()
                .args([
                    "agg",
                    "--header",
                    "--agg",
                    "count",
                    "--engine",
                    engine,
                    "--chunk-size",
                    "13",
                ])
                .args(&c.flags)
                .arg(&path)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let count: u64 = stdout(&o)
                .lines()
                .last()
                .unwrap()
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{}", stdout(&o)));
            assert_eq!(count, want.len() as u64, "{:?} {engine}", c.flags);
        }
    }
}

#[test]
fn a_large_id_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = data(6, 300, false, false, true, NAMES);
    let path = dir.path().join("d.csv");
    std::fs::write(&path, &text).unwrap();
    let ids = dir.path().join("ids.txt");
    let mut list: String = (0..100_000)
        .map(|i| format!("{}\n", 1_000_000 + i))
        .collect();
    list.push_str("20001\n");
    std::fs::write(&ids, list).unwrap();
    let c = case(&[], vec![|r| in_set(&r[1], &[20001.0], &[])]);
    let (want, _) = expected(&records(&text), &c);
    let args: Vec<String> = vec![
        "scan".into(),
        "--header".into(),
        "-s".into(),
        "n".into(),
        "-w".into(),
        format!("id in @{}", ids.display()),
        path.display().to_string(),
    ];
    assert!(!want.is_empty());
    assert_eq!(scan(&args, None).0, want);
}

#[test]
fn errors_are_one_line_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    std::fs::write(&path, data(7, 20, false, false, true, NAMES)).unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\r\n\n").unwrap();
    let cases = [
        (
            "id=1 or spead>3".to_string(),
            "at position 9: unknown column 'spead'",
        ),
        (
            "id in (1, 2) or nmae in (x)".to_string(),
            "at position 17: unknown column 'nmae'",
        ),
        (
            "(id=1 or id=2".to_string(),
            "this '(' is never closed at position 1",
        ),
        ("id=1)".to_string(), "')' closes no '(' at position 5"),
        (
            "id in (1,,2)".to_string(),
            "expected a value in the list at position 10",
        ),
        (
            "id=1 or or id=2".to_string(),
            "expected a condition at position 9",
        ),
        (format!("id in @{}", empty.display()), "holds no values"),
        (
            "id in @/nonexistent/ids.txt".to_string(),
            "cannot read /nonexistent/ids.txt",
        ),
    ];
    for (expr, message) in cases {
        for command in ["scan", "agg"] {
            let mut cmd = fleet();
            cmd.args([command, "--header", "-w", &expr]);
            if command == "agg" {
                cmd.args(["--agg", "count"]);
            }
            let o = cmd.arg(&path).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{expr}");
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{expr}: {err}");
            assert!(err.contains(message), "{expr}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// Values of the leading field for [`a_large_set_on_the_leading_field`]: the plain ids the
/// fast path reads in place, and everything it must hand to the general test.
const LEADING: &[&str] = &[
    "11865",
    "20001",
    "31337",
    "11865.0",
    "011865",
    "+20001",
    "1.1865e4",
    "5",
    "00000005",
    "0",
    "118650",
    "211865",
    "123456789",
    "99999999",
    "16777215",
    "16777216",
    "12345678901234567890",
    "20001.5",
    "-5",
    "",
    "NA",
    "x11865",
    " 11865",
    "11865 ",
];

/// Headerless records `id,n,name,speed` with the id first (some ragged), as
/// [`data_quoted`] writes them.
fn leading_data(
    seed: u64,
    rows: usize,
    crlf: bool,
    bom: bool,
    trailing: bool,
    quotes: bool,
) -> String {
    let mut rng = Rng(seed * 2654435761 + 7);
    let end = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    for n in 1..=rows {
        let mut rec = vec![
            LEADING[rng.below(LEADING.len())].to_string(),
            n.to_string(),
            NAMES[rng.below(NAMES.len())].to_string(),
            SPEEDS[rng.below(SPEEDS.len())].to_string(),
        ];
        if !quotes {
            rec[2] = rec[2].replace([',', '"', '\n'], "_");
        }
        match rng.below(20) {
            0 => {
                rec.pop();
            }
            1 => rec.push("extra".into()),
            _ => {}
        }
        for (i, v) in rec.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v, quotes && rng.below(8) == 0);
        }
        if n < rows || trailing {
            out.push_str(end);
        }
    }
    out
}

/// A set too large for needles on the first field of headerless data: the kernel's in-place
/// probe of short naturals, and the general test it defers to for everything else (numbers
/// written another way, long ones, missing and text values, a number as a null marker),
/// against the reference on quote-free data (the fast path throughout), quoted fields and
/// CRLF (chunks mixing both paths at 5 and 7 bytes), a BOM before the first id, ragged rows
/// and no trailing newline; both engines, 1 to 3 workers; the records kept and `--count`.
#[test]
fn a_large_set_on_the_leading_field() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.txt");
    let mut list =
        String::from("\u{feff}11865\r\n20001\n31337\n5\n0\n123456789\n99999999\n16777216\n");
    for i in 0..2000 {
        list.push_str(&format!("{}\n", 500_000 + i * 7));
    }
    std::fs::write(&ids, list).unwrap();
    let set = [
        11865.0,
        20001.0,
        31337.0,
        5.0,
        0.0,
        123456789.0,
        99999999.0,
        16777216.0,
    ];
    let where_ids = format!("id in @{}", ids.display());
    for (seed, crlf, bom, trailing, quotes) in [
        (1, false, false, true, false),
        (2, false, true, false, false),
        (3, false, true, true, true),
        (4, true, false, false, true),
    ] {
        let text = leading_data(seed, 700, crlf, bom, trailing, quotes);
        assert_eq!(text.contains('"'), quotes);
        let path = dir.path().join(format!("lead{seed}.csv"));
        std::fs::write(&path, &text).unwrap();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let recs: Vec<Vec<String>> = rdr
            .records()
            .map(|r| r.unwrap())
            .filter(|r| r.len() == 4)
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        // With `--null 5` the field `5` is missing (unknown), `00000005` still the number.
        for null_five in [false, true] {
            let want: Vec<u64> = recs
                .iter()
                .filter(|r| !(null_five && r[0] == "5"))
                .filter(|r| in_set(&r[0], &set, &[]) == T::True)
                .map(|r| r[1].parse().unwrap())
                .collect();
            assert!(want.len() > 20, "seed {seed}: too few matches to tell");
            for (engine, workers, chunk) in [
                ("processes", "1", "5"),
                ("processes", "3", "7"),
                ("threads", "2", "64"),
                ("threads", "3", "1MiB"),
                ("processes", "2", "1MiB"),
            ] {
                let mut args: Vec<String> = [
                    "scan",
                    "-n",
                    "--columns",
                    "id,n,name,speed",
                    "--engine",
                    engine,
                    "-j",
                    workers,
                    "--chunk-size",
                    chunk,
                    "-w",
                    &where_ids,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                if null_five {
                    args.extend(["--null".to_string(), "5".to_string()]);
                }
                args.push(path.display().to_string());
                let mut listed = args.clone();
                listed.extend(["-s".to_string(), "n".to_string()]);
                assert_eq!(scan(&listed, None).0, want, "{listed:?}");
                let o = fleet().args(&args).arg("--count").output().unwrap();
                assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
                assert_eq!(
                    stdout(&o).trim(),
                    want.len().to_string(),
                    "--count {args:?}"
                );
            }
        }
    }
}
