//! Metamorphic testing (goal G5 of the reliability spec): the same seeded operation
//! sequences run on trees of different configurations (compaction strategy, block size,
//! compression, dictionary, encryption, key-value separation, key order, level
//! routes, block locators), and every tree must give the same answers as the first
//! after every version change and at the end, reopened. No oracle is needed: the
//! configurations check one another.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "support/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use common::Concat;
use lsm::compaction::{CompactionStrategy, Fifo, Leveled, SizeTiered};
use lsm::config::{
    BlockSizePolicy, CompressionPolicy, LocatorPolicy, LocatorPolicyEntry, LocatorPrecision,
};
use lsm::{
    AbstractTree, Aes256GcmProvider, AnyTree, CompressionType, Config, Fs, Guard,
    KvSeparationOptions, MemFs, SeqNo, SequenceNumberCounter, ZstdDictionary,
};
use lsm_testkit::ops::{KEY_COUNT, Op, key, operand, ops_from_seed, range_bounds, value};
use lsm_testkit::reliability;
use lsm_testkit::rng::Rng;

/// Sequences per run (times the test scale), and operations per sequence.
const SEQUENCES: u64 = 1_000;
const OPS_PER_SEQUENCE: usize = 60;

/// One configuration under test: a name, how its tree is configured, and the strategy
/// its compaction steps use.
struct Variant {
    name: &'static str,
    configure: fn(Config) -> Config,
    strategy: fn() -> Arc<dyn CompactionStrategy>,
}

fn leveled() -> Arc<dyn CompactionStrategy> {
    Arc::new(
        Leveled::default()
            .with_l0_threshold(2)
            .with_table_target_size(1 << 10),
    )
}

fn tiered() -> Arc<dyn CompactionStrategy> {
    Arc::new(SizeTiered::default().with_min_merge_width(2))
}

/// FIFO with no size limit and no expiry: it never drops, so the answers must not change.
fn fifo() -> Arc<dyn CompactionStrategy> {
    Arc::new(Fifo::new(u64::MAX, None))
}

fn dictionary() -> Arc<ZstdDictionary> {
    Arc::new(ZstdDictionary::new(
        b"v1-xxxxxxxxxxxxxxxx+1+2+3a0a1a2b0b1c0",
    ))
}

fn locators(precision: LocatorPrecision) -> LocatorPolicy {
    LocatorPolicy::all(LocatorPolicyEntry::Enabled {
        precision,
        block_id_bits: None,
        slot_bits: None,
    })
}

fn sealed(config: Config) -> Config {
    config.with_encryption(Some(Arc::new(Aes256GcmProvider::new(&[0x5a; 32]))))
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "leveled, 4 KiB blocks, no compression, no block locators",
        configure: |config| config.locator_policy(LocatorPolicy::disabled()),
        strategy: leveled,
    },
    Variant {
        name: "size-tiered, zstd",
        configure: |config| {
            config.data_block_compression_policy(CompressionPolicy::all(CompressionType::Zstd(1)))
        },
        strategy: tiered,
    },
    Variant {
        name: "FIFO without expiry, 512 B blocks, block locators at entry precision",
        configure: |config| {
            config
                .data_block_size_policy(BlockSizePolicy::all(512))
                .locator_policy(locators(LocatorPrecision::Entry))
        },
        strategy: fifo,
    },
    Variant {
        name: "leveled, zstd with a dictionary, encrypted",
        configure: |config| {
            let dictionary = dictionary();
            sealed(config)
                .data_block_compression_policy(CompressionPolicy::all(
                    CompressionType::zstd_dict(1, dictionary.id()).unwrap(),
                ))
                .zstd_dictionary(Some(dictionary))
        },
        strategy: leveled,
    },
    Variant {
        name: "leveled, every value in blob files, lz4",
        configure: |config| {
            config
                .with_kv_separation(Some(
                    KvSeparationOptions::default()
                        .separation_threshold(1)
                        .file_target_size(1 << 10)
                        .staleness_threshold(0.3)
                        .age_cutoff(0.5),
                ))
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
        },
        strategy: leveled,
    },
    Variant {
        name: "size-tiered, a comparator ordering bytes without the fast path, 512 B blocks, \
               block locators at restart precision",
        configure: |config| {
            config
                .comparator(Arc::new(lsm_testkit::orders::BytesThroughComparator))
                .data_block_size_policy(BlockSizePolicy::all(512))
                .locator_policy(locators(LocatorPrecision::Restart))
        },
        strategy: tiered,
    },
    Variant {
        name: "leveled, encrypted, levels 1+ in a level route",
        configure: |config| sealed(config).level_route(1, "/cold"),
        strategy: leveled,
    },
];

/// A tree of one variant, on a file system of its own.
struct Subject {
    variant: &'static Variant,
    fs: Arc<dyn Fs>,
    seqno: SequenceNumberCounter,
    tree: Option<AnyTree>,
}

impl Subject {
    fn new(variant: &'static Variant) -> Self {
        let mut subject = Self {
            variant,
            fs: Arc::new(MemFs::new()),
            seqno: SequenceNumberCounter::default(),
            tree: None,
        };
        subject.reopen();
        subject
    }

    fn reopen(&mut self) {
        drop(self.tree.take());
        let config = Config::new("/db", self.seqno.clone(), SequenceNumberCounter::default())
            .with_shared_fs(Arc::clone(&self.fs))
            .with_merge_operator(Some(Arc::new(Concat)));
        self.tree = Some(
            (self.variant.configure)(config)
                .open()
                .unwrap_or_else(|error| panic!("{}: open: {error}", self.variant.name)),
        );
    }

    fn tree(&self) -> &AnyTree {
        self.tree.as_ref().unwrap()
    }

    fn apply(&self, op: &Op) {
        let tree = self.tree();
        let name = self.variant.name;
        let gc = |with_gc: bool| if with_gc { self.seqno.get() } else { 0 };
        match op {
            Op::Insert(k, v) => {
                tree.insert(key(*k), value(*v), self.seqno.next());
            }
            Op::Merge(k, v) => {
                tree.merge(key(*k), operand(*v), self.seqno.next());
            }
            Op::RemoveRange(start, span) => {
                let (lower, upper) = range_bounds(*start, *span);
                tree.remove_range(lower, upper, self.seqno.next());
            }
            Op::Remove(k) => {
                tree.remove(key(*k), self.seqno.next());
            }
            Op::RemoveWeak(k) => {
                tree.remove_weak(key(*k), self.seqno.next());
            }
            Op::Flush(with_gc) => tree
                .flush_active_memtable(gc(*with_gc))
                .unwrap_or_else(|error| panic!("{name}: flush: {error}")),
            Op::Compact(_, with_gc) => {
                tree.compact((self.variant.strategy)(), gc(*with_gc))
                    .unwrap_or_else(|error| panic!("{name}: compaction: {error}"));
            }
            Op::MajorCompact(with_gc) => {
                tree.major_compact(1 << 10, gc(*with_gc))
                    .unwrap_or_else(|error| panic!("{name}: major compaction: {error}"));
            }
            Op::Clear => tree
                .clear()
                .unwrap_or_else(|error| panic!("{name}: clear: {error}")),
            other => unreachable!("not in the write mix: {other:?}"),
        }
    }

    /// Everything the tree answers at the newest seqno: a forward scan, a backward scan,
    /// a point read of every key, and a bounded range.
    fn answers(&self) -> Answers {
        let tree = self.tree();
        let pairs = |iter: lsm::IterBox| -> Vec<(String, String)> {
            iter.map(|item| {
                let (key, value) = item.into_inner().unwrap();
                (text(&key), text(&value))
            })
            .collect()
        };
        let forward = pairs(tree.iter(SeqNo::MAX, None));
        let mut backward = pairs(Box::new(tree.iter(SeqNo::MAX, None).rev()));
        backward.reverse();
        let points = (0..KEY_COUNT)
            .map(|k| {
                tree.get(key(k), SeqNo::MAX)
                    .unwrap()
                    .map(|value| text(&value))
            })
            .collect();
        let range = pairs(tree.range::<Vec<u8>, _>(
            (Bound::Included(key(5)), Bound::Excluded(key(KEY_COUNT / 2))),
            SeqNo::MAX,
            None,
        ));
        Answers {
            forward,
            backward,
            points,
            range,
        }
    }
}

/// What a tree answered (keys and values are ASCII: shown as text when they differ).
#[derive(Debug, PartialEq)]
struct Answers {
    forward: Vec<(String, String)>,
    backward: Vec<(String, String)>,
    points: Vec<Option<String>>,
    range: Vec<(String, String)>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `ops` with weak deletes kept only where the weak-delete contract holds (at most one
/// value written since the key's last delete); elsewhere they become plain deletes,
/// whose answers do not depend on how versions meet in compaction.
fn honour_weak_deletes(ops: Vec<Op>) -> Vec<Op> {
    let mut puts: BTreeMap<u8, u32> = BTreeMap::new();
    ops.into_iter()
        .map(|op| match op {
            Op::Insert(k, _) => {
                *puts.entry(k).or_insert(0) += 1;
                op
            }
            Op::Merge(k, _) => {
                *puts.entry(k).or_insert(0) += 2;
                op
            }
            Op::Remove(k) => {
                puts.insert(k, 0);
                op
            }
            Op::RemoveWeak(k) => {
                let weak = puts.get(&k).copied().unwrap_or(0) <= 1;
                puts.insert(k, 0);
                if weak { op } else { Op::Remove(k) }
            }
            Op::RemoveRange(..) | Op::Clear => {
                // A range delete may or may not cover the key: unknown, so no weak
                // delete of any key until its next plain delete.
                for count in puts.values_mut() {
                    *count = 2;
                }
                if matches!(op, Op::Clear) {
                    puts.clear();
                }
                op
            }
            other => other,
        })
        .collect()
}

fn check_alike(subjects: &[Subject], context: &str) {
    let expected = subjects[0].answers();
    for subject in &subjects[1..] {
        assert_eq!(
            subject.answers(),
            expected,
            "{context}: {} answers unlike {}",
            subject.variant.name,
            subjects[0].variant.name
        );
    }
}

#[test]
fn every_configuration_answers_alike() {
    let started = Instant::now();
    let base = Rng::from_env(41).next_u64();
    let sequences = reliability::scaled(SEQUENCES);
    let mut ops_run = 0;
    for sequence in 0..sequences {
        let seed = base.wrapping_add(sequence);
        let ops = honour_weak_deletes(ops_from_seed(seed, OPS_PER_SEQUENCE));
        let mut subjects: Vec<Subject> = VARIANTS.iter().map(Subject::new).collect();
        for (idx, op) in ops.iter().enumerate() {
            for subject in &subjects {
                subject.apply(op);
            }
            let version_change = matches!(
                op,
                Op::Flush(_) | Op::Compact(..) | Op::MajorCompact(_) | Op::Clear
            );
            if version_change || idx % 20 == 19 {
                check_alike(&subjects, &format!("sequence {seed}, op {idx} ({op:?})"));
            }
        }
        ops_run += ops.len() * subjects.len();
        for subject in &mut subjects {
            subject.reopen();
        }
        check_alike(&subjects, &format!("sequence {seed}, reopened"));
    }
    println!(
        "{sequences} sequences of {OPS_PER_SEQUENCE} operations under {} configurations, {ops_run} operations, every answer alike",
        VARIANTS.len()
    );
    reliability::record(
        "G5",
        &format!("metamorphic: {} configurations", VARIANTS.len()),
        sequences,
        "sequences",
        started,
    );
}
