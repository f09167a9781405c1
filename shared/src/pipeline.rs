//! The one request pipeline every function runs:
//! method → size → authenticate → parse → store → respond.

use base64::Engine as _;
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::budget::{Budget, MAX_REQUEST_TIME};
pub use crate::clock::Clock;
use crate::endpoint;
use crate::http::{HttpRequest, HttpResponse};
use crate::metrics::{self, Metric};
use crate::payload;
use crate::provider::{IdempotencyKey, Provider, ProviderEvent};
use crate::quarantine::{self, HOLD_DEADLINE, Held, Hold, NoQuarantine};
use crate::refusal::Refusal;
use crate::secret::VersionedSecret;
use crate::secrets::{Refresh, SecretSource};
use crate::store::{self, EventRecord, EventStore, Promotion};
use crate::verify::{Verified, VerifyError};

/// Event code of an authentic body that is not the provider's model.
pub const UNPARSED: &str = "unparsed";

/// A provider's endpoints, each with its secrets, wired to the store and the quarantine.
#[derive(Debug)]
pub struct Pipeline<P, S, E, H = NoQuarantine> {
    /// [`endpoint::DEFAULT`] first.
    endpoints: Vec<Endpoint<P, S>>,
    store: E,
    quarantine: H,
    max_body_bytes: usize,
    clock: Clock,
}

/// One endpoint of a provider: its name, the provider with this endpoint's settings, and the
/// endpoint's own secrets.
#[derive(Debug)]
struct Endpoint<P, S> {
    name: String,
    provider: P,
    secrets: S,
}

impl<P: Provider, S: SecretSource, E: EventStore> Pipeline<P, S, E> {
    /// A pipeline of the endpoint [`endpoint::DEFAULT`] (`provider` with `secrets`), with the
    /// system clock and no quarantine.
    pub fn new(provider: P, secrets: S, store: E, max_body_bytes: usize) -> Self {
        Self {
            endpoints: vec![Endpoint {
                name: endpoint::DEFAULT.to_owned(),
                provider,
                secrets,
            }],
            store,
            quarantine: NoQuarantine,
            max_body_bytes,
            clock: Clock::System,
        }
    }
}

impl<P: Provider, S: SecretSource, E: EventStore, H: Hold> Pipeline<P, S, E, H> {
    /// The same pipeline keeping refused deliveries in `quarantine`.
    pub fn with_quarantine<Q: Hold>(self, quarantine: Q) -> Pipeline<P, S, E, Q> {
        Pipeline {
            endpoints: self.endpoints,
            store: self.store,
            quarantine,
            max_body_bytes: self.max_body_bytes,
            clock: self.clock,
        }
    }

    /// The same pipeline with one more endpoint, `name` (checked by
    /// [`crate::endpoint::Endpoints::from_env`]), verified by `provider` against `secrets`.
    #[must_use]
    pub fn with_endpoint(mut self, name: &str, provider: P, secrets: S) -> Self {
        self.endpoints.push(Endpoint {
            name: name.to_owned(),
            provider,
            secrets,
        });
        self
    }

    /// The same pipeline reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The store, for tests that inspect what was written.
    pub fn store(&self) -> &E {
        &self.store
    }

    /// The quarantine, for tests that inspect what was held.
    pub fn quarantine(&self) -> &H {
        &self.quarantine
    }

    /// Handles one request within [`MAX_REQUEST_TIME`].
    pub async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.handle_within(request, Budget::from_now(MAX_REQUEST_TIME))
            .await
    }

    /// Handles one request; every AWS call it makes ends within `budget`. Every outcome is a
    /// response: expected failures are small JSON errors, never an `Err` that API Gateway would
    /// turn into an opaque 500.
    pub async fn handle_within(&self, request: HttpRequest, budget: Budget) -> HttpResponse {
        let provider = P::NAME;
        let request_id = request
            .request_context
            .request_id
            .clone()
            .unwrap_or_default();
        let shape = request.shape();
        metrics::record(Metric::Requests, 1.0);
        // Before anything else, and with no AWS call: a made-up name costs nothing.
        let name = endpoint::in_path(request.path(), P::NAME);
        let endpoint = self.endpoints.iter().find(|known| known.name == name);
        if let Some(endpoint) = endpoint
            && self.endpoints.len() > 1
        {
            metrics::record_endpoint(&endpoint.name);
        }
        // A made-up name is logged as asked for, cut short.
        let asked: String;
        let endpoint_name = if let Some(endpoint) = endpoint {
            endpoint.name.as_str()
        } else {
            asked = name.chars().take(2 * endpoint::MAX_NAME_BYTES).collect();
            &asked
        };
        let stored = match endpoint {
            Some(endpoint) => {
                self.store_event(endpoint, request, &request_id, budget)
                    .await
            }
            None => Err(Refusal::UnknownEndpoint),
        };
        let response = stored
            .unwrap_or_else(|refusal| {
                refusal.record();
                refusal.response()
            })
            .in_shape(shape);
        if response.status_code >= 400 {
            tracing::warn!(
                provider,
                endpoint = endpoint_name,
                request_id,
                status = response.status_code,
                outcome = %response.body,
                "webhook refused"
            );
        }
        response
    }

    async fn store_event(
        &self,
        endpoint: &Endpoint<P, S>,
        mut request: HttpRequest,
        request_id: &str,
        budget: Budget,
    ) -> Result<HttpResponse, Refusal> {
        if request.method() != Method::POST {
            return Err(Refusal::MethodNotAllowed);
        }
        let body = self.raw_body(request.body.take(), request.is_base64_encoded)?;
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 bytes
        metrics::record(Metric::BodyBytes, body.len() as f64);
        let headers = request.header_map();
        let received_at_ms = self.clock.now_ms();
        let source_ip = request.source_ip();
        let arrival = Arrival {
            endpoint: &endpoint.name,
            received_at_ms,
            request_id,
            source_ip: source_ip.as_deref(),
        };

        let now = received_at_ms.div_euclid(1000);
        let verified = match self
            .authenticate(endpoint, &body, &headers, now, budget)
            .await
        {
            Ok(verified) => verified,
            Err(Unverified {
                refusal,
                miss: Some(miss),
            }) if quarantine::holds(miss) => {
                self.hold(&endpoint.provider, miss, &body, &headers, &arrival, budget)
                    .await;
                return Err(refusal);
            }
            Err(Unverified { refusal, .. }) => return Err(refusal),
        };
        let provider = &endpoint.provider;
        let content = match read_content(provider, &body) {
            Ok(content) => content,
            Err(error) => {
                if quarantine::holds(error) {
                    self.hold(provider, error, &body, &headers, &arrival, budget)
                        .await;
                }
                return Err(error.into());
            }
        };
        let signature = provider.audit_signature(&headers);
        let record = event_record(provider, body, content, verified, signature, &arrival);

        match store::put_counted(&self.store, &record, budget).await {
            Ok(outcome) => {
                tracing::info!(
                    provider = P::NAME,
                    endpoint = %record.endpoint,
                    event_code = %record.event_code,
                    key = %record.idempotency_key,
                    request_id,
                    secret_version = record.secret_version.label(),
                    body_bytes = record.body.len(),
                    outcome = outcome.status(),
                    "webhook accepted"
                );
                Ok(HttpResponse::json(
                    outcome.http_status(),
                    &json!({ "status": outcome.status(), "key": record.idempotency_key }),
                ))
            }
            Err(error) => {
                tracing::error!(
                    provider = P::NAME,
                    endpoint = %record.endpoint,
                    event_code = %record.event_code,
                    key = %record.idempotency_key,
                    request_id,
                    error = %error,
                    "event could not be stored"
                );
                Err(Refusal::StorageUnavailable)
            }
        }
    }

    /// Keeps a delivery no current secret matched, so that it can be verified again later. The
    /// answer is `401` whatever happens here.
    async fn hold(
        &self,
        provider: &P,
        error: VerifyError,
        body: &[u8],
        headers: &http::HeaderMap,
        arrival: &Arrival<'_>,
        budget: Budget,
    ) {
        let credentials = provider.held_credentials(headers);
        if credentials.is_empty() {
            return;
        }
        let held = Held::new(
            P::NAME,
            arrival.endpoint,
            error,
            arrival.received_at_ms,
            arrival.request_id,
            arrival.source_ip,
            body,
            credentials,
        );
        match self
            .quarantine
            .hold(&held, budget.capped(HOLD_DEADLINE))
            .await
        {
            Ok(()) => {
                metrics::record(Metric::Quarantined, 1.0);
                tracing::info!(
                    provider = P::NAME,
                    request_id = arrival.request_id,
                    reason = error.reason(),
                    held = %held.key(),
                    "refused delivery quarantined"
                );
            }
            Err(why) => tracing::debug!(
                provider = P::NAME,
                request_id = arrival.request_id,
                reason = error.reason(),
                why = %why,
                "refused delivery not quarantined"
            ),
        }
    }

    /// The exact bytes that arrived: base64-decoded when API Gateway encoded them, and within
    /// the size cap.
    fn raw_body(&self, body: Option<String>, base64: bool) -> Result<Vec<u8>, Refusal> {
        let text = body.unwrap_or_default();
        if base64 {
            // Reject before decoding what could not fit anyway.
            if text.len() / 4 * 3 > self.max_body_bytes.saturating_add(3) {
                return Err(Refusal::BodyTooLarge);
            }
            let body = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| Refusal::InvalidBodyEncoding)?;
            if body.len() > self.max_body_bytes {
                return Err(Refusal::BodyTooLarge);
            }
            Ok(body)
        } else if text.len() > self.max_body_bytes {
            Err(Refusal::BodyTooLarge)
        } else {
            Ok(text.into_bytes())
        }
    }

    /// Verifies against the cached secrets; on a mismatch, once more against freshly loaded
    /// secrets (a rotation made minutes ago) before refusing.
    async fn authenticate(
        &self,
        endpoint: &Endpoint<P, S>,
        body: &[u8],
        headers: &http::HeaderMap,
        now: i64,
        budget: Budget,
    ) -> Result<Verified, Unverified> {
        let provider = &endpoint.provider;
        let secrets = match budget.run(endpoint.secrets.secrets()).await {
            Some(Ok(secrets)) => secrets,
            Some(Err(error)) => {
                tracing::error!(provider = P::NAME, endpoint = %endpoint.name, error = %error, "no secret to verify with");
                return Err(Refusal::SecretsUnavailable.into());
            }
            None => {
                tracing::error!(provider = P::NAME, endpoint = %endpoint.name, "no secret within the request's time");
                return Err(Refusal::SecretsUnavailable.into());
            }
        };
        match provider.authenticate(&secrets, body, headers, now) {
            Ok(verified) => Ok(verified),
            Err(error)
                if error.is_secret_miss() && provider.worth_a_refresh(&secrets, body, headers) =>
            {
                self.refreshed(endpoint, error, body, headers, now, budget)
                    .await
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Verifies again against freshly loaded secrets after `error`, a miss: `503` (and held)
    /// when the store cannot be reached.
    async fn refreshed(
        &self,
        endpoint: &Endpoint<P, S>,
        error: VerifyError,
        body: &[u8],
        headers: &http::HeaderMap,
        now: i64,
        budget: Budget,
    ) -> Result<Verified, Unverified> {
        let provider = &endpoint.provider;
        match budget
            .run(endpoint.secrets.refresh_after_miss())
            .await
            .unwrap_or(Refresh::Unavailable)
        {
            Refresh::Changed(fresh) => provider
                .authenticate(&fresh, body, headers, now)
                .map_err(Unverified::from),
            Refresh::Unchanged => Err(error.into()),
            // It may be signed with a secret rotated while the store was unreachable:
            // `503`, and held like a miss, so that it is not lost if the provider never
            // retries.
            Refresh::Unavailable => {
                tracing::error!(
                    provider = P::NAME,
                    endpoint = %endpoint.name,
                    "secret store unreachable after a verification miss"
                );
                Err(Unverified {
                    refusal: Refusal::SecretsUnavailable,
                    miss: Some(error),
                })
            }
        }
    }
}

/// Why a request was not verified: the answer, and the check that failed when it failed one.
#[derive(Debug, Clone, Copy)]
struct Unverified {
    refusal: Refusal,
    miss: Option<VerifyError>,
}

impl From<Refusal> for Unverified {
    fn from(refusal: Refusal) -> Self {
        Self {
            refusal,
            miss: None,
        }
    }
}

impl From<VerifyError> for Unverified {
    fn from(error: VerifyError) -> Self {
        Self {
            refusal: error.into(),
            miss: Some(error),
        }
    }
}

/// Where, when and from where a delivery arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The endpoint it came to.
    pub endpoint: &'a str,
    /// Receive time, unix milliseconds.
    pub received_at_ms: i64,
    /// API Gateway's request id.
    pub request_id: &'a str,
    /// The caller's IP.
    pub source_ip: Option<&'a str>,
}

/// An authentic body as the provider's content checks read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The body as JSON, when it is JSON ([`payload::parse`]).
    pub payload: Option<Value>,
    /// The JSON has a key twice ([`payload::has_repeated_keys`]).
    pub ambiguous_json: bool,
}

/// Reads an authentic body and runs the provider's content checks on it: a body with a repeated
/// key when the provider refuses those ([`Provider::refuses_ambiguous_json`]), then
/// [`Provider::accept`]. One function for a delivery on arrival and a quarantined one promoted.
///
/// # Errors
/// Why the content is refused.
pub fn read_content<P: Provider>(provider: &P, body: &[u8]) -> Result<Content, VerifyError> {
    let payload = payload::parse(body);
    let ambiguous_json = payload.is_some() && payload::has_repeated_keys(body);
    if ambiguous_json && provider.refuses_ambiguous_json() {
        return Err(VerifyError::AmbiguousJson);
    }
    provider.accept(payload.as_ref())?;
    Ok(Content {
        payload,
        ambiguous_json,
    })
}

/// The record of an authentic body whose [`Content`] passed the provider's checks
/// ([`read_content`]): its event model, its idempotency key. One function for a delivery on
/// arrival and for a quarantined one promoted later, so both are stored alike.
pub fn event_record<P: Provider>(
    provider: &P,
    body: Vec<u8>,
    content: Content,
    verified: Verified,
    signature: Option<String>,
    arrival: &Arrival<'_>,
) -> EventRecord {
    let Content {
        payload,
        ambiguous_json,
    } = content;
    let event = payload.as_ref().and_then(|json| provider.parse(json));

    let body_sha256 = hex::encode(Sha256::digest(&body));
    // One signed message, one key: Amani's key is the hash of what its signature covers.
    let message_sha256 = verified.message_sha256.map(hex::encode);
    let content_sha256 = message_sha256
        .clone()
        .unwrap_or_else(|| body_sha256.clone());
    let (event_code, idempotency_key, subject, provider_time) = match &event {
        Some(event) => (
            event.code().to_owned(),
            match event.idempotency_key() {
                IdempotencyKey::Id(id) => id,
                IdempotencyKey::BodyHash => content_sha256,
                IdempotencyKey::RequestId => arrival.request_id.to_owned(),
            },
            event.subject().map(str::to_owned),
            event.provider_time(),
        ),
        None => (UNPARSED.to_owned(), content_sha256, None, None),
    };
    EventRecord {
        provider: P::NAME.to_owned(),
        endpoint: arrival.endpoint.to_owned(),
        idempotency_key,
        event_code,
        ambiguous_json,
        subject,
        provider_time,
        received_at_ms: arrival.received_at_ms,
        request_id: arrival.request_id.to_owned(),
        source_ip: arrival.source_ip.map(str::to_owned),
        secret_version: verified.version,
        signature,
        body_sha256,
        message_sha256,
        payload,
        body,
        promoted: None,
    }
}

/// A quarantined delivery verified again and made an event (`webhooks quarantine promote`),
/// for any provider behind a trait object.
pub trait Promote: Send + Sync {
    /// The event `held` is, when one of `secrets` proves it (Alocity's signed time checked
    /// against the receive time), recording that it was promoted at `now_ms`.
    ///
    /// # Errors
    /// It is still not authentic, or its body is unreadable: a one-line reason.
    fn promote(
        &self,
        secrets: &[VersionedSecret],
        held: &Held,
        now_ms: i64,
    ) -> Result<EventRecord, PromoteError>;
}

/// Why a held delivery is not promoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    /// No candidate secret proves it (or its content is refused).
    #[error("not authentic: {}", .0.reason())]
    NotAuthentic(VerifyError),
    /// The object is not a delivery of this provider, or is damaged.
    #[error("{0}")]
    Unreadable(String),
}

impl<P: Provider> Promote for P {
    fn promote(
        &self,
        secrets: &[VersionedSecret],
        held: &Held,
        now_ms: i64,
    ) -> Result<EventRecord, PromoteError> {
        if held.provider != P::NAME {
            return Err(PromoteError::Unreadable(format!(
                "held for {}, not {}",
                held.provider,
                P::NAME
            )));
        }
        let body = held.body().map_err(PromoteError::Unreadable)?;
        let verified = self
            .verify_held(
                secrets,
                &body,
                &held.credentials,
                held.received_at_ms.div_euclid(1000),
            )
            .map_err(PromoteError::NotAuthentic)?;
        let content = read_content(self, &body).map_err(PromoteError::NotAuthentic)?;
        let signature = self.audit_signature(&held.credentials.header_map());
        let arrival = Arrival {
            endpoint: &held.endpoint,
            received_at_ms: held.received_at_ms,
            request_id: &held.request_id,
            source_ip: held.source_ip.as_deref(),
        };
        let mut record = event_record(self, body, content, verified, signature, &arrival);
        record.promoted = Some(Promotion {
            at_ms: now_ms,
            reason: held.reason.clone(),
        });
        Ok(record)
    }
}
