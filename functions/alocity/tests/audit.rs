//! The signature kept for the tamper audit is the header exactly as it was verified: a proxy
//! that splits `Alocity-Signature` into two values (`t:…` and `sig:…`) is verified on the joined
//! value, and that value, not the first part, is what the audit re-checks later.

#![allow(clippy::unwrap_used)]

use alocity::{AlocityAccess, CATALOG};
use webhook_core::config::Env;
use webhook_core::pipeline::{Clock, Pipeline};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::testing::api_gateway_event;
use webhook_core::{Catalog as _, Fresh, Secret, VersionedSecret};

const NOW: i64 = 1_795_511_521;

#[tokio::test]
async fn a_split_signature_header_is_stored_joined_and_the_audit_accepts_it() {
    let app = Pipeline::new(
        AlocityAccess::new(300),
        MemorySecrets::new([VersionedSecret::current("audit-secret")]),
        MemoryStore::new(),
        64 * 1024,
    )
    .with_clock(Clock::Fixed(NOW * 1000));
    let sample = CATALOG
        .sample(
            "door.state",
            &Fresh::new(NOW, [9; 32]),
            &Env::from_pairs([]),
        )
        .unwrap();
    let signer = CATALOG
        .signer(&Env::from_pairs([]), Secret::new("audit-secret".to_owned()))
        .unwrap();
    let (_, value) = signer.header(&sample.body, NOW, false);
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
