//! What both Alocity products share: the signed-header scheme, the event envelope and the
//! provider plumbing. A product (Selfie, access control) only supplies its event model through
//! [`AlocityProduct`].

use std::fmt::Debug;
use std::marker::PhantomData;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::catalog::{self, AuditRule, Catalog, Fresh, ProviderInfo, Sample, Signer};
use crate::config::{ConfigError, Env};
use crate::provider::{IdempotencyKey, Provider, ProviderEvent, field_ci, unix_seconds_to_iso};
use crate::quarantine::Credentials;
use crate::secret::{Secret, VersionedSecret};
use crate::verify::alocity::{self as scheme, AlocitySignature, DEFAULT_TOLERANCE_SECS, HEADER};
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

/// One Alocity product's event model, and what the tools know of it.
pub trait AlocityProduct: Send + Sync + 'static {
    /// What the tools know of the product: name (`alocity-selfie`, `alocity`), binary (its
    /// crate's `env!("CARGO_PKG_NAME")`), summary, [`SIGNING`], local secret, event codes.
    const INFO: &'static ProviderInfo;
    /// The fixture body of a documented code (`tests/fixtures/<provider>/<code>.json`).
    fn fixture(code: &str) -> Option<&'static str>;
    /// Fresh values for the product's own payload fields, beyond the ids and the time every
    /// sample gets (e.g. a device serial number). The default changes nothing.
    fn refresh_payload(body: String, _fresh: &Fresh) -> String {
        body
    }
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

impl<P> Default for Alocity<P> {
    fn default() -> Self {
        Self::new(DEFAULT_TOLERANCE_SECS)
    }
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
    const NAME: &'static str = P::INFO.name;
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

    fn worth_a_refresh(
        &self,
        _secrets: &[VersionedSecret],
        _body: &[u8],
        headers: &HeaderMap,
    ) -> bool {
        scheme::has_full_size_mac(headers)
    }

    /// The header as verified: a proxy that split it into two values is audited as it was
    /// checked.
    fn audit_signature(&self, headers: &HeaderMap) -> Option<String> {
        crate::verify::audit_header(headers, HEADER_NAME, HEADER)
    }

    fn held_credentials(&self, headers: &HeaderMap) -> Credentials {
        Credentials::signature(headers, HEADER)
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

/// How Alocity signs, for help texts.
pub const SIGNING: &str =
    "Alocity-Signature `t:<now>,sig:<base64 HMAC-SHA256(secret, \"t.body\")>`";

/// Signs like Alocity: `Alocity-Signature: t:<now>,sig:<base64 HMAC-SHA256(secret, "t.body")>`.
#[derive(Debug)]
pub struct AlocitySigner(pub Secret);

const HEADER_NAME: HeaderName = HeaderName::from_static(HEADER);

impl Signer for AlocitySigner {
    fn header(&self, body: &[u8], now: i64, tamper: bool) -> (HeaderName, String) {
        (
            HEADER_NAME,
            scheme::sign(&self.0, now, &catalog::tampered(body, tamper)),
        )
    }
}

/// The tamper audit for Alocity: the stored header is checked against the stored body at the
/// time it was signed (its own `t`), so no replay window applies to an event stored long ago.
///
/// # Errors
/// A malformed stored header, or no candidate secret whose MAC matches the body.
pub fn reverify(
    secrets: &[VersionedSecret],
    body: &[u8],
    signature: &str,
) -> Result<Verified, VerifyError> {
    let value =
        HeaderValue::from_str(signature).map_err(|_| VerifyError::MalformedHeader(HEADER))?;
    let signed_at = scheme::parse_header(signature)?.timestamp;
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_NAME, value);
    AlocitySignature { tolerance_secs: 0 }.verify(secrets, body, &headers, signed_at)
}

/// An Alocity product's [`Catalog`]: the shared signing and audit, the product's codes and
/// fixtures.
pub struct AlocityCatalog<P>(PhantomData<fn() -> P>);

impl<P> AlocityCatalog<P> {
    /// The catalogue of product `P`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P: AlocityProduct> std::fmt::Debug for AlocityCatalog<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AlocityCatalog")
            .field(&P::INFO.name)
            .finish()
    }
}

impl<P> Default for AlocityCatalog<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: AlocityProduct> Catalog for AlocityCatalog<P> {
    fn info(&self) -> &'static ProviderInfo {
        P::INFO
    }

    /// The fixture with fresh ids (every UUID) and `TimeStamp` now.
    fn sample(&self, code: &str, fresh: &Fresh, _env: &Env) -> Option<Sample> {
        let event_code = catalog::find_code(P::INFO.event_codes, code)?;
        let body = fresh.with_fresh_uuids(P::fixture(event_code)?);
        let body = catalog::replace_value(&body, "/TimeStamp", &Value::from(fresh.now))?;
        let body = P::refresh_payload(body, fresh);
        let json: Value = serde_json::from_str(&body).ok()?;
        let subject = Alocity::<P>::default()
            .parse(&json)
            .and_then(|event| event.subject.clone());
        Some(Sample {
            body: body.into_bytes(),
            event_code,
            subject,
        })
    }

    fn promoter(&self, env: &Env) -> Result<Box<dyn crate::pipeline::Promote>, ConfigError> {
        Ok(Box::new(Alocity::<P>::from_env(env)?))
    }

    fn signer(&self, _env: &Env, secret: Secret) -> Result<Box<dyn Signer>, ConfigError> {
        Ok(Box::new(AlocitySigner(secret)))
    }

    fn audit(&self) -> Option<AuditRule> {
        Some(reverify)
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

    fn secrets() -> Vec<VersionedSecret> {
        vec![
            VersionedSecret::current("new-secret"),
            VersionedSecret::previous("old-secret"),
        ]
    }

    #[test]
    fn an_old_signature_still_verifies_its_body_in_the_audit() {
        let body = br#"{"Id":"e1","EventCode":"PinOk"}"#;
        // Signed in 2001: far outside any replay window.
        let header = scheme::sign(&Secret::new("old-secret"), 1_000_000_000, body);
        let verified = reverify(&secrets(), body, &header).unwrap();
        assert_eq!(verified.version, crate::SecretVersion::Previous);
    }

    #[test]
    fn an_altered_body_or_a_garbled_header_fails_the_audit() {
        let body = br#"{"Id":"e1","EventCode":"PinOk"}"#;
        let header = scheme::sign(&Secret::new("new-secret"), 1_000_000_000, body);
        let altered = br#"{"Id":"e1","EventCode":"PinFailures"}"#;
        assert_eq!(
            reverify(&secrets(), altered, &header),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(
            reverify(&secrets(), body, "garbage"),
            Err(VerifyError::MalformedHeader(HEADER))
        );
        assert_eq!(
            reverify(&secrets(), body, "t:1,sig:\u{7f}"),
            Err(VerifyError::MalformedHeader(HEADER))
        );
    }

    #[test]
    fn the_signer_signs_what_the_scheme_verifies_and_tampering_breaks_it() {
        let body = br#"{"Id":"e1"}"#;
        let signer = AlocitySigner(Secret::new("new-secret"));
        for (tamper, expected) in [
            (false, Ok(crate::SecretVersion::Current)),
            (true, Err(VerifyError::SignatureMismatch)),
        ] {
            let (name, value) = signer.header(body, 1000, tamper);
            let mut headers = HeaderMap::new();
            headers.insert(name, value.parse().unwrap());
            assert_eq!(
                AlocitySignature::default()
                    .verify(&secrets(), body, &headers, 1000)
                    .map(|verified| verified.version),
                expected
            );
        }
    }
}
