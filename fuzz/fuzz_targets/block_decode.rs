//! Fuzz target `block_decode`: see `lsm_codec::fuzz::block_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_codec::fuzz::block_decode(data));
