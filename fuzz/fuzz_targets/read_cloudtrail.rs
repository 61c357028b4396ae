#![no_main]
//! The reader of this format on arbitrary bytes (properties: `leastpriv_tests::read`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = leastpriv_tests::read(data, leastpriv::Format::CloudTrail) {
        panic!("{e}");
    }
});
