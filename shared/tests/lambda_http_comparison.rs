//! `lambda_http` (the design card's HTTP layer) against our own event types, on the public
//! Lambda events of every front door: where they agree, and the cases where `lambda_http` would
//! lose an authentic delivery. README "Event shapes" has the decision these results support;
//! should a `lambda_http` release fix them, these tests fail and the decision is worth revisiting.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use webhook_core::http::HttpRequest;
use webhook_core::testing::{LAMBDA_EVENT_TEMPLATES, delivery_event};

const BODY: &[u8] = br#"{"EventCode":"InviteSent","Id":"7d1c"}"#;
const SIGNATURE: (&str, &str) = ("Alocity-Signature", "t:1795511521,sig:c2lnbmF0dXJl");

fn ours(event: &serde_json::Value) -> HttpRequest {
    serde_json::from_value(event.clone()).expect("our types read every front door's event")
}

fn theirs(event: &serde_json::Value) -> std::thread::Result<Result<lambda_http::Request, String>> {
    let text = event.to_string();
    catch_unwind(AssertUnwindSafe(|| {
        lambda_http::request::from_str(&text).map_err(|error| error.to_string())
    }))
}

#[test]
fn both_read_the_same_method_header_and_body_from_every_front_door() {
    for &(template, _) in LAMBDA_EVENT_TEMPLATES {
        for base64 in [false, true] {
            let event = delivery_event(template, BODY, [SIGNATURE], base64);
            let request = theirs(&event)
                .expect("no panic")
                .expect("lambda_http reads it");
            let mine = ours(&event);
            assert_eq!(request.method(), mine.method(), "{template}");
            assert_eq!(
                request.headers()["alocity-signature"],
                mine.header_map()["alocity-signature"],
                "{template}"
            );
            assert_eq!(
                request.body().as_ref(),
                BODY,
                "{template} (base64: {base64})"
            );
        }
    }
}

#[test]
fn lambda_http_panics_on_a_body_that_is_not_base64() {
    // Ours: `400 invalid_body_encoding` (every function's vectors test, every front door).
    for &(template, _) in LAMBDA_EVENT_TEMPLATES {
        let mut event = delivery_event(template, BODY, [SIGNATURE], true);
        event["body"] = serde_json::json!("not base64!");
        assert!(
            theirs(&event).is_err(),
            "{template}: lambda_http no longer panics"
        );
        assert!(ours(&event).body.is_some());
    }
}

#[test]
fn lambda_http_refuses_a_whole_event_over_one_header_value_it_cannot_carry() {
    // An unrelated header with a control character in its value (HTTP cannot carry it; a
    // front door that passes it on): lambda_http fails to read the event at all, which Lambda
    // answers with an error (API Gateway: 502), so an authentic delivery is lost. Ours leaves
    // that one header out and verifies the rest. (UTF-8 values both keep.)
    let mut failed = Vec::new();
    for &(template, _) in LAMBDA_EVENT_TEMPLATES {
        let event = delivery_event(template, BODY, [SIGNATURE, ("X-Client", "a\u{1}b")], false);
        match theirs(&event) {
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => failed.push(template),
        }
        let mine = ours(&event).header_map();
        assert_eq!(mine["alocity-signature"], SIGNATURE.1, "{template}");
        assert!(!mine.contains_key("x-client"), "{template}");
    }
    assert_eq!(
        failed.len(),
        LAMBDA_EVENT_TEMPLATES.len(),
        "refused only: {failed:?}"
    );
}

#[test]
fn both_keep_every_value_of_a_repeated_header() {
    // As a load balancer with multi-value headers on sends it: `multiValueHeaders` only.
    let mut event = delivery_event("alb_multi_value_request.json", BODY, [SIGNATURE], false);
    event.as_object_mut().unwrap().remove("headers");
    let request = theirs(&event).unwrap().unwrap();
    let theirs: Vec<_> = request
        .headers()
        .get_all("cookie")
        .iter()
        .cloned()
        .collect();
    let mine: Vec<_> = ours(&event)
        .header_map()
        .get_all("cookie")
        .iter()
        .cloned()
        .collect();
    assert_eq!(theirs, mine);
    assert_eq!(mine.len(), 2);
}

#[test]
fn a_base64_body_decodes_the_same() {
    let raw: Vec<u8> = (0..=255).collect();
    let event = delivery_event("apigw_v2_proxy_request.json", b"", [SIGNATURE], true);
    let mut event = event;
    event["body"] = serde_json::json!(base64::engine::general_purpose::STANDARD.encode(&raw));
    let request = theirs(&event).unwrap().unwrap();
    assert_eq!(request.body().as_ref(), &raw[..]);
}
