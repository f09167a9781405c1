//! The shared pipeline end to end through a real provider: API Gateway v2 events in, responses

#![allow(clippy::unwrap_used)]
//! and stored records out, with in-memory secrets and store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alocity_selfie::AlocitySelfie;
use serde_json::json;
use webhook_core::http::HttpResponse;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::{CachedSecrets, FetchSecrets, MemorySecrets, SecretError};
use webhook_core::store::{MemoryStore, StoreError};
use webhook_core::testing::{api_gateway_event, response_json};
use webhook_core::verify::alocity::sign;
use webhook_core::{Secret, VersionedSecret};

const NOW: i64 = 1_764_000_000;
const SECRET: &str = "whsec-handler-test-secret-7781";

fn body(id: &str) -> String {
    json!({
        "Id": id, "AccountId": "acc", "OrganizationId": "org", "CorrelationId": "invite-42",
        "EventCode": "PinFailures", "Payload": {"pinAttempts": 2}, "TimeStamp": NOW
    })
    .to_string()
}

fn signed(body: &str) -> String {
    sign(&Secret::new(SECRET), NOW, body.as_bytes())
}

fn pipeline() -> Pipeline<AlocitySelfie, MemorySecrets, MemoryStore> {
    Pipeline::new(
        AlocitySelfie::new(300),
        MemorySecrets::new([VersionedSecret::current(SECRET)]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000))
}

fn post(body: &[u8], signature: &str, base64: bool) -> webhook_core::http::HttpRequest {
    api_gateway_event(
        "POST",
        body,
        [("Alocity-Signature", signature)],
        base64,
        "req-1",
    )
}

#[tokio::test]
async fn base64_encoded_events_are_decoded_before_verification() {
    let app = pipeline();
    let body = body("evt-b64");
    let response = app
        .handle(post(body.as_bytes(), &signed(&body), true))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    let record = &app.store().records()["alocity-selfie#evt-b64"];
    assert_eq!(record.body, body.as_bytes());
    assert_eq!(record.subject.as_deref(), Some("invite-42"));
    assert_eq!(
        record.provider_time.as_deref(),
        Some("2025-11-24T16:00:00Z")
    );
    assert_eq!(record.signature.as_deref(), Some(signed(&body).as_str()));
    assert_eq!(record.source_ip.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn only_post_is_accepted() {
    let app = pipeline();
    let body = body("evt-get");
    for method in ["GET", "PUT", "DELETE", ""] {
        let request = api_gateway_event(
            method,
            body.as_bytes(),
            [("Alocity-Signature", signed(&body).as_str())],
            false,
            "r",
        );
        let response = app.handle(request).await;
        assert_eq!(response.status_code, 405, "{method}");
        assert_eq!(
            response_json(&response),
            json!({"error": "method_not_allowed"})
        );
        let answer = serde_json::to_value(&response).unwrap();
        assert_eq!(answer["headers"]["content-type"], "application/json");
    }
    assert!(app.store().is_empty());
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_plain_or_base64() {
    let app = pipeline();
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(64 * 1024));
    for base64 in [false, true] {
        let response = app
            .handle(post(big.as_bytes(), &signed(&big), base64))
            .await;
        assert_eq!(response.status_code, 413, "base64={base64}");
        assert_eq!(response_json(&response), json!({"error": "body_too_large"}));
    }
    assert!(app.store().is_empty());
}

#[tokio::test]
async fn an_authentic_body_of_too_many_values_is_stored_unparsed() {
    use webhook_core::payload::MAX_JSON_VALUES;

    let app = Pipeline::new(
        AlocitySelfie::new(300),
        MemorySecrets::new([VersionedSecret::current(SECRET)]),
        MemoryStore::new(),
        1024 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let numbers = vec!["1"; MAX_JSON_VALUES].join(",");
    let body = format!(r#"{{"Id":"evt-huge","EventCode":"PinFailures","Payload":[{numbers}]}}"#);
    let response = app
        .handle(post(body.as_bytes(), &signed(&body), false))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    let records = app.store().records();
    let record = records.values().next().unwrap();
    assert_eq!(record.event_code, "unparsed");
    assert_eq!(record.payload, None);
    assert_eq!(record.body, body.as_bytes());
    assert_eq!(record.idempotency_key, record.body_sha256);
}

#[tokio::test]
async fn base64_junk_is_a_bad_request() {
    let app = pipeline();
    let mut request = post(b"{}", &signed("{}"), true);
    request.body = Some("!!not base64!!".into());
    let response = app.handle(request).await;
    assert_eq!(response.status_code, 400);
    assert_eq!(
        response_json(&response),
        json!({"error": "invalid_body_encoding"})
    );
    assert!(app.store().is_empty());
}

#[tokio::test]
async fn non_base64_signature_is_malformed() {
    let app = pipeline();
    let body = body("evt-junk-sig");
    let response = app
        .handle(post(body.as_bytes(), &format!("t:{NOW},sig:%%%%"), false))
        .await;
    assert_eq!(response.status_code, 401);
    assert_eq!(
        response_json(&response),
        json!({"error": "malformed_header"})
    );
}

#[tokio::test]
async fn a_storage_failure_is_503_and_the_retry_is_stored_once() {
    let app = pipeline();
    let body = body("evt-retry");
    app.store()
        .fail_with(Some(StoreError::Unavailable("throttled".into())));
    let response = app
        .handle(post(body.as_bytes(), &signed(&body), false))
        .await;
    assert_eq!(response.status_code, 503);
    assert_eq!(
        response_json(&response),
        json!({"error": "storage_unavailable"})
    );

    app.store().fail_with(None);
    for expected in ["stored", "duplicate"] {
        let response = app
            .handle(post(body.as_bytes(), &signed(&body), false))
            .await;
        assert_eq!(
            response_json(&response),
            json!({"status": expected, "key": "evt-retry"})
        );
    }
    assert_eq!(app.store().len(), 1);
}

#[tokio::test]
async fn no_secret_is_503_not_401() {
    let app = Pipeline::new(
        AlocitySelfie::new(300),
        MemorySecrets::failing(SecretError::Unavailable("connection refused".into())),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let body = body("evt-nosecret");
    let response = app
        .handle(post(body.as_bytes(), &signed(&body), false))
        .await;
    assert_eq!(response.status_code, 503);
    assert_eq!(
        response_json(&response),
        json!({"error": "secrets_unavailable"})
    );
    assert!(app.store().is_empty());
}

#[tokio::test]
async fn same_id_with_another_body_is_kept_as_a_conflict_and_the_original_untouched() {
    let app = pipeline();
    let original = body("evt-dup");
    let other = original.replace("\"pinAttempts\":2", "\"pinAttempts\":3");
    assert_ne!(original, other);
    app.handle(post(original.as_bytes(), &signed(&original), false))
        .await;
    let response = app
        .handle(post(other.as_bytes(), &signed(&other), false))
        .await;
    assert_eq!(
        response_json(&response),
        json!({"status": "conflict", "key": "evt-dup"})
    );

    let records = app.store().records();
    assert_eq!(records.len(), 2);
    assert_eq!(records["alocity-selfie#evt-dup"].body, original.as_bytes());
    let conflict = records
        .iter()
        .find(|(key, _)| key.starts_with("alocity-selfie#evt-dup#conflict#"))
        .map(|(_, record)| record)
        .unwrap();
    assert_eq!(conflict.body, other.as_bytes());
}

#[tokio::test]
async fn authentic_bodies_that_are_not_the_model_are_stored_raw() {
    let app = pipeline();
    for body in ["not json at all", "{\"no\":\"envelope\"}", "[1,2,3]", ""] {
        let response = app
            .handle(post(body.as_bytes(), &signed(body), false))
            .await;
        assert_eq!(response.status_code, 200, "{body:?}: {}", response.body);
        let key = response_json(&response)["key"].as_str().unwrap().to_owned();
        let record = &app.store().records()[&format!("alocity-selfie#{key}")];
        assert_eq!(record.event_code, "unparsed");
        assert_eq!(record.body, body.as_bytes());
        assert_eq!(key, record.body_sha256);
    }
}

/// A secret store the test rotates or takes down, counting fetches.
#[derive(Debug, Clone, Default)]
struct Rotating {
    secrets: Arc<Mutex<Vec<VersionedSecret>>>,
    fetches: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl FetchSecrets for Rotating {
    async fn fetch(&self) -> Result<Vec<VersionedSecret>, SecretError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(SecretError::Unavailable("connection refused".into()));
        }
        Ok(self.secrets.lock().unwrap().clone())
    }
}

/// A pipeline over the TTL cache (5 min TTL, one refresh per 30 s after a miss), starting with
/// `secret` as the only version.
fn cached_pipeline(
    secret: &str,
) -> (
    Rotating,
    Pipeline<AlocitySelfie, CachedSecrets<Rotating>, MemoryStore>,
) {
    let store = Rotating::default();
    *store.secrets.lock().unwrap() = vec![VersionedSecret::current(secret)];
    let app = Pipeline::new(
        AlocitySelfie::new(300),
        CachedSecrets::new(
            store.clone(),
            Duration::from_secs(300),
            Duration::from_secs(30),
        ),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    (store, app)
}

/// The status of a fresh event `id` signed with `secret`.
async fn status_for(
    app: &Pipeline<AlocitySelfie, CachedSecrets<Rotating>, MemoryStore>,
    id: &str,
    secret: &str,
) -> HttpResponse {
    let event = body(id);
    let signature = sign(&Secret::new(secret), NOW, event.as_bytes());
    app.handle(post(event.as_bytes(), &signature, false)).await
}

#[tokio::test]
async fn a_miss_while_secrets_manager_is_down_is_503_so_the_provider_retries() {
    let (store, app) = cached_pipeline("old-secret");
    assert_eq!(
        status_for(&app, "evt-down-1", "old-secret")
            .await
            .status_code,
        200
    );

    // Rotated, then Secrets Manager became unreachable: the cached secret still verifies what
    // it can (without asking the store), and a request signed with the unseen new secret is not
    // refused but retried, after one refresh attempt that failed.
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        status_for(&app, "evt-down-2", "old-secret")
            .await
            .status_code,
        200
    );
    assert_eq!(store.fetches.load(Ordering::SeqCst), 1);
    let response = status_for(&app, "evt-down-3", "new-secret").await;
    assert_eq!(response.status_code, 503);
    assert_eq!(
        response_json(&response),
        json!({"error": "secrets_unavailable"})
    );
    assert_eq!(store.fetches.load(Ordering::SeqCst), 2);
    assert_eq!(app.store().len(), 2);
}

#[tokio::test]
async fn a_rotation_made_after_the_cache_was_filled_is_picked_up_on_the_first_miss() {
    let (store, app) = cached_pipeline("old-secret");
    assert_eq!(
        status_for(&app, "evt-rot-1", "old-secret")
            .await
            .status_code,
        200
    );

    // Rotated in Secrets Manager: the cache still holds the old value.
    *store.secrets.lock().unwrap() = vec![
        VersionedSecret::current("new-secret"),
        VersionedSecret::previous("old-secret"),
    ];
    let response = status_for(&app, "evt-rot-2", "new-secret").await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(store.fetches.load(Ordering::SeqCst), 2);

    // A forgery right after does not cause another fetch (one refresh per 30 s).
    let response = status_for(&app, "evt-rot-3", "attacker").await;
    assert_eq!(
        response_json(&response),
        json!({"error": "signature_mismatch"})
    );
    assert_eq!(store.fetches.load(Ordering::SeqCst), 2);
}
