//! The Python `json.dumps` re-serialiser: never panics on any bytes; what it produces is ASCII
//! and a fixed point (`json.dumps(json.loads(out)) == out`, as in Python).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pyjson::python_dumps;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = python_dumps(data) {
        assert!(out.is_ascii());
        assert_eq!(python_dumps(&out).as_deref(), Ok(out.as_slice()));
    }
});
