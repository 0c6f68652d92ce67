//! `lsm stats`: the shape of a tree: levels, runs, tables, sizes, blob files and their
//! garbage, and the compaction debt.

use clap::Args;
use lsm::AbstractTree;
use lsm::compaction::Leveled;

use crate::error::{Result, Status};
use crate::open::TreeArgs;
use crate::text;

/// Arguments of `lsm stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The figures of one level.
struct LevelFigures {
    level: usize,
    runs: usize,
    tables: usize,
    bytes: u64,
    entries: u64,
    tombstones: u64,
}

/// Runs `lsm stats`.
pub fn run(args: &StatsArgs) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let version = tree.current_version();
    let levels: Vec<LevelFigures> = version
        .levels()
        .iter()
        .enumerate()
        .map(|(level, runs)| {
            let tables = runs.runs().iter().flat_map(|run| run.tables());
            let mut figures = LevelFigures {
                level,
                runs: runs.runs().len(),
                tables: 0,
                bytes: 0,
                entries: 0,
                tombstones: 0,
            };
            for table in tables {
                figures.tables += 1;
                figures.bytes += table.size_bytes;
                figures.entries += table.entry_count;
                figures.tombstones += table.tombstone_count;
            }
            figures
        })
        .collect();
    let blob_files = version.blob_files();
    let blob_bytes: u64 = blob_files.values().map(|file| file.file_len).sum();
    let blob_frames: u64 = blob_files.values().map(|file| file.frame_count).sum();
    let dead_frames: u64 = blob_files.values().map(|file| file.dead_frames).sum();
    let debt = tree.compaction_debt(&Leveled::default());
    let seqno = tree.get_highest_persisted_seqno();
    if args.json {
        let levels: Vec<serde_json::Value> = levels
            .iter()
            .map(|level| {
                serde_json::json!({
                    "level": level.level,
                    "runs": level.runs,
                    "tables": level.tables,
                    "bytes": level.bytes,
                    "entries": level.entries,
                    "tombstones": level.tombstones,
                })
            })
            .collect();
        let files: Vec<serde_json::Value> = blob_files
            .values()
            .map(|file| {
                serde_json::json!({
                    "id": file.id,
                    "bytes": file.file_len,
                    "frames": file.frame_count,
                    "dead_frames": file.dead_frames,
                    "dead_ratio": file.dead_ratio(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "levels": levels,
                "tables": tree.table_count(),
                "table_bytes": levels.iter().filter_map(|level| level["bytes"].as_u64()).sum::<u64>(),
                "blob_files": files,
                "blob_bytes": blob_bytes,
                "stale_blob_bytes": tree.stale_blob_bytes(),
                "compaction_debt_bytes": debt,
                "highest_seqno": seqno,
            })
        );
        return Ok(Status::Ok);
    }
    let rows: Vec<Vec<String>> = levels
        .iter()
        .map(|level| {
            vec![
                format!("L{}", level.level),
                level.runs.to_string(),
                level.tables.to_string(),
                text::size(level.bytes),
                level.entries.to_string(),
                level.tombstones.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        text::table(
            &["level", "runs", "tables", "size", "entries", "tombstones"],
            &rows
        )
    );
    let table_bytes: u64 = levels.iter().map(|level| level.bytes).sum();
    println!(
        "\ntables: {} ({}); blob files: {} ({}, {} of {} values dead, {} stale)",
        tree.table_count(),
        text::size(table_bytes),
        blob_files.len(),
        text::size(blob_bytes),
        dead_frames,
        blob_frames,
        text::size(tree.stale_blob_bytes())
    );
    println!(
        "compaction debt (leveled): {}; highest seqno on disk: {}",
        text::size(debt),
        seqno.map_or_else(|| "-".to_owned(), |seqno| seqno.to_string())
    );
    Ok(Status::Ok)
}
