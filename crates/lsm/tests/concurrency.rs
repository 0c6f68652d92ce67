//! Writers, a flusher and snapshot readers at once: every snapshot read is repeatable
//! while flushes install new tables under it, and nothing written is lost.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use lsm::{AbstractTree, AnyTree, Config, Guard, SequenceNumberCounter, Tree};

const WRITERS: u64 = 2;
const WRITES_PER_WRITER: u64 = 3_000;

#[test]
fn trees_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    fn assert_send<T: Send + 'static>() {}
    assert_send_sync::<AnyTree>();
    assert_send_sync::<Tree>();
    assert_send::<lsm::IterBox>();
}

#[test]
fn reads_stay_repeatable_while_writers_and_flushes_run() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let visible = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), visible.clone())
        .open()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));

    // A write takes its seqno, lands, and is published under one lock: the visible seqno
    // must never pass a seqno that is still on its way (that is the caller's contract).
    let commit = Arc::new(std::sync::Mutex::new(()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (tree, seqno, visible, commit) = (
                tree.clone(),
                seqno.clone(),
                visible.clone(),
                Arc::clone(&commit),
            );
            thread::spawn(move || {
                for i in 0..WRITES_PER_WRITER {
                    let _commit = commit.lock().unwrap();
                    let at = seqno.next();
                    tree.insert(format!("w{writer}-{i:05}"), at.to_le_bytes(), at);
                    visible.fetch_max(at + 1);
                }
            })
        })
        .collect();
    let flusher = {
        let (tree, done) = (tree.clone(), Arc::clone(&done));
        thread::spawn(move || {
            let mut flushes = 0;
            while !done.load(Ordering::Acquire) || flushes < 20 {
                tree.flush_active_memtable(0).unwrap();
                flushes += 1;
                thread::yield_now();
            }
            flushes
        })
    };
    let reader = {
        let (tree, visible, done) = (tree.clone(), visible.clone(), Arc::clone(&done));
        thread::spawn(move || {
            let mut checks = 0;
            while !done.load(Ordering::Acquire) || checks < 20 {
                let snapshot = visible.get();
                let first = tree.len(snapshot, None).unwrap();
                let forward: Vec<_> = tree
                    .iter(snapshot, None)
                    .map(|item| item.key().unwrap())
                    .collect();
                let mut backward: Vec<_> = tree
                    .iter(snapshot, None)
                    .rev()
                    .map(|item| item.key().unwrap())
                    .collect();
                backward.reverse();
                assert_eq!(forward.len(), first, "a snapshot changed under a reader");
                assert_eq!(forward, backward);
                assert!(forward.windows(2).all(|pair| pair[0] < pair[1]));
                checks += 1;
            }
            checks
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Release);
    let flushes = flusher.join().unwrap();
    let checks = reader.join().unwrap();
    tree.flush_active_memtable(0).unwrap();
    let expected = usize::try_from(WRITERS * WRITES_PER_WRITER).unwrap();
    assert_eq!(tree.len(visible.get(), None).unwrap(), expected);
    assert!(
        flushes > 0 && checks > 0,
        "{flushes} flushes, {checks} reader checks"
    );
    drop(tree);
    let tree = Config::new(
        dir.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()
    .unwrap();
    assert_eq!(tree.len(lsm::SeqNo::MAX, None).unwrap(), expected);
    lsm_testkit::reliability::record(
        "G9",
        "concurrency: snapshot checks while writers and flushes run",
        checks as u64,
        "snapshot checks",
        started,
    );
}
