//! Our `lsm::Database`: keyspaces over one log, each keyspace's tree configured as the
//! tree-only workloads configure ours.

use std::path::Path;
use std::sync::Arc;

use lsm::compaction::Leveled;
use lsm::config::{BlockSizePolicy, BloomConstructionPolicy, FilterPolicy, FilterPolicyEntry};
use lsm::{Database, Durability, Keyspace, KeyspaceCreateOptions};

use super::LoggedEngine;
use crate::engine::Result;
use crate::settings::Settings;

/// An open database and its keyspaces.
pub struct Ours {
    keyspaces: Vec<Keyspace>,
    db: Database,
}

#[expect(clippy::needless_pass_by_value, reason = "used as map_err(text)")]
fn text(error: lsm::Error) -> String {
    error.to_string()
}

impl Ours {
    /// Opens a database in `dir` with `keyspaces` keyspaces.
    pub fn open(dir: &Path, settings: &Settings, keyspaces: usize) -> Result<Self> {
        let db = Database::builder(dir)
            .cache_size(settings.cache_bytes)
            .max_write_buffer_size(settings.memtable_bytes * settings.memtable_count as u64)
            .open()
            .map_err(text)?;
        let (block_bytes, filter_bits) = (settings.block_bytes, settings.our_filter_bits());
        let strategy = Arc::new(
            Leveled::default()
                .with_l0_threshold(settings.l0_trigger)
                .with_table_target_size(settings.table_bytes)
                .with_level_ratio_policy(vec![settings.level_ratio]),
        );
        let options = move || {
            KeyspaceCreateOptions::default()
                .max_memtable_size(settings.memtable_bytes)
                .compaction_strategy(Arc::clone(&strategy) as _)
                .with_config(move |config| {
                    config
                        .data_block_size_policy(BlockSizePolicy::all(block_bytes))
                        .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
                            BloomConstructionPolicy::BitsPerKey(filter_bits),
                        )))
                })
        };
        let keyspaces = (0..keyspaces)
            .map(|idx| db.keyspace(&format!("ks{idx}"), &options).map_err(text))
            .collect::<Result<_>>()?;
        Ok(Self { keyspaces, db })
    }
}

impl LoggedEngine for Ours {
    fn put(&self, keyspace: usize, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let keyspace = &self.keyspaces[keyspace];
        if sync {
            let mut batch = self.db.batch().durability(Durability::Sync);
            batch.insert(keyspace, key, value);
            batch.commit().map(|_| ()).map_err(text)
        } else {
            keyspace.insert(key, value).map_err(text)
        }
    }
}
