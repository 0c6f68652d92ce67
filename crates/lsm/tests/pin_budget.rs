//! `Config::pin_budget`: tables pin their indexes and filters only within the bound
//! (shared by two trees here), read the rest through the block cache with the same
//! answers, and give the bytes back when they go (compacted away, or the tree dropped).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, MemFs, PinBudget, SeqNo, SequenceNumberCounter};

fn tree(path: &str, budget: &Arc<PinBudget>) -> (AnyTree, SequenceNumberCounter) {
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(path, seqno.clone(), SequenceNumberCounter::default())
        .with_fs(MemFs::new())
        .pin_budget(Some(Arc::clone(budget)))
        .open()
        .unwrap();
    (tree, seqno)
}

fn fill(tree: &AnyTree, seqno: &SequenceNumberCounter, flushes: u64) {
    for flush in 0..flushes {
        for i in 0..2_000 {
            tree.insert(
                format!("key{:07}", i * flushes + flush),
                "value",
                seqno.next(),
            );
        }
        tree.flush_active_memtable(0).unwrap();
    }
}

fn check(tree: &AnyTree, flushes: u64) {
    for i in (0..2_000 * flushes).step_by(7) {
        assert!(
            tree.get(format!("key{i:07}"), SeqNo::MAX)
                .unwrap()
                .is_some(),
            "{i}"
        );
        assert!(
            tree.get(format!("key{i:07}x"), SeqNo::MAX)
                .unwrap()
                .is_none()
        );
    }
}

#[test]
fn two_trees_pin_within_one_budget_and_give_it_back() {
    // An unbounded tree shows what four flushed tables would pin.
    let unbounded = PinBudget::new(u64::MAX);
    let (probe, probe_seqno) = tree("/probe", &unbounded);
    fill(&probe, &probe_seqno, 4);
    let all = unbounded.used();
    assert!(all > 0);
    drop(probe);
    assert_eq!(unbounded.used(), 0, "a dropped tree gives its pins back");

    // Two such trees under a budget of half of one tree's needs.
    let budget = PinBudget::new(all / 2);
    let (first, first_seqno) = tree("/first", &budget);
    let (second, second_seqno) = tree("/second", &budget);
    fill(&first, &first_seqno, 4);
    fill(&second, &second_seqno, 4);
    assert!(budget.used() <= budget.limit());
    assert!(budget.used() > 0);
    check(&first, 4);
    check(&second, 4);
    // A major compaction replaces the tables: the old ones give their bytes back.
    first.major_compact(64 << 20, first_seqno.get()).unwrap();
    assert!(budget.used() <= budget.limit());
    check(&first, 4);
    drop((first, second));
    assert_eq!(budget.used(), 0);
}
