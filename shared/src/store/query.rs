//! Reading stored events back: time windows over the day partitions, and the queries the
//! `webhooks` CLI and the tamper audit run, each returning [`StoredEvent`]s. The table's layout
//! is [`super::schema`]'s; the write side is [`super::dynamodb`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::attributes::Item;
use super::bodies::get_body;
use super::schema::{self, INDEX_BY_PROVIDER_TIME, INDEX_BY_SUBJECT, attr, iso_millis, utc_day};
use super::stored::{ItemError, REQUIRED_ATTRIBUTES, StoredBody, StoredEvent};

/// Kept at its old path for existing callers (`cli/src/send.rs`); its home is
/// [`crate::error`].
pub use crate::error::error_chain;

/// Milliseconds per UTC day.
const DAY_MS: i64 = 86_400_000;

/// A closed interval of receive times, in unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// First millisecond included.
    pub from_ms: i64,
    /// Last millisecond included.
    pub to_ms: i64,
}

impl TimeWindow {
    /// The window from `from_ms` to `to_ms`, both included; `None` when it is empty.
    pub fn new(from_ms: i64, to_ms: i64) -> Option<Self> {
        (from_ms <= to_ms).then_some(Self { from_ms, to_ms })
    }

    /// Lower bound as stored in `received_at` (sorts as text in time order).
    pub fn from_text(&self) -> String {
        iso_millis(self.from_ms)
    }

    /// Upper bound as stored in `received_at`.
    pub fn to_text(&self) -> String {
        iso_millis(self.to_ms)
    }

    /// The UTC days (`YYYY-MM-DD`) the window touches, newest first: the `provider_day`
    /// partitions to query.
    pub fn days_newest_first(&self) -> Vec<String> {
        let first = self.from_ms.div_euclid(DAY_MS);
        let last = self.to_ms.div_euclid(DAY_MS);
        (first..=last)
            .rev()
            .map(|day| utc_day(day * DAY_MS))
            .collect()
    }
}

/// A read against the table failed. The message names the table and the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

impl ReadError {
    fn from_sdk<E, R>(table: &str, operation: &str, error: &SdkError<E, R>) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let detail = match error {
            SdkError::ServiceError(failure)
                if failure.err().code() == Some("ResourceNotFoundException") =>
            {
                format!("table {table} (or its index) does not exist")
            }
            other => error_chain(other),
        };
        Self(format!("{operation} on table {table} failed: {detail}"))
    }

    fn from_item(table: &str, error: &ItemError) -> Self {
        Self(format!("table {table}: {error}"))
    }
}

/// The events stored as `items`.
fn events(table: &str, items: Vec<Item>) -> Result<Vec<StoredEvent>, ReadError> {
    items
        .into_iter()
        .map(|item| {
            StoredEvent::from_item(item).map_err(|error| ReadError::from_item(table, &error))
        })
        .collect()
}

/// One page of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    /// The events of this page that passed the filter.
    pub items: Vec<StoredEvent>,
    /// How many items the page read before filtering.
    pub scanned: u64,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<Item>,
}

impl ScanPage {
    fn from_output(
        table: &str,
        output: aws_sdk_dynamodb::operation::scan::ScanOutput,
    ) -> Result<Self, ReadError> {
        Ok(Self {
            items: events(table, output.items.unwrap_or_default())?,
            scanned: u64::try_from(output.scanned_count).unwrap_or_default(),
            next: output.last_evaluated_key.filter(|key| !key.is_empty()),
        })
    }
}

/// The attributes the tamper audit needs: those every event has, and its body and signature.
const AUDIT_ATTRIBUTES: [&str; 12] = [
    REQUIRED_ATTRIBUTES[0],
    REQUIRED_ATTRIBUTES[1],
    REQUIRED_ATTRIBUTES[2],
    REQUIRED_ATTRIBUTES[3],
    REQUIRED_ATTRIBUTES[4],
    REQUIRED_ATTRIBUTES[5],
    REQUIRED_ATTRIBUTES[6],
    attr::BODY,
    attr::BODY_S3_BUCKET,
    attr::BODY_S3_KEY,
    attr::SIGNATURE,
    // Which endpoint's secret re-checks it.
    attr::ENDPOINT,
];

/// Reads events from the table: index queries, single items, and scans for audits.
#[derive(Debug, Clone)]
pub struct EventReader {
    client: Client,
    table: String,
    bodies: Option<aws_sdk_s3::Client>,
}

impl EventReader {
    /// A reader over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            bodies: None,
        }
    }

    /// Reads bodies that were offloaded to S3 (see [`super::bodies`]) with `client`.
    #[must_use]
    pub fn with_bodies(mut self, client: aws_sdk_s3::Client) -> Self {
        self.bodies = Some(client);
        self
    }

    /// The raw body of `event`, wherever it is kept: in the item, or in S3 for a large one.
    /// `None` when the item has neither, or its S3 object no longer exists (the tamper audit
    /// reports that as a finding).
    ///
    /// # Errors
    /// The body is in S3 and could not be read.
    pub async fn body(&self, event: &StoredEvent) -> Result<Option<Vec<u8>>, ReadError> {
        if let Some(body) = &event.body {
            return Ok(Some(body.as_bytes().to_vec()));
        }
        let Some(location) = &event.body_at else {
            return Ok(None);
        };
        let Some(client) = &self.bodies else {
            return Err(ReadError(format!(
                "the body of {} is in {location} and this reader has no S3 client",
                event.pk,
            )));
        };
        get_body(client, location).await.map_err(ReadError)
    }

    /// `event` with its raw body, fetched from S3 when it was offloaded there, so that a large
    /// event reads like any other.
    ///
    /// # Errors
    /// The body is in S3 and could not be read, or its object no longer exists.
    pub async fn with_body(&self, mut event: StoredEvent) -> Result<StoredEvent, ReadError> {
        if event.body.is_some() {
            return Ok(event);
        }
        match (self.body(&event).await?, &event.body_at) {
            (Some(body), _) => {
                event.body = Some(StoredBody::from_bytes(body));
                Ok(event)
            }
            (None, Some(location)) => Err(ReadError(format!(
                "the body of {} was in {location}, which no longer exists (expired by the \
                 bucket's lifecycle, or deleted)",
                event.pk,
            ))),
            (None, None) => Ok(event),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Events of `scope` (a provider's endpoint, [`schema::scope`]) received on UTC `day` within
    /// `window`, newest first, at most `limit`; only `event_code` when given. Index attributes
    /// only (no body).
    ///
    /// # Errors
    /// The query failed.
    pub async fn query_day(
        &self,
        scope: &str,
        day: &str,
        window: &TimeWindow,
        event_code: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_BY_PROVIDER_TIME)
            .key_condition_expression("#p = :p AND #r BETWEEN :from AND :to")
            .expression_attribute_names("#p", attr::PROVIDER_DAY)
            .expression_attribute_names("#r", attr::RECEIVED_AT)
            .expression_attribute_values(":p", AttributeValue::S(schema::provider_day(scope, day)))
            .expression_attribute_values(":from", AttributeValue::S(window.from_text()))
            .expression_attribute_values(":to", AttributeValue::S(window.to_text()))
            .scan_index_forward(false);
        if let Some(code) = event_code {
            request = request
                .filter_expression("#c = :c")
                .expression_attribute_names("#c", attr::EVENT_CODE)
                .expression_attribute_values(":c", AttributeValue::S(code.to_owned()));
        }
        self.collect_query(
            request,
            event_code.is_none(),
            limit,
            &format!("query {INDEX_BY_PROVIDER_TIME}"),
        )
        .await
    }

    /// Events about `subject` of `scope` (a provider's endpoint, [`schema::scope`]), newest
    /// first, at most `limit`. Index attributes only (no body).
    ///
    /// # Errors
    /// The query failed.
    pub async fn query_subject(
        &self,
        scope: &str,
        subject: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_BY_SUBJECT)
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", attr::PROVIDER_SUBJECT)
            .expression_attribute_values(
                ":s",
                AttributeValue::S(schema::provider_subject(scope, subject)),
            )
            .scan_index_forward(false);
        self.collect_query(request, true, limit, &format!("query {INDEX_BY_SUBJECT}"))
            .await
    }

    /// Pages through a query until `limit` items are collected or the results end. Without a
    /// filter the page size is the remainder, so no more is read than shown.
    async fn collect_query(
        &self,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        unfiltered: bool,
        limit: usize,
        operation: &str,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        while items.len() < limit {
            let mut page = request.clone().set_exclusive_start_key(start.take());
            if unfiltered {
                let remaining = i32::try_from(limit - items.len()).unwrap_or(i32::MAX);
                page = page.limit(remaining);
            }
            let output = page
                .send()
                .await
                .map_err(|error| ReadError::from_sdk(&self.table, operation, &error))?;
            let remaining = limit - items.len();
            let page = output.items.unwrap_or_default().into_iter().take(remaining);
            items.extend(events(&self.table, page.collect())?);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(items)
    }

    /// The event with key `pk`, every attribute (strongly consistent).
    ///
    /// # Errors
    /// The read failed, or the item is not an event.
    pub async fn get(&self, pk: &str) -> Result<Option<StoredEvent>, ReadError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| ReadError::from_sdk(&self.table, "GetItem", &error))?;
        output
            .item
            .map(StoredEvent::from_item)
            .transpose()
            .map_err(|error| ReadError::from_item(&self.table, &error))
    }

    /// The events with keys `pks` with the attributes the tamper audit needs, in any order;
    /// keys without an item are left out. Unprocessed keys are retried.
    ///
    /// # Errors
    /// A read failed, DynamoDB kept some keys unprocessed, or an item is not an event.
    pub async fn get_for_audit(&self, pks: &[String]) -> Result<Vec<StoredEvent>, ReadError> {
        let mut found = Vec::with_capacity(pks.len());
        for chunk in pks.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|pk| HashMap::from([(attr::PK.to_owned(), AttributeValue::S(pk.clone()))]))
                .collect();
            let mut pending = Some(self.audit_keys(keys)?);
            let mut attempt = 0_u32;
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| ReadError::from_sdk(&self.table, "BatchGetItem", &error))?;
                if let Some(mut responses) = output.responses {
                    let items = responses.remove(&self.table).unwrap_or_default();
                    found.extend(events(&self.table, items)?);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(&self.table))
                    .filter(|left| !left.keys().is_empty());
                if pending.is_some() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(ReadError(format!(
                            "BatchGetItem on table {} left keys unprocessed after {attempt} attempts",
                            self.table
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
            }
        }
        Ok(found)
    }

    fn audit_keys(&self, keys: Vec<Item>) -> Result<KeysAndAttributes, ReadError> {
        let (projection, names) = audit_projection();
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .consistent_read(true)
            .build()
            .map_err(|error| ReadError(format!("BatchGetItem on table {}: {error}", self.table)))
    }

    /// One page of a scan for items that carry a `signature` attribute (the HMAC-signed
    /// deliveries), of `provider` when given, with the attributes the tamper audit needs.
    ///
    /// # Errors
    /// The scan failed.
    pub async fn scan_signed(
        &self,
        provider: Option<&str>,
        start: Option<Item>,
    ) -> Result<ScanPage, ReadError> {
        let (projection, names) = audit_projection();
        let mut request = self
            .client
            .scan()
            .table_name(&self.table)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .set_exclusive_start_key(start);
        let signed = format!("attribute_exists({})", placeholder(attr::SIGNATURE));
        request = match provider {
            Some(provider) => request
                .filter_expression(format!(
                    "{signed} AND {} = :provider",
                    placeholder(attr::PROVIDER)
                ))
                .expression_attribute_values(":provider", AttributeValue::S(provider.to_owned())),
            None => request.filter_expression(signed),
        };
        let output = request
            .send()
            .await
            .map_err(|error| ReadError::from_sdk(&self.table, "Scan", &error))?;
        ScanPage::from_output(&self.table, output)
    }

    /// One page of a scan for the conflict records of the event with key `pk` (every attribute).
    ///
    /// # Errors
    /// The scan failed.
    pub async fn scan_conflicts(
        &self,
        pk: &str,
        start: Option<Item>,
    ) -> Result<ScanPage, ReadError> {
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :prefix)")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":prefix", AttributeValue::S(schema::conflict_prefix(pk)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| ReadError::from_sdk(&self.table, "Scan", &error))?;
        ScanPage::from_output(&self.table, output)
    }
}

/// The expression placeholder of attribute `name`: `#<name>`.
fn placeholder(name: &str) -> String {
    format!("#{name}")
}

/// The projection of [`AUDIT_ATTRIBUTES`] as `#name` placeholders (several are DynamoDB
/// reserved words), and the placeholder names.
fn audit_projection() -> (String, HashMap<String, String>) {
    let names: HashMap<String, String> = AUDIT_ATTRIBUTES
        .iter()
        .map(|name| (placeholder(name), (*name).to_owned()))
        .collect();
    let projection = AUDIT_ATTRIBUTES
        .iter()
        .map(|name| placeholder(name))
        .collect::<Vec<_>>()
        .join(", ");
    (projection, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_list_their_days_newest_first() {
        // 2025-11-24T16:00:00.123Z and two days later.
        let from = 1_764_000_000_123;
        let window = TimeWindow::new(from, from + 2 * DAY_MS).unwrap();
        assert_eq!(
            window.days_newest_first(),
            ["2025-11-26", "2025-11-25", "2025-11-24"]
        );
        assert_eq!(window.from_text(), "2025-11-24T16:00:00.123Z");
        let one_day = TimeWindow::new(from, from).unwrap();
        assert_eq!(one_day.days_newest_first(), ["2025-11-24"]);
        assert_eq!(TimeWindow::new(from, from - 1), None);
    }

    #[test]
    fn the_audit_reads_every_required_attribute_body_and_signature() {
        for name in REQUIRED_ATTRIBUTES {
            assert!(AUDIT_ATTRIBUTES.contains(&name), "{name}");
        }
        let (projection, names) = audit_projection();
        assert_eq!(
            projection,
            "#pk, #provider, #idempotency_key, #event_code, #received_at, #record_type, \
             #secret_version, #body, #body_s3_bucket, #body_s3_key, #signature, #endpoint"
        );
        assert_eq!(names["#signature"], "signature");
        assert_eq!(names.len(), AUDIT_ATTRIBUTES.len());
    }
}
