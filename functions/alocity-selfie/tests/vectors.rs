//! Alocity Selfie against the independent known-answer vectors.

#![allow(clippy::unwrap_used)]

use alocity_selfie::{AlocitySelfie, SelfieEvent};
use webhook_core::Provider as _;
use webhook_core::testing::{
    VectorFile, assert_front_doors, assert_tampered_bodies_refused, assert_vectors,
};

#[tokio::test]
async fn accepts_every_vector_and_refuses_every_negative() {
    let file = VectorFile::load("alocity-selfie");
    assert_vectors(&file, || AlocitySelfie::new(300)).await;
}

#[tokio::test]
async fn every_front_door_delivers_every_vector() {
    let file = VectorFile::load("alocity-selfie");
    assert_front_doors(&file, || AlocitySelfie::new(300)).await;
}

#[tokio::test]
async fn refuses_any_tampered_byte() {
    let file = VectorFile::load("alocity-selfie");
    assert_tampered_bodies_refused(&file, || AlocitySelfie::new(300)).await;
}

#[test]
fn every_documented_code_parses_to_its_typed_variant() {
    let file = VectorFile::load("alocity-selfie");
    let provider = AlocitySelfie::new(300);
    for vector in &file.vectors {
        let json: serde_json::Value = serde_json::from_str(&vector.body).unwrap();
        let event = provider.parse(&json).unwrap();
        let matches = match (vector.event_code.as_str(), &event.kind) {
            ("InviteSent", SelfieEvent::InviteSent) | ("PinOk", SelfieEvent::PinOk) => true,
            ("Template", SelfieEvent::Template(payload)) => !payload.template.is_empty(),
            ("InviteInvalid", SelfieEvent::InviteInvalid(attempts)) => {
                attempts.pin_attempts.is_some() || attempts.photo_attempts.is_some()
            }
            ("FaceQualityFailures", SelfieEvent::FaceQualityFailures(attempts)) => {
                attempts.photo_attempts.is_some()
            }
            ("PinFailures", SelfieEvent::PinFailures(attempts)) => attempts.pin_attempts.is_some(),
            ("FaceMatched", SelfieEvent::FaceMatched(payload)) => !payload.subjects.is_empty(),
            _ => false,
        };
        assert!(matches, "{}: {:?}", vector.name, event.kind);
    }
}

#[test]
fn template_keeps_the_image_when_sent() {
    let provider = AlocitySelfie::new(300);
    let body = std::fs::read_to_string(
        webhook_core::testing::fixtures_dir().join("alocity-selfie/Template.json"),
    )
    .unwrap();
    let event = provider
        .parse(&serde_json::from_str(&body).unwrap())
        .unwrap();
    let SelfieEvent::Template(payload) = event.kind else {
        panic!("not a template: {:?}", event.kind)
    };
    assert!(payload.image.is_some_and(|image| image.len() > 1000));
}

#[test]
fn unknown_codes_are_kept_not_rejected() {
    let provider = AlocitySelfie::new(300);
    let json = serde_json::json!({
        "Id": "e-9", "EventCode": "InviteExpired", "Payload": {"days": 7}, "TimeStamp": 1
    });
    let event = provider.parse(&json).unwrap();
    assert_eq!(
        event.kind,
        SelfieEvent::Unknown {
            code: "InviteExpired".into(),
            payload: serde_json::json!({"days": 7})
        }
    );
}
