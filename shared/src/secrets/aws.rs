//! Secrets Manager as the secret store: `GetSecretValue` for `AWSCURRENT` and `AWSPREVIOUS`.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::{FetchSecrets, SecretError};
use crate::secret::{SecretVersion, VersionedSecret};

/// Fetches one secret's current and previous versions. The value is the provider's secret as
/// plain text (`SecretString`). `AWSPREVIOUS` is a candidate only within the grace period after
/// `AWSCURRENT` was created: a leaked value replaced by `put-secret-value` stops verifying then,
/// without waiting for another rotation.
#[derive(Debug, Clone)]
pub struct SecretsManagerFetcher {
    client: Client,
    secret_id: String,
    deadline: Duration,
    previous_grace: Duration,
}

/// One stage's value and when that version was created (unix seconds, when the store says).
type Staged = (VersionedSecret, Option<i64>);

impl SecretsManagerFetcher {
    /// Default bound on one fetch, retries included: with the store's deadline it must leave
    /// the answer inside the function timeout (5 s) and FACEIO's 6 s when Secrets Manager hangs.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(800);

    /// Default time `AWSPREVIOUS` stays a candidate after `AWSCURRENT` was created.
    pub const DEFAULT_PREVIOUS_GRACE: Duration = Duration::from_secs(24 * 3600);

    /// A fetcher for `secret_id` (name or ARN).
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            deadline: Self::DEFAULT_DEADLINE,
            previous_grace: Self::DEFAULT_PREVIOUS_GRACE,
        }
    }

    /// The same fetcher with `grace` for `AWSPREVIOUS`.
    #[must_use]
    pub fn with_previous_grace(mut self, grace: Duration) -> Self {
        self.previous_grace = grace;
        self
    }

    async fn stage(&self, version: SecretVersion) -> Result<Option<Staged>, SecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(version.label())
            .send()
            .await;
        match answer {
            Ok(output) => {
                let what = format!("{} {}", self.secret_id, version.label());
                let value =
                    secret_text(output.secret_string.as_deref().unwrap_or_default(), &what)?;
                Ok(Some((
                    VersionedSecret {
                        version,
                        secret: crate::secret::Secret::new(value),
                    },
                    output.created_date.map(|created| created.secs()),
                )))
            }
            Err(SdkError::ServiceError(failure))
                if failure.err().is_resource_not_found_exception() =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(&error)),
        }
    }
}

/// Whether `AWSPREVIOUS` is still a candidate at `now` (unix seconds): within `grace` after
/// `AWSCURRENT` was created, or when the store did not say when that was.
pub fn previous_in_grace(current_created: Option<i64>, now: i64, grace: Duration) -> bool {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    current_created.is_none_or(|created| now.saturating_sub(created) < grace)
}

/// The provider's secret in a `SecretString` (`what` names it in messages, never the value):
/// white space around it is dropped with a warning (a value pasted with its line break would
/// otherwise make every request a `401`); an empty value, or a JSON object (the console's
/// key/value form), is refused: the value must be the provider's secret itself, as plain text.
///
/// # Errors
/// [`SecretError::NotUsable`] for an empty value or a JSON object.
pub fn secret_text(value: &str, what: &str) -> Result<String, SecretError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(SecretError::NotUsable(format!(
            "{what} has no SecretString"
        )));
    }
    if trimmed.starts_with('{')
        && serde_json::from_str::<serde_json::Value>(trimmed).is_ok_and(|json| json.is_object())
    {
        return Err(SecretError::NotUsable(format!(
            "{what} is a JSON key/value object; store the provider's secret itself as plain text"
        )));
    }
    if trimmed.len() != value.len() {
        tracing::warn!(
            secret = what,
            "the secret has white space around it; it is used without"
        );
    }
    Ok(trimmed.to_owned())
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
        let (current, created) = current?.ok_or_else(|| {
            SecretError::NotUsable(format!("{} has no AWSCURRENT version", self.secret_id))
        })?;
        let mut secrets = vec![current];
        match previous {
            Ok(Some((previous, _)))
                if previous_in_grace(
                    created,
                    crate::clock::now_ms() / 1000,
                    self.previous_grace,
                ) =>
            {
                secrets.push(previous);
            }
            Ok(Some(_)) => tracing::info!(
                secret = %self.secret_id,
                grace_secs = self.previous_grace.as_secs(),
                "AWSPREVIOUS not accepted: AWSCURRENT is older than the grace period"
            ),
            Ok(None) => {}
            // The current version alone still verifies almost every request.
            Err(error) => tracing::warn!(error = %error, "AWSPREVIOUS could not be read"),
        }
        Ok(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_around_a_secret_is_dropped_and_a_json_object_refused() {
        assert_eq!(secret_text("s3cret\n", "x").unwrap(), "s3cret");
        assert_eq!(secret_text("  s3cret \r\n", "x").unwrap(), "s3cret");
        assert_eq!(secret_text("s3 cret", "x").unwrap(), "s3 cret");
        assert_eq!(secret_text("{not json", "x").unwrap(), "{not json");
        for refused in ["", " \n", r#"{"token":"s3cret"}"#, " {\"a\":1}\n"] {
            let error = secret_text(refused, "webhooks/faceio AWSCURRENT").unwrap_err();
            assert!(matches!(error, SecretError::NotUsable(_)), "{refused:?}");
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn the_previous_version_is_a_candidate_only_within_the_grace_period() {
        let day = Duration::from_secs(86_400);
        let created = 1_795_000_000;
        assert!(previous_in_grace(Some(created), created + 10, day));
        assert!(previous_in_grace(Some(created), created + 86_399, day));
        assert!(!previous_in_grace(Some(created), created + 86_400, day));
        assert!(!previous_in_grace(
            Some(created),
            created + 400 * 86_400,
            day
        ));
        assert!(previous_in_grace(None, created, day));
        assert!(!previous_in_grace(Some(created), created, Duration::ZERO));
    }
}
