//! Bulk loading: a sorted data set written straight into tables with one ingestion,
//! then corrected by ordinary writes, and an older snapshot that keeps its answers.
//!
//! `cargo run --example bulk_load`

use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};

fn main() -> lsm::Result<()> {
    let dir = tempfile::tempdir()?;
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default()).open()?;

    // An older value of one key, from before the load.
    tree.insert("user:000042", "before the load", seqno.next());
    let before_load = seqno.get();

    // Keys must come in ascending order; a duplicate or an unsorted key is a typed
    // error (`Error::UnsortedIngestion`) and nothing of the load is registered.
    let mut ingestion = tree.ingestion()?;
    for idx in 0..100_000_u32 {
        ingestion.write(format!("user:{idx:06}"), format!("profile {idx}"))?;
    }
    ingestion.write_tombstone("user:999999")?;
    ingestion.finish()?;

    // Writes after the load are newer than it.
    tree.insert("user:000007", "edited after the load", seqno.next());

    let read = |key: &str, at: SeqNo| -> lsm::Result<String> {
        Ok(tree.get(key, at)?.map_or_else(
            || "(none)".to_owned(),
            |value| String::from_utf8_lossy(&value).into_owned(),
        ))
    };
    println!(
        "user:000042 now:          {}",
        read("user:000042", SeqNo::MAX)?
    );
    println!(
        "user:000042 before load:  {}",
        read("user:000042", before_load)?
    );
    println!(
        "user:000007 now:          {}",
        read("user:000007", SeqNo::MAX)?
    );
    println!(
        "{} keys in {} tables, level-0 tables: {:?}",
        tree.len(SeqNo::MAX, None)?,
        tree.table_count(),
        tree.level_table_count(0)
    );
    assert_eq!(read("user:000042", before_load)?, "before the load");
    assert_eq!(read("user:000042", SeqNo::MAX)?, "profile 42");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_runs() {
        super::main().unwrap();
    }
}
