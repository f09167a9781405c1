//! The events table, as both the writer ([`super::dynamodb`]) and the reader
//! ([`super::query`]) see it: key formats, index names, attribute names, `record_type` values
//! and the time format. Items already in DynamoDB depend on every value here; changing one is a
//! data migration.
//!
//! A leaf module: it imports nothing from the rest of the store.

/// Attribute names of an event item.
pub mod attr {
    /// Table key: [`super::event_pk`], or [`super::conflict_pk`] for a conflict record.
    pub const PK: &str = "pk";
    /// Provider short name (`faceio`).
    pub const PROVIDER: &str = "provider";
    /// The endpoint the delivery came to (`default` for `/webhooks/<provider>`; absent on items
    /// written before endpoints existed, which are all `default`'s).
    pub const ENDPOINT: &str = "endpoint";
    /// The deduplication key within the provider.
    pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
    /// Event code, or `unparsed`.
    pub const EVENT_CODE: &str = "event_code";
    /// What the event is about, when known.
    pub const SUBJECT: &str = "subject";
    /// The provider's own time for the event, as it sent it.
    pub const PROVIDER_TIME: &str = "provider_time";
    /// Partition key of [`super::INDEX_BY_PROVIDER_TIME`]: [`super::provider_day`].
    pub const PROVIDER_DAY: &str = "provider_day";
    /// Partition key of [`super::INDEX_BY_SUBJECT`]: [`super::provider_subject`].
    pub const PROVIDER_SUBJECT: &str = "provider_subject";
    /// When we received it, [`super::iso_millis`]; sort key of both indexes.
    pub const RECEIVED_AT: &str = "received_at";
    /// When we received it, unix milliseconds (a number).
    pub const RECEIVED_AT_MS: &str = "received_at_ms";
    /// API Gateway's request id.
    pub const REQUEST_ID: &str = "request_id";
    /// The caller's IP.
    pub const SOURCE_IP: &str = "source_ip";
    /// The Secrets Manager stage of the secret that authenticated the request.
    pub const SECRET_VERSION: &str = "secret_version";
    /// The raw body: a string when it is UTF-8, binary otherwise; absent when offloaded.
    pub const BODY: &str = "body";
    /// The bucket of an offloaded body.
    pub const BODY_S3_BUCKET: &str = "body_s3_bucket";
    /// The object key of an offloaded body.
    pub const BODY_S3_KEY: &str = "body_s3_key";
    /// Lower-case hex SHA-256 of the body.
    pub const BODY_SHA256: &str = "body_sha256";
    /// Body length in bytes (a number).
    pub const BODY_SIZE: &str = "body_size";
    /// The body as native DynamoDB types, when it is JSON, small and kept in the item.
    pub const PAYLOAD: &str = "payload";
    /// The signature header, for the tamper audit (HMAC schemes only).
    pub const SIGNATURE: &str = "signature";
    /// [`super::RecordType`].
    pub const RECORD_TYPE: &str = "record_type";
    /// On a conflict record: the key of the original event.
    pub const CONFLICT_OF: &str = "conflict_of";
    /// The TTL attribute: unix seconds (a number), when a retention is configured.
    pub const EXPIRES_AT: &str = "expires_at";
    /// Lower-case hex SHA-256 of the message the signature covers, when it is not the body
    /// (Amani's `json.dumps` form of a re-spelled body). Duplicates are told apart by it.
    pub const MESSAGE_SHA256: &str = "message_sha256";
    /// On an event stored by `webhooks quarantine promote`: when, [`super::iso_millis`].
    pub const PROMOTED_AT: &str = "promoted_at";
    /// On a promoted event: why the delivery was refused on arrival (`signature_mismatch`, …).
    pub const QUARANTINE_REASON: &str = "quarantine_reason";
    /// `true` (and only present) when the JSON body has a key twice: a reader that keeps the
    /// first value and one that keeps the last (`serde_json`, Python, `payload`) disagree.
    pub const AMBIGUOUS_JSON: &str = "ambiguous_json";

    /// Every attribute an item can have.
    pub const ALL: [&str; 28] = [
        PK,
        PROVIDER,
        ENDPOINT,
        IDEMPOTENCY_KEY,
        EVENT_CODE,
        SUBJECT,
        PROVIDER_TIME,
        PROVIDER_DAY,
        PROVIDER_SUBJECT,
        RECEIVED_AT,
        RECEIVED_AT_MS,
        REQUEST_ID,
        SOURCE_IP,
        SECRET_VERSION,
        BODY,
        BODY_S3_BUCKET,
        BODY_S3_KEY,
        BODY_SHA256,
        BODY_SIZE,
        PAYLOAD,
        SIGNATURE,
        RECORD_TYPE,
        CONFLICT_OF,
        EXPIRES_AT,
        MESSAGE_SHA256,
        PROMOTED_AT,
        QUARANTINE_REASON,
        AMBIGUOUS_JSON,
    ];
}

/// Name of the index by provider and day ([`attr::PROVIDER_DAY`], [`attr::RECEIVED_AT`]).
pub const INDEX_BY_PROVIDER_TIME: &str = "by-provider-time";
/// Name of the index by subject ([`attr::PROVIDER_SUBJECT`], [`attr::RECEIVED_AT`]).
pub const INDEX_BY_SUBJECT: &str = "by-subject";

/// The condition of every put: the key is not taken yet.
pub const PK_ABSENT: &str = "attribute_not_exists(pk)";

/// Between an event's key and a conflicting body's hash in a conflict record's key.
pub const CONFLICT_SEPARATOR: &str = "#conflict#";

/// Longest idempotency key or subject used in a key as it is. DynamoDB refuses a partition key
/// over 2048 bytes; a longer one (an Alocity `CorrelationId` of kilobytes) is replaced in the
/// key by [`HASHED_PREFIX`] and its SHA-256, and kept whole in its own attribute. Half the
/// limit leaves room for the provider and a conflict suffix.
pub const MAX_KEY_PART_BYTES: usize = 1024;

/// What a key part replaced by its hash begins with.
pub const HASHED_PREFIX: &str = "sha256:";

/// `part` as it appears in a key: itself, or `sha256:<hex>` when over [`MAX_KEY_PART_BYTES`].
fn key_part(part: &str) -> std::borrow::Cow<'_, str> {
    use sha2::Digest as _;
    if part.len() <= MAX_KEY_PART_BYTES {
        return part.into();
    }
    format!("{HASHED_PREFIX}{}", hex::encode(sha2::Sha256::digest(part))).into()
}

/// What an endpoint's keys and index partitions begin with: the provider's name for the endpoint
/// `default` (so `/webhooks/<provider>` keeps the keys it always had), `<provider>/<endpoint>`
/// for any other. The same event delivered to two endpoints is two deliveries.
pub fn scope<'a>(provider: &'a str, endpoint: &str) -> std::borrow::Cow<'a, str> {
    if endpoint == crate::endpoint::DEFAULT {
        provider.into()
    } else {
        format!("{provider}/{endpoint}").into()
    }
}

/// The table key of an event: `<scope>#<idempotency key>` (a key over [`MAX_KEY_PART_BYTES`] by
/// its hash), `scope` being [`scope`] of its provider and endpoint.
pub fn event_pk(scope: &str, idempotency_key: &str) -> String {
    format!("{scope}#{}", key_part(idempotency_key))
}

/// The key of the record that keeps a body with hex SHA-256 `body_sha256` delivered under the
/// key `pk` of an event already stored with another body: `<pk>#conflict#<sha256>`.
pub fn conflict_pk(pk: &str, body_sha256: &str) -> String {
    format!("{}{body_sha256}", conflict_prefix(pk))
}

/// What the keys of every conflict record of `pk` begin with.
pub fn conflict_prefix(pk: &str) -> String {
    format!("{pk}{CONFLICT_SEPARATOR}")
}

/// The partition of index `by-provider-time`: `<scope>#<YYYY-MM-DD>` (UTC day received).
pub fn provider_day(scope: &str, day: &str) -> String {
    format!("{scope}#{day}")
}

/// The partition of index `by-subject`: `<scope>#<subject>` (a subject over
/// [`MAX_KEY_PART_BYTES`] by its hash).
pub fn provider_subject(scope: &str, subject: &str) -> String {
    format!("{scope}#{}", key_part(subject))
}

/// What kind of record an item is ([`attr::RECORD_TYPE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// The first delivery of an event.
    Event,
    /// A different body delivered under the key of a stored event.
    Conflict,
}

impl RecordType {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Conflict => "conflict",
        }
    }

    /// The record type stored as `value`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Event, Self::Conflict]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

fn utc(ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` ([`attr::RECEIVED_AT`]); sorts as text in
/// time order.
pub fn iso_millis(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    utc(ms).format(&format).unwrap_or_default()
}

/// The UTC day of unix milliseconds `ms` as `YYYY-MM-DD`: the first ten characters of
/// [`iso_millis`], the day in [`provider_day`].
pub fn utc_day(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    utc(ms).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_formats() {
        assert_eq!(event_pk("faceio", "app/ENROLL/f1"), "faceio#app/ENROLL/f1");
        assert_eq!(
            conflict_pk("faceio#app/ENROLL/f1", "ab"),
            "faceio#app/ENROLL/f1#conflict#ab"
        );
        assert!(conflict_pk("amani#k", "ab").starts_with(&conflict_prefix("amani#k")));
        assert_eq!(provider_day("alocity", "2026-11-24"), "alocity#2026-11-24");
        assert_eq!(provider_subject("amani", "p-1"), "amani#p-1");
        assert_eq!(PK_ABSENT, format!("attribute_not_exists({})", attr::PK));
    }

    #[test]
    fn the_default_endpoint_keeps_the_provider_s_keys_and_others_have_their_own() {
        assert_eq!(scope("faceio", "default"), "faceio");
        assert_eq!(scope("faceio", "staging"), "faceio/staging");
        let staging = scope("faceio", "staging");
        assert_eq!(event_pk(&staging, "k"), "faceio/staging#k");
        assert_eq!(
            provider_day(&staging, "2026-12-02"),
            "faceio/staging#2026-12-02"
        );
        assert_eq!(provider_subject(&staging, "f1"), "faceio/staging#f1");
        assert_ne!(
            event_pk(&scope("faceio", "default"), "k"),
            event_pk(&staging, "k")
        );
    }

    #[test]
    fn over_long_key_parts_are_replaced_by_their_hash() {
        let long = "k".repeat(MAX_KEY_PART_BYTES + 1);
        // hashlib.sha256(b"k" * 1025).hexdigest(), from Python.
        let expected =
            "alocity#sha256:011cc8dcade24f43d2d7f95605d8481da1d0b86475def49be02bfc20cee86e65";
        assert_eq!(event_pk("alocity", &long), expected);
        assert!(event_pk("alocity", &long).len() < 100);
        assert_eq!(provider_subject("alocity", &long), expected);
        let edge = "k".repeat(MAX_KEY_PART_BYTES);
        assert_eq!(event_pk("alocity", &edge), format!("alocity#{edge}"));
    }

    #[test]
    fn times_are_utc_with_milliseconds_and_the_day_is_their_prefix() {
        // 2025-11-24T16:00:00.123Z
        let ms = 1_764_000_000_123;
        assert_eq!(iso_millis(ms), "2025-11-24T16:00:00.123Z");
        assert_eq!(utc_day(ms), "2025-11-24");
        for ms in [0, 86_399_999, 86_400_000, 1_795_491_663_870, -1] {
            assert_eq!(utc_day(ms), iso_millis(ms)[..10], "{ms}");
        }
    }

    #[test]
    fn record_types_read_back_as_written() {
        for kind in [RecordType::Event, RecordType::Conflict] {
            assert_eq!(RecordType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RecordType::Event.as_str(), "event");
        assert_eq!(RecordType::Conflict.as_str(), "conflict");
        assert_eq!(RecordType::parse("Event"), None);
    }

    #[test]
    fn attribute_names_are_distinct() {
        let mut names = attr::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), attr::ALL.len());
    }
}
