//! A generator of the caller's (`SequenceNumberGenerator`) drives the trees that share it:
//! the seqnos a tree draws itself (a `clear`'s mark) come from it, recovery raises it past
//! every persisted seqno, and `Config::new` keeps taking plain counters.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lsm::{
    AbstractTree, Config, SeqNo, SequenceNumberCounter, SequenceNumberGenerator,
    SharedSequenceNumberGenerator,
};

/// Steps by ten, as a clock with room for ten writers per tick might.
#[derive(Debug, Default)]
struct Tens(AtomicU64);

impl SequenceNumberGenerator for Tens {
    fn next(&self) -> SeqNo {
        self.0.fetch_add(10, Ordering::AcqRel)
    }

    fn get(&self) -> SeqNo {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, value: SeqNo) {
        self.0.store(value, Ordering::Release);
    }

    fn fetch_max(&self, value: SeqNo) {
        self.0.fetch_max(value, Ordering::AcqRel);
    }
}

#[test]
fn trees_share_a_generator_of_the_callers() {
    let seqno: SharedSequenceNumberGenerator = Arc::new(Tens::default());
    let visible: SharedSequenceNumberGenerator = Arc::new(Tens::default());
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |dir: &std::path::Path| {
        Config::new_with_generators(dir, Arc::clone(&seqno), Arc::clone(&visible))
            .open()
            .unwrap()
    };
    let first = open(first_dir.path());
    let second = open(second_dir.path());
    first.insert("a", "1", seqno.next());
    second.insert("b", "2", seqno.next());
    assert_eq!(seqno.get(), 20, "both trees draw from one generator");
    first.flush_active_memtable(0).unwrap();
    // A clear draws its mark from the generator and publishes it as visible.
    first.clear().unwrap();
    assert_eq!(seqno.get(), 30);
    assert!(visible.get() >= 11);
    assert_eq!(
        second.get("b", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"2"[..])
    );

    // Reopened with fresh generators, recovery raises them past what is on disk.
    second.insert("c", "3", 500);
    second.flush_active_memtable(0).unwrap();
    drop((first, second));
    let fresh: SharedSequenceNumberGenerator = Arc::new(Tens::default());
    let reopened = Config::new(
        second_dir.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .seqno_generator(Arc::clone(&fresh))
    .open()
    .unwrap();
    assert!(fresh.get() > 500, "{}", fresh.get());
    assert_eq!(
        reopened.get("c", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"3"[..])
    );
}
