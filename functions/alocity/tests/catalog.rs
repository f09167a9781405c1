//! The catalogue the tools use (samples, signer, audit) against the function itself.

#![allow(clippy::unwrap_used)]

use alocity::{AccessEvent, AlocityAccess, CATALOG, EVENT_CODES};
use webhook_core::config::Env;
use webhook_core::testing::{check_catalog, check_sample_events};
use webhook_core::{Catalog as _, Fresh, Provider as _};

#[test]
fn every_sample_is_stored_as_its_code_and_tampering_is_refused() {
    let checked = check_catalog(&CATALOG, AlocityAccess::default, &Env::from_pairs([]));
    assert_eq!(checked, (6, 6));
}

#[test]
fn every_sample_event_under_events_verifies_in_its_front_doors_shape() {
    assert_eq!(check_sample_events(&CATALOG, AlocityAccess::default), 5);
}

#[test]
fn documented_codes_parse_to_typed_variants_about_fresh_devices() {
    let env = Env::from_pairs([]);
    for &code in EVENT_CODES {
        let first = CATALOG
            .sample(code, &Fresh::new(1_795_511_521, [1; 32]), &env)
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        let event = AlocityAccess::default().parse(&json).unwrap();
        assert!(!matches!(event.kind, AccessEvent::Unknown { .. }), "{code}");
        if let Some(serial) = json["Payload"]["serialNumber"].as_str() {
            let second = CATALOG
                .sample(code, &Fresh::new(1_795_511_521, [2; 32]), &env)
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
            assert_ne!(
                json["Payload"]["serialNumber"].as_str(),
                Some(serial),
                "{code}"
            );
            assert!(
                serial.starts_with("ALC-DR-") && serial.len() == 13,
                "{serial}"
            );
        }
    }
}
