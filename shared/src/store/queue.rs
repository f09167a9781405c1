//! The fallback queue: a verified event the table could not take now is handed to SQS, and the
//! drain function (`functions/drain`) writes it later with the same conditional put.
//!
//! The message is the [`EventRecord`] as JSON ([`QueuedEvent`]). Its body travels inline
//! (base64) while the message fits SQS's limit; a larger body travels as its S3 pointer: it is
//! written to the body bucket first (content-addressed, so an object already written by the
//! failed put is simply written again), and the drain reads it back.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::bodies::{BodyBucket, BodyLocation};
use super::event::{EventRecord, Promotion};
use crate::budget::Budget;
use crate::secret::SecretVersion;

/// SQS's message size limit (256 KiB, the limit of every queue whatever its setting).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Version of the message format.
const FORMAT: u32 = 1;

/// An event in the queue: every field of its [`EventRecord`] but the parsed `payload` (the drain
/// parses the body again) and, for a large body, the body itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Format version.
    pub v: u32,
    /// [`EventRecord::provider`].
    pub provider: String,
    /// [`EventRecord::endpoint`] (a message queued before endpoints existed has none: `default`).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// [`EventRecord::idempotency_key`].
    pub idempotency_key: String,
    /// [`EventRecord::event_code`].
    pub event_code: String,
    /// [`EventRecord::ambiguous_json`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous_json: bool,
    /// [`EventRecord::subject`].
    pub subject: Option<String>,
    /// [`EventRecord::provider_time`].
    pub provider_time: Option<String>,
    /// [`EventRecord::received_at_ms`].
    pub received_at_ms: i64,
    /// [`EventRecord::request_id`].
    pub request_id: String,
    /// [`EventRecord::source_ip`].
    pub source_ip: Option<String>,
    /// [`EventRecord::secret_version`], as its stage label.
    pub secret_version: String,
    /// [`EventRecord::body_sha256`].
    pub body_sha256: String,
    /// [`EventRecord::message_sha256`].
    pub message_sha256: Option<String>,
    /// [`EventRecord::signature`].
    pub signature: Option<String>,
    /// [`Promotion::at_ms`], when promoted from the quarantine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_at_ms: Option<i64>,
    /// [`Promotion::reason`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_reason: Option<String>,
    /// Body length in bytes.
    pub body_size: usize,
    /// The body, standard base64, when it travels in the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Where the body is, when it travels as a pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_s3: Option<BodyLocation>,
}

fn default_endpoint() -> String {
    crate::endpoint::DEFAULT.to_owned()
}

/// Where a queued event's body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueuedBody {
    /// In the message.
    Inline(Vec<u8>),
    /// In the body bucket.
    Bucket(BodyLocation),
}

impl QueuedEvent {
    /// The message for `record`, with its body inline or at `body_at`.
    pub fn new(record: &EventRecord, body_at: Option<BodyLocation>) -> Self {
        let inline = body_at.is_none();
        Self {
            v: FORMAT,
            provider: record.provider.clone(),
            endpoint: record.endpoint.clone(),
            idempotency_key: record.idempotency_key.clone(),
            event_code: record.event_code.clone(),
            ambiguous_json: record.ambiguous_json,
            subject: record.subject.clone(),
            provider_time: record.provider_time.clone(),
            received_at_ms: record.received_at_ms,
            request_id: record.request_id.clone(),
            source_ip: record.source_ip.clone(),
            secret_version: record.secret_version.label().to_owned(),
            body_sha256: record.body_sha256.clone(),
            message_sha256: record.message_sha256.clone(),
            signature: record.signature.clone(),
            promoted_at_ms: record.promoted.as_ref().map(|promotion| promotion.at_ms),
            quarantine_reason: record.promoted.as_ref().map(|p| p.reason.clone()),
            body_size: record.body.len(),
            body_base64: inline
                .then(|| base64::engine::general_purpose::STANDARD.encode(&record.body)),
            body_s3: body_at,
        }
    }

    /// The message text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a message.
    ///
    /// # Errors
    /// Not a message of this format: a one-line reason (never the message itself).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let event: Self =
            serde_json::from_str(text).map_err(|error| format!("not a queued event: {error}"))?;
        if event.v != FORMAT {
            return Err(format!("queued event format {} is not {FORMAT}", event.v));
        }
        if event.body_base64.is_some() == event.body_s3.is_some() {
            return Err("a queued event has its body inline or in the bucket, not both".into());
        }
        Ok(event)
    }

    /// Where the body is.
    ///
    /// # Errors
    /// The inline body is not base64.
    pub fn body(&self) -> Result<QueuedBody, String> {
        match (&self.body_base64, &self.body_s3) {
            (Some(text), _) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(QueuedBody::Inline)
                .map_err(|_| "the queued body is not base64".into()),
            (None, Some(location)) => Ok(QueuedBody::Bucket(location.clone())),
            (None, None) => Err("the queued event has no body".into()),
        }
    }

    /// The record again, with `body` (read from the message or the bucket).
    ///
    /// # Errors
    /// An unknown secret stage, or a body whose hash is not the one queued.
    pub fn into_record(self, body: Vec<u8>) -> Result<EventRecord, String> {
        use sha2::Digest as _;
        let secret_version = SecretVersion::from_label(&self.secret_version)
            .ok_or_else(|| format!("unknown secret stage {:?}", self.secret_version))?;
        if hex::encode(sha2::Sha256::digest(&body)) != self.body_sha256 {
            return Err("the body does not have the queued hash".into());
        }
        let promoted = match (self.promoted_at_ms, self.quarantine_reason) {
            (Some(at_ms), Some(reason)) => Some(Promotion { at_ms, reason }),
            _ => None,
        };
        Ok(EventRecord {
            provider: self.provider,
            endpoint: self.endpoint,
            idempotency_key: self.idempotency_key,
            event_code: self.event_code,
            ambiguous_json: self.ambiguous_json,
            subject: self.subject,
            provider_time: self.provider_time,
            received_at_ms: self.received_at_ms,
            request_id: self.request_id,
            source_ip: self.source_ip,
            secret_version,
            payload: serde_json::from_slice(&body).ok(),
            body,
            body_sha256: self.body_sha256,
            message_sha256: self.message_sha256,
            signature: self.signature,
            promoted,
        })
    }
}

/// The SQS fallback queue.
#[derive(Debug, Clone)]
pub struct FallbackQueue {
    client: Client,
    url: String,
    bodies: Option<BodyBucket>,
}

impl FallbackQueue {
    /// The queue at `url`; large bodies go to `bodies` first (without a bucket, an event whose
    /// message would be too large cannot be queued).
    pub fn new(client: Client, url: impl Into<String>, bodies: Option<BodyBucket>) -> Self {
        Self {
            client,
            url: url.into(),
            bodies,
        }
    }

    /// Sends `record` within `budget`.
    ///
    /// # Errors
    /// The queue (or, for a large body, the bucket) did not take it in time: a one-line reason.
    pub async fn send(&self, record: &EventRecord, budget: Budget) -> Result<(), String> {
        budget
            .run(self.send_now(record))
            .await
            .unwrap_or_else(|| Err("the fallback queue did not answer in time".into()))
    }

    async fn send_now(&self, record: &EventRecord) -> Result<(), String> {
        let mut message = QueuedEvent::new(record, None).to_json();
        if message.len() > MAX_MESSAGE_BYTES {
            let bodies = self.bodies.as_ref().ok_or_else(|| {
                format!(
                    "a {}-byte body does not fit a queue message and there is no body bucket",
                    record.body.len()
                )
            })?;
            let location = bodies
                .put(&record.provider, &record.body_sha256, &record.body)
                .await
                .map_err(|error| error.to_string())?;
            message = QueuedEvent::new(record, Some(location)).to_json();
        }
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(message)
            .send()
            .await
            .map_err(|error| format!("SendMessage failed: {}", DisplayErrorContext(&error)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::record;

    fn hashed(body: &[u8]) -> EventRecord {
        use sha2::Digest as _;
        let mut record = record(body);
        record.body_sha256 = hex::encode(sha2::Sha256::digest(body));
        record
    }

    #[test]
    fn a_record_comes_back_from_its_message_as_it_went_in() {
        let mut original = hashed(br#"{"facialId":"f1","n":1e-400}"#);
        original.endpoint = "staging".into();
        original.message_sha256 = Some("cd".into());
        original.signature = Some("t=1,v1=x".into());
        original.promoted = Some(Promotion {
            at_ms: 5,
            reason: "token_mismatch".into(),
        });
        let message = QueuedEvent::from_json(&QueuedEvent::new(&original, None).to_json()).unwrap();
        let QueuedBody::Inline(body) = message.body().unwrap() else {
            panic!("the body travels inline");
        };
        assert_eq!(message.into_record(body).unwrap(), original);
    }

    #[test]
    fn a_pointer_message_has_no_body_and_a_wrong_body_is_refused() {
        let original = hashed(b"not json");
        let location = BodyLocation {
            bucket: "bodies".into(),
            key: BodyLocation::key("faceio", &original.body_sha256),
        };
        let text = QueuedEvent::new(&original, Some(location.clone())).to_json();
        assert!(!text.contains("body_base64"), "{text}");
        let message = QueuedEvent::from_json(&text).unwrap();
        assert_eq!(message.body(), Ok(QueuedBody::Bucket(location)));
        assert_eq!(message.body_size, 8);
        assert!(message.clone().into_record(b"other".to_vec()).is_err());
        assert_eq!(message.into_record(b"not json".to_vec()).unwrap(), original);
    }

    #[test]
    fn a_message_queued_before_endpoints_existed_is_the_default_endpoint_s() {
        let original = hashed(b"x");
        let mut message: serde_json::Value =
            serde_json::from_str(&QueuedEvent::new(&original, None).to_json()).unwrap();
        message.as_object_mut().unwrap().remove("endpoint").unwrap();
        let message = QueuedEvent::from_json(&message.to_string()).unwrap();
        assert_eq!(message.endpoint, crate::endpoint::DEFAULT);
    }

    #[test]
    fn foreign_messages_are_refused() {
        let good = QueuedEvent::new(&hashed(b"x"), None).to_json();
        assert!(QueuedEvent::from_json(&good).is_ok());
        assert!(QueuedEvent::from_json("{}").is_err());
        assert!(QueuedEvent::from_json(&good.replace("\"v\":1", "\"v\":2")).is_err());
        let both = good.replace(
            "\"body_size\"",
            "\"body_s3\":{\"bucket\":\"b\",\"key\":\"k\"},\"body_size\"",
        );
        assert!(QueuedEvent::from_json(&both).is_err());
    }
}
