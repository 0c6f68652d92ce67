//! A seeded xorshift64* generator: reproducible, dependency-free randomness for tests,
//! generators and benchmarks.

/// A seeded pseudo-random generator (xorshift64*). Not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// A generator seeded from `LSM_SEED`, or from `default` when unset; prints the seed
    /// so that a failing run can be repeated.
    #[must_use]
    pub fn from_env(default: u64) -> Self {
        let seed = std::env::var("LSM_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or(default);
        eprintln!("seed {seed} (rerun with LSM_SEED={seed})");
        Self::new(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        // Multiply-shift: uniform enough for tests, and no division.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// An index into a collection of `len` items.
    ///
    /// # Panics
    /// When `len` is 0.
    pub fn index(&mut self, len: usize) -> usize {
        assert!(len > 0, "index into an empty collection");
        usize::try_from(self.below(len as u64)).expect("below len, which is a usize")
    }
}

/// `0..count` in a random order.
#[must_use]
pub fn permutation(count: u64, rng: &mut Rng) -> Vec<u64> {
    let mut order: Vec<u64> = (0..count).collect();
    for idx in (1..order.len()).rev() {
        order.swap(idx, rng.index(idx + 1));
    }
    order
}

/// `count` random 64-bit values from `seed` (as filter tests use for key hashes).
#[must_use]
pub fn random_u64s(count: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| rng.next_u64()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_bounds_hold() {
        let mut first = Rng::new(7);
        let mut second = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(first.next_u64(), second.next_u64());
            assert!(first.below(10) < 10);
            second.below(10);
        }
        assert_eq!(Rng::new(0).below(0), 0);
    }
}
