//! Fuzz target `filter_decode`: see `lsm_burr::fuzz::filter_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_burr::fuzz::filter_decode(data));
