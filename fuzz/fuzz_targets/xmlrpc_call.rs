#![no_main]
//! `make fuzz` target: see [`lava_fuzz::xmlrpc_call`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| lava_fuzz::xmlrpc_call(data));
