//! fjall 3 (the `fjall` crate) with its journal: keyspaces over one journal, configured
//! as the tree-only workloads configure fjall's lsm-tree, sharing one block cache (its
//! write-buffer budget across keyspaces is unfinished upstream and off by default, so
//! each keyspace is bounded by its memtable size alone). A
//! synced write is a one-item batch with `PersistMode::SyncData` durability, fjall's
//! way of making a write durable when it returns.

use std::path::Path;
use std::sync::Arc;

use fjall::config::{
    BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, FilterPolicy, FilterPolicyEntry,
};
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::LoggedEngine;
use crate::engine::Result;
use crate::settings::Settings;

/// An open database and its keyspaces.
pub struct Fjall {
    keyspaces: Vec<Keyspace>,
    db: Database,
}

#[expect(clippy::needless_pass_by_value, reason = "used as map_err(text)")]
fn text(error: fjall::Error) -> String {
    error.to_string()
}

impl Fjall {
    /// Opens a database in `dir` with `keyspaces` keyspaces.
    pub fn open(dir: &Path, settings: &Settings, keyspaces: usize) -> Result<Self> {
        let db = Database::builder(dir)
            .cache_size(settings.cache_bytes)
            .open()
            .map_err(text)?;
        let strategy = Arc::new(
            fjall::compaction::Leveled::default()
                .with_l0_threshold(settings.l0_trigger)
                .with_table_target_size(settings.table_bytes)
                .with_level_ratio_policy(vec![settings.level_ratio]),
        );
        let options = || {
            KeyspaceCreateOptions::default()
                .max_memtable_size(settings.memtable_bytes)
                .data_block_size_policy(BlockSizePolicy::all(settings.block_bytes))
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::None))
                .index_block_compression_policy(CompressionPolicy::all(CompressionType::None))
                .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
                    BloomConstructionPolicy::BitsPerKey(settings.filter_bits_per_key),
                )))
                .compaction_strategy(Arc::clone(&strategy) as _)
        };
        let keyspaces = (0..keyspaces)
            .map(|idx| db.keyspace(&format!("ks{idx}"), options).map_err(text))
            .collect::<Result<_>>()?;
        Ok(Self { keyspaces, db })
    }
}

impl LoggedEngine for Fjall {
    fn put(&self, keyspace: usize, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let keyspace = &self.keyspaces[keyspace];
        if sync {
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            batch.insert(keyspace, key, value);
            batch.commit().map_err(text)
        } else {
            keyspace.insert(key, value).map_err(text)
        }
    }
}
