//! coordinode-lsm-tree 5.6.0 as a peer, under the bench's maintenance driver, with the
//! counter merge operator and per-block seqno bounds in its tables (its `seqno_in_index`
//! runtime setting, off by default; ours always records them), so that its change scan
//! can skip blocks as ours does.

super::family::family_engine! {
    krate: coordinode_lsm_tree,
    configure: |config| {
        let mut runtime = coordinode_lsm_tree::runtime_config::RuntimeConfig::default();
        runtime.seqno_in_index = true;
        config
            .with_merge_operator(Some(Arc::new(Counter)))
            .with_runtime_config(runtime)
    },
    engine: {
        fn supports(&self, _capability: super::Capability) -> bool {
            true
        }

        fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
            let handle = self.handle();
            handle.tree.remove_range(start, end, handle.seqno.next());
            let written_bytes = (start.len() + end.len()) as u64;
            self.driver
                .after_write(written_bytes, handle.tree.active_memtable().size())
        }

        fn merge(&self, key: &[u8], operand: &[u8]) -> Result<()> {
            let handle = self.handle();
            self.write(handle.tree.merge(key, operand, handle.seqno.next()))
        }

        fn change_mark(&self) -> u64 {
            let handle = self.handle();
            let mark = handle.seqno.get();
            handle
                .history_floor
                .fetch_min(mark, std::sync::atomic::Ordering::AcqRel);
            mark
        }

        fn scan_since(&self, mark: u64, full: bool) -> Result<(u64, u64)> {
            let handle = self.handle();
            let AnyTree::Standard(tree) = &handle.tree else {
                return Err("coordinode's change scan needs a standard tree".to_owned());
            };
            // Held as a read, so that no watermark passes the scan's snapshot.
            handle.read(|_| {
                type Events = Box<dyn Iterator<Item = coordinode_lsm_tree::ScanSinceEvent>>;
                let events: Events = if full {
                    Box::new(tree.scan_since_seqno_full_scan(mark).map_err(text)?)
                } else {
                    Box::new(tree.scan_since_seqno(mark).map_err(text)?)
                };
                Ok(events.fold((0, 0), |(count, bytes), event| {
                    use coordinode_lsm_tree::ScanSinceEvent as Event;
                    let event_bytes = match &event {
                        Event::Insert { key, value, .. } => key.len() + value.len(),
                        Event::MergeOperand { key, operand, .. } => key.len() + operand.len(),
                        Event::PointTombstone { key, .. } => key.len(),
                        Event::RangeTombstone { start_key, end_key, .. } => {
                            start_key.len() + end_key.len()
                        }
                    };
                    (count + 1, bytes + event_bytes as u64)
                }))
            })
        }
    }
}

/// The counter merge operator in coordinode's terms.
struct Counter;

impl coordinode_lsm_tree::MergeOperator for Counter {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> coordinode_lsm_tree::Result<coordinode_lsm_tree::UserValue> {
        super::counter_merge(base, operands.iter().copied())
            .map(|sum| sum.to_le_bytes().to_vec().into())
            .ok_or(coordinode_lsm_tree::Error::MergeOperator)
    }
}
