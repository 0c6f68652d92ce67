//! What the engine did and why: a small `tracing` subscriber prints the spans of
//! opening, flushing and compacting a tree with their sizes and durations, then the
//! tree's counters and storage figures are printed.
//!
//! Run with `cargo run --release -p lsm --example observe`. Any `tracing` subscriber
//! works the same way; this one is written out so the example needs nothing else.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects a span's or an event's fields as `name=value` text.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// Prints each span as it opens (name and fields) and each event inside it, indented
/// by how deep the span is; collects the lines so the example can check them.
#[derive(Default)]
struct Printer {
    next_id: AtomicU64,
    spans: Mutex<HashMap<u64, String>>,
    stack: Mutex<Vec<u64>>,
    lines: Mutex<Vec<String>>,
}

impl Printer {
    fn print(&self, line: String) {
        println!("{line}");
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    fn depth(&self) -> usize {
        self.stack
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

impl Subscriber for &'static Printer {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("lsm") && *metadata.level() <= tracing::Level::INFO
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Fields::default();
        span.record(&mut fields);
        let text = format!("{}{}", span.metadata().name(), fields.0);
        self.spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, text);
        Id::from_u64(id)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let indent = "  ".repeat(self.depth());
        self.print(format!("{indent}{}{}", event.metadata().level(), fields.0));
    }

    fn enter(&self, span: &Id) {
        let text = self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&span.into_u64())
            .cloned()
            .unwrap_or_default();
        let indent = "  ".repeat(self.depth());
        self.print(format!("{indent}[{text}]"));
        self.stack
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(span.into_u64());
    }

    fn exit(&self, _span: &Id) {
        self.stack
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
    }
}

fn main() -> lsm::Result<()> {
    let printer: &'static Printer = Box::leak(Box::default());
    let dispatch = tracing::Dispatch::new(printer);
    tracing::dispatcher::with_default(&dispatch, run)?;
    let lines = printer
        .lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for expected in [
        "[open",
        "[flush",
        "flushed",
        "[compaction",
        "compaction step",
    ] {
        assert!(
            lines.iter().any(|line| line.contains(expected)),
            "no {expected:?} in the trace"
        );
    }
    Ok(())
}

fn run() -> lsm::Result<()> {
    let dir = tempfile::tempdir()?;
    let seqno = SequenceNumberCounter::default();
    let open = || Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default()).open();
    let tree = open()?;
    for flush in 0..4_u32 {
        for i in 0..5_000_u32 {
            let key = format!("user:{:06}", i * 4 + flush);
            tree.insert(
                key,
                format!("profile {i} written by flush {flush}"),
                seqno.next(),
            );
        }
        tree.flush_active_memtable(0)?;
    }
    tree.major_compact(64 << 20, SeqNo::MAX)?;
    for i in (0..20_000_u32).step_by(97) {
        tree.get(format!("user:{i:06}"), SeqNo::MAX)?;
    }
    tree.get("user:999999", SeqNo::MAX)?;

    let metrics = tree.metrics();
    println!();
    println!(
        "flushes {} ({} bytes), merges {} (read {} bytes, wrote {})",
        metrics.flush_count(),
        metrics.bytes_flushed(),
        metrics.compactions_merged(),
        metrics.bytes_compacted_read(),
        metrics.bytes_compacted_written()
    );
    println!(
        "data blocks read from files {}, from the cache {} (hit rate {:.1}%)",
        metrics.data_block_load_count(),
        metrics.data_block_load_cached_count(),
        metrics.data_block_cache_hit_rate() * 100.0
    );
    println!(
        "filter queries {}, tables skipped by a filter {}",
        metrics.filter_queries(),
        metrics.io_skipped_by_filter()
    );
    let stats = tree.storage_stats()?;
    println!(
        "{} entries in {} tables, {} bytes ({} per entry, keys {:?} B, values {:?} B), status {:?}",
        stats.item_count,
        stats.table_count,
        stats.used_bytes,
        stats.avg_entry_on_disk_bytes,
        stats.avg_key_bytes,
        stats.avg_value_bytes,
        stats.status
    );
    let half = tree.approximate_range_stats("user:000000".."user:010000", SeqNo::MAX)?;
    println!(
        "about {} entries and {} bytes below user:010000",
        half.key_count, half.bytes
    );
    drop(tree);
    // Reopening shows the recovery span.
    drop(open()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_runs() {
        super::main().unwrap();
    }
}
