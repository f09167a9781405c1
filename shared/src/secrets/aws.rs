//! Secrets Manager as the secret store: `GetSecretValue` for `AWSCURRENT` and `AWSPREVIOUS`.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::{FetchSecrets, SecretError};
use crate::secret::{SecretVersion, VersionedSecret};

/// Fetches one secret's current and previous versions. The value is the provider's secret as
/// plain text (`SecretString`).
#[derive(Debug, Clone)]
pub struct SecretsManagerFetcher {
    client: Client,
    secret_id: String,
    deadline: Duration,
}

impl SecretsManagerFetcher {
    /// Default bound on one fetch, retries included: with the store's deadline it must leave
    /// the answer inside the function timeout (5 s) and FACEIO's 6 s when Secrets Manager hangs.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(800);

    /// A fetcher for `secret_id` (name or ARN).
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            deadline: Self::DEFAULT_DEADLINE,
        }
    }

    async fn stage(&self, version: SecretVersion) -> Result<Option<VersionedSecret>, SecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(version.label())
            .send()
            .await;
        match answer {
            Ok(output) => match output.secret_string {
                Some(value) if !value.is_empty() => Ok(Some(VersionedSecret {
                    version,
                    secret: crate::secret::Secret::new(value),
                })),
                _ => Err(SecretError::NotUsable(format!(
                    "{} {} has no SecretString",
                    self.secret_id,
                    version.label()
                ))),
            },
            Err(SdkError::ServiceError(failure))
                if failure.err().is_resource_not_found_exception() =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(&error)),
        }
    }
}

fn classify(error: &SdkError<GetSecretValueError>) -> SecretError {
    // The SDK error's display carries no secret material: names, codes and messages only.
    let text = DisplayErrorContext(error).to_string();
    match error {
        SdkError::ServiceError(failure)
            if !failure.err().is_internal_service_error()
                && failure.raw().status().is_client_error() =>
        {
            SecretError::NotUsable(text)
        }
        _ => SecretError::Unavailable(text),
    }
}

impl FetchSecrets for SecretsManagerFetcher {
    async fn fetch(&self) -> Result<Vec<VersionedSecret>, SecretError> {
        let both = async {
            tokio::join!(
                self.stage(SecretVersion::Current),
                self.stage(SecretVersion::Previous)
            )
        };
        let (current, previous) =
            tokio::time::timeout(self.deadline, both)
                .await
                .map_err(|_| {
                    SecretError::Unavailable(format!(
                        "no answer within {} ms",
                        self.deadline.as_millis()
                    ))
                })?;
        let current = current?.ok_or_else(|| {
            SecretError::NotUsable(format!("{} has no AWSCURRENT version", self.secret_id))
        })?;
        let mut secrets = vec![current];
        match previous {
            Ok(Some(previous)) => secrets.push(previous),
            Ok(None) => {}
            // The current version alone still verifies almost every request.
            Err(error) => tracing::warn!(error = %error, "AWSPREVIOUS could not be read"),
        }
        Ok(secrets)
    }
}
