//! Replaying fuzz corpora under `cargo test`: every checked-in input, then seeded
//! mutations of them (bit flips, truncations, insertions, overwrites), so stable CI
//! exercises each decoder's fuzz body without a nightly toolchain.

use std::path::PathBuf;

use lsm_core::{Fs, OpenOptions, StdFs};

use crate::rng::Rng;

/// The checked-in corpus of fuzz target `target`: `fuzz/corpus/<target>/`.
#[must_use]
pub fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Adds `bytes` to the corpus of `target` as `name`, unless a file of that name exists
/// (seed generators never overwrite).
///
/// # Panics
/// When the corpus directory or the file cannot be written.
pub fn write_seed(target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus_dir(target);
    StdFs
        .create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("corpus {}: {error}", dir.display()));
    // `create_new` fails when the file exists: that seed stays as it is.
    if let Ok(file) = StdFs.open(&dir.join(name), OpenOptions::create_new()) {
        file.append(bytes)
            .and_then(|()| file.sync_all())
            .unwrap_or_else(|error| panic!("seed {name} of {target}: {error}"));
    }
}

/// Runs `body` over every file in the corpus of `target` and over
/// `LSM_FUZZ_MUTATIONS` (default `default_mutations`, times the test scale) mutations
/// of them, seeded from `LSM_SEED`; records the count for the reliability program
/// (G10).
///
/// # Panics
/// When the corpus is missing or empty, and whenever `body` panics.
pub fn replay(target: &str, default_mutations: usize, body: impl Fn(&[u8])) {
    let corpus_dir = corpus_dir(target);
    let mutations = std::env::var("LSM_FUZZ_MUTATIONS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(default_mutations);
    let mutations = crate::reliability::scaled_usize(mutations);
    let started = std::time::Instant::now();
    eprintln!("{target}: {mutations} mutations of the corpus");
    let mut rng = Rng::from_env(0x5EED);
    let entries = StdFs
        .read_dir(&corpus_dir)
        .unwrap_or_else(|error| panic!("corpus {}: {error}", corpus_dir.display()));
    let inputs: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| lsm_core::fs::read_all(&StdFs, &entry.path).expect("a corpus file reads"))
        .collect();
    assert!(
        !inputs.is_empty(),
        "corpus {} is empty",
        corpus_dir.display()
    );
    for input in &inputs {
        body(input);
    }
    for _ in 0..mutations {
        let input = &inputs[rng.index(inputs.len())];
        body(&mutate(&mut rng, input));
    }
    crate::reliability::record(
        "G10",
        &format!("fuzz replay: {target}"),
        (inputs.len() + mutations) as u64,
        "inputs",
        started,
    );
}

/// One to four random edits of `input`.
#[must_use]
pub fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let byte = rng.next_u64().to_le_bytes()[0];
        match rng.below(4) {
            0 if !out.is_empty() => {
                let idx = rng.index(out.len());
                out[idx] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let len = rng.index(out.len());
                out.truncate(len);
            }
            2 => {
                let idx = rng.index(out.len() + 1);
                out.insert(idx, byte);
            }
            _ if !out.is_empty() => {
                let idx = rng.index(out.len());
                out[idx] = byte;
            }
            _ => out.push(byte),
        }
    }
    out
}
