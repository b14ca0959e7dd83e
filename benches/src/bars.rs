//! Grouped bar charts as SVG files, drawn with plotters' SVG backend: `fleet bench --report`
//! (GB/s per workload, one bar per engine and worker count) and `benches/peers.sh` (each
//! tool's time relative to fleet's, on a log scale). One group per workload, one colour per
//! series (engine and workers, or tool), a legend, and each bar's figure written above it.
//!
//! Bars are drawn as rectangles from the axis to the value, in group order and series order
//! within a group, so a reader of the SVG (the tests) finds them in the order of the data.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::path::Path;

/// One bar: its series (colour and legend), value, and the text written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub series: String,
    pub value: f64,
    pub label: String,
}

/// Bars side by side under one name (a workload).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub name: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    /// A log scale for values spanning orders of magnitude (times relative to fleet's).
    pub log_scale: bool,
    pub groups: Vec<BarGroup>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("nothing to draw: no bar has a positive value")]
    Empty,
    #[error("cannot draw {path}: {message}")]
    Draw { path: String, message: String },
}

/// Pixel size of the picture.
const SIZE: (u32, u32) = (960, 540);

impl BarChart {
    /// The series in order of first appearance (one colour each).
    pub fn series(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for bar in self.groups.iter().flat_map(|g| &g.bars) {
            if !names.contains(&bar.series) {
                names.push(bar.series.clone());
            }
        }
        names
    }

    /// Writes the chart to `path` as SVG.
    pub fn write_svg(&self, path: &Path) -> Result<(), ChartError> {
        let values = self
            .groups
            .iter()
            .flat_map(|g| &g.bars)
            .map(|b| b.value)
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if hi <= 0.0 {
            return Err(ChartError::Empty);
        }
        let draw_error = |e: &dyn std::fmt::Display| ChartError::Draw {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        if self.log_scale {
            // From a power of ten below the smallest value, so every bar has a length.
            let bottom = 10f64.powf(lo.log10().floor() - 0.3);
            let top = 10f64.powf(hi.log10() + 0.3);
            self.draw(&root, (bottom..top).log_scale(), bottom)
                .map_err(|e| draw_error(&e))?;
        } else {
            self.draw(&root, 0.0..hi * 1.15, 0.0)
                .map_err(|e| draw_error(&e))?;
        }
        root.present().map_err(|e| draw_error(&e))?;
        Ok(())
    }

    fn draw<'a, Y>(
        &self,
        root: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
        y_range: Y,
        baseline: f64,
    ) -> Result<(), DrawingAreaErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        root.fill(&WHITE)?;
        let groups = self.groups.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..groups, y_range)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label.as_str())
            .draw()?;
        let series = self.series();
        for (s, name) in series.iter().enumerate() {
            let colour = Palette99::pick(s).to_rgba();
            let mut rects = Vec::new();
            for (g, group) in self.groups.iter().enumerate() {
                let n = group.bars.len().max(1) as f64;
                let width = 0.8 / n;
                for (i, bar) in group.bars.iter().enumerate() {
                    if &bar.series != name || !(bar.value.is_finite() && bar.value > 0.0) {
                        continue;
                    }
                    let x0 = g as f64 + 0.1 + i as f64 * width;
                    let x1 = x0 + width * 0.9;
                    rects.push(Rectangle::new(
                        [(x0, baseline), (x1, bar.value)],
                        colour.filled(),
                    ));
                }
            }
            chart
                .draw_series(rects)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        // Figures above the bars and group names under the axis, placed in pixels so that
        // text outside the plotting area is not cut off.
        let small = ("sans-serif", 11).into_font().color(&BLACK);
        let name_style = ("sans-serif", 15).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        let label_style = small.pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ));
        for (g, group) in self.groups.iter().enumerate() {
            let n = group.bars.len().max(1) as f64;
            let width = 0.8 / n;
            for (i, bar) in group.bars.iter().enumerate() {
                if !(bar.value.is_finite() && bar.value > 0.0) {
                    continue;
                }
                let x = g as f64 + 0.1 + (i as f64 + 0.45) * width;
                let (px, py) = chart.backend_coord(&(x, bar.value));
                root.draw(&Text::new(
                    bar.label.clone(),
                    (px, py - 2),
                    label_style.clone(),
                ))?;
            }
            let (px, py) = chart.backend_coord(&(g as f64 + 0.5, baseline));
            root.draw(&Text::new(
                group.name.clone(),
                (px, py + 8),
                name_style.clone(),
            ))?;
        }
        Ok(())
    }
}
