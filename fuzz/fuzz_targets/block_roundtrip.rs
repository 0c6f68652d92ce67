//! Fuzz target `block_roundtrip`: see `lsm_codec::fuzz::block_roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_codec::fuzz::block_roundtrip(data));
