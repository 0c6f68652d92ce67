//! `Config::locator_policy`: tables carry a block locator at the configured precision,
//! point reads through it give the answers of the index at every read seqno (before and
//! after a full compaction, and after reopening), keys outside a table stay absent, and
//! impossible bit widths are refused at open.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::Arc;

use lsm::config::{LocatorPolicy, LocatorPolicyEntry, LocatorPrecision};
use lsm::{AbstractTree, AnyTree, Config, MemFs, SeqNo, SequenceNumberCounter};

const KEYS: u64 = 3_000;

fn open(fs: &Arc<MemFs>, policy: &LocatorPolicy, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/tree", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::clone(fs) as _)
        .locator_policy(policy.clone())
        .open()
        .unwrap()
}

fn enabled(
    precision: LocatorPrecision,
    block_id_bits: Option<u8>,
    slot_bits: Option<u8>,
) -> LocatorPolicy {
    LocatorPolicy::all(LocatorPolicyEntry::Enabled {
        precision,
        block_id_bits,
        slot_bits,
    })
}

/// Every key written three times (the middle version a tombstone for some), flushed
/// between rounds; the model maps each key to its versions as (seqno, value or none).
fn fill(
    tree: &AnyTree,
    seqno: &SequenceNumberCounter,
) -> BTreeMap<String, Vec<(SeqNo, Option<String>)>> {
    let mut model: BTreeMap<String, Vec<(SeqNo, Option<String>)>> = BTreeMap::new();
    for round in 0..3 {
        for i in 0..KEYS {
            let key = format!("key{:06}", i * 2);
            let at = seqno.next();
            let value = if round == 1 && i % 5 == 0 {
                tree.remove(key.clone(), at);
                None
            } else {
                let value = format!("value-{round}-{i}-{}", "x".repeat((i % 40) as usize));
                tree.insert(key.clone(), value.clone(), at);
                Some(value)
            };
            model.entry(key).or_default().push((at, value));
        }
        tree.flush_active_memtable(0).unwrap();
    }
    model
}

fn check(tree: &AnyTree, model: &BTreeMap<String, Vec<(SeqNo, Option<String>)>>, label: &str) {
    for (key, versions) in model.iter().step_by(3) {
        for &(at, _) in versions {
            // Read just after each version, and just before it.
            for read_seqno in [at + 1, at] {
                let expected = versions
                    .iter()
                    .rev()
                    .find(|(seqno, _)| *seqno < read_seqno)
                    .and_then(|(_, value)| value.clone());
                let found = tree.get(key, read_seqno).unwrap();
                assert_eq!(
                    found.as_deref(),
                    expected.as_deref().map(str::as_bytes),
                    "{label}: {key} at {read_seqno}"
                );
            }
        }
        // Odd keys fall between the table's keys: never found.
        let absent = format!("{}1", &key[..key.len() - 1]);
        assert!(
            tree.get(&absent, SeqNo::MAX).unwrap().is_none(),
            "{label}: {absent}"
        );
    }
}

#[test]
fn point_reads_through_the_locator_match_the_model_at_every_precision() {
    let policies = [
        ("disabled", LocatorPolicy::disabled(), false),
        ("block", LocatorPolicy::block_level(), true),
        (
            "restart",
            enabled(LocatorPrecision::Restart, None, None),
            true,
        ),
        ("entry", enabled(LocatorPrecision::Entry, None, None), true),
        // One slot bit: most reads search their block.
        (
            "entry, one slot bit",
            enabled(LocatorPrecision::Entry, None, Some(1)),
            true,
        ),
        // No slot bits: block precision, whatever was asked.
        (
            "restart, no slot bits",
            enabled(LocatorPrecision::Restart, None, Some(0)),
            true,
        ),
        // Two block numbers: tables of more blocks get no locator.
        (
            "block, one block bit",
            enabled(LocatorPrecision::Block, Some(1), None),
            false,
        ),
        // Level 0 without, deeper levels with.
        (
            "per level",
            LocatorPolicy::new([
                LocatorPolicyEntry::None,
                LocatorPolicyEntry::Enabled {
                    precision: LocatorPrecision::Restart,
                    block_id_bits: Some(20),
                    slot_bits: Some(3),
                },
            ]),
            true,
        ),
    ];
    for (label, policy, has_locators) in policies {
        let fs = Arc::new(MemFs::new());
        let seqno = SequenceNumberCounter::default();
        let tree = open(&fs, &policy, &seqno);
        let model = fill(&tree, &seqno);
        let level0_locators = tree.pinned_locator_size() > 0;
        check(&tree, &model, label);
        tree.major_compact(64 << 20, 0).unwrap();
        assert_eq!(
            tree.pinned_locator_size() > 0,
            has_locators,
            "{label}: after compaction"
        );
        if label == "per level" {
            assert!(
                !level0_locators,
                "level 0 tables were written without a locator"
            );
        }
        check(&tree, &model, &format!("{label}, compacted"));
        drop(tree);
        let tree = open(&fs, &policy, &seqno);
        assert_eq!(
            tree.pinned_locator_size() > 0,
            has_locators,
            "{label}: reopened"
        );
        check(&tree, &model, &format!("{label}, reopened"));
        // Opened without locators (another policy): the tables keep theirs and still use them.
        drop(tree);
        let tree = open(&fs, &LocatorPolicy::disabled(), &seqno);
        assert_eq!(
            tree.pinned_locator_size() > 0,
            has_locators,
            "{label}: read under another policy"
        );
        check(&tree, &model, &format!("{label}, other policy"));
    }
}

#[test]
fn the_locator_costs_a_few_bits_per_key() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &LocatorPolicy::block_level(), &seqno);
    fill(&tree, &seqno);
    tree.major_compact(64 << 20, 0).unwrap();
    let bits_per_key = tree.pinned_locator_size() as f64 * 8.0 / KEYS as f64;
    // A few hundred blocks: about 8 to 9 bits of block number per key.
    assert!(
        (4.0..16.0).contains(&bits_per_key),
        "{bits_per_key:.2} bits per key"
    );
}

#[test]
fn impossible_bit_widths_are_refused_at_open() {
    for policy in [
        enabled(LocatorPrecision::Block, Some(0), None),
        enabled(LocatorPrecision::Block, Some(33), None),
        enabled(LocatorPrecision::Restart, Some(20), Some(13)),
        enabled(LocatorPrecision::Entry, None, Some(32)),
    ] {
        let result = Config::new(
            "/tree",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_fs(MemFs::new())
        .locator_policy(policy.clone())
        .open();
        assert!(
            matches!(result, Err(lsm::Error::InvalidConfig(_))),
            "{policy:?}: {:?}",
            result.err()
        );
    }
}
