//! `lsm verify`: a whole tree (every block, file digest and the manifest) or one file.

use std::path::PathBuf;

use clap::Args;
use lsm::AbstractTree;
use lsm::verify::{BlockVerifyReport, FileKind, VerifyOptions};

use crate::error::{Result, Status};
use crate::open::{KeyArgs, RouteArgs, TreeArgs};
use crate::progress;
use crate::text;

/// Arguments of `lsm verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A tree's directory, or one table or blob file (plaintext) of a tree.
    pub path: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub routes: RouteArgs,
    /// Files checked at once.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `lsm verify`: exits [`Status::Negative`] when damage is found.
pub fn run(args: &VerifyArgs) -> Result<Status> {
    let report = if args.path.is_file() {
        lsm::inspect::verify_file(
            &lsm::StdFs,
            &args.path,
            &lsm::inspect::InspectOptions::default(),
        )?
    } else {
        let tree = crate::open::open(&TreeArgs {
            path: args.path.clone(),
            key: args.key.clone(),
            routes: args.routes.clone(),
        })?;
        let bar = progress::bytes("verifying");
        let report = tree.verify_integrity_with_progress(
            &VerifyOptions::default().parallelism(args.threads),
            &|done| {
                bar.set_length(done.bytes_total);
                bar.set_position(done.bytes_done);
            },
        );
        bar.finish_and_clear();
        report
    };
    if args.json {
        println!("{}", json(&report));
    } else {
        print!("{}", text_report(&report));
    }
    Ok(if report.is_ok() {
        Status::Ok
    } else {
        Status::Negative
    })
}

fn kind(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Table => "table",
        FileKind::BlobFile => "blob file",
        FileKind::Manifest => "manifest",
    }
}

fn text_report(report: &BlockVerifyReport) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let offset = error
            .offset
            .map(|offset| format!(" at offset {offset}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "DAMAGED {} {}{offset}: {}\n",
            kind(error.kind),
            error.path.display(),
            error.what
        ));
    }
    let verdict = if report.is_ok() {
        "no damage".to_owned()
    } else {
        format!("{} damaged", report.errors.len())
    };
    out.push_str(&format!(
        "checked {} files, {} blocks, {}: {verdict}\n",
        report.files_checked,
        report.blocks_checked,
        text::size(report.bytes_checked)
    ));
    out
}

fn json(report: &BlockVerifyReport) -> serde_json::Value {
    let errors: Vec<serde_json::Value> = report
        .errors
        .iter()
        .map(|error| {
            serde_json::json!({
                "path": error.path.display().to_string(),
                "kind": kind(error.kind),
                "offset": error.offset,
                "what": error.what,
            })
        })
        .collect();
    serde_json::json!({
        "ok": report.is_ok(),
        "files_checked": report.files_checked,
        "blocks_checked": report.blocks_checked,
        "bytes_checked": report.bytes_checked,
        "errors": errors,
    })
}
