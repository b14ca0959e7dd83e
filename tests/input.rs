//! End-to-end tests of real-world inputs: `.gz`/`.zst` files (alone and mixed with plain
//! ones) give byte-identical scan and agg output to the plain files, bad compressed data is a
//! one-line error naming the file with no output file left, and GBK text (the committed
//! `fixtures/gps-gbk`) is filtered with UTF-8 `--where` values and written as UTF-8 or as
//! its original bytes.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::{fleet, stderr, stdout};
use fleet_fixtures::{gps_file_with_plates, tricky_csv, PlateText, TrickyOptions};

fn run(args: &[&str]) -> Output {
    fleet().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Vec<u8> {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o.stdout
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes `files` into four directories: plain, all gzip, all zstd, and a mix of the three
/// (gzip files of two members).
fn four_dirs(files: &[Vec<u8>], toml: Option<&str>) -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ["plain", "gz", "zst", "mixed"]
        .iter()
        .map(|d| root.path().join(d))
        .collect();
    for d in &dirs {
        fs::create_dir(d).unwrap();
        if let Some(t) = toml {
            fs::write(d.join("fleet.toml"), t).unwrap();
        }
    }
    for (i, data) in files.iter().enumerate() {
        let name = format!("part-{i:02}.csv");
        fs::write(dirs[0].join(&name), data).unwrap();
        fs::write(dirs[1].join(format!("{name}.gz")), gzip(data)).unwrap();
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        fs::write(dirs[2].join(format!("{name}.zst")), &zst).unwrap();
        match i % 3 {
            0 => fs::write(dirs[3].join(&name), data).unwrap(),
            1 => {
                let mut two = gzip(&data[..data.len() / 2]);
                two.extend(gzip(&data[data.len() / 2..]));
                fs::write(dirs[3].join(format!("{name}.gz")), two).unwrap()
            }
            _ => fs::write(dirs[3].join(format!("{name}.zst")), &zst).unwrap(),
        }
    }
    (root, dirs)
}

#[test]
fn compressed_directories_scan_byte_identical_to_plain_ones() {
    // Tricky data: quoted newlines and delimiters, CRLF, BOM, blank lines, ragged rows.
    let mut topts = TrickyOptions::all(400, 3);
    topts.columns = 3;
    topts.header = false;
    topts.bom = true;
    topts.crlf = true;
    topts.quotes = true;
    let files: Vec<Vec<u8>> = (0..4).map(|i| tricky_csv(50 + i, &topts)).collect();
    assert!(files.iter().any(|f| f.windows(2).any(|w| w == b"\r\n")));
    let (_root, dirs) = four_dirs(&files, None);
    let base = ["scan", "--no-header", "-q"];
    let want = ok(&[&base[..], &[s(&dirs[0])]].concat());
    assert!(want.len() > 10_000);
    let want_match = ok(&[&base[..], &[s(&dirs[0]), "-w", "1=11865"]].concat());
    assert!(!want_match.is_empty());
    for dir in &dirs[1..] {
        for (engine, workers, piece) in [
            ("processes", "1", "1"),
            ("processes", "3", "61"),
            ("threads", "2", "1"),
            ("threads", "3", "4MiB"),
            ("processes", "2", "4KiB"),
        ] {
            let args = [
                "--engine",
                engine,
                "--workers",
                workers,
                "--piece-size",
                piece,
            ];
            let got = ok(&[&base[..], &[s(dir)], &args[..]].concat());
            assert!(got == want, "{dir:?} {engine} {workers} {piece}");
            let got = ok(&[&base[..], &[s(dir), "-w", "1=11865"], &args[..]].concat());
            assert!(
                got == want_match,
                "{dir:?} {engine} {workers} {piece} (where)"
            );
        }
    }
    // --limit stops at the same record; --glob still picks files, compressed or not.
    let limited = ok(&[
        &base[..],
        &[s(&dirs[3]), "--limit", "7", "--format", "jsonl"],
    ]
    .concat());
    let limited_plain = ok(&[
        &base[..],
        &[s(&dirs[0]), "--limit", "7", "--format", "jsonl"],
    ]
    .concat());
    assert_eq!(limited, limited_plain);
    assert_eq!(String::from_utf8(limited).unwrap().lines().count(), 7);
    let gz_only = ok(&[&base[..], &[s(&dirs[3]), "--glob", "*.gz"]].concat());
    let want_gz: Vec<u8> = [1usize]
        .iter()
        .flat_map(|&i| ok(&[&base[..], &[s(&dirs[0].join(format!("part-{i:02}.csv")))]].concat()))
        .collect();
    assert_eq!(gz_only, want_gz);
}

#[test]
fn compressed_directories_aggregate_like_plain_ones() {
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| gps_file_with_plates(2, i, 5000, None))
        .collect();
    let (_root, dirs) = four_dirs(&files, Some(fleet_fixtures::GPS_FLEET_TOML));
    let args = |dir: &Path, engine: &'static str, piece: &'static str| {
        ok(&[
            "agg",
            s(dir),
            "--group-by",
            "occupied,hour(time)",
            "--agg",
            "count",
            "--agg",
            "mean(speed)",
            "--agg",
            "max(lon)",
            "--agg",
            "distinct(id)",
            "-w",
            "speed>10",
            "--format",
            "csv",
            "-q",
            "--engine",
            engine,
            "--piece-size",
            piece,
        ])
    };
    let want = args(&dirs[0], "processes", "4MiB");
    assert!(String::from_utf8_lossy(&want).lines().count() > 40);
    for dir in &dirs[1..] {
        for (engine, piece) in [("processes", "100"), ("threads", "4MiB")] {
            assert!(args(dir, engine, piece) == want, "{dir:?} {engine} {piece}");
        }
    }
}

#[test]
fn headers_of_compressed_files_are_detected_and_checked() {
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| fleet_fixtures::trips_file(4, i, 2000))
        .collect();
    let (_root, dirs) = four_dirs(&files, None);
    let args = |dir: &Path| {
        ok(&[
            "scan",
            s(dir),
            "-w",
            "payment_type=2",
            "--select",
            "tpep_pickup_datetime,total_amount",
            "-q",
        ])
    };
    let want = args(&dirs[0]);
    let text = String::from_utf8(want.clone()).unwrap();
    assert!(
        text.starts_with("tpep_pickup_datetime,total_amount\n"),
        "{text}"
    );
    assert!(text.lines().count() > 100);
    for dir in &dirs[1..] {
        assert!(args(dir) == want, "{dir:?}");
    }
    // A compressed file with another header is refused like a plain one.
    let other = dirs[3].join("zz.csv.gz");
    fs::write(&other, gzip(b"a,b\n1,2\n")).unwrap();
    let o = run(&["scan", s(&dirs[3]), "--count"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("zz.csv.gz: the header differs"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_compressed_data_is_a_one_line_error_and_no_output_file() {
    let data = gps_file_with_plates(3, 0, 30_000, None);
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("fleet.toml"),
        fleet_fixtures::GPS_FLEET_TOML,
    )
    .unwrap();
    fs::write(dir.path().join("a.csv"), &data).unwrap();
    let gz = gzip(&data);
    let truncated = dir.path().join("b.csv.gz");
    fs::write(&truncated, &gz[..gz.len() * 3 / 4]).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for (cmd, name) in [("scan", "scan.csv"), ("agg", "agg.csv")] {
        let out = out_dir.path().join(name);
        let o = run(&[cmd, s(dir.path()), "-o", s(&out)]);
        assert!(!o.status.success());
        let err = stderr(&o);
        let last = err.lines().last().unwrap();
        assert!(last.starts_with("fleet: error: "), "{err}");
        assert!(last.contains(s(&truncated)), "{err}");
        assert!(last.contains("truncated gzip data"), "{err}");
        assert!(!out.exists(), "{cmd} must not leave an output file");
    }
    fs::remove_file(&truncated).unwrap();
    let mut zst = zstd::encode_all(&data[..], 3).unwrap();
    let at = zst.len() / 2;
    for b in &mut zst[at..at + 100] {
        *b = !*b;
    }
    let corrupt = dir.path().join("c.csv.zst");
    fs::write(&corrupt, &zst).unwrap();
    let out = out_dir.path().join("scan2.csv");
    let o = run(&["scan", s(dir.path()), "-o", s(&out), "--engine", "threads"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(s(&corrupt)) && err.contains("corrupt zstd data"),
        "{err}"
    );
    assert!(!out.exists());
}

// ---- encodings ----

fn gbk_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/gps-gbk")
}

/// The fixture's data as the generator makes it, in UTF-8 and in GBK.
fn twins() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let utf8 = (0..2)
        .map(|k| gps_file_with_plates(1, k, 1500, Some(PlateText::Utf8)))
        .collect();
    let gbk = (0..2)
        .map(|k| gps_file_with_plates(1, k, 1500, Some(PlateText::Gbk)))
        .collect();
    (utf8, gbk)
}

/// Lines of `files` whose 8th comma-separated field satisfies `keep`.
fn lines_where(files: &[Vec<u8>], keep: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in files {
        for line in f.split_inclusive(|&b| b == b'\n') {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            if keep(body.split(|&b| b == b',').nth(7).unwrap()) {
                out.extend_from_slice(line);
            }
        }
    }
    out
}

#[test]
fn the_committed_gbk_fixture_is_the_generators_output() {
    let (utf8, gbk) = twins();
    for (k, want) in gbk.iter().enumerate() {
        let got = fs::read(gbk_fixture().join(format!("gps-{k:03}.csv"))).unwrap();
        assert!(&got == want, "gps-{k:03}.csv differs from the generator");
        // And it really is GBK: decoding gives the UTF-8 twin.
        let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(&got);
        assert!(!had_errors);
        assert_eq!(text.as_bytes(), &utf8[k][..]);
        assert!(text.contains("粤B"));
    }
    let toml = fs::read_to_string(gbk_fixture().join("fleet.toml")).unwrap();
    assert!(toml.contains("encoding = \"gbk\"") && toml.contains("\"plate\""));
}

#[test]
fn gbk_is_filtered_with_utf8_values_and_written_as_utf8_or_kept() {
    let (utf8, gbk) = twins();
    let dir = gbk_fixture();
    // A plate that occurs in the data (taken from the UTF-8 twin, not from fleet).
    let first = std::str::from_utf8(&utf8[1])
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let plate = first.split(',').nth(7).unwrap().to_string();
    assert!(!plate.is_ascii());
    let wanted = format!("plate={plate}");
    let want = lines_where(&utf8, |p| p == plate.as_bytes());
    assert!(!want.is_empty());
    assert_eq!(ok(&["scan", s(&dir), "-w", &wanted, "-q"]), want);
    // The original bytes, with --output-encoding keep.
    let plate_gbk = encoding_rs::GBK.encode(&plate).0.into_owned();
    let want_raw = lines_where(&gbk, |p| p == &plate_gbk[..]);
    assert_ne!(want_raw, want);
    let got = ok(&[
        "scan",
        s(&dir),
        "-w",
        &wanted,
        "-q",
        "--output-encoding",
        "keep",
    ]);
    assert_eq!(got, want_raw);
    // Ordering and regex on Chinese text follow the decoded text (Unicode order: 京 < 沪 <
    // 湘 < 粤, unlike GBK's byte order 沪 < 京 < 粤 < 湘... so raw bytes would differ).
    for (expr, keep) in [
        (
            "plate>湘",
            Box::new(|p: &str| p > "湘") as Box<dyn Fn(&str) -> bool>,
        ),
        ("plate<沪", Box::new(|p: &str| p < "沪")),
        (
            "plate~^(京|湘)A1",
            Box::new(|p: &str| p.starts_with("京A1") || p.starts_with("湘A1")),
        ),
        ("plate!=粤B29874", Box::new(|p: &str| p != "粤B29874")),
    ] {
        let want = lines_where(&utf8, |p| keep(std::str::from_utf8(p).unwrap()));
        assert!(!want.is_empty(), "{expr}");
        for engine in ["processes", "threads"] {
            let got = ok(&["scan", s(&dir), "-w", expr, "-q", "--engine", engine]);
            assert!(got == want, "{expr} {engine}");
        }
    }
    // JSON lines and projections are decoded too.
    let got = ok(&["scan", s(&dir), "-w", &wanted, "-q", "--select", "plate,id"]);
    let want_sel: String = std::str::from_utf8(&want)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{}\n", f[7], f[0])
        })
        .collect();
    assert_eq!(String::from_utf8(got).unwrap(), want_sel);
    let got = ok(&["scan", s(&dir), "-w", &wanted, "-q", "--format", "jsonl"]);
    let text = String::from_utf8(got).unwrap();
    assert!(text.contains(&format!("\"plate\":\"{plate}\"")), "{text}");
    // Agg groups decode their keys.
    let got = ok(&[
        "agg",
        s(&dir),
        "-w",
        &wanted,
        "--group-by",
        "plate",
        "--format",
        "csv",
        "-q",
    ]);
    assert_eq!(
        String::from_utf8(got).unwrap(),
        format!(
            "plate,count\n{plate},{}\n",
            want.iter().filter(|&&b| b == b'\n').count()
        )
    );
    // Compressed GBK: the same.
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(dir.join("fleet.toml"), tmp.path().join("fleet.toml")).unwrap();
    for (k, data) in gbk.iter().enumerate() {
        fs::write(tmp.path().join(format!("gps-{k:03}.csv.gz")), gzip(data)).unwrap();
    }
    assert_eq!(ok(&["scan", s(tmp.path()), "-w", &wanted, "-q"]), want);
}

#[test]
fn invalid_gbk_is_replaced_counted_and_located() {
    let tmp = tempfile::tempdir().unwrap();
    let gbk = |t: &str| encoding_rs::GBK.encode(t).0.into_owned();
    let mut data = Vec::new();
    data.extend(gbk("车牌,速度\n"));
    data.extend(gbk("粤B00001,10\n"));
    data.extend(b"\xff\xfe,20\n"); // line 3: two invalid bytes
    data.extend(gbk("京A00002,30\n"));
    data.extend(b"x\x81,40\n"); // line 5: a lead byte with no trail
    let path = tmp.path().join("plates.csv");
    fs::write(&path, &data).unwrap();
    let o = run(&["scan", s(&path), "--encoding", "gbk", "-w", "速度>15"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "车牌,速度\n\u{fffd}\u{fffd},20\n京A00002,30\nx\u{fffd},40\n"
    );
    let err = stderr(&o);
    assert!(
        err.contains("3 invalid gbk byte sequence(s) replaced by U+FFFD"),
        "{err}"
    );
    assert!(
        err.contains(&format!("invalid gbk text at {}:3", s(&path))),
        "{err}"
    );
    assert!(
        err.contains(&format!("invalid gbk text at {}:5", s(&path))),
        "{err}"
    );
    // Kept bytes are not touched (nor reported).
    let o = run(&[
        "scan",
        s(&path),
        "--encoding",
        "gbk",
        "-w",
        "速度>15",
        "--output-encoding",
        "keep",
    ]);
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(o.stdout, [lines[0], lines[2], lines[3], lines[4]].concat());
    assert!(!stderr(&o).contains("invalid"));
    // A header named in GBK is matched by its UTF-8 name; selecting decodes the names.
    let got = ok(&[
        "scan",
        s(&path),
        "--encoding",
        "gb18030",
        "-w",
        "车牌=粤B00001",
        "--select",
        "速度,车牌",
        "-q",
    ]);
    assert_eq!(String::from_utf8(got).unwrap(), "速度,车牌\n10,粤B00001\n");
}

#[test]
fn big5_and_latin1_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, encoding, text, value) in [
        (
            "big5",
            encoding_rs::BIG5,
            "city,n\n臺北,1\n高雄,2\n臺北,3\n",
            "臺北",
        ),
        (
            "latin1",
            encoding_rs::WINDOWS_1252,
            "city,n\nCafé,1\nZürich,2\nCafé,3\n",
            "Café",
        ),
    ] {
        let path = tmp.path().join(format!("{name}.csv"));
        fs::write(&path, encoding.encode(text).0).unwrap();
        let got = ok(&[
            "scan",
            s(&path),
            "--encoding",
            name,
            "-w",
            &format!("city={value}"),
            "-q",
        ]);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            format!("city,n\n{value},1\n{value},3\n"),
            "{name}"
        );
    }
    let o = run(&["scan", s(tmp.path()), "--encoding", "ebcdic"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown encoding 'ebcdic'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_delimiter_that_occurs_inside_gbk_characters_is_transcoded_first() {
    let (utf8, gbk) = twins();
    // `|` (0x7C) is a possible GBK trail byte: 亅 is 81 7C. Put such characters in the data.
    let trap = encoding_rs::GBK.encode("亅").0.into_owned();
    assert_eq!(trap[1], b'|');
    let tmp = tempfile::tempdir().unwrap();
    let pipe = |data: &[u8], tail: &[u8]| -> Vec<u8> {
        let mut out = Vec::new();
        for line in data.split_inclusive(|&b| b == b'\n') {
            let body = line.strip_suffix(b"\n").unwrap();
            out.extend(body.iter().map(|&b| if b == b',' { b'|' } else { b }));
            out.extend_from_slice(tail);
            out.push(b'\n');
        }
        out
    };
    fs::write(
        tmp.path().join("fleet.toml"),
        "header = false\ncolumns = [\"id\", \"time\", \"lon\", \"lat\", \"speed\", \"heading\", \"occupied\", \"plate\", \"note\"]\ndelimiter = \"|\"\nencoding = \"gbk\"\n",
    )
    .unwrap();
    for (k, data) in gbk.iter().enumerate() {
        let mut tail = b"|".to_vec();
        tail.extend(&trap);
        let mut body = pipe(data, &tail);
        if k == 1 {
            body.extend(b"1|t|0|0|0|0|0|\xff|x\n"); // an invalid byte, last line of file 2
        }
        let name = format!("gps-{k:03}.csv");
        if k == 0 {
            fs::write(tmp.path().join(&name), body).unwrap();
        } else {
            fs::write(
                tmp.path().join(format!("{name}.zst")),
                zstd::encode_all(&body[..], 1).unwrap(),
            )
            .unwrap();
        }
    }
    let first = std::str::from_utf8(&utf8[0])
        .unwrap()
        .lines()
        .nth(5)
        .unwrap();
    let plate = first.split(',').nth(7).unwrap().to_string();
    let want: Vec<u8> = pipe(
        &lines_where(&utf8, |p| p == plate.as_bytes()),
        "|亅".as_bytes(),
    );
    assert!(!want.is_empty());
    for engine in ["processes", "threads"] {
        let got = ok(&[
            "scan",
            s(tmp.path()),
            "-w",
            &format!("plate={plate}"),
            "-w",
            "note=亅",
            "-q",
            "--engine",
            engine,
            "--piece-size",
            "1000",
        ]);
        assert!(got == want, "{engine}: {}", String::from_utf8_lossy(&got));
    }
    let o = run(&["scan", s(tmp.path()), "--count"]);
    assert_eq!(stdout(&o), "3001\n");
    let err = stderr(&o);
    assert!(err.contains("1 invalid gbk byte sequence(s)"), "{err}");
    assert!(err.contains("gps-001.csv.zst:1501"), "{err}");
    let o = run(&["scan", s(tmp.path()), "--output-encoding", "keep"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("transcoded to UTF-8"), "{}", stderr(&o));
}
