//! Help that teaches: the short forms users of xsv/qsv reach for, `--format table`, and the
//! hint for an unquoted `--where` that the shell turned into a redirection.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn short_flags_mean_what_the_long_ones_do() {
    let data = gps(2, 3_000);
    let dir = data.path().to_str().unwrap();
    let long = output_within(
        fleet().args([
            "scan",
            "-q",
            "--where",
            "speed>50",
            "--select",
            "id,speed",
            "--limit",
            "5",
            "--workers",
            "1",
            "--no-header",
            "--delimiter",
            ",",
            dir,
        ]),
        60,
    );
    assert!(long.status.success(), "{}", stderr(&long));
    assert_eq!(stdout(&long).lines().count(), 5);
    for head in ["-l", "--head"] {
        let short = output_within(
            fleet().args([
                "scan", "-q", "-w", "speed>50", "-s", "id,speed", head, "5", "-j", "1", "-n", "-d",
                ",", dir,
            ]),
            60,
        );
        assert!(short.status.success(), "{}", stderr(&short));
        assert_eq!(stdout(&short), stdout(&long), "{head}");
    }
}

#[test]
fn table_format_aligns_columns_under_the_names() {
    let data = gps(1, 2_000);
    let dir = data.path().to_str().unwrap();
    let csv = output_within(
        fleet().args([
            "scan",
            "-q",
            "-w",
            "speed>100",
            "-l",
            "30",
            "-s",
            "id,time,speed",
            dir,
        ]),
        60,
    );
    let table = output_within(
        fleet().args([
            "scan",
            "-q",
            "-w",
            "speed>100",
            "-l",
            "30",
            "-s",
            "id,time,speed",
            "--format",
            "table",
            dir,
        ]),
        60,
    );
    assert!(
        table.status.success(),
        "{:?} {}",
        table.status,
        stderr(&table)
    );
    let csv_text = stdout(&csv);
    let rows: Vec<&str> = csv_text.lines().collect();
    let lines: Vec<String> = stdout(&table).lines().map(str::to_string).collect();
    assert_eq!(rows.len(), 30, "the sample has fast points");
    assert_eq!(
        lines.len(),
        rows.len() + 1,
        "a header line, then one line per record"
    );
    // Headerless data: the names come from fleet.toml.
    assert!(lines[0].starts_with("id") && lines[0].contains("time") && lines[0].contains("speed"));
    // Every column starts at the same place on every line.
    let speed_at = lines[0].find("speed").unwrap();
    for (line, row) in lines[1..].iter().zip(&rows) {
        let fields: Vec<&str> = row.split(',').collect();
        assert!(line.starts_with(fields[0]), "{line}");
        assert!(line.contains(fields[1]), "{line}");
        assert_eq!(line.chars().count(), line.len(), "ASCII data");
        assert!(line.len() >= speed_at, "{line}");
        assert_eq!(line[speed_at..].trim(), fields[2], "{line}");
    }
}

#[test]
fn an_unquoted_where_that_became_a_redirection_is_explained() {
    let data = gps(1, 100);
    let cwd = tempfile::tempdir().unwrap();
    // What `fleet scan --where speed>100 DIR` leaves: the shell created `100` and passed
    // `--where speed`.
    std::fs::write(cwd.path().join("100"), "").unwrap();
    let o = output_within(
        fleet().current_dir(cwd.path()).args([
            "scan",
            "--where",
            "speed",
            data.path().to_str().unwrap(),
        ]),
        60,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("expected an operator"), "{err}");
    assert!(err.contains("100") && err.contains("quote"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
