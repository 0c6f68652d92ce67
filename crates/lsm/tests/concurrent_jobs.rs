//! Compaction jobs side by side: while a slow merge (held by its compaction filter until
//! the test lets it go, as a rate limit would hold it) takes level 0 down, flushes go on
//! and the runs they add merge within level 0, in front of the busy runs; a caller's
//! major compaction waits for the running jobs instead of doing nothing.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use lsm::compaction::{CompactionAction, Leveled};
use lsm::{AbstractTree, AnyTree, Config, Fs, Guard, MemFs, SeqNo, SequenceNumberCounter};

#[path = "support/common.rs"]
mod common;
use common::Gate;

const KEYS: u32 = 400;

fn config(fs: &Arc<dyn Fs>, seqno: &SequenceNumberCounter) -> Config {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::clone(fs))
}

/// A tree whose first merge is held by `gate`.
fn gated_tree(fs: &Arc<dyn Fs>, seqno: &SequenceNumberCounter, gate: &Arc<Gate>) -> AnyTree {
    config(fs, seqno)
        .with_compaction_filter_factory(Some(gate.factory(0)))
        .open()
        .unwrap()
}

/// One flushed run of every key, its values tagged with `round`.
fn flush_round(tree: &AnyTree, seqno: &SequenceNumberCounter, round: u32) {
    for i in 0..KEYS {
        tree.insert(format!("key{i:05}"), format!("{round}:{i}"), seqno.next());
    }
    let runs = tree.l0_run_count();
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.l0_run_count(), runs + 1, "round {round} flushed a run");
}

fn check_round(tree: &AnyTree, round: u32) {
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), KEYS as usize);
    for i in (0..KEYS).step_by(7) {
        let value = tree.get(format!("key{i:05}"), SeqNo::MAX).unwrap().unwrap();
        assert_eq!(&*value, format!("{round}:{i}").as_bytes(), "key {i}");
    }
}

/// A tree with two level-0 runs, and a merge of them down (on its own thread) that sees
/// every item (a watermark above them all) and is held at the first.
struct HeldMerge {
    fs: Arc<dyn Fs>,
    seqno: SequenceNumberCounter,
    gate: Arc<Gate>,
    tree: AnyTree,
    strategy: Arc<Leveled>,
    down: std::thread::JoinHandle<lsm::compaction::CompactionResult>,
}

fn held_merge_down() -> HeldMerge {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let gate = Arc::new(Gate::default());
    let tree = gated_tree(&fs, &seqno, &gate);
    let strategy = Arc::new(Leveled::default().with_l0_threshold(2));
    flush_round(&tree, &seqno, 0);
    flush_round(&tree, &seqno, 1);
    let down = std::thread::spawn({
        let tree = tree.clone();
        let strategy = Arc::clone(&strategy);
        move || tree.compact(strategy, SeqNo::MAX).unwrap()
    });
    HeldMerge {
        fs,
        seqno,
        gate,
        tree,
        strategy,
        down,
    }
}

#[test]
fn a_flush_and_an_intra_level0_merge_finish_while_a_slow_merge_runs() {
    let HeldMerge {
        fs,
        seqno,
        gate,
        tree,
        strategy,
        down,
    } = held_merge_down();
    let AnyTree::Standard(standard) = &tree else {
        unreachable!("a standard tree")
    };
    gate.wait_for_arrival();
    assert!(standard.is_compacting());

    // Flushes go on while the merge holds level 0's two runs...
    flush_round(&tree, &seqno, 2);
    flush_round(&tree, &seqno, 3);
    assert_eq!(tree.l0_run_count(), 4);
    check_round(&tree, 3);
    // ...and the two new runs merge within level 0, in front of the busy ones.
    let intra = tree.compact(strategy, 0).unwrap();
    assert_eq!(intra.action, CompactionAction::Merged);
    assert_eq!(intra.dest_level, Some(0));
    assert_eq!(intra.tables_in, 2);
    assert_eq!(tree.l0_run_count(), 3);
    check_round(&tree, 3);
    assert!(!down.is_finished(), "the held merge still runs");
    assert!(standard.is_compacting());

    gate.release();
    let result = down.join().unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert!(result.dest_level.unwrap() > 0);
    assert_eq!(result.tables_in, 2);
    assert!(!standard.is_compacting());
    // The intra-L0 run stays in level 0, above the older data merged below it.
    assert_eq!(tree.l0_run_count(), 1);
    check_round(&tree, 3);
    let before_reopen: Vec<_> = tree
        .iter(SeqNo::MAX, None)
        .map(|item| item.into_inner().unwrap())
        .collect();
    drop(tree);

    let reopened = config(&fs, &seqno).open().unwrap();
    check_round(&reopened, 3);
    assert_eq!(reopened.l0_run_count(), 1);
    let after_reopen: Vec<_> = reopened
        .iter(SeqNo::MAX, None)
        .map(|item| item.into_inner().unwrap())
        .collect();
    assert_eq!(before_reopen, after_reopen);
}

#[test]
fn a_major_compaction_waits_for_the_running_jobs() {
    let HeldMerge {
        seqno,
        gate,
        tree,
        down,
        ..
    } = held_merge_down();
    gate.wait_for_arrival();
    flush_round(&tree, &seqno, 2);
    let major = std::thread::spawn({
        let tree = tree.clone();
        move || tree.major_compact(64 << 20, SeqNo::MAX).unwrap()
    });
    // The major compaction needs every table: it waits, it does not return "nothing".
    std::thread::sleep(Duration::from_millis(50));
    assert!(!major.is_finished(), "the major compaction waits");
    gate.release();
    assert_eq!(down.join().unwrap().action, CompactionAction::Merged);
    let major = major.join().unwrap();
    assert_eq!(major.action, CompactionAction::Merged);
    assert_eq!(tree.l0_run_count(), 0);
    assert_eq!(tree.table_count(), tree.level_table_count(6).unwrap_or(0));
    check_round(&tree, 2);
}
