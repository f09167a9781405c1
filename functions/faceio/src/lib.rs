//! FACEIO webhooks: face enrolment, authentication and deletion, authenticated with a bearer
//! token in `WWW-Authenticate`. FACEIO gives up after 6 seconds.

#![forbid(unsafe_code)]

pub mod scheme;

use http::{HeaderMap, HeaderName};
use serde::Deserialize;
use serde_json::Value;
use webhook_core::catalog::{self, Catalog, Fresh, ProviderInfo, Sample, Setting, Signer};
use webhook_core::config::{ConfigError, Env};
use webhook_core::quarantine::Credentials;
use webhook_core::{
    IdempotencyKey, Provider, ProviderEvent, Secret, Verified, VerifyError, VersionedSecret,
};

/// The environment variable holding the application's public id.
pub const APP_ID_VAR: &str = "FACEIO_APP_ID";

/// The FACEIO provider for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faceio {
    /// The application's public id: events for any other application are refused.
    pub app_id: String,
}

impl Faceio {
    /// Reads `FACEIO_APP_ID` (required).
    ///
    /// # Errors
    /// When it is not set.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            app_id: env.required(APP_ID_VAR)?,
        })
    }

    /// FACEIO's `appId` must be the configured application's public id, exactly.
    ///
    /// # Errors
    /// [`VerifyError::WrongApp`] when it is another application's.
    pub fn check_app_id(&self, app_id: &str) -> Result<(), VerifyError> {
        if app_id == self.app_id {
            Ok(())
        } else {
            Err(VerifyError::WrongApp)
        }
    }
}

/// FACEIO's event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaceioEventName {
    /// `ENROLL`: a user enrolled.
    Enroll,
    /// `AUTH`: a user authenticated.
    Auth,
    /// `DELETION`: a facial id was deleted.
    Deletion,
    /// A name this version does not know.
    Unknown(String),
}

impl FaceioEventName {
    fn from_name(name: &str) -> Self {
        match name {
            "ENROLL" => Self::Enroll,
            "AUTH" => Self::Auth,
            "DELETION" => Self::Deletion,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// Enrolment details (sent with `ENROLL` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Details {
    /// Operation date, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Gender of the enrolled user.
    #[serde(default)]
    pub gender: Option<String>,
    /// Age approximation (sent as a string; kept as sent).
    #[serde(default)]
    pub age: Option<Value>,
}

/// A FACEIO webhook body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceioEvent {
    /// `eventName` as sent.
    pub event_name: String,
    /// The user's facial id.
    #[serde(default)]
    pub facial_id: Option<String>,
    /// Public id of the application.
    pub app_id: String,
    /// Public IP of the browser.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// Enrolment details.
    #[serde(default)]
    pub details: Option<Details>,
    /// The JSON the site passed at enrolment (newer plans).
    #[serde(default)]
    pub payload: Option<Value>,
}

impl FaceioEvent {
    /// The event name as a typed value.
    pub fn name(&self) -> FaceioEventName {
        FaceioEventName::from_name(&self.event_name)
    }
}

impl ProviderEvent for FaceioEvent {
    fn code(&self) -> &str {
        &self.event_name
    }

    /// `ENROLL` and `DELETION` happen once per facial id; `AUTH` repeats with identical bodies
    /// for real repeated logins, so each delivery is its own record.
    fn idempotency_key(&self) -> IdempotencyKey {
        match (self.name(), &self.facial_id) {
            (FaceioEventName::Enroll | FaceioEventName::Deletion, Some(facial_id)) => {
                IdempotencyKey::Id(format!("{}/{}/{}", self.app_id, self.event_name, facial_id))
            }
            _ => IdempotencyKey::RequestId,
        }
    }

    fn subject(&self) -> Option<&str> {
        self.facial_id.as_deref().filter(|id| !id.is_empty())
    }

    fn provider_time(&self) -> Option<String> {
        self.details
            .as_ref()
            .and_then(|details| details.timestamp.clone())
    }
}

impl Provider for Faceio {
    const NAME: &'static str = "faceio";
    type Event = FaceioEvent;

    fn authenticate(
        &self,
        secrets: &[VersionedSecret],
        _body: &[u8],
        headers: &HeaderMap,
        _now: i64,
    ) -> Result<Verified, VerifyError> {
        scheme::verify(secrets, headers)
    }

    /// The hash of each bearer token presented (either header).
    fn held_credentials(&self, headers: &HeaderMap) -> Credentials {
        let values: Vec<String> = [scheme::HEADER, scheme::FALLBACK_HEADER]
            .into_iter()
            .flat_map(|name| headers.get_all(name))
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect();
        Credentials::tokens(
            values
                .iter()
                .filter_map(|value| scheme::parse_bearer(value)),
        )
    }

    fn parse(&self, body: &Value) -> Option<FaceioEvent> {
        FaceioEvent::deserialize(body).ok()
    }

    /// The token is per application, and the body must also name this application under the
    /// key `appId` exactly: any body that does not (another app, none, `appid`, not JSON) is
    /// refused.
    fn accept(&self, body: Option<&Value>) -> Result<(), VerifyError> {
        let app_id = body
            .and_then(|json| json.get("appId"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.check_app_id(app_id)
    }

    /// A body with `appId` (or any key) twice names two applications to two readers.
    fn refuses_ambiguous_json(&self) -> bool {
        true
    }
}

webhook_core::documented_events!("faceio": "ENROLL", "AUTH", "DELETION");

/// What the tools (the `webhooks` CLI, `make dev`, the end-to-end suite) know of FACEIO.
pub static CATALOG: FaceioCatalog = FaceioCatalog;

/// FACEIO's [`Catalog`].
#[derive(Debug, Clone, Copy)]
pub struct FaceioCatalog;

/// The application id of the local stack.
const DEV_APP_ID: &str = "local-faceio-app";

const SETTINGS: &[Setting] = &[Setting {
    env: APP_ID_VAR,
    flag: "app-id",
    help: "FACEIO only: the application id put in generated bodies",
    dev: Some(DEV_APP_ID),
    // Another application, so that a delivery for one is refused by the other.
    dev_endpoint: Some("local-faceio-app-staging"),
}];

/// What the tools know of the provider.
static INFO: ProviderInfo = ProviderInfo {
    name: <Faceio as Provider>::NAME,
    binary: env!("CARGO_PKG_NAME"),
    about: "FACEIO: enrolment, authentication, deletion",
    signing: "`WWW-Authenticate: Bearer <token>`",
    dev_secret: "dev-faceio-token",
    settings: SETTINGS,
    event_codes: EVENT_CODES,
};

impl Catalog for FaceioCatalog {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// The fixture with a fresh facial id and client IP, today's date, and the configured
    /// application id.
    fn sample(&self, code: &str, fresh: &Fresh, env: &Env) -> Option<Sample> {
        let event_code = catalog::find_code(EVENT_CODES, code)?;
        let facial_id = format!("{}fioa", fresh.hex("facial-id", 32));
        let client_ip = format!("203.0.113.{}", fresh.below("client-ip", 254) + 1);
        let app_id = env.get(APP_ID_VAR).unwrap_or(DEV_APP_ID);
        let mut body = fresh.with_fresh_uuids(fixture(event_code)?);
        for (pointer, value) in [
            ("/facialId", facial_id.as_str()),
            ("/appId", app_id),
            ("/clientIp", client_ip.as_str()),
            ("/details/timestamp", &fresh.day()),
            ("/payload/whoami", &fresh.uuid("whoami")),
        ] {
            body = catalog::replace_value(&body, pointer, &Value::from(value)).unwrap_or(body);
        }
        Some(Sample {
            body: body.into_bytes(),
            event_code,
            subject: Some(facial_id),
        })
    }

    fn promoter(&self, env: &Env) -> Result<Box<dyn webhook_core::pipeline::Promote>, ConfigError> {
        Ok(Box::new(Faceio::from_env(env)?))
    }

    fn signer(&self, _env: &Env, secret: Secret) -> Result<Box<dyn Signer>, ConfigError> {
        Ok(Box::new(BearerSigner(secret)))
    }
}

/// Sends the token as FACEIO does: `WWW-Authenticate: Bearer <token>`.
#[derive(Debug)]
pub struct BearerSigner(pub Secret);

impl Signer for BearerSigner {
    fn header(&self, _body: &[u8], _now: i64, tamper: bool) -> (HeaderName, String) {
        (
            HeaderName::from_static(scheme::HEADER),
            format!("Bearer {}", catalog::token(&self.0, tamper)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_id_must_match_exactly() {
        let faceio = Faceio {
            app_id: "app-1".into(),
        };
        assert_eq!(faceio.check_app_id("app-1"), Ok(()));
        assert_eq!(faceio.check_app_id("app-2"), Err(VerifyError::WrongApp));
        assert_eq!(faceio.check_app_id("APP-1"), Err(VerifyError::WrongApp));
        assert_eq!(faceio.check_app_id(""), Err(VerifyError::WrongApp));
    }
}
