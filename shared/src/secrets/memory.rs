//! A fixed, in-memory [`SecretSource`] for tests and examples.

use std::sync::{Mutex, PoisonError};

use super::{Refresh, SecretError, SecretSet, SecretSource};
use crate::secret::VersionedSecret;

/// Serves the secrets it was given; can be told to fail.
#[derive(Debug)]
pub struct MemorySecrets {
    secrets: Mutex<Result<SecretSet, SecretError>>,
}

impl MemorySecrets {
    /// Serves `secrets`.
    pub fn new(secrets: impl Into<Vec<VersionedSecret>>) -> Self {
        Self {
            secrets: Mutex::new(Ok(secrets.into().into())),
        }
    }

    /// Always fails with `error`.
    pub fn failing(error: SecretError) -> Self {
        Self {
            secrets: Mutex::new(Err(error)),
        }
    }
}

impl SecretSource for MemorySecrets {
    async fn secrets(&self) -> Result<SecretSet, SecretError> {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn refresh_after_miss(&self) -> Refresh {
        Refresh::Unchanged
    }
}
