//! FACEIO through the pipeline when things go wrong: the table down (the fallback queue takes
//! the event, `202`), a wrong token in place (the delivery is held, never its token, and promoted
//! once the right token is there).

#![allow(clippy::unwrap_used)]

use faceio::Faceio;
use serde_json::json;
use webhook_core::metrics::Metric;
use webhook_core::pipeline::{Pipeline, Promote, PromoteError};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::{
    EventStore as _, MemoryQueue, MemoryStore, PutOutcome, StoreError, WithFallback,
};
use webhook_core::testing::{MemoryQuarantine, api_gateway_event, handle_measured, response_json};
use webhook_core::{SecretVersion, VerifyError, VersionedSecret};

const TOKEN: &str = "fio-durability-token";

type Durable =
    Pipeline<Faceio, MemorySecrets, WithFallback<MemoryStore, MemoryQueue>, MemoryQuarantine>;

fn pipeline(token: &str) -> Durable {
    Pipeline::new(
        Faceio {
            app_id: "my-app".into(),
        },
        MemorySecrets::new([VersionedSecret::current(token)]),
        WithFallback::new(MemoryStore::new(), Some(MemoryQueue::new())),
        1024 * 1024,
    )
    .with_quarantine(MemoryQuarantine::default())
}

fn enroll(facial_id: &str, app_id: &str, token: &str) -> webhook_core::http::HttpRequest {
    let body = json!({"eventName": "ENROLL", "facialId": facial_id, "appId": app_id});
    let bearer = format!("Bearer {token}");
    api_gateway_event(
        "POST",
        body.to_string().as_bytes(),
        [("WWW-Authenticate", bearer.as_str())],
        false,
        "req-1",
    )
}

#[tokio::test]
async fn an_event_the_table_cannot_take_is_queued_and_answered_202() {
    let app = pipeline(TOKEN);
    app.store()
        .table()
        .fail_with(Some(StoreError::Unavailable("throttled".into())));
    let (response, _) = handle_measured(&app, enroll("f1", "my-app", TOKEN), "queued").await;
    assert_eq!(response.status_code, 202);
    assert_eq!(
        response_json(&response),
        json!({"status": "queued", "key": "my-app/ENROLL/f1"})
    );
    assert!(app.store().table().is_empty());
    assert!(app.quarantine().held().is_empty());
}

#[tokio::test]
async fn an_event_neither_the_table_nor_the_queue_takes_is_503_and_counted() {
    let queue = MemoryQueue::new();
    queue.fail(true);
    let app = Pipeline::new(
        Faceio {
            app_id: "my-app".into(),
        },
        MemorySecrets::new([VersionedSecret::current(TOKEN)]),
        WithFallback::new(MemoryStore::new(), Some(queue)),
        1024 * 1024,
    );
    app.store()
        .table()
        .fail_with(Some(StoreError::Unavailable("throttled".into())));
    let (response, measured) =
        handle_measured(&app, enroll("f6", "my-app", TOKEN), "unstored").await;
    assert_eq!(
        (response.status_code, response_json(&response)),
        (503, json!({"error": "storage_unavailable"}))
    );
    assert_eq!(measured.count(Metric::StoreUnavailable), 1);
    assert_eq!(measured.samples(Metric::StoreLatencyMs).len(), 1);
}

#[tokio::test]
async fn a_wrong_token_is_held_as_its_hash_and_promoted_with_the_right_one() {
    // The function has a placeholder; the provider sends the real token.
    let app = pipeline("placeholder");
    let response = app.handle(enroll("f2", "my-app", TOKEN)).await;
    assert_eq!(response_json(&response), json!({"error": "token_mismatch"}));
    // Forged: another token. Not authentic for the right one either.
    app.handle(enroll("f3", "my-app", "forged-token")).await;
    // No header at all: nothing a secret could fix, not held.
    let bare = api_gateway_event("POST", b"{}", [], false, "req-2");
    assert_eq!(
        response_json(&app.handle(bare).await),
        json!({"error": "missing_header"})
    );

    let held = app.quarantine().held();
    assert_eq!(held.len(), 2);
    assert!(app.store().table().is_empty());
    for delivery in &held {
        assert_eq!(delivery.reason, "token_mismatch");
        assert!(delivery.credentials.headers.is_empty());
        let text = String::from_utf8(delivery.to_json()).unwrap();
        assert!(
            !text.contains(TOKEN) && !text.contains("forged-token"),
            "{text}"
        );
    }

    let faceio = Faceio {
        app_id: "my-app".into(),
    };
    let right = [VersionedSecret::current(TOKEN)];
    let promoted = faceio.promote(&right, &held[0], 99).unwrap();
    assert_eq!(promoted.idempotency_key, "my-app/ENROLL/f2");
    assert_eq!(promoted.secret_version, SecretVersion::Current);
    assert_eq!(promoted.received_at_ms, held[0].received_at_ms);
    let promotion = promoted.promoted.as_ref().unwrap();
    assert_eq!(
        (promotion.at_ms, promotion.reason.as_str()),
        (99, "token_mismatch")
    );
    assert_eq!(
        faceio.promote(&right, &held[1], 99).unwrap_err(),
        PromoteError::NotAuthentic(VerifyError::TokenMismatch)
    );

    // Promoted into the store like any delivery: once, then a duplicate.
    let budget = webhook_core::budget::Budget::from_now(std::time::Duration::from_secs(1));
    let store = MemoryStore::new();
    assert_eq!(
        store.put_if_absent(&promoted, budget).await,
        Ok(PutOutcome::Stored)
    );
    assert_eq!(
        store.put_if_absent(&promoted, budget).await,
        Ok(PutOutcome::Duplicate)
    );
}

#[tokio::test]
async fn another_apps_event_is_held_and_promoted_only_for_that_app() {
    let app = pipeline(TOKEN);
    let response = app.handle(enroll("f4", "new-app", TOKEN)).await;
    assert_eq!(response_json(&response), json!({"error": "wrong_app"}));
    let held = app.quarantine().held();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].reason, "wrong_app");

    let right = [VersionedSecret::current(TOKEN)];
    let same = Faceio {
        app_id: "my-app".into(),
    };
    assert_eq!(
        same.promote(&right, &held[0], 1).unwrap_err(),
        PromoteError::NotAuthentic(VerifyError::WrongApp)
    );
    let moved = Faceio {
        app_id: "new-app".into(),
    };
    assert_eq!(
        moved.promote(&right, &held[0], 1).unwrap().idempotency_key,
        "new-app/ENROLL/f4"
    );
}

/// Secrets that answer from the cache but cannot be refreshed: Secrets Manager down after the
/// token was rotated at FACEIO.
#[derive(Debug)]
struct Unrefreshable;

impl webhook_core::secrets::SecretSource for Unrefreshable {
    async fn secrets(
        &self,
    ) -> Result<webhook_core::secrets::SecretSet, webhook_core::secrets::SecretError> {
        Ok(std::sync::Arc::from(vec![VersionedSecret::current(
            "before-rotation",
        )]))
    }

    async fn refresh_after_miss(&self) -> webhook_core::secrets::Refresh {
        webhook_core::secrets::Refresh::Unavailable
    }
}

#[tokio::test]
async fn a_miss_that_cannot_be_refreshed_is_503_and_held() {
    let app = Pipeline::new(
        Faceio {
            app_id: "my-app".into(),
        },
        Unrefreshable,
        MemoryStore::new(),
        1024 * 1024,
    )
    .with_quarantine(MemoryQuarantine::default());
    let (response, measured) = handle_measured(&app, enroll("f5", "my-app", TOKEN), "f5").await;
    assert_eq!(measured.count(Metric::Quarantined), 1);
    assert_eq!(response.status_code, 503);
    assert_eq!(
        response_json(&response),
        json!({"error": "secrets_unavailable"})
    );
    let held = app.quarantine().held();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].reason, "token_mismatch");
    let right = [VersionedSecret::current(TOKEN)];
    let faceio = Faceio {
        app_id: "my-app".into(),
    };
    assert_eq!(
        faceio.promote(&right, &held[0], 1).unwrap().idempotency_key,
        "my-app/ENROLL/f5"
    );
}
