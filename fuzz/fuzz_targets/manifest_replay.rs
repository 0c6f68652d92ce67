//! Fuzz target `manifest_replay`: see `lsm_version::fuzz::manifest_replay`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsm_version::fuzz::manifest_replay(data));
