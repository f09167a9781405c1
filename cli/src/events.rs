//! `webhooks events list | subject | get`: the table's two indexes and single items.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use webhook_core::store::StoredEvent;
use webhook_core::store::query::{EventReader, TimeWindow};
use webhook_core::store::schema::{self, attr};
use webhook_core::store::stored::StoredBody;

use crate::args::{GetArgs, ListArgs, SubjectArgs};
use crate::aws;
use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::ProviderArg;

/// The window `events list` covers when none is given.
const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3_600);

/// `webhooks events list`: the provider's day partitions in the window, newest first.
///
/// # Errors
/// A bad window (usage), or a failed query.
pub async fn list(args: &ListArgs, json: bool, endpoint: Option<&str>) -> Result<(), CliError> {
    let window = args
        .window
        .window(DEFAULT_SINCE, webhook_core::clock::now_ms())?;
    let reader = aws::table_reader(endpoint, &args.table).await?.reader;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let items = query_window(
        &reader,
        args.provider,
        &args.endpoint,
        &window,
        args.event.as_deref(),
        limit,
        json,
    )
    .await?;
    if items.is_empty() {
        output::note(
            json,
            &format!(
                "no {} events{} received between {} and {} (table {})",
                schema::scope(args.provider.name(), &args.endpoint),
                args.event
                    .as_deref()
                    .map(|code| format!(" with code {code}"))
                    .unwrap_or_default(),
                window.from_text(),
                window.to_text(),
                reader.table()
            ),
        );
    }
    print_summaries(&items, json)
}

/// Up to `limit` events of `provider`'s `endpoint` in `window`, newest first, one query per day
/// partition.
///
/// # Errors
/// A failed query.
pub async fn query_window(
    reader: &EventReader,
    provider: ProviderArg,
    endpoint: &str,
    window: &TimeWindow,
    event_code: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<Vec<StoredEvent>, CliError> {
    let days = window.days_newest_first();
    let scope = schema::scope(provider.name(), endpoint);
    let bar = output::progress(
        !json && days.len() > 1,
        Some(days.len() as u64),
        &format!("querying {scope} by day"),
    );
    let mut items = Vec::new();
    for day in &days {
        let remaining = limit - items.len();
        if remaining == 0 {
            break;
        }
        bar.set_message(format!("querying {scope} {day}"));
        items.extend(
            reader
                .query_day(&scope, day, window, event_code, remaining)
                .await?,
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(items)
}

/// `webhooks events subject`: the subject's events, newest first.
///
/// # Errors
/// A failed query.
pub async fn subject(
    args: &SubjectArgs,
    json: bool,
    endpoint: Option<&str>,
) -> Result<(), CliError> {
    let reader = aws::table_reader(endpoint, &args.table).await?.reader;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let items = reader
        .query_subject(
            &schema::scope(args.provider.name(), &args.endpoint),
            &args.subject,
            limit,
        )
        .await?;
    if items.is_empty() {
        output::note(
            json,
            &format!(
                "no {} events about {} (table {})",
                schema::scope(args.provider.name(), &args.endpoint),
                args.subject,
                reader.table()
            ),
        );
    }
    print_summaries(&items, json)
}

/// `webhooks events get`: one item with its raw body, and with `--conflicts` the conflict
/// records kept for its key.
///
/// # Errors
/// No such item, or a failed read.
pub async fn get(args: &GetArgs, json: bool, endpoint: Option<&str>) -> Result<(), CliError> {
    let reader = aws::table_reader(endpoint, &args.table).await?.reader;
    let pk = schema::event_pk(
        &schema::scope(args.provider.name(), &args.endpoint),
        &args.key,
    );
    let event = reader
        .get(&pk)
        .await?
        .ok_or_else(|| CliError::failed(format!("no event {pk} in table {}", reader.table())))?;
    let mut events = vec![event];
    if args.conflicts {
        events.extend(conflicts(&reader, &pk, json).await?);
    }
    let mut events_with_bodies = Vec::with_capacity(events.len());
    for event in events {
        events_with_bodies.push(reader.with_body(event).await?);
    }
    let items = events_with_bodies;
    let mut text = String::new();
    for (index, event) in items.iter().enumerate() {
        if json {
            text.push_str(&output::json_line(&event.to_json()));
        } else {
            if index > 0 {
                text.push('\n');
            }
            text.push_str(&describe(event));
        }
    }
    if args.conflicts && !json {
        output::note(
            json,
            &format!("{} conflict record(s) for {pk}", items.len() - 1),
        );
    }
    output::print(&text)
}

/// Every conflict record of `pk`, by scanning the table (a spinner shows the progress).
async fn conflicts(
    reader: &EventReader,
    pk: &str,
    json: bool,
) -> Result<Vec<StoredEvent>, CliError> {
    let bar = output::progress(!json, None, "scanning for conflict records");
    let mut found = Vec::new();
    let mut scanned = 0_u64;
    let mut start = None;
    loop {
        let page = reader.scan_conflicts(pk, start).await?;
        scanned += page.scanned;
        found.extend(page.items);
        bar.set_message(format!(
            "scanning for conflict records: {scanned} items read"
        ));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    found.sort_by(|a, b| a.received_at.cmp(&b.received_at));
    Ok(found)
}

/// Index items as JSON lines or as a table.
fn print_summaries(events: &[StoredEvent], json: bool) -> Result<(), CliError> {
    if json {
        let lines: String = events
            .iter()
            .map(|event| output::json_line(&event.to_json()))
            .collect();
        return output::print(&lines);
    }
    if events.is_empty() {
        return Ok(());
    }
    output::print(&summary_table(events).render())
}

/// The people's view of index items: one line per event.
pub fn summary_table(events: &[StoredEvent]) -> Table {
    let mut table = Table::new(&[
        "RECEIVED_AT",
        "EVENT",
        "SUBJECT",
        "KEY",
        "BYTES",
        "SECRET",
        "TYPE",
    ]);
    for event in events {
        table.push(vec![
            event.received_at.clone(),
            event.event_code.clone(),
            or_dash(event.subject.clone()),
            event.idempotency_key.clone(),
            or_dash(event.body_size.map(|size| size.to_string())),
            event.secret_version.label().to_owned(),
            event.record_type.as_str().to_owned(),
        ]);
    }
    table
}

/// A table cell for an optional value: `-` when absent.
fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// A JSON value for a table cell: text as is, anything else as JSON, `-` for null.
fn cell(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The attributes shown first by `events get`, in this order; the others follow by name.
const GET_ORDER: [&str; 19] = [
    attr::PK,
    attr::PROVIDER,
    attr::IDEMPOTENCY_KEY,
    attr::EVENT_CODE,
    attr::SUBJECT,
    attr::RECORD_TYPE,
    attr::CONFLICT_OF,
    attr::RECEIVED_AT,
    attr::RECEIVED_AT_MS,
    attr::PROVIDER_TIME,
    attr::REQUEST_ID,
    attr::SOURCE_IP,
    attr::SECRET_VERSION,
    attr::BODY_SHA256,
    attr::BODY_SIZE,
    attr::SIGNATURE,
    attr::EXPIRES_AT,
    attr::PROVIDER_DAY,
    attr::PROVIDER_SUBJECT,
];

/// The people's view of one event: its attributes, then the raw body (the parsed `payload`
/// is the same document, so it is left out).
pub fn describe(event: &StoredEvent) -> String {
    let mut attributes: Vec<(&str, Value)> = event
        .attributes()
        .into_iter()
        .filter(|(name, _)| *name != attr::BODY && *name != attr::PAYLOAD)
        .collect();
    attributes.sort_by_key(|(name, _)| {
        let rank = GET_ORDER.iter().position(|shown| shown == name);
        (rank.unwrap_or(GET_ORDER.len()), *name)
    });
    let mut table = Table::new(&["ATTRIBUTE", "VALUE"]);
    for (name, value) in attributes {
        table.push(vec![name.to_owned(), cell(value)]);
    }
    let mut text = table.render();
    match &event.body {
        Some(StoredBody::Text(body)) => {
            let _ = writeln!(text, "body ({} bytes):\n{body}", body.len());
        }
        Some(binary @ StoredBody::Binary(bytes)) => {
            let _ = writeln!(
                text,
                "body ({} bytes, binary, shown as base64):\n{}",
                bytes.len(),
                cell(binary.to_json())
            );
        }
        None => text.push_str("body: (none)\n"),
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    /// An event with the attributes every read returns, and `more`.
    fn event(pk: &str, received_at: &str, more: &[(&str, AttributeValue)]) -> StoredEvent {
        let (provider, key) = pk.split_once('#').unwrap();
        let mut item = HashMap::from([
            (attr::PK.to_owned(), s(pk)),
            (attr::PROVIDER.to_owned(), s(provider)),
            (attr::IDEMPOTENCY_KEY.to_owned(), s(key)),
            (attr::RECEIVED_AT.to_owned(), s(received_at)),
            (attr::RECORD_TYPE.to_owned(), s("event")),
            (attr::SECRET_VERSION.to_owned(), s("AWSCURRENT")),
        ]);
        item.extend(
            more.iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        StoredEvent::from_item(item).unwrap()
    }

    #[test]
    fn summaries_show_one_line_per_event_with_dashes_for_gaps() {
        let events = [
            event(
                "faceio#app/ENROLL/f1",
                "2026-11-24T09:12:01.123Z",
                &[
                    (attr::EVENT_CODE, s("ENROLL")),
                    (attr::SUBJECT, s("f1")),
                    (attr::BODY_SIZE, AttributeValue::N("231".into())),
                ],
            ),
            event(
                "faceio#req-1",
                "2026-11-24T09:11:00.000Z",
                &[
                    (attr::EVENT_CODE, s("AUTH")),
                    (attr::SECRET_VERSION, s("AWSPREVIOUS")),
                    (attr::RECORD_TYPE, s("conflict")),
                ],
            ),
        ];
        assert_eq!(
            summary_table(&events).render(),
            "RECEIVED_AT               EVENT   SUBJECT  KEY            BYTES  SECRET       TYPE\n\
             2026-11-24T09:12:01.123Z  ENROLL  f1       app/ENROLL/f1  231    AWSCURRENT   event\n\
             2026-11-24T09:11:00.000Z  AUTH    -        req-1          -      AWSPREVIOUS  conflict\n"
        );
    }

    #[test]
    fn an_event_shows_its_attributes_in_order_and_the_raw_body_last() {
        let shown = describe(&event(
            "amani#abc",
            "2026-11-24T09:12:01.123Z",
            &[
                (attr::EVENT_CODE, s("profile_create")),
                (attr::BODY, s("{\"a\": 1}")),
                (
                    attr::PAYLOAD,
                    AttributeValue::M(HashMap::from([(
                        "a".to_owned(),
                        AttributeValue::N("1".into()),
                    )])),
                ),
                ("zz_extra", AttributeValue::Bool(true)),
                (attr::BODY_S3_KEY, s("amani/ab")),
                (attr::BODY_S3_BUCKET, s("bodies")),
                (
                    attr::RECEIVED_AT_MS,
                    AttributeValue::N("1795490962753".into()),
                ),
            ],
        ));
        assert_eq!(
            shown,
            "ATTRIBUTE        VALUE\n\
             pk               amani#abc\n\
             provider         amani\n\
             idempotency_key  abc\n\
             event_code       profile_create\n\
             record_type      event\n\
             received_at      2026-11-24T09:12:01.123Z\n\
             received_at_ms   1795490962753\n\
             secret_version   AWSCURRENT\n\
             body_s3_bucket   bodies\n\
             body_s3_key      amani/ab\n\
             zz_extra         true\n\
             body (8 bytes):\n{\"a\": 1}\n"
        );
    }

    #[test]
    fn binary_bodies_are_shown_as_base64() {
        let shown = describe(&event(
            "amani#abc",
            "2026-11-24T09:12:01.123Z",
            &[
                (attr::EVENT_CODE, s("unparsed")),
                (attr::BODY, AttributeValue::B(Blob::new(vec![0xff, 0xfe]))),
            ],
        ));
        assert!(
            shown.ends_with("body (2 bytes, binary, shown as base64):\n//4=\n"),
            "{shown}"
        );
        let none = describe(&event("amani#abc", "x", &[(attr::EVENT_CODE, s("x"))]));
        assert!(none.ends_with("body: (none)\n"), "{none}");
    }
}
