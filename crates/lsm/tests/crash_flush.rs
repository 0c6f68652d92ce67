//! Crash-point enumeration over flushes, compactions (leveled, dynamic leveled,
//! size-tiered, FIFO drops, major), manifest roll-overs and `clear` (workloads W1-W4, W7
//! and W8 of the reliability spec, goals G1 and G2), and the same with key-value
//! separation, so that blob files are written, relocated and deleted (W6): seeded workloads are cut at every
//! mutating I/O, each cut is turned into a crash image under every crash model, and the
//! image must open, hold exactly the state of a version change at or after the last
//! acknowledged one, stay writable, and hold no orphan table after a second open. A
//! sample of images is crashed again at every operation of its recovery. Two jobs
//! interleave in a workload of their own: a merge down held in the middle of its
//! outputs while flushes and a merge within level 0 run and install.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::{AtomicUsize, Ordering};

use lsm::compaction::{CompactionAction, CompactionStrategy, Fifo, Leveled, SizeTiered};
use lsm::config::CompressionPolicy;
use lsm::encryption::EncryptionProvider;
use lsm::{
    AbstractTree, Aes256GcmProvider, AnyTree, CompressionType, Config, Fs, Guard,
    KvSeparationOptions, SequenceNumberCounter, ZstdDictionary,
};
use lsm_testkit::ops::{COMPACTION_STRATEGY_COUNT, Op, concat, key, operand, ops_from_seed, value};

#[path = "support/common.rs"]
mod common;
use common::{Concat, Gate};
use lsm_testkit::orders::TestOrder;
use lsm_testkit::reliability;
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Merges done by the workloads' compaction steps (all runs, for the report).
static MERGES: AtomicUsize = AtomicUsize::new(0);

/// Workloads (seeds) and operations per workload.
const SEEDS: u64 = 24;
const OPS_PER_WORKLOAD: usize = 90;
/// Workloads of the blob variant (W6).
const BLOB_SEEDS: u64 = 10;

/// The key-value separation of the blob workload (W6): a mixed threshold, small blob
/// files and eager collection, so that blob writes, relocations and blob file
/// deletions all happen within a few flushes and compactions.
fn blob_separation() -> KvSeparationOptions {
    KvSeparationOptions::default()
        .separation_threshold(24)
        .file_target_size(512)
        .staleness_threshold(0.2)
        .age_cutoff(0.5)
}

/// What a workload's tree is: key-value separated or not, and sealed (encrypted, with
/// data blocks compressed with a zstd dictionary) or not.
#[derive(Clone, Copy)]
struct Shape<'a> {
    separation: Option<&'a KvSeparationOptions>,
    sealed: bool,
    /// The keys' order (the tree's comparator).
    order: TestOrder,
    /// The first level kept in `/cold` (a level route), if any.
    route: Option<u8>,
}

impl<'a> Shape<'a> {
    /// Plain, key-value separated, sealed and routed, in turn by `seed`.
    fn by_seed(seed: u64, separation: &'a KvSeparationOptions) -> Self {
        match seed % 4 {
            0 => Self::PLAIN,
            1 => Self::blob(separation),
            2 => Self {
                sealed: true,
                ..Self::PLAIN
            },
            _ => Self {
                route: Some(1),
                ..Self::PLAIN
            },
        }
    }

    const PLAIN: Self = Self {
        separation: None,
        sealed: false,
        order: TestOrder::Lexicographic,
        route: None,
    };

    fn blob(separation: &'a KvSeparationOptions) -> Self {
        Self {
            separation: Some(separation),
            ..Self::PLAIN
        }
    }
}

/// The dictionary of the sealed workloads.
fn sealed_dictionary() -> ZstdDictionary {
    ZstdDictionary::new(b"key-value-operand-00-01-02-03-04-05-06-07-08-09")
}

fn open(fs: &SimFs, seqno: &SequenceNumberCounter, shape: Shape<'_>) -> lsm::Result<AnyTree> {
    config(fs, seqno, shape).open()
}

fn config(fs: &SimFs, seqno: &SequenceNumberCounter, shape: Shape<'_>) -> Config {
    let config = Config::new("/db", seqno.clone(), SequenceNumberCounter::default());
    let config = match shape.order.comparator() {
        Some(comparator) => config.comparator(comparator),
        None => config,
    };
    let config = match shape.route {
        Some(first_level) => config.level_route(first_level, "/cold"),
        None => config,
    };
    config
        .with_shared_fs(Arc::new(fs.clone()))
        .with_kv_separation(shape.separation.cloned())
        .with_encryption(
            shape.sealed.then(|| {
                Arc::new(Aes256GcmProvider::new(&[0x33; 32])) as Arc<dyn EncryptionProvider>
            }),
        )
        .data_block_compression_policy(CompressionPolicy::all(if shape.sealed {
            CompressionType::zstd_dict(1, sealed_dictionary().id()).unwrap()
        } else {
            CompressionType::None
        }))
        .zstd_dictionary(shape.sealed.then(|| Arc::new(sealed_dictionary())))
        // Roll the manifest every few edits.
        .manifest_log_rotate_bytes(300)
        .with_merge_operator(Some(Arc::new(Concat)))
}

/// Runs workload `seed` until it ends or an operation fails; returns how many version
/// changes (flushes, compactions and clears) were acknowledged. `states` receives the state after
/// each change, the empty state first.
fn workload(fs: &SimFs, seed: u64, shape: Shape<'_>, states: &mut Vec<State>) -> usize {
    let seqno = SequenceNumberCounter::default();
    // Everything written, and what is durable (as of the last flush or clear).
    let mut state = State::new();
    let mut durable = State::new();
    // Values per key since its last delete: a weak delete promises at most one.
    let mut puts_since_delete: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    states.push(durable.clone());
    let Ok(tree) = open(fs, &seqno, shape) else {
        return 0;
    };
    let key = |k| shape.order.key(k);
    let order = shape.order.key_order();
    let mut acknowledged = 0;
    let mut change = |result: lsm::Result<()>, durable: &State, acknowledged: &mut usize| {
        if result.is_ok() {
            *acknowledged += 1;
            states.push(durable.clone());
        }
        result.is_ok()
    };
    for op in ops_from_seed(seed, OPS_PER_WORKLOAD) {
        let ok = match op {
            Op::Insert(k, v) => {
                *puts_since_delete.entry(key(k)).or_insert(0) += 1;
                tree.insert(key(k), value(v), seqno.next());
                state.insert(key(k), value(v));
                true
            }
            Op::Merge(k, v) => {
                // A merge is another value as far as the weak-delete contract goes.
                *puts_since_delete.entry(key(k)).or_insert(0) += 2;
                tree.merge(key(k), operand(v), seqno.next());
                let merged = concat(state.get(&key(k)).map(Vec::as_slice), &[&operand(v)]);
                state.insert(key(k), merged);
                true
            }
            Op::RemoveRange(start, span) => {
                let (lower, upper) = shape.order.range_bounds(start, span);
                tree.remove_range(lower.clone(), upper.clone(), seqno.next());
                let in_range = |k: &Vec<u8>| order.le(&lower, k) && order.lt(k, &upper);
                state.retain(|k, _| !in_range(k));
                for (k, count) in &mut puts_since_delete {
                    if in_range(k) {
                        *count = 0;
                    }
                }
                true
            }
            Op::Remove(k) | Op::RemoveWeak(k) => {
                let weak = matches!(op, Op::RemoveWeak(_))
                    && puts_since_delete.get(&key(k)).copied().unwrap_or(0) <= 1;
                puts_since_delete.insert(key(k), 0);
                if weak {
                    tree.remove_weak(key(k), seqno.next());
                } else {
                    tree.remove(key(k), seqno.next());
                }
                state.remove(&key(k));
                true
            }
            Op::Flush(with_gc) => {
                let watermark = if with_gc { seqno.get() } else { 0 };
                let flushed = tree.flush_active_memtable(watermark);
                if flushed.is_ok() {
                    durable = state.clone();
                }
                change(flushed, &durable, &mut acknowledged)
            }
            Op::Clear => {
                let cleared = tree.clear();
                if cleared.is_ok() {
                    state.clear();
                    durable.clear();
                    puts_since_delete.clear();
                }
                change(cleared, &durable, &mut acknowledged)
            }
            Op::Compact(n, with_gc) if n == COMPACTION_STRATEGY_COUNT => {
                // FIFO drops data: flush first, so that the state after the drop is what
                // the tables hold (this checks that a crash leaves the state before or
                // after the drop, not FIFO's choice itself).
                let flushed = tree.flush_active_memtable(0);
                if flushed.is_ok() {
                    durable = state.clone();
                }
                if !change(flushed, &durable, &mut acknowledged) {
                    return acknowledged;
                }
                let watermark = if with_gc { seqno.get() } else { 0 };
                let dropped = tree
                    .compact(Arc::new(Fifo::new(tree.disk_space() / 2, None)), watermark)
                    .map(|_| ());
                if dropped.is_ok() {
                    // The machine may go off right after the drop (deleting the
                    // dropped files): the drop counts, and the workload ends.
                    let Some(after) = try_scan(&tree) else {
                        return acknowledged + 1;
                    };
                    state = after;
                    durable = state.clone();
                    // Dropped tables may uncover older values.
                    for count in puts_since_delete.values_mut() {
                        *count = 2;
                    }
                }
                change(dropped, &durable, &mut acknowledged)
            }
            Op::Compact(n, with_gc) => {
                let watermark = if with_gc { seqno.get() } else { 0 };
                let strategy: Arc<dyn CompactionStrategy> = match n {
                    0 => Arc::new(
                        Leveled::default()
                            .with_l0_threshold(2)
                            .with_table_target_size(2 << 10),
                    ),
                    1 => Arc::new(
                        Leveled::default()
                            .with_l0_threshold(2)
                            .with_table_target_size(1 << 10)
                            .with_dynamic_level_bytes(true),
                    ),
                    _ => Arc::new(SizeTiered::default().with_min_merge_width(2)),
                };
                {
                    let compacted = tree.compact(strategy, watermark);
                    if compacted
                        .as_ref()
                        .is_ok_and(|result| result.action == CompactionAction::Merged)
                    {
                        MERGES.fetch_add(1, Ordering::Relaxed);
                    }
                    change(compacted.map(|_| ()), &durable, &mut acknowledged)
                }
            }
            Op::MajorCompact(with_gc) => {
                let watermark = if with_gc { seqno.get() } else { 0 };
                change(
                    tree.major_compact(2 << 10, watermark).map(|_| ()),
                    &durable,
                    &mut acknowledged,
                )
            }
            other => unreachable!("ops_from_seed draws no {other:?}"),
        };
        if !ok {
            if CHECK_IN_PROCESS.with(Cell::get) {
                // A fault, not a crash: the tree still answers every write made, from
                // memory and the files it has (read-only is allowed).
                let answers = try_scan(&tree).expect("reads go on after a fault");
                assert!(
                    answers == state,
                    "in process after a fault: a write is missing"
                );
            }
            return acknowledged;
        }
    }
    acknowledged
}

thread_local! {
    /// Whether a workload that stops at a failed change checks its tree first (set by
    /// the fault sweep: after a crash, the machine is off and nothing can be read).
    static CHECK_IN_PROCESS: Cell<bool> = const { Cell::new(false) };
}

fn try_scan(tree: &AnyTree) -> Option<State> {
    tree.iter(lsm::SeqNo::MAX, None)
        .map(|item| {
            let (key, value) = item.into_inner().ok()?;
            Some((key.to_vec(), value.to_vec()))
        })
        .collect()
}

fn scan(tree: &AnyTree) -> State {
    tree.iter(lsm::SeqNo::MAX, None)
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

/// Numerically named files in `dir` of the tree (tables or blob files), and in the
/// same directory of its level route.
fn files_in(fs: &SimFs, dir: &str) -> usize {
    ["/db", "/cold"]
        .iter()
        .map(|root| common::file_ids(fs, &format!("{root}/{dir}")).len())
        .sum()
}

/// Opens a crash image and checks it; returns the index of the state it holds.
fn check_image(
    image: &SimFs,
    shape: Shape<'_>,
    states: &[State],
    acknowledged: usize,
    context: &str,
) -> usize {
    let seqno = SequenceNumberCounter::default();
    let tree = open(image, &seqno, shape)
        .unwrap_or_else(|error| panic!("{context}: open failed: {error}"));
    let recovered = scan(&tree);
    let held = (acknowledged..=acknowledged + 1)
        .rev()
        .filter(|&idx| idx < states.len())
        .find(|&idx| states[idx] == recovered)
        .unwrap_or_else(|| {
            panic!(
                "{context}: recovered {} keys, not the state of change {acknowledged} or the next",
                recovered.len()
            )
        });
    // Writable, and a second open finds the new write and no orphan.
    tree.insert("after-crash", "yes", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    drop(tree);
    let tree = open(image, &seqno, shape).unwrap();
    assert_eq!(
        tree.get("after-crash", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&b"yes"[..]),
        "{context}"
    );
    assert_eq!(
        files_in(image, "tables"),
        tree.table_count(),
        "{context}: orphan tables left"
    );
    assert_eq!(
        files_in(image, "blobs"),
        tree.blob_file_count(),
        "{context}: orphan blob files left"
    );
    held
}

/// Records a crash enumeration's figures for the reliability program: its crash images
/// (G1) and the crashes at every operation of a sample of their recoveries (G2).
fn report(harness: &str, images: usize, double_faults: usize, started: Instant) {
    reliability::record("G1", harness, images as u64, "crash images", started);
    reliability::record(
        "G2",
        harness,
        double_faults as u64,
        "faulted recoveries",
        started,
    );
}

/// Crashes workload `seed` at every operation under every model and checks each
/// image; every seventh image is also crashed at every operation of its recovery
/// (double faults) and checked again. Returns (images, recovery crash images).
fn enumerate(seed: u64, shape: Shape<'_>, rng: &mut Rng) -> (usize, usize) {
    enumerate_workload(workload, seed, shape, rng)
}

/// A workload: runs seed `seed` on a file system and returns the version changes it
/// acknowledged, pushing the state after each to `states` (see [`workload`]).
type Workload = fn(&SimFs, u64, Shape<'_>, &mut Vec<State>) -> usize;

/// [`enumerate`] for any workload whose I/O comes in the same order on every run.
fn enumerate_workload(
    workload: Workload,
    seed: u64,
    shape: Shape<'_>,
    rng: &mut Rng,
) -> (usize, usize) {
    let dry_run = SimFs::new();
    let mut states = Vec::new();
    let total = workload(&dry_run, seed, shape, &mut states);
    assert_eq!(states.len(), total + 1);
    let (mut images, mut double_faults, mut newest_held) = (0, 0, 0);
    for crash_point in 0..dry_run.op_count() {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        let acknowledged = workload(&fs, seed, shape, &mut Vec::new());
        assert!(
            fs.is_powered_off(),
            "seed {seed}: crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, rng);
            images += 1;
            if images % 7 == 0 {
                double_faults += crash_recovery(
                    &image,
                    shape,
                    &states,
                    acknowledged,
                    rng,
                    (seed, crash_point),
                );
            }
            let context = format!("seed {seed}, crash point {crash_point}, {model:?}");
            if images % REPAIR_EVERY == 0 {
                check_repair(&image, shape, &states, acknowledged, rng, &context);
            }
            newest_held =
                newest_held.max(check_image(&image, shape, &states, acknowledged, &context));
        }
    }
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, rng);
        assert_eq!(
            check_image(&image, shape, &states, total, "after the workload"),
            total
        );
    }
    assert_eq!(
        newest_held, total,
        "seed {seed}: the last change was durable at some crash point"
    );
    (images, double_faults)
}

/// Every this many crash images also loses its manifest and is repaired.
const REPAIR_EVERY: usize = 3;

/// Deletes the manifest of a copy of `image`, repairs it, and checks that the tree
/// holds the state of the last acknowledged change or the next: no table a merge
/// replaced, and none a change removed, brings back what it held.
fn check_repair(
    image: &SimFs,
    shape: Shape<'_>,
    states: &[State],
    acknowledged: usize,
    rng: &mut Rng,
    context: &str,
) {
    let copy = image.crash(CrashModel::KeepAll, rng);
    let seqno = SequenceNumberCounter::default();
    if !copy.exists(Path::new("/db")).unwrap() {
        assert!(
            config(&copy, &seqno, shape).repair().is_err(),
            "{context}: no tree to repair"
        );
        return;
    }
    let had_manifest = copy.exists(Path::new("/db/current")).unwrap();
    // Every other repair finds the manifest damaged instead of gone.
    let damage = REPAIRS.load(Ordering::Relaxed) % 2 == 1;
    for entry in copy.read_dir(Path::new("/db")).unwrap() {
        let name = entry.file_name().unwrap_or_default();
        if name.starts_with("manifest-") && damage {
            let file = copy
                .open(&entry.path, lsm::fs::OpenOptions::write())
                .unwrap();
            let len = file.len().unwrap();
            if len > 0 {
                let mut byte = [0];
                file.read_exact_at(&mut byte, len / 2).unwrap();
                file.write_all_at(&[byte[0] ^ 0x20], len / 2).unwrap();
            }
        } else if name == "current" || name.starts_with("manifest-") {
            copy.remove_file(&entry.path).unwrap();
        }
    }
    let report = config(&copy, &seqno, shape)
        .repair()
        .unwrap_or_else(|error| panic!("{context}: repair failed: {error}"));
    // A table or blob file cut short by the crash is quarantined; the state check
    // below shows that no acknowledged data was in it.
    let tree = open(&copy, &seqno, shape)
        .unwrap_or_else(|error| panic!("{context}: open after repair failed: {error}"));
    let recovered = try_scan(&tree)
        .unwrap_or_else(|| panic!("{context}: a scan after repair failed ({report:?})"));
    // Without a manifest, a crash before the tree's first one leaves the empty state.
    let first = if had_manifest { acknowledged } else { 0 };
    assert!(
        (first..=acknowledged + 1)
            .filter(|&idx| idx < states.len())
            .any(|idx| states[idx] == recovered),
        "{context}: repaired tree holds {} keys, not the state of change {acknowledged} or the next ({report:?})",
        recovered.len()
    );
    for (key, value) in &recovered {
        assert_eq!(
            tree.get(key, lsm::SeqNo::MAX).unwrap().as_deref(),
            Some(value.as_slice()),
            "{context}: a point read after repair"
        );
    }
    REPAIRS.fetch_add(1, Ordering::Relaxed);
}

/// Repairs checked (all runs).
static REPAIRS: AtomicUsize = AtomicUsize::new(0);

/// Crashes the recovery of `image` at each of its operations, and fails each of them
/// once with EIO, and checks the result: a failed recovery is a typed error, and the
/// next recovery lands on the same boundaries (recovery is idempotent). Returns the
/// faulted recoveries checked.
fn crash_recovery(
    image: &SimFs,
    shape: Shape<'_>,
    states: &[State],
    acknowledged: usize,
    rng: &mut Rng,
    (seed, crash_point): (u64, u64),
) -> usize {
    let probe = image.crash(CrashModel::KeepAll, rng);
    let start = probe.op_count();
    drop(open(&probe, &SequenceNumberCounter::default(), shape));
    let recovery_ops = probe.op_count() - start;
    let mut checked = 0;
    for recovery_op in 0..recovery_ops {
        let copy = image.crash(CrashModel::KeepAll, rng);
        copy.crash_at(copy.op_count() + recovery_op);
        assert!(open(&copy, &SequenceNumberCounter::default(), shape).is_err());
        let model = CrashModel::ALL[rng.index(CrashModel::ALL.len())];
        let again = copy.crash(model, rng);
        let context =
            format!("seed {seed}, crash point {crash_point}, recovery op {recovery_op}, {model:?}");
        check_image(&again, shape, states, acknowledged, &context);
        checked += 1;

        let copy = image.crash(CrashModel::KeepAll, rng);
        copy.fail_op(copy.op_count() + recovery_op, std::io::ErrorKind::Other);
        // An error, or a recovery that went round the failed operation.
        drop(open(&copy, &SequenceNumberCounter::default(), shape));
        copy.clear_faults();
        let context =
            format!("seed {seed}, crash point {crash_point}, EIO at recovery op {recovery_op}");
        check_image(&copy, shape, states, acknowledged, &context);
        checked += 1;
    }
    checked
}

#[test]
fn every_crash_point_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(11);
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(SEEDS) {
        let (seed_images, seed_double_faults) = enumerate(seed, Shape::PLAIN, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    assert!(images >= 10_000, "{images} images");
    let merges = MERGES.load(Ordering::Relaxed);
    assert!(merges > 0, "the workloads merge tables");
    let repairs = REPAIRS.load(Ordering::Relaxed);
    assert!(repairs > 1_000, "{repairs} repairs");
    report(
        "crash_flush: W1-W4, W7, W8 plain",
        images,
        double_faults,
        started,
    );
    println!(
        "{SEEDS} workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary ({merges} merge steps run; {repairs} images repaired without their manifest)"
    );
}

/// Blob files written, relocated and deleted by the blob workload (all runs).
static BLOB_FILES_SEEN: AtomicUsize = AtomicUsize::new(0);
static BLOB_FILES_DELETED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn every_crash_point_of_a_blob_workload_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(13);
    let separation = blob_separation();
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(BLOB_SEEDS) {
        // The dry run shows the workload does write and collect blob files.
        let fs = SimFs::new();
        workload(&fs, seed, Shape::blob(&separation), &mut Vec::new());
        let tree = open(
            &fs,
            &SequenceNumberCounter::default(),
            Shape::blob(&separation),
        )
        .unwrap();
        BLOB_FILES_SEEN.fetch_add(tree.blob_file_count(), Ordering::Relaxed);
        // Ids are handed out in order: the highest on disk less those left is how
        // many blob files the workload's garbage collection deleted (at least).
        let highest = fs
            .read_dir(Path::new("/db/blobs"))
            .unwrap()
            .iter()
            .filter_map(|entry| {
                entry
                    .file_name()
                    .and_then(lsm::layout::parse_table_file_name)
            })
            .max()
            .unwrap_or(0);
        let deleted = usize::try_from(highest).unwrap() - tree.blob_file_count();
        BLOB_FILES_DELETED.fetch_add(deleted, Ordering::Relaxed);
        drop(tree);
        let (seed_images, seed_double_faults) = enumerate(seed, Shape::blob(&separation), &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    let blob_files = BLOB_FILES_SEEN.load(Ordering::Relaxed);
    let deleted = BLOB_FILES_DELETED.load(Ordering::Relaxed);
    assert!(blob_files > 0, "the workloads keep blob files");
    assert!(deleted > 0, "the workloads collect blob files");
    report(
        "crash_flush: W6 blob write, relocation, GC",
        images,
        double_faults,
        started,
    );
    println!(
        "{BLOB_SEEDS} blob workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary ({blob_files} blob files live at the ends, at least {deleted} collected)"
    );
}

/// Two jobs interleaved, in an order fixed by a gate: flushes fill level 0; a merge down
/// (on its own thread) writes part of its outputs and is held; flushes go on and their
/// runs merge within level 0 and install; one more flush; then the held merge finishes
/// and installs behind them. The seed sets the keys per flush, the item the merge is
/// held at, and whether the changes collect garbage.
fn interleaved_workload(fs: &SimFs, seed: u64, shape: Shape<'_>, states: &mut Vec<State>) -> usize {
    let mut rng = Rng::new(seed);
    let keys = 20 + rng.index(40);
    // Round 0 writes every key: the merge down sees at least `keys` items.
    let pause_at = rng.index(keys);
    let with_gc = seed % 2 == 1;
    let seqno = SequenceNumberCounter::default();
    let gate = Arc::new(Gate::default());
    let mut state = State::new();
    states.push(state.clone());
    let Ok(tree) = config(fs, &seqno, shape)
        .with_compaction_filter_factory(Some(gate.factory(pause_at)))
        .open()
    else {
        return 0;
    };
    let strategy = Arc::new(
        Leveled::default()
            .with_l0_threshold(2)
            .with_table_target_size(1 << 10),
    );
    let mut acknowledged = 0;
    let mut flush = |round: usize, acknowledged: &mut usize, states: &mut Vec<State>| {
        for i in (round % 3..keys).step_by(1 + round % 2) {
            let (k, v) = (
                key(u8::try_from(i).unwrap()),
                value(u16::try_from(round * 1_000 + i).unwrap()),
            );
            tree.insert(k.clone(), v.clone(), seqno.next());
            state.insert(k, v);
        }
        let flushed = tree.flush_active_memtable(0).is_ok();
        if flushed {
            *acknowledged += 1;
            states.push(state.clone());
        }
        flushed
    };
    if !(flush(0, &mut acknowledged, states) && flush(1, &mut acknowledged, states)) {
        return acknowledged;
    }
    // The merge down sees every item (its watermark is above them all).
    let down = std::thread::spawn({
        let tree = tree.clone();
        let strategy = strategy.clone();
        let gate = Arc::clone(&gate);
        move || {
            let result = tree.compact(strategy, lsm::SeqNo::MAX);
            gate.arrive();
            result
        }
    });
    gate.wait_for_arrival();
    let during = flush(2, &mut acknowledged, states)
        && flush(3, &mut acknowledged, states)
        && {
            let watermark = if with_gc { seqno.get() } else { 0 };
            let intra = tree.compact(strategy, watermark);
            assert!(
                intra
                    .as_ref()
                    .map_or(true, |result| result.dest_level == Some(0)),
                "a merge within level 0 runs beside the merge down: {intra:?}"
            );
            let ok = intra.is_ok();
            if ok {
                acknowledged += 1;
                states.push(states.last().unwrap().clone());
            }
            ok
        }
        && flush(4, &mut acknowledged, states);
    gate.release();
    let merged = down.join().unwrap();
    if during && merged.is_ok() {
        MERGES.fetch_add(1, Ordering::Relaxed);
        acknowledged += 1;
        states.push(states.last().unwrap().clone());
    }
    acknowledged
}

#[test]
fn every_crash_point_of_two_interleaved_jobs_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(17);
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(8) {
        let separation = (seed % 4 == 3).then(blob_separation);
        let (seed_images, seed_double_faults) = enumerate_workload(
            interleaved_workload,
            seed,
            Shape {
                separation: separation.as_ref(),
                ..Shape::PLAIN
            },
            &mut rng,
        );
        images += seed_images;
        double_faults += seed_double_faults;
    }
    report(
        "crash_flush: two interleaved jobs",
        images,
        double_faults,
        started,
    );
    println!(
        "8 interleaved workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}

/// The crash enumeration on trees ordered by a custom comparator (numeric keys of any
/// width, and the bytes reversed), with and without key-value separation: every image
/// opens with the comparator and holds a version-change boundary.
#[test]
fn every_crash_point_of_a_custom_order_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(23);
    let separation = blob_separation();
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(6) {
        let shape = Shape {
            separation: (seed % 2 == 1).then_some(&separation),
            sealed: false,
            order: if seed < 3 {
                TestOrder::Numeric
            } else {
                TestOrder::Reversed
            },
            route: None,
        };
        let (seed_images, seed_double_faults) = enumerate(seed, shape, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    report(
        "crash_flush: custom comparators",
        images,
        double_faults,
        started,
    );
    println!(
        "6 custom-order workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}

/// The crash enumeration on trees whose deeper levels live in another directory (a
/// level route from level 1, so that every merge writes there, or from level 2, so
/// that moves from level 1 become rewrites across the route), plain, with key-value
/// separation and sealed: every image opens, holds a version-change boundary and
/// leaves no orphan in either directory.
#[test]
fn every_crash_point_of_a_routed_tree_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(31);
    let separation = blob_separation();
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(6) {
        let shape = Shape {
            separation: (seed % 3 == 1).then_some(&separation),
            sealed: seed % 3 == 2,
            order: TestOrder::Lexicographic,
            route: Some(if seed < 3 { 1 } else { 2 }),
        };
        let (seed_images, seed_double_faults) = enumerate(seed, shape, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    report("crash_flush: level routes", images, double_faults, started);
    println!(
        "6 routed workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}

/// The crash enumeration on sealed trees (encrypted, dictionary-compressed), with and
/// without key-value separation: every image opens with the key and holds a
/// version-change boundary.
#[test]
fn every_crash_point_of_a_sealed_workload_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(19);
    let separation = blob_separation();
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(6) {
        let shape = Shape {
            separation: (seed % 2 == 1).then_some(&separation),
            sealed: true,
            order: TestOrder::Lexicographic,
            route: None,
        };
        let (seed_images, seed_double_faults) = enumerate(seed, shape, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    report(
        "crash_flush: encrypted, dictionary-compressed",
        images,
        double_faults,
        started,
    );
    println!(
        "6 sealed workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}

/// Bulk ingestion (N1, B6): rounds of writes and a flush, then an ingestion of sorted
/// keys (values and tombstones, over keys the writes hold and keys they do not) and its
/// `finish`. The writer thread's table writes, the flush inside `finish` and the edit
/// that registers the tables are all cut; a crash before the edit is durable leaves the
/// state of the flush before it, and orphans the next open removes.
fn ingest_workload(fs: &SimFs, seed: u64, shape: Shape<'_>, states: &mut Vec<State>) -> usize {
    let mut rng = Rng::new(seed);
    let seqno = SequenceNumberCounter::default();
    let mut state = State::new();
    states.push(state.clone());
    let Ok(tree) = open(fs, &seqno, shape) else {
        return 0;
    };
    let key = |k: u64| shape.order.key(u8::try_from(k).unwrap());
    let mut acknowledged = 0;
    for round in 0..3_u16 {
        for idx in 0..6 {
            let k = rng.below(40);
            let v = value(round * 100 + idx);
            tree.insert(key(k), v.clone(), seqno.next());
            state.insert(key(k), v);
        }
        if tree.flush_active_memtable(0).is_err() {
            return acknowledged;
        }
        acknowledged += 1;
        states.push(state.clone());

        let mut ingested: Vec<u64> = (0..12).map(|_| rng.below(40)).collect();
        ingested.sort_unstable();
        ingested.dedup();
        // Sorted in the tree's order (a custom order need not sort indices alike).
        let order = shape.order.key_order();
        ingested.sort_by(|a, b| order.cmp(&key(*a), &key(*b)));
        let Ok(mut ingestion) = tree.ingestion() else {
            return acknowledged;
        };
        let mut after = state.clone();
        for (idx, k) in ingested.into_iter().enumerate() {
            let written = if rng.below(4) == 0 {
                after.remove(&key(k));
                ingestion.write_tombstone(key(k))
            } else {
                let v = value(round * 100 + 50 + u16::try_from(idx).unwrap());
                after.insert(key(k), v.clone());
                ingestion.write(key(k), v)
            };
            if written.is_err() {
                return acknowledged;
            }
        }
        if ingestion.finish().is_err() {
            return acknowledged;
        }
        state = after;
        acknowledged += 1;
        states.push(state.clone());
    }
    acknowledged
}

#[test]
fn every_crash_point_of_an_ingestion_recovers_a_version_change_boundary() {
    let started = Instant::now();
    let mut rng = Rng::from_env(29);
    let separation = blob_separation();
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..reliability::scaled(6) {
        let shape = match seed % 3 {
            0 => Shape::PLAIN,
            1 => Shape::blob(&separation),
            _ => Shape {
                sealed: true,
                ..Shape::PLAIN
            },
        };
        // The second half with the levels from 1 down in another directory: tables
        // ingested into a deep level are moved there before the edit names them.
        let shape = Shape {
            route: (seed >= 3).then_some(1),
            ..shape
        };
        let (seed_images, seed_double_faults) =
            enumerate_workload(ingest_workload, seed, shape, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    assert!(images >= 1_000, "{images} images");
    report("crash_flush: ingestion", images, double_faults, started);
    println!(
        "6 ingestion workloads (plain, blob, sealed), {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}

/// The faults of the sweep: EIO once, EIO at every operation from then on, and a disk
/// full from then on.
#[derive(Clone, Copy, Debug)]
enum Fault {
    EioOnce,
    EioSticky,
    FullSticky,
}

/// Goal G6: workload `seed` with `fault` at every mutating operation in turn. The
/// failing change is a typed error, the tree still answers every write in the process,
/// and once the fault is gone the directory opens on the state of a version change at
/// or after the last acknowledged one, is writable, and holds no orphan. Returns the
/// runs.
fn sweep_faults(workload: Workload, seed: u64, shape: Shape<'_>) -> u64 {
    let dry_run = SimFs::new();
    let mut states = Vec::new();
    workload(&dry_run, seed, shape, &mut states);
    let mut runs = 0;
    for fault in [Fault::EioOnce, Fault::EioSticky, Fault::FullSticky] {
        for op in 0..dry_run.op_count() {
            let fs = SimFs::new();
            match fault {
                Fault::EioOnce => fs.fail_op(op, std::io::ErrorKind::Other),
                Fault::EioSticky => fs.fail_from(op, std::io::ErrorKind::Other),
                Fault::FullSticky => fs.fail_from(op, std::io::ErrorKind::StorageFull),
            }
            CHECK_IN_PROCESS.with(|check| check.set(true));
            let acknowledged = workload(&fs, seed, shape, &mut Vec::new());
            CHECK_IN_PROCESS.with(|check| check.set(false));
            fs.clear_faults();
            let context = format!("seed {seed}, {fault:?} at operation {op}");
            check_image(&fs, shape, &states, acknowledged, &context);
            runs += 1;
        }
    }
    runs
}

#[test]
fn every_fault_at_every_operation_is_typed_and_loses_nothing() {
    let started = Instant::now();
    let separation = blob_separation();
    let mut runs = 0;
    for seed in 0..reliability::scaled(16) {
        let shape = Shape::by_seed(seed, &separation);
        runs += sweep_faults(workload, seed, shape);
    }
    for seed in 0..reliability::scaled(4) {
        runs += sweep_faults(ingest_workload, seed, Shape::PLAIN);
    }
    // W9: the workload, then a checkpoint of the reopened tree.
    for seed in 0..reliability::scaled(2) {
        runs += sweep_faults(checkpoint_workload, seed, Shape::PLAIN);
    }
    println!("{runs} runs with a fault at one operation, every one typed and lossless");
    reliability::record(
        "G6",
        "crash_flush workloads W1-W9: EIO once, EIO sticky and ENOSPC sticky at every operation",
        runs,
        "runs",
        started,
    );
}

thread_local! {
    /// Whether the checkpoint of [`checkpoint_workload`] returned.
    static CHECKPOINT_WRITTEN: Cell<bool> = const { Cell::new(false) };
}

/// Where [`checkpoint_workload`] writes its checkpoint.
const CHECKPOINT_DIR: &str = "/checkpoint";

/// Workload W9: workload `seed`, then the tree reopened and a checkpoint of it written
/// (its flush of what the reopened tree holds in memory is a no-op: nothing is). Sets
/// [`CHECKPOINT_WRITTEN`] when the checkpoint returned.
fn checkpoint_workload(fs: &SimFs, seed: u64, shape: Shape<'_>, states: &mut Vec<State>) -> usize {
    CHECKPOINT_WRITTEN.with(|written| written.set(false));
    let acknowledged = workload(fs, seed, shape, states);
    if fs.is_powered_off() || acknowledged + 1 < states.len() {
        return acknowledged;
    }
    let Ok(tree) = open(fs, &SequenceNumberCounter::default(), shape) else {
        return acknowledged;
    };
    if tree.create_checkpoint(Path::new(CHECKPOINT_DIR)).is_ok() {
        CHECKPOINT_WRITTEN.with(|written| written.set(true));
    }
    acknowledged
}

/// The checkpoint's own configuration: the tree's, at the checkpoint's directory (a
/// checkpoint keeps every table in its own `tables/`, so without the tree's route).
fn checkpoint_config(fs: &SimFs, shape: Shape<'_>) -> Config {
    let mut config = config(
        fs,
        &SequenceNumberCounter::default(),
        Shape {
            route: None,
            ..shape
        },
    );
    config.path = Path::new(CHECKPOINT_DIR).to_path_buf();
    config
}

/// Goal G1, workload W9: a checkpoint cut at every mutating operation under every crash
/// model. The tree recovers as in every other workload; a checkpoint that returned
/// before the crash opens on its own and holds the tree's last state.
#[test]
fn every_crash_point_of_a_checkpoint_keeps_the_tree_and_a_written_checkpoint() {
    let started = Instant::now();
    let mut rng = Rng::from_env(37);
    let separation = blob_separation();
    let (mut images, mut checkpoints) = (0_u64, 0_u64);
    for seed in 0..reliability::scaled(4) {
        let shape = Shape::by_seed(seed, &separation);
        let dry_run = SimFs::new();
        let mut states = Vec::new();
        checkpoint_workload(&dry_run, seed, shape, &mut states);
        assert!(
            CHECKPOINT_WRITTEN.with(Cell::get),
            "seed {seed}: no checkpoint"
        );
        let workload_ops = {
            let fs = SimFs::new();
            workload(&fs, seed, shape, &mut Vec::new());
            fs.op_count()
        };
        // The crash points of the checkpoint itself (and its reopen), after the
        // workload the other tests enumerate, and a power cut once it has returned.
        for crash_point in workload_ops..=dry_run.op_count() {
            let fs = SimFs::new();
            fs.crash_at(crash_point);
            let acknowledged = checkpoint_workload(&fs, seed, shape, &mut Vec::new());
            let written = CHECKPOINT_WRITTEN.with(Cell::get);
            for model in CrashModel::ALL {
                let image = fs.crash(model, &mut rng);
                let context = format!("seed {seed}, crash point {crash_point}, {model:?}");
                check_image(&image, shape, &states, acknowledged, &context);
                images += 1;
                if written {
                    let copy = checkpoint_config(&image, shape)
                        .open()
                        .unwrap_or_else(|error| panic!("{context}: the checkpoint: {error}"));
                    assert!(
                        scan(&copy) == *states.last().unwrap(),
                        "{context}: the checkpoint does not hold the tree's state"
                    );
                    checkpoints += 1;
                }
            }
        }
    }
    assert!(
        checkpoints > 0,
        "some crash came after a written checkpoint"
    );
    println!(
        "{images} crash images around checkpoints, {checkpoints} written checkpoints reopened"
    );
    reliability::record(
        "G1",
        "crash_flush: W9 checkpoints",
        images,
        "crash images",
        started,
    );
}
