//! `lsm tree`: a picture of a tree. One band per level (level 0 one row per run), each
//! table a box placed by its key range and as tall as its share of the largest table's
//! bytes, so that overlap between rows and the weight of each level show at a glance;
//! blob files below, each split into its live and dead share. SVG, or an HTML page
//! holding the SVG and the figures. Hovering a box names the table.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use lsm::AbstractTree;
use lsm::version::{TableMeta, Version};

use crate::error::{CliError, Result, Status};
use crate::open::TreeArgs;
use crate::text;

/// Arguments of `lsm tree`.
#[derive(Args, Debug)]
pub struct TreeArgsPicture {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Write the picture as SVG to this file.
    #[arg(long, value_name = "FILE", required_unless_present = "html")]
    pub svg: Option<PathBuf>,
    /// Write an HTML page with the picture and the figures to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 30.0;
const BOX_MIN: f64 = 6.0;
const COLORS: [&str; 7] = [
    "#e4572e", "#f3a712", "#a8c686", "#669bbc", "#29335c", "#8e5572", "#4f6d7a",
];

/// Runs `lsm tree`.
pub fn run(args: &TreeArgsPicture) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let version = tree.current_version();
    let title = args.tree.path.display().to_string();
    let svg = svg(&version, &title);
    let write = |path: &PathBuf, content: &str| {
        crate::files::write(path, content.as_bytes()).map_err(|error| {
            CliError::new(
                Status::Failed,
                format!("writing {}: {error}", path.display()),
            )
        })
    };
    if let Some(path) = &args.svg {
        write(path, &svg)?;
    }
    if let Some(path) = &args.html {
        write(path, &html(&version, &title, &svg))?;
    }
    Ok(Status::Ok)
}

/// XML text with `&`, `<`, `>` and quotes escaped.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Maps keys to x positions by rank: every distinct table boundary gets an equal share
/// of the width, a table spans from its smallest key's share to the end of its largest
/// key's, so that neighbouring tables of a run touch, overlapping ones overlap, and a
/// skewed key space stays readable.
struct KeyAxis {
    bounds: Vec<Vec<u8>>,
}

impl KeyAxis {
    fn new(tables: &[&TableMeta]) -> Self {
        let mut bounds: Vec<Vec<u8>> = tables
            .iter()
            .flat_map(|table| {
                [
                    table.key_range.min().to_vec(),
                    table.key_range.max().to_vec(),
                ]
            })
            .collect();
        bounds.sort();
        bounds.dedup();
        Self { bounds }
    }

    fn at(&self, rank: usize) -> f64 {
        let count = self.bounds.len().max(1) as f64;
        LEFT + (rank as f64 / count) * (WIDTH - LEFT - RIGHT)
    }

    /// Where a table from `min` to `max` starts and ends.
    fn span(&self, min: &[u8], max: &[u8]) -> (f64, f64) {
        let start = self.bounds.partition_point(|bound| bound.as_slice() < min);
        let end = self.bounds.partition_point(|bound| bound.as_slice() <= max);
        (self.at(start), self.at(end))
    }
}

/// The SVG picture of `version`.
pub fn svg(version: &Version, title: &str) -> String {
    let tables: Vec<&TableMeta> = version.tables().map(AsRef::as_ref).collect();
    let axis = KeyAxis::new(&tables);
    let largest = tables
        .iter()
        .map(|table| table.size_bytes)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut body = String::new();
    let mut y = 50.0;
    let total_bytes: u64 = tables.iter().map(|table| table.size_bytes).sum();
    for (level_idx, level) in version.levels().iter().enumerate() {
        let color = COLORS[level_idx % COLORS.len()];
        let rows = level.runs().len();
        // An empty level is a thin band.
        let band = if rows == 0 {
            ROW / 2.0
        } else {
            rows as f64 * ROW
        };
        let level_bytes: u64 = level
            .runs()
            .iter()
            .flat_map(|run| run.tables())
            .map(|table| table.size_bytes)
            .sum();
        let _ = writeln!(
            body,
            r##"<rect x="0" y="{y:.1}" width="{WIDTH}" height="{band:.1}" fill="{}"/>"##,
            if level_idx % 2 == 0 {
                "#f6f6f6"
            } else {
                "#ffffff"
            }
        );
        if rows == 0 {
            let _ = writeln!(
                body,
                r##"<text x="8" y="{:.1}" font-size="11" fill="#777">L{level_idx} (empty)</text>"##,
                y + 11.0
            );
        } else {
            row_label(&mut body, y, &format!("L{level_idx}"), level_bytes);
        }
        for (run_idx, run) in level.runs().iter().enumerate() {
            let row_top = y + run_idx as f64 * ROW;
            for table in run.tables() {
                let (x0, x1) = axis.span(table.key_range.min(), table.key_range.max());
                let width = (x1 - x0 - 1.0).max(2.0);
                let height =
                    BOX_MIN + (ROW - BOX_MIN - 6.0) * (table.size_bytes as f64 / largest).sqrt();
                let top = row_top + (ROW - height) / 2.0;
                let tip = format!(
                    "table {} (L{level_idx}{}): keys {} ..= {}, seqnos {}..={}, {}, {} entries, {} tombstones",
                    table.id,
                    if level.runs().len() > 1 {
                        format!(", run {run_idx}")
                    } else {
                        String::new()
                    },
                    text::escaped(table.key_range.min()),
                    text::escaped(table.key_range.max()),
                    table.seqno_min,
                    table.seqno_max,
                    text::size(table.size_bytes),
                    table.entry_count,
                    table.tombstone_count
                );
                let _ = writeln!(
                    body,
                    r##"<rect x="{x0:.1}" y="{top:.1}" width="{width:.1}" height="{height:.1}" fill="{color}" fill-opacity="0.75" stroke="#222" stroke-width="0.6"><title>{}</title></rect>"##,
                    xml(&tip)
                );
            }
        }
        y += band;
    }
    // Blob files: one bar, each file a segment as wide as its bytes, live then dead.
    let blob_files = version.blob_files();
    let blob_bytes: u64 = blob_files.values().map(|file| file.file_len).sum();
    if blob_bytes > 0 {
        y += 10.0;
        row_label(&mut body, y, "blobs", blob_bytes);
        let scale = (WIDTH - LEFT - RIGHT) / blob_bytes as f64;
        let mut x = LEFT;
        for file in blob_files.values() {
            let width = file.file_len as f64 * scale;
            let dead = width * file.dead_ratio().clamp(0.0, 1.0);
            let tip = format!(
                "blob file {}: {}, {} values, {} dead ({:.0}%)",
                file.id,
                text::size(file.file_len),
                file.frame_count,
                file.dead_frames,
                file.dead_ratio() * 100.0
            );
            let _ = writeln!(
                body,
                r##"<g><title>{}</title><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="18" fill="#3c9d5d"/><rect x="{:.1}" y="{:.1}" width="{dead:.1}" height="18" fill="#9a9a9a"/><rect x="{x:.1}" y="{:.1}" width="{width:.1}" height="18" fill="none" stroke="#222" stroke-width="0.6"/></g>"##,
                xml(&tip),
                y + 6.0,
                (width - dead).max(0.0),
                x + width - dead,
                y + 6.0,
                y + 6.0
            );
            x += width;
        }
        y += ROW;
    }
    let height = y + 30.0;
    let legend = format!(
        "{} tables, {}; {} blob files, {} ({} stale). Boxes: key range across, bytes up (square root).",
        tables.len(),
        text::size(total_bytes),
        blob_files.len(),
        text::size(blob_bytes),
        text::size(version.stale_blob_bytes())
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif">"##
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="8" y="20" font-size="15" font-weight="bold">{}</text><text x="8" y="38" font-size="11" fill="#444">{}</text>"##,
        xml(title),
        xml(&legend)
    );
    out.push_str(&body);
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="{:.0}" font-size="10" fill="#555">smallest key</text><text x="{:.0}" y="{:.0}" font-size="10" fill="#555" text-anchor="end">largest key</text>"##,
        height - 10.0,
        WIDTH - RIGHT,
        height - 10.0
    );
    out.push_str("</svg>\n");
    out
}

/// An HTML page: the picture and a table of the levels.
/// The label of a row at `y`: its name in bold over its size.
fn row_label(body: &mut String, y: f64, name: &str, bytes: u64) {
    let _ = writeln!(
        body,
        r##"<text x="8" y="{:.1}" font-size="13" font-weight="bold">{}</text><text x="8" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
        y + 14.0,
        xml(name),
        y + 26.0,
        xml(&text::size(bytes))
    );
}

fn html(version: &Version, title: &str, svg: &str) -> String {
    let mut rows = String::new();
    for (level_idx, level) in version.levels().iter().enumerate() {
        let tables: Vec<&TableMeta> = level
            .runs()
            .iter()
            .flat_map(|run| run.tables())
            .map(AsRef::as_ref)
            .collect();
        let bytes: u64 = tables.iter().map(|table| table.size_bytes).sum();
        let entries: u64 = tables.iter().map(|table| table.entry_count).sum();
        let _ = writeln!(
            rows,
            "<tr><td>L{level_idx}</td><td>{}</td><td>{}</td><td>{}</td><td>{entries}</td></tr>",
            level.runs().len(),
            tables.len(),
            xml(&text::size(bytes))
        );
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}}</style></head>\n<body><h1>{t}</h1>\n{svg}\n<table><tr><th>level</th><th>runs</th><th>tables</th><th>size</th><th>entries</th></tr>\n{rows}</table></body></html>\n",
        t = xml(title)
    )
}
