//! The writer and the reader agree: an item built by the DynamoDB store's writer reads back as
//! the same event, under the keys the reader computes for its queries.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use webhook_core::SecretVersion;
use webhook_core::store::attributes::item_to_json;
use webhook_core::store::dynamodb::to_item;
use webhook_core::store::schema::{self, RecordType, attr};
use webhook_core::store::stored::StoredBody;
use webhook_core::store::{BodyLocation, EventRecord, StoredEvent};

fn record(body: &[u8]) -> EventRecord {
    EventRecord {
        provider: "alocity".into(),
        idempotency_key: "evt-1".into(),
        event_code: "door.state".into(),
        subject: Some("ALC-DR-1".into()),
        provider_time: Some("2025-11-24T16:00:00Z".into()),
        signature: Some("t:1,sig:x".into()),
        ..webhook_core::testing::record(body)
    }
}

#[test]
fn an_event_reads_back_as_written_under_the_keys_the_reader_queries() {
    // Given an item the writer stores
    let record = record(br#"{"Id":"evt-1","n":[1,2.5]}"#);
    let item = to_item(&record, Some(30), None, None);

    // When the reader reads it
    let event = StoredEvent::from_item(item.clone()).unwrap();

    // Then every field is what was written, and the keys the reader computes are the stored ones
    assert_eq!(event.pk, schema::event_pk("alocity", "evt-1"));
    assert_eq!(event.pk, record.pk());
    let day = &event.received_at[..10];
    assert_eq!(
        event.provider_day.as_deref(),
        Some(schema::provider_day("alocity", day).as_str())
    );
    assert_eq!(
        event.provider_subject.as_deref(),
        Some(schema::provider_subject("alocity", "ALC-DR-1").as_str())
    );
    assert_eq!(event.received_at, schema::iso_millis(record.received_at_ms));
    assert_eq!(event.received_at_ms, Some(record.received_at_ms));
    assert_eq!(event.provider, "alocity");
    assert_eq!(event.idempotency_key, "evt-1");
    assert_eq!(event.event_code, "door.state");
    assert_eq!(event.subject.as_deref(), Some("ALC-DR-1"));
    assert_eq!(event.provider_time, record.provider_time);
    assert_eq!(event.request_id.as_deref(), Some("req-1"));
    assert_eq!(event.source_ip, record.source_ip);
    assert_eq!(event.secret_version, SecretVersion::Previous);
    assert_eq!(event.record_type, RecordType::Event);
    assert_eq!(
        event.body.as_ref().map(StoredBody::as_bytes),
        Some(&record.body[..])
    );
    assert_eq!(event.body_at, None);
    assert_eq!(event.body_sha256.as_deref(), Some("ab"));
    assert_eq!(event.body_size, Some(record.body.len() as u64));
    assert_eq!(event.payload, Some(json!({"Id": "evt-1", "n": [1, 2.5]})));
    assert_eq!(event.signature, record.signature);
    assert_eq!(event.conflict_of, None);
    assert_eq!(event.expires_at, Some(1_764_000_000 + 30 * 86_400));
    assert!(event.other.is_empty(), "{:?}", event.other);
    // and its JSON view is the whole item.
    assert_eq!(event.to_json(), item_to_json(&item));
}

#[test]
fn conflict_records_and_offloaded_bodies_read_back_as_written() {
    let record = record(&[0xff, 0xfe]);
    let location = BodyLocation {
        bucket: "bodies".into(),
        key: BodyLocation::key("alocity", "ab"),
    };
    for body_at in [None, Some(&location)] {
        let item = to_item(&record, None, Some(record.pk()), body_at);
        let event = StoredEvent::from_item(item.clone()).unwrap();

        assert_eq!(event.pk, schema::conflict_pk(&record.pk(), "ab"));
        assert!(event.pk.starts_with(&schema::conflict_prefix(&record.pk())));
        assert_eq!(event.record_type, RecordType::Conflict);
        assert_eq!(event.conflict_of.as_deref(), Some(record.pk().as_str()));
        assert_eq!(event.body_at.as_ref(), body_at);
        let expected_body = body_at
            .is_none()
            .then(|| StoredBody::Binary(vec![0xff, 0xfe]));
        assert_eq!(event.body, expected_body);
        assert_eq!(event.expires_at, None);
        assert_eq!(event.to_json(), item_to_json(&item));
    }
}

#[test]
fn the_writer_uses_only_schema_attribute_names() {
    let record = record(br#"{"a":1}"#);
    let location = BodyLocation {
        bucket: "b".into(),
        key: "k".into(),
    };
    for item in [
        to_item(&record, Some(1), None, None),
        to_item(&record, Some(1), Some(record.pk()), Some(&location)),
    ] {
        for name in item.keys() {
            assert!(
                attr::ALL.contains(&name.as_str()),
                "{name} is not in the schema"
            );
        }
    }
}
