//! BuRR against its peers in one run: `xorf` binary fuse 8 and a blocked Bloom filter
//! (`fastbloom`), all given the same pre-hashed 64-bit keys.
//!
//! First a table of space, false-positive rate and median build and query times (five
//! runs each), printed as Markdown and, with `LSM_WRITE_README=1`, written into the
//! crate's README between its bench markers; then criterion's detailed timings of build
//! and query at one million keys, and of a retrieval structure's. `LSM_BENCH_FULL=1` adds 1k and 10M keys to the table.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use fastbloom::BloomFilter;
use lsm_burr::{BurrFilter, FilterPolicy, FilterRef, Retrieval, RetrievalPolicy, RibbonWidth};
use xorf::{BinaryFuse8, Filter};

const NEGATIVES: usize = 2_000_000;
const RUNS: usize = 5;

use lsm_testkit::rng::random_u64s as random_hashes;

/// A filter under test, behind one interface.
trait Candidate {
    fn name(&self) -> String;
    fn build(&self, keys: &[u64]) -> Box<dyn Built>;
}

trait Built {
    fn contains(&self, key: u64) -> bool;
    fn size_in_bytes(&self) -> usize;
}

struct Burr(FilterPolicy, &'static str);
struct BurrView(FilterPolicy);
struct Fuse8;
struct Bloom(f64);

struct BuiltBurr(BurrFilter);
/// The encoded bytes are leaked so that the view can be `'static` (a bench-only shortcut).
struct BuiltView(FilterRef<'static>);
struct BuiltFuse(BinaryFuse8);
struct BuiltBloom(BloomFilter);

impl Candidate for Burr {
    fn name(&self) -> String {
        format!("BuRR {}", self.1)
    }
    fn build(&self, keys: &[u64]) -> Box<dyn Built> {
        Box::new(BuiltBurr(
            BurrFilter::build(keys, &self.0).expect("BuRR builds"),
        ))
    }
}

impl Candidate for BurrView {
    fn name(&self) -> String {
        "BuRR r=7, FilterRef view".to_owned()
    }
    fn build(&self, keys: &[u64]) -> Box<dyn Built> {
        let bytes = BurrFilter::build(keys, &self.0)
            .expect("BuRR builds")
            .encode();
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        Box::new(BuiltView(FilterRef::decode(bytes).expect("decodes")))
    }
}

impl Candidate for Fuse8 {
    fn name(&self) -> String {
        "xorf BinaryFuse8".to_owned()
    }
    fn build(&self, keys: &[u64]) -> Box<dyn Built> {
        Box::new(BuiltFuse(
            BinaryFuse8::try_from(keys).expect("binary fuse builds"),
        ))
    }
}

impl Candidate for Bloom {
    fn name(&self) -> String {
        format!("fastbloom blocked Bloom, fp={}", self.0)
    }
    fn build(&self, keys: &[u64]) -> Box<dyn Built> {
        let mut filter = BloomFilter::with_false_pos(self.0).expected_items(keys.len().max(1));
        for &key in keys {
            filter.insert_hash(key);
        }
        Box::new(BuiltBloom(filter))
    }
}

impl Built for BuiltBurr {
    fn contains(&self, key: u64) -> bool {
        self.0.contains_hash(key)
    }
    fn size_in_bytes(&self) -> usize {
        self.0.size_in_bytes()
    }
}

impl Built for BuiltView {
    fn contains(&self, key: u64) -> bool {
        self.0.contains_hash(key)
    }
    fn size_in_bytes(&self) -> usize {
        self.0.size_in_bytes()
    }
}

impl Built for BuiltFuse {
    fn contains(&self, key: u64) -> bool {
        self.0.contains(&key)
    }
    fn size_in_bytes(&self) -> usize {
        self.0.fingerprints.len() + 32
    }
}

impl Built for BuiltBloom {
    fn contains(&self, key: u64) -> bool {
        self.0.contains_hash(key)
    }
    fn size_in_bytes(&self) -> usize {
        self.0.num_bits() / 8
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ns_per(count: usize, body: impl Fn()) -> f64 {
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                body();
                started.elapsed().as_nanos() as f64 / count as f64
            })
            .collect(),
    )
}

fn candidates() -> Vec<Box<dyn Candidate>> {
    let r7 = FilterPolicy::bits_per_key(7.0).expect("valid");
    vec![
        Box::new(Burr(r7, "w=64, r=7")),
        Box::new(Burr(r7.with_width(RibbonWidth::W128), "w=128, r=7")),
        Box::new(Burr(FilterPolicy::fpr(0.01).expect("valid"), "fpr=1%")),
        Box::new(Burr(
            FilterPolicy::bits_per_key(10.0).expect("valid"),
            "w=64, r=10",
        )),
        Box::new(BurrView(r7)),
        Box::new(Fuse8),
        Box::new(Bloom(0.01)),
    ]
}

fn table() -> String {
    let sizes: &[usize] = if std::env::var("LSM_BENCH_FULL").as_deref() == Ok("1") {
        &[1000, 10_000, 1_000_000, 10_000_000]
    } else {
        &[10_000, 1_000_000]
    };
    let mut out = String::from(
        "| filter | keys | bits/key | FPR | build ns/key | query ns (member) | query ns (non-member) |\n|---|---|---|---|---|---|---|\n",
    );
    for &count in sizes {
        let keys = random_hashes(count, 1);
        let negatives = random_hashes(NEGATIVES, 2);
        for candidate in candidates() {
            let build = ns_per(count, || drop(black_box(candidate.build(&keys))));
            let filter = candidate.build(&keys);
            assert!(
                keys.iter().all(|&key| filter.contains(key)),
                "false negative in {}",
                candidate.name()
            );
            let positive = ns_per(count, || {
                for &key in &keys {
                    black_box(filter.contains(black_box(key)));
                }
            });
            let negative = ns_per(NEGATIVES, || {
                for &key in &negatives {
                    black_box(filter.contains(black_box(key)));
                }
            });
            let false_positives = negatives
                .iter()
                .filter(|&&key| filter.contains(key))
                .count();
            let fpr = false_positives as f64 / NEGATIVES as f64;
            let bits_per_key = filter.size_in_bytes() as f64 * 8.0 / count as f64;
            out.push_str(&format!(
                "| {} | {count} | {bits_per_key:.3} | {:.3}% | {build:.1} | {positive:.1} | {negative:.1} |\n",
                candidate.name(),
                fpr * 100.0
            ));
        }
    }
    out
}

fn write_readme(table: &str) {
    const BEGIN: &str = "<!-- bench-table:begin -->";
    const END: &str = "<!-- bench-table:end -->";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    #[expect(
        clippy::disallowed_methods,
        reason = "a bench tool updating the crate README"
    )]
    let readme = std::fs::read_to_string(&path).expect("README reads");
    let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        eprintln!("README has no bench markers");
        return;
    };
    let updated = format!("{}{BEGIN}\n{table}{}", &readme[..begin], &readme[end..]);
    #[expect(
        clippy::disallowed_methods,
        reason = "a bench tool updating the crate README"
    )]
    std::fs::write(&path, updated).expect("README writes");
}

fn bench_filters(c: &mut Criterion) {
    let table = table();
    println!("\n{table}");
    if std::env::var("LSM_WRITE_README").as_deref() == Ok("1") {
        write_readme(&table);
    }

    let keys = random_hashes(1_000_000, 3);
    let negatives = random_hashes(1_000_000, 4);
    let mut group = c.benchmark_group("filters_1m");
    group.sample_size(10);
    for candidate in candidates() {
        let name = candidate.name();
        group.bench_function(format!("build/{name}"), |b| {
            b.iter(|| black_box(candidate.build(&keys)));
        });
        let filter = candidate.build(&keys);
        let mut next = 0;
        group.bench_function(format!("query_member/{name}"), |b| {
            b.iter(|| {
                next = (next + 1) % keys.len();
                black_box(filter.contains(keys[next]))
            });
        });
        group.bench_function(format!("query_non_member/{name}"), |b| {
            b.iter(|| {
                next = (next + 1) % negatives.len();
                black_box(filter.contains(negatives[next]))
            });
        });
    }
    group.finish();
}

/// The retrieval structure at a table's shape: one million keys in sorted order mapped
/// to block numbers (27 keys per block, 16 value bits), built and queried.
fn bench_retrieval(c: &mut Criterion) {
    let pairs: Vec<(u64, u32)> = (0..1_000_000_u32)
        .map(|i| (lsm_burr::hash(format!("key{i:010}").as_bytes()), i / 27))
        .collect();
    let policy = RetrievalPolicy::new(16).expect("valid");
    let mut group = c.benchmark_group("retrieval_1m");
    group.sample_size(10);
    group.bench_function("build/block numbers, 16 bits", |b| {
        b.iter(|| black_box(Retrieval::build(&pairs, &policy).expect("builds")));
    });
    let built = Retrieval::build(&pairs, &policy).expect("builds");
    println!(
        "retrieval: {:.3} bits per key at 16 value bits",
        built.size_in_bytes() as f64 * 8.0 / pairs.len() as f64
    );
    let mut next = 0;
    group.bench_function("query/block numbers, 16 bits", |b| {
        b.iter(|| {
            next = (next + 7919) % pairs.len();
            black_box(built.get_hash(pairs[next].0))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_filters, bench_retrieval);
criterion_main!(benches);
