//! A stored event as the reader returns it: one item of the events table, typed.
//!
//! Reads often get part of an item (an index projects metadata only, the tamper audit asks for
//! what it needs), so only the attributes every read returns are required; the rest are
//! optional. Attributes outside the [`schema`](super::schema) are kept as they are, so the
//! JSON view of an event is the whole item.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::attributes::{Item, attribute_to_json};
use super::bodies::BodyLocation;
use super::schema::{RecordType, attr};
use crate::secret::SecretVersion;

/// The attributes every read of the table returns (both indexes project them, the tamper
/// audit asks for them), and [`StoredEvent::from_item`] requires.
pub const REQUIRED_ATTRIBUTES: [&str; 7] = [
    attr::PK,
    attr::PROVIDER,
    attr::IDEMPOTENCY_KEY,
    attr::EVENT_CODE,
    attr::RECEIVED_AT,
    attr::RECORD_TYPE,
    attr::SECRET_VERSION,
];

/// A raw body as stored: text when it is UTF-8, bytes otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBody {
    /// A UTF-8 body (a string attribute).
    Text(String),
    /// Any other body (a binary attribute).
    Binary(Vec<u8>),
}

impl StoredBody {
    /// `bytes` as the writer stores them: text when they are UTF-8.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Self::Text(text),
            Err(binary) => Self::Binary(binary.into_bytes()),
        }
    }

    /// The body's bytes, exactly as verified.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// As JSON: text as is, binary as standard base64.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::Binary(bytes) => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }
    }
}

/// An item that is not an event as the writer stores them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {pk}: attribute {attribute} is missing or not {expected}")]
pub struct ItemError {
    /// The item's key (`-` when it has none).
    pub pk: String,
    /// The attribute at fault.
    pub attribute: &'static str,
    /// What the attribute should be.
    pub expected: &'static str,
}

/// One stored event or conflict record. Optional fields are `None` when the item does not have
/// the attribute or the read did not ask for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Table key.
    pub pk: String,
    /// Provider short name.
    pub provider: String,
    /// The endpoint it came to; `None` on an item written before endpoints existed (see
    /// [`StoredEvent::endpoint`]).
    pub endpoint: Option<String>,
    /// The JSON body has a key twice.
    pub ambiguous_json: bool,
    /// The deduplication key within the provider.
    pub idempotency_key: String,
    /// Event code, or `unparsed`.
    pub event_code: String,
    /// An event, or a conflict record.
    pub record_type: RecordType,
    /// When it was received, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub received_at: String,
    /// The secret version that authenticated the request.
    pub secret_version: SecretVersion,
    /// When it was received, unix milliseconds.
    pub received_at_ms: Option<i64>,
    /// What the event is about.
    pub subject: Option<String>,
    /// The provider's time for the event.
    pub provider_time: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
    /// The caller's IP.
    pub source_ip: Option<String>,
    /// The raw body, when it is in the item (or was read from S3, see
    /// [`super::query::EventReader::with_body`]).
    pub body: Option<StoredBody>,
    /// Where the body was offloaded, when it was.
    pub body_at: Option<BodyLocation>,
    /// Lower-case hex SHA-256 of the body.
    pub body_sha256: Option<String>,
    /// Body length in bytes.
    pub body_size: Option<u64>,
    /// The parsed body, as JSON.
    pub payload: Option<Value>,
    /// The signature header kept for the tamper audit.
    pub signature: Option<String>,
    /// On a conflict record: the key of the original event.
    pub conflict_of: Option<String>,
    /// TTL, unix seconds.
    pub expires_at: Option<i64>,
    /// The `by-provider-time` partition it is in.
    pub provider_day: Option<String>,
    /// The `by-subject` partition it is in.
    pub provider_subject: Option<String>,
    /// Attributes the schema does not know, by name, as stored.
    pub other: BTreeMap<String, AttributeValue>,
}

/// Takes attributes out of an item, naming the item in every error.
struct Fields {
    item: Item,
    pk: String,
}

impl Fields {
    fn error(&self, attribute: &'static str, expected: &'static str) -> ItemError {
        ItemError {
            pk: self.pk.clone(),
            attribute,
            expected,
        }
    }

    fn text(&mut self, name: &'static str) -> Result<Option<String>, ItemError> {
        match self.item.remove(name) {
            None => Ok(None),
            Some(AttributeValue::S(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(name, "a string")),
        }
    }

    fn flag(&mut self, name: &'static str) -> Result<bool, ItemError> {
        match self.item.remove(name) {
            None => Ok(false),
            Some(AttributeValue::Bool(flag)) => Ok(flag),
            Some(_) => Err(self.error(name, "a boolean")),
        }
    }

    fn required(&mut self, name: &'static str) -> Result<String, ItemError> {
        self.text(name)?.ok_or_else(|| self.error(name, "a string"))
    }

    fn number<T: std::str::FromStr>(&mut self, name: &'static str) -> Result<Option<T>, ItemError> {
        match self.item.remove(name) {
            None => Ok(None),
            Some(AttributeValue::N(number)) => number
                .parse()
                .map(Some)
                .map_err(|_| self.error(name, "an integer")),
            Some(_) => Err(self.error(name, "a number")),
        }
    }
}

impl StoredEvent {
    /// The endpoint it came to: its `endpoint` attribute, else what its key's scope names (an
    /// index query does not project the attribute; `<provider>/<endpoint>#…`), else
    /// [`crate::endpoint::DEFAULT`] (an item written before endpoints existed).
    pub fn endpoint(&self) -> &str {
        if let Some(endpoint) = self.endpoint.as_deref() {
            return endpoint;
        }
        let scope = self.pk.split('#').next().unwrap_or_default();
        scope
            .strip_prefix(self.provider.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|endpoint| !endpoint.is_empty())
            .unwrap_or(crate::endpoint::DEFAULT)
    }

    /// The event stored as `item`.
    ///
    /// # Errors
    /// A required attribute ([`REQUIRED_ATTRIBUTES`]) is missing, or an attribute has another
    /// type than the writer gives it.
    pub fn from_item(mut item: Item) -> Result<Self, ItemError> {
        let Some(AttributeValue::S(pk)) = item.remove(attr::PK) else {
            return Err(ItemError {
                pk: "-".to_owned(),
                attribute: attr::PK,
                expected: "a string",
            });
        };
        let mut fields = Fields { item, pk };
        let record_type = fields.required(attr::RECORD_TYPE)?;
        let record_type = RecordType::parse(&record_type)
            .ok_or_else(|| fields.error(attr::RECORD_TYPE, "event or conflict"))?;
        let secret_version = fields.required(attr::SECRET_VERSION)?;
        let secret_version = SecretVersion::from_label(&secret_version)
            .ok_or_else(|| fields.error(attr::SECRET_VERSION, "AWSCURRENT or AWSPREVIOUS"))?;
        let body = match fields.item.remove(attr::BODY) {
            None => None,
            Some(AttributeValue::S(text)) => Some(StoredBody::Text(text)),
            Some(AttributeValue::B(blob)) => Some(StoredBody::Binary(blob.into_inner())),
            Some(_) => return Err(fields.error(attr::BODY, "a string or binary")),
        };
        let body_at = match (
            fields.text(attr::BODY_S3_BUCKET)?,
            fields.text(attr::BODY_S3_KEY)?,
        ) {
            (Some(bucket), Some(key)) => Some(BodyLocation { bucket, key }),
            (None, None) => None,
            (Some(_), None) => return Err(fields.error(attr::BODY_S3_KEY, "a string")),
            (None, Some(_)) => return Err(fields.error(attr::BODY_S3_BUCKET, "a string")),
        };
        let event = Self {
            provider: fields.required(attr::PROVIDER)?,
            endpoint: fields.text(attr::ENDPOINT)?,
            ambiguous_json: fields.flag(attr::AMBIGUOUS_JSON)?,
            idempotency_key: fields.required(attr::IDEMPOTENCY_KEY)?,
            event_code: fields.required(attr::EVENT_CODE)?,
            record_type,
            received_at: fields.required(attr::RECEIVED_AT)?,
            secret_version,
            received_at_ms: fields.number(attr::RECEIVED_AT_MS)?,
            subject: fields.text(attr::SUBJECT)?,
            provider_time: fields.text(attr::PROVIDER_TIME)?,
            request_id: fields.text(attr::REQUEST_ID)?,
            source_ip: fields.text(attr::SOURCE_IP)?,
            body,
            body_at,
            body_sha256: fields.text(attr::BODY_SHA256)?,
            body_size: fields.number(attr::BODY_SIZE)?,
            payload: fields
                .item
                .remove(attr::PAYLOAD)
                .map(|payload| attribute_to_json(&payload)),
            signature: fields.text(attr::SIGNATURE)?,
            conflict_of: fields.text(attr::CONFLICT_OF)?,
            expires_at: fields.number(attr::EXPIRES_AT)?,
            provider_day: fields.text(attr::PROVIDER_DAY)?,
            provider_subject: fields.text(attr::PROVIDER_SUBJECT)?,
            other: BTreeMap::new(),
            pk: fields.pk,
        };
        Ok(Self {
            other: fields.item.into_iter().collect(),
            ..event
        })
    }

    /// The attributes this event has, by name, as JSON: known attributes first (in schema
    /// order), then the others by name.
    pub fn attributes(&self) -> Vec<(&str, Value)> {
        let text = |value: &String| Value::String(value.clone());
        let known: [(&str, Option<Value>); 25] = [
            (attr::PK, Some(text(&self.pk))),
            (attr::PROVIDER, Some(text(&self.provider))),
            (attr::ENDPOINT, self.endpoint.as_ref().map(text)),
            (
                attr::AMBIGUOUS_JSON,
                self.ambiguous_json.then_some(Value::Bool(true)),
            ),
            (attr::IDEMPOTENCY_KEY, Some(text(&self.idempotency_key))),
            (attr::EVENT_CODE, Some(text(&self.event_code))),
            (attr::SUBJECT, self.subject.as_ref().map(text)),
            (attr::PROVIDER_TIME, self.provider_time.as_ref().map(text)),
            (attr::PROVIDER_DAY, self.provider_day.as_ref().map(text)),
            (
                attr::PROVIDER_SUBJECT,
                self.provider_subject.as_ref().map(text),
            ),
            (attr::RECEIVED_AT, Some(text(&self.received_at))),
            (attr::RECEIVED_AT_MS, self.received_at_ms.map(Value::from)),
            (attr::REQUEST_ID, self.request_id.as_ref().map(text)),
            (attr::SOURCE_IP, self.source_ip.as_ref().map(text)),
            (
                attr::SECRET_VERSION,
                Some(Value::from(self.secret_version.label())),
            ),
            (attr::BODY, self.body.as_ref().map(StoredBody::to_json)),
            (
                attr::BODY_S3_BUCKET,
                self.body_at.as_ref().map(|at| text(&at.bucket)),
            ),
            (
                attr::BODY_S3_KEY,
                self.body_at.as_ref().map(|at| text(&at.key)),
            ),
            (attr::BODY_SHA256, self.body_sha256.as_ref().map(text)),
            (attr::BODY_SIZE, self.body_size.map(Value::from)),
            (attr::PAYLOAD, self.payload.clone()),
            (attr::SIGNATURE, self.signature.as_ref().map(text)),
            (
                attr::RECORD_TYPE,
                Some(Value::from(self.record_type.as_str())),
            ),
            (attr::CONFLICT_OF, self.conflict_of.as_ref().map(text)),
            (attr::EXPIRES_AT, self.expires_at.map(Value::from)),
        ];
        known
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .chain(
                self.other
                    .iter()
                    .map(|(name, value)| (name.as_str(), attribute_to_json(value))),
            )
            .collect()
    }

    /// The whole event as one JSON object, attribute name to value (names in order), as
    /// [`super::attributes::item_to_json`] shows the item.
    pub fn to_json(&self) -> Value {
        let mut attributes = self.attributes();
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        Value::Object(
            attributes
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect::<Map<String, Value>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::primitives::Blob;

    use super::*;
    use crate::store::attributes::item_to_json;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn minimal() -> Item {
        HashMap::from([
            (attr::PK.to_owned(), s("amani#k")),
            (attr::PROVIDER.to_owned(), s("amani")),
            (attr::IDEMPOTENCY_KEY.to_owned(), s("k")),
            (attr::EVENT_CODE.to_owned(), s("profile_create")),
            (attr::RECEIVED_AT.to_owned(), s("2026-11-24T09:12:01.123Z")),
            (attr::RECORD_TYPE.to_owned(), s("event")),
            (attr::SECRET_VERSION.to_owned(), s("AWSCURRENT")),
        ])
    }

    #[test]
    fn an_index_projection_reads_with_the_rest_absent() {
        let event = StoredEvent::from_item(minimal()).unwrap();
        assert_eq!(event.pk, "amani#k");
        assert_eq!(event.record_type, RecordType::Event);
        assert_eq!(event.secret_version, SecretVersion::Current);
        assert_eq!(event.endpoint(), "default");
        assert_eq!(
            (event.body, event.body_at, event.subject),
            (None, None, None)
        );
        assert!(event.other.is_empty());
    }

    #[test]
    fn the_endpoint_is_the_attribute_else_the_key_s_scope() {
        let mut item = minimal();
        item.insert(attr::PK.to_owned(), s("amani/eu-1#k"));
        assert_eq!(
            StoredEvent::from_item(item.clone()).unwrap().endpoint(),
            "eu-1"
        );
        item.insert(attr::ENDPOINT.to_owned(), s("staging"));
        assert_eq!(StoredEvent::from_item(item).unwrap().endpoint(), "staging");
        let mut conflict = minimal();
        conflict.insert(attr::PK.to_owned(), s("amani#k#conflict#ab"));
        assert_eq!(
            StoredEvent::from_item(conflict).unwrap().endpoint(),
            "default"
        );
    }

    #[test]
    fn every_required_attribute_is_required() {
        for name in REQUIRED_ATTRIBUTES {
            let mut item = minimal();
            item.remove(name);
            let error = StoredEvent::from_item(item).unwrap_err();
            assert_eq!(error.attribute, name);
        }
    }

    #[test]
    fn wrong_types_and_values_are_errors_naming_the_item() {
        // The attribute set, its value, and the attribute the error names.
        let cases = [
            (
                attr::BODY_SIZE,
                AttributeValue::S("12".into()),
                attr::BODY_SIZE,
            ),
            (
                attr::RECEIVED_AT_MS,
                AttributeValue::N("1.5".into()),
                attr::RECEIVED_AT_MS,
            ),
            (attr::RECORD_TYPE, s("draft"), attr::RECORD_TYPE),
            (attr::SECRET_VERSION, s("AWSPENDING"), attr::SECRET_VERSION),
            (attr::BODY, AttributeValue::Bool(true), attr::BODY),
            (attr::BODY_S3_KEY, s("amani/ab"), attr::BODY_S3_BUCKET),
        ];
        for (name, value, named) in cases {
            let mut item = minimal();
            item.insert(name.to_owned(), value);
            let error = StoredEvent::from_item(item).unwrap_err();
            assert_eq!((error.pk.as_str(), error.attribute), ("amani#k", named));
        }
    }

    #[test]
    fn unknown_attributes_and_binary_bodies_survive_into_the_json_view() {
        let mut item = minimal();
        item.insert(
            attr::BODY.to_owned(),
            AttributeValue::B(Blob::new([0xff, 0])),
        );
        item.insert(attr::BODY_SIZE.to_owned(), AttributeValue::N("2".into()));
        item.insert("zz_note".to_owned(), AttributeValue::Bool(true));
        let event = StoredEvent::from_item(item.clone()).unwrap();
        assert_eq!(event.body, Some(StoredBody::Binary(vec![0xff, 0])));
        assert_eq!(event.other.len(), 1);
        assert_eq!(event.to_json(), item_to_json(&item));
        assert_eq!(event.to_json()["body"], "/wA=");
    }

    #[test]
    fn bodies_are_text_when_they_are_utf8() {
        assert_eq!(
            StoredBody::from_bytes(b"{}".to_vec()),
            StoredBody::Text("{}".into())
        );
        let binary = StoredBody::from_bytes(vec![0xff]);
        assert_eq!(binary.as_bytes(), [0xff]);
        assert_eq!(binary.to_json(), "/w==");
    }
}
