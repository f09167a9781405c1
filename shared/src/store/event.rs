//! A verified delivery as it is handed to the store, what a put did, and the store's trait.

use std::future::Future;

use serde_json::Value;

use super::schema::{self, iso_millis};
use crate::budget::Budget;
use crate::metrics::{self, Metric};
use crate::secret::SecretVersion;

/// A verified delivery, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Provider short name.
    pub provider: String,
    /// The endpoint it came to ([`crate::endpoint::DEFAULT`] for `/webhooks/<provider>`).
    pub endpoint: String,
    /// The deduplication key within the provider's endpoint.
    pub idempotency_key: String,
    /// Event code, or `unparsed`.
    pub event_code: String,
    /// The JSON body has a key twice: readers may disagree on what it says.
    pub ambiguous_json: bool,
    /// What the event is about, when known.
    pub subject: Option<String>,
    /// The provider's time for the event, when it sends one.
    pub provider_time: Option<String>,
    /// When we received it, unix milliseconds.
    pub received_at_ms: i64,
    /// API Gateway's request id.
    pub request_id: String,
    /// The caller's IP.
    pub source_ip: Option<String>,
    /// The secret version that authenticated the request.
    pub secret_version: SecretVersion,
    /// The raw body, exactly as verified.
    pub body: Vec<u8>,
    /// Lower-case hex SHA-256 of `body`.
    pub body_sha256: String,
    /// Lower-case hex SHA-256 of the message the signature covers, when that is not `body`
    /// (Amani's `json.dumps` form of a re-spelled body).
    pub message_sha256: Option<String>,
    /// The body parsed as JSON, when it is JSON.
    pub payload: Option<Value>,
    /// The signature header, for a later tamper audit (HMAC schemes only).
    pub signature: Option<String>,
    /// Set when the delivery was refused on arrival, held in the quarantine and stored later.
    pub promoted: Option<Promotion>,
}

/// How a quarantined delivery became an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// When it was promoted, unix milliseconds.
    pub at_ms: i64,
    /// Why it was refused on arrival (`signature_mismatch`, `token_mismatch`, `wrong_app`).
    pub reason: String,
}

impl EventRecord {
    /// What its keys and index partitions begin with ([`schema::scope`]): the provider, or
    /// `<provider>/<endpoint>`.
    pub fn scope(&self) -> std::borrow::Cow<'_, str> {
        schema::scope(&self.provider, &self.endpoint)
    }

    /// The table key: `<scope>#<idempotency key>` ([`schema::event_pk`]).
    pub fn pk(&self) -> String {
        schema::event_pk(&self.scope(), &self.idempotency_key)
    }

    /// What tells a duplicate from a conflict: the hash of the signed message. Two spellings of
    /// one signed `json.dumps` document are one event; two bodies with one key and different
    /// signed content are a conflict.
    pub fn content_sha256(&self) -> &str {
        self.message_sha256.as_deref().unwrap_or(&self.body_sha256)
    }

    /// The key of the record that keeps a different body delivered under the same key
    /// ([`schema::conflict_pk`]).
    pub fn conflict_pk(&self) -> String {
        schema::conflict_pk(&self.pk(), self.content_sha256())
    }

    /// `received_at` as ISO-8601 UTC with milliseconds (`2026-11-24T02:49:41.123Z`).
    pub fn received_at(&self) -> String {
        iso_millis(self.received_at_ms)
    }
}

/// What a conditional put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// First delivery: stored.
    Stored,
    /// The same key with the same body was already stored: nothing written.
    Duplicate,
    /// The same key with a different body: the original is untouched, the new body is kept in
    /// a conflict record.
    Conflict,
    /// The table could not take it now: it is in the fallback queue, and the drain will write it
    /// with the same conditional put (`202`).
    Queued,
}

impl PutOutcome {
    /// The metric that counts it.
    pub fn metric(self) -> Metric {
        match self {
            Self::Stored => Metric::Stored,
            Self::Duplicate => Metric::Duplicate,
            Self::Conflict => Metric::Conflict,
            Self::Queued => Metric::Queued,
        }
    }

    /// The `status` word in the response.
    pub fn status(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Conflict => "conflict",
            Self::Queued => "queued",
        }
    }

    /// The HTTP status of the answer: `202` for a queued event (accepted, not yet in the
    /// table), `200` otherwise.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Queued => 202,
            Self::Stored | Self::Duplicate | Self::Conflict => 200,
        }
    }
}

/// The store could not confirm the write; the provider must retry (`503`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer within the deadline, or kept failing.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The store refused the item itself (too large, invalid); retrying will not help.
    #[error("event store rejected the item: {0}")]
    Rejected(String),
}

/// Durable, exactly-once storage of verified events.
pub trait EventStore: Send + Sync {
    /// Writes `record` unless its key exists, within `budget`. An existing key with the same
    /// content hash ([`EventRecord::content_sha256`]) is a duplicate; with another, the record
    /// is kept under its conflict key.
    fn put_if_absent(
        &self,
        record: &EventRecord,
        budget: Budget,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// `store.put_if_absent`, counted in the invocation's metrics: how long it took
/// (`StoreLatencyMs`) and, when the store answered, its outcome (`Stored`, `Duplicate`,
/// `Conflict`, `Queued`). The one write the receivers, the drain and `quarantine promote` make.
///
/// # Errors
/// The store's, as [`EventStore::put_if_absent`].
pub async fn put_counted<E: EventStore>(
    store: &E,
    record: &EventRecord,
    budget: Budget,
) -> Result<PutOutcome, StoreError> {
    let put = metrics::timed(Metric::StoreLatencyMs, store.put_if_absent(record, budget)).await;
    if let Ok(outcome) = &put {
        metrics::record(outcome.metric(), 1.0);
    }
    put
}
