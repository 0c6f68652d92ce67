//! fjall's lsm-tree 3.1.10 as a peer, under the bench's maintenance driver. It has no
//! merge operators, no range tombstones and no change scan, so `mergerandom`,
//! `rangedelete` and the change scans skip it.

super::family::family_engine! {
    krate: fjall_lsm_tree,
    configure: |config| config,
    engine: {
        fn supports(&self, _capability: super::Capability) -> bool {
            false
        }

        fn delete_range(&self, _start: &[u8], _end: &[u8]) -> Result<()> {
            Err("fjall's lsm-tree has no range tombstones".to_owned())
        }

        fn merge(&self, _key: &[u8], _operand: &[u8]) -> Result<()> {
            Err("fjall's lsm-tree has no merge operators".to_owned())
        }

        fn change_mark(&self) -> u64 {
            self.handle().seqno.get()
        }

        fn scan_since(&self, _mark: u64, _full: bool) -> Result<(u64, u64)> {
            Err("fjall's lsm-tree has no change scan".to_owned())
        }
    }
}
