//! Reading a delivery's Lambda event: our own types (`webhook_core::http::HttpRequest`, what the
//! functions deserialise) against `lambda_http::request::from_str` (the design card's HTTP
//! layer), for each front door, a 1 KiB body. Both end with the method, the headers as an
//! `http::HeaderMap` and the body's bytes. README "Event shapes" has the figures.

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use webhook_core::http::{FrontDoor, HttpRequest};

fn event(door: FrontDoor) -> String {
    let body = format!(
        r#"{{"EventCode":"InviteSent","pad":"{}"}}"#,
        "x".repeat(990)
    );
    door.event(
        "/webhooks/alocity-selfie",
        &[(
            "Alocity-Signature",
            "t:1795511521,sig:Zm9yIGJlbmNobWFya2luZyBvbmx5IG5vdCBhIHJlYWwgbWFj",
        )],
        body.as_bytes(),
        "5f0e4b1c-1111-2222-3333-444455556666",
        1_795_511_521_000,
    )
    .to_string()
}

fn ours(text: &str) -> (http::Method, http::HeaderMap, Vec<u8>) {
    let mut request: HttpRequest = serde_json::from_str(text).unwrap_or_default();
    let body = request.body.take().unwrap_or_default();
    let body = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.into_bytes()
    };
    (request.method(), request.header_map(), body)
}

fn theirs(text: &str) -> (http::Method, http::HeaderMap, Vec<u8>) {
    let Ok(request) = lambda_http::request::from_str(text) else {
        return Default::default();
    };
    let (parts, body) = request.into_parts();
    (parts.method, parts.headers, body.to_vec())
}

fn read_events(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    for door in FrontDoor::ALL {
        let text = event(door);
        assert_eq!(ours(&text), theirs(&text), "{door:?}: both read the same");
        group.bench_function(format!("ours/{}", door.name()), |b| {
            b.iter(|| ours(black_box(&text)))
        });
        group.bench_function(format!("lambda_http/{}", door.name()), |b| {
            b.iter(|| theirs(black_box(&text)));
        });
    }
    group.finish();
}

criterion_group!(benches, read_events);
criterion_main!(benches);
