//! Code written the way users of coordinode-lsm-tree 5.6 write it compiles and behaves
//! the same here (the surface of `../shared/spec/api.md` sections 1-4 this crate has so far).

#![allow(clippy::unwrap_used, reason = "tests")]

use lsm::config::{
    BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, FilterPolicy, FilterPolicyEntry,
    LocatorPolicy, LocatorPolicyEntry, LocatorPrecision, PinningPolicy, RestartIntervalPolicy,
};
use lsm::{
    AbstractTree, AnyIngestion, AnyTree, Config, Guard, KvPair, MAX_SEQNO, SeqNo,
    SequenceNumberCounter, Slice, UserKey, UserValue,
};

fn guard_to_kv(guard: impl Guard) -> KvPair {
    guard.into_inner().unwrap()
}

#[test]
fn upstream_style_code_runs() -> lsm::Result<()> {
    let folder = tempfile::tempdir()?;
    let seqno = SequenceNumberCounter::default();
    let visible_seqno = SequenceNumberCounter::default();
    let any = Config::new(&folder, seqno.clone(), visible_seqno)
        .data_block_size_policy(BlockSizePolicy::all(4_096))
        .data_block_compression_policy(CompressionPolicy::disabled())
        .data_block_restart_interval_policy(RestartIntervalPolicy::all(16))
        .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
            BloomConstructionPolicy::BitsPerKey(10.0),
        )))
        .index_block_pinning_policy(PinningPolicy::all(true))
        .locator_policy(LocatorPolicy::new([
            LocatorPolicyEntry::None,
            LocatorPolicyEntry::Enabled {
                precision: LocatorPrecision::Restart,
                block_id_bits: None,
                slot_bits: Some(4),
            },
        ]))
        .open()?;
    assert_eq!(LocatorPolicy::default(), LocatorPolicy::block_level());
    assert_eq!(LocatorPolicy::disabled().get(3), LocatorPolicyEntry::None);
    let AnyTree::Standard(tree) = any.clone() else {
        unreachable!("no key-value separation was asked for");
    };

    let key: UserKey = Slice::from("a");
    let value: UserValue = "1".into();
    let (added, size) = tree.insert(key, value, seqno.next());
    assert!(added > 0 && size >= added);
    tree.insert(*b"b", vec![2_u8], seqno.next());
    tree.insert(String::from("c"), "3", seqno.next());
    assert_eq!(tree.get("a", SeqNo::MAX)?.as_deref(), Some(&b"1"[..]));
    assert!(tree.contains_key("b", MAX_SEQNO)?);

    assert!(tree.rotate_memtable().is_some());
    assert_eq!(tree.sealed_memtable_count(), 1);
    let lock = tree.get_flush_lock();
    assert!(tree.flush(&lock, 0)?.is_some());
    drop(lock);
    assert_eq!(tree.sealed_memtable_count(), 0);
    assert_eq!(tree.table_count(), 1);
    assert_eq!(tree.level_table_count(0), Some(1));
    assert_eq!(tree.level_table_count(7), None);

    let items: Vec<_> = any.iter(SeqNo::MAX, None).map(guard_to_kv).collect();
    assert_eq!(items.len(), 3);
    let keys: Vec<_> = any
        .prefix("b", SeqNo::MAX, None)
        .map(|guard| guard.key().unwrap())
        .collect();
    assert_eq!(keys, [Slice::from("b")]);
    let (key, value) = any
        .range("b"..="c", SeqNo::MAX, None)
        .next_back()
        .unwrap()
        .into_inner_if(|key| key == "c")?;
    assert_eq!(
        (key.as_ref(), value.as_deref()),
        (&b"c"[..], Some(&b"3"[..]))
    );
    assert_eq!(any.first_key_value(SeqNo::MAX, None).unwrap().size()?, 1);
    let mut seekable = any.range_seekable("a"..="c", SeqNo::MAX, None);
    seekable.seek_to(b"b");
    assert_eq!(seekable.peek_key().unwrap()?, Slice::from("b"));
    seekable.seek_to_for_prev(b"b");
    assert_eq!(seekable.next_back().unwrap().key()?, Slice::from("b"));
    let batched = any
        .batch_range_scan(vec!["a".."b", "c".."d"], SeqNo::MAX, None)
        .count();
    assert_eq!(batched, 2);
    assert_eq!(any.len(SeqNo::MAX, None)?, 3);
    assert!(!any.is_empty(SeqNo::MAX, None)?);
    assert_eq!(any.get_highest_persisted_seqno(), Some(2));
    Ok(())
}

#[test]
fn tree_ids_raw_entries_slices_and_tree_types_work_as_in_the_mirrored_api() -> lsm::Result<()> {
    let first_dir = lsm::get_tmp_folder();
    let second_dir = lsm::get_tmp_folder();
    assert_ne!(first_dir.path(), second_dir.path());
    let open = |dir: &tempfile::TempDir| {
        Config::new(
            dir.path(),
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .open()
    };
    let (first, second) = (open(&first_dir)?, open(&second_dir)?);
    assert_ne!(first.id(), second.id());

    first.insert("a", "1", 0);
    first.remove("a", 1);
    let raw = first.get_internal_entry(b"a", SeqNo::MAX)?.unwrap();
    assert_eq!(raw.key.value_type, lsm::ValueType::Tombstone);
    assert_eq!(raw.key.seqno, 1);
    let older = first.get_internal_entry(b"a", 1)?.unwrap();
    assert_eq!(
        older,
        lsm::InternalValue::from_components("a", "1", 0, lsm::ValueType::Value)
    );
    first.flush_active_memtable(0)?;
    assert!(
        first.get_internal_entry(b"a", SeqNo::MAX)?.is_some(),
        "from a table too"
    );
    assert_eq!(first.get_internal_entry(b"b", SeqNo::MAX)?, None);

    // The tree types can be matched exhaustively.
    let kind = match &first {
        AnyTree::Standard(_) => "standard",
        AnyTree::Blob(_) => "blob",
    };
    assert_eq!(kind, "standard");

    // The io vocabulary under its mirrored path converts into the tree's error.
    let io_error = lsm::io::Error::from(lsm::io::ErrorKind::NotFound);
    assert!(matches!(lsm::Error::from(io_error), lsm::Error::Io(_)));

    // Slices compare with bytes from either side.
    first.insert("k", "v", 2);
    let value = first.get("k", SeqNo::MAX)?.unwrap();
    assert!(b"v" == value && value == *b"v" && b"v".to_vec() == value && "v" == value);
    Ok(())
}

#[test]
fn a_key_s_history_is_listed_newest_first_with_where_each_version_lives() -> lsm::Result<()> {
    let dir = lsm::get_tmp_folder();
    let tree = Config::new(
        dir.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()?;
    tree.insert("k", "1", 1);
    tree.flush_active_memtable(0)?;
    tree.insert("k", "2", 2);
    tree.remove("k", 3);
    tree.flush_active_memtable(0)?;
    tree.insert("k", "4", 4);
    tree.insert("other", "x", 5);
    let versions = tree.key_versions(b"k")?;
    let seqnos: Vec<_> = versions
        .iter()
        .map(|version| version.entry.key.seqno)
        .collect();
    assert_eq!(seqnos, vec![4, 3, 2, 1]);
    assert_eq!(versions[0].source, "active memtable");
    assert!(versions[1].source.starts_with("L0 table"));
    assert_eq!(versions[1].entry.key.value_type, lsm::ValueType::Tombstone);
    assert_ne!(versions[1].source, versions[3].source, "two tables");
    tree.print_trace(b"k")?;
    assert!(tree.key_versions(b"missing")?.is_empty());
    Ok(())
}

#[test]
fn ingestion_is_written_as_in_the_mirrored_api() -> lsm::Result<()> {
    let folder = lsm::get_tmp_folder();
    let tree = Config::new(
        folder.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()?;
    let mut ingestion: AnyIngestion<'_> = tree.ingestion()?;
    ingestion.write(b"a", b"1")?;
    ingestion.write("b", "2")?;
    ingestion.write_tombstone(b"c")?;
    ingestion.write_weak_tombstone(vec![b'd'])?;
    ingestion.finish()?;
    assert_eq!(tree.get(b"a", SeqNo::MAX)?.as_deref(), Some(&b"1"[..]));
    assert!(tree.get(b"c", SeqNo::MAX)?.is_none());
    match tree.ingestion()? {
        AnyIngestion::Standard(ingestion) => ingestion.finish()?,
        AnyIngestion::Blob(ingestion) => ingestion.finish()?,
    }
    Ok(())
}
