//! Full verification, every scheme: arbitrary header bytes and body never verify against our
//! secrets, and never panic. The first input byte picks where the header ends and the body
//! starts.

#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use webhook_core::VersionedSecret;
use webhook_core::verify::alocity::{self, AlocitySignature};
use amani::scheme as amani;
use faceio::scheme as bearer;

const NOW: i64 = 1_764_000_000;

fn headers(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(value) {
        map.insert(HeaderName::from_static(name), value);
    }
    map
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (value, body) = rest.split_at(usize::from(split).min(rest.len()));
    let secrets = [
        VersionedSecret::current("fuzz-current-secret"),
        VersionedSecret::previous("fuzz-previous-secret"),
    ];

    let scheme = AlocitySignature::default();
    assert!(
        scheme
            .verify(&secrets, body, &headers(alocity::HEADER, value), NOW)
            .is_err()
    );
    assert!(
        amani::verify_signature(&secrets, body, &headers(amani::SIGNATURE_HEADER, value)).is_err()
    );
    assert!(bearer::verify(&secrets, &headers(bearer::HEADER, value)).is_err());
    assert!(bearer::verify(&secrets, &headers(bearer::FALLBACK_HEADER, value)).is_err());
    assert!(
        amani::verify_token(&secrets, &headers("webhook-token", value), "webhook-token").is_err()
    );
});
