//! The block locator: a retrieval structure per table that maps each user key's hash to
//! the data block holding its versions (and, at a finer precision, where in the block
//! they begin), so that a point read finds its block without searching the index.
//!
//! A table never splits one user key's versions over two data blocks (blocks are cut
//! only between user keys), so one block number per user key is exact at every read
//! seqno. For a key outside the table the locator answers an arbitrary block: the read
//! then finds nothing there, which is the right answer, since a key of the table always
//! gets its own block. Keys whose hashes collide across blocks, a block count or slot
//! that does not fit the configured bits, or a construction that fails leave the table
//! without a locator: its reads search the index as before.
//!
//! ```text
//! version u8 (1) | precision u8 (0 block, 1 restart, 2 entry) | block_bits u8
//! | slot_bits u8 | data restart interval varint | index restart interval varint
//! | index partition count varint | first block of each partition varint
//! | retrieval structure (the rest; lsm-burr format, flag bit 1)
//! ```
//!
//! A key's value is `block << slot_bits | slot`. The slot is the restart (precision 1)
//! or the entry (precision 2) within the block at which the key's versions begin; a slot
//! of all ones means "search the block".
#![deny(clippy::indexing_slicing)]

use lsm_burr::{Retrieval, RetrievalPolicy};
use lsm_core::DecodeError;
use lsm_core::coding::{Decoder, put_varint_u64};

/// The locator format version this build writes and reads.
const LOCATOR_VERSION: u8 = 1;

/// How precisely a table's block locator places a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LocatorPrecision {
    /// The data block: the read then searches the block (its restarts, or its hash
    /// index).
    #[default]
    Block,
    /// The data block and the restart point where the key's versions begin: the read
    /// walks forward from there without searching the restarts.
    Restart,
    /// The data block and the entry where the key's versions begin: the read decodes
    /// its way there from the restart before it, comparing no key on the way.
    Entry,
}

impl LocatorPrecision {
    fn tag(self) -> u8 {
        match self {
            Self::Block => 0,
            Self::Restart => 1,
            Self::Entry => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(Self::Block),
            1 => Some(Self::Restart),
            2 => Some(Self::Entry),
            _ => None,
        }
    }
}

/// How a table's block locator is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocatorOptions {
    /// What a key maps to.
    pub precision: LocatorPrecision,
    /// Bits of the block number; `None`: as many as the table's block count needs. A
    /// table with more blocks than these bits count is written without a locator.
    pub block_id_bits: Option<u8>,
    /// Bits of the slot (restart or entry) at the finer precisions; `None`: as many as
    /// the largest slot needs. A slot that does not fit is stored as "search the block".
    pub slot_bits: Option<u8>,
}

impl LocatorOptions {
    /// Block precision, the bits derived from each table.
    #[must_use]
    pub fn block_level() -> Self {
        Self::default()
    }
}

/// Bits to write `value` (at least 1).
fn bit_length(value: u64) -> u32 {
    (u64::BITS - value.leading_zeros()).max(1)
}

/// Collects each user key's place while a table is written: its hash, the blocks as
/// runs of keys, and (at the finer precisions) its slot.
#[derive(Debug)]
pub(crate) struct LocatorBuilder {
    options: LocatorOptions,
    /// Entries between restarts of the table's data blocks.
    restart_interval: usize,
    /// Each user key's hash, in key order; `None` when the writer's filter holds exactly
    /// these hashes and passes them to [`Self::finish`].
    hashes: Option<Vec<u64>>,
    /// User keys noted.
    key_count: u32,
    /// `(block, index of its first key in hashes)` of each block that has keys.
    blocks: Vec<(u32, u32)>,
    /// Each user key's slot, at the finer precisions.
    slots: Vec<u32>,
    largest_slot: u32,
    /// Set when a block number, slot or key count left `u32` (the table gets no locator).
    overflow: bool,
}

/// Where a table's index puts its blocks, for the locator to turn a block number into a
/// handle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexShape<'a> {
    pub index_restart_interval: usize,
    /// The first block number of each index partition (empty: one index block).
    pub partition_starts: &'a [u32],
}

impl LocatorBuilder {
    pub(crate) fn new(options: LocatorOptions, restart_interval: usize) -> Self {
        Self {
            options,
            restart_interval: restart_interval.max(1),
            hashes: Some(Vec::new()),
            key_count: 0,
            blocks: Vec::new(),
            slots: Vec::new(),
            largest_slot: 0,
            overflow: false,
        }
    }

    /// The builder for a writer whose filter holds each user key's hash, in order and
    /// nothing else: [`Self::finish`] then takes those hashes instead of a copy.
    pub(crate) fn sharing_hashes(mut self) -> Self {
        self.hashes = None;
        self
    }

    /// Notes a new user key's first entry: its hash, its block number, and its position
    /// in the block (entries before it).
    pub(crate) fn note(&mut self, hash: u64, block: usize, position: usize) {
        let slot = match self.options.precision {
            LocatorPrecision::Block => 0,
            LocatorPrecision::Restart => position / self.restart_interval,
            LocatorPrecision::Entry => position,
        };
        let index = self.key_count;
        let (Ok(block), Ok(slot), Some(next)) = (
            u32::try_from(block),
            u32::try_from(slot),
            index.checked_add(1),
        ) else {
            self.overflow = true;
            return;
        };
        if self.blocks.last().is_none_or(|&(last, _)| last != block) {
            self.blocks.push((block, index));
        }
        self.key_count = next;
        if let Some(hashes) = &mut self.hashes {
            hashes.push(hash);
        }
        if self.options.precision != LocatorPrecision::Block {
            self.largest_slot = self.largest_slot.max(slot);
            self.slots.push(slot);
        }
    }

    /// The locator block's payload for a table of `block_count` data blocks, or `None`
    /// when the table is written without one (see the module docs). `shared` are the
    /// filter's hashes, for a builder [`Self::sharing_hashes`] (freed once copied into
    /// the pairs the construction solves, like the builder's own).
    pub(crate) fn finish(
        self,
        block_count: u64,
        shape: IndexShape<'_>,
        shared: Vec<u64>,
    ) -> Option<Vec<u8>> {
        let hashes = match self.hashes {
            Some(own) => {
                drop(shared);
                own
            }
            None => shared,
        };
        if self.overflow || self.key_count == 0 || hashes.len() != self.key_count as usize {
            return None;
        }
        let block_bits = match self.options.block_id_bits {
            Some(bits) => {
                let bits = u32::from(bits);
                if bits == 0 || bits < bit_length(block_count.saturating_sub(1)) {
                    return None;
                }
                bits
            }
            None => bit_length(block_count.saturating_sub(1)),
        };
        let slot_bits = match (self.options.precision, self.options.slot_bits) {
            (LocatorPrecision::Block, _) => 0,
            (_, Some(bits)) => u32::from(bits),
            // One more value than the largest slot: all ones means "search the block".
            (_, None) => bit_length(u64::from(self.largest_slot) + 1),
        };
        if block_bits + slot_bits > 32 {
            return None;
        }
        // No slot bits leave block precision, whatever was asked.
        let precision = if slot_bits == 0 {
            LocatorPrecision::Block
        } else {
            self.options.precision
        };
        let search_block = if slot_bits == 0 {
            0
        } else {
            u32::MAX >> (32 - slot_bits)
        };
        let key_count = hashes.len();
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(key_count);
        for (position, &(block, first)) in self.blocks.iter().enumerate() {
            let end = self
                .blocks
                .get(position + 1)
                .map_or(key_count, |&(_, next)| next as usize);
            for index in first as usize..end {
                let hash = *hashes.get(index)?;
                let value = if slot_bits == 0 {
                    block
                } else {
                    let slot = self.slots.get(index).copied()?.min(search_block);
                    block << slot_bits | slot
                };
                pairs.push((hash, value));
            }
        }
        drop(hashes);
        drop(self.slots);
        let policy = RetrievalPolicy::new(block_bits + slot_bits).ok()?;
        // Two keys of one hash in two places (or a failed construction): no locator.
        let retrieval = Retrieval::build_from_vec(pairs, &policy).ok()?;
        let mut out = Vec::with_capacity(retrieval.size_in_bytes() + 16);
        out.extend_from_slice(&[
            LOCATOR_VERSION,
            precision.tag(),
            u8::try_from(block_bits).ok()?,
            u8::try_from(slot_bits).ok()?,
        ]);
        put_varint_u64(&mut out, self.restart_interval as u64);
        put_varint_u64(&mut out, shape.index_restart_interval as u64);
        put_varint_u64(&mut out, shape.partition_starts.len() as u64);
        for &start in shape.partition_starts {
            put_varint_u64(&mut out, u64::from(start));
        }
        out.extend_from_slice(retrieval.as_bytes());
        Some(out)
    }
}

/// Where a read starts in the block the locator names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Search the block.
    Search,
    /// Walk forward from this restart, after skipping this many entries.
    At { restart: usize, skip: usize },
}

/// A decoded block locator.
#[derive(Debug)]
pub(crate) struct Locator {
    precision: LocatorPrecision,
    slot_bits: u32,
    data_restart_interval: usize,
    pub(crate) index_restart_interval: usize,
    /// The first block number of each index partition (empty: one index block).
    partition_starts: Vec<u32>,
    retrieval: Retrieval,
}

impl Locator {
    /// Parses a locator block's payload for a table of `block_count` data blocks.
    ///
    /// # Errors
    /// [`DecodeError`] when the payload is malformed or its version unknown.
    pub(crate) fn decode(payload: &[u8], block_count: u64) -> Result<Self, DecodeError> {
        let mut decoder = Decoder::new(payload);
        let version = decoder.u8()?;
        if version != LOCATOR_VERSION {
            return Err(invalid("locator version", u64::from(version), 0));
        }
        let precision_tag = decoder.u8()?;
        let precision = LocatorPrecision::from_tag(precision_tag)
            .ok_or_else(|| invalid("locator precision", u64::from(precision_tag), 1))?;
        let block_bits = u32::from(decoder.u8()?);
        let slot_bits = u32::from(decoder.u8()?);
        if block_bits == 0
            || block_bits + slot_bits > 32
            || (precision == LocatorPrecision::Block) != (slot_bits == 0)
            || block_count > 1 << block_bits
        {
            return Err(invalid(
                "locator bits",
                u64::from(block_bits << 8 | slot_bits),
                2,
            ));
        }
        let data_restart_interval = interval(&mut decoder, "data restart interval")?;
        let index_restart_interval = interval(&mut decoder, "index restart interval")?;
        let count_offset = decoder.offset();
        let partition_count = decoder.varint_u64()?;
        if partition_count > block_count {
            return Err(invalid(
                "locator partition count",
                partition_count,
                count_offset,
            ));
        }
        let mut partition_starts = Vec::new();
        for position in 0..partition_count {
            let offset = decoder.offset();
            let start = decoder.varint_u64()?;
            let ascending = match partition_starts.last() {
                None => start == 0,
                Some(&last) => start > u64::from(last),
            };
            if !ascending || start >= block_count {
                return Err(invalid("locator partition start", start ^ position, offset));
            }
            partition_starts
                .push(u32::try_from(start).map_err(|_| invalid("start", start, offset))?);
        }
        let rest = payload
            .get(decoder.offset()..)
            .ok_or_else(|| invalid("locator length", payload.len() as u64, decoder.offset()))?;
        let retrieval = Retrieval::decode(rest.to_vec()).map_err(|_| {
            invalid(
                "locator retrieval structure",
                rest.len() as u64,
                decoder.offset(),
            )
        })?;
        if retrieval.value_bits() != block_bits + slot_bits {
            return Err(invalid(
                "locator value bits",
                u64::from(retrieval.value_bits()),
                decoder.offset(),
            ));
        }
        Ok(Self {
            precision,
            slot_bits,
            data_restart_interval,
            index_restart_interval,
            partition_starts,
            retrieval,
        })
    }

    /// The block number and the start within it for a key with this hash (if the key is
    /// in the table; any other key gets an arbitrary answer).
    pub(crate) fn locate(&self, hash: u64) -> (u64, Start) {
        let value = self.retrieval.get_hash(hash);
        if self.slot_bits == 0 {
            return (u64::from(value), Start::Search);
        }
        let search_block = u32::MAX >> (32 - self.slot_bits);
        let slot = value & search_block;
        let block = u64::from(value >> self.slot_bits);
        if slot == search_block {
            return (block, Start::Search);
        }
        let slot = slot as usize;
        let start = match self.precision {
            LocatorPrecision::Block => Start::Search,
            LocatorPrecision::Restart => Start::At {
                restart: slot,
                skip: 0,
            },
            LocatorPrecision::Entry => Start::At {
                restart: slot / self.data_restart_interval,
                skip: slot % self.data_restart_interval,
            },
        };
        (block, start)
    }

    /// For a partitioned index, the partition holding block `block` and the block's
    /// position in it; `None` for an index of one block.
    pub(crate) fn partition_of(&self, block: usize) -> Option<(usize, usize)> {
        if self.partition_starts.is_empty() {
            return None;
        }
        // The first partition starts at block 0 (checked when decoded).
        let partition = self
            .partition_starts
            .partition_point(|&start| start as usize <= block)
            .saturating_sub(1);
        let start = self
            .partition_starts
            .get(partition)
            .map_or(0, |&start| start as usize);
        Some((partition, block - start))
    }

    /// Bytes the locator holds in memory.
    pub(crate) fn size_in_bytes(&self) -> usize {
        self.retrieval.size_in_bytes() + self.partition_starts.len() * 4
    }
}

fn interval(decoder: &mut Decoder<'_>, field: &'static str) -> Result<usize, DecodeError> {
    let offset = decoder.offset();
    let value = decoder.varint_u64()?;
    if value == 0 || value > u64::from(u32::MAX) {
        return Err(invalid(field, value, offset));
    }
    usize::try_from(value).map_err(|_| invalid(field, value, offset))
}

fn invalid(field: &'static str, value: u64, offset: usize) -> DecodeError {
    DecodeError::InvalidField {
        field,
        value,
        offset,
    }
}
