//! Terminal charts, as drawn by the binary: `fleet agg --chart` at fixed widths (negative
//! values, --sort/--top, COLUMNS when stdout is not a terminal), plain output unchanged
//! without it, and the sparkline of a `fleet stats` histogram. The expected text is written
//! out by hand from the layout rules in cli/src/chart.rs, not taken from the program.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fleet, stderr, stdout};

fn data() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "k,v\na,1\nb,2\na,3\nc,-2\nb,0\n").unwrap();
    dir
}

fn agg(dir: &std::path::Path, args: &[&str], columns: Option<&str>) -> String {
    let mut cmd = fleet();
    cmd.args(["agg", "--group-by", "k", "--agg", "sum(v)", "-q"])
        .args(args)
        .arg(dir);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn negative_values_grow_left_of_the_axis() {
    let dir = data();
    // Width 20: label 1 + space + area + space + value 2; the area (15) less the axis is 14
    // cells, split 2:4 between the largest negative and positive values: 5 left, 9 right.
    // a=4 fills the right side, b=2 is 4.5 cells (4 full and a half block), c=-2 fills the left.
    let want = "sum(v)\n\
                a      │█████████  4\n\
                b      │████▌      2\n\
                c █████│          -2\n";
    assert_eq!(agg(dir.path(), &["--chart", "--width", "20"], None), want);
    // Not a terminal: COLUMNS gives the width.
    assert_eq!(agg(dir.path(), &["--chart"], Some("20")), want);
}

#[test]
fn sort_and_top_choose_the_bars() {
    let dir = data();
    // Width 12: label 1 + space + area 8 + space + value 1; b=2 is half of a=4.
    let want = "sum(v)\n\
                a ████████ 4\n\
                b ████     2\n";
    assert_eq!(
        agg(
            dir.path(),
            &["--chart", "--width", "12", "--sort", "-sum(v)", "--top", "2"],
            None
        ),
        want
    );
}

#[test]
fn eighths_draw_the_end_of_a_bar() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "k,v\nx,8\ny,3\nz,1\n").unwrap();
    // Width 8: area 8-1-1-2 = 4 cells = 32 eighths; y = 3/8 of it = 12 eighths (1 full
    // cell and a half block), z = 4 eighths (a half block).
    let want = "sum(v)\n\
                x ████ 8\n\
                y █▌   3\n\
                z ▌    1\n";
    assert_eq!(agg(dir.path(), &["--chart", "--width", "8"], None), want);
}

#[test]
fn without_chart_the_output_is_the_plain_table() {
    let dir = data();
    assert_eq!(agg(dir.path(), &[], None), "k,sum(v)\na,4\nb,2\nc,-2\n");
}

#[test]
fn stats_histogram_is_a_sparkline() {
    let dir = tempfile::tempdir().unwrap();
    // 0 once, 10 four times, 20 eight times: 20 bins of width 1 from 0 to 20 (20 falls in the
    // last): levels 1/8, 4/8 and 8/8 of the tallest, empty bins blank.
    let mut text = String::from("v\n0\n");
    text.push_str(&"10\n".repeat(4));
    text.push_str(&"20\n".repeat(8));
    std::fs::write(dir.path().join("d.csv"), text).unwrap();
    let o = fleet()
        .args(["stats", "--format", "table", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let hist = out.lines().find(|l| l.starts_with("histogram")).unwrap();
    assert!(hist.ends_with("▁         ▄        █"), "{hist:?} in\n{out}");
}
