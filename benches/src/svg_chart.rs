//! The SVG chart of a db_bench run. With peers: one group of horizontal bars per
//! workload, one bar per engine, its length the engine's ops/s as a ratio to ours (ours
//! is 1.0, marked by a dashed line), labelled with the ops/s themselves. One engine
//! alone has no ratio to show: its chart puts each workload's ops/s on a logarithmic
//! axis (workloads differ by orders of magnitude) beside its p50 and p99 latency on
//! another. Written by hand: a few rects and texts need no plotting library.

use std::fmt::Write as _;

use crate::db_report::Row;
use crate::engine::EngineKind;

const LEFT: f64 = 140.0;
const PLOT_WIDTH: f64 = 560.0;
const RIGHT: f64 = 120.0;
const TOP: f64 = 60.0;
const BAR: f64 = 13.0;
const GAP: f64 = 10.0;

fn colour(engine: &str) -> &'static str {
    match EngineKind::parse(engine) {
        Some(EngineKind::Ours) => "#1f77b4",
        Some(EngineKind::RocksDb) => "#d62728",
        Some(EngineKind::Fjall) => "#2ca02c",
        Some(EngineKind::Coordinode) => "#9467bd",
        None => "#7f7f7f",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn human(ops: f64) -> String {
    if ops >= 1e6 {
        format!("{:.2} M/s", ops / 1e6)
    } else if ops >= 1e3 {
        format!("{:.1} k/s", ops / 1e3)
    } else {
        format!("{ops:.1} /s")
    }
}

/// An SVG document of `width` by `height` on white, titled `title`.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    svg
}

/// The chart of `rows` (engines in `engines` order) under `title`.
pub fn chart(rows: &[Row], engines: &[EngineKind], title: &str) -> String {
    if let [engine] = engines {
        return single_engine_chart(rows, *engine, title);
    }
    let mut workloads: Vec<&str> = Vec::new();
    for row in rows {
        if !workloads.contains(&row.workload.as_str()) {
            workloads.push(&row.workload);
        }
    }
    // A bar's length: the engine's ops/s over ours, the inverse of the table's ratio.
    let ratio = |row: &Row| row.ours_over_engine.filter(|r| *r > 0.0).map(|r| 1.0 / r);
    let max_ratio = rows.iter().filter_map(ratio).fold(1.0_f64, f64::max) * 1.1;
    let group = engines.len() as f64 * BAR + GAP;
    let height = TOP + workloads.len() as f64 * group + 40.0;
    let width = LEFT + PLOT_WIDTH + RIGHT;
    let x = |value: f64| LEFT + value / max_ratio * PLOT_WIDTH;
    let mut svg = open_svg(width, height, title);
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="36" fill="#555">ops/s as a ratio to lsm (longer is faster); labels are ops/s</text>"##
    );
    for (idx, engine) in engines.iter().enumerate() {
        let legend_x = LEFT + idx as f64 * 130.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{legend_x}" y="44" width="10" height="10" fill="{}"/><text x="{:.0}" y="53">{}</text>"#,
            colour(engine.name()),
            legend_x + 14.0,
            engine.name()
        );
    }
    let mut tick = 0.0;
    while tick <= max_ratio {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" fill="#555">{tick:.1}</text>"##,
            x(tick),
            height - 30.0,
            height - 16.0
        );
        tick += if max_ratio > 4.0 { 1.0 } else { 0.5 };
    }
    for (group_idx, workload) in workloads.iter().enumerate() {
        let group_top = TOP + group_idx as f64 * group;
        let _ = writeln!(
            svg,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            group_top + engines.len() as f64 * BAR / 2.0 + 4.0,
            escape(workload)
        );
        for (idx, engine) in engines.iter().enumerate() {
            let Some(row) = rows
                .iter()
                .find(|row| row.workload == *workload && row.engine == engine.name())
            else {
                continue;
            };
            let y = group_top + idx as f64 * BAR;
            match (ratio(row), row.ops_per_sec) {
                (Some(value), Some(ops)) => {
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                        x(value) - LEFT,
                        BAR - 2.0,
                        colour(engine.name()),
                        x(value) + 4.0,
                        y + BAR - 3.0,
                        human(ops)
                    );
                }
                _ => {
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" fill="#888">{}: n/a</text>"##,
                        LEFT + 4.0,
                        y + BAR - 3.0,
                        engine.name()
                    );
                }
            }
        }
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#333" stroke-dasharray="4 3"/>"##,
        x(1.0),
        height - 30.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// A logarithmic axis from the decade at or below `low` to the one at or above `high`.
struct LogAxis {
    from_decade: i32,
    to_decade: i32,
    left: f64,
    width: f64,
}

impl LogAxis {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "decades of values clamped to 1e-9 and 1e18 fit an i32"
    )]
    fn new(low: f64, high: f64, left: f64, width: f64) -> Self {
        let decade = |value: f64| value.clamp(1e-9, 1e18).log10();
        let from_decade = decade(low).floor() as i32;
        let to_decade = (decade(high).ceil() as i32).max(from_decade + 1);
        Self {
            from_decade,
            to_decade,
            left,
            width,
        }
    }

    fn x(&self, value: f64) -> f64 {
        let span = f64::from(self.to_decade - self.from_decade);
        let at = (value.max(1e-9).log10() - f64::from(self.from_decade)) / span;
        self.left + at.clamp(0.0, 1.0) * self.width
    }

    /// Grid lines and labels at each decade, `label` naming a decade's value.
    fn ticks(&self, svg: &mut String, top: f64, bottom: f64, label: impl Fn(f64) -> String) {
        for decade in self.from_decade..=self.to_decade {
            let value = 10_f64.powi(decade);
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{bottom:.1}" stroke="#ddd"/><text x="{0:.1}" y="{1:.1}" text-anchor="middle" fill="#555">{2}</text>"##,
                self.x(value),
                bottom + 14.0,
                label(value)
            );
        }
    }
}

/// The chart of one engine's `rows`: ops/s per workload on a log axis, and p50 (dot)
/// to p99 (bar) latency on another.
fn single_engine_chart(rows: &[Row], engine: EngineKind, title: &str) -> String {
    const OPS_WIDTH: f64 = 330.0;
    const LATENCY_LEFT: f64 = LEFT + OPS_WIDTH + 90.0;
    const LATENCY_WIDTH: f64 = 260.0;
    const ROW: f64 = 18.0;
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|row| row.engine == engine.name())
        .collect();
    let ops: Vec<f64> = rows.iter().filter_map(|row| row.ops_per_sec).collect();
    let micros: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.latency_ns)
        .flat_map(|[p50, p99, _]| [p50 / 1000.0, p99 / 1000.0])
        .collect();
    let bounds = |values: &[f64]| {
        values
            .iter()
            .fold((f64::MAX, f64::MIN), |(low, high), value| {
                (low.min(*value), high.max(*value))
            })
    };
    let (ops_low, ops_high) = bounds(&ops);
    let (micros_low, micros_high) = bounds(&micros);
    let ops_axis = LogAxis::new(ops_low.min(ops_high), ops_high, LEFT, OPS_WIDTH);
    let latency_axis = LogAxis::new(
        micros_low.min(micros_high),
        micros_high,
        LATENCY_LEFT,
        LATENCY_WIDTH,
    );
    let height = TOP + rows.len() as f64 * ROW + 50.0;
    let width = LATENCY_LEFT + LATENCY_WIDTH + 60.0;
    let bottom = TOP + rows.len() as f64 * ROW + 4.0;
    let mut svg = open_svg(width, height, title);
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="38" fill="#555">{}: ops/s (log scale; longer is faster)</text><text x="{LATENCY_LEFT}" y="38" fill="#555">latency, us (log scale): p50 dot, p99 bar end</text>"##,
        engine.name()
    );
    ops_axis.ticks(&mut svg, TOP - 6.0, bottom, |value| {
        human(value).replace("/s", "")
    });
    latency_axis.ticks(&mut svg, TOP - 6.0, bottom, |value| {
        if value >= 1.0 {
            format!("{value:.0}")
        } else {
            format!("{value}")
        }
    });
    let colour = colour(engine.name());
    for (idx, row) in rows.iter().enumerate() {
        let y = TOP + idx as f64 * ROW;
        let _ = writeln!(
            svg,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            y + ROW - 6.0,
            escape(&row.workload)
        );
        match row.ops_per_sec {
            Some(ops) => {
                let end = ops_axis.x(ops);
                let _ = writeln!(
                    svg,
                    r#"<rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                    (end - LEFT).max(1.0),
                    ROW - 4.0,
                    end + 4.0,
                    y + ROW - 6.0,
                    human(ops)
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" fill="#888">n/a</text>"##,
                    LEFT + 4.0,
                    y + ROW - 6.0
                );
            }
        }
        if let Some([p50, p99, _]) = row.latency_ns {
            let (from, to) = (latency_axis.x(p50 / 1000.0), latency_axis.x(p99 / 1000.0));
            let middle = y + (ROW - 4.0) / 2.0;
            let _ = writeln!(
                svg,
                r##"<line x1="{from:.1}" y1="{middle:.1}" x2="{to:.1}" y2="{middle:.1}" stroke="{colour}" stroke-width="3"/><circle cx="{from:.1}" cy="{middle:.1}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}" fill="#555">{:.1} / {:.1}</text>"##,
                to + 6.0,
                y + ROW - 6.0,
                p50 / 1000.0,
                p99 / 1000.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(workload: &str, engine: &str, ops: f64, ratio: f64) -> Row {
        Row {
            workload: workload.to_owned(),
            engine: engine.to_owned(),
            reps: 1,
            ops_per_sec: Some(ops),
            ours_over_engine: Some(ratio),
            latency_ns: Some([ops.recip() * 1e9, ops.recip() * 4e9, ops.recip() * 8e9]),
            ..Row::default()
        }
    }

    #[test]
    fn one_engine_gets_log_axes_of_ops_and_latency_instead_of_ratios() {
        let rows = [
            row("fillrandom", "lsm", 500_000.0, 1.0),
            row("readmissing", "lsm", 3_900_000.0, 1.0),
            row("readrandom", "lsm", 240_000.0, 1.0),
        ];
        let svg = chart(&rows, &[EngineKind::Ours], "title");
        assert!(svg.contains("log scale"));
        assert!(!svg.contains("ratio to lsm"));
        assert!(svg.contains("3.90 M/s") && svg.contains("240.0 k/s"));
        // Bars differ in length: the log axis spreads 240k to 3.9M over the plot.
        let widths: Vec<f64> = svg
            .match_indices(r#"<rect x="140" y=""#)
            .filter_map(|(at, _)| {
                let rest = &svg[at..];
                let start = rest.find("width=\"")? + 7;
                let end = start + rest[start..].find('"')?;
                rest[start..end].parse().ok()
            })
            .collect();
        assert_eq!(widths.len(), 3);
        assert!(
            widths[1] > widths[0] && widths[0] > widths[2] * 1.1,
            "{widths:?}"
        );
        assert!(svg.contains("<circle"));
    }

    #[test]
    fn peers_get_ratio_bars() {
        let rows = [
            row("readrandom", "lsm", 240_000.0, 1.0),
            row("readrandom", "rocksdb", 300_000.0, 0.8),
        ];
        let svg = chart(&rows, &[EngineKind::Ours, EngineKind::RocksDb], "title");
        assert!(svg.contains("ratio to lsm"));
        assert!(!svg.contains("log scale"));
    }
}
