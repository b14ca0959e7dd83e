//! `peers-chart RATIOS.tsv OUT.svg`: the bar chart of benches/peers.sh's table. Each line of
//! RATIOS.tsv is `WORKLOAD<TAB>TOOL<TAB>MEDIAN_SECONDS<TAB>TIME_OVER_FLEET` (what
//! `peers/compare.py ratios` prints); the chart has one group per workload and one bar per
//! tool, its height the tool's time over fleet's on a log scale (fleet's own bar is 1).

use fleet_benches::bars::{Bar, BarChart, BarGroup};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: peers-chart RATIOS.tsv OUT.svg");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("peers-chart: cannot read {input}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut groups: Vec<BarGroup> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let cells: Vec<&str> = line.split('\t').collect();
        let (Some(workload), Some(tool), Some(ratio)) = (
            cells.first(),
            cells.get(1),
            cells.get(3).and_then(|r| r.trim().parse::<f64>().ok()),
        ) else {
            eprintln!(
                "peers-chart: {input}:{}: expected WORKLOAD, TOOL, SECONDS, RATIO",
                n + 1
            );
            return ExitCode::from(2);
        };
        let bar = Bar {
            series: tool.to_string(),
            value: ratio,
            label: if ratio >= 10.0 {
                format!("{ratio:.0}x")
            } else {
                format!("{ratio:.1}x")
            },
        };
        match groups.iter_mut().find(|g| g.name == *workload) {
            Some(g) => g.bars.push(bar),
            None => groups.push(BarGroup {
                name: workload.to_string(),
                bars: vec![bar],
            }),
        }
    }
    let chart = BarChart {
        title: "Time relative to fleet (lower is faster; log scale)".into(),
        y_label: "time / fleet's time".into(),
        log_scale: true,
        groups,
    };
    match chart.write_svg(std::path::Path::new(output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peers-chart: {e}");
            ExitCode::from(2)
        }
    }
}
