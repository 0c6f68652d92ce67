//! Fuzz target `blob_open`: see `lsm_vlog::fuzz::blob_open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_vlog::fuzz::blob_open(data));
