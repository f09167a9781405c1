//! The one request pipeline every function runs:
//! method → size → authenticate → parse → store → respond.

use base64::Engine as _;
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub use crate::clock::Clock;
use crate::http::{HttpRequest, HttpResponse};
use crate::provider::{IdempotencyKey, Provider, ProviderEvent};
use crate::refusal::Refusal;
use crate::secrets::{Refresh, SecretSource};
use crate::store::{EventRecord, EventStore};
use crate::verify::Verified;

/// Event code of an authentic body that is not the provider's model.
pub const UNPARSED: &str = "unparsed";

/// A provider wired to its secrets and its store.
#[derive(Debug)]
pub struct Pipeline<P, S, E> {
    provider: P,
    secrets: S,
    store: E,
    max_body_bytes: usize,
    clock: Clock,
}

impl<P: Provider, S: SecretSource, E: EventStore> Pipeline<P, S, E> {
    /// A pipeline with the system clock.
    pub fn new(provider: P, secrets: S, store: E, max_body_bytes: usize) -> Self {
        Self {
            provider,
            secrets,
            store,
            max_body_bytes,
            clock: Clock::System,
        }
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

    /// Handles one request. Every outcome is a response: expected failures are small JSON
    /// errors, never an `Err` that API Gateway would turn into an opaque 500.
    pub async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let provider = P::NAME;
        let request_id = request
            .request_context
            .request_id
            .clone()
            .unwrap_or_default();
        let response = self.run(request, &request_id).await;
        if response.status_code >= 400 {
            tracing::warn!(
                provider,
                request_id,
                status = response.status_code,
                outcome = %response.body,
                "webhook refused"
            );
        }
        response
    }

    async fn run(&self, request: HttpRequest, request_id: &str) -> HttpResponse {
        self.store_event(request, request_id)
            .await
            .unwrap_or_else(Refusal::response)
    }

    async fn store_event(
        &self,
        mut request: HttpRequest,
        request_id: &str,
    ) -> Result<HttpResponse, Refusal> {
        if request.method() != Method::POST {
            return Err(Refusal::MethodNotAllowed);
        }
        let body = self.raw_body(request.body.take(), request.is_base64_encoded)?;
        let headers = request.header_map();
        let received_at_ms = self.clock.now_ms();

        let verified = self
            .authenticate(&body, &headers, received_at_ms.div_euclid(1000))
            .await?;

        let payload: Option<Value> = serde_json::from_slice(&body).ok();
        self.provider.accept(payload.as_ref())?;
        let event = payload.as_ref().and_then(|json| self.provider.parse(json));

        let body_sha256 = hex::encode(Sha256::digest(&body));
        let (event_code, idempotency_key, subject, provider_time) = match &event {
            Some(event) => (
                event.code().to_owned(),
                match event.idempotency_key() {
                    IdempotencyKey::Id(id) => id,
                    IdempotencyKey::BodyHash => body_sha256.clone(),
                    IdempotencyKey::RequestId => request_id.to_owned(),
                },
                event.subject().map(str::to_owned),
                event.provider_time(),
            ),
            None => (UNPARSED.to_owned(), body_sha256.clone(), None, None),
        };
        let record = EventRecord {
            provider: P::NAME,
            idempotency_key,
            event_code,
            subject,
            provider_time,
            received_at_ms,
            request_id: request_id.to_owned(),
            source_ip: request.request_context.http.source_ip.clone(),
            secret_version: verified.version,
            signature: self.provider.audit_signature(&headers),
            body_sha256,
            payload,
            body,
        };

        match self.store.put_if_absent(&record).await {
            Ok(outcome) => {
                tracing::info!(
                    provider = P::NAME,
                    event_code = %record.event_code,
                    key = %record.idempotency_key,
                    request_id,
                    secret_version = record.secret_version.label(),
                    body_bytes = record.body.len(),
                    outcome = outcome.status(),
                    "webhook accepted"
                );
                Ok(HttpResponse::json(
                    200,
                    &json!({ "status": outcome.status(), "key": record.idempotency_key }),
                ))
            }
            Err(error) => {
                tracing::error!(
                    provider = P::NAME,
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
        body: &[u8],
        headers: &http::HeaderMap,
        now: i64,
    ) -> Result<Verified, Refusal> {
        let secrets = match self.secrets.secrets().await {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::error!(provider = P::NAME, error = %error, "no secret to verify with");
                return Err(Refusal::SecretsUnavailable);
            }
        };
        match self.provider.authenticate(&secrets, body, headers, now) {
            Ok(verified) => Ok(verified),
            Err(error) if error.is_secret_miss() => match self.secrets.refresh_after_miss().await {
                Refresh::Changed(fresh) => {
                    Ok(self.provider.authenticate(&fresh, body, headers, now)?)
                }
                Refresh::Unchanged => Err(error.into()),
                // It may be signed with a secret rotated while the store was unreachable:
                // have the provider retry rather than refuse a real event.
                Refresh::Unavailable => {
                    tracing::error!(
                        provider = P::NAME,
                        "secret store unreachable after a verification miss"
                    );
                    Err(Refusal::SecretsUnavailable)
                }
            },
            Err(error) => Err(error.into()),
        }
    }
}
