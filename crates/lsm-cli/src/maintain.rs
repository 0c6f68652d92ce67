//! `lsm repair`, `lsm compact` and `lsm checkpoint`: the commands that change a tree.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use lsm::AbstractTree;
use lsm::compaction::{CompactionAction, Leveled};

use crate::error::{Result, Status};
use crate::open::TreeArgs;
use crate::{progress, text};

/// Arguments of `lsm repair`.
#[derive(Args, Debug)]
pub struct RepairArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lsm compact`.
#[derive(Args, Debug)]
pub struct CompactArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Merge everything into the last level (otherwise: leveled compaction steps until
    /// the tree is within its targets).
    #[arg(long)]
    pub major: bool,
    /// Target size of the tables written, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub table_size: u64,
}

/// Arguments of `lsm checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Where the checkpoint goes (must not exist).
    pub target: PathBuf,
}

/// Runs `lsm repair`.
pub fn repair(args: &RepairArgs) -> Result<Status> {
    crate::open::check_tree_dir(&args.tree.path, false)?;
    let spinner = progress::spinner("repairing");
    let report = crate::open::config(&args.tree)?.repair();
    spinner.finish_and_clear();
    let report = report?;
    if args.json {
        let quarantined: Vec<serde_json::Value> = report
            .unreadable_files
            .iter()
            .map(|(path, why)| serde_json::json!({"path": path.display().to_string(), "why": why}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "recovered": report.recovered,
                "blob_files_recovered": report.blob_files_recovered,
                "quarantined": quarantined,
                "obsolete_tables": report.obsolete_tables,
                "uninstalled_tables": report.uninstalled_tables,
                "missing_blob_files": report.missing_blob_files,
                "method": report.method,
                "last_seqno": report.last_seqno,
                "warnings": report.warnings,
            })
        );
        return Ok(Status::Ok);
    }
    println!(
        "rebuilt the manifest: {} tables and {} blob files ({}), last seqno {}",
        report.recovered, report.blob_files_recovered, report.method, report.last_seqno
    );
    for (path, why) in &report.unreadable_files {
        println!("quarantined {}: {why}", path.display());
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    Ok(Status::Ok)
}

/// Runs `lsm compact`.
pub fn compact(args: &CompactArgs) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let before = tree.disk_space();
    // No reader holds a snapshot in this process: versions no read can see go.
    let watermark = tree.get_highest_seqno().map_or(0, |seqno| seqno + 1);
    let spinner = progress::spinner("compacting");
    let mut steps = 0_usize;
    let outcome = if args.major {
        steps += 1;
        tree.major_compact(args.table_size, watermark).map(|_| ())
    } else {
        let strategy = Arc::new(Leveled::default().with_table_target_size(args.table_size));
        loop {
            match tree.compact(strategy.clone(), watermark) {
                Ok(result) if result.action == CompactionAction::Nothing => break Ok(()),
                Ok(_) => steps += 1,
                Err(error) => break Err(error),
            }
        }
    };
    spinner.finish_and_clear();
    outcome?;
    println!(
        "{steps} compaction steps; {} tables, {} on disk (was {})",
        tree.table_count(),
        text::size(tree.disk_space()),
        text::size(before)
    );
    Ok(Status::Ok)
}

/// Runs `lsm checkpoint`.
pub fn checkpoint(args: &CheckpointArgs) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let info = tree.create_checkpoint(&args.target)?;
    println!(
        "checkpoint at {}: {} tables, {} blob files, {}, seqno {}",
        args.target.display(),
        info.sst_files,
        info.blob_files,
        text::size(info.total_bytes),
        info.seqno
    );
    Ok(Status::Ok)
}
