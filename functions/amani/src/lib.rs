//! Amani KYC webhooks: profiles and documents, authenticated by an HMAC signature of the
//! Python-`json.dumps` body or by the secret token in a header.

#![forbid(unsafe_code)]

pub mod scheme;

use http::{HeaderMap, HeaderName, HeaderValue};
use pyjson::python_dumps;
use scheme::{DEFAULT_TOKEN_HEADER, SIGNATURE_HEADER};
use serde::Deserialize;
use serde_json::Value;
use webhook_core::catalog::{
    self, AuditRule, Catalog, Fresh, ProviderInfo, Sample, Setting, Signer,
};
use webhook_core::config::{ConfigError, Env};
use webhook_core::provider::{field_ci, scalar_text, unix_seconds_to_iso};
use webhook_core::quarantine::Credentials;
use webhook_core::verify::{audit_header, joined_header, mac_shaped};
use webhook_core::{
    IdempotencyKey, Provider, ProviderEvent, Secret, Verified, VerifyError, VersionedSecret,
};

/// The environment variable choosing the security mode.
pub const AUTH_MODE_VAR: &str = "AMANI_AUTH_MODE";
/// The environment variable naming the token header (token mode).
pub const TOKEN_HEADER_VAR: &str = "AMANI_TOKEN_HEADER";

/// How Amani proves a webhook is theirs, chosen when the webhook is made (`signature_enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmaniAuth {
    /// `Webhook-Signature`: base64 HMAC-SHA256 of the `json.dumps` body.
    Signature,
    /// The secret itself in a header (lower-case name).
    Token {
        /// The header carrying the token.
        header: &'static str,
    },
}

/// The Amani provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amani {
    /// The security mode.
    pub auth: AmaniAuth,
}

impl Amani {
    /// Reads `AMANI_AUTH_MODE` (`signature` | `token`, default `signature`) and
    /// `AMANI_TOKEN_HEADER` (default `Webhook-Token`).
    ///
    /// # Errors
    /// An unknown mode, or a token header name that is not a valid HTTP header name.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let auth = match env.get(AUTH_MODE_VAR).unwrap_or("signature") {
            mode if mode.eq_ignore_ascii_case("signature") => AmaniAuth::Signature,
            mode if mode.eq_ignore_ascii_case("token") => {
                let name = env
                    .get(TOKEN_HEADER_VAR)
                    .unwrap_or(DEFAULT_TOKEN_HEADER)
                    .to_ascii_lowercase();
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(ConfigError {
                        name: TOKEN_HEADER_VAR.into(),
                        problem: format!("has value {name:?} which is not an HTTP header name"),
                    });
                }
                // Read once per cold start; the name lives as long as the process.
                AmaniAuth::Token {
                    header: Box::leak(name.into_boxed_str()),
                }
            }
            other => {
                return Err(ConfigError {
                    name: AUTH_MODE_VAR.into(),
                    problem: format!("has value {other:?}; expected \"signature\" or \"token\""),
                });
            }
        };
        Ok(Self { auth })
    }
}

/// Amani's event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmaniEventName {
    /// `profile_create`
    ProfileCreate,
    /// `profile_update`
    ProfileUpdate,
    /// `profile_status_change`
    ProfileStatusChange,
    /// `profile_level_update`
    ProfileLevelUpdate,
    /// `document_upload`
    DocumentUpload,
    /// `document_delete`
    DocumentDelete,
    /// `document_update`
    DocumentUpdate,
    /// `document_status_change`
    DocumentStatusChange,
    /// `zip_file_create`
    ZipFileCreate,
    /// `video_call_status_change`
    VideoCallStatusChange,
    /// A name this version does not know.
    Unknown(String),
}

impl AmaniEventName {
    fn from_name(name: &str) -> Self {
        match name {
            "profile_create" => Self::ProfileCreate,
            "profile_update" => Self::ProfileUpdate,
            "profile_status_change" => Self::ProfileStatusChange,
            "profile_level_update" => Self::ProfileLevelUpdate,
            "document_upload" => Self::DocumentUpload,
            "document_delete" => Self::DocumentDelete,
            "document_update" => Self::DocumentUpdate,
            "document_status_change" => Self::DocumentStatusChange,
            "zip_file_create" => Self::ZipFileCreate,
            "video_call_status_change" => Self::VideoCallStatusChange,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// The profile fields Amani documents; everything else stays in the stored body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// Profile id (uuid).
    #[serde(default)]
    pub id: Option<String>,
    /// Your id for the profile.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Creation time, as sent.
    #[serde(default)]
    pub created_at: Option<Value>,
    /// Last update time, as sent.
    #[serde(default)]
    pub updated_at: Option<Value>,
    /// Last status change, unix seconds.
    #[serde(default)]
    pub last_status_update: Option<i64>,
    /// `CREATED`, `INCOMPLETE`, `PENDING_REVIEW`, `APPROVED`, `REJECTED`, …
    #[serde(default)]
    pub status: Option<String>,
}

/// An Amani webhook. The envelope is not public, so the name and profile are found leniently
/// (`event` / `event_name` / `type`; `profile.id` / `profile_id` / `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmaniEvent {
    /// The event name as sent.
    pub event_name: String,
    /// The profile the event is about.
    pub profile: Profile,
    /// The document, for document events.
    pub document: Option<Value>,
}

impl AmaniEvent {
    /// The event name as a typed value.
    pub fn name(&self) -> AmaniEventName {
        AmaniEventName::from_name(&self.event_name)
    }

    fn from_json(body: &Value) -> Option<Self> {
        let event_name = ["event", "event_name", "type"]
            .iter()
            .find_map(|name| field_ci(body, name).and_then(Value::as_str))
            .filter(|name| !name.is_empty())?
            .to_owned();
        let nested = field_ci(body, "profile").filter(|profile| profile.is_object());
        let mut profile = nested
            .and_then(|profile| Profile::deserialize(profile).ok())
            .or_else(|| Profile::deserialize(body).ok())
            .unwrap_or_default();
        if profile.id.is_none() || nested.is_none() {
            profile.id = field_ci(body, "profile_id")
                .and_then(scalar_text)
                .or(profile.id);
        }
        Some(Self {
            event_name,
            profile,
            document: field_ci(body, "document").cloned(),
        })
    }
}

impl ProviderEvent for AmaniEvent {
    fn code(&self) -> &str {
        &self.event_name
    }

    /// Amani sends no event id: an exact resend is the same body.
    fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::BodyHash
    }

    fn subject(&self) -> Option<&str> {
        self.profile.id.as_deref().filter(|id| !id.is_empty())
    }

    fn provider_time(&self) -> Option<String> {
        self.profile
            .updated_at
            .as_ref()
            .and_then(scalar_text)
            .or_else(|| {
                self.profile
                    .last_status_update
                    .and_then(unix_seconds_to_iso)
            })
    }
}

impl Provider for Amani {
    const NAME: &'static str = "amani";
    type Event = AmaniEvent;

    fn authenticate(
        &self,
        secrets: &[VersionedSecret],
        body: &[u8],
        headers: &HeaderMap,
        _now: i64,
    ) -> Result<Verified, VerifyError> {
        match self.auth {
            AmaniAuth::Signature => scheme::verify_signature(secrets, body, headers),
            AmaniAuth::Token { header } => scheme::verify_token(secrets, headers, header),
        }
    }

    /// Signature mode: a MAC of the right size. Token mode: always (a rotated token and a
    /// forged one have no shape to tell them apart; a refused delivery is held in the quarantine).
    fn worth_a_refresh(
        &self,
        _secrets: &[VersionedSecret],
        _body: &[u8],
        headers: &HeaderMap,
    ) -> bool {
        match self.auth {
            AmaniAuth::Signature => audit_header(headers, SIGNATURE_HEADER, SIGNATURE_HEADER)
                .is_some_and(|value| mac_shaped(&value)),
            AmaniAuth::Token { .. } => true,
        }
    }

    fn audit_signature(&self, headers: &HeaderMap) -> Option<String> {
        match self.auth {
            // As verified: every value joined.
            AmaniAuth::Signature => audit_header(headers, SIGNATURE_HEADER, SIGNATURE_HEADER),
            // The token is the secret itself: never stored.
            AmaniAuth::Token { .. } => None,
        }
    }

    /// Signature mode: the signature header; token mode: the hash of the token.
    fn held_credentials(&self, headers: &HeaderMap) -> Credentials {
        match self.auth {
            AmaniAuth::Signature => Credentials::signature(headers, SIGNATURE_HEADER),
            AmaniAuth::Token { header } => {
                match joined_header(headers, header, header).ok().flatten() {
                    Some(value) if !value.trim().is_empty() => Credentials::tokens([value.trim()]),
                    _ => Credentials::default(),
                }
            }
        }
    }

    fn parse(&self, body: &Value) -> Option<AmaniEvent> {
        AmaniEvent::from_json(body)
    }
}

webhook_core::documented_events!("amani":
    "profile_create",
    "profile_update",
    "profile_status_change",
    "profile_level_update",
    "document_upload",
    "document_delete",
    "document_update",
    "document_status_change",
    "zip_file_create",
    "video_call_status_change",
);

/// What the tools (the `webhooks` CLI, `make dev`, the end-to-end suite) know of Amani.
pub static CATALOG: AmaniCatalog = AmaniCatalog;

/// Amani's [`Catalog`].
#[derive(Debug, Clone, Copy)]
pub struct AmaniCatalog;

const SETTINGS: &[Setting] = &[
    Setting {
        env: AUTH_MODE_VAR,
        flag: "amani-mode",
        help: "Amani only: how the webhook is authenticated, signature or token [default: \
               signature]",
        dev: Some("signature"),
        // The local stack's second endpoint shows the other mode.
        dev_endpoint: Some("token"),
    },
    Setting {
        env: TOKEN_HEADER_VAR,
        flag: "token-header",
        help: "Amani token mode only: the header carrying the token [default: Webhook-Token]",
        dev: None,
        dev_endpoint: None,
    },
];

/// What the tools know of the provider.
static INFO: ProviderInfo = ProviderInfo {
    name: <Amani as Provider>::NAME,
    binary: env!("CARGO_PKG_NAME"),
    about: "Amani KYC: profiles and documents",
    signing: "`Webhook-Signature`: HMAC of the json.dumps bytes; token mode: --token-header",
    dev_secret: "dev-amani-secret",
    settings: SETTINGS,
    event_codes: EVENT_CODES,
};

impl Catalog for AmaniCatalog {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// The fixture with fresh ids (every UUID) and update time, as Python's `json.dumps` writes
    /// it: what Amani's sender puts on the wire.
    fn sample(&self, code: &str, fresh: &Fresh, _env: &Env) -> Option<Sample> {
        let event_code = catalog::find_code(EVENT_CODES, code)?;
        let mut body = fresh.with_fresh_uuids(fixture(event_code)?);
        let updated_at = format!(
            "{}.{:06}Z",
            unix_seconds_to_iso(fresh.now)?.trim_end_matches('Z'),
            fresh.below("updated-at", 1_000_000)
        );
        for pointer in ["/profile/updated_at", "/updated_at"] {
            body = catalog::replace_value(&body, pointer, &Value::from(updated_at.as_str()))
                .unwrap_or(body);
        }
        let body = python_dumps(body.as_bytes()).ok()?;
        let subject = serde_json::from_slice(&body)
            .ok()
            .and_then(|json| AmaniEvent::from_json(&json))
            .and_then(|event| event.subject().map(str::to_owned));
        Some(Sample {
            body,
            event_code,
            subject,
        })
    }

    fn promoter(&self, env: &Env) -> Result<Box<dyn webhook_core::pipeline::Promote>, ConfigError> {
        Ok(Box::new(Amani::from_env(env)?))
    }

    fn signer(&self, env: &Env, secret: Secret) -> Result<Box<dyn Signer>, ConfigError> {
        match Amani::from_env(env)?.auth {
            AmaniAuth::Signature if env.get(TOKEN_HEADER_VAR).is_some() => Err(ConfigError {
                name: TOKEN_HEADER_VAR.into(),
                problem: format!("applies only when {AUTH_MODE_VAR} is token"),
            }),
            AmaniAuth::Signature => Ok(Box::new(SignatureSigner(secret))),
            AmaniAuth::Token { header } => Ok(Box::new(TokenSigner {
                secret,
                header: HeaderName::from_bytes(header.as_bytes()).map_err(|_| ConfigError {
                    name: TOKEN_HEADER_VAR.into(),
                    problem: format!("has value {header:?} which is not an HTTP header name"),
                })?,
            })),
        }
    }

    fn audit(&self) -> Option<AuditRule> {
        Some(reverify)
    }
}

/// The tamper audit for signature mode: the stored `Webhook-Signature` against the stored body
/// (either form, as on arrival).
///
/// # Errors
/// A malformed stored header, or no candidate secret that signs the body.
pub fn reverify(
    secrets: &[VersionedSecret],
    body: &[u8],
    signature: &str,
) -> Result<Verified, VerifyError> {
    let value = HeaderValue::from_str(signature)
        .map_err(|_| VerifyError::MalformedHeader(SIGNATURE_HEADER))?;
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, value);
    scheme::verify_signature(secrets, body, &headers)
}

/// Signs as Amani does: `Webhook-Signature` = base64 HMAC-SHA256 of the `json.dumps` bytes (a
/// body that is not JSON is signed as it is).
#[derive(Debug)]
pub struct SignatureSigner(pub Secret);

impl Signer for SignatureSigner {
    fn header(&self, body: &[u8], _now: i64, tamper: bool) -> (HeaderName, String) {
        let message = python_dumps(body).unwrap_or_else(|_| body.to_vec());
        (
            HeaderName::from_static(SIGNATURE_HEADER),
            scheme::sign(&self.0, &catalog::tampered(&message, tamper)),
        )
    }
}

/// Token mode: the secret itself in a header.
#[derive(Debug)]
pub struct TokenSigner {
    /// The token.
    pub secret: Secret,
    /// The header carrying it.
    pub header: HeaderName,
}

impl Signer for TokenSigner {
    fn header(&self, _body: &[u8], _now: i64, tamper: bool) -> (HeaderName, String) {
        (self.header.clone(), catalog::token(&self.secret, tamper))
    }
}
