//! A `Database` workload the crash and fault tests share (included with `#[path]`):
//! batches over keyspaces `a` and `b`, batch `i` setting one key to `i` in both, and
//! the check that what comes back after a failure is whole and no older than what was
//! acknowledged.

#![allow(dead_code, reason = "each test file uses a part of this module")]

use std::sync::Arc;

use lsm::{Database, Durability, Error, Guard, Keyspace, KeyspaceCreateOptions};
use lsm_testkit::sim_fs::SimFs;

/// `batches` batches; batch `i` sets key `k{i % keys}` to `i`, zero-padded to `width`.
pub struct Batches {
    pub batches: usize,
    pub keys: usize,
    pub width: usize,
}

/// How far a run got: the durability of each batch that committed, in order, and the
/// error that stopped it.
pub struct Run {
    pub committed: Vec<Durability>,
    pub error: Option<Error>,
}

impl Run {
    /// How many batches an acknowledgment covers: up to the last one committed with a
    /// durability `counts` accepts (a later durable write makes every earlier one so).
    pub fn acknowledged(&self, counts: impl Fn(Durability) -> bool) -> usize {
        self.committed
            .iter()
            .rposition(|&durability| counts(durability))
            .map_or(0, |last| last + 1)
    }
}

impl Batches {
    /// Opens the database on `fs`, with small segments and a small write buffer so
    /// that segments roll, flushes run and the log is trimmed within the workload.
    pub fn open(&self, fs: &SimFs) -> lsm::Result<Database> {
        Database::builder("/db")
            .with_fs(Arc::new(fs.clone()))
            .journal_segment_size(2 << 10)
            .max_write_buffer_size(8 << 10)
            .open()
    }

    /// The key batch `i` sets.
    pub fn key(&self, i: usize) -> String {
        format!("k{}", i % self.keys)
    }

    pub fn value(&self, i: usize) -> String {
        format!("{i:0width$}", width = self.width)
    }

    /// Runs the batches until one fails, batch `i` with `durability(i)`; `after(i, a)`
    /// runs after each commit (an error stops the run too).
    pub fn run(
        &self,
        fs: &SimFs,
        durability: impl Fn(usize) -> Durability,
        mut after: impl FnMut(usize, &Keyspace) -> lsm::Result<()>,
    ) -> Run {
        let mut run = Run {
            committed: Vec::new(),
            error: None,
        };
        let opened = self.open(fs).and_then(|db| {
            let a = db.keyspace("a", KeyspaceCreateOptions::default)?;
            let b = db.keyspace("b", KeyspaceCreateOptions::default)?;
            Ok((db, a, b))
        });
        let (db, a, b) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                run.error = Some(error);
                return run;
            }
        };
        for i in 0..self.batches {
            let mut batch = db.batch().durability(durability(i));
            batch.insert(&a, self.key(i), self.value(i));
            batch.insert(&b, self.key(i), self.value(i));
            if let Err(error) = batch.commit() {
                run.error = Some(error);
                break;
            }
            run.committed.push(durability(i));
            if let Err(error) = after(i, &a) {
                run.error = Some(error);
                break;
            }
        }
        run
    }

    /// The state of one keyspace after the first `count` batches.
    pub fn state_after(&self, count: usize) -> Vec<(String, String)> {
        let mut state: Vec<(String, String)> = (0..self.keys)
            .filter_map(|key| {
                let last = (0..count).rev().find(|i| i % self.keys == key)?;
                Some((self.key(last), self.value(last)))
            })
            .collect();
        state.sort();
        state
    }

    /// Checks what `db` holds: both keyspaces alike (no batch in part), and the state
    /// after some count of batches no smaller than `acknowledged`.
    pub fn check(&self, db: &Database, acknowledged: usize, context: &str) {
        let (a, b) = (read(db, "a"), read(db, "b"));
        assert_eq!(a, b, "{context}: a batch came back in part");
        let prefix = (0..=self.batches).find(|&count| self.state_after(count) == a);
        let prefix = prefix.unwrap_or_else(|| panic!("{context}: {a:?} is no prefix"));
        // Later batches may rewrite a key to the state of an earlier prefix; what
        // matters is that some prefix at least as long as the acknowledged one matches.
        assert!(
            (acknowledged..=self.batches).any(|count| self.state_after(count) == a),
            "{context}: {acknowledged} acknowledged, the state is batch {prefix}'s"
        );
    }
}

/// Every item of keyspace `name` as text (none when the database lacks it).
pub fn read(db: &Database, name: &str) -> Vec<(String, String)> {
    if !db.keyspace_exists(name) {
        return Vec::new();
    }
    db.keyspace(name, KeyspaceCreateOptions::default)
        .unwrap()
        .iter()
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (
                String::from_utf8(key.to_vec()).unwrap(),
                String::from_utf8(value.to_vec()).unwrap(),
            )
        })
        .collect()
}
