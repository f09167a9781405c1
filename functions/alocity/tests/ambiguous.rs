//! An authentic body whose JSON has a key twice is stored, flagged `ambiguous_json` (issue 15
//! §4): readers that keep the first value and readers that keep the last disagree on it.

#![allow(clippy::unwrap_used)]

use alocity::{AlocityAccess, CATALOG};
use webhook_core::config::Env;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::store::attributes::item_to_json;
use webhook_core::store::dynamodb::to_item;
use webhook_core::testing::api_gateway_event;
use webhook_core::{Catalog as _, Fresh, Secret, VersionedSecret};

const NOW: i64 = 1_795_511_521;

#[tokio::test]
async fn a_repeated_key_is_stored_and_flagged_and_a_plain_body_is_not() {
    let app = Pipeline::new(
        AlocityAccess::new(300),
        MemorySecrets::new([VersionedSecret::current("flag-secret")]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new("flag-secret".to_owned()))
        .unwrap();
    let mut flags = Vec::new();
    for seed in [1_u8, 2] {
        let sample = CATALOG
            .sample(
                "door.state",
                &Fresh::new(NOW, [seed; 32]),
                &Env::from_pairs([]),
            )
            .unwrap();
        let mut body = sample.body;
        if seed == 1 {
            // `{"EventCode": …, …, "EventCode": "door.tamper"}`: the key twice.
            while body.last().is_some_and(u8::is_ascii_whitespace) {
                body.pop();
            }
            assert_eq!(body.pop(), Some(b'}'));
            body.extend_from_slice(br#","EventCode":"door.tamper"}"#);
        }
        let (name, value) = signer.header(&body, NOW, false);
        let request =
            api_gateway_event("POST", &body, [(name.as_str(), value.as_str())], false, "r");
        let response = app.handle(request).await;
        assert_eq!(response.status_code, 200, "{}", response.body);
    }
    for record in app.store().records().values() {
        let item = to_item(record, None, None, None);
        flags.push((
            record.ambiguous_json,
            item_to_json(&item)["ambiguous_json"].clone(),
            String::from_utf8_lossy(&record.body).contains("door.tamper"),
        ));
    }
    flags.sort_by_key(|(flag, _, _)| *flag);
    assert_eq!(
        flags,
        [
            (false, serde_json::Value::Null, false),
            (true, serde_json::Value::Bool(true), true)
        ]
    );
}
