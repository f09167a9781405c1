//! `webhooks events list | subject | get`: the table's two indexes and single items.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use webhook_core::store::query::{
    self, EventReader, Item, TimeWindow, attribute_to_json, item_to_json,
};

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
    let (_, reader) = aws::table_reader(endpoint, &args.table).await?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let items = query_window(
        &reader,
        args.provider,
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
                args.provider.name(),
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

/// Up to `limit` events of `provider` in `window`, newest first, one query per day partition.
///
/// # Errors
/// A failed query.
pub async fn query_window(
    reader: &EventReader,
    provider: ProviderArg,
    window: &TimeWindow,
    event_code: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<Vec<Item>, CliError> {
    let days = window.days_newest_first();
    let bar = output::progress(
        !json && days.len() > 1,
        Some(days.len() as u64),
        &format!("querying {} by day", provider.name()),
    );
    let mut items = Vec::new();
    for day in &days {
        let remaining = limit - items.len();
        if remaining == 0 {
            break;
        }
        bar.set_message(format!("querying {} {day}", provider.name()));
        items.extend(
            reader
                .query_day(provider.name(), day, window, event_code, remaining)
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
    let (_, reader) = aws::table_reader(endpoint, &args.table).await?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let items = reader
        .query_subject(args.provider.name(), &args.subject, limit)
        .await?;
    if items.is_empty() {
        output::note(
            json,
            &format!(
                "no {} events about {} (table {})",
                args.provider.name(),
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
    let (_, reader) = aws::table_reader(endpoint, &args.table).await?;
    let pk = query::event_pk(args.provider.name(), &args.key);
    let item = reader
        .get(&pk)
        .await?
        .ok_or_else(|| CliError::failed(format!("no event {pk} in table {}", reader.table())))?;
    let mut items = vec![item];
    if args.conflicts {
        items.extend(conflicts(&reader, &pk, json).await?);
    }
    let mut items_with_bodies = Vec::with_capacity(items.len());
    for item in items {
        items_with_bodies.push(reader.with_body(item).await?);
    }
    let items = items_with_bodies;
    let mut text = String::new();
    for (index, item) in items.iter().enumerate() {
        if json {
            text.push_str(&output::json_line(&item_to_json(item)));
        } else {
            if index > 0 {
                text.push('\n');
            }
            text.push_str(&describe(item));
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
async fn conflicts(reader: &EventReader, pk: &str, json: bool) -> Result<Vec<Item>, CliError> {
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
    found.sort_by(|a, b| query::text(a, "received_at").cmp(&query::text(b, "received_at")));
    Ok(found)
}

/// Index items as JSON lines or as a table.
fn print_summaries(items: &[Item], json: bool) -> Result<(), CliError> {
    if json {
        let lines: String = items
            .iter()
            .map(|item| output::json_line(&item_to_json(item)))
            .collect();
        return output::print(&lines);
    }
    if items.is_empty() {
        return Ok(());
    }
    output::print(&summary_table(items).render())
}

/// The people's view of index items: one line per event.
pub fn summary_table(items: &[Item]) -> Table {
    let mut table = Table::new(&[
        "RECEIVED_AT",
        "EVENT",
        "SUBJECT",
        "KEY",
        "BYTES",
        "SECRET",
        "TYPE",
    ]);
    for item in items {
        table.push(
            [
                "received_at",
                "event_code",
                "subject",
                "idempotency_key",
                "body_size",
                "secret_version",
                "record_type",
            ]
            .iter()
            .map(|name| cell(item, name))
            .collect(),
        );
    }
    table
}

/// One attribute for a table cell: text as is, anything else as JSON, `-` when absent.
fn cell(item: &Item, name: &str) -> String {
    match item.get(name).map(attribute_to_json) {
        Some(Value::String(text)) => text,
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// The attributes shown first by `events get`, in this order.
const GET_ORDER: [&str; 19] = [
    "pk",
    "provider",
    "idempotency_key",
    "event_code",
    "subject",
    "record_type",
    "conflict_of",
    "received_at",
    "received_at_ms",
    "provider_time",
    "request_id",
    "source_ip",
    "secret_version",
    "body_sha256",
    "body_size",
    "signature",
    "expires_at",
    "provider_day",
    "provider_subject",
];

/// The people's view of one item: its attributes, then the raw body (the parsed `payload`
/// is the same document, so it is left out).
pub fn describe(item: &Item) -> String {
    let mut names: Vec<&str> = GET_ORDER
        .iter()
        .copied()
        .filter(|name| item.contains_key(*name))
        .collect();
    let mut others: Vec<&str> = item
        .keys()
        .map(String::as_str)
        .filter(|name| !GET_ORDER.contains(name) && !matches!(*name, "body" | "payload"))
        .collect();
    others.sort_unstable();
    names.extend(others);
    let mut table = Table::new(&["ATTRIBUTE", "VALUE"]);
    for name in names {
        table.push(vec![name.to_owned(), cell(item, name)]);
    }
    let mut text = table.render();
    match query::body_bytes(item) {
        Some(body) => match String::from_utf8(body) {
            Ok(body) => {
                let _ = writeln!(text, "body ({} bytes):\n{body}", body.len());
            }
            Err(binary) => {
                let bytes = binary.into_bytes();
                let _ = writeln!(
                    text,
                    "body ({} bytes, binary, shown as base64):\n{}",
                    bytes.len(),
                    cell(item, "body")
                );
            }
        },
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

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect::<HashMap<_, _>>()
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn summaries_show_one_line_per_event_with_dashes_for_gaps() {
        let items = [
            item(&[
                ("received_at", s("2026-11-24T09:12:01.123Z")),
                ("event_code", s("ENROLL")),
                ("subject", s("f1")),
                ("idempotency_key", s("app/ENROLL/f1")),
                ("body_size", AttributeValue::N("231".into())),
                ("secret_version", s("AWSCURRENT")),
                ("record_type", s("event")),
            ]),
            item(&[
                ("received_at", s("2026-11-24T09:11:00.000Z")),
                ("event_code", s("AUTH")),
                ("idempotency_key", s("req-1")),
            ]),
        ];
        assert_eq!(
            summary_table(&items).render(),
            "RECEIVED_AT               EVENT   SUBJECT  KEY            BYTES  SECRET      TYPE\n\
             2026-11-24T09:12:01.123Z  ENROLL  f1       app/ENROLL/f1  231    AWSCURRENT  event\n\
             2026-11-24T09:11:00.000Z  AUTH    -        req-1          -      -           -\n"
        );
    }

    #[test]
    fn an_item_shows_its_attributes_in_order_and_the_raw_body_last() {
        let shown = describe(&item(&[
            ("body", s("{\"a\": 1}")),
            (
                "payload",
                AttributeValue::M(HashMap::from([(
                    "a".to_owned(),
                    AttributeValue::N("1".into()),
                )])),
            ),
            ("zz_extra", AttributeValue::Bool(true)),
            ("provider", s("amani")),
            ("pk", s("amani#abc")),
        ]));
        assert_eq!(
            shown,
            "ATTRIBUTE  VALUE\n\
             pk         amani#abc\n\
             provider   amani\n\
             zz_extra   true\n\
             body (8 bytes):\n{\"a\": 1}\n"
        );
    }

    #[test]
    fn binary_bodies_are_shown_as_base64() {
        let shown = describe(&item(&[(
            "body",
            AttributeValue::B(Blob::new(vec![0xff, 0xfe])),
        )]));
        assert!(
            shown.ends_with("body (2 bytes, binary, shown as base64):\n//4=\n"),
            "{shown}"
        );
    }
}
