//! Security hardening of the Alocity receivers (issue 15), through the real pipeline:
//! - the signature kept for the tamper audit is the header exactly as verified: a proxy that
//!   splits `Alocity-Signature` into two values (`t:…` and `sig:…`) is verified on the joined
//!   value, and that value, not the first part, is what the audit re-checks later;
//! - an authentic body whose JSON has a key twice is stored, flagged `ambiguous_json`;
//! - a forged flood cannot use up the refresh after a miss (at most once per 30 s): requests not
//!   shaped as Alocity's (a MAC of the wrong size) must not spend it.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alocity::{AlocityAccess, CATALOG};
use base64::Engine as _;
use webhook_core::config::Env;
use webhook_core::http::HttpRequest;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::{
    CachedSecrets, FetchSecrets, MemorySecrets, SecretError, SecretSource,
};
use webhook_core::store::MemoryStore;
use webhook_core::store::attributes::item_to_json;
use webhook_core::store::dynamodb::to_item;
use webhook_core::testing::{api_gateway_event, response_json};
use webhook_core::{Catalog as _, Fresh, Sample, Secret, VersionedSecret};

const NOW: i64 = 1_795_511_521;

/// A `door.state` sample with fresh ids from `seed`.
fn sample(seed: u8) -> Sample {
    CATALOG
        .sample(
            "door.state",
            &Fresh::new(NOW, [seed; 32]),
            &Env::from_pairs([]),
        )
        .unwrap()
}

/// `Alocity-Signature` for `body` signed with `secret` at `NOW`.
fn signature(body: &[u8], secret: &str) -> String {
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new(secret.to_owned()))
        .unwrap();
    signer.header(body, NOW, false).1
}

fn signed(body: &[u8], header: &str) -> HttpRequest {
    api_gateway_event("POST", body, [("Alocity-Signature", header)], false, "r")
}

/// The access-control receiver over `secrets`, its clock at `NOW`.
fn pipeline<S: SecretSource>(secrets: S) -> Pipeline<AlocityAccess, S, MemoryStore> {
    Pipeline::new(
        AlocityAccess::new(300),
        secrets,
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000))
}

fn one_secret(value: &str) -> MemorySecrets {
    MemorySecrets::new([VersionedSecret::current(value)])
}

/// Secrets Manager as the test sets it, counting fetches.
#[derive(Debug, Clone, Default)]
struct Store(Arc<Mutex<(Vec<VersionedSecret>, usize)>>);

impl Store {
    fn put(&self, value: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0 =
            vec![VersionedSecret::current(value)];
    }
    fn fetches(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

impl FetchSecrets for Store {
    async fn fetch(&self) -> Result<Vec<VersionedSecret>, SecretError> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 += 1;
        Ok(state.0.clone())
    }
}

#[tokio::test]
async fn a_split_signature_header_is_stored_joined_and_the_audit_accepts_it() {
    let app = pipeline(one_secret("audit-secret"));
    let sample = sample(9);
    let value = signature(&sample.body, "audit-secret");
    let (time, mac) = value.split_once(',').unwrap();
    // REST API and ALB multi-value events keep both values.
    let mut request = api_gateway_event("POST", &sample.body, [], false, "r1");
    request.multi_value_headers = Some(
        [(
            "Alocity-Signature".to_owned(),
            vec![time.to_owned(), mac.to_owned()],
        )]
        .into(),
    );
    let response = app.handle(request).await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    let record = app.store().records().into_values().next().unwrap();
    assert_eq!(record.signature.as_deref(), Some(value.as_str()));
    let audit = CATALOG.audit().unwrap();
    let secrets = [VersionedSecret::current("audit-secret")];
    assert!(audit(&secrets, &record.body, record.signature.as_deref().unwrap()).is_ok());
    // The first part alone, what was kept before, fails the audit.
    assert!(audit(&secrets, &record.body, time).is_err());
}

#[tokio::test]
async fn a_repeated_key_is_stored_and_flagged_and_a_plain_body_is_not() {
    let app = pipeline(one_secret("flag-secret"));
    for seed in [1_u8, 2] {
        let mut body = sample(seed).body;
        if seed == 1 {
            // `{"EventCode": …, …, "EventCode": "door.tamper"}`: the key twice.
            while body.last().is_some_and(u8::is_ascii_whitespace) {
                body.pop();
            }
            assert_eq!(body.pop(), Some(b'}'));
            body.extend_from_slice(br#","EventCode":"door.tamper"}"#);
        }
        let response = app
            .handle(signed(&body, &signature(&body, "flag-secret")))
            .await;
        assert_eq!(response.status_code, 200, "{}", response.body);
    }
    let mut flags: Vec<_> = app
        .store()
        .records()
        .values()
        .map(|record| {
            (
                record.ambiguous_json,
                item_to_json(&to_item(record, None, None, None))["ambiguous_json"].clone(),
                String::from_utf8_lossy(&record.body).contains("door.tamper"),
            )
        })
        .collect();
    flags.sort_by_key(|(flag, _, _)| *flag);
    assert_eq!(
        flags,
        [
            (false, serde_json::Value::Null, false),
            (true, serde_json::Value::Bool(true), true)
        ]
    );
}

/// The receiver over a cache of `store` (TTL 300 s, one refresh after a miss per 30 s).
fn cached(store: &Store) -> Pipeline<AlocityAccess, CachedSecrets<Store>, MemoryStore> {
    pipeline(CachedSecrets::new(
        store.clone(),
        Duration::from_secs(300),
        Duration::from_secs(30),
    ))
}

#[tokio::test]
async fn a_genuine_delivery_after_a_hundred_forged_ones_verifies_with_the_rotated_secret() {
    let store = Store::default();
    store.put("old-secret");
    let app = cached(&store);
    let body = sample(5).body;
    // Fresh timestamps, but MACs of 16 bytes: not what Alocity sends.
    let short = base64::engine::general_purpose::STANDARD.encode([7_u8; 16]);
    for _ in 0..100 {
        let response = app
            .handle(signed(&body, &format!("t:{NOW},sig:{short}")))
            .await;
        assert_eq!(response.status_code, 401);
    }
    assert_eq!(
        store.fetches(),
        1,
        "only the first load: no refresh spent on forgeries"
    );
    // The provider rotates; the next genuine delivery is signed with the new secret.
    store.put("new-secret");
    let response = app
        .handle(signed(&body, &signature(&body, "new-secret")))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response_json(&response)["status"], "stored");
    assert_eq!(store.fetches(), 2);
}

#[tokio::test]
async fn a_well_shaped_miss_still_refreshes() {
    let store = Store::default();
    store.put("old-secret");
    let app = cached(&store);
    let body = sample(6).body;
    let response = app
        .handle(signed(&body, &signature(&body, "unknown")))
        .await;
    assert_eq!(response_json(&response)["error"], "signature_mismatch");
    assert_eq!(store.fetches(), 2, "a full-size MAC gets its refresh");
}
