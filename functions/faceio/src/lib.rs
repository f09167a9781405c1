//! FACEIO webhooks: face enrolment, authentication and deletion, authenticated with a bearer
//! token in `WWW-Authenticate`. FACEIO gives up after 6 seconds.

#![forbid(unsafe_code)]

use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use webhook_core::config::{ConfigError, Env};
use webhook_core::provider::field_ci;
use webhook_core::verify::bearer;
use webhook_core::{
    IdempotencyKey, Provider, ProviderEvent, Verified, VerifyError, VersionedSecret,
};

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
            app_id: env.required("FACEIO_APP_ID")?,
        })
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
        bearer::verify(secrets, headers)
    }

    fn parse(&self, body: &Value) -> Option<FaceioEvent> {
        FaceioEvent::deserialize(body).ok()
    }

    /// The token is per application, and the body must also name this application: any body
    /// that does not carry our `appId` (another app, none, not JSON) is refused.
    fn accept(&self, body: Option<&Value>) -> Result<(), VerifyError> {
        let app_id = body
            .and_then(|json| field_ci(json, "appId"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        bearer::check_app_id(&self.app_id, app_id)
    }
}
