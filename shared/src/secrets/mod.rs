//! Where the candidate secrets come from. The trait is as narrow as the IAM grant: read the
//! current (and previous) version of one secret.

pub mod aws;
mod cache;
pub mod memory;

use std::future::Future;
use std::sync::Arc;

use crate::secret::VersionedSecret;

pub use aws::SecretsManagerFetcher;
pub use cache::{CachedSecrets, FetchSecrets};
pub use memory::MemorySecrets;

/// The candidates a request is checked against, current first.
pub type SecretSet = Arc<[VersionedSecret]>;

/// No secret could be had: the request cannot be judged, so the provider must retry (`503`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret store did not answer.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    /// The secret does not exist, or has no usable text value.
    #[error("secret not usable: {0}")]
    NotUsable(String),
}

/// A source of candidate secrets for one provider.
pub trait SecretSource: Send + Sync {
    /// The candidates to verify against.
    fn secrets(&self) -> impl Future<Output = Result<SecretSet, SecretError>> + Send;

    /// Called after a request failed to verify: reloads the secrets if a reload is allowed now
    /// and returns them when they differ from what was used, so a rotation made minutes ago
    /// does not cause a `401`.
    fn refresh_after_miss(&self) -> impl Future<Output = Option<SecretSet>> + Send;
}
