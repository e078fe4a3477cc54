#![no_main]
//! `make fuzz` target: see [`lava_fuzz::log_line`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| lava_fuzz::log_line(data));
