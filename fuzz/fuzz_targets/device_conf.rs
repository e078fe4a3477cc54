#![no_main]
//! `make fuzz` target: see [`lava_fuzz::device_conf`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| lava_fuzz::device_conf(data));
