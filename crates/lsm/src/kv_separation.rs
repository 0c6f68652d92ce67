//! [`KvSeparationOptions`]: which values a tree stores in blob files, and when it
//! collects their garbage.

use lsm_codec::{DictionaryTraining, ZstdDictionary};

use crate::config::CompressionType;

/// Default separation threshold: values of 1 KiB or more go to blob files.
pub const DEFAULT_SEPARATION_THRESHOLD: u32 = 1024;
/// Default target size of a blob file.
pub const DEFAULT_BLOB_FILE_TARGET_BYTES: u64 = 64 << 20;
/// Default staleness threshold: a blob file with a quarter of its bytes dead is
/// collected.
pub const DEFAULT_STALENESS_THRESHOLD: f32 = 0.25;
/// Default age cut-off: compactions relocate the oldest quarter of the stale blob files.
pub const DEFAULT_AGE_CUTOFF: f32 = 0.25;

/// Key-value separation: values at or above a size threshold are written once to
/// append-only blob files, and the tables hold a small pointer instead, so compactions
/// stop rewriting them. Set with [`crate::Config::with_kv_separation`].
///
/// Garbage collection runs inside compaction. A blob file is stale once its dead share
/// (values no table points to any more) reaches `staleness_threshold`; the oldest
/// `age_cutoff` share of the stale files has its live values copied to a new blob file
/// by every merge that rewrites tables pointing into them; when nothing else needs
/// compacting, the table pointing to the most such bytes is rewritten in place for that
/// purpose, so a quiet tree collects every stale file. A blob file with no live value
/// left is deleted once no reader holds it.
///
/// ```
/// use lsm::{Config, KvSeparationOptions, AbstractTree, SequenceNumberCounter, TreeType};
///
/// let dir = tempfile::tempdir()?;
/// let tree = Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default())
///     .with_kv_separation(Some(KvSeparationOptions::default().separation_threshold(4096)))
///     .open()?;
/// assert_eq!(tree.tree_type(), TreeType::Blob);
/// # Ok::<(), lsm::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KvSeparationOptions {
    #[doc(hidden)]
    pub separation_threshold: u32,
    #[doc(hidden)]
    pub file_target_size: u64,
    #[doc(hidden)]
    pub compression: CompressionType,
    #[doc(hidden)]
    pub staleness_threshold: f32,
    #[doc(hidden)]
    pub age_cutoff: f32,
    #[doc(hidden)]
    pub dict: Option<std::sync::Arc<ZstdDictionary>>,
    #[doc(hidden)]
    pub dictionary_training: Option<DictionaryTraining>,
}

impl Default for KvSeparationOptions {
    fn default() -> Self {
        Self {
            separation_threshold: DEFAULT_SEPARATION_THRESHOLD,
            file_target_size: DEFAULT_BLOB_FILE_TARGET_BYTES,
            compression: CompressionType::None,
            staleness_threshold: DEFAULT_STALENESS_THRESHOLD,
            age_cutoff: DEFAULT_AGE_CUTOFF,
            dict: None,
            dictionary_training: None,
        }
    }
}

impl KvSeparationOptions {
    /// Values of at least this many bytes are separated (0 separates every value).
    #[must_use]
    pub fn separation_threshold(mut self, bytes: u32) -> Self {
        self.separation_threshold = bytes;
        self
    }

    /// A blob file is closed once it reaches this size.
    #[must_use]
    pub fn file_target_size(mut self, bytes: u64) -> Self {
        self.file_target_size = bytes;
        self
    }

    /// How each value in a blob file is compressed (kept only when it shrinks).
    #[must_use]
    pub fn compression(mut self, compression: CompressionType) -> Self {
        self.compression = compression;
        self
    }

    /// The dead share (`0.0..=1.0`) at which a blob file is collected.
    #[must_use]
    pub fn staleness_threshold(mut self, ratio: f32) -> Self {
        self.staleness_threshold = ratio;
        self
    }

    /// The share (`0.0..=1.0`) of the stale blob files, oldest first, whose live values
    /// compactions relocate at a time (rounded up, and at least one file). Lower values
    /// write less and let more garbage wait. To keep blob files until they are wholly
    /// dead, set the staleness threshold to `1.0`.
    #[must_use]
    pub fn age_cutoff(mut self, ratio: f32) -> Self {
        self.age_cutoff = ratio;
        self
    }

    /// A zstd dictionary for the values (with zstd compression).
    #[must_use]
    pub fn dict(mut self, dictionary: std::sync::Arc<ZstdDictionary>) -> Self {
        self.dict = Some(dictionary);
        self
    }

    /// Blob files whose values use plain zstd (and no caller dictionary) train a
    /// dictionary of their own on their first `sample_bytes` of values, store it, and
    /// compress every later value with it (at the compression's level; the training's
    /// is ignored). The values sampled before training keep plain zstd; a file that
    /// ends before the sample is full has no dictionary. `None` (the default): no
    /// training.
    #[must_use]
    pub fn dictionary_training(mut self, training: Option<DictionaryTraining>) -> Self {
        self.dictionary_training = training;
        self
    }

    /// When blob garbage is collected, as the compaction jobs take it.
    pub(crate) fn gc_policy(&self) -> lsm_compaction::BlobGcPolicy {
        lsm_compaction::BlobGcPolicy {
            staleness_threshold: self.staleness_threshold,
            age_cutoff: self.age_cutoff,
        }
    }

    pub(crate) fn validate(&self) -> crate::error::Result<()> {
        let ratio = 0.0..=1.0;
        if !ratio.contains(&self.staleness_threshold) || !ratio.contains(&self.age_cutoff) {
            return Err(crate::error::Error::InvalidConfig(
                "kv separation ratios must lie in 0.0..=1.0",
            ));
        }
        if self.file_target_size == 0 {
            return Err(crate::error::Error::InvalidConfig(
                "blob file target size must be above 0",
            ));
        }
        self.compression.validate(self.dict.as_deref())
    }

    /// How blob files are written.
    pub(crate) fn write_options(&self) -> lsm_vlog::BlobWriteOptions {
        let compression = match (self.compression, &self.dict) {
            (CompressionType::Zstd(level), Some(dictionary)) => {
                lsm_codec::Compression::zstd_dict(level, dictionary)
            }
            (compression, dictionary) => compression.to_codec(dictionary.as_deref()),
        };
        let dictionary_training = match (self.compression, &self.dict) {
            (CompressionType::Zstd(level), None) => self
                .dictionary_training
                .map(|training| DictionaryTraining { level, ..training }),
            _ => None,
        };
        lsm_vlog::BlobWriteOptions {
            compression,
            encryption: None,
            dictionary_training,
        }
    }
}
