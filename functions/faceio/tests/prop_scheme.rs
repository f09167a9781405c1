//! Property tests of FACEIO's bearer token: no other token and no random header is ever
//! accepted.

#![allow(clippy::unwrap_used)]

use faceio::scheme;
use proptest::prelude::*;
use webhook_core::VerifyError;
use webhook_core::testing::strategies::{config, header_bytes, headers, ours, secret, two_secrets};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bearer_refuses_other_tokens(
        (secret, token) in two_secrets(),
        word in "[Bb][Ee][Aa][Rr][Ee][Rr]",
        fallback in any::<bool>(),
    ) {
        let name = if fallback { scheme::FALLBACK_HEADER } else { scheme::HEADER };
        let value = format!("{word} {token}");
        let result = scheme::verify(&ours(&secret), &headers(name, value.as_bytes()));
        prop_assert_eq!(result, Err(VerifyError::TokenMismatch));
    }

    #[test]
    fn bearer_refuses_random_headers(
        secret in secret(),
        value in header_bytes(200),
    ) {
        let result = scheme::verify(&ours(&secret), &headers(scheme::HEADER, &value));
        prop_assert!(result.is_err());
    }
}
