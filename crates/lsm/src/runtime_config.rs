//! [`RuntimeConfig`]: the settings a running tree takes changes of without a restart
//! (`AbstractTree::update_runtime_config`). They are swapped whole and atomically; the
//! next write, flush or compaction uses the new ones. They are not persisted: a reopen
//! starts from [`crate::Config::with_runtime_config`] again. Files describe themselves,
//! so no setting here can make an older file unreadable.

use crate::config::{BloomConstructionPolicy, CompressionType, FilterPolicyEntry};
use crate::{Error, Result};

/// Settings a running tree can change (see the module documentation). Build one with
/// `RuntimeConfig::default()` and set its fields.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Refuse `try_*` writes and `apply_batch` with [`Error::StorageFull`] while the
    /// tree's files, plus what its memtables will flush, would pass
    /// [`Self::storage_limit_bytes`] or the file system's free space; and defer a merge
    /// whose inputs would not fit in the room left. Reads keep working, and writes are
    /// admitted again by themselves once there is room (default `false`).
    pub storage_admission_check: bool,
    /// A byte quota for the tree's files, checked when
    /// [`Self::storage_admission_check`] is on (default `None`: only free space).
    pub storage_limit_bytes: Option<u64>,
    /// Compaction writes, in bytes per second; `None`: not limited. Starts from
    /// [`crate::Config::compaction_rate_limit`].
    pub compaction_rate_limit: Option<u64>,
    /// The compression of data blocks in the tables written from now on, at every
    /// level: `None`, `Lz4` or `Zstd(level)` (a dictionary is a `Config` setting);
    /// `None` here: the `Config`'s per-level policy.
    pub data_block_compression: Option<CompressionType>,
    /// The data block size of the tables written from now on, in bytes (64 to 4 MiB);
    /// `None`: the `Config`'s per-level policy.
    pub data_block_size: Option<u32>,
    /// The key filter's bits per key in the tables written from now on (where the
    /// `Config` gives them a filter); `None`: the `Config`'s per-level policy.
    pub filter_bits_per_key: Option<f32>,
    /// Hash every entry as it is inserted and check the sums before a memtable is
    /// flushed: memory corrupted between the write and the flush fails the flush with
    /// [`Error::MemtableChecksumMismatch`] instead of reaching disk. Taken up by the
    /// memtables started after the change (default `false`).
    pub entry_checksums: bool,
}

/// The smallest and largest data block size a runtime setting may ask for.
const BLOCK_SIZES: std::ops::RangeInclusive<u32> = 64..=(4 << 20);

impl RuntimeConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero quota or a zero rate (use `None`).
    pub fn validate(&self) -> Result<()> {
        if self.storage_limit_bytes == Some(0) {
            return Err(Error::InvalidConfig(
                "storage_limit_bytes of 0: no write could be admitted (use None for no quota)",
            ));
        }
        if self.compaction_rate_limit == Some(0) {
            return Err(Error::InvalidConfig(
                "compaction_rate_limit of 0 bytes per second (use None for no limit)",
            ));
        }
        match self.data_block_compression {
            Some(CompressionType::ZstdDict { .. }) => {
                return Err(Error::InvalidConfig(
                    "data_block_compression cannot name a dictionary (set it on the Config)",
                ));
            }
            Some(compression) => compression.validate(None)?,
            None => {}
        }
        if let Some(size) = self.data_block_size
            && !BLOCK_SIZES.contains(&size)
        {
            return Err(Error::InvalidConfig(
                "data_block_size must be 64 bytes to 4 MiB",
            ));
        }
        if let Some(bits) = self.filter_bits_per_key {
            FilterPolicyEntry::Bloom(BloomConstructionPolicy::BitsPerKey(bits)).to_burr()?;
        }
        Ok(())
    }

    /// Lays these settings over the `Config`'s `options` for a table about to be
    /// written; `training` is the `Config`'s dictionary training, which follows a zstd
    /// level set here.
    pub(crate) fn apply_to(
        &self,
        options: &mut lsm_table::TableOptions,
        training: Option<lsm_table::DictionaryTraining>,
    ) -> Result<()> {
        if let Some(compression) = self.data_block_compression {
            options.compression = compression.to_codec(None);
            options.dictionary_training = match compression {
                CompressionType::Zstd(level) => {
                    training.map(|training| lsm_table::DictionaryTraining { level, ..training })
                }
                _ => None,
            };
        }
        if let Some(size) = self.data_block_size {
            options.block_size = size as usize;
        }
        if let Some(bits) = self.filter_bits_per_key
            && options.filter.is_some()
        {
            options.filter =
                FilterPolicyEntry::Bloom(BloomConstructionPolicy::BitsPerKey(bits)).to_burr()?;
        }
        Ok(())
    }
}
