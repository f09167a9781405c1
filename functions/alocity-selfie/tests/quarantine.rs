//! A delivery signed with a secret the function does not have yet is held, and promoted once the
//! secret is in place, its signed timestamp checked against the time it arrived, not now.

#![allow(clippy::unwrap_used)]

use alocity_selfie::AlocitySelfie;
use serde_json::json;
use webhook_core::pipeline::{Clock, Pipeline, Promote, PromoteError};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::{MemoryQuarantine, api_gateway_event, response_json};
use webhook_core::verify::alocity::sign;
use webhook_core::{Secret, SecretVersion, VerifyError, VersionedSecret};

/// When the deliveries arrive: 2025-11-24, long before the clock the test runs at.
const ARRIVED: i64 = 1_764_000_000;
const REAL: &str = "whsec-real-secret-9911";

fn body(id: &str) -> String {
    json!({
        "Id": id, "AccountId": "acc", "OrganizationId": "org", "CorrelationId": "invite-7",
        "EventCode": "InviteSent", "Payload": {}, "TimeStamp": ARRIVED
    })
    .to_string()
}

#[tokio::test]
async fn held_with_its_signature_and_promoted_against_the_receive_time() {
    let app = Pipeline::new(
        AlocitySelfie::new(300),
        MemorySecrets::new([VersionedSecret::current("placeholder")]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(ARRIVED * 1000))
    .with_quarantine(MemoryQuarantine::default());

    let mut signatures = Vec::new();
    for (id, secret, at) in [
        ("real-1", REAL, ARRIVED),
        ("forged-1", "attacker", ARRIVED),
        // Signed long before it arrived: stale whatever the secret, so not held.
        ("late-1", REAL, ARRIVED - 3600),
    ] {
        let signature = sign(&Secret::new(secret), at, body(id).as_bytes());
        let request = api_gateway_event(
            "POST",
            body(id).as_bytes(),
            [("Alocity-Signature", signature.as_str())],
            false,
            id,
        );
        let answer = response_json(&app.handle(request).await);
        signatures.push((answer, signature));
    }
    assert_eq!(signatures[0].0, json!({"error": "signature_mismatch"}));
    assert_eq!(signatures[2].0, json!({"error": "stale_timestamp"}));
    let held = app.quarantine().held();
    assert_eq!(held.len(), 2);
    assert_eq!(
        held[0].credentials.headers["alocity-signature"],
        signatures[0].1
    );
    assert_eq!(held[0].received_at_ms, ARRIVED * 1000);
    assert!(app.store().is_empty());

    let secrets = [
        VersionedSecret::current("newer"),
        VersionedSecret::previous(REAL),
    ];
    let provider = AlocitySelfie::new(300);
    let record = provider.promote(&secrets, &held[0], 5).unwrap();
    assert_eq!(record.idempotency_key, "real-1");
    assert_eq!(record.secret_version, SecretVersion::Previous);
    assert_eq!(record.signature.as_deref(), Some(signatures[0].1.as_str()));
    assert_eq!(record.promoted.unwrap().reason, "signature_mismatch");
    assert_eq!(
        provider.promote(&secrets, &held[1], 5).unwrap_err(),
        PromoteError::NotAuthentic(VerifyError::SignatureMismatch)
    );
    // A delivery held for another provider is not this one's to promote.
    let mut foreign = held[0].clone();
    foreign.provider = "alocity".into();
    assert!(matches!(
        provider.promote(&secrets, &foreign, 5),
        Err(PromoteError::Unreadable(_))
    ));
}
