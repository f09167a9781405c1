//! The quarantine: deliveries refused because no *current* secret matched them
//! (`signature_mismatch`, `token_mismatch`, `wrong_app`) are kept, so that when the secret was
//! wrong (a placeholder not yet replaced, a rotation done at the provider first) the real events
//! can be verified again and stored later (`webhooks quarantine promote`).
//!
//! A held delivery is one S3 object in the body bucket, under `quarantine/<provider>/` (a
//! lifecycle rule expires the prefix, 14 days by default). It is never an event: it is not in
//! the table, its indexes or its stream. It keeps what a later verification needs — the body, the
//! signature headers as they arrived, the receive time — and of a presented token only its
//! SHA-256, compared in constant time with the hash of each candidate secret later.
//!
//! Holding is bounded per function instance ([`Limiter`]): so many objects and bytes per
//! minute, so a flood of forged requests costs a known, small amount.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use crate::budget::Budget;
use crate::error::error_chain;
use crate::store::schema::utc_day;
use crate::verify::{VerifyError, joined_header};

/// Where every held delivery is, in the body bucket.
pub const PREFIX: &str = "quarantine/";

/// Version of the object format.
const FORMAT: u32 = 1;

/// Default `QUARANTINE_PER_MINUTE`: objects one instance may hold per minute.
pub const DEFAULT_PER_MINUTE: u64 = 120;
/// Default `QUARANTINE_BYTES_PER_MINUTE`: body bytes one instance may hold per minute.
pub const DEFAULT_BYTES_PER_MINUTE: u64 = 16 * 1024 * 1024;

/// Whether a refusal is one a later, right secret could turn into an event.
pub fn holds(error: VerifyError) -> bool {
    matches!(
        error,
        VerifyError::SignatureMismatch | VerifyError::TokenMismatch | VerifyError::WrongApp
    )
}

/// What a delivery presented to prove itself, in a form safe to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Signature headers (lower-case name → all values joined with `,`): HMAC schemes, whose
    /// signatures reveal nothing of the secret.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Lower-case hex SHA-256 of each presented token (token schemes): never the token.
    #[serde(default)]
    pub token_sha256: Vec<String>,
}

impl Credentials {
    /// Nothing to verify with later.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.token_sha256.is_empty()
    }

    /// What an HMAC scheme keeps: header `name`, all its values joined as verification joins
    /// them.
    pub fn signature(headers: &HeaderMap, name: &'static str) -> Self {
        let mut credentials = Self::default();
        if let Ok(Some(value)) = joined_header(headers, name, name) {
            credentials
                .headers
                .insert(name.to_owned(), value.into_owned());
        }
        credentials
    }

    /// What a token scheme keeps: the hash of each presented token.
    pub fn tokens<'t>(tokens: impl IntoIterator<Item = &'t str>) -> Self {
        Self {
            headers: BTreeMap::new(),
            token_sha256: tokens.into_iter().map(Self::token_hash).collect(),
        }
    }

    /// The hash kept of `token`.
    pub fn token_hash(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    /// The signature headers as a request's headers (a value HTTP cannot carry is left out).
    pub fn header_map(&self) -> HeaderMap {
        crate::http::header_map(&self.headers)
    }
}

/// One held delivery: the object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// Format version.
    pub v: u32,
    /// Provider short name.
    pub provider: String,
    /// The endpoint it came to (an object held before endpoints existed has none: `default`).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Why it was refused (`signature_mismatch`, `token_mismatch`, `wrong_app`).
    pub reason: String,
    /// When it arrived, unix milliseconds: Alocity's signed timestamp is checked against it.
    pub received_at_ms: i64,
    /// API Gateway's request id.
    pub request_id: String,
    /// The caller's IP.
    pub source_ip: Option<String>,
    /// Lower-case hex SHA-256 of the body.
    pub body_sha256: String,
    /// The body, standard base64.
    pub body_base64: String,
    /// What it presented.
    pub credentials: Credentials,
}

fn default_endpoint() -> String {
    crate::endpoint::DEFAULT.to_owned()
}

impl Held {
    /// A held delivery of `body` to `provider`'s `endpoint`, refused for `reason`.
    #[allow(clippy::too_many_arguments)] // one per field of what is kept
    pub fn new(
        provider: &str,
        endpoint: &str,
        reason: VerifyError,
        received_at_ms: i64,
        request_id: &str,
        source_ip: Option<&str>,
        body: &[u8],
        credentials: Credentials,
    ) -> Self {
        Self {
            v: FORMAT,
            provider: provider.to_owned(),
            endpoint: endpoint.to_owned(),
            reason: reason.reason().to_owned(),
            received_at_ms,
            request_id: request_id.to_owned(),
            source_ip: source_ip.map(str::to_owned),
            body_sha256: hex::encode(Sha256::digest(body)),
            body_base64: base64::engine::general_purpose::STANDARD.encode(body),
            credentials,
        }
    }

    /// The object key: `quarantine/<provider>/<YYYY-MM-DD>/<received_at_ms>-<16 hex of the body
    /// hash>.json`, so a listing is by provider, then day, then time.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}/{:013}-{}.json",
            PREFIX,
            self.provider,
            utc_day(self.received_at_ms),
            self.received_at_ms,
            self.body_sha256.get(..16).unwrap_or(&self.body_sha256)
        )
    }

    /// The prefix of every held delivery of `provider` (or of all, with `None`).
    pub fn prefix(provider: Option<&str>) -> String {
        provider.map_or_else(|| PREFIX.to_owned(), |name| format!("{PREFIX}{name}/"))
    }

    /// The body.
    ///
    /// # Errors
    /// It is not base64 (not an object this code wrote).
    pub fn body(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.body_base64)
            .map_err(|_| "the held body is not base64".into())
    }

    /// The object's content.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an object.
    ///
    /// # Errors
    /// Not a held delivery of this format.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let held: Self = serde_json::from_slice(bytes)
            .map_err(|error| format!("not a held delivery: {error}"))?;
        if held.v != FORMAT {
            return Err(format!("held delivery format {} is not {FORMAT}", held.v));
        }
        Ok(held)
    }
}

/// Where refused deliveries are kept.
pub trait Hold: Send + Sync {
    /// Keeps `held` within `budget`. Failures are logged by the caller; the answer is `401`
    /// either way.
    ///
    /// # Errors
    /// Over the limit, or the store failed: a one-line reason.
    fn hold(&self, held: &Held, budget: Budget) -> impl Future<Output = Result<(), String>> + Send;
}

/// No quarantine (`QUARANTINE=off`, or no bucket).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQuarantine;

impl Hold for NoQuarantine {
    async fn hold(&self, _held: &Held, _budget: Budget) -> Result<(), String> {
        Err("the quarantine is off".into())
    }
}

/// A quarantine that may be off.
impl<H: Hold> Hold for Option<H> {
    async fn hold(&self, held: &Held, budget: Budget) -> Result<(), String> {
        match self {
            Some(quarantine) => quarantine.hold(held, budget).await,
            None => NoQuarantine.hold(held, budget).await,
        }
    }
}

/// A token bucket of objects and bytes, refilled continuously to its capacity per minute.
#[derive(Debug)]
pub struct Limiter {
    per_minute: f64,
    bytes_per_minute: f64,
    state: Mutex<(f64, f64, Instant)>,
}

impl Limiter {
    /// At most `per_minute` objects and `bytes_per_minute` bytes a minute, with bursts of as
    /// much.
    #[allow(clippy::cast_precision_loss)]
    pub fn new(per_minute: u64, bytes_per_minute: u64) -> Self {
        let (count, bytes) = (per_minute as f64, bytes_per_minute as f64);
        Self {
            per_minute: count,
            bytes_per_minute: bytes,
            state: Mutex::new((count, bytes, Instant::now())),
        }
    }

    /// Takes one object of `size` bytes if both budgets allow it now.
    #[allow(clippy::cast_precision_loss)]
    pub fn take(&self, size: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, bytes, at) = &mut *state;
        let now = Instant::now();
        let minutes = now.duration_since(*at).as_secs_f64() / 60.0;
        *at = now;
        *count = (*count + minutes * self.per_minute).min(self.per_minute);
        *bytes = (*bytes + minutes * self.bytes_per_minute).min(self.bytes_per_minute);
        let size = size as f64;
        if *count >= 1.0 && *bytes >= size {
            *count -= 1.0;
            *bytes -= size;
            true
        } else {
            false
        }
    }
}

/// The quarantine in the body bucket.
#[derive(Debug)]
pub struct S3Quarantine {
    client: Client,
    bucket: String,
    limiter: Limiter,
}

impl S3Quarantine {
    /// Holds in `bucket`, within `limiter`.
    pub fn new(client: Client, bucket: impl Into<String>, limiter: Limiter) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            limiter,
        }
    }
}

impl Hold for S3Quarantine {
    async fn hold(&self, held: &Held, budget: Budget) -> Result<(), String> {
        let content = held.to_json();
        if !self.limiter.take(content.len()) {
            return Err("over the quarantine's rate limit; not held".into());
        }
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(held.key())
            .content_type("application/json")
            .body(ByteStream::from(content))
            // Never over an object already held under the key (same time, same body).
            .if_none_match("*")
            .send();
        match budget.run(put).await {
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) if crate::store::bodies::already_there(&error) => Ok(()),
            Some(Err(error)) => Err(format!(
                "PutObject to bucket {} failed: {}",
                self.bucket,
                DisplayErrorContext(&error)
            )),
            None => Err("the bucket did not answer in time".into()),
        }
    }
}

/// The keys of every held delivery under `prefix` ([`Held::prefix`]), oldest first.
///
/// # Errors
/// The listing failed: a one-line reason.
pub async fn list(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            format!(
                "ListObjectsV2 s3://{bucket}/{prefix} failed: {}",
                error_chain(&error)
            )
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_owned)),
        );
    }
    keys.sort();
    Ok(keys)
}

/// Reads one held delivery.
///
/// # Errors
/// The object could not be read or is not a held delivery.
pub async fn read(client: &Client, bucket: &str, key: &str) -> Result<Held, String> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| {
            format!(
                "GetObject s3://{bucket}/{key} failed: {}",
                error_chain(&error)
            )
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|error| format!("reading s3://{bucket}/{key} failed: {error}"))?;
    Held::from_json(&bytes.into_bytes())
}

/// Deletes a held delivery once it is stored as an event.
///
/// # Errors
/// The delete failed.
pub async fn remove(client: &Client, bucket: &str, key: &str) -> Result<(), String> {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(drop)
        .map_err(|error| {
            format!(
                "DeleteObject s3://{bucket}/{key} failed: {}",
                error_chain(&error)
            )
        })
}

/// How long a budget for holding may be: the answer is a `401` anyway, and must not wait long.
pub const HOLD_DEADLINE: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    fn held(body: &[u8]) -> Held {
        let mut credentials = Credentials::default();
        credentials
            .headers
            .insert("alocity-signature".into(), "t:1,sig:abc".into());
        credentials
            .token_sha256
            .push(Credentials::token_hash("tok"));
        Held::new(
            "alocity",
            "site-2",
            VerifyError::SignatureMismatch,
            1_764_000_000_123,
            "req-1",
            Some("203.0.113.9"),
            body,
            credentials,
        )
    }

    #[test]
    fn a_held_delivery_reads_back_and_is_keyed_by_provider_day_and_time() {
        let original = held(b"{\"Id\":\"e-1\"}");
        let back = Held::from_json(&original.to_json()).unwrap();
        assert_eq!(back, original);
        assert_eq!(back.endpoint, "site-2");
        let mut before_endpoints: serde_json::Value =
            serde_json::from_slice(&original.to_json()).unwrap();
        before_endpoints.as_object_mut().unwrap().remove("endpoint");
        let old = Held::from_json(before_endpoints.to_string().as_bytes()).unwrap();
        assert_eq!(old.endpoint, crate::endpoint::DEFAULT);
        assert_eq!(back.body().unwrap(), b"{\"Id\":\"e-1\"}");
        assert!(
            back.key()
                .starts_with("quarantine/alocity/2025-11-24/1764000000123-"),
            "{}",
            back.key()
        );
        assert_eq!(
            back.key().len(),
            "quarantine/alocity/2025-11-24/1764000000123-".len() + 16 + 5
        );
        assert_eq!(Held::prefix(Some("faceio")), "quarantine/faceio/");
        assert_eq!(Held::prefix(None), "quarantine/");
        assert!(Held::from_json(b"{}").is_err());
    }

    #[test]
    fn a_token_is_kept_as_its_hash_only() {
        let text = String::from_utf8(held(b"{}").to_json()).unwrap();
        // hashlib.sha256(b"tok").hexdigest()
        assert!(
            text.contains("\"1a7674eb4ee78df7e1ac439a93c3fa8e3c945784d4dec9fd8e3011738b2f1d62\""),
            "{text}"
        );
        assert!(!text.contains("\"tok\""), "{text}");
    }

    #[test]
    fn only_secret_misses_are_held() {
        for (error, held) in [
            (VerifyError::SignatureMismatch, true),
            (VerifyError::TokenMismatch, true),
            (VerifyError::WrongApp, true),
            (VerifyError::StaleTimestamp, false),
            (VerifyError::FutureTimestamp, false),
            (VerifyError::MissingHeader("x"), false),
            (VerifyError::MalformedHeader("x"), false),
        ] {
            assert_eq!(holds(error), held, "{error:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_allows_a_burst_then_its_rate() {
        let limiter = Limiter::new(6, 1000);
        assert_eq!((0..10).filter(|_| limiter.take(10)).count(), 6);
        // One object every ten seconds.
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(limiter.take(10));
        assert!(!limiter.take(10));
        // Bytes bound too: a full minute refills both, but not beyond the capacity.
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(!limiter.take(1001));
        assert!(limiter.take(1000));
        assert!(!limiter.take(1));
    }
}
