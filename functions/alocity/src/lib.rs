//! Alocity access-control webhooks: doors, locks, access logs, cards and faces, signed with
//! `Alocity-Signature` (one secret per webhook).

#![forbid(unsafe_code)]

use serde::Deserialize;
use serde_json::Value;
use webhook_core::Fresh;
use webhook_core::ProviderInfo;
use webhook_core::alocity::{self, Alocity, AlocityCatalog, AlocityProduct, Envelope};
use webhook_core::provider::{field_ci, scalar_text};

/// The Alocity access-control product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessControl;

/// The Alocity access-control provider: signature scheme plus [`AccessEvent`].
pub type AlocityAccess = Alocity<AccessControl>;

/// What the tools (the `webhooks` CLI, `make dev`, the end-to-end suite) know of Alocity access
/// control.
pub static CATALOG: AlocityCatalog<AccessControl> = AlocityCatalog::new();

webhook_core::documented_events!("alocity":
    "accesslog.created",
    "door.healthcheck",
    "door.state",
    "lock.state",
    "user.card",
    "user.face",
);

/// Every Alocity access-control event, by `EventCode`.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessEvent {
    /// `accesslog.created`: a device logged an access attempt.
    AccessLogCreated(AccessLog),
    /// `door.healthcheck`: a device health report or connection change.
    DoorHealthcheck(DoorHealth),
    /// `door.state`: the door state changed.
    DoorState(DoorState),
    /// `lock.state`: the lock state changed.
    LockState(LockState),
    /// `user.card`: a card was created for a user.
    UserCard(UserCard),
    /// `user.face`: a user's face was enrolled, updated or removed.
    UserFace(UserFace),
    /// A code this version does not know, or a known code whose payload has another shape.
    Unknown {
        /// The event code.
        code: String,
        /// The payload as received.
        payload: Value,
    },
}

/// An access log. Its model is not fully public, so it is kept whole with the fields we know
/// read out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLog {
    /// The user, when the log names one.
    pub user_id: Option<String>,
    /// The device's serial number, when present.
    pub serial_number: Option<String>,
    /// The access result, when present.
    pub result: Option<AccessResult>,
    /// The whole model as received.
    pub fields: Value,
}

/// Alocity's access-log result type (its standard values; there is no 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessResult {
    /// 0
    AccessGranted,
    /// 1
    NotSchedule,
    /// 2
    UnknownUser,
    /// 3
    DeviceInLockdown,
    /// 4
    NonLiveUser,
    /// 6
    CardFormatError,
    /// 7
    LockdownStart,
    /// 8
    LockdownEnd,
    /// 9
    Doorbell,
    /// A value this version does not know, kept as sent.
    Other(i64),
}

impl From<i64> for AccessResult {
    fn from(value: i64) -> Self {
        match value {
            0 => Self::AccessGranted,
            1 => Self::NotSchedule,
            2 => Self::UnknownUser,
            3 => Self::DeviceInLockdown,
            4 => Self::NonLiveUser,
            6 => Self::CardFormatError,
            7 => Self::LockdownStart,
            8 => Self::LockdownEnd,
            9 => Self::Doorbell,
            other => Self::Other(other),
        }
    }
}

/// `door.healthcheck` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorHealth {
    /// Device serial number.
    pub serial_number: String,
    /// Firmware version.
    #[serde(default)]
    pub firmware_version: Option<String>,
    /// Whether the device database is active.
    #[serde(default)]
    pub database_active: Option<bool>,
    /// Whether the device is connected.
    #[serde(default)]
    pub is_connected: Option<bool>,
    /// Device IP; empty when sent for a connection-state change.
    #[serde(default)]
    pub ip_address: Option<String>,
}

/// `door.state` payload. The state's values are not public: kept as sent (number or string).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorState {
    /// Device serial number.
    pub serial_number: String,
    /// `DoorStateType`, as sent.
    pub door_state: Value,
}

/// `lock.state` payload. The state's values are not public: kept as sent (number or string).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockState {
    /// Device serial number.
    pub serial_number: String,
    /// `LockStateType`, as sent.
    pub lock_state: Value,
}

/// `user.card` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCard {
    /// The user.
    pub user_id: String,
    /// `Created` (the only documented value).
    pub action: String,
    /// Facility code.
    pub facility_code: i64,
    /// Card number.
    pub card_number: i64,
}

/// `user.face` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFace {
    /// The user whose face this is.
    pub id: String,
    /// `Enrolled`, `Updated` or `Removed`.
    pub action: String,
}

impl AccessLog {
    fn from_payload(payload: &Value) -> Option<Self> {
        payload.as_object()?;
        let text = |name: &str| field_ci(payload, name).and_then(scalar_text);
        let result = ["accessResult", "result", "accessResultType"]
            .iter()
            .find_map(|name| field_ci(payload, name).and_then(Value::as_i64))
            .map(AccessResult::from);
        Some(Self {
            user_id: text("userId"),
            serial_number: text("serialNumber"),
            result,
            fields: payload.clone(),
        })
    }
}

impl AlocityProduct for AccessControl {
    const INFO: &'static ProviderInfo = &ProviderInfo {
        name: "alocity",
        binary: env!("CARGO_PKG_NAME"),
        about: "Alocity access control: doors, locks, access logs, cards, faces",
        signing: alocity::SIGNING,
        dev_secret: "dev-alocity-secret",
        settings: &[],
        event_codes: EVENT_CODES,
    };
    type Kind = AccessEvent;

    fn fixture(code: &str) -> Option<&'static str> {
        fixture(code)
    }

    /// A fresh device serial number (`ALC-DR-` and six digits), so each sample is about a new
    /// device.
    fn refresh_payload(body: String, fresh: &Fresh) -> String {
        let serial = format!("ALC-DR-{:06}", fresh.below("serial", 1_000_000));
        webhook_core::catalog::replace_value(&body, "/Payload/serialNumber", &Value::from(serial))
            .unwrap_or(body)
    }

    fn classify(envelope: &Envelope) -> AccessEvent {
        let typed = match envelope.event_code.as_str() {
            "accesslog.created" => {
                AccessLog::from_payload(&envelope.payload).map(AccessEvent::AccessLogCreated)
            }
            "door.healthcheck" => envelope.payload_as().map(AccessEvent::DoorHealthcheck),
            "door.state" => envelope.payload_as().map(AccessEvent::DoorState),
            "lock.state" => envelope.payload_as().map(AccessEvent::LockState),
            "user.card" => envelope.payload_as().map(AccessEvent::UserCard),
            "user.face" => envelope.payload_as().map(AccessEvent::UserFace),
            _ => None,
        };
        typed.unwrap_or_else(|| AccessEvent::Unknown {
            code: envelope.event_code.clone(),
            payload: envelope.payload.clone(),
        })
    }

    /// The device for door and lock events, the user for user events and access logs (the
    /// device when the log names no user).
    fn subject(_envelope: &Envelope, kind: &AccessEvent) -> Option<String> {
        match kind {
            AccessEvent::AccessLogCreated(log) => {
                log.user_id.clone().or_else(|| log.serial_number.clone())
            }
            AccessEvent::DoorHealthcheck(DoorHealth { serial_number, .. })
            | AccessEvent::DoorState(DoorState { serial_number, .. })
            | AccessEvent::LockState(LockState { serial_number, .. }) => {
                Some(serial_number.clone())
            }
            AccessEvent::UserCard(card) => Some(card.user_id.clone()),
            AccessEvent::UserFace(face) => Some(face.id.clone()),
            AccessEvent::Unknown { code, payload } => {
                let device_event = code.starts_with("door.") || code.starts_with("lock.");
                device_event
                    .then(|| field_ci(payload, "serialNumber").and_then(scalar_text))
                    .flatten()
            }
        }
    }
}
