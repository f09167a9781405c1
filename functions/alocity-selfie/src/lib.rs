//! Alocity Selfie webhooks: face-enrolment invitations, signed with `Alocity-Signature`.

#![forbid(unsafe_code)]

use serde::Deserialize;
use serde_json::Value;
use webhook_core::ProviderInfo;
use webhook_core::alocity::{self, Alocity, AlocityCatalog, AlocityProduct, Envelope};

/// The Alocity Selfie product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selfie;

/// The Alocity Selfie provider: signature scheme plus [`SelfieEvent`].
pub type AlocitySelfie = Alocity<Selfie>;

/// What the tools (the `webhooks` CLI, `make dev`, the end-to-end suite) know of Alocity Selfie.
pub static CATALOG: AlocityCatalog<Selfie> = AlocityCatalog::new();

webhook_core::documented_events!("alocity-selfie":
    "InviteSent",
    "Template",
    "InviteInvalid",
    "FaceQualityFailures",
    "PinFailures",
    "PinOk",
    "FaceMatched",
);

/// Every Alocity Selfie event, by `EventCode`.
#[derive(Debug, Clone, PartialEq)]
pub enum SelfieEvent {
    /// An invitation was created and sent.
    InviteSent,
    /// A face template was generated; the photo is included when the account is set up so.
    Template(TemplatePayload),
    /// Too many PIN or photo attempts; the invitation is no longer valid.
    InviteInvalid(AttemptsPayload),
    /// A photo was rejected for quality.
    FaceQualityFailures(AttemptsPayload),
    /// A wrong PIN was entered.
    PinFailures(AttemptsPayload),
    /// The PIN was entered correctly.
    PinOk,
    /// The face matched other users of the organisation.
    FaceMatched(FaceMatchedPayload),
    /// A code this version does not know, or a known code whose payload has another shape.
    Unknown {
        /// The event code.
        code: String,
        /// The payload as received.
        payload: Value,
    },
}

/// `Template` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePayload {
    /// The face template.
    pub template: String,
    /// The photo used, base64 (may be hundreds of KB).
    #[serde(default)]
    pub image: Option<String>,
}

/// Attempt counters (`InviteInvalid` carries one of the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptsPayload {
    /// PIN attempts so far.
    #[serde(default)]
    pub pin_attempts: Option<u32>,
    /// Photo attempts so far.
    #[serde(default)]
    pub photo_attempts: Option<u32>,
}

/// `FaceMatched` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatchedPayload {
    /// User ids the face matched.
    pub subjects: Vec<String>,
}

impl AlocityProduct for Selfie {
    const INFO: &'static ProviderInfo = &ProviderInfo {
        name: "alocity-selfie",
        binary: env!("CARGO_PKG_NAME"),
        about: "Alocity Selfie: face-enrolment invitations",
        signing: alocity::SIGNING,
        dev_secret: "dev-alocity-selfie-secret",
        settings: &[],
        event_codes: EVENT_CODES,
    };
    type Kind = SelfieEvent;

    fn fixture(code: &str) -> Option<&'static str> {
        fixture(code)
    }

    fn classify(envelope: &Envelope) -> SelfieEvent {
        let typed = match envelope.event_code.as_str() {
            "InviteSent" => Some(SelfieEvent::InviteSent),
            "PinOk" => Some(SelfieEvent::PinOk),
            "Template" => envelope.payload_as().map(SelfieEvent::Template),
            "InviteInvalid" => envelope.payload_as().map(SelfieEvent::InviteInvalid),
            "FaceQualityFailures" => envelope.payload_as().map(SelfieEvent::FaceQualityFailures),
            "PinFailures" => envelope.payload_as().map(SelfieEvent::PinFailures),
            "FaceMatched" => envelope.payload_as().map(SelfieEvent::FaceMatched),
            _ => None,
        };
        typed.unwrap_or_else(|| SelfieEvent::Unknown {
            code: envelope.event_code.clone(),
            payload: envelope.payload.clone(),
        })
    }

    /// The invitation, as the correlation id the customer supplied; the event id otherwise.
    fn subject(envelope: &Envelope, _kind: &SelfieEvent) -> Option<String> {
        envelope
            .correlation_id
            .clone()
            .or_else(|| Some(envelope.id.clone()))
    }
}
