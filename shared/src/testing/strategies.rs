//! Property-test strategies for the schemes' tests (here and in the provider crates): secrets,
//! bodies, header values HTTP can carry.

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use crate::secret::VersionedSecret;

/// 1024 cases, no persistence files.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Standard base64 of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A header map with `name: value`. Every value the strategies make is one HTTP can carry, so
/// every case reaches the verifier (bytes HTTP cannot carry never reach a function; see
/// `HttpRequest::header_map`).
pub fn headers(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    let value =
        HeaderValue::from_bytes(value).unwrap_or_else(|_| panic!("not a header value: {value:?}"));
    map.insert(HeaderName::from_static(name), value);
    map
}

/// Random bytes a header value can hold: tab, visible ASCII and space, and obs-text (0x80-0xFF).
pub fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(b'\t'), 0x20_u8..=0x7e, 0x80_u8..=0xff],
        0..max,
    )
}

/// Secrets as they are configured: non-empty printable text.
pub fn secret() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

/// Two different secrets: the one we hold, and the one a forger used.
pub fn two_secrets() -> impl Strategy<Value = (String, String)> {
    (secret(), secret()).prop_filter("different secrets", |(ours, theirs)| ours != theirs)
}

/// `secret` as the only candidate.
pub fn ours(secret: &str) -> Vec<VersionedSecret> {
    vec![VersionedSecret::current(secret)]
}

/// Bodies: random bytes, or small JSON objects.
pub fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "\\{\"[a-zA-Z]{1,8}\": ?(\"[ -~]{0,24}\"|[0-9]{1,12}|null|\\[\\]),? ?\\}"
            .prop_map(String::into_bytes),
    ]
}
