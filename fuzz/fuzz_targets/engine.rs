#![no_main]
//! `leastpriv_tests::engine` on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = leastpriv_tests::engine(data) {
        panic!("{e}");
    }
});
