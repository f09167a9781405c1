//! Warm handler overhead without I/O (issue 6 target: ≤ 100 µs p99 for 1 KiB events).
//!
//! Times, per request, what the Alocity Selfie function does between receiving an invocation
//! and answering it, minus the network: deserialise the API Gateway v2 event JSON (as
//! `lambda_runtime` does), `Pipeline::handle` (method, size, verify against the in-memory
//! secrets, parse the typed event, SHA-256, build the record, store it in the in-memory store,
//! build the response, one JSON log line through the function's own subscriber into a sink),
//! and serialise the response. Every request is a new, freshly signed 1 KiB `FaceMatched`
//! event, so every one is verified and stored (never a duplicate). Writes
//! `target/pipeline.json` for `report.py`.

use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alocity_selfie::AlocitySelfie;
use serde_json::{Value, json};
use webhook_core::http::{HttpRequest, HttpResponse};
use webhook_core::metrics::{self, Emf, Emitter};
use webhook_core::secrets::MemorySecrets;
use webhook_core::store::MemoryStore;
use webhook_core::telemetry::{EnvFilter, json_subscriber};
use webhook_core::testing::api_gateway_event_json;
use webhook_core::{Pipeline, Secret, VersionedSecret};

const SECRET: &str = "bench-alocity-selfie-secret";
const BODY_BYTES: usize = 1024;
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// Requests per batch: each batch gets a new pipeline (an empty store) and new events, made
/// outside the timed section.
const BATCH: usize = 1_000;
const WARMUP_BATCHES: usize = 3;
const BATCHES: usize = 40;

type Subject = Pipeline<AlocitySelfie, MemorySecrets, MemoryStore>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if filter
        .as_deref()
        .is_some_and(|name| !"pipeline".contains(name))
    {
        return Ok(()); // `cargo bench -- <filter>` for another bench
    }
    // The function's JSON log subscriber, writing into a sink instead of stdout.
    tracing::subscriber::set_global_default(json_subscriber(
        std::io::sink,
        EnvFilter::new("info"),
    ))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;

    // Both ways, the same events, alternating which goes first: with the metrics as the
    // functions run them (recorded, rendered as one EMF document, written to a sink), and
    // without (the pipeline's `record` calls find no invocation and do nothing).
    let emf = Emf::new("Webhooks/bench", Emitter::Receiver);
    let mut with_metrics = Vec::with_capacity(BATCHES * BATCH);
    let mut without_metrics = Vec::with_capacity(BATCHES * BATCH);
    for batch in 0..WARMUP_BATCHES + BATCHES {
        let events = signed_events(batch)?;
        for metrics_on in [batch % 2 == 0, batch % 2 == 1] {
            let pipeline = subject();
            let samples = if metrics_on {
                &mut with_metrics
            } else {
                &mut without_metrics
            };
            for event in &events {
                let started = Instant::now();
                let request: HttpRequest = serde_json::from_slice(event)?;
                let response = if metrics_on {
                    let (response, measured) =
                        runtime.block_on(metrics::measure(pipeline.handle(request)));
                    let documents =
                        emf.documents("alocity-selfie", &measured, 1, &[("requestId", "req")]);
                    let mut sink = std::io::sink();
                    for document in &documents {
                        writeln!(sink, "{document}")?;
                    }
                    black_box(documents);
                    response
                } else {
                    runtime.block_on(pipeline.handle(request))
                };
                let answer = serde_json::to_vec(&response)?;
                let elapsed = started.elapsed();
                check(&response)?;
                black_box(answer);
                if batch >= WARMUP_BATCHES {
                    samples.push(elapsed);
                }
            }
            if pipeline.store().len() != BATCH {
                return Err(format!("stored {} of {BATCH}", pipeline.store().len()).into());
            }
        }
    }
    report(&mut with_metrics, &mut without_metrics)
}

fn subject() -> Subject {
    Pipeline::new(
        AlocitySelfie::new(300),
        MemorySecrets::new(vec![
            VersionedSecret::current(SECRET),
            VersionedSecret::previous("bench-previous-secret"),
        ]),
        MemoryStore::new(),
        MAX_BODY_BYTES,
    )
}

fn check(response: &HttpResponse) -> Result<(), String> {
    if response.status_code == 200 && response.body.contains(r#""status":"stored""#) {
        Ok(())
    } else {
        Err(format!("unexpected answer {}", response.status_code))
    }
}

/// `BATCH` API Gateway v2 events as JSON bytes, each a new 1 KiB event signed now.
fn signed_events(batch: usize) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let secret = Secret::new(SECRET);
    (0..BATCH)
        .map(|index| {
            let id = format!("00000000-0000-4000-8000-{batch:06}{index:06}");
            let body = selfie_body(&id, now);
            let header = webhook_core::verify::alocity::sign(&secret, now, body.as_bytes());
            Ok(serde_json::to_vec(&delivery(
                &body,
                &header,
                &format!("req-{batch}-{index}"),
            ))?)
        })
        .collect()
}

/// A `FaceMatched` envelope of exactly `BODY_BYTES` bytes, like bench/startup/events.py.
fn selfie_body(id: &str, now: i64) -> String {
    let envelope = |subjects: &[String]| {
        json!({
            "Id": id,
            "AccountId": "a2a4e62e-dd1a-4396-a27f-2e5115a028d1",
            "OrganizationId": "cc298111-883b-4047-a960-b27dd3525d2b",
            "CorrelationId": "6bec4921-30f7-489b-8538-3e901744c520",
            "EventCode": "FaceMatched",
            "Payload": {"subjects": subjects},
            "TimeStamp": now,
        })
        .to_string()
    };
    let mut subjects = Vec::new();
    while BODY_BYTES.saturating_sub(envelope(&subjects).len()) >= 2 * 39 {
        subjects.push(format!("6856aba8-c8e1-412e-9358-{:012}", subjects.len()));
    }
    let room = BODY_BYTES - envelope(&subjects).len();
    if room > 0 {
        let filler = room - 2 - usize::from(!subjects.is_empty());
        subjects.push("f".repeat(filler));
    }
    let body = envelope(&subjects);
    assert_eq!(body.len(), BODY_BYTES, "body size");
    body
}

/// The API Gateway v2 event of a delivery through the deployed HTTP API route (template.yaml):
/// the shared test event with the headers API Gateway and the sender add, on the route
/// `POST /webhooks/alocity-selfie` instead of a Function URL's `$default`.
fn delivery(body: &str, signature: &str, request_id: &str) -> Value {
    const ROUTE: &str = "POST /webhooks/alocity-selfie";
    const PATH: &str = "/webhooks/alocity-selfie";
    const API: &str = "abcdef1234";
    const HOST: &str = "abcdef1234.execute-api.us-east-1.amazonaws.com";
    const USER_AGENT: &str = "Alocity-Webhooks/1.0";
    let content_length = body.len().to_string();
    let mut event = api_gateway_event_json(
        "POST",
        body.as_bytes(),
        [
            ("alocity-signature", signature),
            ("content-length", &content_length),
            ("content-type", "application/json"),
            ("host", HOST),
            ("user-agent", USER_AGENT),
            (
                "x-amzn-trace-id",
                "Root=1-6b052678-d727bb89f8e34284a706b127",
            ),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
        ],
        false,
        request_id,
    );
    event["routeKey"] = ROUTE.into();
    event["rawPath"] = PATH.into();
    let context = &mut event["requestContext"];
    context["apiId"] = API.into();
    context["domainName"] = HOST.into();
    context["domainPrefix"] = API.into();
    context["http"]["path"] = PATH.into();
    context["http"]["userAgent"] = USER_AGENT.into();
    context["routeKey"] = ROUTE.into();
    context["time"] = "24/Nov/2026:06:00:00 +0000".into();
    context["timeEpoch"] = 1_795_500_000_000_i64.into();
    event
}

/// Nearest-rank percentile of sorted samples, in thousandths: 500 is p50, 999 is p99.9.
fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    let rank = (per_mille * sorted.len())
        .div_ceil(1000)
        .clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// p50, p90, p99, p99.9, max and mean of `samples`, in µs.
fn summary(samples: &mut [Duration]) -> Result<[f64; 6], Box<dyn std::error::Error>> {
    samples.sort_unstable();
    let count = u32::try_from(samples.len())?;
    let mean = micros(samples.iter().sum::<Duration>() / count);
    let [p50, p90, p99, p999] =
        [500, 900, 990, 999].map(|per_mille| micros(percentile(samples, per_mille)));
    Ok([
        p50,
        p90,
        p99,
        p999,
        micros(samples[samples.len() - 1]),
        mean,
    ])
}

fn report(
    samples: &mut [Duration],
    without_metrics: &mut [Duration],
) -> Result<(), Box<dyn std::error::Error>> {
    let [p50, p90, p99, p999, max, mean] = summary(samples)?;
    let [off_p50, off_p90, off_p99, off_p999, off_max, off_mean] = summary(without_metrics)?;
    let result = json!({
        "body_bytes": BODY_BYTES,
        "requests": samples.len(),
        "warmup_requests": WARMUP_BATCHES * BATCH,
        "metrics": "on: measured, one EMF document rendered and written to a sink per request",
        "p50_us": p50,
        "p90_us": p90,
        "p99_us": p99,
        "p999_us": p999,
        "max_us": max,
        "mean_us": mean,
        "without_metrics": {
            "requests": without_metrics.len(),
            "p50_us": off_p50,
            "p90_us": off_p90,
            "p99_us": off_p99,
            "p999_us": off_p999,
            "max_us": off_max,
            "mean_us": off_mean,
        },
    });
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("pipeline.json");
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")?;
    writeln!(
        std::io::stdout(),
        "pipeline/alocity-selfie/1KiB: {} requests, with metrics p50 {p50:.1} µs, p99 {p99:.1} µs, mean {mean:.1} µs; without p50 {off_p50:.1} µs, p99 {off_p99:.1} µs, mean {off_mean:.1} µs -> {}",
        samples.len(),
        path.display()
    )?;
    Ok(())
}
