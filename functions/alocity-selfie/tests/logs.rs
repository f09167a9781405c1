//! The logs of real requests carry ids and outcomes, never a secret, a signature or a body.
//! (Its own test binary: `tracing` caches per-callsite interest process-wide, so a test that
//! installs a thread-local subscriber must not share the process with tests that do not.)

#![allow(clippy::unwrap_used)]

use alocity_selfie::AlocitySelfie;
use serde_json::json;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::{CapturedLogs, api_gateway_event};
use webhook_core::verify::alocity::sign;
use webhook_core::{Secret, VersionedSecret};

const NOW: i64 = 1_764_000_000;
const SECRET: &str = "whsec-log-test-secret-90d1";

fn post(body: &str, signature: &str) -> webhook_core::http::HttpRequest {
    api_gateway_event(
        "POST",
        body.as_bytes(),
        [("Alocity-Signature", signature)],
        false,
        "req-log",
    )
}

#[test]
fn logs_carry_no_secret_signature_or_body() {
    let logs = CapturedLogs::default();
    let subscriber =
        webhook_core::telemetry::json_subscriber(logs.clone(), tracing_subscriber_filter("debug"));
    let body_marker = "body-marker-5f0e2c7a";
    let body = json!({
        "Id": "evt-log", "EventCode": "FaceMatched", "CorrelationId": "c-1",
        "Payload": {"subjects": [body_marker]}, "TimeStamp": NOW
    })
    .to_string();
    let signature = sign(&Secret::new(SECRET), NOW, body.as_bytes());
    let sig_value = signature.split("sig:").nth(1).unwrap().to_owned();

    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let app = Pipeline::new(
                AlocitySelfie::new(300),
                MemorySecrets::new([VersionedSecret::current(SECRET)]),
                MemoryStore::new(),
                64 * 1024,
            )
            .with_clock(Clock::Fixed(NOW * 1000));
            app.handle(post(&body, &signature)).await;
            app.handle(post(&body, &signature)).await;
            let forged = sign(&Secret::new("wrong"), NOW, body.as_bytes());
            app.handle(post(&body, &forged)).await;
        });
    });

    let text = logs.text();
    assert!(
        text.contains("webhook accepted"),
        "logs were captured: {text}"
    );
    assert!(text.contains("signature_mismatch"), "{text}");
    assert!(text.contains("evt-log"), "ids are logged");
    for leaked in [SECRET, body_marker, body.as_str(), sig_value.as_str()] {
        assert!(!text.contains(leaked), "log contains {leaked:?}:\n{text}");
    }
}

fn tracing_subscriber_filter(level: &str) -> webhook_core::telemetry::EnvFilter {
    webhook_core::telemetry::EnvFilter::new(level)
}
