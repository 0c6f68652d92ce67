//! Every strategy's choice on random versions is valid, and once applied keeps the level
//! invariants: no overlap inside a run, level-0 runs in age order, one run per level
//! below 0 under leveled compaction.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::HashSet;

use lsm_compaction::{
    Choice, CompactionState, CompactionStrategy, Fifo, Leveled, Major, SizeTiered, validate,
};
use lsm_core::{KeyOrder, KeyRange, UserKey};

const LEX: KeyOrder = KeyOrder::lexicographic();
use lsm_version::{TableMeta, Version, VersionEdit};
use proptest::prelude::*;

const LEVELS: usize = 7;

fn key(point: u16) -> UserKey {
    UserKey::from(format!("{point:05}"))
}

/// Tables described as (key points, size): consecutive disjoint ranges.
fn disjoint_tables(points: &[u16]) -> Vec<(u16, u16)> {
    let mut sorted: Vec<u16> = points.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .collect()
}

/// A random version: deeper levels older; level 0 runs newest first.
fn version_strategy() -> impl Strategy<Value = (Version, Vec<u64>)> {
    (
        prop::collection::vec(prop::collection::vec(0..2_000_u16, 0..12), LEVELS - 1),
        prop::collection::vec(prop::collection::vec(0..2_000_u16, 2..6), 0..8),
        prop::collection::vec(1..50_u64, 64),
    )
        .prop_map(|(deep, level0, sizes)| {
            let mut version = Version::new(LEVELS);
            let mut next_id = 1;
            let mut seqno = 1;
            let meta = |min: u16, max: u16, seqno_range: (u64, u64), next_id: &mut u64| {
                let id = *next_id;
                *next_id += 1;
                TableMeta {
                    id,
                    key_range: KeyRange::new(&LEX, key(min), key(max)),
                    seqno_min: seqno_range.0,
                    seqno_max: seqno_range.1,
                    size_bytes: sizes[usize::try_from(id).unwrap() % sizes.len()] << 20,
                    entry_count: 100,
                    tombstone_count: 0,
                    blob_refs: Vec::new(),
                    digest: None,
                    global_seqno: None,
                }
            };
            // Oldest first: the last level, up to level 1, then level-0 runs.
            for (offset, points) in deep.iter().enumerate().rev() {
                let level = u8::try_from(offset + 1).unwrap();
                let tables: Vec<_> = disjoint_tables(points)
                    .into_iter()
                    .map(|(min, max)| meta(min, max, (seqno, seqno + 9), &mut next_id))
                    .collect();
                seqno += 10;
                if !tables.is_empty() {
                    version = version.apply(&VersionEdit {
                        added: vec![(level, tables)],
                        ..VersionEdit::default()
                    });
                }
            }
            for points in level0 {
                let tables: Vec<_> = disjoint_tables(&points)
                    .into_iter()
                    .map(|(min, max)| meta(min, max, (seqno, seqno + 9), &mut next_id))
                    .collect();
                seqno += 10;
                if !tables.is_empty() {
                    version = version.apply(&VersionEdit {
                        added: vec![(0, tables)],
                        ..VersionEdit::default()
                    });
                }
            }
            let ids: Vec<u64> = version.tables().map(|table| table.id).collect();
            (version, ids)
        })
}

fn strategies() -> Vec<Box<dyn CompactionStrategy>> {
    let small = 4 << 20;
    vec![
        Box::new(
            Leveled::default()
                .with_table_target_size(small)
                .with_l0_threshold(2),
        ),
        Box::new(
            Leveled::default()
                .with_table_target_size(small)
                .with_dynamic_level_bytes(true),
        ),
        Box::new(
            Leveled::default()
                .with_table_target_size(small)
                .with_multi_level(true)
                .with_l0_threshold(3),
        ),
        Box::new(SizeTiered::default().with_min_merge_width(2)),
        Box::new(SizeTiered::default().with_max_space_amplification_percent(50)),
        Box::new(Fifo::new(200 << 20, Some(1))),
        Box::new(Major::new(small)),
    ]
}

/// Applies `choice` as the worker would, with one output table per merge.
fn apply(version: &Version, choice: &Choice) -> Version {
    let next_id = version.next_table_id();
    match choice {
        Choice::DoNothing => version.clone(),
        Choice::Drop(ids) => version.apply(&VersionEdit {
            removed: ids.iter().copied().collect(),
            ..VersionEdit::default()
        }),
        Choice::Move(input) => {
            let moved: Vec<_> = version
                .tables()
                .filter(|t| input.table_ids.contains(&t.id))
                .map(|t| (**t).clone())
                .collect();
            version.apply(&VersionEdit {
                removed: moved.iter().map(|t| t.id).collect(),
                added: vec![(input.dest_level, moved)],
                ..VersionEdit::default()
            })
        }
        Choice::Merge(input) => {
            let inputs: Vec<_> = version
                .tables()
                .filter(|t| input.table_ids.contains(&t.id))
                .collect();
            let output = TableMeta {
                id: next_id,
                key_range: inputs
                    .iter()
                    .map(|t| t.key_range.clone())
                    .reduce(|a, b| a.union(&LEX, &b))
                    .unwrap(),
                seqno_min: inputs.iter().map(|t| t.seqno_min).min().unwrap(),
                seqno_max: inputs.iter().map(|t| t.seqno_max).max().unwrap(),
                size_bytes: inputs.iter().map(|t| t.size_bytes).sum(),
                entry_count: 1,
                tombstone_count: 0,
                blob_refs: Vec::new(),
                digest: None,
                global_seqno: None,
            };
            version.apply(&VersionEdit {
                removed: input.table_ids.iter().copied().collect(),
                added: vec![(input.dest_level, vec![output])],
                next_table_id: next_id + 1,
                ..VersionEdit::default()
            })
        }
    }
}

fn check_invariants(version: &Version, leveled: bool) {
    let runs = version.levels()[0].runs();
    for pair in runs.windows(2) {
        let newer_min = pair[0].tables().iter().map(|t| t.seqno_min).min().unwrap();
        let older_max = pair[1].tables().iter().map(|t| t.seqno_max).max().unwrap();
        assert!(newer_min > older_max, "level-0 runs out of age order");
    }
    if leveled {
        for (idx, level) in version.levels().iter().enumerate().skip(1) {
            assert!(
                level.runs().len() <= 1,
                "level {idx} holds {} runs",
                level.runs().len()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn choices_are_valid_and_keep_the_invariants(
        (version, ids) in version_strategy(),
        busy_mask in any::<u64>(),
        steps in 1..6_usize,
    ) {
        let busy: HashSet<u64> = ids.iter().copied().filter(|id| busy_mask >> (id % 64) & 1 == 1 && busy_mask % 3 == 0).collect();
        let state = CompactionState { busy_tables: busy, now_ms: 10_000, table_created_ms: ids.iter().map(|&id| (id, id * 500)).collect() };
        for (idx, strategy) in strategies().iter().enumerate() {
            let leveled = idx < 3;
            let mut current = version.clone();
            for _ in 0..steps {
                let choice = strategy.choose(&current, &state);
                validate(&current, &state, &choice).map_err(|refusal| {
                    TestCaseError::fail(format!("{}: {refusal}: {choice:?}", strategy.get_name()))
                })?;
                current = apply(&current, &choice);
                check_invariants(&current, leveled && version.levels().iter().skip(1).all(|l| l.runs().len() <= 1));
                let _ = strategy.pending_compaction_bytes(&current);
            }
        }
    }
}

#[test]
fn leveled_merges_level0_at_its_trigger_and_moves_what_overlaps_nothing() {
    let mut version = Version::new(LEVELS);
    let table = |id: u64, min: u16, max: u16, seqno: u64| TableMeta {
        id,
        key_range: KeyRange::new(&LEX, key(min), key(max)),
        seqno_min: seqno,
        seqno_max: seqno,
        size_bytes: 1 << 20,
        entry_count: 1,
        tombstone_count: 0,
        blob_refs: Vec::new(),
        digest: None,
        global_seqno: None,
    };
    let strategy = Leveled::default().with_l0_threshold(2);
    let state = CompactionState::default();
    version = version.apply(&VersionEdit {
        added: vec![(0, vec![table(1, 0, 10, 1)])],
        ..VersionEdit::default()
    });
    assert_eq!(strategy.choose(&version, &state), Choice::DoNothing);
    let moved = Leveled::default()
        .with_l0_threshold(1)
        .choose(&version, &state);
    assert!(
        matches!(moved, Choice::Move(ref input) if input.dest_level == 1),
        "{moved:?}"
    );
    version = version.apply(&VersionEdit {
        added: vec![(0, vec![table(2, 5, 20, 2)])],
        ..VersionEdit::default()
    });
    let merged = strategy.choose(&version, &state);
    assert!(
        matches!(merged, Choice::Merge(ref input) if input.dest_level == 1 && input.table_ids.len() == 2),
        "{merged:?}"
    );
    let busy = CompactionState {
        busy_tables: HashSet::from([1]),
        ..CompactionState::default()
    };
    assert_eq!(strategy.choose(&version, &busy), Choice::DoNothing);
    // While runs 1 and 2 go down to level 1, two more are flushed: they merge within
    // level 0, in front of the busy runs.
    let merging_down = CompactionState {
        busy_tables: HashSet::from([1, 2]),
        ..CompactionState::default()
    };
    for (id, seqno) in [(3, 3), (4, 4)] {
        assert_eq!(strategy.choose(&version, &merging_down), Choice::DoNothing);
        version = version.apply(&VersionEdit {
            added: vec![(0, vec![table(id, 0, 30, seqno)])],
            ..VersionEdit::default()
        });
    }
    let intra = strategy.choose(&version, &merging_down);
    assert!(
        matches!(intra, Choice::Merge(ref input) if input.dest_level == 0 && input.table_ids == HashSet::from([3, 4])),
        "{intra:?}"
    );
    validate(&version, &merging_down, &intra).unwrap();
}

#[test]
fn leveled_serves_the_most_oversized_level_first() {
    let table = |id: u64, level_min: u16, size_mib: u64| TableMeta {
        id,
        key_range: KeyRange::new(&LEX, key(level_min), key(level_min + 9)),
        seqno_min: id,
        seqno_max: id,
        size_bytes: size_mib << 20,
        entry_count: 1,
        tombstone_count: 0,
        blob_refs: Vec::new(),
        digest: None,
        global_seqno: None,
    };
    // Level 1's target is 4 x 1 MiB: 20 MiB in it scores 5, four level-0 runs score 1.
    let strategy = Leveled::default()
        .with_l0_threshold(4)
        .with_table_target_size(1 << 20);
    let state = CompactionState::default();
    let mut version = Version::new(LEVELS);
    version = version.apply(&VersionEdit {
        added: vec![(
            1,
            (0..20)
                .map(|idx: u16| table(100 + u64::from(idx), idx * 10, 1))
                .collect(),
        )],
        ..VersionEdit::default()
    });
    for id in 1..=4 {
        version = version.apply(&VersionEdit {
            added: vec![(0, vec![table(id, 0, 1)])],
            ..VersionEdit::default()
        });
    }
    let choice = strategy.choose(&version, &state);
    assert!(
        matches!(choice, Choice::Move(ref input) | Choice::Merge(ref input) if input.dest_level == 2),
        "level 1 goes down first: {choice:?}"
    );
    // With level 1 at its target, level 0 goes first again.
    let mut small = Version::new(LEVELS);
    small = small.apply(&VersionEdit {
        added: vec![(1, vec![table(100, 0, 1)])],
        ..VersionEdit::default()
    });
    for id in 1..=4 {
        small = small.apply(&VersionEdit {
            added: vec![(0, vec![table(id, 0, 1)])],
            ..VersionEdit::default()
        });
    }
    let choice = strategy.choose(&small, &state);
    assert!(
        matches!(choice, Choice::Merge(ref input) if input.dest_level == 1),
        "{choice:?}"
    );
}

#[test]
fn leveled_moves_level0_runs_that_share_no_key() {
    let table = |id: u64, min: u16, max: u16| TableMeta {
        id,
        key_range: KeyRange::new(&LEX, key(min), key(max)),
        seqno_min: id,
        seqno_max: id,
        size_bytes: 1 << 20,
        entry_count: 1,
        tombstone_count: 0,
        blob_refs: Vec::new(),
        digest: None,
        global_seqno: None,
    };
    let strategy = Leveled::default().with_l0_threshold(3);
    let state = CompactionState::default();
    // A sequential load: three runs of ascending, disjoint keys over an empty base.
    let mut version = Version::new(LEVELS);
    for (id, min) in [(1, 0), (2, 100), (3, 200)] {
        version = version.apply(&VersionEdit {
            added: vec![(0, vec![table(id, min, min + 50)])],
            ..VersionEdit::default()
        });
    }
    let choice = strategy.choose(&version, &state);
    assert!(
        matches!(choice, Choice::Move(ref input) if input.dest_level == 1 && input.table_ids.len() == 3),
        "{choice:?}"
    );
    assert_eq!(validate(&version, &state, &choice), Ok(()));
    // One run overlapping another: they merge.
    let overlapping = version.apply(&VersionEdit {
        added: vec![(0, vec![table(4, 120, 130)])],
        ..VersionEdit::default()
    });
    let choice = strategy.choose(&overlapping, &state);
    assert!(matches!(choice, Choice::Merge(_)), "{choice:?}");
    // Moving overlapping tables below level 0 is refused.
    let Choice::Merge(input) = choice else {
        unreachable!()
    };
    let forced = Choice::Move(input);
    assert!(validate(&overlapping, &state, &forced).is_err());
}

#[test]
fn tiered_merges_only_the_newest_runs() {
    let mut version = Version::new(LEVELS);
    // Runs of 1, 1, 1, 50 MiB, newest first after the loop: the small ones merge, the
    // big old one stays.
    for (id, size) in [(1_u64, 50_u64), (2, 1), (3, 1), (4, 1)] {
        let meta = TableMeta {
            id,
            key_range: KeyRange::new(&LEX, key(0), key(100)),
            seqno_min: id * 10,
            seqno_max: id * 10 + 5,
            size_bytes: size << 20,
            entry_count: 1,
            tombstone_count: 0,
            blob_refs: Vec::new(),
            digest: None,
            global_seqno: None,
        };
        version = version.apply(&VersionEdit {
            added: vec![(0, vec![meta])],
            ..VersionEdit::default()
        });
    }
    let choice = SizeTiered::default()
        .with_min_merge_width(3)
        .choose(&version, &CompactionState::default());
    let Choice::Merge(input) = choice else {
        panic!("{choice:?}")
    };
    assert_eq!(input.table_ids, HashSet::from([2, 3, 4]));
}
