//! Builds a small tree with several levels, overlapping level-0 runs and blob files
//! with garbage, to try the `lsm` tool on (and to draw the README's picture):
//!
//! ```text
//! cargo run -p lsm-cli --example demo_tree -- /tmp/demo
//! cargo run -p lsm-cli -- tree /tmp/demo --svg tree.svg
//! ```

use std::sync::Arc;

use lsm::compaction::Leveled;
use lsm::{AbstractTree, Config, KvSeparationOptions, SequenceNumberCounter};

fn main() -> lsm::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: demo_tree DIR (DIR must not exist)");
        std::process::exit(2);
    };
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(&dir, seqno.clone(), SequenceNumberCounter::default())
        .with_kv_separation(Some(
            KvSeparationOptions::default()
                .separation_threshold(512)
                .file_target_size(256 << 10)
                .staleness_threshold(0.9),
        ))
        .open()?;
    let strategy = Arc::new(
        Leveled::default()
            .with_l0_threshold(4)
            .with_table_target_size(64 << 10),
    );
    // A simple generator, so the tree is the same on every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..40_u64 {
        for _ in 0..2_000 {
            let key = next() % 50_000;
            let len = if next() % 8 == 0 { 900 } else { 60 };
            let value = format!("{round}:{}", "v".repeat(len));
            tree.insert(format!("user/{key:06}"), value, seqno.next());
        }
        tree.flush_active_memtable(0)?;
        // Compact most rounds, so deeper levels fill while level 0 keeps a few runs.
        if round % 5 != 4 {
            while tree.compact(strategy.clone(), seqno.get())?.action
                != lsm::compaction::CompactionAction::Nothing
            {}
        }
    }
    println!(
        "{dir}: {} tables, {} blob files, {} bytes",
        tree.table_count(),
        tree.blob_file_count(),
        tree.disk_space()
    );
    Ok(())
}
