//! The catalogue the tools use (samples, signers, audit) against the function itself.

#![allow(clippy::unwrap_used)]

use amani::{Amani, AmaniEventName, CATALOG, EVENT_CODES};
use pyjson::python_dumps;
use webhook_core::config::Env;
use webhook_core::testing::{check_catalog, check_sample_events};
use webhook_core::{Catalog as _, Fresh, Provider as _};

#[test]
fn every_sample_is_stored_in_signature_mode_and_tampering_is_refused() {
    let env = Env::from_pairs(CATALOG.dev_env());
    let checked = check_catalog(&CATALOG, || Amani::from_env(&env).unwrap(), &env);
    assert_eq!(checked, (10, 10));
}

#[test]
fn every_sample_event_under_events_verifies_in_its_front_doors_shape() {
    assert_eq!(
        check_sample_events(&CATALOG, || Amani::from_env(&Env::from_pairs(
            CATALOG.dev_env()
        ))
        .unwrap()),
        5
    );
}

#[test]
fn every_sample_is_stored_in_token_mode_too() {
    let env = Env::from_pairs([
        ("AMANI_AUTH_MODE", "token"),
        ("AMANI_TOKEN_HEADER", "X-Amani-Token"),
    ]);
    let provider = || Amani::from_env(&env).unwrap();
    // The token is the secret: nothing is stored to audit.
    assert_eq!(check_catalog(&CATALOG, provider, &env), (10, 0));
}

#[test]
fn a_token_header_without_token_mode_is_refused() {
    let env = Env::from_pairs([("AMANI_TOKEN_HEADER", "X-T")]);
    let error = CATALOG
        .signer(&env, webhook_core::Secret::new("s"))
        .unwrap_err();
    assert_eq!(error.name, "AMANI_TOKEN_HEADER");
}

#[test]
fn samples_are_python_json_dumps_output_of_typed_events() {
    let env = Env::from_pairs([]);
    for &code in EVENT_CODES {
        let body = CATALOG
            .sample(code, &Fresh::new(1_795_511_521, [5; 32]), &env)
            .unwrap()
            .body;
        assert_eq!(python_dumps(&body).unwrap(), body, "{code}");
        assert!(
            body.is_ascii(),
            "{code}: ensure_ascii escapes non-ASCII names"
        );
        let json = serde_json::from_slice(&body).unwrap();
        let event = Amani::from_env(&env).unwrap().parse(&json).unwrap();
        assert!(
            !matches!(event.name(), AmaniEventName::Unknown(_)),
            "{code}"
        );
    }
}

#[test]
fn a_compact_file_body_is_signed_in_its_json_dumps_form() {
    use amani::scheme::{self, SIGNATURE_HEADER};
    use webhook_core::Secret;
    let compact = br#"{"event":"profile_create","profile":{"id":"p"}}"#;
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new("s3cret"))
        .unwrap();
    let (name, value) = signer.header(compact, 0, false);
    assert_eq!(name.as_str(), SIGNATURE_HEADER);
    assert_eq!(
        value,
        scheme::sign(&Secret::new("s3cret"), &python_dumps(compact).unwrap())
    );
}
