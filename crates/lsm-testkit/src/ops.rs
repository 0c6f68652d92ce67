//! Seeded operation generators for model-based and crash tests of a tree.
//!
//! [`Op`] is one step a test applies to a tree and to the [`crate::oracle::Oracle`]:
//! writes over a small key space (so keys collide, get overwritten and deleted), reads at
//! a choice of snapshot, scans with a pattern of front and back steps, and the version
//! changes (rotation, flush with or without a GC watermark, `drop_range`, `clear`,
//! checkpoint, reopen). [`op_strategy`] draws them for proptest (which shrinks a failing
//! sequence); [`ops_from_seed`] draws the same mix from a seed, for loops that are not
//! proptests (crash enumeration, stress).

use std::ops::Bound;

use proptest::prelude::{Just, Strategy, any, prop, prop_oneof};
use proptest::strategy::BoxedStrategy;

use crate::model::bound_strategy;
use crate::rng::Rng;

/// Keys of the generated operations.
pub const KEY_COUNT: u8 = 24;

/// One operation; key arguments index [`key`], `u16` arguments choose a read seqno
/// between the oldest promised one and the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write a value (its length derives from the `u16`).
    Insert(u8, u16),
    /// Write a merge operand (its bytes derive from the `u16`).
    Merge(u8, u16),
    /// Delete the keys of [`range_bounds`]`(start, span)` with one range tombstone.
    RemoveRange(u8, u8),
    /// Delete a key.
    Remove(u8),
    /// Delete a key with a weak tombstone.
    RemoveWeak(u8),
    /// Read one key.
    Get(u8, u16),
    /// Read several keys from one snapshot.
    MultiGet(Vec<u8>, u16),
    /// Scan a range, stepping from the front where the pattern says `true`.
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>, u16, Vec<bool>),
    /// Scan the keys starting with one of the first letters.
    Prefix(u8, u16),
    /// Scan a range through an overlay memtable holding the writes (at fresh seqnos,
    /// above every version of the tree), of which the first `u8` are visible at the
    /// overlay's read seqno; the tree is read at the `u16`'s choice.
    OverlayScan(
        Vec<OverlayWrite>,
        u8,
        Bound<Vec<u8>>,
        Bound<Vec<u8>>,
        u16,
        Vec<bool>,
    ),
    /// Seal the active memtable.
    Rotate,
    /// Flush everything, with a GC watermark a few seqnos back when `true`.
    Flush(bool),
    /// One compaction step of strategy `n` (leveled, tiered, ...: the harness's list),
    /// with a GC watermark a few seqnos back when `true`.
    Compact(u8, bool),
    /// A major compaction, with a GC watermark a few seqnos back when `true`.
    MajorCompact(bool),
    /// Drop the tables wholly inside a range.
    DropRange(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// Remove everything.
    Clear,
    /// Write a checkpoint and open it.
    Checkpoint,
    /// Close and reopen the tree.
    Reopen,
    /// Bulk-load these keys (in the tree's order, the first of duplicates kept): a
    /// value (its length derives from the `u16`) or, for `None`, a tombstone.
    Ingest(Vec<(u8, Option<u16>)>),
    /// Change the settings of the tables written from now on to preset `n` (the
    /// harness's list): the answers must not change.
    Tune(u8),
}

/// Presets [`Op::Tune`] chooses among.
pub const TUNE_PRESET_COUNT: u8 = 4;

/// One write into an overlay memtable of [`Op::OverlayScan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayWrite {
    /// Write a value (as [`Op::Insert`]).
    Insert(u8, u16),
    /// Delete a key.
    Remove(u8),
    /// Delete the keys of [`range_bounds`]`(start, span)` with one range tombstone.
    RemoveRange(u8, u8),
}

/// The key with index `idx`: a letter and a digit, so that prefixes group keys.
#[must_use]
pub fn key(idx: u8) -> Vec<u8> {
    format!("{}{}", char::from(b'a' + idx / 6), idx % 6).into_bytes()
}

/// The bounds an [`Op::RemoveRange`] deletes: from key `start` (the empty key for 0) to
/// the key `span` further on (past every key when that runs off the end).
#[must_use]
pub fn range_bounds(start: u8, span: u8) -> (Vec<u8>, Vec<u8>) {
    let lower = if start == 0 { Vec::new() } else { key(start) };
    let end_idx = u16::from(start) + u16::from(span);
    let upper = u8::try_from(end_idx)
        .ok()
        .filter(|&idx| idx < KEY_COUNT)
        .map_or_else(|| b"z".to_vec(), key);
    (lower, upper)
}

/// The operand an [`Op::Merge`] writes.
#[must_use]
pub fn operand(seed: u16) -> Vec<u8> {
    format!("+{seed}").into_bytes()
}

/// The merge function model and crash tests use: the base (or nothing) with the
/// operands appended, oldest first. It is associative, as merge operators must be.
#[must_use]
pub fn concat(base: Option<&[u8]>, operands: &[&[u8]]) -> Vec<u8> {
    let mut out = base.unwrap_or_default().to_vec();
    for operand in operands {
        out.extend_from_slice(operand);
    }
    out
}

/// The value an [`Op::Insert`] writes.
#[must_use]
pub fn value(seed: u16) -> Vec<u8> {
    format!("v{seed}-{}", "x".repeat(usize::from(seed % 64))).into_bytes()
}

fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    (0..KEY_COUNT).prop_map(key)
}

/// Compaction strategies [`Op::Compact`] chooses among.
pub const COMPACTION_STRATEGY_COUNT: u8 = 3;

/// Operations in the mix the model test uses: with `compaction`, compaction steps take
/// the place of `drop_range` (whose effect a model can only predict while tables are
/// exactly the flushes that made them).
pub fn op_strategy(compaction: bool) -> impl Strategy<Value = Op> {
    let version_change = if compaction {
        prop_oneof![
            3 => (0..COMPACTION_STRATEGY_COUNT, any::<bool>()).prop_map(|(n, gc)| Op::Compact(n, gc)),
            1 => any::<bool>().prop_map(Op::MajorCompact),
        ]
        .boxed()
    } else {
        (bound_strategy(key_strategy), bound_strategy(key_strategy))
            .prop_map(|(lower, upper)| Op::DropRange(lower, upper))
            .boxed()
    };
    op_mix(version_change)
}

fn op_mix(version_change: BoxedStrategy<Op>) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..KEY_COUNT, any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => (0..KEY_COUNT, any::<u16>()).prop_map(|(k, v)| Op::Merge(k, v)),
        2 => (0..KEY_COUNT, 0..8_u8).prop_map(|(k, span)| Op::RemoveRange(k, span)),
        3 => (0..KEY_COUNT).prop_map(Op::Remove),
        2 => (0..KEY_COUNT).prop_map(Op::RemoveWeak),
        6 => (0..KEY_COUNT, any::<u16>()).prop_map(|(k, at)| Op::Get(k, at)),
        2 => (prop::collection::vec(0..KEY_COUNT, 0..6), any::<u16>())
            .prop_map(|(keys, at)| Op::MultiGet(keys, at)),
        4 => (
            bound_strategy(key_strategy),
            bound_strategy(key_strategy),
            any::<u16>(),
            prop::collection::vec(any::<bool>(), 0..40),
        )
            .prop_map(|(lower, upper, at, ends)| Op::Scan(lower, upper, at, ends)),
        2 => (0..4_u8, any::<u16>()).prop_map(|(p, at)| Op::Prefix(p, at)),
        2 => (
            prop::collection::vec(overlay_write_strategy(), 0..8),
            any::<u8>(),
            bound_strategy(key_strategy),
            bound_strategy(key_strategy),
            any::<u16>(),
            prop::collection::vec(any::<bool>(), 0..40),
        )
            .prop_map(|(writes, visible, lower, upper, at, ends)| {
                let visible = visible % (u8::try_from(writes.len()).expect("short") + 1);
                Op::OverlayScan(writes, visible, lower, upper, at, ends)
            }),
        1 => Just(Op::Rotate),
        3 => any::<bool>().prop_map(Op::Flush),
        2 => version_change,
        1 => Just(Op::Clear),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
        1 => prop::collection::vec((0..KEY_COUNT, prop::option::of(any::<u16>())), 0..8)
            .prop_map(Op::Ingest),
        1 => (0..TUNE_PRESET_COUNT).prop_map(Op::Tune),
    ]
}

fn overlay_write_strategy() -> impl Strategy<Value = OverlayWrite> {
    prop_oneof![
        3 => (0..KEY_COUNT, any::<u16>()).prop_map(|(k, v)| OverlayWrite::Insert(k, v)),
        2 => (0..KEY_COUNT).prop_map(OverlayWrite::Remove),
        2 => (0..KEY_COUNT, 0..8_u8).prop_map(|(k, span)| OverlayWrite::RemoveRange(k, span)),
    ]
}

/// `count` write-heavy operations drawn from `seed`: inserts, removes and weak removes,
/// a flush every dozen or so, compaction steps (strategy `n` in `0..=COMPACTION_STRATEGY_COUNT`,
/// the last one standing for FIFO), a rare major compaction and a rare `clear`; no reads
/// and no reopen (the caller checks and crashes).
#[must_use]
pub fn ops_from_seed(seed: u64, count: usize) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let key_idx = u8::try_from(rng.below(u64::from(KEY_COUNT))).expect("below KEY_COUNT");
            match rng.below(100) {
                0..=53 => Op::Insert(key_idx, u16::try_from(rng.below(1 << 16)).expect("16 bits")),
                54..=56 => Op::RemoveRange(key_idx, u8::try_from(rng.below(8)).expect("small")),
                57..=64 => Op::Merge(key_idx, u16::try_from(rng.below(1 << 16)).expect("16 bits")),
                65..=76 => Op::Remove(key_idx),
                77..=81 => Op::RemoveWeak(key_idx),
                82..=91 => Op::Flush(rng.below(4) == 0),
                92..=96 => Op::Compact(
                    u8::try_from(rng.below(u64::from(COMPACTION_STRATEGY_COUNT) + 1))
                        .expect("small"),
                    rng.below(2) == 0,
                ),
                97 => Op::MajorCompact(rng.below(2) == 0),
                _ => Op::Clear,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sequences_repeat_and_mix_every_write_kind() {
        let ops = ops_from_seed(3, 2_000);
        assert_eq!(ops, ops_from_seed(3, 2_000));
        assert_ne!(ops, ops_from_seed(4, 2_000));
        for wanted in [
            |op: &Op| matches!(op, Op::Insert(..)),
            |op: &Op| matches!(op, Op::Merge(..)),
            |op: &Op| matches!(op, Op::RemoveRange(..)),
            |op: &Op| matches!(op, Op::Remove(_)),
            |op: &Op| matches!(op, Op::RemoveWeak(_)),
            |op: &Op| matches!(op, Op::Flush(_)),
            |op: &Op| matches!(op, Op::Clear),
            |op: &Op| matches!(op, Op::Compact(..)),
            |op: &Op| matches!(op, Op::MajorCompact(_)),
        ] {
            assert!(ops.iter().any(wanted));
        }
        assert_eq!(key(0), b"a0");
        assert_eq!(key(KEY_COUNT - 1), b"d5");
    }
}
