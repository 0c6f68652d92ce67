//! The in-block hash index: user key -> restart interval, for point lookups.
//!
//! Each bucket holds the index of the restart interval where the first version of the
//! keys hashing to it lives, [`HASH_BUCKET_EMPTY`] when no key hashes there (the key is
//! certainly absent from the block), or [`HASH_BUCKET_COLLISION`] when keys of several
//! intervals do (the reader falls back to binary search). Buckets are chosen by a
//! multiply-shift reduction of the XXH3 hash of the user key.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::layout::{
    HASH_BUCKET_COLLISION, HASH_BUCKET_COUNT_MAX, HASH_BUCKET_EMPTY, HASH_INDEX_SEED,
    HASH_RESTART_COUNT_MAX,
};

/// What a bucket says about a user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The key is not in the block.
    Absent,
    /// The key's first version is in this restart interval, if the key is in the block.
    Restart(usize),
    /// Unknown: search the restarts.
    Collision,
}

/// The hash of a user key used by the index.
pub(crate) fn hash(user_key: &[u8]) -> u64 {
    xxh3_64_with_seed(user_key, HASH_INDEX_SEED)
}

/// The bucket of `hash` among `bucket_count` buckets.
pub(crate) fn bucket_of(hash: u64, bucket_count: usize) -> usize {
    // Multiply-shift maps the hash uniformly onto 0..bucket_count without a division.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the product's high half is < bucket_count"
    )]
    let bucket = ((u128::from(hash) * bucket_count as u128) >> 64) as usize;
    bucket
}

/// Builds the buckets for `(hash, restart index)` pairs.
pub(crate) fn build(entries: &[(u64, usize)], ratio: f64) -> Vec<u8> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a small positive bucket count, clamped below"
    )]
    let wanted = (entries.len() as f64 * ratio).ceil() as usize;
    let bucket_count = wanted.clamp(1, HASH_BUCKET_COUNT_MAX);
    let mut buckets = vec![HASH_BUCKET_EMPTY; bucket_count];
    for &(hash, restart_idx) in entries {
        assert!(
            restart_idx < HASH_RESTART_COUNT_MAX,
            "restart index exceeds the hash index range"
        );
        let restart = u8::try_from(restart_idx).expect("restart index < 254");
        let bucket = &mut buckets[bucket_of(hash, bucket_count)];
        *bucket = match *bucket {
            HASH_BUCKET_EMPTY => restart,
            existing if existing == restart => restart,
            _ => HASH_BUCKET_COLLISION,
        };
    }
    buckets
}

/// Looks `user_key` up in `buckets`.
pub(crate) fn lookup(buckets: &[u8], user_key: &[u8]) -> Lookup {
    let bucket = buckets
        .get(bucket_of(hash(user_key), buckets.len()))
        .copied()
        .unwrap_or(HASH_BUCKET_COLLISION);
    match bucket {
        HASH_BUCKET_EMPTY => Lookup::Absent,
        HASH_BUCKET_COLLISION => Lookup::Collision,
        restart => Lookup::Restart(usize::from(restart)),
    }
}
