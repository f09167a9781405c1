//! Configuration from environment variables, read once at cold start. A bad value stops the
//! function with a message naming the variable, rather than failing requests later.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::quarantine::{DEFAULT_BYTES_PER_MINUTE, DEFAULT_PER_MINUTE};
use crate::store::bodies::DEFAULT_OFFLOAD_BYTES;

/// A configuration value that is missing or cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {name} {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: Cow<'static, str>,
    /// What is wrong with it.
    pub problem: String,
}

/// Where configuration values come from: the process environment, or a map in tests.
#[derive(Debug, Clone)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    /// Fixed values, for tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }

    /// The trimmed value of `name`, `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Every variable and its value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// When it is unset or blank.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| ConfigError {
                name: name.into(),
                problem: "is required but not set".into(),
            })
    }

    /// `name` parsed as `T`, or `default` when unset.
    ///
    /// # Errors
    /// When it is set but does not parse.
    pub fn parse_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|error: T::Err| ConfigError {
                name: name.into(),
                problem: format!("has value {text:?} which is not valid: {error}"),
            }),
        }
    }

    /// `name` as a positive whole number, or `default`.
    ///
    /// # Errors
    /// When it is set but is not a positive integer.
    pub fn positive_or(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        let value = self.parse_or(name, default)?;
        if value == 0 {
            return Err(ConfigError {
                name: name.into(),
                problem: "must be greater than zero".into(),
            });
        }
        Ok(value)
    }
}

impl Env {
    /// `name` as `on`/`off` (also `true`/`false`, `1`/`0`, any case), or `default` when unset.
    ///
    /// # Errors
    /// When it is set to anything else.
    pub fn switch(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1") => Ok(true),
            Some("off" | "false" | "0") => Ok(false),
            Some(other) => Err(ConfigError {
                name: name.into(),
                problem: format!("has value {other:?}; expected \"on\" or \"off\""),
            }),
        }
    }
}

/// The Secrets Manager secret a provider's function reads when `WEBHOOK_SECRET_ID` is not set.
pub fn default_secret_id(provider: &str) -> String {
    format!("webhooks/{provider}")
}

/// Settings every function shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `EVENTS_TABLE`: the DynamoDB table.
    pub events_table: String,
    /// `WEBHOOK_SECRET_ID`: the Secrets Manager secret (default `webhooks/<provider>`).
    pub secret_id: String,
    /// `SECRET_CACHE_TTL_SECS` (default 300).
    pub secret_cache_ttl: Duration,
    /// `STORE_DEADLINE_MS` (default 1900): total time for a put, retries included. With the two
    /// secret fetches (0.8 s each) and the queue's reserve (1 s) it adds up to the request budget
    /// (4.5 s), under the 5 s function timeout.
    pub store_deadline: Duration,
    /// `RETENTION_DAYS` (unset or 0 keeps events forever).
    pub retention_days: Option<u32>,
    /// `MAX_BODY_BYTES` (default 6 MiB, Lambda's own request limit).
    pub max_body_bytes: usize,
    /// `PAYLOAD_BUCKET`: the S3 bucket for bodies too large for a DynamoDB item. Unset: every
    /// body is kept in its item, and one over DynamoDB's item limit cannot be stored.
    pub payload_bucket: Option<String>,
    /// `PAYLOAD_OFFLOAD_BYTES` (default 256 KiB): bodies larger than this go to the bucket.
    pub payload_offload_bytes: usize,
    /// `FALLBACK_QUEUE_URL`: the SQS queue for events the table cannot take now. Unset: such an
    /// event is answered `503`.
    pub fallback_queue_url: Option<String>,
    /// `QUARANTINE` (`on` | `off`, default `on`): keep deliveries no current secret matched in
    /// the payload bucket (needs `PAYLOAD_BUCKET`).
    pub quarantine: bool,
    /// `QUARANTINE_PER_MINUTE` (default 120): deliveries one instance holds per minute at most.
    pub quarantine_per_minute: u64,
    /// `QUARANTINE_BYTES_PER_MINUTE` (default 16 MiB): bytes one instance holds per minute.
    pub quarantine_bytes_per_minute: u64,
}

/// Default `STORE_DEADLINE_MS`.
pub const DEFAULT_STORE_DEADLINE_MS: u64 = 1900;

/// Default body cap: Lambda's synchronous payload limit.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 6 * 1024 * 1024;

impl Settings {
    /// Reads the shared settings for `provider`.
    ///
    /// # Errors
    /// The first variable that is missing or invalid.
    pub fn from_env(env: &Env, provider: &str) -> Result<Self, ConfigError> {
        let retention: u32 = env.parse_or("RETENTION_DAYS", 0)?;
        let max_body = env.positive_or("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?;
        let offload = env.positive_or("PAYLOAD_OFFLOAD_BYTES", DEFAULT_OFFLOAD_BYTES as u64)?;
        Ok(Self {
            events_table: env.required("EVENTS_TABLE")?,
            secret_id: env
                .get("WEBHOOK_SECRET_ID")
                .map_or_else(|| default_secret_id(provider), str::to_owned),
            secret_cache_ttl: Duration::from_secs(env.positive_or("SECRET_CACHE_TTL_SECS", 300)?),
            store_deadline: Duration::from_millis(
                env.positive_or("STORE_DEADLINE_MS", DEFAULT_STORE_DEADLINE_MS)?,
            ),
            retention_days: (retention > 0).then_some(retention),
            max_body_bytes: usize::try_from(max_body).map_err(|_| ConfigError {
                name: "MAX_BODY_BYTES".into(),
                problem: "is too large for this platform".into(),
            })?,
            payload_bucket: env
                .get("PAYLOAD_BUCKET")
                .filter(|bucket| !bucket.is_empty())
                .map(str::to_owned),
            payload_offload_bytes: usize::try_from(offload).map_err(|_| ConfigError {
                name: "PAYLOAD_OFFLOAD_BYTES".into(),
                problem: "is too large for this platform".into(),
            })?,
            fallback_queue_url: env.get("FALLBACK_QUEUE_URL").map(str::to_owned),
            quarantine: env.switch("QUARANTINE", true)?,
            quarantine_per_minute: env.positive_or("QUARANTINE_PER_MINUTE", DEFAULT_PER_MINUTE)?,
            quarantine_bytes_per_minute: env
                .positive_or("QUARANTINE_BYTES_PER_MINUTE", DEFAULT_BYTES_PER_MINUTE)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_timeouts_add_up_to_the_request_budget() {
        use crate::budget::{ANSWER_MARGIN, MAX_REQUEST_TIME};
        use crate::secrets::SecretsManagerFetcher;
        use crate::store::fallback::QUEUE_RESERVE;
        // A miss costs two secret fetches (the cached load and the refresh), then the table,
        // then what is kept for the queue.
        let worst = SecretsManagerFetcher::DEFAULT_DEADLINE * 2
            + Duration::from_millis(DEFAULT_STORE_DEADLINE_MS)
            + QUEUE_RESERVE;
        assert!(worst <= MAX_REQUEST_TIME, "{worst:?}");
        assert!(MAX_REQUEST_TIME + ANSWER_MARGIN < Duration::from_secs(5));
    }

    #[test]
    fn defaults_apply_when_only_the_table_is_set() {
        let settings = Settings::from_env(
            &Env::from_pairs([("EVENTS_TABLE", "events")]),
            "some-provider",
        )
        .unwrap();
        assert_eq!(settings.secret_id, "webhooks/some-provider");
        assert_eq!(settings.secret_cache_ttl, Duration::from_secs(300));
        assert_eq!(settings.store_deadline, Duration::from_millis(1900));
        assert_eq!(settings.retention_days, None);
        assert_eq!(settings.max_body_bytes, 6 * 1024 * 1024);
        assert_eq!(settings.payload_bucket, None);
        assert_eq!(settings.payload_offload_bytes, 256 * 1024);
        assert_eq!(settings.fallback_queue_url, None);
        assert!(settings.quarantine);
        assert_eq!(settings.quarantine_per_minute, 120);
        assert_eq!(settings.quarantine_bytes_per_minute, 16 * 1024 * 1024);
    }

    #[test]
    fn the_queue_and_the_quarantine_are_read() {
        let settings = Settings::from_env(
            &Env::from_pairs([
                ("EVENTS_TABLE", "events"),
                ("FALLBACK_QUEUE_URL", "http://127.0.0.1:1/q"),
                ("QUARANTINE", "OFF"),
                ("QUARANTINE_PER_MINUTE", "5"),
            ]),
            "some-provider",
        )
        .unwrap();
        assert_eq!(
            settings.fallback_queue_url.as_deref(),
            Some("http://127.0.0.1:1/q")
        );
        assert!(!settings.quarantine);
        assert_eq!(settings.quarantine_per_minute, 5);
        let error = Settings::from_env(
            &Env::from_pairs([("EVENTS_TABLE", "events"), ("QUARANTINE", "maybe")]),
            "some-provider",
        )
        .unwrap_err();
        assert_eq!(error.name, "QUARANTINE");
    }

    #[test]
    fn the_payload_bucket_and_its_threshold_are_read() {
        let settings = Settings::from_env(
            &Env::from_pairs([
                ("EVENTS_TABLE", "events"),
                ("PAYLOAD_BUCKET", "bodies"),
                ("PAYLOAD_OFFLOAD_BYTES", "1000"),
            ]),
            "some-provider",
        )
        .unwrap();
        assert_eq!(settings.payload_bucket.as_deref(), Some("bodies"));
        assert_eq!(settings.payload_offload_bytes, 1000);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let error = Settings::from_env(
            &Env::from_pairs([("EVENTS_TABLE", "events"), ("MAX_BODY_BYTES", "lots")]),
            "some-provider",
        )
        .unwrap_err();
        assert_eq!(error.name, "MAX_BODY_BYTES");
        assert!(error.to_string().contains("\"lots\""), "{error}");

        let error = Settings::from_env(&Env::from_pairs([]), "some-provider").unwrap_err();
        assert_eq!(error.name, "EVENTS_TABLE");

        let error = Settings::from_env(
            &Env::from_pairs([("EVENTS_TABLE", "events"), ("STORE_DEADLINE_MS", "0")]),
            "some-provider",
        )
        .unwrap_err();
        assert_eq!(error.name, "STORE_DEADLINE_MS");
    }
}
