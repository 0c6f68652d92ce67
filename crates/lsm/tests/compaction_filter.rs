//! Compaction filters: each verdict does what it says, snapshots above the watermark are
//! untouched, the last-level flag is right, and an error aborts the merge without harm.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lsm::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use lsm::{AbstractTree, AnyTree, Config, Error, Fs, MemFs, SeqNo, SequenceNumberCounter};

/// Decides by the key's first byte: `r` remove, `w` remove weakly, `d` destroy, `x`
/// replace, `e` fail (when failing is on); everything else is kept.
#[derive(Default)]
struct ByPrefix {
    fail: AtomicBool,
    last_level_seen: Mutex<Vec<bool>>,
    finished: AtomicUsize,
}

struct Filter(Arc<ByPrefix>);

impl CompactionFilter for Filter {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _ctx: &Context) -> lsm::Result<Verdict> {
        Ok(match item.key().first() {
            Some(b'r') => Verdict::Remove,
            Some(b'w') => Verdict::RemoveWeak,
            Some(b'd') => Verdict::Destroy,
            Some(b'x') => Verdict::ReplaceValue(format!("replaced {}", item.value()?.len()).into()),
            Some(b'e') if self.0.fail.load(Ordering::Acquire) => {
                return Err(Error::Io(std::io::Error::other("filter refused")));
            }
            _ => Verdict::Keep,
        })
    }

    fn finish(self: Box<Self>) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
    }
}

struct ByPrefixFactory(Arc<ByPrefix>);

impl Factory for ByPrefixFactory {
    fn name(&self) -> &str {
        "by-prefix"
    }

    fn make_filter(&self, ctx: &Context) -> Box<dyn CompactionFilter> {
        self.0
            .last_level_seen
            .lock()
            .unwrap()
            .push(ctx.is_last_level);
        Box::new(Filter(Arc::clone(&self.0)))
    }
}

fn tree(fs: &Arc<MemFs>, state: &Arc<ByPrefix>, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(fs.clone())
        .with_compaction_filter_factory(Some(Arc::new(ByPrefixFactory(Arc::clone(state)))))
        .open()
        .unwrap()
}

#[test]
fn verdicts_apply_below_the_watermark_only() {
    let fs = Arc::new(MemFs::new());
    let state = Arc::new(ByPrefix::default());
    let seqno = SequenceNumberCounter::default();
    let tree = tree(&fs, &state, &seqno);
    for key in ["d1", "k1", "r1", "w1", "x1", "e1"] {
        tree.insert(key, "old", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let before = seqno.get();
    tree.insert("d1", "new", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    // The watermark sits between the two versions of d1: the older one is filtered.
    tree.major_compact(1 << 20, before).unwrap();
    assert_eq!(*state.last_level_seen.lock().unwrap(), [true]);
    assert_eq!(state.finished.load(Ordering::Acquire), 1);
    let now = seqno.get();
    assert_eq!(tree.get("d1", now).unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(
        tree.get("d1", before).unwrap(),
        None,
        "destroyed below the watermark"
    );
    assert_eq!(tree.get("k1", now).unwrap().as_deref(), Some(&b"old"[..]));
    assert_eq!(tree.get("r1", now).unwrap(), None);
    assert_eq!(tree.get("w1", now).unwrap(), None);
    assert_eq!(
        tree.get("x1", now).unwrap().as_deref(),
        Some(&b"replaced 3"[..])
    );
    // At the bottom, the removals leave no tombstone behind.
    assert_eq!(tree.approximate_len(), 4, "d1 (new), k1, x1, e1");
}

#[test]
fn a_failing_filter_aborts_the_merge_and_loses_nothing() {
    let fs = Arc::new(MemFs::new());
    let state = Arc::new(ByPrefix::default());
    let seqno = SequenceNumberCounter::default();
    let tree = tree(&fs, &state, &seqno);
    for round in 0..2 {
        for key in ["a1", "e1", "k1"] {
            tree.insert(key, format!("{round}"), seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
    }
    state.fail.store(true, Ordering::Release);
    let error = tree.major_compact(1 << 20, seqno.get()).unwrap_err();
    assert!(matches!(error, Error::Io(_)), "{error}");
    assert_eq!(tree.table_count(), 2, "the inputs stay");
    assert_eq!(
        fs.read_dir(std::path::Path::new("/db/tables"))
            .unwrap()
            .len(),
        2,
        "the outputs are deleted"
    );
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 3);
    state.fail.store(false, Ordering::Release);
    tree.major_compact(1 << 20, seqno.get()).unwrap();
    assert_eq!(tree.table_count(), 1);
}
