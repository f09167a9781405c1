//! Endpoints: several webhooks of one provider served by one function, each with its own secret
//! and its own provider settings (`POST /webhooks/<provider>/<endpoint>`). `/webhooks/<provider>`
//! is the endpoint [`DEFAULT`], configured as before (`WEBHOOK_SECRET_ID` and the provider's
//! variables).
//!
//! - `WEBHOOK_ENDPOINTS`: the other endpoints' names, comma-separated.
//! - `WEBHOOK_ENDPOINT_SECRET_PREFIX`: endpoint `<name>` reads the secret `<prefix><name>`
//!   (default `webhooks/<provider>/`; the template sets `<stack>/webhooks/<provider>/`).
//! - `<VARIABLE>_BY_ENDPOINT`: `<name>=<value>,…` gives endpoint `<name>` its own value of a
//!   provider setting (`FACEIO_APP_ID_BY_ENDPOINT=staging=app-2`); an endpoint not listed has
//!   the function's value.

use std::collections::HashMap;

use crate::config::{ConfigError, Env};

/// The endpoint of `/webhooks/<provider>`, always there.
pub const DEFAULT: &str = "default";

/// The variable listing the endpoints besides [`DEFAULT`].
pub const ENDPOINTS_ENV: &str = "WEBHOOK_ENDPOINTS";

/// The variable giving the secret-name prefix of those endpoints.
pub const SECRET_PREFIX_ENV: &str = "WEBHOOK_ENDPOINT_SECRET_PREFIX";

/// What a per-endpoint setting's variable ends with.
pub const BY_ENDPOINT_SUFFIX: &str = "_BY_ENDPOINT";

/// The longest endpoint name.
pub const MAX_NAME_BYTES: usize = 32;

/// Checks an endpoint name: 1 to [`MAX_NAME_BYTES`] of `a-z`, `0-9` and `-`, beginning and ending
/// with a letter or digit (it is part of URLs, secret names, table keys and metric dimensions).
///
/// # Errors
/// What is wrong with it.
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_BYTES {
        return Err(format!(
            "endpoint name {name:?} must be 1 to {MAX_NAME_BYTES} characters"
        ));
    }
    if !bytes.iter().all(|&c| allowed(c)) || bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return Err(format!(
            "endpoint name {name:?} may only use a-z, 0-9 and - (not first or last)"
        ));
    }
    Ok(())
}

/// The endpoint a request path names: what follows the `<provider>` segment
/// (`/webhooks/faceio/staging` → `staging`); [`DEFAULT`] when nothing follows it or the path has
/// no such segment (a Function URL's `/`). More than one segment after it is returned whole, and
/// so names no endpoint.
pub fn in_path<'a>(path: &'a str, provider: &str) -> &'a str {
    let path = path.trim_end_matches('/');
    let mut from = None;
    let mut offset = 0;
    for segment in path.split('/') {
        offset += segment.len() + 1;
        if segment == provider {
            from = Some(offset);
        }
    }
    match from {
        Some(start) if start < path.len() => &path[start..],
        _ => DEFAULT,
    }
}

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
                    format!("lists {name:?}: {DEFAULT:?} is always there (/webhooks/{provider}), and an endpoint cannot be named after its provider"),
                ));
            }
            if names.iter().any(|known| known == name) {
                return Err(problem(ENDPOINTS_ENV, format!("lists {name:?} twice")));
            }
            names.push(name.to_owned());
        }
        let endpoints = Self {
            names,
            secret_prefix: env
                .get(SECRET_PREFIX_ENV)
                .map_or_else(|| format!("webhooks/{provider}/"), str::to_owned),
        };
        for (variable, values) in by_endpoint(env)? {
            if let Some(unknown) = values.keys().find(|name| !endpoints.has(name)) {
                return Err(ConfigError {
                    name: variable.into(),
                    problem: format!("names endpoint {unknown:?}, which {ENDPOINTS_ENV} does not list"),
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

/// Every `<VARIABLE>_BY_ENDPOINT` of `env`: the variable's name, and endpoint name → value.
fn by_endpoint(env: &Env) -> Result<Vec<(String, HashMap<String, String>)>, ConfigError> {
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
                .split_once('=')
                .ok_or_else(|| bad(format!("has {entry:?}; expected <endpoint>=<value>")))?;
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
    /// A `*_BY_ENDPOINT` variable that does not read as `<endpoint>=<value>,…`.
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
    fn the_path_names_the_endpoint_after_the_provider() {
        for (path, endpoint) in [
            ("/webhooks/faceio", DEFAULT),
            ("/webhooks/faceio/", DEFAULT),
            ("/webhooks/faceio/staging", "staging"),
            ("/webhooks/faceio/staging/", "staging"),
            ("/prod/webhooks/faceio/eu-1", "eu-1"),
            ("/webhooks/faceio/default", DEFAULT),
            ("/webhooks/faceio/a/b", "a/b"),
            ("/", DEFAULT),
            ("", DEFAULT),
            ("/my/path", DEFAULT),
            ("/webhooks/faceios/x", DEFAULT),
            ("/faceio/faceio/x", "x"),
        ] {
            assert_eq!(in_path(path, "faceio"), endpoint, "{path}");
        }
    }

    #[test]
    fn names_are_short_lower_case_and_dashed_inside() {
        for good in ["a", "staging", "eu-1", "0", &"x".repeat(MAX_NAME_BYTES)] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Staging",
            "a b",
            "a/b",
            "a_b",
            "é",
            &"x".repeat(MAX_NAME_BYTES + 1),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
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
            ("FACEIO_APP_ID_BY_ENDPOINT", "other=app", "FACEIO_APP_ID_BY_ENDPOINT"),
            ("FACEIO_APP_ID_BY_ENDPOINT", "staging", "FACEIO_APP_ID_BY_ENDPOINT"),
            ("FACEIO_APP_ID_BY_ENDPOINT", "staging=", "FACEIO_APP_ID_BY_ENDPOINT"),
            ("FACEIO_APP_ID_BY_ENDPOINT", "staging=a,staging=b", "FACEIO_APP_ID_BY_ENDPOINT"),
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
            ("FACEIO_APP_ID_BY_ENDPOINT", "staging = app-staging"),
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
