//! coordinode-lsm-tree 5.6.0 as a peer, under the bench's maintenance driver, with the
//! counter merge operator.

super::family::family_engine! {
    krate: coordinode_lsm_tree,
    configure: |config| config.with_merge_operator(Some(Arc::new(Counter))),
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
