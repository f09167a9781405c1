//! What the tools know of a provider besides its [`Provider`](crate::Provider) implementation:
//! its binary, its local-stack secret and settings, its documented event codes with a sample body
//! for each, how to sign a delivery like the provider does, and how to re-check a stored one.
//!
//! Each provider crate implements [`Catalog`] next to its `Provider`; the `webhooks` CLI holds
//! them as one list (the registry), and `make dev`, the end-to-end suite and the benchmarks read
//! that list (`webhooks providers --json`) instead of naming providers themselves.

use std::fmt;

use http::HeaderName;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::config::{ConfigError, Env, default_secret_id};
use crate::secret::{Secret, VersionedSecret};
use crate::verify::{Verified, VerifyError};

/// A setting of a provider's function that a sender must agree with (FACEIO's application id,
/// Amani's security mode), or that the local stack must set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The function's environment variable (`FACEIO_APP_ID`).
    pub env: &'static str,
    /// The `webhooks send` option that sets it for the sender (`app-id` for `--app-id`).
    pub flag: &'static str,
    /// One line of help for that option.
    pub help: &'static str,
    /// Its value in the local stack (`make dev`, the end-to-end suite), when it needs one.
    pub dev: Option<&'static str>,
    /// Its value for the local stack's second endpoint ([`DEV_ENDPOINT`]), when that has its own.
    pub dev_endpoint: Option<&'static str>,
}

/// The local stack's endpoint besides `default` (`make dev`): every provider has it, with its own
/// secret ([`Catalog::dev_endpoint_secret`]) and, where the provider has settings, its own values.
pub const DEV_ENDPOINT: &str = "staging";

/// Signs deliveries the way the provider does.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The authentication header for `body` sent at `now` (unix seconds). With `tamper`, the
    /// header is well formed but wrong: the MAC of another body, or another token.
    fn header(&self, body: &[u8], now: i64, tamper: bool) -> (HeaderName, String);
}

/// Re-checks a stored body against the signature header stored with it, with no replay window
/// (the tamper audit; see `webhooks reverify`).
pub type AuditRule =
    fn(secrets: &[VersionedSecret], body: &[u8], signature: &str) -> Result<Verified, VerifyError>;

/// What a tampered request signs instead of the real body: the signature keeps its form and is
/// wrong.
pub const TAMPER: &[u8] = b"#tampered";

/// `bytes`, with [`TAMPER`] appended when `tamper` is set.
pub fn tampered(bytes: &[u8], tamper: bool) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if tamper {
        out.extend_from_slice(TAMPER);
    }
    out
}

/// The token a token scheme sends: the secret itself, or with `tamper` a wrong token that does
/// not contain it (a tampered request never carries the real secret).
pub fn token(secret: &Secret, tamper: bool) -> String {
    if tamper {
        let digest = hex::encode(Sha256::digest(secret.expose()));
        format!("tampered-{}", &digest[..16])
    } else {
        String::from_utf8_lossy(secret.expose()).into_owned()
    }
}

/// A generated delivery body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The exact bytes to send.
    pub body: Vec<u8>,
    /// The event code inside.
    pub event_code: &'static str,
    /// What the receiver will index it under, read with the provider's own model.
    pub subject: Option<String>,
}

/// The facts a catalogue states about its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider's short name, its [`Provider::NAME`](crate::Provider::NAME).
    pub name: &'static str,
    /// The function's binary (its path under `cargo lambda watch`); also its cargo package.
    pub binary: &'static str,
    /// What the provider does, in a few words.
    pub about: &'static str,
    /// How a delivery is authenticated, in one line (for help texts).
    pub signing: &'static str,
    /// The secret the local stack puts in place for the function.
    pub dev_secret: &'static str,
    /// The provider's own settings (besides the shared ones in [`crate::config::Settings`]).
    pub settings: &'static [Setting],
    /// The documented event codes; the first is the default sample.
    pub event_codes: &'static [&'static str],
}

/// A provider as the tools see it.
pub trait Catalog: Send + Sync {
    /// The facts about the provider.
    fn info(&self) -> &'static ProviderInfo;

    /// [`ProviderInfo::name`].
    fn name(&self) -> &'static str {
        self.info().name
    }

    /// [`ProviderInfo::binary`].
    fn binary(&self) -> &'static str {
        self.info().binary
    }

    /// [`ProviderInfo::about`].
    fn about(&self) -> &'static str {
        self.info().about
    }

    /// [`ProviderInfo::signing`].
    fn signing(&self) -> &'static str {
        self.info().signing
    }

    /// [`ProviderInfo::dev_secret`].
    fn dev_secret(&self) -> &'static str {
        self.info().dev_secret
    }

    /// [`ProviderInfo::settings`].
    fn settings(&self) -> &'static [Setting] {
        self.info().settings
    }

    /// [`ProviderInfo::event_codes`].
    fn event_codes(&self) -> &'static [&'static str] {
        self.info().event_codes
    }

    /// A body for the documented `code`, with fresh ids, built from the provider's fixture for
    /// that code; `env` holds the provider's settings (e.g. the application id to name).
    /// `None` when `code` is not one of [`Catalog::event_codes`].
    fn sample(&self, code: &str, fresh: &Fresh, env: &Env) -> Option<Sample>;

    /// A signer with `secret`, configured by the provider's settings in `env`.
    ///
    /// # Errors
    /// A setting that is invalid or does not apply.
    fn signer(&self, env: &Env, secret: Secret) -> Result<Box<dyn Signer>, ConfigError>;

    /// The provider configured by its settings in `env`, to verify quarantined deliveries again
    /// and make events of them (`webhooks quarantine promote`).
    ///
    /// # Errors
    /// A setting the provider needs is missing or invalid.
    fn promoter(&self, env: &Env) -> Result<Box<dyn crate::pipeline::Promote>, ConfigError>;

    /// The tamper audit's rule, when deliveries keep a signature to re-check (HMAC schemes);
    /// `None` when they keep none (a bearer token proves nothing about the body).
    fn audit(&self) -> Option<AuditRule> {
        None
    }

    /// The Secrets Manager secret the function reads by default.
    fn secret_id(&self) -> String {
        default_secret_id(self.name())
    }

    /// The local stack's value of each setting that has one.
    fn dev_env(&self) -> Vec<(&'static str, &'static str)> {
        self.settings()
            .iter()
            .filter_map(|setting| setting.dev.map(|value| (setting.env, value)))
            .collect()
    }

    /// What configures the local stack's second endpoint ([`DEV_ENDPOINT`]) on top of
    /// [`Catalog::dev_env`]: its name in `WEBHOOK_ENDPOINTS` and its own setting values
    /// (`FACEIO_APP_ID_BY_ENDPOINT=staging:…`).
    fn dev_endpoint_env(&self) -> Vec<(String, String)> {
        use crate::config::{BY_ENDPOINT_SUFFIX, ENDPOINTS_ENV};
        std::iter::once((ENDPOINTS_ENV.to_owned(), DEV_ENDPOINT.to_owned()))
            .chain(self.settings().iter().filter_map(|setting| {
                setting.dev_endpoint.map(|value| {
                    (
                        format!("{}{BY_ENDPOINT_SUFFIX}", setting.env),
                        format!("{DEV_ENDPOINT}:{value}"),
                    )
                })
            }))
            .collect()
    }

    /// The local stack's settings of its endpoint `endpoint` ([`crate::endpoint::DEFAULT`] or
    /// [`DEV_ENDPOINT`]; any other has the default's), as that function would read them.
    fn dev_settings(&self, endpoint: &str) -> Env {
        let mut env = Env::from_pairs(self.dev_env());
        for (name, value) in self.dev_endpoint_env() {
            env.set(&name, &value);
        }
        // The catalogue's own `<endpoint>:<value>` entries always read.
        env.for_endpoint(endpoint).unwrap_or(env)
    }

    /// The secret the local stack puts in place for its second endpoint: another value than the
    /// default endpoint's.
    fn dev_endpoint_secret(&self) -> String {
        format!("{}-{DEV_ENDPOINT}", self.dev_secret())
    }

    /// The Secrets Manager secret of endpoint `endpoint` when the function's
    /// `WEBHOOK_ENDPOINT_SECRET_PREFIX` is not set: [`Catalog::secret_id`] for `default`,
    /// `webhooks/<provider>/<endpoint>` for any other.
    fn endpoint_secret_id(&self, endpoint: &str) -> String {
        if endpoint == crate::endpoint::DEFAULT {
            self.secret_id()
        } else {
            format!("{}/{endpoint}", self.secret_id())
        }
    }
}

impl fmt::Debug for dyn Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Catalog").field(&self.name()).finish()
    }
}

/// Declares a provider crate's documented event codes and their fixture bodies:
/// `pub const EVENT_CODES` (the default sample first) and `pub fn fixture(code)`, which returns
/// the text of `tests/fixtures/<provider>/<code>.json`, compiled in. One list, so a code cannot
/// be documented without a fixture.
#[macro_export]
macro_rules! documented_events {
    ($provider:literal: $($code:literal),+ $(,)?) => {
        /// The documented event codes, the default sample first.
        pub const EVENT_CODES: &[&str] = &[$($code),+];

        /// The fixture body of a documented event code (`tests/fixtures/<provider>/<code>.json`).
        pub fn fixture(code: &str) -> Option<&'static str> {
            match code {
                $($code => Some(include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $provider, "/", $code, ".json"
                ))),)+
                _ => None,
            }
        }
    };
}

/// The documented code equal to `code` (exact spelling), as the catalogue's `'static` text.
pub fn find_code(codes: &'static [&'static str], code: &str) -> Option<&'static str> {
    codes.iter().copied().find(|known| *known == code)
}

/// The fresh values a sample is built from: the time, and ids derived from a random seed.
#[derive(Clone, PartialEq, Eq)]
pub struct Fresh {
    /// Unix seconds now.
    pub now: i64,
    seed: [u8; 32],
}

impl fmt::Debug for Fresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fresh")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Fresh {
    /// Fresh values at `now` (unix seconds) from `seed` (random bytes: a new seed gives new ids).
    pub fn new(now: i64, seed: [u8; 32]) -> Self {
        Self { now, seed }
    }

    /// 32 bytes derived from the seed for `purpose`.
    pub fn bytes(&self, purpose: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.seed);
        hash.update(purpose.as_bytes());
        hash.finalize().into()
    }

    /// A version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`) derived for `purpose`.
    pub fn uuid(&self, purpose: &str) -> String {
        let mut bytes = self.bytes(purpose);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(&bytes[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// `len` lower-case hex digits (at most 64) derived for `purpose`.
    pub fn hex(&self, purpose: &str, len: usize) -> String {
        let mut hex = hex::encode(self.bytes(purpose));
        hex.truncate(len);
        hex
    }

    /// A number below `bound` (at least 1) derived for `purpose`.
    pub fn below(&self, purpose: &str, bound: u64) -> u64 {
        let bytes = self.bytes(purpose);
        let mut word = [0_u8; 8];
        word.copy_from_slice(&bytes[..8]);
        u64::from_le_bytes(word) % bound.max(1)
    }

    /// `now` as a UTC date, `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        crate::provider::unix_seconds_to_iso(self.now)
            .map(|iso| iso.chars().take(10).collect())
            .unwrap_or_default()
    }

    /// Every UUID in `fixture` replaced by a fresh one; the same UUID always by the same one, so
    /// references inside the body stay consistent.
    pub fn with_fresh_uuids(&self, fixture: &str) -> String {
        let mut out = String::with_capacity(fixture.len());
        let mut rest = fixture;
        while let Some((at, found)) = next_uuid(rest) {
            out.push_str(&rest[..at]);
            out.push_str(&self.uuid(&found.to_ascii_lowercase()));
            rest = &rest[at + UUID_LEN..];
        }
        out.push_str(rest);
        out
    }
}

const UUID_LEN: usize = 36;

/// The first `8-4-4-4-12` hex UUID in `text`: its byte offset and text.
fn next_uuid(text: &str) -> Option<(usize, &str)> {
    let last = text.len().checked_sub(UUID_LEN)?;
    let at = (0..=last).find(|&at| is_uuid(&text.as_bytes()[at..at + UUID_LEN]))?;
    text.get(at..at + UUID_LEN).map(|found| (at, found))
}

fn is_uuid(candidate: &[u8]) -> bool {
    candidate.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

/// `text` with every occurrence of the JSON value at `pointer` (in `text` parsed) replaced by
/// `value`, both written as JSON; `None` when `text` is not JSON, has no such value, or does not
/// spell it the way JSON writes it (a fixture written with escapes or spaces inside the value).
pub fn replace_value(text: &str, pointer: &str, value: &Value) -> Option<String> {
    let json: Value = serde_json::from_str(text).ok()?;
    let old = serde_json::to_string(json.pointer(pointer)?).ok()?;
    let new = serde_json::to_string(value).ok()?;
    text.contains(&old).then(|| text.replace(&old, &new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(seed: u8) -> Fresh {
        Fresh::new(1_764_000_000, [seed; 32])
    }

    #[test]
    fn uuids_are_version_4_and_differ_by_seed_and_purpose() {
        let id = fresh(1).uuid("a");
        assert_eq!(id.len(), UUID_LEN);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(
            matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
        assert_eq!(next_uuid(&id), Some((0, id.as_str())));
        assert_ne!(fresh(1).uuid("a"), fresh(2).uuid("a"));
        assert_ne!(fresh(1).uuid("a"), fresh(1).uuid("b"));
        assert_eq!(fresh(1).uuid("a"), fresh(1).uuid("a"));
    }

    #[test]
    fn fixtures_get_fresh_uuids_consistently() {
        let fixture = r#"{"Id": "029ba680-da36-4513-9dd0-a21103d62b9d", "Ref": "029BA680-DA36-4513-9DD0-A21103D62B9D", "Other": "a2a4e62e-dd1a-4396-a27f-2e5115a028d1", "n": "not-a-uuid-029ba680"}"#;
        let out = fresh(7).with_fresh_uuids(fixture);
        let json: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["Id"], json["Ref"]);
        assert_ne!(json["Id"], json["Other"]);
        assert_ne!(json["Id"], "029ba680-da36-4513-9dd0-a21103d62b9d");
        assert_eq!(json["n"], "not-a-uuid-029ba680");
        assert_ne!(out, fresh(8).with_fresh_uuids(fixture));
    }

    #[test]
    fn values_are_replaced_where_the_pointer_finds_them() {
        let text = "{\n  \"a\": {\"t\": 1763999971},\n  \"b\": \"x\"\n}";
        let out = replace_value(text, "/a/t", &Value::from(42)).unwrap();
        assert_eq!(out, "{\n  \"a\": {\"t\": 42},\n  \"b\": \"x\"\n}");
        assert_eq!(
            replace_value(text, "/b", &Value::from("y")).unwrap(),
            text.replace("\"x\"", "\"y\"")
        );
        assert_eq!(replace_value(text, "/missing", &Value::Null), None);
        assert_eq!(replace_value("not json", "/a", &Value::Null), None);
    }

    #[test]
    fn numbers_and_days_come_from_the_seed_and_the_clock() {
        assert!(fresh(3).below("x", 10) < 10);
        assert_eq!(fresh(3).below("x", 0), 0);
        assert_eq!(fresh(3).hex("x", 8).len(), 8);
        assert_eq!(fresh(3).day(), "2025-11-24");
    }

    #[test]
    fn a_tampered_token_is_wrong_and_never_carries_the_secret() {
        let secret = Secret::new("dev-faceio-token");
        assert_eq!(token(&secret, false), "dev-faceio-token");
        let tampered = token(&secret, true);
        assert!(!tampered.contains("dev-faceio-token"), "{tampered}");
        assert_ne!(tampered, token(&Secret::new("another-token"), true));
    }

    #[test]
    fn the_default_secret_id_is_under_webhooks() {
        assert_eq!(default_secret_id("some-provider"), "webhooks/some-provider");
    }
}
