//! Bodies too large for a DynamoDB item (400 KB, attribute names included) live in S3.
//!
//! An Alocity Selfie `Template` event carries the enrolment photo as base64 and can be megabytes.
//! Such a body is written to the bucket first, under a key derived from its SHA-256
//! (`<provider>/<sha256>`), and the item then records where it is; the item is written only after
//! the object is, so an item never points at a missing body. The key is content-addressed, so a
//! retried or duplicate delivery writes the same object again instead of a second one, and a
//! conflicting body (same event key, other bytes) gets its own object.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;

use super::event::StoreError;
use crate::error::error_chain;

/// Default `PAYLOAD_OFFLOAD_BYTES`: bodies larger than this go to the bucket. Well under the
/// 400 KB item limit, leaving room for the other attributes (signature header, ids, times).
pub const DEFAULT_OFFLOAD_BYTES: usize = 256 * 1024;

/// Where an offloaded body is: the item's `body_s3_bucket` and `body_s3_key`
/// ([`super::schema::attr`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BodyLocation {
    /// The bucket.
    pub bucket: String,
    /// The object key, `<provider>/<sha256>`.
    pub key: String,
}

impl std::fmt::Display for BodyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl BodyLocation {
    /// The object key of a body of `provider` with lower-case hex SHA-256 `sha256`. Each
    /// function may write under its own `<provider>/` prefix only (template.yaml).
    pub fn key(provider: &str, sha256: &str) -> String {
        format!("{provider}/{sha256}")
    }
}

/// An S3 client for `config`. Against a local endpoint (`AWS_ENDPOINT_URL`, as in `make dev`)
/// buckets are addressed by path: `http://127.0.0.1:port/<bucket>/<key>` instead of a bucket
/// host name that does not resolve.
pub fn s3_client(config: &aws_config::SdkConfig) -> Client {
    let local = config.endpoint_url().is_some();
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(local)
            .build(),
    )
}

/// The bucket that takes large bodies, and the size from which a body goes there.
#[derive(Debug, Clone)]
pub struct BodyBucket {
    client: Client,
    bucket: String,
    threshold: usize,
}

impl BodyBucket {
    /// Bodies over `threshold` bytes go to `bucket`.
    pub fn new(client: Client, bucket: impl Into<String>, threshold: usize) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            threshold,
        }
    }

    /// Whether a body of `size` bytes goes to the bucket.
    pub fn takes(&self, size: usize) -> bool {
        size > self.threshold
    }

    /// Writes `body` (of `provider`, with hex SHA-256 `sha256`) and says where it is. S3 checks
    /// the bytes it received against the SHA-256 we computed before verifying the signature. The
    /// write is conditional (`If-None-Match: *`): an object already under the key (named by the
    /// body's hash: a retry or a duplicate) is never overwritten, and `412` means it is there.
    ///
    /// # Errors
    /// Any failure is [`StoreError::Unavailable`]: the item is not written, the provider retries.
    pub async fn put(
        &self,
        provider: &str,
        sha256: &str,
        body: &[u8],
    ) -> Result<BodyLocation, StoreError> {
        let key = BodyLocation::key(provider, sha256);
        let digest = hex::decode(sha256)
            .map_err(|_| StoreError::Unavailable(format!("body hash {sha256:?} is not hex")))?;
        let written = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(body.to_vec()))
            .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
            .if_none_match("*")
            .send()
            .await;
        match written {
            Err(error) if !already_there(&error) => {
                return Err(StoreError::Unavailable(format!(
                    "PutObject to bucket {} failed: {}",
                    self.bucket,
                    DisplayErrorContext(&error)
                )));
            }
            _ => {}
        }
        Ok(BodyLocation {
            bucket: self.bucket.clone(),
            key,
        })
    }
}

/// Whether a conditional `PutObject` failed because the key is taken (`412 Precondition
/// Failed`): the object is there.
pub fn already_there<E>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    error
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 412)
}

/// Reads an offloaded body back (the `webhooks` CLI and the tamper audit); `None` when the
/// object no longer exists (expired by the bucket's lifecycle, or deleted).
///
/// # Errors
/// The object could not be read: a one-line reason.
pub async fn get_body(client: &Client, location: &BodyLocation) -> Result<Option<Vec<u8>>, String> {
    let output = match client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .send()
        .await
    {
        Ok(output) => output,
        Err(SdkError::ServiceError(failure)) if failure.err().is_no_such_key() => return Ok(None),
        Err(other) => {
            return Err(format!(
                "GetObject {location} failed: {}",
                error_chain(&other)
            ));
        }
    };
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|error| format!("reading {location} failed: {error}"))?;
    Ok(Some(bytes.into_bytes().to_vec()))
}
