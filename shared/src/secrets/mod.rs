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

    /// Called after a request failed to verify: reloads the secrets if a reload is allowed now,
    /// so a rotation made minutes ago does not cause a `401`.
    fn refresh_after_miss(&self) -> impl Future<Output = Refresh> + Send;
}

/// What a refresh after a verification miss found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// New secrets, different from the ones the request failed against: verify again.
    Changed(SecretSet),
    /// The secrets are unchanged, or a refresh was made recently: the request is not authentic.
    Unchanged,
    /// The secret store could not be reached (now, or at the last attempt within the refresh
    /// interval): whether the request is authentic cannot be decided, so the provider should
    /// retry (`503`) rather than have a real event refused.
    Unavailable,
}
