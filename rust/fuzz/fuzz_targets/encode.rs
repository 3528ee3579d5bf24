#![no_main]
//! Any action through the encoder, and the accepted ones back through the framer.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ami_fast_fuzz::check_encode(data);
});
