//! What a provider function supplies to the shared pipeline: its authentication scheme and
//! its event model. Adding a provider means implementing [`Provider`] for one small type.

use http::HeaderMap;
use serde_json::Value;

use crate::quarantine::Credentials;
use crate::secret::VersionedSecret;
use crate::verify::{Verified, VerifyError, match_token_hash};

/// How a delivery is recognised when it arrives again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyKey {
    /// The provider's own id for the event.
    Id(String),
    /// The SHA-256 of the raw body: an exact resend is a duplicate.
    BodyHash,
    /// The request id: every delivery is its own record (FACEIO `AUTH`).
    RequestId,
}

/// What the pipeline needs to know about a typed event to store and find it.
pub trait ProviderEvent {
    /// The provider's event code (`InviteSent`, `door.state`, `ENROLL`, `profile_update`, …).
    fn code(&self) -> &str;
    /// How deliveries of this event are deduplicated.
    fn idempotency_key(&self) -> IdempotencyKey;
    /// What the event is about: user, facial id, profile, device serial.
    fn subject(&self) -> Option<&str>;
    /// The provider's own time for the event, ISO-8601 when known.
    fn provider_time(&self) -> Option<String>;
}

/// One webhook provider: its name, how it authenticates, how its bodies parse.
pub trait Provider: Send + Sync {
    /// Short name used in keys, logs and index partitions (`alocity-selfie`, `faceio`, …).
    const NAME: &'static str;

    /// The provider's typed event.
    type Event: ProviderEvent;

    /// Decides whether the request is authentic. Pure: no I/O; `now` is unix seconds.
    ///
    /// # Errors
    /// The reason the request is not authentic.
    fn authenticate(
        &self,
        secrets: &[VersionedSecret],
        body: &[u8],
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Verified, VerifyError>;

    /// Whether a request no candidate secret verified is worth one more look at freshly loaded
    /// secrets (a rotation made minutes ago; at most one such refresh per 30 s): shaped as the
    /// provider's own deliveries are (an HMAC scheme: a MAC of the right size). A forged flood of
    /// other shapes then cannot use up the refresh a genuine delivery signed with a just-rotated
    /// secret needs. Yes by default (a token has no shape: a forged one looks like a new one).
    fn worth_a_refresh(
        &self,
        _secrets: &[VersionedSecret],
        _body: &[u8],
        _headers: &HeaderMap,
    ) -> bool {
        true
    }

    /// The raw authentication header worth keeping for a later tamper audit (an HMAC signature;
    /// never a bearer token or anything secret).
    fn audit_signature(&self, _headers: &HeaderMap) -> Option<String> {
        None
    }

    /// What a refused delivery keeps of its credentials so that it can be verified again later
    /// (the quarantine): the signature headers as they arrived, or the SHA-256 of each
    /// presented token — never a token itself. Nothing by default: such a delivery is not held.
    fn held_credentials(&self, _headers: &HeaderMap) -> Credentials {
        Credentials::default()
    }

    /// Verifies a held delivery again: its kept token hashes against the candidates' hashes, or
    /// its kept signature headers as [`Provider::authenticate`] does, `received_at` (unix
    /// seconds, the receive time) standing for now.
    ///
    /// # Errors
    /// The reason it is still not authentic.
    fn verify_held(
        &self,
        secrets: &[VersionedSecret],
        body: &[u8],
        credentials: &Credentials,
        received_at: i64,
    ) -> Result<Verified, VerifyError> {
        if credentials.token_sha256.is_empty() {
            self.authenticate(secrets, body, &credentials.header_map(), received_at)
        } else {
            match_token_hash(secrets, &credentials.token_sha256).ok_or(VerifyError::TokenMismatch)
        }
    }

    /// Reads an authentic JSON body as the provider's event, or `None` when it is not the
    /// provider's model (it is then stored raw as `unparsed`).
    fn parse(&self, body: &Value) -> Option<Self::Event>;

    /// Whether an authentic body whose JSON has a key twice is refused (`401 ambiguous_json`)
    /// rather than stored flagged `ambiguous_json`: for a provider whose content check reads the
    /// body (FACEIO's `appId`), where a reader keeping the first value would see another
    /// application than ours. No by default.
    fn refuses_ambiguous_json(&self) -> bool {
        false
    }

    /// Checks on the content of an authenticated body, run before it is parsed as the model so
    /// that a body the model does not fit cannot skip them (FACEIO's `appId`). `body` is the
    /// body as JSON, `None` when it is not JSON.
    ///
    /// # Errors
    /// Why the request must be refused even though its credentials matched.
    fn accept(&self, _body: Option<&Value>) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// Looks up `name` in a JSON object ignoring ASCII case (Alocity sends PascalCase but documents
/// camelCase).
pub fn field_ci<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// A JSON scalar as text: strings as they are, numbers and booleans printed; `None` otherwise.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Unix seconds as ISO-8601 UTC (`2023-02-23T16:47:10Z`), or `None` when out of range.
pub fn unix_seconds_to_iso(seconds: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}
