//! `Config::expect_point_read_hits`: no filter is built for the last level's tables (and
//! only there), and every point read still answers exactly.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, Fs, MemFs, SeqNo, SequenceNumberCounter};

fn tree(expect_hits: bool) -> AnyTree {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .expect_point_read_hits(expect_hits)
    .open()
    .unwrap()
}

fn fill(tree: &AnyTree, from: u32, seqno: &mut SeqNo) {
    for i in (from..2_000).step_by(2) {
        tree.insert(format!("key{i:05}"), format!("value{i}"), *seqno);
        *seqno += 1;
    }
    tree.flush_active_memtable(0).unwrap();
}

fn check(tree: &AnyTree) {
    for i in 0..2_000 {
        let got = tree.get(format!("key{i:05}"), SeqNo::MAX).unwrap();
        assert_eq!(got.is_some(), i % 2 == 0, "key {i}");
    }
}

#[test]
fn the_last_level_has_no_filters_and_reads_stay_exact() {
    for expect_hits in [false, true] {
        let tree = tree(expect_hits);
        let mut seqno = 0;
        fill(&tree, 0, &mut seqno);
        tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
        assert_eq!(tree.level_table_count(6), Some(1));
        assert_eq!(tree.filter_size() == 0, expect_hits, "last level");
        check(&tree);
        // A flush goes to level 0, which keeps its filter either way.
        fill(&tree, 1_000, &mut seqno);
        assert!(tree.filter_size() > 0, "level 0");
        check(&tree);
    }
}
