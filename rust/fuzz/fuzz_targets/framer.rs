#![no_main]
//! Any bytes, limits and chunking through the framer (see `ami_fast_fuzz::check_framer`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ami_fast_fuzz::check_framer(data);
});
