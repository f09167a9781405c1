//! Property tests of Amani's two modes: no signature made with another secret, no random
//! signature, header or token is ever accepted.

#![allow(clippy::unwrap_used)]

use amani::scheme;
use proptest::prelude::*;
use webhook_core::testing::strategies::{
    b64, body, config, header_bytes, headers, ours, secret, two_secrets,
};
use webhook_core::{Secret, VerifyError};

const TOKEN_HEADER: &str = "webhook-token";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn amani_refuses_another_secrets_signature((secret, forger) in two_secrets(), body in body()) {
        let value = scheme::sign(&Secret::new(forger), &body);
        let result = scheme::verify_signature(
            &ours(&secret), &body, &headers(scheme::SIGNATURE_HEADER, value.as_bytes()));
        prop_assert_eq!(result, Err(VerifyError::SignatureMismatch));
    }

    #[test]
    fn amani_refuses_random_signatures(
        secret in secret(),
        body in body(),
        value in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|sig| b64(&sig).into_bytes()),
            header_bytes(200),
        ],
    ) {
        let result = scheme::verify_signature(
            &ours(&secret), &body, &headers(scheme::SIGNATURE_HEADER, &value));
        prop_assert!(result.is_err());
    }

    #[test]
    fn amani_token_refuses_other_tokens(
        (secret, token) in two_secrets(),
        value in header_bytes(200),
    ) {
        let result = scheme::verify_token(
            &ours(&secret), &headers(TOKEN_HEADER, token.as_bytes()), TOKEN_HEADER);
        prop_assert_eq!(result, Err(VerifyError::TokenMismatch));
        let result = scheme::verify_token(&ours(&secret), &headers(TOKEN_HEADER, &value), TOKEN_HEADER);
        prop_assert!(result.is_err());
    }
}
