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

/// Every workload, in the order a child runs them (database by database).
pub fn workloads() -> Vec<&'static str> {
    SECTIONS
        .iter()
        .flat_map(|(_, workloads)| workloads.iter().copied())
        .collect()
}
