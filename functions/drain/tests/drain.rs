//! The drain over the in-memory store: what it writes, and which messages it hands back to SQS.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use drain::{Bodies, Drain, SqsEvent, SqsMessage};
use webhook_core::budget::Budget;
use webhook_core::metrics::Metric;
use webhook_core::store::{
    BodyLocation, EventRecord, MemoryStore, PutOutcome, QueuedEvent, StoreError,
};

/// Bodies in a map: what the bucket would hold.
#[derive(Debug, Default)]
struct MapBodies(HashMap<String, Vec<u8>>);

impl Bodies for MapBodies {
    async fn get(&self, location: &BodyLocation) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.get(&location.key).cloned())
    }
}

/// A verified record of `body` under `key`, with the body's real hash (the drain checks it).
fn record(key: &str, body: &[u8]) -> EventRecord {
    use sha2::Digest as _;
    EventRecord {
        idempotency_key: key.into(),
        body_sha256: hex::encode(sha2::Sha256::digest(body)),
        ..webhook_core::testing::record(body)
    }
}

fn message(id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(serde_json::json!({ "messageId": id, "body": body })).unwrap()
}

fn budget() -> Budget {
    Budget::from_now(Duration::from_secs(10))
}

#[tokio::test]
async fn queued_events_are_written_once_and_bad_messages_come_back() {
    let drain = Drain::new(
        MemoryStore::new(),
        MapBodies::default(),
        Duration::from_secs(2),
    );
    let first = record("k1", b"{\"n\":1}");
    let inline = QueuedEvent::new(&first, None).to_json();
    let event = SqsEvent {
        records: vec![
            message("m1", &inline),
            // SQS delivers at least once: the same message again is a duplicate, not a failure.
            message("m2", &inline),
            message("m3", "not a queued event"),
        ],
    };
    let answer = drain.handle(event, budget()).await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m3"]);
    let stored = drain.store().records();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[&first.pk()], first);
}

#[tokio::test]
async fn a_body_travelling_as_a_pointer_is_read_from_the_bucket() {
    let big = record("k2", b"{\"image\":\"AAAA\"}");
    let location = BodyLocation {
        bucket: "bodies".into(),
        key: BodyLocation::key("faceio", &big.body_sha256),
    };
    let mut bodies = MapBodies::default();
    let pointer = QueuedEvent::new(&big, Some(location.clone())).to_json();
    let drain_without = Drain::new(
        MemoryStore::new(),
        MapBodies::default(),
        Duration::from_secs(2),
    );
    let missing = drain_without
        .handle(
            SqsEvent {
                records: vec![message("m1", &pointer)],
            },
            budget(),
        )
        .await;
    assert_eq!(
        missing.batch_item_failures.len(),
        1,
        "the object is not there"
    );

    bodies.0.insert(location.key, big.body.clone());
    let drain = Drain::new(MemoryStore::new(), bodies, Duration::from_secs(2));
    let answer = drain
        .handle(
            SqsEvent {
                records: vec![message("m1", &pointer)],
            },
            budget(),
        )
        .await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(drain.store().records()[&big.pk()], big);
}

#[tokio::test]
async fn a_table_still_down_hands_every_message_back() {
    let store = MemoryStore::new();
    store.fail_with(Some(StoreError::Unavailable("down".into())));
    let drain = Drain::new(store, MapBodies::default(), Duration::from_secs(2));
    let event = SqsEvent {
        records: (0..3)
            .map(|n| {
                message(
                    &format!("m{n}"),
                    &QueuedEvent::new(&record(&format!("k{n}"), b"{}"), None).to_json(),
                )
            })
            .collect(),
    };
    assert_eq!(
        drain
            .handle(event, budget())
            .await
            .batch_item_failures
            .len(),
        3
    );
    assert_eq!(PutOutcome::Stored.status(), "stored");
}

#[test]
fn the_answer_is_lambdas_partial_batch_shape() {
    let answer = drain::BatchResponse {
        batch_item_failures: vec![drain::ItemFailure {
            item_identifier: "m1".into(),
        }],
    };
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#
    );
    let event: SqsEvent = serde_json::from_str(
        r#"{"Records":[{"messageId":"m1","receiptHandle":"r","body":"{}","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:q","awsRegion":"us-east-1"}]}"#,
    )
    .unwrap();
    assert_eq!(event.records[0].message_id, "m1");
}

#[tokio::test]
async fn each_providers_messages_are_counted_under_it_and_unreadable_ones_under_unknown() {
    let drain = Drain::new(
        MemoryStore::new(),
        MapBodies::default(),
        Duration::from_secs(2),
    );
    let faceio = QueuedEvent::new(&record("k1", b"{\"n\":1}"), None).to_json();
    let amani = QueuedEvent::new(
        &EventRecord {
            provider: "amani".into(),
            ..record("k2", b"{\"n\":2}")
        },
        None,
    )
    .to_json();
    let event = SqsEvent {
        records: vec![
            message("m1", &faceio),
            message("m2", &faceio),
            message("m3", &amani),
            message("m4", "not a queued event"),
        ],
    };
    let (answer, measured) = drain.handle_measured(event, budget()).await;
    assert_eq!(answer.batch_item_failures.len(), 1);

    let faceio = &measured["faceio"];
    assert_eq!(
        (
            faceio.count(Metric::Stored),
            faceio.count(Metric::Duplicate)
        ),
        (1, 1)
    );
    assert_eq!(faceio.samples(Metric::StoreLatencyMs).len(), 2);
    assert_eq!(faceio.count(Metric::DrainFailed), 0);
    assert_eq!(measured["amani"].count(Metric::Stored), 1);
    let unknown = &measured[drain::UNKNOWN_PROVIDER];
    assert_eq!(unknown.count(Metric::DrainFailed), 1);
    assert!(unknown.samples(Metric::StoreLatencyMs).is_empty());
    assert_eq!(measured.len(), 3, "{measured:?}");
}
