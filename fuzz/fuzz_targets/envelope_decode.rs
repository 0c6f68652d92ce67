//! Fuzz target `envelope_decode`: see `lsm_codec::fuzz::envelope_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_codec::fuzz::envelope_decode(data));
