//! End-to-end tests of `fleet sql` (feature `sql`): the same questions through `fleet scan` /
//! `fleet agg` and through SQL give the same records and values, on plain, quoted-newline and
//! gzip data; tables named by folder; output formats, `-o`; exit codes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Output;

mod common;

use common::{gps, stderr, stdout};

fn fleet(args: &[&str]) -> Output {
    common::fleet().args(args).output().unwrap()
}

fn sql(query: &str, tables: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["sql", query, "-j", "2", "-q"];
    for t in tables {
        args.push("-t");
        args.push(t);
    }
    args.extend_from_slice(extra);
    fleet(&args)
}

/// CSV text as rows of fields (numbers normalised, so `22.50` and `22.5` agree).
fn parse(text: &str, skip_header: bool) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(skip_header)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .map(|f| match f.parse::<f64>() {
                    Ok(v) if !f.is_empty() => format!("{v}"),
                    _ => f.to_string(),
                })
                .collect()
        })
        .collect()
}

fn gzip_copy(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".csv") {
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(to.join(format!("{name}.gz"))).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(&std::fs::read(&p).unwrap()).unwrap();
            enc.finish().unwrap();
        } else {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

#[test]
fn scan_and_sql_select_the_same_records_on_plain_and_gzip_data() {
    let dir = gps(3, 20_000);
    let gz = tempfile::tempdir().unwrap();
    gzip_copy(dir.path(), gz.path());
    // A taxi that is in the data (the generator's ids are random).
    let id = an_id(dir.path());
    let scan = fleet(&[
        "scan",
        "-q",
        "--where",
        &format!("id={id}"),
        dir.path().to_str().unwrap(),
    ]);
    let expected = parse(&stdout(&scan), false);
    assert!(!expected.is_empty());
    for data in [dir.path(), gz.path()] {
        let table = format!("gps={}", data.display());
        let out = sql(
            &format!("SELECT * FROM gps WHERE id = {id}"),
            &[&table],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(parse(&stdout(&out), true), expected, "{}", data.display());
    }
    // A projection with two filters.
    let scan = fleet(&[
        "scan",
        "-q",
        "-w",
        "speed>100",
        "-w",
        "occupied=1",
        "-s",
        "id,time,speed",
        dir.path().to_str().unwrap(),
    ]);
    let table = format!("gps={}", dir.path().display());
    let out = sql(
        "SELECT id, time, speed FROM gps WHERE speed > 100 AND occupied = 1",
        &[&table],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(parse(&stdout(&out), true), parse(&stdout(&scan), false));
}

#[test]
fn agg_and_sql_group_by_give_the_same_values() {
    let dir = gps(2, 30_000);
    let gz = tempfile::tempdir().unwrap();
    gzip_copy(dir.path(), gz.path());
    let agg = fleet(&[
        "agg",
        "-q",
        "--group-by",
        "id",
        "--agg",
        "count",
        "--agg",
        "sum(speed)",
        "--agg",
        "mean(speed)",
        "--agg",
        "min(speed)",
        "--agg",
        "max(speed)",
        dir.path().to_str().unwrap(),
    ]);
    assert!(agg.status.success(), "{}", stderr(&agg));
    let expected = parse(&stdout(&agg), true);
    for data in [dir.path(), gz.path()] {
        let table = format!("gps={}", data.display());
        let out = sql(
            "SELECT id, count(*), sum(speed), avg(speed), min(speed), max(speed) FROM gps GROUP BY id ORDER BY id",
            &[&table],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let got = parse(&stdout(&out), true);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(
                [&g[0], &g[1], &g[2], &g[4], &g[5]],
                [&e[0], &e[1], &e[2], &e[4], &e[5]]
            );
            let (a, b): (f64, f64) = (g[3].parse().unwrap(), e[3].parse().unwrap());
            // fleet agg prints the exact mean to 6 decimals, DataFusion a double.
            assert!((a - b).abs() <= 5e-7 + 1e-12, "{g:?} {e:?}");
        }
    }
}

#[test]
fn quoted_newlines_give_the_records_scan_gives() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,note,v\n");
    for i in 0..5000 {
        if i % 5 == 0 {
            text.push_str(&format!("{i},\"two\nlines, {i}\",{}\n", i % 11));
        } else {
            text.push_str(&format!("{i},note {i},{}\n", i % 11));
        }
    }
    std::fs::write(dir.path().join("notes.csv"), text).unwrap();
    let path = dir.path().to_str().unwrap();
    let scan = fleet(&[
        "scan",
        "-q",
        "--chunk-size",
        "1000",
        "-w",
        "v=3",
        "-s",
        "id,note",
        path,
    ]);
    let out = sql(
        "SELECT id, note FROM notes WHERE v = 3",
        &[&format!("notes={path}")],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // scan prints the projected header (the data has one).
    assert_eq!(parse(&stdout(&out), true), parse(&stdout(&scan), true));
}

#[test]
fn a_path_is_named_after_its_folder_and_formats_and_output_work() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("taxis");
    std::fs::create_dir(&data).unwrap();
    let src = gps(1, 1000);
    for e in std::fs::read_dir(src.path()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, data.join(p.file_name().unwrap())).unwrap();
    }
    let path = data.to_str().unwrap();
    let out = sql(
        "SELECT count(*) AS n FROM taxis",
        &[path],
        &["--format", "jsonl"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\"n\":1000}\n");
    let out = sql(
        "SELECT count(*) AS n FROM taxis",
        &[path],
        &["--format", "table"],
    );
    assert!(stdout(&out).contains("| 1000 |"), "{}", stdout(&out));
    let file = root.path().join("out.csv");
    let out = sql(
        "SELECT id FROM taxis ORDER BY id LIMIT 3",
        &[path],
        &["-o", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
    // An empty result still has its header.
    let out = sql("SELECT id, speed FROM taxis WHERE id = -1", &[path], &[]);
    assert_eq!(stdout(&out), "id,speed\n");
}

#[test]
fn errors_are_one_line_with_exit_2() {
    let dir = gps(1, 100);
    let table = format!("gps={}", dir.path().display());
    for (query, tables, needle) in [
        ("SELECT nope FROM gps", vec![table.as_str()], "nope"),
        ("SELEC 1", vec![table.as_str()], "SELEC"),
        ("SELECT 1", vec!["gps=/no/such/dir"], "/no/such/dir"),
    ] {
        let out = sql(query, &tables, &[]);
        assert_eq!(out.status.code(), Some(2), "{query}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn group_by_reference_with_a_lookup_join() {
    let dir = gps(2, 5000);
    let lookup = tempfile::tempdir().unwrap();
    // Two taxis that are in the data (the generator's ids are random).
    let (alpha, beta) = (an_id_at(dir.path(), 99), an_id_at(dir.path(), 199));
    assert_ne!(alpha, beta);
    std::fs::write(
        lookup.path().join("companies.csv"),
        format!("id,company\n{alpha},Alpha\n{beta},Beta\n"),
    )
    .unwrap();
    let out = sql(
        "SELECT c.company, count(*) AS n FROM gps g JOIN companies c USING (id) GROUP BY c.company ORDER BY c.company",
        &[
            &format!("gps={}", dir.path().display()),
            &format!("companies={}", lookup.path().display()),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut expected = BTreeMap::new();
    for (id, name) in [(alpha.as_str(), "Alpha"), (beta.as_str(), "Beta")] {
        let n = fleet(&[
            "scan",
            "-q",
            "--count",
            "-w",
            &format!("id={id}"),
            dir.path().to_str().unwrap(),
        ]);
        let n: u64 = stdout(&n).trim().parse().unwrap();
        assert!(n > 0, "taxi {id} is in the data");
        expected.insert(name, n);
    }
    let want: String = std::iter::once("company,n\n".to_string())
        .chain(expected.iter().map(|(c, n)| format!("{c},{n}\n")))
        .collect();
    assert_eq!(stdout(&out), want);
}

/// Records people write by hand: a BOM, CRLF terminators, quoted fields holding commas,
/// CRLF and `""` escapes, empty fields, a ragged row, no final newline.
fn awkward_csv(rows: usize) -> Vec<u8> {
    let mut text = String::from("\u{feff}id,note,v\r\n");
    for i in 0..rows {
        match i % 7 {
            0 => text.push_str(&format!("{i},\"two\r\nlines, {i}\",{}\r\n", i % 11)),
            1 => text.push_str(&format!("{i},\"say \"\"hi\"\" {i}\",{}\r\n", i % 11)),
            2 => text.push_str(&format!("{i},,{}\r\n", i % 11)),
            3 if i % 5 == 0 => text.push_str(&format!("{i},ragged\r\n")),
            _ => text.push_str(&format!("{i},note {i},{}\r\n", i % 11)),
        }
    }
    text.push_str(&format!("{rows},last,3"));
    text.into_bytes()
}

#[test]
fn crlf_quoted_data_gives_what_scan_and_agg_give_at_any_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.csv"), awkward_csv(3000)).unwrap();
    let path = dir.path().to_str().unwrap();
    let table = format!("notes={path}");
    for chunk in ["7", "1000", "8MiB"] {
        let scan = fleet(&[
            "scan",
            "-q",
            "--chunk-size",
            chunk,
            "-w",
            "v=3",
            "-s",
            "id,note",
            path,
        ]);
        let expected = parse(&stdout(&scan), true);
        assert!(expected.len() > 200, "{}", expected.len());
        let out = sql(
            "SELECT id, note FROM notes WHERE v = 3",
            &[&table],
            &["--chunk-size", chunk],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(parse(&stdout(&out), true), expected, "chunk {chunk}");
    }
    let agg = fleet(&[
        "agg",
        "-q",
        "--group-by",
        "v",
        "--agg",
        "count",
        "--agg",
        "sum(id)",
        path,
    ]);
    assert!(agg.status.success(), "{}", stderr(&agg));
    let out = sql(
        "SELECT v, count(*), sum(id) FROM notes GROUP BY v ORDER BY v",
        &[&table],
        &["--chunk-size", "64"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut expected = parse(&stdout(&agg), true);
    expected.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert_eq!(parse(&stdout(&out), true), expected);
}

fn gbk_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/gps-gbk")
}

#[test]
fn gbk_data_is_filtered_and_grouped_as_scan_and_agg_do() {
    let dir = gbk_fixture();
    let path = dir.to_str().unwrap();
    let table = format!("gbk={path}");
    // A text filter with a non-ASCII value, pushed into the scan of GBK bytes.
    let scan = fleet(&["scan", "-q", "-w", "plate=粤B26481", path]);
    let expected = parse(&stdout(&scan), false);
    assert!(!expected.is_empty());
    let out = sql(
        "SELECT * FROM gbk WHERE plate = '粤B26481'",
        &[&table],
        &["--chunk-size", "4KiB"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(parse(&stdout(&out), true), expected);
    // Group by the GBK text column: the same groups and counts as agg.
    let agg = fleet(&["agg", "-q", "--group-by", "plate", "--agg", "count", path]);
    assert!(agg.status.success(), "{}", stderr(&agg));
    let mut expected = parse(&stdout(&agg), true);
    expected.sort();
    let out = sql(
        "SELECT plate, count(*) FROM gbk GROUP BY plate ORDER BY plate",
        &[&table],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut got = parse(&stdout(&out), true);
    got.sort();
    assert!(got.len() > 10);
    assert_eq!(got, expected);
    // LIKE 'prefix%' on the GBK column.
    let scan = fleet(&["scan", "-q", "--count", "-w", "plate~^湘", path]);
    let n: u64 = stdout(&scan).trim().parse().unwrap();
    assert!(n > 0);
    let out = sql(
        "SELECT count(*) AS n FROM gbk WHERE plate LIKE '湘%'",
        &[&table],
        &[],
    );
    assert_eq!(stdout(&out), format!("n\n{n}\n"), "{}", stderr(&out));
}

#[test]
fn a_quoted_path_in_from_needs_no_table_flag() {
    let dir = gps(2, 2000);
    let path = dir.path().to_str().unwrap();
    let scan = fleet(&["scan", "-q", "--count", "-w", "speed>50", path]);
    let n: u64 = stdout(&scan).trim().parse().unwrap();
    assert!(n > 0);
    let out = sql(
        &format!("SELECT count(*) AS n FROM '{path}' WHERE speed > 50"),
        &[],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("n\n{n}\n"));
    // A path that does not exist is DataFusion's "not found", exit 2.
    let out = sql("SELECT * FROM '/no/such/place'", &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/place"), "{}", stderr(&out));
}

#[test]
fn arrow_and_parquet_results_read_back_with_their_types() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let dir = gps(1, 3000);
    let table = format!("gps={}", dir.path().display());
    let query = "SELECT id, count(*) AS n, max(speed) AS top FROM gps GROUP BY id ORDER BY id";
    let csv_out = sql(query, &[&table], &[]);
    assert!(csv_out.status.success(), "{}", stderr(&csv_out));
    let expected = parse(&stdout(&csv_out), true);
    assert!(expected.len() > 10);
    let out_dir = tempfile::tempdir().unwrap();
    for format in ["arrow", "parquet"] {
        let file = out_dir.path().join(format!("r.{format}"));
        let out = sql(
            query,
            &[&table],
            &["--format", format, "-o", file.to_str().unwrap()],
        );
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let batches: Vec<arrow_array::RecordBatch> = if format == "arrow" {
            arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&file).unwrap(), None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        } else {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&file).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        let mut got = Vec::new();
        for b in &batches {
            let (id, n) = (
                b.column(0).as_primitive::<Int64Type>(),
                b.column(1).as_primitive::<Int64Type>(),
            );
            // speed holds whole numbers, so it is typed Int64 (and so is its max).
            let top = b.column(2).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                got.push(vec![
                    format!("{}", id.value(i) as f64),
                    format!("{}", n.value(i) as f64),
                    format!("{}", top.value(i)),
                ]);
            }
        }
        assert_eq!(got, expected, "{format}");
    }
    // Binary formats need -o.
    let out = sql(query, &[&table], &["--format", "parquet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-o"), "{}", stderr(&out));
}

#[test]
fn a_failing_query_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    // The sample (first MiB) says v is an integer; a later value is not.
    let mut text = String::from("id,v\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i},{}\n", i % 7));
    }
    text.push_str("200000,seven\n");
    std::fs::write(dir.path().join("t.csv"), text).unwrap();
    let file = dir.path().join("out.csv");
    let out = sql(
        "SELECT v FROM t",
        &[&format!("t={}", dir.path().join("t.csv").display())],
        &["-o", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("seven") && err.contains("[types]"), "{err}");
    assert!(!file.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn ctrl_c_ends_a_query_blocked_on_a_full_pipe_with_130() {
    use std::process::Stdio;
    let data = gps(2, 100_000);
    let table = format!("gps={}", data.path().display());
    let mut child = common::KillOnDrop(
        common::fleet()
            .args(["sql", "SELECT * FROM gps", "-t", &table, "-j", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let fd = std::os::fd::AsRawFd::as_raw_fd(child.0.stdout.as_ref().unwrap());
    common::wait_until("the output pipe to fill up", 120, || {
        let mut waiting: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; F_GETPIPE_SZ takes no argument; `fd` is our pipe.
        let (rc, capacity) = unsafe {
            (
                libc::ioctl(fd, libc::FIONREAD, &mut waiting),
                libc::fcntl(fd, libc::F_GETPIPE_SZ),
            )
        };
        rc == 0 && capacity > 0 && waiting >= capacity
    });
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_output();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
}

/// The id of the 100th record of the first data file.
fn an_id(dir: &std::path::Path) -> String {
    an_id_at(dir, 99)
}

/// The id of the record at 0-based `line` of the first data file.
fn an_id_at(dir: &std::path::Path, line: usize) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let line = text.lines().nth(line).unwrap();
    line.split(',').next().unwrap().to_string()
}

/// `fleet sql` with statements on standard input (no query argument).
fn sql_script(script: &str, tables: &[&str]) -> Output {
    let mut cmd = common::fleet();
    cmd.args(["sql", "-j", "2"]);
    for t in tables {
        cmd.args(["-t", t]);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_script_on_standard_input_runs_its_statements_in_order() {
    let dir = gps(2, 5_000);
    let table = format!("gps={}", dir.path().display());
    let path = dir.path().to_str().unwrap();
    let count = fleet(&["scan", "-q", "--count", "--where", "speed>100", path]);
    let count = stdout(&count).trim().to_string();
    assert_ne!(
        count, "0",
        "the data must have fast points for this test to mean anything"
    );
    let max = fleet(&["agg", "-q", "--agg", "max(speed)", "--format", "csv", path]);
    let max = parse(&stdout(&max), true)[0][0].clone();
    let script = "CREATE VIEW fast AS\n  SELECT id, speed FROM gps WHERE speed > 100;\n\
                  -- a comment; not a statement\n\
                  SELECT count(*) AS n FROM fast; SELECT 'a;b' AS text;\n\
                  SELECT max(speed) AS m FROM gps"; // the last one without `;`
    let out = sql_script(script, &[&table]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!((lines[0], lines[1]), ("n", count.as_str()), "{text}");
    assert_eq!((lines[2], lines[3]), ("text", "a;b"), "{text}");
    assert_eq!(lines[4], "m");
    assert_eq!(parse(lines[5], false)[0][0], max, "{text}");
    // One row count per statement that returned rows (the view's creation returns none).
    assert_eq!(
        stderr(&out).matches("row(s)").count(),
        3,
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_script_stops_at_its_first_error_naming_the_line() {
    let dir = gps(1, 100);
    let table = format!("gps={}", dir.path().display());
    let out = sql_script(
        "SELECT 1 AS a;\n\nSELECT nope\n  FROM gps;\nSELECT 2 AS b;\n",
        &[&table],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stdout(&out),
        "a\n1\n",
        "statements after the error must not run"
    );
    let err = stderr(&out);
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.contains("line 3") && last.contains("nope"), "{err}");
}

#[test]
fn output_file_needs_a_query_argument() {
    let dir = gps(1, 100);
    let table = format!("gps={}", dir.path().display());
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("r.csv");
    let out = common::fleet()
        .args(["sql", "-t", &table, "-o", target.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-o FILE"), "{}", stderr(&out));
    assert!(!target.exists());
}
