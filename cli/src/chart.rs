//! Charts drawn as text: horizontal bar charts (`fleet agg --chart`) and sparklines (the
//! histograms of `fleet stats`), with unicode block characters so a bar's end is drawn to an
//! eighth of a character cell.
//!
//! A bar chart is one line per row: the label padded to the widest label, the bar area, then
//! the value as printed elsewhere, right-aligned. The bar area takes what the width leaves.
//! With negative values the area is split at an axis (`│`) in proportion to the largest
//! negative and positive magnitudes; negative bars grow leftwards from it. Block characters
//! that fill part of a cell are left-aligned (`▏` .. `▉`), so a negative bar's end is drawn
//! to half a cell (`▐`) instead.

use fleet_engine::agg::{AggPlan, AggRow};
use std::io::IsTerminal;
use unicode_width::UnicodeWidthStr;

/// Parts of a cell filled from the left, in eighths (index 0: empty).
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const FULL: char = '█';
/// The sparkline levels, lowest first.
// Only `fleet stats` draws sparklines, and it needs the `columnar` feature.
#[cfg_attr(not(feature = "columnar"), allow(dead_code))]
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The width when none is given and stdout is not a terminal (and COLUMNS is not set).
pub const DEFAULT_WIDTH: usize = 80;

/// One row of a bar chart: its label, its value, and the value as printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

/// The width to draw to: `--width`, else the terminal's, else `COLUMNS`, else 80.
pub fn chart_width(flag: Option<usize>) -> usize {
    if let Some(w) = flag {
        return w;
    }
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(&stdout) {
            return usize::from(w);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w| w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

/// Draws `bars` into lines of at most `width` columns (wider only when the labels and values
/// alone do not fit: the bar area keeps at least one cell). Values that are not finite get
/// no bar.
pub fn bar_chart(bars: &[Bar], width: usize) -> String {
    let label_w = bars.iter().map(|b| b.label.width()).max().unwrap_or(0);
    let text_w = bars.iter().map(|b| b.text.width()).max().unwrap_or(0);
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let pos = bars.iter().map(|b| finite(b.value)).fold(0.0, f64::max);
    let neg = bars.iter().map(|b| -finite(b.value)).fold(0.0, f64::max);
    // label, space, area, space, value.
    let mut area = width.saturating_sub(label_w + text_w + 2).max(1);
    let axis = neg > 0.0;
    if axis {
        area = area.saturating_sub(1).max(2);
    }
    let (neg_cells, pos_cells) = if axis {
        let left = ((area as f64) * neg / (neg + pos)).round() as usize;
        let left = left.clamp(1, area - usize::from(pos > 0.0));
        (left, area - left)
    } else {
        (0, area)
    };
    let mut out = String::new();
    for b in bars {
        let v = finite(b.value);
        out.push_str(&b.label);
        pad(&mut out, label_w - b.label.width());
        out.push(' ');
        if axis {
            let cells = if v < 0.0 {
                (-v / neg * neg_cells as f64 * 2.0).round() as usize
            } else {
                0
            };
            // `cells` counts halves of a cell.
            let (full, half) = (cells / 2, cells % 2);
            pad(&mut out, neg_cells - full - half);
            if half == 1 {
                out.push('▐');
            }
            (0..full).for_each(|_| out.push(FULL));
            out.push('│');
        }
        let eighths = if v > 0.0 && pos > 0.0 {
            (v / pos * pos_cells as f64 * 8.0).round() as usize
        } else {
            0
        };
        let (full, part) = (eighths / 8, eighths % 8);
        (0..full).for_each(|_| out.push(FULL));
        let mut used = full;
        if part > 0 {
            out.push(EIGHTHS[part]);
            used += 1;
        }
        pad(&mut out, pos_cells - used);
        out.push(' ');
        pad(&mut out, text_w - b.text.width());
        out.push_str(&b.text);
        out.push('\n');
    }
    out
}

/// One character per value, `▁` (the smallest non-zero level) to `█` (the largest value); a
/// zero is a space, so an empty bin is told from a small one.
#[cfg_attr(not(feature = "columnar"), allow(dead_code))]
pub fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 || max == 0 {
                ' '
            } else {
                // Levels 0..=7 in proportion, any non-zero value at least level 0.
                let level = (u128::from(v) * 8).div_ceil(u128::from(max)).clamp(1, 8) - 1;
                LEVELS[level as usize]
            }
        })
        .collect()
}

/// `fleet agg --chart`: the first aggregate of each row, labelled by the row's keys (joined
/// by `,`; `(all)` without group keys). A value that is not a number (null, or a min/max of
/// text) gets no bar but keeps its printed text.
pub fn agg_chart(rows: &[AggRow], plan: &AggPlan, width: usize) -> String {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|row| {
            let label = if plan.keys.is_empty() {
                "(all)".to_string()
            } else {
                row.keys
                    .iter()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let text = row
                .values
                .first()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            let value = text.parse::<f64>().unwrap_or(f64::NAN);
            Bar { label, value, text }
        })
        .collect();
    let mut out = String::new();
    if let Some(spec) = plan.specs.first() {
        out.push_str(&spec.text);
        out.push('\n');
    }
    out.push_str(&bar_chart(&bars, width));
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            text: value.to_string(),
        }
    }

    #[test]
    fn the_longest_bar_fills_the_area() {
        let text = bar_chart(&[bar("a", 4.0), bar("bb", 2.0)], 12);
        // label 2, space, area 12-2-1-2 = 7, space, value 1.
        assert_eq!(text, "a  ███████ 4\nbb ███▌    2\n");
    }

    #[test]
    fn sparkline_levels() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
