//! End-to-end tests of Arrow/Parquet output (`scan|agg --format arrow|parquet`) and `fleet
//! convert`. Every column file is read back with the arrow/parquet readers and compared, row
//! for row and type for type, with the command's own CSV output (or the input files) parsed
//! by the `csv` crate: the column files must say exactly what the CSV says.
#![allow(clippy::unwrap_used)]

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use common::{fleet, gps, stderr, stdout};
use std::fs::File;
use std::path::Path;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    fleet().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "fleet {args:?} failed: {}",
        stderr(&out)
    );
    out
}

fn read_parquet(path: &Path) -> (Vec<(String, DataType)>, Vec<RecordBatch>) {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).unwrap(),
    )
    .unwrap();
    let fields = fields_of(builder.schema());
    let batches = builder.build().unwrap().map(Result::unwrap).collect();
    (fields, batches)
}

fn read_arrow(path: &Path) -> (Vec<(String, DataType)>, Vec<RecordBatch>) {
    let reader = arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None).unwrap();
    let fields = fields_of(&reader.schema());
    let batches = reader.map(Result::unwrap).collect();
    (fields, batches)
}

fn fields_of(schema: &arrow_schema::Schema) -> Vec<(String, DataType)> {
    schema
        .fields()
        .iter()
        .map(|f| {
            assert!(f.is_nullable(), "{} should be nullable", f.name());
            (f.name().clone(), f.data_type().clone())
        })
        .collect()
}

/// The records of CSV text, as the `csv` crate reads them.
fn csv_records(text: &[u8], header: bool) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(header)
        .from_reader(text)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A timestamp's text written back by chrono, to compare with the CSV's text: `T` as a
/// space, trailing fraction zeros dropped on both sides.
fn same_timestamp(shown: &str, text: &str) -> bool {
    let canon = |s: &str| {
        let s = s.replacen('T', " ", 1);
        match s.split_once('.') {
            Some((base, frac)) => {
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}.{frac}")
                }
            }
            None => s,
        }
    };
    canon(shown) == canon(text)
}

/// Every cell of `batches` equals the same cell of `records` read as the column's type; an
/// empty text is a null.
fn assert_same_table(batches: &[RecordBatch], records: &[Vec<String>]) {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, records.len(), "row count");
    let mut r = 0;
    for batch in batches {
        for row in 0..batch.num_rows() {
            let expected = &records[r];
            assert_eq!(batch.num_columns(), expected.len());
            for (c, text) in expected.iter().enumerate() {
                let col = batch.column(c);
                let at = format!("row {r} column {c} ({text:?})");
                if text.is_empty() {
                    assert!(col.is_null(row), "{at}: expected null");
                    continue;
                }
                assert!(!col.is_null(row), "{at}: unexpected null");
                match col.data_type() {
                    DataType::Int64 => {
                        let v = col.as_primitive::<Int64Type>().value(row);
                        assert_eq!(v.to_string(), *text, "{at}");
                    }
                    DataType::Float64 => {
                        let v = col.as_primitive::<Float64Type>().value(row);
                        assert_eq!(v, text.parse::<f64>().unwrap(), "{at}");
                    }
                    DataType::Timestamp(TimeUnit::Microsecond, None) => {
                        let v = col.as_primitive::<TimestampMicrosecondType>().value(row);
                        let shown = arrow_array::temporal_conversions::timestamp_us_to_datetime(v)
                            .unwrap()
                            .to_string();
                        assert!(same_timestamp(&shown, text), "{at}: {shown}");
                    }
                    DataType::Timestamp(TimeUnit::Nanosecond, None) => {
                        let v = col.as_primitive::<TimestampNanosecondType>().value(row);
                        let shown = arrow_array::temporal_conversions::timestamp_ns_to_datetime(v)
                            .unwrap()
                            .to_string();
                        assert!(same_timestamp(&shown, text), "{at}: {shown}");
                    }
                    DataType::Utf8 => {
                        assert_eq!(col.as_string::<i32>().value(row), text, "{at}");
                    }
                    other => panic!("{at}: unexpected type {other}"),
                }
            }
            r += 1;
        }
    }
}

fn names_and_types(fields: &[(String, DataType)]) -> Vec<(&str, String)> {
    fields
        .iter()
        .map(|(n, t)| (n.as_str(), t.to_string()))
        .collect()
}

const GPS_TYPES: [(&str, &str); 7] = [
    ("id", "Int64"),
    ("time", "Timestamp(µs)"),
    ("lon", "Float64"),
    ("lat", "Float64"),
    ("speed", "Int64"),
    ("heading", "Int64"),
    ("occupied", "Int64"),
];

fn owned(types: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    types.iter().map(|(n, t)| (*n, t.to_string())).collect()
}

#[test]
fn scan_as_parquet_and_arrow_equals_the_csv_output_row_for_row() {
    let data = gps(4, 3000);
    let dir = data.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let common = [
        "scan",
        dir,
        "-w",
        "speed>40",
        "--chunk-size",
        "16KiB",
        "--workers",
        "2",
        "-q",
    ];
    let csv = ok(&common).stdout;
    let records = csv_records(&csv, false);
    assert!(records.len() > 1000, "the filter keeps a real share");
    for (format, read) in [
        ("parquet", read_parquet as fn(&Path) -> _),
        ("arrow", read_arrow),
    ] {
        let file = out.path().join(format!("r.{format}"));
        let mut args = common.to_vec();
        args.extend(["--format", format, "-o", file.to_str().unwrap()]);
        let o = ok(&args);
        assert!(o.stdout.is_empty(), "nothing on stdout");
        let (fields, batches) = read(&file);
        assert_eq!(names_and_types(&fields), owned(&GPS_TYPES), "{format}");
        assert_same_table(&batches, &records);
    }
    // The Parquet pages are zstd-compressed.
    let reader = parquet::file::reader::SerializedFileReader::new(
        File::open(out.path().join("r.parquet")).unwrap(),
    )
    .unwrap();
    use parquet::file::reader::FileReader;
    let meta = reader.metadata();
    assert!(meta.num_row_groups() >= 1);
    for col in meta.row_group(0).columns() {
        assert!(
            matches!(col.compression(), parquet::basic::Compression::ZSTD(_)),
            "{:?}",
            col.compression()
        );
    }
}

/// Types come from every value: ints, ints with one float, timestamps in both spellings,
/// text that merely looks numeric, an all-empty column, quoted commas and newlines.
const MIXED: &str = "\
i,f,t,s,e,q,n
1,1,2024-01-02 03:04:05,abc,,\"x,y\",5
-2,2.5,2024-01-02T03:04:05.123,007,,\"line1
line2\",6
,3,,hello,,\"he said \"\"hi\"\"\",
9223372036854775807,-4e-3,2000-02-29 23:59:59.999999,12,,plain,8
";

#[test]
fn inference_follows_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.csv");
    std::fs::write(&input, MIXED).unwrap();
    let input = input.to_str().unwrap();
    let csv = ok(&["scan", input, "-q"]).stdout;
    let records = csv_records(&csv, true);
    assert_eq!(records.len(), 4);
    for format in ["parquet", "arrow"] {
        let file = dir.path().join(format!("mixed.{format}"));
        ok(&[
            "scan",
            input,
            "-q",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
        ]);
        let (fields, batches) = if format == "parquet" {
            read_parquet(&file)
        } else {
            read_arrow(&file)
        };
        assert_eq!(
            names_and_types(&fields),
            owned(&[
                ("i", "Int64"),
                ("f", "Float64"),
                ("t", "Timestamp(µs)"),
                ("s", "Utf8"),
                ("e", "Utf8"),
                ("q", "Utf8"),
                ("n", "Int64"),
            ]),
            "{format}"
        );
        assert_same_table(&batches, &records);
    }
    // A projection: the selected columns, in the selected order, with their own types.
    let csv = ok(&["scan", input, "-q", "--select", "q,n,t"]).stdout;
    let file = dir.path().join("sel.parquet");
    ok(&[
        "scan",
        input,
        "-q",
        "--select",
        "q,n,t",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
    ]);
    let (fields, batches) = read_parquet(&file);
    assert_eq!(
        names_and_types(&fields),
        owned(&[("q", "Utf8"), ("n", "Int64"), ("t", "Timestamp(µs)")])
    );
    assert_same_table(&batches, &csv_records(&csv, true));
}

#[test]
fn nanosecond_fractions_give_a_nanosecond_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ns.csv");
    std::fs::write(
        &input,
        "t,v\n2024-01-02 03:04:05.123456789,1\n1999-12-31T23:59:59,2\n",
    )
    .unwrap();
    let file = dir.path().join("ns.parquet");
    let input = input.to_str().unwrap();
    ok(&[
        "scan",
        input,
        "-q",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
    ]);
    let (fields, batches) = read_parquet(&file);
    assert_eq!(fields[0].1, DataType::Timestamp(TimeUnit::Nanosecond, None));
    let csv = ok(&["scan", input, "-q"]).stdout;
    assert_same_table(&batches, &csv_records(&csv, true));
}

#[test]
fn schema_overrides_types_and_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.csv");
    std::fs::write(&input, MIXED).unwrap();
    let input = input.to_str().unwrap();
    let file = dir.path().join("o.parquet");
    let out = file.to_str().unwrap();
    ok(&[
        "scan",
        input,
        "-q",
        "--format",
        "parquet",
        "-o",
        out,
        "--schema",
        "i:float64,7:utf8,t:utf8",
    ]);
    let (fields, batches) = read_parquet(&file);
    let types: Vec<String> = fields.iter().map(|(_, t)| t.to_string()).collect();
    assert_eq!(
        types,
        ["Float64", "Float64", "Utf8", "Utf8", "Utf8", "Utf8", "Utf8"]
    );
    let csv = ok(&["scan", input, "-q"]).stdout;
    assert_same_table(&batches, &csv_records(&csv, true));
    std::fs::remove_file(&file).unwrap();

    for (schema, message) in [
        ("x:int64", "--schema 'x:int64': unknown column 'x'"),
        ("i:integer", "--schema 'i:integer': unknown type 'integer'"),
        ("i", "--schema 'i': expected COLUMN:TYPE"),
        ("9:utf8", "--schema '9:utf8': column 9 is out of range"),
        ("i:utf8,i:int64", "column 'i' is given twice"),
        (
            "s:int64",
            "--schema s:int64: \"abc\" at record 1 of the result does not parse as int64",
        ),
        (
            "t:timestamp,f:int64",
            "--schema f:int64: \"2.5\" at record 2 of the result",
        ),
    ] {
        let o = run(&[
            "scan", input, "-q", "--format", "parquet", "-o", out, "--schema", schema,
        ]);
        assert_eq!(o.status.code(), Some(2), "{schema}");
        let err = stderr(&o);
        assert!(err.contains(message), "{schema}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!file.exists(), "{schema}: nothing written");
    }
    let o = run(&["scan", input, "--schema", "i:utf8"]);
    assert!(stderr(&o).contains("--schema applies to --format arrow or parquet only"));
}

/// A `decimal` column holds each value exactly (Decimal128(38, 9)): a sum of many values with
/// fraction digits is the exact decimal sum, which float64 would not give; a value with more
/// fraction digits than the scale is refused, not rounded.
#[test]
fn decimal_columns_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("prices.csv");
    let mut text = String::from("item,price\n");
    let mut want_sum: i128 = 0; // in units of 1e-9
    for i in 0..1000i128 {
        // 0.1, 0.2, ... with a few negatives, empties and exponent forms among them.
        match i % 50 {
            7 => text.push_str("x,\n"),
            8 => {
                text.push_str("x,-1.25e1\n");
                want_sum -= 12_500_000_000;
            }
            _ => {
                text.push_str(&format!("x,{}.{}\n", i / 10, i % 10));
                want_sum += (i / 10) * 1_000_000_000 + (i % 10) * 100_000_000;
            }
        }
    }
    std::fs::write(&input, &text).unwrap();
    let file = dir.path().join("o.parquet");
    let args = |schema: &str| {
        run(&[
            "scan",
            input.to_str().unwrap(),
            "-q",
            "--format",
            "parquet",
            "-o",
            file.to_str().unwrap(),
            "--schema",
            schema,
        ])
    };
    let out = args("price:decimal");
    assert!(out.status.success(), "{}", stderr(&out));
    let (fields, batches) = read_parquet(&file);
    assert_eq!(fields[1].1, DataType::Decimal128(38, 9));
    let mut sum = 0i128;
    let mut nulls = 0;
    for b in &batches {
        let col = b
            .column(1)
            .as_primitive::<arrow_array::types::Decimal128Type>();
        nulls += col.null_count();
        sum += col.iter().flatten().sum::<i128>();
    }
    assert_eq!((sum, nulls), (want_sum, 20));
    std::fs::remove_file(&file).unwrap();

    std::fs::write(&input, "item,price\nx,1.5\ny,0.0000000001\n").unwrap();
    let out = args("price:decimal");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("\"0.0000000001\" at record 2 of the result does not parse as decimal"),
        "{}",
        stderr(&out)
    );
    assert!(!file.exists(), "nothing written");
}

#[test]
fn agg_output_as_parquet_equals_its_csv_output() {
    let data = gps(2, 4000);
    let dir = data.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let common = [
        "agg",
        dir,
        "-q",
        "--group-by",
        "hour(time),occupied",
        "--agg",
        "count",
        "--agg",
        "mean(speed)",
        "--agg",
        "max(time)",
        "--agg",
        "min(lon)",
    ];
    let mut csv_args = common.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = ok(&csv_args).stdout;
    let records = csv_records(&csv, true);
    assert!(records.len() > 10);
    let file = out.path().join("agg.parquet");
    let mut args = common.to_vec();
    args.extend(["--format", "parquet", "-o", file.to_str().unwrap()]);
    ok(&args);
    let (fields, batches) = read_parquet(&file);
    // Hours print zero-padded ("07"): as Int64 they would print "7", so they stay text.
    assert_eq!(
        names_and_types(&fields),
        owned(&[
            ("hour(time)", "Utf8"),
            ("occupied", "Int64"),
            ("count", "Int64"),
            ("mean(speed)", "Float64"),
            ("max(time)", "Timestamp(µs)"),
            ("min(lon)", "Float64"),
        ])
    );
    assert_same_table(&batches, &records);

    // Asked for, they become numbers.
    args.extend(["--schema", "hour(time):int64"]);
    ok(&args);
    let (fields, batches) = read_parquet(&file);
    assert_eq!(fields[0].1, DataType::Int64);
    let hours: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    let expected: Vec<i64> = records.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(hours, expected);
}

#[test]
fn empty_result_is_a_file_with_columns_and_no_rows() {
    let data = gps(1, 500);
    let dir = data.path().to_str().unwrap();
    for format in ["parquet", "arrow"] {
        let file = data.path().join(format!("none.{format}"));
        let o = run(&[
            "scan",
            dir,
            "-q",
            "-w",
            "speed<0",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
        ]);
        // Nothing matched: exit 1 (as grep), and still a complete file.
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let (fields, batches) = if format == "parquet" {
            read_parquet(&file)
        } else {
            read_arrow(&file)
        };
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["id", "time", "lon", "lat", "speed", "heading", "occupied"]
        );
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn limit_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bytes.csv");
    std::fs::write(&input, b"name,n\nok,1\nbad\xff,2\nz,3\n").unwrap();
    let input = input.to_str().unwrap();
    let file = dir.path().join("b.arrow");
    let o = ok(&[
        "scan",
        input,
        "--format",
        "arrow",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("1 text value(s) were not valid UTF-8"),
        "{}",
        stderr(&o)
    );
    let (_, batches) = read_arrow(&file);
    assert_same_table(
        &batches,
        &[
            vec!["ok".into(), "1".into()],
            vec!["bad\u{fffd}".into(), "2".into()],
            vec!["z".into(), "3".into()],
        ],
    );
    ok(&[
        "scan",
        input,
        "-q",
        "--limit",
        "2",
        "--format",
        "arrow",
        "-o",
        file.to_str().unwrap(),
    ]);
    let (_, batches) = read_arrow(&file);
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
}

#[test]
fn column_formats_need_an_output_file() {
    let data = gps(1, 100);
    let dir = data.path().to_str().unwrap();
    for args in [
        &["scan", dir, "--format", "parquet"][..],
        &["scan", dir, "--format", "arrow"],
        &["agg", dir, "--format", "parquet"],
        &["agg", dir, "--format", "arrow", "--group-by", "id"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(
            stderr(&o).contains("writes a binary file, never to stdout: give -o FILE"),
            "{}",
            stderr(&o)
        );
    }
    let file = data.path().join("c.parquet");
    let o = run(&[
        "scan",
        dir,
        "--count",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("--count prints a number"),
        "{}",
        stderr(&o)
    );
    assert!(!file.exists());
}

/// Writes `text` at `dir/rel`, creating folders.
fn put(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn convert_keeps_relative_paths_and_one_schema_for_all_files() {
    let src = tempfile::tempdir().unwrap();
    // `v` is all ints in two files and has a float in the third: Float64 everywhere.
    put(
        src.path(),
        "a.csv",
        "k,v,when\nx,1,2015-02-01 00:00:00\ny,2,\n",
    );
    put(
        src.path(),
        "2015/02/b.csv",
        "k,v,when\nz,3,2015-02-02 10:00:00\n,4,2015-02-02T10:00:01\n",
    );
    put(
        src.path(),
        "2015/03/deep/c.csv",
        "k,v,when\n\"q,uoted\",5.5,2015-03-01 00:00:00.5\n",
    );
    put(
        src.path(),
        "2015/04/d.tsv",
        "k\tv\twhen\nt,ab\t6\t2015-04-01 00:00:00\n",
    );
    put(src.path(), "2015/notes.md", "not a csv\n");
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("pq");
    let o = ok(&[
        "convert",
        src.path().to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--workers",
        "2",
    ]);
    let err = stderr(&o);
    assert!(err.contains("converted 4 files"), "{err}");
    assert!(
        err.contains("columns: k utf8, v float64, when timestamp"),
        "{err}"
    );
    let mut written: Vec<String> = walk(&out_dir);
    written.sort();
    assert_eq!(
        written,
        [
            "2015/02/b.parquet",
            "2015/03/deep/c.parquet",
            "2015/04/d.parquet",
            "a.parquet"
        ]
    );
    for (rel, ext, delimiter) in [
        ("a", "csv", b','),
        ("2015/02/b", "csv", b','),
        ("2015/03/deep/c", "csv", b','),
        ("2015/04/d", "tsv", b'\t'),
    ] {
        let input = std::fs::read(src.path().join(format!("{rel}.{ext}"))).unwrap();
        let (fields, batches) = read_parquet(&out_dir.join(format!("{rel}.parquet")));
        assert_eq!(
            names_and_types(&fields),
            owned(&[("k", "Utf8"), ("v", "Float64"), ("when", "Timestamp(µs)")]),
            "{rel}"
        );
        let records: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(input.as_slice())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert!(!records.is_empty());
        assert_same_table(&batches, &records);
    }
    // Arrow too; a file named itself lands by its name.
    let arrow_dir = out.path().join("ipc");
    ok(&[
        "convert",
        src.path().join("2015/02/b.csv").to_str().unwrap(),
        "-o",
        arrow_dir.to_str().unwrap(),
        "--to",
        "arrow",
        "-q",
    ]);
    let (fields, batches) = read_arrow(&arrow_dir.join("b.arrow"));
    assert_eq!(
        fields[1].1,
        DataType::Int64,
        "only this file's values count"
    );
    let input = std::fs::read(src.path().join("2015/02/b.csv")).unwrap();
    assert_same_table(&batches, &csv_records(&input, true));
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn convert_gps_dataset_row_counts_and_values_match() {
    let data = gps(3, 2500);
    let out = tempfile::tempdir().unwrap();
    ok(&[
        "convert",
        data.path().to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
        "-q",
    ]);
    for input in common::csv_files(data.path()) {
        let name = input.file_stem().unwrap().to_str().unwrap();
        let (fields, batches) = read_parquet(&out.path().join(format!("{name}.parquet")));
        assert_eq!(names_and_types(&fields), owned(&GPS_TYPES));
        let records = csv_records(&std::fs::read(&input).unwrap(), false);
        assert_eq!(records.len(), 2500);
        assert_same_table(&batches, &records);
    }
}

#[test]
fn convert_reports_malformed_records_and_strict_refuses_them() {
    let src = tempfile::tempdir().unwrap();
    put(src.path(), "ok.csv", "a,b\n1,2\n3,4\n");
    put(src.path(), "ragged.csv", "a,b\n1,2\n3\n5,6,7\n8,9\n");
    let out = tempfile::tempdir().unwrap();
    let o = ok(&[
        "convert",
        src.path().to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(err.contains("2 malformed"), "{err}");
    let ragged = src.path().join("ragged.csv");
    for line in [3, 4] {
        let at = format!(
            "malformed record (not 2 fields) at {}:{line}",
            ragged.display()
        );
        assert!(err.contains(&at), "{err}");
    }
    let (_, batches) = read_parquet(&out.path().join("ragged.parquet"));
    assert_same_table(
        &batches,
        &[vec!["1".into(), "2".into()], vec!["8".into(), "9".into()]],
    );

    let strict_out = out.path().join("strict");
    let o = run(&[
        "convert",
        src.path().to_str().unwrap(),
        "-o",
        strict_out.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "2 malformed records (first at {}:3)",
            ragged.display()
        )),
        "{err}"
    );
    assert!(!strict_out.exists(), "nothing written");
}

#[test]
fn convert_refuses_colliding_outputs_and_bad_schema() {
    let src = tempfile::tempdir().unwrap();
    put(src.path(), "one/x.csv", "a\n1\n");
    put(src.path(), "two/x.csv", "a\n2\n");
    let out = tempfile::tempdir().unwrap();
    let o = run(&[
        "convert",
        src.path().join("one").to_str().unwrap(),
        src.path().join("two").to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("would both be written to"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "convert",
        src.path().to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
        "--schema",
        "b:int64",
    ]);
    assert!(
        stderr(&o).contains("--schema 'b:int64': unknown column 'b'"),
        "{}",
        stderr(&o)
    );
    assert!(
        walk(out.path()).is_empty(),
        "nothing written: {:?}",
        walk(out.path())
    );
    assert!(stdout(&o).is_empty());
}
