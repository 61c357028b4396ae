#![no_main]
//! `leastpriv_tests::policy` on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = leastpriv_tests::policy(data) {
        panic!("{e}");
    }
});
