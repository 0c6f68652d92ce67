//! The `Database` layer: keyspaces, a batch across them, a snapshot, durability, and a
//! reopen that replays the log.
//!
//! `cargo run -p lsm --example database`

use lsm::{Database, Durability, Guard, KeyspaceCreateOptions, PersistMode};

fn main() -> lsm::Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let db = Database::builder(dir.path()).open()?;
        let accounts = db.keyspace("accounts", KeyspaceCreateOptions::default)?;
        let transfers = db.keyspace("transfers", KeyspaceCreateOptions::default)?;
        accounts.insert("ada", "100")?;
        accounts.insert("bob", "100")?;

        // Both keyspaces change at one seqno, synced before commit returns.
        let mut batch = db.batch().durability(Durability::Sync);
        batch.insert(&accounts, "ada", "90");
        batch.insert(&accounts, "bob", "110");
        batch.insert(&transfers, "0001", "ada -> bob: 10");
        let seqno = batch.commit()?;
        println!("transfer committed at seqno {seqno:?}");

        let snapshot = db.snapshot();
        accounts.insert("ada", "0")?;
        println!(
            "ada: {:?} now, {:?} in the snapshot",
            accounts.get("ada")?,
            snapshot.get(&accounts, "ada")?
        );
        drop(snapshot);
        db.persist(PersistMode::SyncAll)?;
    }
    // Reopened: the writes come back from the tables the drop flushed, or the log.
    let db = Database::builder(dir.path()).open()?;
    let accounts = db.keyspace("accounts", KeyspaceCreateOptions::default)?;
    for item in accounts.iter() {
        let (key, value) = item.into_inner()?;
        println!(
            "{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }
    println!("keyspaces: {:?}", db.list_keyspace_names());
    Ok(())
}
