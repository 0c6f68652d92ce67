//! Keys and values of the db_bench workloads. Keys are fixed-width decimal numbers
//! (`--key-size` bytes, zero-padded): key `idx` holds the number `2 * idx`, and its
//! missing twin `2 * idx + 1` sorts right after it, so that a missing key falls inside
//! the key range of the tables and only the filters can rule it out. Values are slices
//! of the real records (Debian's package index), so that they look and compress like
//! real data: a [`ValueCursor`] walks the offsets of the first 8 MiB of records (the same
//! bytes in the full set and the shipped subset) from a seeded start with a step near
//! the golden section of their count, so that no offset repeats before every one has
//! been used (no value repeats within a table: a repeat would flatter every compression
//! figure) and consecutive values come from records far apart.

use std::path::Path;

use lsm_core::StdFs;
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;

/// The keys of a run of `num` keys.
#[derive(Clone, Copy, Debug)]
pub struct KeySpace {
    key_bytes: usize,
}

impl KeySpace {
    /// Keys of `key_bytes` bytes for indexes below `num`.
    ///
    /// # Errors
    /// When `2 * num` does not fit in `key_bytes` decimal digits.
    pub fn new(key_bytes: usize, num: u64) -> Result<Self, String> {
        let digits = (num.saturating_mul(2)).max(1).ilog10() as usize + 1;
        if digits > key_bytes {
            return Err(format!(
                "--key-size {key_bytes} is too small for --num {num}: keys need {digits} digits"
            ));
        }
        Ok(Self { key_bytes })
    }

    /// Bytes of every key.
    pub fn key_bytes(&self) -> usize {
        self.key_bytes
    }

    /// Writes key `idx` into `buf`.
    pub fn key_into(&self, idx: u64, buf: &mut Vec<u8>) {
        self.number_into(idx * 2, buf);
    }

    /// Writes the missing key after key `idx` into `buf`.
    pub fn missing_key_into(&self, idx: u64, buf: &mut Vec<u8>) {
        self.number_into(idx * 2 + 1, buf);
    }

    /// Key `idx`.
    #[cfg(test)]
    pub fn key(&self, idx: u64) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.key_bytes);
        self.key_into(idx, &mut buf);
        buf
    }

    fn number_into(&self, number: u64, buf: &mut Vec<u8>) {
        use std::io::Write;
        buf.clear();
        let _ = write!(buf, "{number:0width$}", width = self.key_bytes);
    }
}

/// Values cut from the real records.
pub struct Values {
    corpus: Vec<u8>,
}

/// Bytes of records the values are cut from.
const CORPUS_BYTES: usize = 8 << 20;

impl Values {
    /// Loads the records.
    ///
    /// # Errors
    /// When the data set cannot be read.
    pub fn load() -> Result<Self, String> {
        let mut corpus = Vec::with_capacity(CORPUS_BYTES);
        for record in
            debian_records().map_err(|error| format!("cannot load the data set: {error}"))?
        {
            corpus.extend_from_slice(&record.value);
            if corpus.len() >= CORPUS_BYTES {
                break;
            }
        }
        Ok(Self { corpus })
    }

    /// Writes the corpus to `path`, for [`Self::read_from`] in a child process (which
    /// then never holds the whole data set, so its peak RSS is the engine's).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_to(&self, path: &Path) -> Result<(), String> {
        crate::db_bench::sample::write_file(path, &self.corpus)
    }

    /// Reads a corpus [`Self::write_to`] wrote.
    ///
    /// # Errors
    /// When the file cannot be read or is empty.
    pub fn read_from(path: &Path) -> Result<Self, String> {
        let corpus = lsm_core::fs::read_all(&StdFs, path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if corpus.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Self { corpus })
    }

    /// A cursor for values of `value_bytes` bytes, starting at an offset drawn from `rng`.
    ///
    /// # Panics
    /// When `value_bytes` exceeds the corpus (8 MiB).
    pub fn cursor(&self, rng: &mut Rng, value_bytes: usize) -> ValueCursor {
        assert!(value_bytes <= self.corpus.len(), "values up to 8 MiB");
        let offset_count = (self.corpus.len() - value_bytes + 1) as u64;
        ValueCursor {
            value_bytes,
            offset: rng.below(offset_count),
            step: golden_step(offset_count),
            offset_count,
        }
    }

    /// The next value of `cursor`.
    pub fn value(&self, cursor: &mut ValueCursor) -> &[u8] {
        let offset = usize::try_from(cursor.offset).expect("offsets lie within the corpus");
        cursor.offset = (cursor.offset + cursor.step) % cursor.offset_count;
        &self.corpus[offset..offset + cursor.value_bytes]
    }
}

/// Where the next value is cut (see the module docs).
#[derive(Clone, Debug)]
pub struct ValueCursor {
    value_bytes: usize,
    offset: u64,
    step: u64,
    offset_count: u64,
}

/// The step coprime to `count` nearest above `count` times the golden section: a walk of
/// it visits every offset once per `count` steps, and the values of a stretch of
/// consecutive steps lie far apart in the corpus.
fn golden_step(count: u64) -> u64 {
    // The golden section, 0.618..., in millionths.
    const GOLDEN_SECTION_PPM: u128 = 618_034;
    if count <= 1 {
        return 1;
    }
    let scaled = u128::from(count) * GOLDEN_SECTION_PPM / 1_000_000;
    let mut step = u64::try_from(scaled)
        .expect("below count")
        .clamp(1, count - 1);
    while gcd(step, count) != 1 {
        step += 1;
    }
    step
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

pub use lsm_testkit::rng::permutation;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_sort_between_present_ones() {
        let keys = KeySpace::new(16, 1_000).unwrap();
        let (mut missing, mut next) = (Vec::new(), Vec::new());
        keys.missing_key_into(7, &mut missing);
        keys.key_into(8, &mut next);
        assert!(keys.key(7) < missing && missing < next);
        assert_eq!(missing.len(), 16);
        assert_eq!(keys.key(3), b"0000000000000006");
    }

    #[test]
    fn a_cursor_uses_every_offset_once_before_repeating_one() {
        let values = Values {
            corpus: (0..10_000_u32).flat_map(u32::to_le_bytes).collect(),
        };
        let mut rng = Rng::new(7);
        let mut cursor = values.cursor(&mut rng, 4);
        let offset_count = values.corpus.len() - 4 + 1;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..offset_count {
            let value = values.value(&mut cursor).as_ptr() as usize;
            assert!(seen.insert(value), "an offset came back early");
        }
        assert_eq!(seen.len(), offset_count);
        // Consecutive values lie far apart.
        let first = values.value(&mut cursor).as_ptr() as usize;
        let second = values.value(&mut cursor).as_ptr() as usize;
        assert!(first.abs_diff(second) > offset_count / 4);
    }

    #[test]
    fn golden_steps_are_coprime_to_their_count() {
        for count in [1_u64, 2, 3, 10, 12, 1 << 20, 8_388_509] {
            let step = golden_step(count);
            assert!(step >= 1);
            assert_eq!(gcd(step, count.max(1)), 1);
        }
    }

    #[test]
    fn keys_that_do_not_fit_are_refused() {
        assert!(KeySpace::new(4, 5_000).is_err());
        assert!(KeySpace::new(4, 4_999).is_ok());
    }
}
