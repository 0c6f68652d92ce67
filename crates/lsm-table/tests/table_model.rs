//! Tables against a sorted `Vec` model, in every combination of settings: point lookups
//! at every read seqno, and range scans with random bounds from both ends (also mixed).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::ops::Bound;
use std::sync::Arc;

use lsm_burr::FilterPolicy;
use lsm_codec::{Compression, EncryptionKey, ZstdDictionary};
use lsm_core::{InternalEntry, KeyOrder, MemFs, SeqNo, ValueType};
use lsm_table::{
    BlockCache, DescriptorCache, FixedPrefix, LocatorOptions, LocatorPrecision, ReadOptions, Table,
    TableOptions, TableWriter,
};
use lsm_testkit::model::in_bounds_in;
use lsm_testkit::orders::TestOrder;
use proptest::prelude::*;

fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'd')],
        1..5,
    )
}

fn entries_strategy() -> impl Strategy<Value = Vec<(Vec<u8>, u64, ValueType, Vec<u8>)>> {
    let value_type = prop_oneof![
        6 => Just(ValueType::Value),
        1 => Just(ValueType::Tombstone),
        1 => Just(ValueType::WeakTombstone),
        1 => Just(ValueType::MergeOperand),
    ];
    proptest::collection::vec(
        (
            key_strategy(),
            0..30_u64,
            value_type,
            proptest::collection::vec(any::<u8>(), 0..60),
        ),
        1..300,
    )
}

#[derive(Debug, Clone)]
struct Settings {
    block_size: usize,
    restart_interval: usize,
    hash_ratio: f64,
    compression: u8,
    partitioned: bool,
    filter: bool,
    prefixes: bool,
    encrypted: bool,
    /// 0: no caches, 1: block cache, 2: block cache, descriptor cache and nothing pinned.
    caching: u8,
    /// Filter partitions of this many hashes, or one full filter.
    filter_partition_keys: Option<usize>,
    /// The block locator: 0 none, 1 block, 2 restart, 3 entry precision, 4 entry
    /// precision with one slot bit (most slots stored as "search the block"), 5 block
    /// precision with one block bit (tables of more than two blocks get none).
    locator: u8,
}

fn settings_strategy() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![Just(64_usize), Just(256), Just(4096)],
        1..17_usize,
        prop_oneof![Just(0.0), Just(1.0)],
        0..3_u8,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        (
            0..3_u8,
            prop_oneof![Just(None), Just(Some(1)), Just(Some(8))],
            0..6_u8,
        ),
    )
        .prop_map(
            |(
                block_size,
                restart_interval,
                hash_ratio,
                compression,
                partitioned,
                filter,
                prefixes,
                encrypted,
                (caching, filter_partition_keys, locator),
            )| Settings {
                block_size,
                restart_interval,
                hash_ratio,
                compression,
                partitioned,
                filter,
                prefixes,
                encrypted,
                caching,
                filter_partition_keys,
                locator,
            },
        )
}

fn build(
    entries: &[InternalEntry],
    settings: &Settings,
    order: &KeyOrder,
) -> (Table, ReadOptions, Arc<MemFs>) {
    let fs = Arc::new(MemFs::new());
    let dictionary = ZstdDictionary::new(b"abcd abcd value bytes dictionary content");
    let key = EncryptionKey::new([3; 32]);
    let options = TableOptions {
        block_size: settings.block_size,
        restart_interval: settings.restart_interval,
        hash_index_ratio: settings.hash_ratio,
        compression: match settings.compression {
            0 => Compression::None,
            1 => Compression::zstd(1),
            _ => Compression::zstd_dict(1, &dictionary),
        },
        index_compression: if settings.compression == 1 {
            Compression::zstd(1)
        } else {
            Compression::None
        },
        filter: settings.filter.then(|| FilterPolicy::fpr(0.05).unwrap()),
        filter_partition_keys: settings.filter_partition_keys,
        prefix_extractor: settings
            .prefixes
            .then(|| Arc::new(FixedPrefix::new(2)) as _),
        index_partition_threshold: if settings.partitioned { 0 } else { 1 << 20 },
        index_partition_size: 64,
        encryption: settings.encrypted.then(|| (key.clone(), [9; 16])),
        created_at_ms: 1234,
        order: order.clone(),
        locator: locator_options(settings.locator),
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(fs.as_ref(), "/table".as_ref(), 7, options).unwrap();
    for entry in entries {
        writer.add(entry).unwrap();
    }
    let properties = writer.finish().unwrap();
    assert_eq!(properties.entry_count, entries.len() as u64);
    assert_eq!(properties.index_partitioned, settings.partitioned);
    let wants_locator = match settings.locator {
        0 => false,
        5 => properties.data_block_count <= 2,
        _ => true,
    };
    assert_eq!(properties.locator_handle.is_some(), wants_locator);
    let read_options = ReadOptions {
        encryption_key: settings.encrypted.then_some(key),
        prefix_extractor: settings
            .prefixes
            .then(|| Arc::new(FixedPrefix::new(2)) as _),
        // A cache too small for the table, so that eviction happens during the test.
        block_cache: (settings.caching > 0)
            .then(|| Arc::new(BlockCache::with_capacity_bytes(16 * 512))),
        descriptor_cache: (settings.caching > 1)
            .then(|| Arc::new(DescriptorCache::new(fs.clone(), 1))),
        pin_index: settings.caching < 2,
        pin_filter: settings.caching != 1,
        order: order.clone(),
        global_seqno: None,
        pin_budget: None,
        counters: Some(Arc::default()),
        // A small row cache: answers cached by reads at every seqno, some evicted.
        row_cache: (settings.caching > 0)
            .then(|| Arc::new(lsm_table::RowCache::with_capacity_bytes(2048))),
        use_locator: true,
    };
    let table = Table::open(fs.as_ref(), "/table".as_ref(), 7, &read_options).unwrap();
    assert_eq!(
        table.uses_locator(),
        wants_locator && read_options.pin_index
    );
    (table, read_options, fs)
}

fn locator_options(setting: u8) -> Option<LocatorOptions> {
    let with = |precision, block_id_bits, slot_bits| LocatorOptions {
        precision,
        block_id_bits,
        slot_bits,
    };
    match setting {
        0 => None,
        1 => Some(with(LocatorPrecision::Block, None, None)),
        2 => Some(with(LocatorPrecision::Restart, None, None)),
        3 => Some(with(LocatorPrecision::Entry, None, None)),
        4 => Some(with(LocatorPrecision::Entry, None, Some(1))),
        _ => Some(with(LocatorPrecision::Block, Some(1), None)),
    }
}

fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
    lsm_testkit::model::bound_strategy(key_strategy)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn table_matches_model(
        raw in entries_strategy(),
        settings in settings_strategy(),
        probes in proptest::collection::vec((key_strategy(), 0..32_u64), 1..40),
        scans in proptest::collection::vec((bound_strategy(), bound_strategy(), 0..32_u64, proptest::collection::vec(any::<bool>(), 0..40)), 1..6),
        test_order in proptest::sample::select(TestOrder::ALL.to_vec()),
    ) {
        let order = test_order.key_order();
        let entries = lsm_testkit::model::sorted_entries_in(&order, raw);
        let (table, read_options, fs) = build(&entries, &settings, &order);
        // Twice: the second pass finds answers the row cache kept from the first.
        for (key, read_seqno) in probes.iter().chain(&probes).cloned() {
            let expected = entries.iter().find(|entry| entry.key.user_key == key.as_slice() && entry.key.seqno < read_seqno).cloned();
            prop_assert_eq!(table.get(&key, read_seqno).unwrap(), expected);
            let prefix = &key[..key.len().min(2)];
            if entries.iter().any(|entry| entry.key.user_key.starts_with(prefix) && entry.key.user_key.len() >= 2) {
                prop_assert!(table.may_contain_prefix(prefix, &read_options).unwrap());
            }
        }
        for (lower, upper, read_seqno, directions) in scans {
            let expected: Vec<_> = entries
                .iter()
                .filter(|entry| entry.key.seqno < read_seqno && in_bounds_in(&order, &entry.key.user_key, &lower, &upper))
                .cloned()
                .collect();
            let mut scan = table.range::<Vec<u8>, _>((lower.clone(), upper.clone()), read_seqno);
            let (mut front, mut back) = (Vec::new(), Vec::new());
            for from_front in directions.into_iter().chain(std::iter::repeat(true)) {
                let item = if from_front { scan.next() } else { scan.next_back() };
                let Some(entry) = item else { break };
                prop_assert!(front.len() + back.len() < expected.len(), "more entries than the model");
                if from_front { front.push(entry.unwrap()) } else { back.push(entry.unwrap()) }
            }
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
        }
        // Without a cache no block load is a hit; with one, every data block a read
        // touched was loaded once from the file at least.
        let counts = read_options.counters.as_ref().unwrap().counts();
        let data = counts.kind(lsm_core::BlockKind::Data);
        if read_options.block_cache.is_none() {
            prop_assert_eq!(counts.total().loads_cached, 0);
        }
        prop_assert!(data.loads_cached == 0 || data.loads_io > 0);
        prop_assert!(data.bytes_io >= data.loads_io);
        prop_assert!(table.verify().unwrap().is_ok());
        // Opened in another order, the table is refused by name before any read.
        let other = TestOrder::ALL.into_iter().find(|other| *other != test_order).unwrap();
        let in_other = ReadOptions { order: other.key_order(), ..read_options };
        let reopened = Table::open(fs.as_ref(), "/table".as_ref(), 7, &in_other);
        prop_assert!(matches!(reopened, Err(lsm_table::Error::ComparatorMismatch { .. })), "{:?}", reopened.err());
        let index = table.index_entries().unwrap();
        prop_assert_eq!(index.len() as u64, table.properties().data_block_count);
    }
}

#[test]
fn a_million_entry_table_with_partitions_scans_and_finds_everything() {
    let entries: Vec<_> = (0..1_000_000_u64)
        .map(|idx| {
            InternalEntry::new(
                format!("key-{idx:08}"),
                format!("value-{idx}"),
                idx % 7,
                ValueType::Value,
            )
        })
        .collect();
    let settings = Settings {
        block_size: 4096,
        restart_interval: 16,
        hash_ratio: 0.0,
        compression: 1,
        partitioned: true,
        filter: true,
        prefixes: false,
        encrypted: false,
        caching: 1,
        filter_partition_keys: Some(1000),
        // Over a partitioned index: block numbers cross partitions.
        locator: 2,
    };
    let (table, _, _) = build(&entries, &settings, &KeyOrder::lexicographic());
    assert!(table.properties().index_block_count > 2);
    assert_eq!(
        table.range::<&[u8], _>(.., SeqNo::MAX).count(),
        entries.len()
    );
    assert_eq!(
        table.range::<&[u8], _>(.., SeqNo::MAX).rev().count(),
        entries.len()
    );
    for idx in (0..1_000_000).step_by(997) {
        let key = format!("key-{idx:08}");
        assert_eq!(
            table
                .get(key.as_bytes(), SeqNo::MAX)
                .unwrap()
                .unwrap()
                .value,
            format!("value-{idx}").as_str()
        );
        assert!(
            table
                .get(format!("key-{idx:08}x").as_bytes(), SeqNo::MAX)
                .unwrap()
                .is_none()
        );
    }
    let one = InternalEntry::new("only", "one", 1, ValueType::Value);
    let (table, _, _) = build(
        std::slice::from_ref(&one),
        &settings,
        &KeyOrder::lexicographic(),
    );
    assert_eq!(table.get(b"only", 2).unwrap(), Some(one));
}

#[derive(Debug, Clone)]
enum Op {
    Next,
    NextBack,
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    Reposition(Bound<Vec<u8>>, Bound<Vec<u8>>),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Next),
        4 => Just(Op::NextBack),
        1 => key_strategy().prop_map(Op::Seek),
        1 => key_strategy().prop_map(Op::SeekForPrev),
        1 => (bound_strategy(), bound_strategy()).prop_map(|(lower, upper)| Op::Reposition(lower, upper)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Seeks reposition one end; the other end's progress is kept. A reposition restarts
    /// both ends within a window of the range.
    #[test]
    fn seeks_match_a_cursor_model(
        raw in entries_strategy(),
        settings in settings_strategy(),
        lower in bound_strategy(),
        upper in bound_strategy(),
        read_seqno in 0..32_u64,
        ops in proptest::collection::vec(op_strategy(), 1..60),
        test_order in proptest::sample::select(TestOrder::ALL.to_vec()),
    ) {
        let order = test_order.key_order();
        let entries = lsm_testkit::model::sorted_entries_in(&order, raw);
        let (table, _, _) = build(&entries, &settings, &order);
        let visible = visible_in(&order, &entries, read_seqno, &lower, &upper);
        let (mut front, mut back) = (0, visible.len());
        let mut scan = table.range::<Vec<u8>, _>((lower, upper), read_seqno);
        for op in ops {
            match op {
                Op::Next => {
                    prop_assert_eq!(scan.next().transpose().unwrap(), step(&visible, &mut front, &mut back, true));
                }
                Op::NextBack => {
                    prop_assert_eq!(scan.next_back().transpose().unwrap(), step(&visible, &mut front, &mut back, false));
                }
                Op::Seek(key) => {
                    scan.seek(&key);
                    front = visible.partition_point(|entry| order.lt(&entry.key.user_key, &key));
                }
                Op::SeekForPrev(key) => {
                    scan.seek_for_prev(&key);
                    back = visible.partition_point(|entry| order.le(&entry.key.user_key, &key));
                }
                Op::Reposition(window_lower, window_upper) => {
                    scan.reposition((window_lower.clone(), window_upper.clone()));
                    (front, back) = window_in(&order, &visible, &window_lower, &window_upper);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum RunOp {
    Next,
    NextBack,
    Reposition(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// A reposition told to leave out the tables whose bit in the mask is set.
    RepositionSkipping(Bound<Vec<u8>>, Bound<Vec<u8>>, u8),
}

fn run_op_strategy() -> impl Strategy<Value = RunOp> {
    prop_oneof![
        4 => Just(RunOp::Next),
        4 => Just(RunOp::NextBack),
        2 => (bound_strategy(), bound_strategy()).prop_map(|(lower, upper)| RunOp::Reposition(lower, upper)),
        1 => (bound_strategy(), bound_strategy(), any::<u8>()).prop_map(|(lower, upper, mask)| RunOp::RepositionSkipping(lower, upper, mask)),
    ]
}

/// The entries a read at `read_seqno` within `lower..upper` sees, in order.
fn visible_in(
    order: &KeyOrder,
    entries: &[InternalEntry],
    read_seqno: SeqNo,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> Vec<InternalEntry> {
    entries
        .iter()
        .filter(|entry| {
            entry.key.seqno < read_seqno && in_bounds_in(order, &entry.key.user_key, lower, upper)
        })
        .cloned()
        .collect()
}

/// The model's next entry from the front (or the back) of `visible[front..back]`.
fn step(
    visible: &[InternalEntry],
    front: &mut usize,
    back: &mut usize,
    from_front: bool,
) -> Option<InternalEntry> {
    if *front >= *back {
        return None;
    }
    let idx = if from_front {
        *front += 1;
        *front - 1
    } else {
        *back -= 1;
        *back
    };
    Some(visible[idx].clone())
}

/// Where `visible` (in key order) starts within `lower` and ends within `upper`.
fn window_in(
    order: &KeyOrder,
    visible: &[InternalEntry],
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> (usize, usize) {
    let front = visible.partition_point(|entry| match lower {
        Bound::Included(key) => order.lt(&entry.key.user_key, key),
        Bound::Excluded(key) => order.le(&entry.key.user_key, key),
        Bound::Unbounded => false,
    });
    let back = visible.partition_point(|entry| match upper {
        Bound::Included(key) => order.le(&entry.key.user_key, key),
        Bound::Excluded(key) => order.lt(&entry.key.user_key, key),
        Bound::Unbounded => true,
    });
    (front, back)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// A run of tables scans as the sorted union of their entries, from both ends, and
    /// a reposition restarts both ends within a window of the range.
    #[test]
    fn runs_match_a_cursor_model(
        raw in entries_strategy(),
        settings in settings_strategy(),
        lower in bound_strategy(),
        upper in bound_strategy(),
        read_seqno in 0..32_u64,
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        ops in proptest::collection::vec(run_op_strategy(), 1..60),
        test_order in proptest::sample::select(TestOrder::ALL.to_vec()),
    ) {
        let order = test_order.key_order();
        let entries = lsm_testkit::model::sorted_entries_in(&order, raw);
        // Tables split where a user key starts, so that their key ranges are disjoint.
        let key_starts: Vec<usize> = (1..entries.len())
            .filter(|&idx| entries[idx].key.user_key != entries[idx - 1].key.user_key)
            .collect();
        let mut splits: Vec<usize> = if key_starts.is_empty() {
            Vec::new()
        } else {
            cuts.iter().map(|cut| key_starts[cut.index(key_starts.len())]).collect()
        };
        splits.sort_unstable();
        splits.dedup();
        splits.push(entries.len());
        let mut tables = Vec::new();
        // Each entry's table, by position in the run.
        let mut table_of = Vec::new();
        let mut start = 0;
        for end in splits {
            if end > start {
                let (table, _, fs) = build(&entries[start..end], &settings, &order);
                table_of.extend(std::iter::repeat_n(tables.len(), end - start));
                tables.push((table, fs));
            }
            start = end;
        }
        // The visible entries, each with its table.
        let in_tables: Vec<(InternalEntry, usize)> = entries
            .iter()
            .cloned()
            .zip(table_of)
            .filter(|(entry, _)| entry.key.seqno < read_seqno && in_bounds_in(&order, &entry.key.user_key, &lower, &upper))
            .collect();
        let visible_skipping = |skipped: &dyn Fn(usize) -> bool| -> Vec<InternalEntry> {
            in_tables
                .iter()
                .filter(|(_, idx)| !skipped(*idx))
                .map(|(entry, _)| entry.clone())
                .collect()
        };
        let mut visible = visible_skipping(&|_| false);
        let (mut front, mut back) = (0, visible.len());
        let run_tables = tables.iter().map(|(table, _)| table.clone()).collect();
        let mut run = lsm_table::RunIter::new(run_tables, (lower, upper), read_seqno);
        for op in ops {
            match op {
                RunOp::Next => {
                    prop_assert_eq!(run.next().transpose().unwrap(), step(&visible, &mut front, &mut back, true));
                }
                RunOp::NextBack => {
                    prop_assert_eq!(run.next_back().transpose().unwrap(), step(&visible, &mut front, &mut back, false));
                }
                RunOp::Reposition(window_lower, window_upper) => {
                    run.reposition((window_lower.clone(), window_upper.clone()));
                    visible = visible_skipping(&|_| false);
                    (front, back) = window_in(&order, &visible, &window_lower, &window_upper);
                }
                RunOp::RepositionSkipping(window_lower, window_upper, mask) => {
                    let skipped = |idx: usize| idx < 8 && mask & (1 << idx) != 0;
                    let skipped_mins: Vec<_> = tables
                        .iter()
                        .enumerate()
                        .filter(|(idx, _)| skipped(*idx))
                        .map(|(_, (table, _))| table.properties().key_min.clone())
                        .collect();
                    run.reposition_skipping((window_lower.clone(), window_upper.clone()), |table| {
                        skipped_mins.contains(&table.properties().key_min)
                    });
                    visible = visible_skipping(&skipped);
                    (front, back) = window_in(&order, &visible, &window_lower, &window_upper);
                }
            }
        }
    }
}
