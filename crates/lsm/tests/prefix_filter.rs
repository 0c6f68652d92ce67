//! Prefix filters through `Config::prefix_extractor`: prefix scans, range scans within
//! one prefix and `contains_prefix` skip the tables whose filter proves the prefix
//! absent (counted), and answer exactly as a tree without filters does; a table written
//! under another extractor's name is read, never skipped.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::config::FixedPrefix;
use lsm::{
    AbstractTree, AnyTree, Config, Fs, Guard, MemFs, PrefixExtractor, SeqNo, SequenceNumberCounter,
};
use proptest::prelude::*;

/// Keys `user:<id>:<field>`: prefixes `user:` and `user:<id>:` (two per key).
struct UserPrefixes;

impl PrefixExtractor for UserPrefixes {
    fn prefixes<'a>(&self, key: &'a [u8]) -> Box<dyn Iterator<Item = &'a [u8]> + 'a> {
        let colons: Vec<usize> = key
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b':')
            .map(|(at, _)| at + 1)
            .take(2)
            .collect();
        Box::new(colons.into_iter().map(move |end| &key[..end]))
    }

    fn name(&self) -> &str {
        "user-prefixes"
    }
}

const USERS: u32 = 40;
const FLUSHES: u32 = 4;

fn user_key(user: u32, field: u32) -> String {
    format!("user:{user:03}:field{field:02}")
}

fn open(fs: &Arc<dyn Fs>, extractor: Option<Arc<dyn PrefixExtractor>>) -> AnyTree {
    let mut config = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs));
    if let Some(extractor) = extractor {
        config = config.prefix_extractor(extractor);
    }
    config.open().unwrap()
}

/// Flush `i` holds the users `u % FLUSHES == i`: every table spans nearly the whole key
/// range, so only the filter can tell which users it holds.
fn fill(tree: &AnyTree) {
    let mut seqno = 0;
    for flush in 0..FLUSHES {
        for user in (0..USERS).filter(|user| user % FLUSHES == flush) {
            for field in 0..10 {
                tree.insert(user_key(user, field), format!("{user}/{field}"), seqno);
                seqno += 1;
            }
        }
        tree.flush_active_memtable(0).unwrap();
    }
}

fn keys(iter: lsm::IterBox) -> Vec<String> {
    iter.map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn prefix_scans_skip_the_tables_without_the_prefix() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = open(&fs, Some(Arc::new(UserPrefixes)));
    fill(&tree);
    assert_eq!(tree.table_count(), FLUSHES as usize);
    for user in 0..USERS {
        let prefix = format!("user:{user:03}:");
        let expected: Vec<String> = (0..10).map(|field| user_key(user, field)).collect();
        assert_eq!(keys(tree.prefix(&prefix, SeqNo::MAX, None)), expected);
        // A range within the prefix probes the same filter.
        let within = keys(tree.range(user_key(user, 2)..user_key(user, 5), SeqNo::MAX, None));
        assert_eq!(within, expected[2..5]);
        assert!(tree.contains_prefix(&prefix, SeqNo::MAX, None).unwrap());
    }
    let after_scans = tree.filter_counters().prefix_rejected;
    // Each user's scans read one table of the four; the filter's false positives (about
    // 1%) may let a few more through.
    let skippable = u64::from(USERS) * u64::from(FLUSHES - 1) * 3;
    assert!(
        after_scans >= skippable * 9 / 10,
        "{after_scans} of {skippable} tables skipped"
    );
    // A user no table holds, inside every table's key range: the filters skip the
    // tables (all of them, but for a false positive).
    assert!(!tree.contains_prefix("user:01a:", SeqNo::MAX, None).unwrap());
    assert!(tree.filter_counters().prefix_rejected >= after_scans + u64::from(FLUSHES) - 1);
    // `user:` is every key's prefix: nothing is skipped, all keys come back.
    assert_eq!(
        keys(tree.prefix("user:", SeqNo::MAX, None)).len(),
        (USERS * 10) as usize
    );
    // Not a scan boundary of the extractor (no colon at its end): no probe, exact answer.
    assert_eq!(keys(tree.prefix("user:00", SeqNo::MAX, None)).len(), 100);
    drop(tree);

    // Reopened under another extractor (another name), or none: no table is skipped by
    // filters built for other prefixes, and the answers stay the same.
    for extractor in [
        Some(Arc::new(FixedPrefix::new(9)) as Arc<dyn PrefixExtractor>),
        None,
    ] {
        let tree = open(&fs, extractor);
        for user in 0..USERS {
            let prefix = format!("user:{user:03}:");
            assert_eq!(keys(tree.prefix(&prefix, SeqNo::MAX, None)).len(), 10);
        }
        assert_eq!(tree.filter_counters().prefix_rejected, 0);
    }
}

/// Seeks and intervals within one user's prefix ask the filters as a range does: each
/// reads one table of the four (their key ranges all overlap).
#[test]
fn repositioned_scans_skip_the_tables_without_the_prefix() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = open(&fs, Some(Arc::new(UserPrefixes)));
    fill(&tree);
    let before = tree.filter_counters().prefix_rejected;
    let intervals: Vec<_> = (0..USERS)
        .map(|user| user_key(user, 3)..user_key(user, 6))
        .collect();
    let got: Vec<String> = tree
        .batch_range_scan(intervals, SeqNo::MAX, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    let want: Vec<String> = (0..USERS)
        .flat_map(|user| (3..6).map(move |field| user_key(user, field)))
        .collect();
    assert_eq!(got, want);
    let after_intervals = tree.filter_counters().prefix_rejected;
    let skippable = u64::from(USERS) * u64::from(FLUSHES - 1);
    assert!(
        after_intervals - before >= skippable * 9 / 10,
        "{} of {skippable} tables skipped",
        after_intervals - before
    );
    // A repositionable iterator over one user's keys, seeking inside them.
    let user = 7;
    let mut iter = tree.range_seekable(user_key(user, 0)..user_key(user, 10), SeqNo::MAX, None);
    iter.seek_to(user_key(user, 4).as_bytes());
    let (key, value) = iter.next().unwrap().into_inner().unwrap();
    assert_eq!(&*key, user_key(user, 4).as_bytes());
    assert_eq!(&*value, b"7/4");
    assert!(tree.filter_counters().prefix_rejected >= after_intervals + u64::from(FLUSHES - 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random keys over a small alphabet, flushed in random batches: every prefix scan
    /// and range scan answers as a tree without an extractor does.
    #[test]
    fn scans_answer_as_without_filters(
        batches in prop::collection::vec(prop::collection::vec((0..6_u8, 0..6_u8, 0..6_u8), 1..30), 1..6),
        probes in prop::collection::vec((0..6_u8, 0..6_u8, 0..6_u8), 1..20),
    ) {
        let with: Arc<dyn Fs> = Arc::new(MemFs::new());
        let without: Arc<dyn Fs> = Arc::new(MemFs::new());
        let filtered = open(&with, Some(Arc::new(FixedPrefix::new(2))));
        let plain = open(&without, None);
        let key = |a: u8, b: u8, c: u8| vec![b'a' + a, b'a' + b, b'a' + c];
        let mut seqno = 0;
        for batch in &batches {
            for &(a, b, c) in batch {
                for tree in [&filtered, &plain] {
                    tree.insert(key(a, b, c), vec![a, b, c], seqno);
                }
                seqno += 1;
            }
            for tree in [&filtered, &plain] {
                tree.flush_active_memtable(0).unwrap();
            }
        }
        for &(a, b, c) in &probes {
            let two = key(a, b, c)[..2].to_vec();
            prop_assert_eq!(
                keys(filtered.prefix(&two, SeqNo::MAX, None)),
                keys(plain.prefix(&two, SeqNo::MAX, None))
            );
            let start = key(a, b, 0);
            let end = key(a, b, c);
            prop_assert_eq!(
                keys(filtered.range(start.clone()..=end.clone(), SeqNo::MAX, None)),
                keys(plain.range(start..=end, SeqNo::MAX, None))
            );
            prop_assert_eq!(
                filtered.contains_prefix(&two, SeqNo::MAX, None).unwrap(),
                plain.contains_prefix(&two, SeqNo::MAX, None).unwrap()
            );
        }
    }
}
