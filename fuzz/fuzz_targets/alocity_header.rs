//! The `Alocity-Signature` parser: never panics; whatever it accepts has a digits-only
//! timestamp that is the parsed value, and at least one signature.

#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_core::verify::alocity::parse_header;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = parse_header(value) {
        assert!(!header.signatures.is_empty());
        assert!(header.timestamp_text.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            header.timestamp_text.parse::<i64>().ok(),
            Some(header.timestamp)
        );
        assert!(value.contains(header.timestamp_text));
    }
});
