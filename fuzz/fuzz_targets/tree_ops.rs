//! Fuzz target `tree_ops`: an operation sequence with a crash countdown on the simulated
//! file system (the body is shared with `crates/lsm/tests/fuzz_ops.rs`).
#![no_main]

#[path = "../../crates/lsm/tests/support/fuzz_ops.rs"]
#[allow(dead_code, reason = "each target calls one of the two bodies")]
mod fuzz_ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_ops::tree_ops(data));
