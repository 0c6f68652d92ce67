//! `lsm`: verify, repair, read, dump, describe, compact, checkpoint and draw a tree.
//!
//! ```text
//! lsm verify PATH              a whole tree, or one table or blob file
//! lsm repair PATH              rebuild a lost or damaged manifest
//! lsm get PATH KEY             one value
//! lsm scan PATH                a range, a prefix, reversed, at a seqno
//! lsm dump FILE                one table or blob file
//! lsm stats PATH               levels, tables, blob files, compaction debt
//! lsm compact PATH             leveled steps until within targets, or --major
//! lsm checkpoint PATH TARGET   a consistent copy
//! lsm tree PATH --svg FILE     a picture of the tree (or --html)
//! ```
//!
//! An encrypted tree's key comes from `--key-file FILE` or `--key-env VAR`, never from
//! an argument. Exit status: 0 done; 1 a negative answer (damage found, key not found);
//! 2 a wrong command line; 3 no tree or file at the path; 4 the key (missing, wrong,
//! unreadable); 5 the tree is open elsewhere; 6 any other failure. Progress goes to
//! standard error, and only when it is a terminal.

mod dump;
mod error;
mod files;
mod maintain;
mod open;
mod picture;
mod progress;
mod read;
mod stats;
mod text;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command line of `lsm`.
#[derive(Parser, Debug)]
#[command(
    name = "lsm",
    about = "Verify, repair, read, dump, describe, compact and draw an lsm tree",
    after_help = "Exit status: 0 done; 1 damage found or key not found; 2 usage; 3 no tree or file; 4 key; 5 locked; 6 other failure.\nAn encrypted tree's key: --key-file FILE or --key-env VAR (32 raw bytes or 64 hex digits)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check every block, frame and file digest of a tree and its manifest, or one file.
    Verify(verify::VerifyArgs),
    /// Rebuild a tree's manifest from its tables and blob files.
    Repair(maintain::RepairArgs),
    /// Print one value.
    Get(read::GetArgs),
    /// Print the pairs of a range or prefix.
    Scan(read::ScanArgs),
    /// Print one table's or blob file's contents.
    Dump(dump::DumpArgs),
    /// Print the levels, tables and blob files of a tree.
    Stats(stats::StatsArgs),
    /// Compact a tree.
    Compact(maintain::CompactArgs),
    /// Write a checkpoint of a tree.
    Checkpoint(maintain::CheckpointArgs),
    /// Draw a tree as SVG or HTML.
    Tree(picture::TreeArgsPicture),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Repair(args) => maintain::repair(args),
        Command::Get(args) => read::get(args),
        Command::Scan(args) => read::scan(args),
        Command::Dump(args) => dump::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Compact(args) => maintain::compact(args),
        Command::Checkpoint(args) => maintain::checkpoint(args),
        Command::Tree(args) => picture::run(args),
    };
    let status = match outcome {
        Ok(status) => status,
        Err(error) => {
            eprintln!("lsm: {error}");
            error.status
        }
    };
    ExitCode::from(status as u8)
}
