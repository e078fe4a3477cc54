#![no_main]
//! `make fuzz` target: see [`lava_fuzz::signals`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| lava_fuzz::signals(data));
