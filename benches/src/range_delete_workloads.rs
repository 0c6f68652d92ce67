//! Range delete against point deletes: `--num` keys written and flushed, then deleted
//! either by one range tombstone or by one point tombstone per key (each followed by a
//! flush, so the time includes making the delete durable), then a full scan over the
//! deleted range. The scan after a range delete leaves out the tables the tombstone
//! covers; after point deletes it reads every tombstone.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lsm::{AbstractTree, Config, SequenceNumberCounter};

use crate::table_workloads::per_op;
use crate::tree_workloads::remove_all;
use crate::workloads::Measurement;

/// Runs both deletes over `num` keys.
pub fn run_all(num: u64) -> Result<Vec<Measurement>, String> {
    let (range_delete, range_scan) = delete_then_scan(num, true)?;
    let (point_delete, point_scan) = delete_then_scan(num, false)?;
    let ops = usize::try_from(num).unwrap_or(usize::MAX);
    let mut results = vec![
        per_op("rangedelete delete (1 range)", 1, None, range_delete),
        per_op("rangedelete delete (points)", ops, None, point_delete),
        per_op("rangedelete scan after range", ops, None, range_scan),
        per_op("rangedelete scan after points", ops, None, point_scan),
    ];
    results.push(Measurement {
        name: "rangedelete scan points/range".to_owned(),
        bytes_per_sec: None,
        ns_per_op: None,
        ratio: Some(point_scan.as_secs_f64() / range_scan.as_secs_f64().max(1e-9)),
        latency_ns: None,
    });
    Ok(results)
}

fn key(idx: u64) -> String {
    format!("key{idx:012}")
}

fn delete_then_scan(num: u64, by_range: bool) -> Result<(Duration, Duration), String> {
    let kind = if by_range { "range" } else { "points" };
    let dir = std::env::temp_dir().join(format!(
        "lsm-bench-{}-rangedelete-{kind}",
        std::process::id()
    ));
    remove_all(&dir);
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(&dir, seqno.clone(), SequenceNumberCounter::default())
        .open()
        .map_err(|error| error.to_string())?;
    let error = |error: lsm::Error| error.to_string();
    for idx in 0..num {
        tree.insert(key(idx), "a value of thirty-two bytes....", seqno.next());
    }
    tree.flush_active_memtable(0).map_err(error)?;
    let started = Instant::now();
    if by_range {
        tree.remove_range(key(0), key(num), seqno.next());
    } else {
        for idx in 0..num {
            tree.remove(key(idx), seqno.next());
        }
    }
    tree.flush_active_memtable(0).map_err(error)?;
    let delete_time = started.elapsed();
    let started = Instant::now();
    let left = tree.iter(seqno.get(), None).count();
    let scan_time = started.elapsed();
    black_box(left);
    if left != 0 {
        return Err(format!("{left} keys left after deleting them all"));
    }
    drop(tree);
    remove_all(&dir);
    Ok((delete_time, scan_time))
}
