//! The README's quick start: open a tree, write, read at snapshots, scan, flush, reopen.
//!
//! Run with `cargo run -p lsm --example quickstart`.

use lsm::{AbstractTree, Config, Guard, SequenceNumberCounter};

fn main() -> lsm::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");

    // The caller owns the seqno counters: every write takes the next seqno, and a read
    // at seqno `r` sees the versions written below `r`.
    let seqno = SequenceNumberCounter::default();
    let visible = SequenceNumberCounter::default();
    let tree = Config::new(&path, seqno.clone(), visible.clone()).open()?;

    for (fruit, colour) in [
        ("apple", "red"),
        ("banana", "yellow"),
        ("cherry", "dark red"),
    ] {
        let at = seqno.next();
        tree.insert(fruit, colour, at);
        visible.fetch_max(at + 1);
    }
    let snapshot = visible.get();
    let at = seqno.next();
    tree.remove("banana", at);
    visible.fetch_max(at + 1);

    assert_eq!(tree.get("banana", visible.get())?, None);
    assert_eq!(
        tree.get("banana", snapshot)?.as_deref(),
        Some(&b"yellow"[..])
    );

    // Scans are double-ended and keep their snapshot.
    for item in tree.range("a".."c", snapshot, None).rev() {
        let (key, value) = item.into_inner()?;
        println!(
            "{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }

    // A write is durable once a flush covering it has returned.
    tree.flush_active_memtable(0)?;
    drop(tree);

    let tree = Config::new(
        &path,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()?;
    assert_eq!(tree.len(lsm::SeqNo::MAX, None)?, 2);
    println!(
        "reopened: {} keys in {} table(s)",
        tree.len(lsm::SeqNo::MAX, None)?,
        tree.table_count()
    );
    Ok(())
}
