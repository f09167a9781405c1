//! Two FACEIO applications on one function (issue 14): each endpoint has its own token and its
//! own application id, keys of its own, and a name nobody configured costs no secret lookup.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use faceio::Faceio;
use serde_json::json;
use webhook_core::VersionedSecret;
use webhook_core::http::HttpRequest;
use webhook_core::pipeline::Pipeline;
use webhook_core::secrets::{MemorySecrets, Refresh, SecretError, SecretSet, SecretSource};
use webhook_core::store::MemoryStore;
use webhook_core::testing::{MemoryQuarantine, api_gateway_event, handle_measured, response_json};

/// Serves one token, counting every lookup (in a counter the test keeps).
#[derive(Debug)]
struct Counted {
    inner: MemorySecrets,
    lookups: Arc<AtomicUsize>,
}

impl Counted {
    fn new(token: &str, lookups: &Arc<AtomicUsize>) -> Self {
        Self {
            inner: MemorySecrets::new([VersionedSecret::current(token)]),
            lookups: lookups.clone(),
        }
    }
}

impl SecretSource for Counted {
    async fn secrets(&self) -> Result<SecretSet, SecretError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.secrets().await
    }

    async fn refresh_after_miss(&self) -> Refresh {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Refresh::Unchanged
    }
}

fn faceio(app_id: &str) -> Faceio {
    Faceio {
        app_id: app_id.into(),
    }
}

fn pipeline(
    lookups: &Arc<AtomicUsize>,
) -> Pipeline<Faceio, Counted, MemoryStore, MemoryQuarantine> {
    Pipeline::new(
        faceio("app-prod"),
        Counted::new("token-prod", lookups),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_endpoint(
        "staging",
        faceio("app-staging"),
        Counted::new("token-staging", lookups),
    )
    .with_quarantine(MemoryQuarantine::default())
}

fn delivery(path: &str, app_id: &str, token: &str, request_id: &str) -> HttpRequest {
    let body = json!({"eventName": "ENROLL", "facialId": "f1", "appId": app_id});
    let bearer = format!("Bearer {token}");
    let mut request = api_gateway_event(
        "POST",
        body.to_string().as_bytes(),
        [("WWW-Authenticate", bearer.as_str())],
        false,
        request_id,
    );
    request.raw_path = Some(path.to_owned());
    request
}

#[tokio::test]
async fn each_endpoint_verifies_with_its_own_token_and_application() {
    let app = pipeline(&Arc::default());
    for (path, app_id, token, status, reason) in [
        ("/webhooks/faceio", "app-prod", "token-prod", 200, None),
        (
            "/webhooks/faceio/default",
            "app-prod",
            "token-prod",
            200,
            None,
        ),
        (
            "/webhooks/faceio/staging",
            "app-staging",
            "token-staging",
            200,
            None,
        ),
        // Signed for one endpoint, sent to the other.
        (
            "/webhooks/faceio/staging",
            "app-staging",
            "token-prod",
            401,
            Some("token_mismatch"),
        ),
        (
            "/webhooks/faceio",
            "app-prod",
            "token-staging",
            401,
            Some("token_mismatch"),
        ),
        // The right token, but the other endpoint's application.
        (
            "/webhooks/faceio/staging",
            "app-prod",
            "token-staging",
            401,
            Some("wrong_app"),
        ),
        (
            "/webhooks/faceio",
            "app-staging",
            "token-prod",
            401,
            Some("wrong_app"),
        ),
    ] {
        let label = format!("{path} {app_id} {token}");
        let (response, measured) =
            handle_measured(&app, delivery(path, app_id, token, "r"), &label).await;
        assert_eq!(response.status_code, status, "{label}: {}", response.body);
        if let Some(reason) = reason {
            assert_eq!(
                response_json(&response),
                json!({ "error": reason }),
                "{label}"
            );
        }
        let endpoint = webhook_core::endpoint::in_path(path, "faceio");
        assert_eq!(measured.endpoint(), Some(endpoint), "{label}");
    }
    let records = app.store().records();
    let keys: Vec<&str> = records.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "faceio#app-prod/ENROLL/f1",
            "faceio/staging#app-staging/ENROLL/f1"
        ]
    );
    let endpoints: Vec<&str> = records.values().map(|r| r.endpoint.as_str()).collect();
    assert_eq!(endpoints, ["default", "staging"]);
    // A refused delivery is held under the endpoint it came to, to be verified with its secret.
    let held: Vec<String> = app
        .quarantine()
        .held()
        .iter()
        .map(|held| format!("{} {}", held.endpoint, held.reason))
        .collect();
    assert_eq!(
        held,
        [
            "staging token_mismatch",
            "default token_mismatch",
            "staging wrong_app",
            "default wrong_app"
        ]
    );
}

#[tokio::test]
async fn an_unknown_endpoint_is_404_without_a_secret_lookup_or_an_endpoint_dimension() {
    let lookups = Arc::default();
    let app = pipeline(&lookups);
    for path in [
        "/webhooks/faceio/prod",
        "/webhooks/faceio/Staging",
        "/webhooks/faceio/staging/x",
        "/webhooks/faceio/%73taging",
    ] {
        let (response, measured) =
            handle_measured(&app, delivery(path, "app-prod", "token-prod", "r"), path).await;
        assert_eq!(response.status_code, 404, "{path}");
        assert_eq!(
            response_json(&response),
            json!({"error": "unknown_endpoint"})
        );
        assert_eq!(measured.endpoint(), None, "{path}");
    }
    assert!(app.store().is_empty());
    assert!(app.quarantine().held().is_empty());
    assert_eq!(lookups.load(Ordering::SeqCst), 0);
    // The counter does count: a known endpoint looks its secrets up.
    let (response, _) = handle_measured(
        &app,
        delivery("/webhooks/faceio", "app-prod", "token-prod", "r"),
        "default",
    )
    .await;
    assert_eq!(response.status_code, 200);
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_function_with_only_the_default_endpoint_adds_no_endpoint_dimension() {
    let app = Pipeline::new(
        faceio("app-prod"),
        Counted::new("token-prod", &Arc::default()),
        MemoryStore::new(),
        64 * 1024,
    );
    let (response, measured) = handle_measured(
        &app,
        delivery("/webhooks/faceio", "app-prod", "token-prod", "r"),
        "default only",
    )
    .await;
    assert_eq!(response.status_code, 200);
    assert_eq!(measured.endpoint(), None);
    let (response, _) = handle_measured(
        &app,
        delivery("/webhooks/faceio/staging", "app-prod", "token-prod", "r"),
        "not configured",
    )
    .await;
    assert_eq!(response.status_code, 404);
}

#[tokio::test]
async fn a_known_endpoint_whose_secret_is_missing_is_503_and_the_others_still_verify() {
    let app = Pipeline::new(
        faceio("app-prod"),
        MemorySecrets::new([VersionedSecret::current("token-prod")]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_endpoint(
        "staging",
        faceio("app-staging"),
        MemorySecrets::failing(SecretError::NotUsable("no such secret".into())),
    );
    let (response, _) = handle_measured(
        &app,
        delivery(
            "/webhooks/faceio/staging",
            "app-staging",
            "token-staging",
            "r",
        ),
        "missing secret",
    )
    .await;
    assert_eq!(response.status_code, 503);
    assert_eq!(
        response_json(&response),
        json!({"error": "secrets_unavailable"})
    );
    let (response, _) = handle_measured(
        &app,
        delivery("/webhooks/faceio", "app-prod", "token-prod", "r"),
        "default",
    )
    .await;
    assert_eq!(response.status_code, 200);
}
