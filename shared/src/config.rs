//! Configuration from environment variables, read once at cold start. A bad value stops the
//! function with a message naming the variable, rather than failing requests later.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::endpoint::{DEFAULT, check_name};
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
    /// `PREVIOUS_SECRET_GRACE_SECS` (default 86400): how long after `AWSCURRENT` was created
    /// `AWSPREVIOUS` still verifies (0: never).
    pub previous_secret_grace: Duration,
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
            previous_secret_grace: Duration::from_secs(env.parse_or(
                "PREVIOUS_SECRET_GRACE_SECS",
                crate::secrets::SecretsManagerFetcher::DEFAULT_PREVIOUS_GRACE.as_secs(),
            )?),
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

// ---- Endpoints ------------------------------------------------------------------------------
//
// - `WEBHOOK_ENDPOINTS`: the names of a function's endpoints besides `default`, comma-separated.
// - `WEBHOOK_ENDPOINT_SECRET_PREFIX`: endpoint `<name>` reads the secret `<prefix><name>`
//   (default `webhooks/<provider>/`; the template sets `<stack>/webhooks/<provider>/`).
// - `<VARIABLE>_BY_ENDPOINT`: `<name>:<value>,…` gives endpoint `<name>` its own value of a
//   provider setting (`FACEIO_APP_ID_BY_ENDPOINT=staging:app-2`); an endpoint not listed has the
//   function's value.

/// The variable listing the endpoints besides [`DEFAULT`].
pub const ENDPOINTS_ENV: &str = "WEBHOOK_ENDPOINTS";

/// The variable giving the secret-name prefix of those endpoints.
pub const SECRET_PREFIX_ENV: &str = "WEBHOOK_ENDPOINT_SECRET_PREFIX";

/// What a per-endpoint setting's variable ends with.
pub const BY_ENDPOINT_SUFFIX: &str = "_BY_ENDPOINT";

/// The configured endpoints of a provider's function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The names besides [`DEFAULT`], as configured.
    pub names: Vec<String>,
    /// The prefix of their secrets' names.
    pub secret_prefix: String,
}

impl Endpoints {
    /// Reads `WEBHOOK_ENDPOINTS` and `WEBHOOK_ENDPOINT_SECRET_PREFIX` for `provider`, and checks
    /// that every `*_BY_ENDPOINT` entry names one of them.
    ///
    /// # Errors
    /// A bad or repeated name, [`DEFAULT`] listed, or a setting for an endpoint not listed.
    pub fn from_env(env: &Env, provider: &str) -> Result<Self, ConfigError> {
        let problem = |name: &'static str, problem: String| ConfigError {
            name: name.into(),
            problem,
        };
        let mut names: Vec<String> = Vec::new();
        for name in env.get(ENDPOINTS_ENV).unwrap_or_default().split(',') {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            check_name(name).map_err(|why| problem(ENDPOINTS_ENV, why))?;
            if name == DEFAULT || name == provider {
                return Err(problem(
                    ENDPOINTS_ENV,
                    format!(
                        "lists {name:?}: {DEFAULT:?} is always there (/webhooks/{provider}), and an endpoint cannot be named after its provider"
                    ),
                ));
            }
            if names.iter().any(|known| known == name) {
                return Err(problem(ENDPOINTS_ENV, format!("lists {name:?} twice")));
            }
            names.push(name.to_owned());
        }
        let endpoints = Self {
            names,
            secret_prefix: env.get(SECRET_PREFIX_ENV).map_or_else(
                || format!("{}/", default_secret_id(provider)),
                str::to_owned,
            ),
        };
        for (variable, values) in by_endpoint(env)? {
            if let Some(unknown) = values.keys().find(|name| !endpoints.has(name)) {
                return Err(ConfigError {
                    name: variable.into(),
                    problem: format!(
                        "names endpoint {unknown:?}, which {ENDPOINTS_ENV} does not list"
                    ),
                });
            }
        }
        Ok(endpoints)
    }

    /// Whether `name` is one of the endpoints besides [`DEFAULT`].
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|known| known == name)
    }

    /// The secret of endpoint `name` (not [`DEFAULT`], whose secret is `WEBHOOK_SECRET_ID`).
    pub fn secret_id(&self, name: &str) -> String {
        format!("{}{name}", self.secret_prefix)
    }
}

/// One `<VARIABLE>_BY_ENDPOINT`: the variable's name, and endpoint name → value.
type ByEndpoint = (String, HashMap<String, String>);

/// Every `<VARIABLE>_BY_ENDPOINT` of `env`.
fn by_endpoint(env: &Env) -> Result<Vec<ByEndpoint>, ConfigError> {
    let mut found = Vec::new();
    for (variable, text) in env.iter() {
        if !variable.ends_with(BY_ENDPOINT_SUFFIX) {
            continue;
        }
        let mut values = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |problem: String| ConfigError {
                name: variable.to_owned().into(),
                problem,
            };
            let (name, value) = entry
                .split_once(':')
                .ok_or_else(|| bad(format!("has {entry:?}; expected <endpoint>:<value>")))?;
            let (name, value) = (name.trim(), value.trim());
            check_name(name).map_err(&bad)?;
            if value.is_empty() || values.insert(name.to_owned(), value.to_owned()).is_some() {
                return Err(bad(format!("has no value or two values for {name:?}")));
            }
        }
        found.push((variable.to_owned(), values));
    }
    Ok(found)
}

impl Env {
    /// The environment endpoint `name` is configured from: this one, with each
    /// `<VARIABLE>_BY_ENDPOINT` entry for `name` as the value of `<VARIABLE>`.
    ///
    /// # Errors
    /// A `*_BY_ENDPOINT` variable that does not read as `<endpoint>:<value>,…`.
    pub fn for_endpoint(&self, name: &str) -> Result<Env, ConfigError> {
        let mut env = self.clone();
        if name == DEFAULT {
            return Ok(env);
        }
        for (variable, values) in by_endpoint(self)? {
            if let Some(value) = values.get(name) {
                let setting = variable.trim_end_matches(BY_ENDPOINT_SUFFIX);
                env.set(setting, value);
            }
        }
        Ok(env)
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
        assert_eq!(settings.previous_secret_grace, Duration::from_secs(86_400));
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

    #[test]
    fn endpoints_and_their_secrets_are_read() {
        let env = Env::from_pairs([
            (ENDPOINTS_ENV, " staging , eu-1,"),
            (SECRET_PREFIX_ENV, "stack/webhooks/faceio/"),
        ]);
        let endpoints = Endpoints::from_env(&env, "faceio").unwrap();
        assert_eq!(endpoints.names, ["staging", "eu-1"]);
        assert_eq!(endpoints.secret_id("eu-1"), "stack/webhooks/faceio/eu-1");
        assert!(endpoints.has("staging") && !endpoints.has(DEFAULT));

        let none = Endpoints::from_env(&Env::from_pairs([]), "faceio").unwrap();
        assert!(none.names.is_empty());
        assert_eq!(none.secret_id("x"), "webhooks/faceio/x");
    }

    #[test]
    fn bad_endpoint_lists_name_the_variable() {
        for (name, value, variable) in [
            (ENDPOINTS_ENV, "default", ENDPOINTS_ENV),
            (ENDPOINTS_ENV, "faceio", ENDPOINTS_ENV),
            (ENDPOINTS_ENV, "a,a", ENDPOINTS_ENV),
            (ENDPOINTS_ENV, "Staging", ENDPOINTS_ENV),
            (
                "FACEIO_APP_ID_BY_ENDPOINT",
                "other:app",
                "FACEIO_APP_ID_BY_ENDPOINT",
            ),
            (
                "FACEIO_APP_ID_BY_ENDPOINT",
                "staging",
                "FACEIO_APP_ID_BY_ENDPOINT",
            ),
            (
                "FACEIO_APP_ID_BY_ENDPOINT",
                "staging:",
                "FACEIO_APP_ID_BY_ENDPOINT",
            ),
            (
                "FACEIO_APP_ID_BY_ENDPOINT",
                "staging:a,staging:b",
                "FACEIO_APP_ID_BY_ENDPOINT",
            ),
        ] {
            let mut env = Env::from_pairs([(ENDPOINTS_ENV, "staging"), (name, value)]);
            if name == ENDPOINTS_ENV {
                env = Env::from_pairs([(name, value)]);
            }
            let error = Endpoints::from_env(&env, "faceio").unwrap_err();
            assert_eq!(error.name, variable, "{name}={value}: {error}");
        }
    }

    #[test]
    fn an_endpoint_has_its_own_settings_and_the_function_s_otherwise() {
        let env = Env::from_pairs([
            (ENDPOINTS_ENV, "staging,eu"),
            ("FACEIO_APP_ID", "app-default"),
            ("FACEIO_APP_ID_BY_ENDPOINT", "staging : app-staging"),
        ]);
        Endpoints::from_env(&env, "faceio").unwrap();
        let app_id = |endpoint: &str| {
            env.for_endpoint(endpoint)
                .unwrap()
                .get("FACEIO_APP_ID")
                .map(str::to_owned)
        };
        assert_eq!(app_id("staging").as_deref(), Some("app-staging"));
        assert_eq!(app_id("eu").as_deref(), Some("app-default"));
        assert_eq!(app_id(DEFAULT).as_deref(), Some("app-default"));
    }
}
