//! FACEIO through the shared pipeline: application check and per-delivery AUTH records.

#![allow(clippy::unwrap_used)]

use faceio::Faceio;
use serde_json::json;
use webhook_core::VersionedSecret;
use webhook_core::pipeline::Pipeline;
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::{api_gateway_event, response_json};

const TOKEN: &str = "fio-handler-token";

fn pipeline() -> Pipeline<Faceio, MemorySecrets, MemoryStore> {
    Pipeline::new(
        Faceio {
            app_id: "my-app".into(),
        },
        MemorySecrets::new([VersionedSecret::current(TOKEN)]),
        MemoryStore::new(),
        1024 * 1024,
    )
}

fn deliver(
    body: &serde_json::Value,
    header: (&str, &str),
    request_id: &str,
) -> webhook_core::http::HttpRequest {
    api_gateway_event(
        "POST",
        body.to_string().as_bytes(),
        [header],
        false,
        request_id,
    )
}

#[tokio::test]
async fn another_applications_event_is_refused_even_with_the_right_token() {
    let app = pipeline();
    let body = json!({"eventName": "ENROLL", "facialId": "f1", "appId": "other-app"});
    let response = app
        .handle(deliver(
            &body,
            ("WWW-Authenticate", "Bearer fio-handler-token"),
            "r1",
        ))
        .await;
    assert_eq!(response.status_code, 401);
    assert_eq!(response_json(&response), json!({"error": "wrong_app"}));
    assert!(app.store().is_empty());
}

#[tokio::test]
async fn a_body_that_does_not_name_our_app_is_refused_even_when_it_is_not_the_model() {
    let app = pipeline();
    let header = ("WWW-Authenticate", "Bearer fio-handler-token");
    for body in [
        json!({"eventName": "ENROLL", "facialId": 7, "appId": "other-app"}),
        json!({"facialId": "f1", "appId": "other-app"}),
        json!({"eventName": "ENROLL", "facialId": "f1"}),
        json!({"eventName": "ENROLL", "facialId": "f1", "appId": 42}),
        json!(["my-app"]),
        json!("my-app"),
    ] {
        let response = app.handle(deliver(&body, header, "r1")).await;
        assert_eq!(
            response_json(&response),
            json!({"error": "wrong_app"}),
            "{body}"
        );
    }
    let request = api_gateway_event("POST", b"not json", [header], false, "r2");
    assert_eq!(
        response_json(&app.handle(request).await),
        json!({"error": "wrong_app"})
    );
    assert!(app.store().is_empty());

    // Our app id under another spelling of the key is not ours (issue 15: `appId` exactly).
    let spelled = json!({"AppId": "my-app", "eventName": "ENROLL", "facialId": "f9"});
    let response = app.handle(deliver(&spelled, header, "r3")).await;
    assert_eq!(response_json(&response), json!({"error": "wrong_app"}));
    assert!(app.store().is_empty());

    // Our app id, with a body the model does not fit: stored raw.
    let odd = json!({"appId": "my-app", "eventName": 5});
    let response = app.handle(deliver(&odd, header, "r4")).await;
    assert_eq!(response_json(&response)["status"], "stored");
    assert_eq!(
        app.store().records().values().next().unwrap().event_code,
        "unparsed"
    );
}

#[tokio::test]
async fn auth_events_are_one_record_per_delivery_enroll_once() {
    let app = pipeline();
    let header = ("WWW-Authenticate", "bearer fio-handler-token");
    let auth =
        json!({"eventName": "AUTH", "facialId": "f1", "appId": "my-app", "clientIp": "1.2.3.4"});
    let enroll = json!({"eventName": "ENROLL", "facialId": "f1", "appId": "my-app"});
    for request_id in ["r1", "r2"] {
        let response = app.handle(deliver(&auth, header, request_id)).await;
        assert_eq!(
            response_json(&response),
            json!({"status": "stored", "key": request_id})
        );
        let response = app.handle(deliver(&enroll, header, request_id)).await;
        assert_eq!(response_json(&response)["key"], "my-app/ENROLL/f1");
    }
    let records = app.store().records();
    assert_eq!(
        records.keys().collect::<Vec<_>>(),
        ["faceio#my-app/ENROLL/f1", "faceio#r1", "faceio#r2"]
    );
}

#[tokio::test]
async fn scheme_word_and_header_fallbacks() {
    let app = pipeline();
    let body = json!({"eventName": "DELETION", "facialId": "f9", "appId": "my-app"});
    let cases = [
        (("Authorization", "Bearer fio-handler-token"), 200, None),
        (
            ("WWW-Authenticate", "Basic fio-handler-token"),
            401,
            Some("malformed_header"),
        ),
        (
            ("WWW-Authenticate", "Bearer fio-handler-toke"),
            401,
            Some("token_mismatch"),
        ),
        (
            ("X-Other", "Bearer fio-handler-token"),
            401,
            Some("missing_header"),
        ),
    ];
    for (header, status, reason) in cases {
        let response = app.handle(deliver(&body, header, "r")).await;
        assert_eq!(response.status_code, status, "{header:?}");
        if let Some(reason) = reason {
            assert_eq!(response_json(&response), json!({"error": reason}));
        }
    }
}
