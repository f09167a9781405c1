//! The catalogue the tools use (samples, signer, audit) against the function itself.

#![allow(clippy::unwrap_used)]

use alocity_selfie::{AlocitySelfie, CATALOG, EVENT_CODES, SelfieEvent};
use webhook_core::config::Env;
use webhook_core::testing::{check_catalog, check_sample_events};
use webhook_core::{Catalog as _, Fresh, Provider as _};

#[test]
fn every_sample_is_stored_as_its_code_and_tampering_is_refused() {
    let checked = check_catalog(&CATALOG, AlocitySelfie::default, &Env::from_pairs([]));
    assert_eq!(checked, (7, 7));
}

#[test]
fn every_sample_event_under_events_verifies_in_its_front_doors_shape() {
    assert_eq!(check_sample_events(&CATALOG, AlocitySelfie::default), 5);
}

#[test]
fn documented_codes_parse_to_typed_variants_with_a_fresh_timestamp() {
    let fresh = Fresh::new(1_795_511_521, [9; 32]);
    for &code in EVENT_CODES {
        let sample = CATALOG.sample(code, &fresh, &Env::from_pairs([])).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&sample.body).unwrap();
        assert_eq!(json["TimeStamp"], 1_795_511_521, "{code}");
        let event = AlocitySelfie::default().parse(&json).unwrap();
        assert!(!matches!(event.kind, SelfieEvent::Unknown { .. }), "{code}");
    }
}
