//! The SVG chart of a db_bench run: one group of horizontal bars per workload, one bar
//! per engine, its length the engine's ops/s as a ratio to ours (ours is 1.0, marked by
//! a dashed line), labelled with the ops/s themselves. Written by hand: a few rects and
//! texts need no plotting library.

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

/// The chart of `rows` (engines in `engines` order) under `title`.
pub fn chart(rows: &[Row], engines: &[EngineKind], title: &str) -> String {
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
