//! An optimistic transaction on one tree, from the `lsm` crate alone: writes go to a
//! private memtable that every read merges in at its own seqno (read your own writes),
//! the keys read are remembered, and commit checks that none of them changed since the
//! transaction's snapshot before it applies the writes as one batch.
//!
//! ```text
//! cargo run -p lsm --example transaction
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use lsm::{
    AbstractTree, AnyTree, Config, Guard, InternalEntry, Memtable, SeqNo, SequenceNumberCounter,
    UserValue, ValueType, WriteBatch,
};

/// A transaction: a snapshot, private writes, and the keys it read.
struct Transaction<'a> {
    tree: &'a AnyTree,
    seqno: &'a SequenceNumberCounter,
    /// Reads see the tree as of this seqno.
    snapshot: SeqNo,
    /// The transaction's own writes, each at a seqno of its own (later writes win).
    writes: Arc<Memtable>,
    next_write: SeqNo,
    read: BTreeSet<Vec<u8>>,
}

/// Why a commit did not apply.
#[derive(Debug, PartialEq, Eq)]
enum Conflict {
    /// A key the transaction read was written by someone else after its snapshot.
    Changed(Vec<u8>),
}

impl<'a> Transaction<'a> {
    fn begin(tree: &'a AnyTree, seqno: &'a SequenceNumberCounter) -> Self {
        Self {
            tree,
            seqno,
            snapshot: seqno.get(),
            // The overlay's ids and seqnos are its own: they never reach the tree.
            writes: Arc::new(Memtable::new(u64::MAX)),
            next_write: 0,
            read: BTreeSet::new(),
        }
    }

    fn insert(&mut self, key: &str, value: &str) {
        let entry = InternalEntry::new(key, value, self.next_write, ValueType::Value);
        self.writes.insert(entry);
        self.next_write += 1;
    }

    fn remove(&mut self, key: &str) {
        self.writes
            .insert(InternalEntry::tombstone(key, self.next_write));
        self.next_write += 1;
    }

    /// The value of `key`: the transaction's own write, else the snapshot's.
    fn get(&mut self, key: &str) -> lsm::Result<Option<UserValue>> {
        self.read.insert(key.as_bytes().to_vec());
        if let Some(own) = self.writes.get(key.as_bytes(), SeqNo::MAX) {
            return Ok((own.key.value_type == ValueType::Value).then_some(own.value));
        }
        self.tree.get(key, self.snapshot)
    }

    /// Every pair with `prefix`, the transaction's writes merged in.
    fn scan(&mut self, prefix: &str) -> lsm::Result<Vec<(String, String)>> {
        let overlay = Some((Arc::clone(&self.writes), self.next_write));
        let mut pairs = Vec::new();
        for item in self.tree.prefix(prefix, self.snapshot, overlay) {
            let (key, value) = item.into_inner()?;
            self.read.insert(key.to_vec());
            pairs.push((
                String::from_utf8_lossy(&key).into_owned(),
                String::from_utf8_lossy(&value).into_owned(),
            ));
        }
        Ok(pairs)
    }

    /// Applies the writes as one batch at a fresh seqno, unless a key read changed.
    fn commit(self) -> lsm::Result<Result<SeqNo, Conflict>> {
        for key in &self.read {
            if let Some(newest) = self.tree.get_internal_entry(key, SeqNo::MAX)?
                && newest.key.seqno >= self.snapshot
            {
                return Ok(Err(Conflict::Changed(key.clone())));
            }
        }
        let mut batch = WriteBatch::new();
        // The newest write of each key, in key order.
        let mut last: Option<Vec<u8>> = None;
        for entry in self.writes.range::<&[u8], _>(.., SeqNo::MAX) {
            if last.as_deref() == Some(&entry.key.user_key[..]) {
                continue;
            }
            last = Some(entry.key.user_key.to_vec());
            match entry.key.value_type {
                ValueType::Value => batch.insert(entry.key.user_key, entry.value),
                _ => batch.remove(entry.key.user_key),
            }
        }
        let seqno = self.seqno.next();
        self.tree.apply_batch(batch, seqno)?;
        Ok(Ok(seqno))
    }
}

fn main() -> lsm::Result<()> {
    let dir = tempfile::tempdir()?;
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default()).open()?;
    tree.insert("account/alice", "100", seqno.next());
    tree.insert("account/bob", "50", seqno.next());

    let mut transfer = Transaction::begin(&tree, &seqno);
    let alice: u32 = parse(transfer.get("account/alice")?);
    let bob: u32 = parse(transfer.get("account/bob")?);
    transfer.insert("account/alice", &(alice - 30).to_string());
    transfer.insert("account/bob", &(bob + 30).to_string());
    println!("inside the transaction: {:?}", transfer.scan("account/")?);
    println!("committed at seqno {:?}", transfer.commit()?);

    // Two transactions read the same key; the second to commit loses.
    let mut first = Transaction::begin(&tree, &seqno);
    let mut second = Transaction::begin(&tree, &seqno);
    first.get("account/alice")?;
    second.get("account/alice")?;
    first.insert("account/alice", "0");
    second.remove("account/alice");
    println!("first: {:?}", first.commit()?);
    println!("second: {:?}", second.commit()?);
    Ok(())
}

fn parse(value: Option<UserValue>) -> u32 {
    value
        .and_then(|value| std::str::from_utf8(&value).ok()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, AnyTree, SequenceNumberCounter) {
        let dir = tempfile::tempdir().unwrap();
        let seqno = SequenceNumberCounter::default();
        let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
            .open()
            .unwrap();
        (dir, tree, seqno)
    }

    #[test]
    fn a_transaction_reads_its_own_writes_and_commits_them_as_one_batch() {
        let (_dir, tree, seqno) = tree();
        tree.insert("k/1", "a", seqno.next());
        tree.insert("k/2", "b", seqno.next());
        let mut txn = Transaction::begin(&tree, &seqno);
        txn.insert("k/3", "c");
        txn.remove("k/1");
        txn.insert("k/2", "b2");
        txn.insert("k/2", "b3");
        assert_eq!(txn.get("k/1").unwrap(), None);
        assert_eq!(txn.get("k/2").unwrap().as_deref(), Some(&b"b3"[..]));
        let scanned = txn.scan("k/").unwrap();
        assert_eq!(
            scanned,
            vec![("k/2".into(), "b3".into()), ("k/3".into(), "c".into())]
        );
        // Nothing reached the tree yet.
        assert_eq!(tree.get("k/3", SeqNo::MAX).unwrap(), None);
        let committed = txn.commit().unwrap().unwrap();
        let after: Vec<_> = tree
            .prefix("k/", SeqNo::MAX, None)
            .map(|item| item.into_inner().unwrap())
            .collect();
        assert_eq!(after.len(), 2);
        assert_eq!(
            tree.get("k/2", SeqNo::MAX).unwrap().as_deref(),
            Some(&b"b3"[..])
        );
        // One seqno for the whole batch.
        assert_eq!(
            tree.get_internal_entry(b"k/3", SeqNo::MAX)
                .unwrap()
                .unwrap()
                .key
                .seqno,
            committed
        );
        assert_eq!(
            tree.get_internal_entry(b"k/1", SeqNo::MAX)
                .unwrap()
                .unwrap()
                .key
                .seqno,
            committed
        );
    }

    #[test]
    fn a_key_changed_after_the_snapshot_fails_the_commit_and_nothing_is_written() {
        let (_dir, tree, seqno) = tree();
        tree.insert("k", "0", seqno.next());
        let mut txn = Transaction::begin(&tree, &seqno);
        assert_eq!(txn.get("k").unwrap().as_deref(), Some(&b"0"[..]));
        txn.insert("other", "x");
        tree.insert("k", "1", seqno.next());
        assert_eq!(txn.commit().unwrap(), Err(Conflict::Changed(b"k".to_vec())));
        assert_eq!(tree.get("other", SeqNo::MAX).unwrap(), None);
    }
}
