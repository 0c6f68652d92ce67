//! Fuzz target `table_open`: see `lsm_table::fuzz::table_open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_table::fuzz::table_open(data));
