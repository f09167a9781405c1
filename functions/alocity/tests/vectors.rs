//! Alocity access control against the independent known-answer vectors.

#![allow(clippy::unwrap_used)]

use alocity::{AccessEvent, AccessResult, AlocityAccess};
use webhook_core::Provider as _;
use webhook_core::testing::{
    VectorFile, assert_front_doors, assert_tampered_bodies_refused, assert_vectors,
};

#[tokio::test]
async fn accepts_every_vector_and_refuses_every_negative() {
    let file = VectorFile::load("alocity");
    assert_vectors(&file, || AlocityAccess::new(300)).await;
}

#[tokio::test]
async fn every_front_door_delivers_every_vector() {
    let file = VectorFile::load("alocity");
    assert_front_doors(&file, || AlocityAccess::new(300)).await;
}

#[tokio::test]
async fn refuses_any_tampered_byte() {
    let file = VectorFile::load("alocity");
    assert_tampered_bodies_refused(&file, || AlocityAccess::new(300)).await;
}

#[test]
fn every_documented_code_parses_to_its_typed_variant() {
    let file = VectorFile::load("alocity");
    let provider = AlocityAccess::new(300);
    for vector in &file.vectors {
        let json: serde_json::Value = serde_json::from_str(&vector.body).unwrap();
        let event = provider.parse(&json).unwrap();
        let matches = match (vector.event_code.as_str(), &event.kind) {
            ("accesslog.created", AccessEvent::AccessLogCreated(log)) => log.result.is_some(),
            ("door.healthcheck", AccessEvent::DoorHealthcheck(health)) => {
                !health.serial_number.is_empty()
            }
            ("door.state", AccessEvent::DoorState(state)) => !state.door_state.is_null(),
            ("lock.state", AccessEvent::LockState(state)) => !state.lock_state.is_null(),
            ("user.card", AccessEvent::UserCard(card)) => card.action == "Created",
            ("user.face", AccessEvent::UserFace(face)) => !face.action.is_empty(),
            (code, AccessEvent::Unknown { code: kept, .. }) => {
                code == kept && !code.starts_with("user.")
            }
            _ => false,
        };
        assert!(matches, "{}: {:?}", vector.name, event.kind);
    }
}

#[test]
fn access_results_follow_alocitys_table() {
    assert_eq!(AccessResult::from(0), AccessResult::AccessGranted);
    assert_eq!(AccessResult::from(4), AccessResult::NonLiveUser);
    assert_eq!(AccessResult::from(5), AccessResult::Other(5));
    assert_eq!(AccessResult::from(9), AccessResult::Doorbell);
}
