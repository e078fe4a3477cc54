#![no_main]
//! `make fuzz` target: see [`lava_fuzz::job_yaml`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| lava_fuzz::job_yaml(data));
