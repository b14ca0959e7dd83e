//! `fleet bench --report DIR`: report.json holds what `--json` prints, and report.svg, read
//! back as XML, has one bar per workload, engine and worker count whose height is in
//! proportion to that cell's GB/s, in the order of the JSON results.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fleet, stderr};
use serde_json::Value;

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
fn bars(svg: &str) -> Vec<f64> {
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
    bars.into_iter().map(|(_, _, h)| h).collect()
}

#[test]
fn the_report_draws_one_bar_per_cell_in_proportion_to_its_speed() {
    let cache = tempfile::tempdir().unwrap();
    let report = cache.path().join("report");
    let out = fleet()
        .env("XDG_CACHE_HOME", cache.path())
        .args([
            "bench",
            "--size",
            "2MiB",
            "--runs",
            "1",
            "--workers",
            "1,2",
            "--engines",
            "processes,threads",
            "--workloads",
            "count-speed,agg-id",
            "-q",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    let speeds: Vec<f64> = results
        .iter()
        .map(|r| r["gb_per_s"].as_f64().unwrap())
        .collect();
    let svg = std::fs::read_to_string(report.join("report.svg")).unwrap();
    let heights = bars(&svg);
    assert_eq!(heights.len(), speeds.len(), "{svg}");
    let max = speeds.iter().copied().fold(0.0, f64::max);
    let tallest = heights.iter().copied().fold(0.0, f64::max);
    for (h, v) in heights.iter().zip(&speeds) {
        let want = tallest * v / max;
        assert!(
            (h - want).abs() < 1.5,
            "{h} px for {v} GB/s, expected {want}"
        );
    }
    for name in ["count-speed", "agg-id", "processes x1", "threads x2"] {
        assert!(texts(&svg).iter().any(|t| t == name), "{name} missing");
    }
    // The speed-up over one worker is written above the two-worker bars.
    let speedup = results[1]["speedup_over_1_worker"].as_f64().unwrap();
    let label = format!("({speedup:.1}x)");
    assert!(
        texts(&svg).iter().any(|t| t.ends_with(&label)),
        "{label} missing"
    );
}
