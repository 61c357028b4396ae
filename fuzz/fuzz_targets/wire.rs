#![no_main]
//! The wire decoder on arbitrary bytes (properties: `leastpriv_tests::wire`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = leastpriv_tests::wire(data) {
        panic!("{e}");
    }
});
