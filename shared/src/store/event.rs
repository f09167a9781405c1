//! A verified delivery as it is handed to the store, what a put did, and the store's trait.

use std::future::Future;

use serde_json::Value;

use super::schema::{self, iso_millis};
use crate::secret::SecretVersion;

/// A verified delivery, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Provider short name.
    pub provider: &'static str,
    /// The deduplication key within the provider.
    pub idempotency_key: String,
    /// Event code, or `unparsed`.
    pub event_code: String,
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
    /// The body parsed as JSON, when it is JSON.
    pub payload: Option<Value>,
    /// The signature header, for a later tamper audit (HMAC schemes only).
    pub signature: Option<String>,
}

impl EventRecord {
    /// The table key: `<provider>#<idempotency key>` ([`schema::event_pk`]).
    pub fn pk(&self) -> String {
        schema::event_pk(self.provider, &self.idempotency_key)
    }

    /// The key of the record that keeps a different body delivered under the same key
    /// ([`schema::conflict_pk`]).
    pub fn conflict_pk(&self) -> String {
        schema::conflict_pk(&self.pk(), &self.body_sha256)
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
}

impl PutOutcome {
    /// The `status` word in the response.
    pub fn status(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Conflict => "conflict",
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
    /// Writes `record` unless its key exists. An existing key with the same body hash is a
    /// duplicate; with another hash, the record is kept under its conflict key.
    fn put_if_absent(
        &self,
        record: &EventRecord,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}
