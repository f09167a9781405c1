//! Two Alocity portal webhooks on one function (issue 14): the same event delivered to both is
//! two deliveries, each stored once under its own endpoint's keys, each verified only with its own
//! webhook's secret.

#![allow(clippy::unwrap_used)]

use alocity::{AlocityAccess, CATALOG};
use webhook_core::config::Env;
use webhook_core::http::HttpRequest;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::{api_gateway_event, handle_measured, response_json};
use webhook_core::{Catalog as _, Fresh, Secret, VersionedSecret};

const NOW: i64 = 1_795_511_521;

fn delivery(path: &str, body: &[u8], secret: &str) -> HttpRequest {
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new(secret.to_owned()))
        .unwrap();
    let (name, value) = signer.header(body, NOW, false);
    let mut request =
        api_gateway_event("POST", body, [(name.as_str(), value.as_str())], false, "r");
    request.raw_path = Some(path.to_owned());
    request
}

#[tokio::test]
async fn one_event_to_two_webhooks_is_two_deliveries_each_stored_once() {
    let app = Pipeline::new(
        AlocityAccess::new(300),
        MemorySecrets::new([VersionedSecret::current("secret-site-1")]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_endpoint(
        "site-2",
        AlocityAccess::new(300),
        MemorySecrets::new([VersionedSecret::current("secret-site-2")]),
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let sample = CATALOG
        .sample(
            "door.state",
            &Fresh::new(NOW, [7; 32]),
            &Env::from_pairs([]),
        )
        .unwrap();
    let body = &sample.body;
    let site_1 = "/webhooks/alocity";
    let site_2 = "/webhooks/alocity/site-2";
    for (path, secret, answer) in [
        (site_1, "secret-site-1", "stored"),
        (site_2, "secret-site-2", "stored"),
        (site_1, "secret-site-1", "duplicate"),
        (site_2, "secret-site-2", "duplicate"),
        (site_2, "secret-site-1", "signature_mismatch"),
        (site_1, "secret-site-2", "signature_mismatch"),
    ] {
        let label = format!("{path} {secret}");
        let (response, _) = handle_measured(&app, delivery(path, body, secret), &label).await;
        let json = response_json(&response);
        let word = json["status"].as_str().or(json["error"].as_str());
        assert_eq!(word, Some(answer), "{label}: {}", response.body);
    }
    let records = app.store().records();
    assert_eq!(records.len(), 2);
    let (first, second) = (
        records.values().next().unwrap(),
        records.values().nth(1).unwrap(),
    );
    assert_eq!(first.idempotency_key, second.idempotency_key);
    let mut endpoints = [first.endpoint.as_str(), second.endpoint.as_str()];
    endpoints.sort_unstable();
    assert_eq!(endpoints, ["default", "site-2"]);
    let key = &first.idempotency_key;
    assert!(
        records.contains_key(&format!("alocity#{key}")),
        "{records:?}"
    );
    assert!(records.contains_key(&format!("alocity/site-2#{key}")));
}
