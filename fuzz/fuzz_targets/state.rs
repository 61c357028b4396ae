#![no_main]
//! `leastpriv_tests::state` on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = leastpriv_tests::state(data) {
        panic!("{e}");
    }
});
