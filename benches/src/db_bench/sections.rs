//! The databases a child builds and the workloads each runs, in order: the one list both
//! the flags (which names exist) and the runner (what runs where) read.

/// The workloads of each database, in the order they run.
pub const SECTIONS: &[(&str, &[&str])] = &[
    ("fillseq", &["fillseq"]),
    ("bulkload", &["bulkload"]),
    (
        "main",
        &[
            "fillrandom",
            "overwrite",
            "readrandom",
            "readhot",
            "readmissing",
            "seekrandom",
            "readseq",
            "readreverse",
            "readwhilewriting",
            "readrandom-compacted",
            "readmissing-compacted",
            "seekrandom-compacted",
            "readseq-compacted",
            "deleterandom",
            "rangedelete",
        ],
    ),
    ("merge", &["mergerandom"]),
    ("changes", &["changescan", "changescan-full"]),
    ("large", &["fillrandom-4k", "readrandom-4k"]),
    (
        "blob",
        &["fillrandom-blob", "readrandom-blob", "overwrite-blob"],
    ),
];

/// The databases of the logged workloads (`--workloads log`, not in the default set):
/// writes through each engine's write-ahead log, in three durability modes (handed to
/// the operating system; synced every write; synced every 1,000th write of a thread),
/// from 1 and 4 threads, into an empty database (`fillrandom-*`) and over every key
/// again (`overwrite-*`); and the fill spread over 10 and 100 keyspaces, for the
/// memory the keyspace count costs.
pub const LOG_SECTIONS: &[(&str, &[&str])] = &[
    (
        "log-1",
        &[
            "fillrandom-log",
            "overwrite-log",
            "overwrite-log-sync1k",
            "overwrite-log-sync",
        ],
    ),
    ("log-1-sync1k", &["fillrandom-log-sync1k"]),
    ("log-1-sync", &["fillrandom-log-sync"]),
    (
        "log-4",
        &[
            "fillrandom-log-t4",
            "overwrite-log-t4",
            "overwrite-log-sync1k-t4",
            "overwrite-log-sync-t4",
        ],
    ),
    ("log-4-sync1k", &["fillrandom-log-sync1k-t4"]),
    ("log-4-sync", &["fillrandom-log-sync-t4"]),
    ("log-ks10", &["fillrandom-log-ks10"]),
    ("log-ks100", &["fillrandom-log-ks100"]),
];

/// The workloads a run does by default, in the order a child runs them (database by
/// database): every section but the logged ones.
pub fn workloads() -> Vec<&'static str> {
    names(SECTIONS)
}

/// The logged workloads, in order.
pub fn log_workloads() -> Vec<&'static str> {
    names(LOG_SECTIONS)
}

/// Every workload, in the order a child runs them.
pub fn all() -> Vec<&'static str> {
    let mut all = workloads();
    all.extend(log_workloads());
    all
}

fn names(sections: &[(&str, &[&'static str])]) -> Vec<&'static str> {
    sections
        .iter()
        .flat_map(|(_, workloads)| workloads.iter().copied())
        .collect()
}
