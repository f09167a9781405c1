//! One signed Amani message is one event, whatever spelling carries it: Amani signs the
//! `json.dumps` bytes, the receiver accepts a re-spelled body through the re-serialisation
//! fallback, and keys it by the signed form, so a replay in a new spelling is a duplicate.

#![allow(clippy::unwrap_used)]

use amani::scheme::sign;
use amani::{Amani, AmaniAuth};
use serde_json::json;
use webhook_core::pipeline::Pipeline;
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::{api_gateway_event, response_json};
use webhook_core::{Secret, VersionedSecret};

const SECRET: &str = "amani-respelling-secret";

/// What Python's `json.dumps` writes for the event (checked with `CPython` 3).
const DUMPED: &str =
    r#"{"event": "profile_update", "profile": {"id": "p-1", "name": "Ay\u015fe"}, "score": 100.0}"#;
/// `hashlib.sha256(DUMPED.encode()).hexdigest()`, from Python.
const DUMPED_SHA256: &str = "0e76455cc9e33615b711bd5e507a3d4c1ecdf250bfec9fefcdd7c27afb8acfed";

fn pipeline() -> Pipeline<Amani, MemorySecrets, MemoryStore> {
    Pipeline::new(
        Amani {
            auth: AmaniAuth::Signature,
        },
        MemorySecrets::new([VersionedSecret::current(SECRET)]),
        MemoryStore::new(),
        64 * 1024,
    )
}

async fn deliver(
    app: &Pipeline<Amani, MemorySecrets, MemoryStore>,
    body: &[u8],
) -> serde_json::Value {
    let signature = sign(&Secret::new(SECRET), DUMPED.as_bytes());
    let request = api_gateway_event(
        "POST",
        body,
        [("Webhook-Signature", signature.as_str())],
        false,
        "req",
    );
    response_json(&app.handle(request).await)
}

#[tokio::test]
async fn five_spellings_of_one_signed_body_are_one_event() {
    let app = pipeline();
    let spellings: [&[u8]; 5] = [
        DUMPED.as_bytes(),
        br#"{"event":"profile_update","profile":{"id":"p-1","name":"Ay\u015fe"},"score":100.0}"#,
        b"{\n \"event\" : \"profile_update\" ,\t\"profile\": {\"id\": \"p-1\", \"name\": \"Ay\\u015fe\"}, \"score\": 100.0 }",
        "{\"event\": \"profile_\\u0075pdate\", \"profile\": {\"id\": \"p-1\", \"name\": \"Ay\u{15f}e\"}, \"score\": 100.0}".as_bytes(),
        br#"{"event": "profile_update", "profile": {"id": "p-1", "name": "Ay\u015fe"}, "score": 1E2}"#,
    ];
    let mut statuses = Vec::new();
    for body in spellings {
        statuses.push(deliver(&app, body).await);
    }
    assert_eq!(
        statuses[0],
        json!({"status": "stored", "key": DUMPED_SHA256})
    );
    for answer in &statuses[1..] {
        assert_eq!(
            answer,
            &json!({"status": "duplicate", "key": DUMPED_SHA256})
        );
    }
    let records = app.store().records();
    assert_eq!(records.len(), 1);
    let stored = &records[&format!("amani#{DUMPED_SHA256}")];
    assert_eq!(stored.body, DUMPED.as_bytes());
    assert_eq!(
        stored.message_sha256, None,
        "the first spelling was the signed bytes"
    );

    // What no json.dumps output can be a re-spelling of is refused.
    for impossible in [
        &br#"{"event": "profile_update", "event": "profile_update", "profile": {"id": "p-1", "name": "Ay\u015fe"}, "score": 100.0}"#[..],
        &[b"\xef\xbb\xbf", DUMPED.as_bytes()].concat(),
    ] {
        assert_eq!(
            deliver(&app, impossible).await,
            json!({"error": "signature_mismatch"})
        );
    }
    assert_eq!(app.store().len(), 1);
}

#[tokio::test]
async fn a_re_spelling_stored_first_keeps_the_signed_forms_hash() {
    let app = pipeline();
    let compact =
        br#"{"event":"profile_update","profile":{"id":"p-1","name":"Ay\u015fe"},"score":100.0}"#;
    assert_eq!(deliver(&app, compact).await["status"], "stored");
    assert_eq!(
        deliver(&app, DUMPED.as_bytes()).await["status"],
        "duplicate"
    );
    let records = app.store().records();
    let stored = &records[&format!("amani#{DUMPED_SHA256}")];
    assert_eq!(stored.body, compact);
    assert_eq!(stored.message_sha256.as_deref(), Some(DUMPED_SHA256));
}
