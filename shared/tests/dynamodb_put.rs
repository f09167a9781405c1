//! The DynamoDB store's conditional put against canned DynamoDB answers (no network): what it
//! sends, and how it reads each answer: stored, duplicate, conflict, rejected, unavailable.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use webhook_core::SecretVersion;
use webhook_core::budget::Budget;
use webhook_core::store::schema::{self, RecordType, attr};
use webhook_core::store::{DynamoDbStore, EventRecord, EventStore, PutOutcome, StoreError};

const HASH: &str = "8269eb0fae143b2bef8d3ab15bf62df05add0c8d97609eb53ad20da253a9f150";
const OTHER_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record() -> EventRecord {
    EventRecord {
        source_ip: None,
        secret_version: SecretVersion::Current,
        body_sha256: HASH.into(),
        payload: None,
        ..webhook_core::testing::record(br#"{"eventName":"ENROLL"}"#)
    }
}

/// A DynamoDB JSON answer.
fn answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body.to_owned()))
}

/// DynamoDB's answer when the key exists: the existing item's hash comes back (`ALL_OLD`).
fn key_exists(hash: &str) -> HttpResponse {
    answer(
        400,
        &format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{{"pk":{{"S":"faceio#app/ENROLL/f1"}},"body_sha256":{{"S":"{hash}"}}}}}}"#
        ),
    )
}

/// A rule answering one `PutItem` with `response`, recording the request in `sent`.
fn put_answering(sent: &Arc<Mutex<Vec<PutItemInput>>>, response: fn() -> HttpResponse) -> Rule {
    let sent = Arc::clone(sent);
    mock!(Client::put_item).then_compute_response(move |input| {
        sent.lock().unwrap().push(input.clone());
        MockResponse::<PutItemOutput, PutItemError>::Http(response())
    })
}

/// The store over mocked answers, one per put in turn; no retries, so each answer is final.
async fn put_with(
    answers: &[fn() -> HttpResponse],
) -> (Result<PutOutcome, StoreError>, Vec<PutItemInput>) {
    put_record_with(&record(), answers).await
}

async fn put_record_with(
    record: &EventRecord,
    answers: &[fn() -> HttpResponse],
) -> (Result<PutOutcome, StoreError>, Vec<PutItemInput>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let rules: Vec<Rule> = answers.iter().map(|&a| put_answering(&sent, a)).collect();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules, |config| {
        config.retry_config(RetryConfig::disabled())
    });
    let store = DynamoDbStore::new(client, "events", None, Duration::from_secs(5));
    let outcome = store
        .put_if_absent(record, Budget::from_now(Duration::from_secs(5)))
        .await;
    let sent = sent.lock().unwrap().clone();
    (outcome, sent)
}

fn text<'a>(input: &'a PutItemInput, name: &str) -> &'a str {
    input.item().unwrap()[name].as_s().unwrap()
}

#[tokio::test]
async fn a_new_key_is_stored_with_one_conditional_put() {
    let (outcome, sent) = put_with(&[|| answer(200, "{}")]).await;

    assert_eq!(outcome, Ok(PutOutcome::Stored));
    assert_eq!(sent.len(), 1);
    let put = &sent[0];
    assert_eq!(put.table_name(), Some("events"));
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
    assert_eq!(text(put, "pk"), "faceio#app/ENROLL/f1");
    assert_eq!(text(put, "body_sha256"), HASH);
    assert_eq!(text(put, "record_type"), "event");
}

#[tokio::test]
async fn the_same_key_and_body_is_a_duplicate_and_writes_nothing_more() {
    let (outcome, sent) = put_with(&[|| key_exists(HASH)]).await;

    assert_eq!(outcome, Ok(PutOutcome::Duplicate));
    assert_eq!(sent.len(), 1, "no conflict record for the same body");
}

#[tokio::test]
async fn another_body_under_the_key_is_kept_in_a_conflict_record() {
    let (outcome, sent) = put_with(&[|| key_exists(OTHER_HASH), || answer(200, "{}")]).await;

    assert_eq!(outcome, Ok(PutOutcome::Conflict));
    assert_eq!(sent.len(), 2);
    let conflict = &sent[1];
    assert_eq!(
        conflict.condition_expression(),
        Some("attribute_not_exists(pk)")
    );
    assert_eq!(
        text(conflict, "pk"),
        format!("faceio#app/ENROLL/f1#conflict#{HASH}")
    );
    assert_eq!(
        text(conflict, "pk"),
        schema::conflict_pk(&record().pk(), HASH)
    );
    assert_eq!(text(conflict, "conflict_of"), "faceio#app/ENROLL/f1");
    assert_eq!(
        text(conflict, attr::RECORD_TYPE),
        RecordType::Conflict.as_str()
    );
    assert_eq!(text(conflict, "body_sha256"), HASH);
    assert_eq!(
        conflict.item().unwrap()["body"],
        AttributeValue::S(r#"{"eventName":"ENROLL"}"#.into())
    );
}

#[tokio::test]
async fn a_repeated_conflicting_body_finds_its_conflict_record() {
    let (outcome, sent) = put_with(&[|| key_exists(OTHER_HASH), || key_exists(HASH)]).await;

    assert_eq!(outcome, Ok(PutOutcome::Conflict));
    assert_eq!(sent.len(), 2);
}

#[tokio::test]
async fn an_item_dynamodb_refuses_is_rejected() {
    let (outcome, sent) = put_with(&[|| {
        answer(
            400,
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"}"#,
        )
    }])
    .await;

    assert!(
        matches!(&outcome, Err(StoreError::Rejected(why)) if why.contains("maximum allowed size")),
        "{outcome:?}"
    );
    assert_eq!(sent.len(), 1);
}

#[tokio::test]
async fn a_failing_or_throttled_dynamodb_is_unavailable() {
    let answers: [fn() -> HttpResponse; 2] = [
        || {
            answer(
                500,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
            )
        },
        || {
            answer(
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded"}"#,
            )
        },
    ];
    for answer in answers {
        let (outcome, sent) = put_with(&[answer]).await;

        assert!(
            matches!(outcome, Err(StoreError::Unavailable(_))),
            "{outcome:?}"
        );
        assert_eq!(sent.len(), 1);
    }
}

fn validation_error() -> HttpResponse {
    answer(
        400,
        r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Supplied AttributeValue has an empty attribute name"}"#,
    )
}

#[tokio::test]
async fn an_item_refused_for_its_payload_is_stored_without_it() {
    // The canned refusal stands for any DynamoDB refuses for the payload's content.
    let with_payload = EventRecord {
        payload: Some(serde_json::json!({ "eventName": "ENROLL" })),
        ..record()
    };
    let (outcome, sent) =
        put_record_with(&with_payload, &[validation_error, || answer(200, "{}")]).await;

    assert_eq!(outcome, Ok(PutOutcome::Stored));
    assert_eq!(sent.len(), 2);
    assert!(sent[0].item().unwrap().contains_key(attr::PAYLOAD));
    let second = sent[1].item().unwrap();
    assert!(!second.contains_key(attr::PAYLOAD));
    assert_eq!(text(&sent[1], "pk"), "faceio#app/ENROLL/f1");
    assert_eq!(
        second["body"],
        AttributeValue::S(r#"{"eventName":"ENROLL"}"#.into())
    );

    // Refused even without it: rejected, after exactly those two puts.
    let (outcome, sent) =
        put_record_with(&with_payload, &[validation_error, validation_error]).await;
    assert!(
        matches!(outcome, Err(StoreError::Rejected(_))),
        "{outcome:?}"
    );
    assert_eq!(sent.len(), 2);
}

/// DynamoDB's answer when the key exists with a signed-message hash (a re-spelled Amani body).
fn key_exists_with_message(hash: &str) -> HttpResponse {
    answer(
        400,
        &format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{{"pk":{{"S":"faceio#app/ENROLL/f1"}},"body_sha256":{{"S":"{OTHER_HASH}"}},"message_sha256":{{"S":"{hash}"}}}}}}"#
        ),
    )
}

#[tokio::test]
async fn a_re_spelling_of_one_signed_message_is_a_duplicate() {
    let re_spelled = EventRecord {
        body_sha256: OTHER_HASH.replace('0', "1"),
        message_sha256: Some(HASH.into()),
        ..record()
    };
    let (outcome, sent) = put_record_with(&re_spelled, &[|| key_exists_with_message(HASH)]).await;
    assert_eq!(outcome, Ok(PutOutcome::Duplicate));
    assert_eq!(text(&sent[0], "message_sha256"), HASH);

    // The stored event had the plain body hash; the re-spelling's message hash equals it.
    let (outcome, _) = put_record_with(&re_spelled, &[|| key_exists(HASH)]).await;
    assert_eq!(outcome, Ok(PutOutcome::Duplicate));

    // Another message under the key is a conflict.
    let (outcome, _) = put_record_with(
        &re_spelled,
        &[|| key_exists_with_message(OTHER_HASH), || answer(200, "{}")],
    )
    .await;
    assert_eq!(outcome, Ok(PutOutcome::Conflict));
}
