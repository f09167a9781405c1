//! What both Alocity products share: the signed-header scheme, the event envelope and the
//! provider plumbing. A product (Selfie, access control) only supplies its event model through
//! [`AlocityProduct`].

use std::fmt::Debug;
use std::marker::PhantomData;

use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{ConfigError, Env};
use crate::provider::{IdempotencyKey, Provider, ProviderEvent, field_ci, unix_seconds_to_iso};
use crate::secret::VersionedSecret;
use crate::verify::alocity::{AlocitySignature, DEFAULT_TOLERANCE_SECS, HEADER};
use crate::verify::{Verified, VerifyError};

/// The envelope around every Alocity event. Field names are matched in any case: the example
/// in Alocity's docs is PascalCase, the field table camelCase.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `Id`: the event's id in Alocity, the idempotency key.
    pub id: String,
    /// `AccountId`.
    pub account_id: Option<String>,
    /// `OrganizationId`.
    pub organization_id: Option<String>,
    /// `CorrelationId`: the correlation id supplied to Alocity.
    pub correlation_id: Option<String>,
    /// `EventCode`.
    pub event_code: String,
    /// `Payload`: event specific, `Null` when none.
    pub payload: Value,
    /// `TimeStamp`: unix seconds of the event.
    pub timestamp: Option<i64>,
}

impl Envelope {
    /// Reads the envelope, or `None` when `Id` or `EventCode` is missing.
    pub fn from_json(body: &Value) -> Option<Self> {
        let text = |name: &str| {
            field_ci(body, name)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            id: text("Id")?,
            event_code: text("EventCode")?,
            account_id: text("AccountId"),
            organization_id: text("OrganizationId"),
            correlation_id: text("CorrelationId"),
            payload: field_ci(body, "Payload").cloned().unwrap_or(Value::Null),
            timestamp: field_ci(body, "TimeStamp").and_then(Value::as_i64),
        })
    }

    /// The payload as `T`, or `None` when it does not have that shape.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.payload).ok()
    }

    /// `TimeStamp` as ISO-8601 UTC.
    pub fn time(&self) -> Option<String> {
        self.timestamp.and_then(unix_seconds_to_iso)
    }
}

/// One Alocity product's event model.
pub trait AlocityProduct: Send + Sync + 'static {
    /// Provider short name (`alocity-selfie`, `alocity`).
    const NAME: &'static str;
    /// The typed event, chosen by `EventCode`.
    type Kind: Debug + Clone + PartialEq + Send + Sync;
    /// Reads the typed event from the envelope; unknown codes become an `Unknown` variant.
    fn classify(envelope: &Envelope) -> Self::Kind;
    /// What the event is about.
    fn subject(envelope: &Envelope, kind: &Self::Kind) -> Option<String>;
}

/// An Alocity event: the envelope and its typed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct AlocityEvent<K> {
    /// The envelope (ids, code, raw payload, time).
    pub envelope: Envelope,
    /// The typed event.
    pub kind: K,
    /// What the event is about.
    pub subject: Option<String>,
}

impl<K> ProviderEvent for AlocityEvent<K> {
    fn code(&self) -> &str {
        &self.envelope.event_code
    }

    fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::Id(self.envelope.id.clone())
    }

    fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    fn provider_time(&self) -> Option<String> {
        self.envelope.time()
    }
}

/// An Alocity product as a [`Provider`]: `Alocity-Signature` with a replay tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alocity<P> {
    /// The signature scheme and its tolerance.
    pub signature: AlocitySignature,
    product: PhantomData<fn() -> P>,
}

impl<P> Alocity<P> {
    /// A provider with the given replay tolerance.
    pub fn new(tolerance_secs: u64) -> Self {
        Self {
            signature: AlocitySignature { tolerance_secs },
            product: PhantomData,
        }
    }

    /// Reads `TIMESTAMP_TOLERANCE_SECS` (default 300).
    ///
    /// # Errors
    /// When it is set but not a positive integer.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(env.positive_or(
            "TIMESTAMP_TOLERANCE_SECS",
            DEFAULT_TOLERANCE_SECS,
        )?))
    }
}

impl<P: AlocityProduct> Provider for Alocity<P> {
    const NAME: &'static str = P::NAME;
    type Event = AlocityEvent<P::Kind>;

    fn authenticate(
        &self,
        secrets: &[VersionedSecret],
        body: &[u8],
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        self.signature.verify(secrets, body, headers, now)
    }

    fn audit_signature(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    fn parse(&self, body: &Value) -> Option<Self::Event> {
        let envelope = Envelope::from_json(body)?;
        let kind = P::classify(&envelope);
        let subject = P::subject(&envelope, &kind);
        Some(AlocityEvent {
            envelope,
            kind,
            subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pascal_and_camel_case_alike() {
        let pascal = serde_json::json!({
            "Id": "e1", "AccountId": "a", "OrganizationId": "o", "CorrelationId": "c",
            "EventCode": "InviteSent", "Payload": null, "TimeStamp": 1_677_170_830
        });
        let camel = serde_json::json!({
            "id": "e1", "accountId": "a", "organizationId": "o", "correlationId": "c",
            "eventCode": "InviteSent", "payload": null, "timestamp": 1_677_170_830
        });
        let expected = Envelope::from_json(&pascal).unwrap();
        assert_eq!(Envelope::from_json(&camel).unwrap(), expected);
        assert_eq!(expected.time().as_deref(), Some("2023-02-23T16:47:10Z"));
    }

    #[test]
    fn needs_an_id_and_an_event_code() {
        assert_eq!(
            Envelope::from_json(&serde_json::json!({"EventCode": "x"})),
            None
        );
        assert_eq!(Envelope::from_json(&serde_json::json!({"Id": "x"})), None);
        assert_eq!(Envelope::from_json(&serde_json::json!([1, 2])), None);
    }
}
