//! Realistic sample bodies for every documented event code, with fresh ids on every call, in the
//! shapes the providers document (see `providers.md`).
//!
//! Each template is JSON text with `%NAME%` placeholders, so the field order is the provider's
//! (a JSON map would sort it). Amani bodies are sent as Python's `json.dumps` writes them.

use base64::Engine as _;
use pyjson::python_dumps;
use uuid::Uuid;

use crate::args::ProviderName;

/// A generated body and what the receiver should make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The exact bytes to send.
    pub body: Vec<u8>,
    /// The event code inside.
    pub event_code: &'static str,
    /// The subject the receiver should index it under.
    pub subject: String,
}

/// The values a sample is built from; [`Fresh::new`] makes new ones for every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    /// Unix seconds now.
    pub now: i64,
    /// FACEIO application id.
    pub app_id: String,
    ids: [Uuid; 4],
}

impl Fresh {
    /// New random ids at time `now` (unix seconds).
    pub fn new(now: i64, app_id: &str) -> Self {
        Self {
            now,
            app_id: app_id.to_owned(),
            ids: [
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
            ],
        }
    }

    fn id(&self, index: usize) -> String {
        self.ids[index].to_string()
    }

    /// Random bytes derived from the ids (no extra randomness source needed).
    fn bytes(&self) -> Vec<u8> {
        self.ids.iter().flat_map(|id| *id.as_bytes()).collect()
    }

    /// A device serial number like Alocity's: `ALC-DR-` and six digits.
    fn serial(&self) -> String {
        let [a, b, c, ..] = *self.ids[2].as_bytes();
        format!(
            "ALC-DR-{:06}",
            (u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c)) % 1_000_000
        )
    }

    /// A FACEIO facial id: 32 hex digits and `fioa`.
    fn facial_id(&self) -> String {
        format!("{}fioa", self.ids[0].simple())
    }

    /// A documentation-range IPv4 address.
    fn client_ip(&self) -> String {
        format!("203.0.113.{}", self.ids[3].as_bytes()[0] % 254 + 1)
    }

    fn iso_seconds(&self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.now)
            .ok()
            .and_then(|at| {
                at.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
                ))
                .ok()
            })
            .unwrap_or_default()
    }

    /// Amani's time form: microseconds, `Z`.
    fn iso_micros(&self) -> String {
        let micros =
            u32::from_be_bytes([0, 0, self.ids[3].as_bytes()[1], self.ids[3].as_bytes()[2]]);
        let seconds = self.iso_seconds();
        format!(
            "{}.{:06}Z",
            seconds.trim_end_matches('Z'),
            micros % 1_000_000
        )
    }

    fn day(&self) -> String {
        self.iso_seconds().chars().take(10).collect()
    }
}

/// The documented event codes of `provider`; the first is the default.
pub fn event_codes(provider: ProviderName) -> &'static [&'static str] {
    match provider {
        ProviderName::AlocitySelfie => &[
            "InviteSent",
            "Template",
            "InviteInvalid",
            "FaceQualityFailures",
            "PinFailures",
            "PinOk",
            "FaceMatched",
        ],
        ProviderName::Alocity => &[
            "accesslog.created",
            "door.healthcheck",
            "door.state",
            "lock.state",
            "user.card",
            "user.face",
        ],
        ProviderName::Faceio => &["ENROLL", "AUTH", "DELETION"],
        ProviderName::Amani => &[
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
        ],
    }
}

/// The documented code equal to `code` (exact spelling), or `None`.
pub fn find_code(provider: ProviderName, code: &str) -> Option<&'static str> {
    event_codes(provider)
        .iter()
        .copied()
        .find(|known| *known == code)
}

/// Our Alocity account and organisation (fixed, as they would be for one customer).
const ACCOUNT_ID: &str = "5b0f7c1e-6a2d-4f39-9c84-0e2d7a61b3f5";
const ORGANIZATION_ID: &str = "c4e9a2d7-1f3b-4c68-a5e0-9d8b7f6e2a14";

const ALOCITY_ENVELOPE: &str = r#"{"Id":"%ID%","AccountId":"%ACCOUNT%","OrganizationId":"%ORG%","CorrelationId":"%CORRELATION%","EventCode":"%CODE%","Payload":%PAYLOAD%,"TimeStamp":%NOW%}"#;

/// A fresh body for `code` of `provider` (a code from [`event_codes`]).
pub fn sample(provider: ProviderName, code: &'static str, fresh: &Fresh) -> Sample {
    match provider {
        ProviderName::AlocitySelfie => alocity_selfie(code, fresh),
        ProviderName::Alocity => alocity(code, fresh),
        ProviderName::Faceio => faceio(code, fresh),
        ProviderName::Amani => amani(code, fresh),
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("%{name}%"), value)
        })
}

fn envelope(code: &'static str, payload: &str, fresh: &Fresh) -> String {
    fill(
        ALOCITY_ENVELOPE,
        &[
            ("PAYLOAD", payload),
            ("ID", &fresh.id(0)),
            ("ACCOUNT", ACCOUNT_ID),
            ("ORG", ORGANIZATION_ID),
            ("CORRELATION", &fresh.id(1)),
            ("CODE", code),
            ("NOW", &fresh.now.to_string()),
        ],
    )
}

fn alocity_selfie(code: &'static str, fresh: &Fresh) -> Sample {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let template = b64(&fresh.bytes().repeat(12));
    // A PNG signature and header start, then noise: the shape of the photo Alocity includes.
    let mut photo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    photo.extend(fresh.bytes().repeat(8));
    let payload = match code {
        "Template" => format!(r#"{{"template":"{template}","image":"{}"}}"#, b64(&photo)),
        "InviteInvalid" => r#"{"pinAttempts":4}"#.to_owned(),
        "FaceQualityFailures" => r#"{"photoAttempts":2}"#.to_owned(),
        "PinFailures" => r#"{"pinAttempts":1}"#.to_owned(),
        "FaceMatched" => format!(r#"{{"subjects":["{}","{}"]}}"#, fresh.id(2), fresh.id(3)),
        // InviteSent, PinOk
        _ => "null".to_owned(),
    };
    Sample {
        body: envelope(code, &payload, fresh).into_bytes(),
        event_code: code,
        subject: fresh.id(1),
    }
}

fn alocity(code: &'static str, fresh: &Fresh) -> Sample {
    let serial = fresh.serial();
    let user = fresh.id(3);
    let (payload, subject) = match code {
        "accesslog.created" => (
            fill(
                r#"{"id":"%LOG%","userId":"%USER%","userName":"Dana Reyes","serialNumber":"%SERIAL%","doorName":"Main Entrance","accessResult":0,"credentialType":"Face","createdAt":"%AT%"}"#,
                &[
                    ("LOG", &fresh.id(2)),
                    ("USER", &user),
                    ("SERIAL", &serial),
                    ("AT", &fresh.iso_seconds()),
                ],
            ),
            user,
        ),
        "door.healthcheck" => (
            fill(
                r#"{"serialNumber":"%SERIAL%","firmwareVersion":"3.14.2","databaseActive":true,"isConnected":true,"ipAddress":"10.20.30.41"}"#,
                &[("SERIAL", &serial)],
            ),
            serial,
        ),
        "door.state" => (
            fill(
                r#"{"serialNumber":"%SERIAL%","doorState":1}"#,
                &[("SERIAL", &serial)],
            ),
            serial,
        ),
        "lock.state" => (
            fill(
                r#"{"serialNumber":"%SERIAL%","lockState":"Unlocked"}"#,
                &[("SERIAL", &serial)],
            ),
            serial,
        ),
        "user.card" => {
            let card = u64::from(fresh.ids[2].as_bytes()[3]) << 24
                | u64::from(fresh.ids[2].as_bytes()[4]) << 8
                | 0x1_0000_0000;
            (
                format!(
                    r#"{{"userId":"{user}","action":"Created","facilityCode":101,"cardNumber":{card}}}"#
                ),
                user,
            )
        }
        // user.face
        _ => (format!(r#"{{"id":"{user}","action":"Enrolled"}}"#), user),
    };
    Sample {
        body: envelope(code, &payload, fresh).into_bytes(),
        event_code: code,
        subject,
    }
}

fn faceio(code: &'static str, fresh: &Fresh) -> Sample {
    let facial_id = fresh.facial_id();
    let values = [
        ("CODE", code),
        ("FACIAL", facial_id.as_str()),
        ("APP", fresh.app_id.as_str()),
        ("IP", &fresh.client_ip()),
        ("DAY", &fresh.day()),
        ("WHO", &fresh.id(1)),
    ];
    let template = match code {
        "ENROLL" => {
            r#"{"eventName":"%CODE%","facialId":"%FACIAL%","appId":"%APP%","clientIp":"%IP%","details":{"timestamp":"%DAY%","gender":"female","age":"31"},"payload":{"whoami":"%WHO%","email":"dana@example.com"}}"#
        }
        // AUTH, DELETION
        _ => r#"{"eventName":"%CODE%","facialId":"%FACIAL%","appId":"%APP%","clientIp":"%IP%"}"#,
    };
    Sample {
        body: fill(template, &values).into_bytes(),
        event_code: code,
        subject: facial_id,
    }
}

const AMANI_PROFILE: &str = r#""profile":{"id":"%PROFILE%","external_id":"cust-%EXT%","created_at":"2026-01-12T08:30:00.000000Z","updated_at":"%UPDATED%","last_status_update":%NOW%,"status":"%STATUS%","first_name":"Şükrü","last_name":"Çağlar"}"#;

fn amani(code: &'static str, fresh: &Fresh) -> Sample {
    let profile_id = fresh.id(0);
    let status = match code {
        "profile_create" => "CREATED",
        "profile_update" | "document_delete" => "INCOMPLETE",
        "profile_status_change" | "zip_file_create" => "APPROVED",
        "document_status_change" => "REJECTED",
        "video_call_status_change" => "PENDING_APPROVAL",
        // profile_level_update, document_upload, document_update
        _ => "PENDING_REVIEW",
    };
    let details = match code {
        "profile_update" => {
            r#","changes":{"risk_score":0.25,"threshold":1e-05,"completion":100.0}"#
        }
        "profile_status_change" => r#","previous_status":"PENDING_REVIEW","status":"APPROVED""#,
        "profile_level_update" => r#","level":{"previous":1,"current":2,"name":"Level 2"}"#,
        "document_upload" => {
            r#","document":{"id":"%DOC%","type":"ID","status":"PENDING_REVIEW","pages":[{"side":"front"},{"side":"back"}]}"#
        }
        "document_delete" => r#","document":{"id":"%DOC%","type":"SE","deleted_at":"%AT%"}"#,
        "document_update" => {
            r#","document":{"id":"%DOC%","type":"UB","url":"https://files.example.com/docs/%DOC%.pdf"}"#
        }
        "document_status_change" => {
            r#","document":{"id":"%DOC%","type":"ID","status":"REJECTED","rejection":{"reasons":[{"code":"BLUR","fields":["photo"]}]}}"#
        }
        "zip_file_create" => {
            r#","zip_file":{"url":"https://files.example.com/exports/%PROFILE%.zip","size":104857}"#
        }
        "video_call_status_change" => {
            r#","video_call":{"id":"%DOC%","status":"COMPLETED","duration_seconds":312}"#
        }
        // profile_create
        _ => "",
    };
    let text = fill(
        &format!(r#"{{"event":"%CODE%",{AMANI_PROFILE}{details}}}"#),
        &[
            ("CODE", code),
            ("PROFILE", &profile_id),
            ("EXT", &fresh.ids[1].simple().to_string()[..8]),
            ("UPDATED", &fresh.iso_micros()),
            ("NOW", &fresh.now.to_string()),
            ("STATUS", status),
            ("DOC", &fresh.id(2)),
            ("AT", &fresh.iso_seconds()),
        ],
    );
    // What Amani's Python sender puts on the wire; the template is always valid JSON.
    let body = python_dumps(text.as_bytes()).unwrap_or_else(|_| text.into_bytes());
    Sample {
        body,
        event_code: code,
        subject: profile_id,
    }
}

#[cfg(test)]
mod tests {
    use alocity::AlocityAccess;
    use alocity_selfie::AlocitySelfie;
    use amani::Amani;
    use faceio::Faceio;
    use webhook_core::{Provider, ProviderEvent};

    use super::*;

    const NOW: i64 = 1_795_511_521;

    /// Parses `sample` with the provider's own model, as the function does.
    fn parsed<P: Provider>(provider: &P, sample: &Sample) -> (String, Option<String>) {
        let json: serde_json::Value = serde_json::from_slice(&sample.body).unwrap();
        let event = provider
            .parse(&json)
            .expect("the provider's model reads it");
        (event.code().to_owned(), event.subject().map(str::to_owned))
    }

    #[test]
    fn every_code_parses_as_that_code_with_the_expected_subject() {
        let fresh = || Fresh::new(NOW, "local-faceio-app");
        for provider in ProviderName::ALL {
            for &code in event_codes(provider) {
                let sample = sample(provider, code, &fresh());
                let (parsed_code, subject) = match provider {
                    ProviderName::AlocitySelfie => parsed(&AlocitySelfie::new(300), &sample),
                    ProviderName::Alocity => parsed(&AlocityAccess::new(300), &sample),
                    ProviderName::Faceio => parsed(
                        &Faceio {
                            app_id: "local-faceio-app".into(),
                        },
                        &sample,
                    ),
                    ProviderName::Amani => parsed(
                        &Amani {
                            auth: amani::AmaniAuth::Signature,
                        },
                        &sample,
                    ),
                };
                assert_eq!(parsed_code, code, "{provider:?}");
                assert_eq!(subject.as_deref(), Some(sample.subject.as_str()), "{code}");
                assert_eq!(sample.event_code, code);
            }
        }
    }

    #[test]
    fn documented_codes_are_typed_not_unknown() {
        let fresh = Fresh::new(NOW, "app");
        for &code in event_codes(ProviderName::AlocitySelfie) {
            let json =
                serde_json::from_slice(&sample(ProviderName::AlocitySelfie, code, &fresh).body)
                    .unwrap();
            let event = AlocitySelfie::new(300).parse(&json).unwrap();
            assert!(
                !matches!(event.kind, alocity_selfie::SelfieEvent::Unknown { .. }),
                "{code}"
            );
        }
        for &code in event_codes(ProviderName::Alocity) {
            let json =
                serde_json::from_slice(&sample(ProviderName::Alocity, code, &fresh).body).unwrap();
            let event = AlocityAccess::new(300).parse(&json).unwrap();
            assert!(
                !matches!(event.kind, alocity::AccessEvent::Unknown { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn every_call_has_fresh_ids() {
        for provider in ProviderName::ALL {
            for &code in event_codes(provider) {
                let first = sample(provider, code, &Fresh::new(NOW, "app"));
                let second = sample(provider, code, &Fresh::new(NOW, "app"));
                assert_ne!(first.body, second.body, "{code}");
                assert_ne!(first.subject, second.subject, "{code}");
            }
        }
    }

    #[test]
    fn amani_bodies_are_python_json_dumps_output() {
        let fresh = Fresh::new(NOW, "app");
        for &code in event_codes(ProviderName::Amani) {
            let body = sample(ProviderName::Amani, code, &fresh).body;
            assert_eq!(python_dumps(&body).unwrap(), body, "{code}");
            let text = String::from_utf8(body).unwrap();
            assert!(text.starts_with(&format!(r#"{{"event": "{code}", "profile": {{"id": "#)));
            assert!(text.is_ascii(), "ensure_ascii escapes the Turkish names");
        }
    }

    #[test]
    fn faceio_bodies_name_the_application_and_the_day() {
        let fresh = Fresh::new(NOW, "my-app");
        let body = sample(ProviderName::Faceio, "ENROLL", &fresh).body;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["appId"], "my-app");
        assert_eq!(json["details"]["timestamp"], "2026-11-24");
        assert!(json["facialId"].as_str().unwrap().ends_with("fioa"));
    }

    #[test]
    fn codes_are_found_by_exact_name_only() {
        assert_eq!(find_code(ProviderName::Faceio, "ENROLL"), Some("ENROLL"));
        assert_eq!(find_code(ProviderName::Faceio, "enroll"), None);
        assert_eq!(find_code(ProviderName::Amani, "ENROLL"), None);
        assert_eq!(event_codes(ProviderName::Amani).len(), 10);
    }
}
