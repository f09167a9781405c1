//! Amani (signature and token modes) against the independent known-answer vectors.

#![allow(clippy::unwrap_used)]

use amani::{Amani, AmaniAuth, AmaniEventName};
use webhook_core::Provider as _;
use webhook_core::config::Env;
use webhook_core::testing::{
    VectorFile, assert_front_doors, assert_tampered_bodies_refused, assert_vectors,
};

const SIGNATURE: Amani = Amani {
    auth: AmaniAuth::Signature,
};

/// Token mode configured the way the function is, from its environment.
fn token_mode(file: &VectorFile) -> Amani {
    let header = file.token_header.as_deref().unwrap();
    Amani::from_env(&Env::from_pairs([
        ("AMANI_AUTH_MODE", "token"),
        ("AMANI_TOKEN_HEADER", header),
    ]))
    .unwrap()
}

#[tokio::test]
async fn signature_mode_accepts_every_vector_and_refuses_every_negative() {
    let file = VectorFile::load("amani-signature");
    assert!(
        file.vectors.iter().filter(|v| v.fallback_only).count() >= 4,
        "the set must exercise the json.dumps fallback"
    );
    assert_vectors(&file, || SIGNATURE).await;
}

#[tokio::test]
async fn signature_mode_refuses_any_tampered_byte() {
    let file = VectorFile::load("amani-signature");
    assert_tampered_bodies_refused(&file, || SIGNATURE).await;
}

#[test]
fn fallback_only_vectors_do_not_verify_as_raw_bytes() {
    // Guards the fixture set itself: these bodies are not the signed bytes.
    use amani::scheme::verify_signature;
    let file = VectorFile::load("amani-signature");
    for vector in file.vectors.iter().filter(|v| v.fallback_only) {
        let dumped = pyjson::python_dumps(vector.body.as_bytes()).unwrap();
        assert_ne!(dumped, vector.body.as_bytes(), "{}", vector.name);
        let mut headers = http::HeaderMap::new();
        for (name, value) in &vector.headers {
            headers.insert(
                http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        assert!(verify_signature(&file.candidates(), &dumped, &headers).is_ok());
    }
}

#[tokio::test]
async fn token_mode_accepts_every_vector_and_refuses_every_negative() {
    let file = VectorFile::load("amani-token");
    assert_vectors(&file, || token_mode(&file)).await;
}

#[tokio::test]
async fn every_front_door_delivers_every_vector_in_both_modes() {
    let signature = VectorFile::load("amani-signature");
    assert_front_doors(&signature, || SIGNATURE).await;
    let token = VectorFile::load("amani-token");
    assert_front_doors(&token, || token_mode(&token)).await;
}

#[test]
fn every_documented_event_name_is_typed() {
    let file = VectorFile::load("amani-token");
    for vector in &file.vectors {
        let event = SIGNATURE
            .parse(&serde_json::from_str(&vector.body).unwrap())
            .unwrap();
        assert!(
            !matches!(event.name(), AmaniEventName::Unknown(_)),
            "{}",
            vector.name
        );
        assert_eq!(event.event_name, vector.event_code);
    }
}
