//! DynamoDB as the event store: one conditional `PutItem` per delivery. The item's layout is
//! [`super::schema`]'s; the reader is [`super::query`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::attributes::{Item, json_to_attribute};
use super::bodies::{BodyBucket, BodyLocation};
use super::event::{EventRecord, EventStore, PutOutcome, StoreError};
use super::schema::{self, RecordType, attr, iso_millis};
use crate::budget::Budget;
use crate::metrics::{self, Metric};

/// Bodies larger than this are stored raw only: the parsed `payload` would repeat them and push
/// the item towards DynamoDB's 400 KB item limit.
pub const MAX_PAYLOAD_BODY_BYTES: usize = 100 * 1024;

/// Writes events with `attribute_not_exists(pk)`, so a redelivery never overwrites.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    retention_days: Option<u32>,
    deadline: Duration,
    bodies: Option<BodyBucket>,
}

impl DynamoDbStore {
    /// A store over `table`. `retention_days` sets `expires_at`; `deadline` bounds each put,
    /// retries included.
    pub fn new(
        client: Client,
        table: impl Into<String>,
        retention_days: Option<u32>,
        deadline: Duration,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
            deadline,
            bodies: None,
        }
    }

    /// Bodies the bucket takes (over its threshold) are written there and the item points at
    /// them. Without a bucket every body is kept in the item, and one too large for DynamoDB
    /// is refused by it ([`StoreError::Rejected`]).
    #[must_use]
    pub fn with_body_bucket(mut self, bodies: BodyBucket) -> Self {
        self.bodies = Some(bodies);
        self
    }

    /// Opens the connection during cold start (`DescribeTable` on our table), so the first
    /// webhook does not pay for the TLS handshake. A failure is logged, not fatal.
    pub async fn warm(&self) {
        if let Err(error) = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            tracing::warn!(error = %DisplayErrorContext(&error), table = %self.table, "event table warm-up failed");
        }
    }

    async fn put(&self, item: Item) -> Result<Option<String>, SdkError<PutItemError>> {
        let answer = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(schema::PK_ABSENT)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(failure))
                if failure.err().is_conditional_check_failed_exception() =>
            {
                let existing_hash = match failure.err() {
                    PutItemError::ConditionalCheckFailedException(exists) => {
                        exists.item().and_then(|item| {
                            [attr::MESSAGE_SHA256, attr::BODY_SHA256]
                                .iter()
                                .find_map(|name| item.get(*name)?.as_s().ok())
                                .cloned()
                        })
                    }
                    _ => None,
                };
                Ok(Some(existing_hash.unwrap_or_default()))
            }
            Err(error) => Err(error),
        }
    }

    /// Writes the body to the bucket first when it is too large for the item: the item is only
    /// written once its body is safe, so it never points at a missing object.
    async fn offload(&self, record: &EventRecord) -> Result<Option<BodyLocation>, StoreError> {
        match &self.bodies {
            Some(bodies) if bodies.takes(record.body.len()) => {
                let location = bodies
                    .put(&record.provider, &record.body_sha256, &record.body)
                    .await?;
                metrics::record(Metric::Offloaded, 1.0);
                Ok(Some(location))
            }
            _ => Ok(None),
        }
    }

    /// Puts `item`; when DynamoDB refuses the item itself, once more without its `payload` (the
    /// parsed copy of the body, where every exotic value of the sender lives: an empty map key,
    /// a number DynamoDB cannot hold). The body, its hash and the keys are always kept, so an
    /// authentic event is never refused for its content.
    async fn put_tolerant(&self, mut item: Item) -> Result<Option<String>, StoreError> {
        match self.put(item.clone()).await {
            Err(error) => match classify(&error) {
                StoreError::Rejected(why) if item.remove(attr::PAYLOAD).is_some() => {
                    tracing::warn!(error = %why, "item refused; storing it without its payload");
                    self.put(item).await.map_err(|error| classify(&error))
                }
                other => Err(other),
            },
            Ok(existing) => Ok(existing),
        }
    }

    async fn put_record(&self, record: &EventRecord) -> Result<PutOutcome, StoreError> {
        let body_at = self.offload(record).await?;
        let item = to_item(record, self.retention_days, None, body_at.as_ref());
        let Some(existing_hash) = self.put_tolerant(item).await? else {
            return Ok(PutOutcome::Stored);
        };
        if existing_hash == record.content_sha256() {
            return Ok(PutOutcome::Duplicate);
        }
        // Same key, different body: keep the original, keep the new body beside it. A repeat of
        // the same conflicting body finds its conflict record and writes nothing.
        let conflict = to_item(
            record,
            self.retention_days,
            Some(record.pk()),
            body_at.as_ref(),
        );
        self.put_tolerant(conflict).await?;
        Ok(PutOutcome::Conflict)
    }
}

impl EventStore for DynamoDbStore {
    /// Within `budget` and the store's own deadline, whichever ends first.
    async fn put_if_absent(
        &self,
        record: &EventRecord,
        budget: Budget,
    ) -> Result<PutOutcome, StoreError> {
        let budget = budget.capped(self.deadline);
        let allowed = budget.remaining();
        budget
            .run(self.put_record(record))
            .await
            .unwrap_or_else(|| {
                Err(StoreError::Unavailable(format!(
                    "no answer within {} ms",
                    allowed.as_millis()
                )))
            })
    }
}

fn classify(error: &SdkError<PutItemError>) -> StoreError {
    let text = DisplayErrorContext(error).to_string();
    let rejected = matches!(error, SdkError::ServiceError(failure)
        if failure.raw().status().as_u16() == 400
            && failure.err().meta().code() == Some("ValidationException"));
    if rejected {
        StoreError::Rejected(text)
    } else {
        StoreError::Unavailable(text)
    }
}

/// The item for `record`; `conflict_of` makes it the conflict record of that original key, and
/// `body_at` replaces the body (and its parsed `payload`) by where the body was offloaded.
pub fn to_item(
    record: &EventRecord,
    retention_days: Option<u32>,
    conflict_of: Option<String>,
    body_at: Option<&BodyLocation>,
) -> Item {
    let s = |text: &str| AttributeValue::S(text.to_owned());
    let mut item = HashMap::with_capacity(24);
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    let pk = match &conflict_of {
        Some(_) => record.conflict_pk(),
        None => record.pk(),
    };
    put(attr::PK, AttributeValue::S(pk));
    put(attr::PROVIDER, s(&record.provider));
    put(attr::ENDPOINT, s(&record.endpoint));
    put(attr::IDEMPOTENCY_KEY, s(&record.idempotency_key));
    put(attr::EVENT_CODE, s(&record.event_code));
    put(
        attr::PROVIDER_DAY,
        AttributeValue::S(schema::provider_day(
            &record.scope(),
            &schema::utc_day(record.received_at_ms),
        )),
    );
    if let Some(subject) = &record.subject {
        put(attr::SUBJECT, s(subject));
        put(
            attr::PROVIDER_SUBJECT,
            AttributeValue::S(schema::provider_subject(&record.scope(), subject)),
        );
    }
    if let Some(time) = &record.provider_time {
        put(attr::PROVIDER_TIME, s(time));
    }
    put(attr::RECEIVED_AT, AttributeValue::S(record.received_at()));
    put(
        attr::RECEIVED_AT_MS,
        AttributeValue::N(record.received_at_ms.to_string()),
    );
    put(attr::REQUEST_ID, s(&record.request_id));
    if let Some(ip) = &record.source_ip {
        put(attr::SOURCE_IP, s(ip));
    }
    put(attr::SECRET_VERSION, s(record.secret_version.label()));
    if let Some(location) = body_at {
        put(attr::BODY_S3_BUCKET, s(&location.bucket));
        put(attr::BODY_S3_KEY, s(&location.key));
    } else {
        put(
            attr::BODY,
            match std::str::from_utf8(&record.body) {
                Ok(text) => s(text),
                Err(_) => AttributeValue::B(Blob::new(record.body.clone())),
            },
        );
    }
    put(attr::BODY_SHA256, s(&record.body_sha256));
    if let Some(message) = &record.message_sha256 {
        put(attr::MESSAGE_SHA256, s(message));
    }
    if record.ambiguous_json {
        put(attr::AMBIGUOUS_JSON, AttributeValue::Bool(true));
    }
    if let Some(promotion) = &record.promoted {
        put(
            attr::PROMOTED_AT,
            AttributeValue::S(iso_millis(promotion.at_ms)),
        );
        put(attr::QUARANTINE_REASON, s(&promotion.reason));
    }
    put(
        attr::BODY_SIZE,
        AttributeValue::N(record.body.len().to_string()),
    );
    if let Some(payload) = record
        .payload
        .as_ref()
        .filter(|_| record.body.len() <= MAX_PAYLOAD_BODY_BYTES && body_at.is_none())
        .and_then(|json| json_to_attribute(json, 1))
    {
        put(attr::PAYLOAD, payload);
    }
    if let Some(signature) = &record.signature {
        put(attr::SIGNATURE, s(signature));
    }
    match conflict_of {
        Some(original) => {
            put(attr::RECORD_TYPE, s(RecordType::Conflict.as_str()));
            put(attr::CONFLICT_OF, AttributeValue::S(original));
        }
        None => put(attr::RECORD_TYPE, s(RecordType::Event.as_str())),
    }
    if let Some(days) = retention_days.filter(|days| *days > 0) {
        let expires = record.received_at_ms / 1000 + i64::from(days) * 86_400;
        put(attr::EXPIRES_AT, AttributeValue::N(expires.to_string()));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::record;

    #[test]
    fn item_carries_keys_for_both_indexes_and_the_ttl() {
        let item = to_item(
            &record(br#"{"a":[1,2.5,{"b":null}]}"#),
            Some(30),
            None,
            None,
        );
        let s = |name: &str| item[name].as_s().unwrap().clone();
        assert_eq!(s("pk"), "faceio#app/ENROLL/f1");
        assert_eq!(s("provider_day"), "faceio#2025-11-24");
        assert_eq!(s("provider_subject"), "faceio#f1");
        assert_eq!(s("received_at"), "2025-11-24T16:00:00.123Z");
        assert_eq!(s("secret_version"), "AWSPREVIOUS");
        assert_eq!(s("record_type"), "event");
        assert_eq!(
            item["expires_at"].as_n().unwrap(),
            &(1_764_000_000 + 30 * 86_400).to_string()
        );
        let payload = item["payload"].as_m().unwrap();
        let list = payload["a"].as_l().unwrap();
        assert_eq!(list[1].as_n().unwrap(), "2.5");
        assert_eq!(list[2].as_m().unwrap()["b"], AttributeValue::Null(true));
    }

    #[test]
    fn large_bodies_are_not_repeated_as_payload() {
        let big = format!("{{\"image\":\"{}\"}}", "A".repeat(MAX_PAYLOAD_BODY_BYTES));
        let item = to_item(&record(big.as_bytes()), None, None, None);
        assert!(!item.contains_key("payload"));
        assert_eq!(item["body"].as_s().unwrap(), &big);
        let small = to_item(&record(b"{\"image\":\"AAAA\"}"), None, None, None);
        assert!(small.contains_key("payload"));
    }

    #[test]
    fn an_offloaded_body_is_replaced_by_its_location_and_keeps_hash_and_size() {
        let body = br#"{"image":"AAAA"}"#;
        let location = BodyLocation {
            bucket: "bodies".into(),
            key: BodyLocation::key("faceio", "ab"),
        };
        let item = to_item(&record(body), None, None, Some(&location));
        assert!(!item.contains_key("body"));
        assert!(!item.contains_key("payload"));
        assert_eq!(item["body_s3_bucket"].as_s().unwrap(), "bodies");
        assert_eq!(item["body_s3_key"].as_s().unwrap(), "faceio/ab");
        assert_eq!(item["body_sha256"].as_s().unwrap(), "ab");
        assert_eq!(item["body_size"].as_n().unwrap(), &body.len().to_string());
    }

    #[test]
    fn non_utf8_bodies_are_binary_and_conflicts_point_at_the_original() {
        let item = to_item(&record(&[0xff, 0xfe]), None, Some("faceio#k".into()), None);
        assert_eq!(item["body"].as_b().unwrap().as_ref(), &[0xff, 0xfe]);
        assert!(!item.contains_key("payload"));
        assert!(!item.contains_key("expires_at"));
        assert_eq!(
            item["pk"].as_s().unwrap(),
            "faceio#app/ENROLL/f1#conflict#ab"
        );
        assert_eq!(item["conflict_of"].as_s().unwrap(), "faceio#k");
        assert_eq!(item["record_type"].as_s().unwrap(), "conflict");
    }
}
