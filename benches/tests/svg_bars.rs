//! The SVG bar charts read back as XML: `peers-chart` (benches/peers.sh's picture) on a
//! table written here. On its log scale each bar's length must be an affine function of the
//! logarithm of its value, in the order of the table, and each value's label must be there.
#![allow(clippy::unwrap_used)]

/// The texts of an SVG's `<text>` elements, trimmed.
fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// The data rectangles of a plotters SVG, left to right: filled, and wider than a legend's
/// 10-pixel swatch (the background and the legend box are white or unfilled).
fn bars(svg: &str) -> Vec<(f64, f64)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let mut bars: Vec<(f64, f64, f64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter(|n| {
            let fill = n.attribute("fill").unwrap_or("none");
            !fill.eq_ignore_ascii_case("#ffffff") && fill != "none"
        })
        .map(|n| {
            let f = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
            (f("x"), f("width"), f("height"))
        })
        .filter(|&(_, w, _)| w > 12.0)
        .collect();
    bars.sort_by(|a, b| a.0.total_cmp(&b.0));
    bars.into_iter().map(|(x, _, h)| (x, h)).collect()
}

#[test]
fn peer_bars_follow_the_ratios_on_a_log_scale() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("ratios.tsv");
    let rows = [
        ("count", "fleet", 1.0),
        ("count", "duckdb", 3.2),
        ("count", "polars", 12.0),
        ("count", "classic", 150.0),
        ("stats", "fleet", 1.0),
        ("stats", "duckdb", 4.0),
        ("stats", "polars", 2.5),
    ];
    let text: String = rows
        .iter()
        .map(|(w, t, r)| format!("{w}\t{t}\t{:.3}\t{r}\n", r * 0.5))
        .collect();
    std::fs::write(&table, text).unwrap();
    let svg_path = dir.path().join("peers.svg");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peers-chart"))
        .arg(&table)
        .arg(&svg_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let bars = bars(&svg);
    assert_eq!(bars.len(), rows.len(), "{svg}");
    // length = a * ln(value) + b, with a and b from the shortest and the longest bar.
    let ln = |v: f64| v.ln();
    let (h1, h150) = (bars[0].1, bars[3].1);
    let a = (h150 - h1) / (ln(150.0) - ln(1.0));
    let b = h1;
    assert!(a > 0.0);
    for ((_, h), (w, t, r)) in bars.iter().zip(&rows) {
        let want = a * ln(*r) + b;
        assert!((h - want).abs() < 1.5, "{w} {t}: {h} px, expected {want}");
    }
    for label in ["3.2x", "12x", "150x", "2.5x"] {
        assert!(texts(&svg).iter().any(|t| t == label), "{label} missing");
    }
    for name in ["count", "stats", "duckdb", "polars", "classic"] {
        assert!(texts(&svg).iter().any(|t| t == name), "{name} missing");
    }
}

#[test]
fn a_bad_table_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("ratios.tsv");
    std::fs::write(&table, "count\tfleet\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peers-chart"))
        .arg(&table)
        .arg(dir.path().join("x.svg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ratios.tsv:1"), "{err}");
}
