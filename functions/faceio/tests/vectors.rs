//! FACEIO against the independent known-answer vectors.

#![allow(clippy::unwrap_used)]

use faceio::{Faceio, FaceioEventName};
use webhook_core::testing::{VectorFile, assert_front_doors, assert_vectors};
use webhook_core::{IdempotencyKey, Provider as _, ProviderEvent as _};

fn provider(file: &VectorFile) -> Faceio {
    Faceio {
        app_id: file.app_id.clone().unwrap(),
    }
}

#[tokio::test]
async fn accepts_every_vector_and_refuses_every_negative() {
    let file = VectorFile::load("faceio");
    assert_vectors(&file, || provider(&file)).await;
}

#[tokio::test]
async fn every_front_door_delivers_every_vector() {
    let file = VectorFile::load("faceio");
    assert_front_doors(&file, || provider(&file)).await;
}

#[test]
fn enroll_and_deletion_are_keyed_by_facial_id_auth_by_request() {
    let file = VectorFile::load("faceio");
    let faceio = provider(&file);
    for vector in &file.vectors {
        let event = faceio
            .parse(&serde_json::from_str(&vector.body).unwrap())
            .unwrap();
        match event.name() {
            FaceioEventName::Enroll | FaceioEventName::Deletion => assert_eq!(
                event.idempotency_key(),
                IdempotencyKey::Id(vector.key.clone().unwrap()),
                "{}",
                vector.name
            ),
            FaceioEventName::Auth | FaceioEventName::Unknown(_) => {
                assert_eq!(event.idempotency_key(), IdempotencyKey::RequestId);
            }
        }
    }
}

#[test]
fn enrolment_details_are_read() {
    let file = VectorFile::load("faceio");
    let enroll = file.vectors.iter().find(|v| v.name == "ENROLL").unwrap();
    let event = provider(&file)
        .parse(&serde_json::from_str(&enroll.body).unwrap())
        .unwrap();
    let details = event.details.clone().unwrap();
    assert!(details.timestamp.is_some() && details.gender.is_some());
    assert!(event.payload.is_some());
    assert_eq!(event.provider_time(), details.timestamp);
}
