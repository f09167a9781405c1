//! The catalogue the tools use (samples, signer) against the function itself.

#![allow(clippy::unwrap_used)]

use faceio::{CATALOG, EVENT_CODES, Faceio, FaceioEventName};
use webhook_core::config::Env;
use webhook_core::testing::{check_catalog, check_sample_events};
use webhook_core::{Catalog as _, Fresh, Provider as _};

#[test]
fn every_sample_is_stored_as_its_code_and_tampering_is_refused() {
    let env = Env::from_pairs(CATALOG.dev_env());
    let checked = check_catalog(&CATALOG, || Faceio::from_env(&env).unwrap(), &env);
    assert_eq!(checked, (3, 0));
    assert!(
        CATALOG.audit().is_none(),
        "a bearer token proves nothing about the body"
    );
}

#[test]
fn every_sample_event_under_events_verifies_in_its_front_doors_shape() {
    assert_eq!(
        check_sample_events(&CATALOG, || Faceio::from_env(&Env::from_pairs(
            CATALOG.dev_env()
        ))
        .unwrap()),
        5
    );
}

#[test]
fn samples_name_the_configured_application_and_today() {
    let env = Env::from_pairs([("FACEIO_APP_ID", "my-app")]);
    let sample = CATALOG
        .sample("ENROLL", &Fresh::new(1_795_511_521, [3; 32]), &env)
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&sample.body).unwrap();
    assert_eq!(json["appId"], "my-app");
    assert_eq!(json["details"]["timestamp"], "2026-11-24");
    let facial_id = json["facialId"].as_str().unwrap();
    assert!(
        facial_id.ends_with("fioa") && facial_id.len() == 36,
        "{facial_id}"
    );
    assert_eq!(sample.subject.as_deref(), Some(facial_id));
    for &code in EVENT_CODES {
        let sample = CATALOG.sample(code, &Fresh::new(1, [4; 32]), &env).unwrap();
        let json = serde_json::from_slice(&sample.body).unwrap();
        let event = Faceio {
            app_id: "my-app".into(),
        }
        .parse(&json)
        .unwrap();
        assert!(
            !matches!(event.name(), FaceioEventName::Unknown(_)),
            "{code}"
        );
    }
}
