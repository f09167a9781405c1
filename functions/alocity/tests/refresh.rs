//! A forged flood cannot use up the refresh after a miss (issue 15 §3): the refresh that lets a
//! delivery signed with a secret rotated minutes ago verify happens at most once per 30 s, so
//! requests that are not shaped as Alocity's (a MAC of the wrong size) must not spend it.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alocity::{AlocityAccess, CATALOG};
use base64::Engine as _;
use webhook_core::config::Env;
use webhook_core::http::HttpRequest;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::{CachedSecrets, FetchSecrets, SecretError};
use webhook_core::store::MemoryStore;
use webhook_core::testing::{api_gateway_event, response_json};
use webhook_core::{Catalog as _, Fresh, Secret, VersionedSecret};

const NOW: i64 = 1_795_511_521;

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

fn signed(body: &[u8], header: &str) -> HttpRequest {
    api_gateway_event("POST", body, [("Alocity-Signature", header)], false, "r")
}

#[tokio::test]
async fn a_genuine_delivery_after_a_hundred_forged_ones_verifies_with_the_rotated_secret() {
    let store = Store::default();
    store.put("old-secret");
    let secrets = CachedSecrets::new(
        store.clone(),
        Duration::from_secs(300),
        Duration::from_secs(30),
    );
    let app = Pipeline::new(
        AlocityAccess::new(300),
        secrets,
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let sample = CATALOG
        .sample(
            "door.state",
            &Fresh::new(NOW, [5; 32]),
            &Env::from_pairs([]),
        )
        .unwrap();
    // Fresh timestamps, but MACs of 16 bytes: not what Alocity sends.
    let short = base64::engine::general_purpose::STANDARD.encode([7_u8; 16]);
    for _ in 0..100 {
        let response = app
            .handle(signed(&sample.body, &format!("t:{NOW},sig:{short}")))
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
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new("new-secret".to_owned()))
        .unwrap();
    let (_, header) = signer.header(&sample.body, NOW, false);
    let response = app.handle(signed(&sample.body, &header)).await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response_json(&response)["status"], "stored");
    assert_eq!(store.fetches(), 2);
}

#[tokio::test]
async fn a_well_shaped_miss_still_refreshes() {
    let store = Store::default();
    store.put("old-secret");
    let secrets = CachedSecrets::new(
        store.clone(),
        Duration::from_secs(300),
        Duration::from_secs(30),
    );
    let app = Pipeline::new(
        AlocityAccess::new(300),
        secrets,
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let sample = CATALOG
        .sample(
            "door.state",
            &Fresh::new(NOW, [6; 32]),
            &Env::from_pairs([]),
        )
        .unwrap();
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new("unknown".to_owned()))
        .unwrap();
    let (_, header) = signer.header(&sample.body, NOW, false);
    let response = app.handle(signed(&sample.body, &header)).await;
    assert_eq!(response_json(&response)["error"], "signature_mismatch");
    assert_eq!(store.fetches(), 2, "a full-size MAC gets its refresh");
}
