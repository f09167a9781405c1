//! Test support shared by the function crates: the known-answer vectors from
//! `tests/fixtures/vectors/` (made by an independent Python signer) and real-shaped API Gateway
//! v2 events. Compiled only for tests (`test-support` feature).

#![allow(clippy::missing_panics_doc, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{HttpRequest, HttpResponse};

pub mod strategies;
use crate::secret::VersionedSecret;

/// A verified FACEIO `ENROLL` delivery of `body` (parsed as its payload when it is JSON), as the
/// pipeline hands it to the store; tests change the fields they are about.
pub fn record(body: &[u8]) -> crate::store::EventRecord {
    crate::store::EventRecord {
        provider: "faceio".into(),
        endpoint: crate::endpoint::DEFAULT.into(),
        idempotency_key: "app/ENROLL/f1".into(),
        event_code: "ENROLL".into(),
        ambiguous_json: false,
        subject: Some("f1".into()),
        provider_time: None,
        received_at_ms: 1_764_000_000_123,
        request_id: "req-1".into(),
        source_ip: Some("203.0.113.9".into()),
        secret_version: crate::SecretVersion::Previous,
        body: body.to_vec(),
        body_sha256: "ab".into(),
        message_sha256: None,
        payload: serde_json::from_slice(body).ok(),
        signature: None,
        promoted: None,
    }
}

/// The repository's `tests/fixtures` folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("fixtures")
}

/// One mode's vector file.
#[derive(Debug, Clone, Deserialize)]
pub struct VectorFile {
    /// `alocity-selfie`, `alocity`, `faceio`, `amani-signature`, `amani-token`.
    pub mode: String,
    /// The current and previous secret.
    pub secrets: Secrets,
    /// The time the vectors were signed for, unix seconds.
    pub now: i64,
    /// FACEIO's configured application.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Amani token mode's header.
    #[serde(default)]
    pub token_header: Option<String>,
    /// Requests that must be accepted.
    pub vectors: Vec<Vector>,
    /// Requests that must be refused.
    pub negative_vectors: Vec<NegativeVector>,
}

/// `secrets` in a vector file.
#[derive(Debug, Clone, Deserialize)]
pub struct Secrets {
    /// `AWSCURRENT`.
    pub current: String,
    /// `AWSPREVIOUS`.
    pub previous: String,
}

impl Secrets {
    /// The candidate secrets, current then previous.
    pub fn candidates(&self) -> Vec<VersionedSecret> {
        vec![
            VersionedSecret::current(&self.current),
            VersionedSecret::previous(&self.previous),
        ]
    }
}

/// A request that must verify.
#[derive(Debug, Clone, Deserialize)]
pub struct Vector {
    /// Fixture name.
    pub name: String,
    /// Expected event code.
    pub event_code: String,
    /// The exact wire body.
    pub body: String,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// `current` or `previous`.
    pub matched: String,
    /// Expected idempotency key (`None` when it is the request id).
    pub key: Option<String>,
    /// Expected subject.
    pub subject: Option<String>,
    /// Amani: only the `json.dumps` fallback verifies this body.
    #[serde(default)]
    pub fallback_only: bool,
}

/// A request that must be refused with `401`.
#[derive(Debug, Clone, Deserialize)]
pub struct NegativeVector {
    /// What is wrong with it.
    pub name: String,
    /// The wire body.
    pub body: String,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// Expected status.
    pub status: u16,
    /// Acceptable reason codes.
    pub errors: Vec<String>,
}

impl VectorFile {
    /// Loads `tests/fixtures/vectors/<mode>.json`.
    pub fn load(mode: &str) -> Self {
        let path = fixtures_dir().join("vectors").join(format!("{mode}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    /// The candidate secrets, current then previous.
    pub fn candidates(&self) -> Vec<VersionedSecret> {
        self.secrets.candidates()
    }

    /// `now` in unix milliseconds, for [`crate::Clock::Fixed`].
    pub fn now_ms(&self) -> i64 {
        self.now * 1000
    }
}

/// The event JSON API Gateway v2 / a Function URL sends for a request (lower-case header names,
/// `content-type: application/json`, the body base64 when asked), as the Lambda runtime receives it.
pub fn api_gateway_event_json<'a>(
    method: &str,
    body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    base64: bool,
    request_id: &str,
) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), Value::from(value)))
        .chain([("content-type".to_owned(), Value::from("application/json"))])
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).expect("a non-base64 event body is text")
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.lambda-url.us-east-1.on.aws",
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test"
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2025:16:00:00 +0000",
            "timeEpoch": 1_764_000_000_000_i64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// Builds a request the way API Gateway v2 / a Function URL delivers it, by deserialising
/// [`api_gateway_event_json`] as Lambda would.
pub fn api_gateway_event<'a>(
    method: &str,
    body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    base64: bool,
    request_id: &str,
) -> HttpRequest {
    serde_json::from_value(api_gateway_event_json(
        method, body, headers, base64, request_id,
    ))
    .expect("a valid API Gateway v2 event")
}

/// A signed vector as a POST request.
pub fn vector_request(
    body: &str,
    headers: &BTreeMap<String, String>,
    request_id: &str,
) -> HttpRequest {
    api_gateway_event(
        "POST",
        body.as_bytes(),
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        false,
        request_id,
    )
}

/// The response body as JSON.
pub fn response_json(response: &HttpResponse) -> Value {
    serde_json::from_str(&response.body).expect("responses are JSON")
}

/// A `MakeWriter` collecting log output in memory, to check what the logs contain.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Checks that what one request recorded says what its answer says: one `Requests`, exactly one
/// outcome metric (the one this table names for the answer's status and word), and for a
/// `401` a `Rejected` dimensioned by the answer's reason. Returns the failures, for callers
/// that report many cases together.
pub fn measured_as_answered(
    response: &HttpResponse,
    measured: &crate::metrics::Measurements,
) -> Result<(), String> {
    use crate::metrics::Metric;

    let json = response_json(response);
    let word = json["status"]
        .as_str()
        .or_else(|| json["error"].as_str())
        .unwrap_or_default();
    let expected = match (response.status_code, word) {
        (200, "stored") => Metric::Stored,
        (200, "duplicate") => Metric::Duplicate,
        (200, "conflict") => Metric::Conflict,
        (202, "queued") => Metric::Queued,
        (401, _) => Metric::Rejected,
        (400, _) => Metric::BadRequest,
        (404, "unknown_endpoint") => Metric::UnknownEndpoint,
        (405, _) => Metric::MethodNotAllowed,
        (413, _) => Metric::BodyTooLarge,
        (503, "storage_unavailable") => Metric::StoreUnavailable,
        (503, "secrets_unavailable") => Metric::SecretsUnavailable,
        (status, word) => return Err(format!("no metric for the answer {status} {word}")),
    };
    let mut problems = Vec::new();
    if measured.count(Metric::Requests) != 1 {
        problems.push(format!("Requests {}", measured.count(Metric::Requests)));
    }
    for metric in Metric::ALL.into_iter().filter(|metric| metric.is_outcome()) {
        let want = u64::from(metric == expected);
        if measured.count(metric) != want {
            problems.push(format!(
                "{} {} (want {want})",
                metric.name(),
                measured.count(metric)
            ));
        }
    }
    if expected == Metric::Rejected && measured.reason() != Some(word) {
        problems.push(format!("reason {:?} (want {word})", measured.reason()));
    }
    // A write was tried for every verified delivery: stored, or not.
    let written = matches!(response.status_code, 200 | 202) || word == "storage_unavailable";
    if written != (measured.samples(Metric::StoreLatencyMs).len() == 1) {
        problems.push(format!(
            "StoreLatencyMs {:?}",
            measured.samples(Metric::StoreLatencyMs)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} {}: {}",
            response.status_code,
            response.body,
            problems.join(", ")
        ))
    }
}

/// Handles `request` with `pipeline`, checks what it recorded against its answer
/// ([`measured_as_answered`]) and returns the answer and what was recorded.
pub async fn handle_measured<P, S, E, H>(
    pipeline: &crate::Pipeline<P, S, E, H>,
    request: HttpRequest,
    label: &str,
) -> (HttpResponse, crate::metrics::Measurements)
where
    P: crate::Provider,
    S: crate::secrets::SecretSource,
    E: crate::store::EventStore,
    H: crate::quarantine::Hold,
{
    let (response, measured) = crate::metrics::measure(pipeline.handle(request)).await;
    if let Err(problem) = measured_as_answered(&response, &measured) {
        panic!("{label}: metrics do not match the answer: {problem}");
    }
    (response, measured)
}

/// Runs every vector of `file` through the real pipeline with in-memory secrets and store, and
/// checks status, key, event code, subject, matched secret version and stored bytes; then the
/// negative vectors, which must be refused with one of their reason codes and store nothing.
pub async fn assert_vectors<P, F>(file: &VectorFile, provider: F)
where
    P: crate::Provider,
    F: Fn() -> P,
{
    use sha2::Digest as _;

    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    let pipeline = |secrets: Vec<VersionedSecret>| {
        Pipeline::new(
            provider(),
            MemorySecrets::new(secrets),
            MemoryStore::new(),
            MAX_BODY,
        )
        .with_clock(Clock::Fixed(file.now_ms()))
    };

    assert!(!file.vectors.is_empty(), "{}: no vectors", file.mode);
    for vector in &file.vectors {
        let label = format!("{}/{}", file.mode, vector.name);
        let request_id = format!("req-{}", vector.name);
        let app = pipeline(file.candidates());
        let response = handle_measured(
            &app,
            vector_request(&vector.body, &vector.headers, &request_id),
            &label,
        )
        .await
        .0;
        assert_eq!(response.status_code, 200, "{label}: {}", response.body);
        let expected_key = vector.key.clone().unwrap_or_else(|| request_id.clone());
        assert_eq!(
            response_json(&response),
            json!({"status": "stored", "key": expected_key}),
            "{label}"
        );

        let records = app.store().records();
        let record = records
            .get(&format!("{}#{expected_key}", P::NAME))
            .unwrap_or_else(|| panic!("{label}: not stored under its key"));
        assert_eq!(records.len(), 1, "{label}");
        assert_eq!(record.event_code, vector.event_code, "{label}");
        assert_eq!(record.subject, vector.subject, "{label}");
        assert_eq!(record.body, vector.body.as_bytes(), "{label}");
        assert_eq!(
            record.body_sha256,
            hex::encode(sha2::Sha256::digest(vector.body.as_bytes())),
            "{label}"
        );
        let expected_version = match vector.matched.as_str() {
            "current" => crate::SecretVersion::Current,
            _ => crate::SecretVersion::Previous,
        };
        assert_eq!(record.secret_version, expected_version, "{label}");
        assert_eq!(record.request_id, request_id, "{label}");

        // The same delivery again is a duplicate (FACEIO AUTH is keyed per request, so it is
        // redelivered with the same request id here).
        let again = handle_measured(
            &app,
            vector_request(&vector.body, &vector.headers, &request_id),
            &label,
        )
        .await
        .0;
        assert_eq!(response_json(&again)["status"], "duplicate", "{label}");
        assert_eq!(app.store().len(), 1, "{label}");

        // Only the previous secret left: a vector signed with it still verifies; one signed
        // with the current secret does not.
        let previous_only = pipeline(vec![VersionedSecret::previous(&file.secrets.previous)]);
        let response = previous_only
            .handle(vector_request(&vector.body, &vector.headers, &request_id))
            .await;
        let expected = if expected_version == crate::SecretVersion::Previous {
            200
        } else {
            401
        };
        assert_eq!(
            response.status_code, expected,
            "{label} with the previous secret only"
        );
    }

    for negative in &file.negative_vectors {
        let label = format!("{}/{} (negative)", file.mode, negative.name);
        let app = pipeline(file.candidates());
        let response = handle_measured(
            &app,
            vector_request(&negative.body, &negative.headers, "req-negative"),
            &label,
        )
        .await
        .0;
        assert_eq!(
            response.status_code, negative.status,
            "{label}: {}",
            response.body
        );
        let reason = response_json(&response)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(negative.errors.contains(&reason), "{label}: got {reason}");
        assert!(app.store().is_empty(), "{label}: something was stored");
    }
}

/// Every positive vector with one body byte changed must be refused, whatever the mode's
/// scheme (a token scheme does not sign the body, so callers skip this for token modes).
pub async fn assert_tampered_bodies_refused<P, F>(file: &VectorFile, provider: F)
where
    P: crate::Provider,
    F: Fn() -> P,
{
    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    for vector in &file.vectors {
        for position in [0, vector.body.len() / 2, vector.body.len() - 1] {
            let mut body = vector.body.clone().into_bytes();
            // Flip a bit that keeps ASCII text ASCII.
            body[position] ^= 0x01;
            let Ok(body) = String::from_utf8(body) else {
                continue;
            };
            let app = Pipeline::new(
                provider(),
                MemorySecrets::new(file.candidates()),
                MemoryStore::new(),
                MAX_BODY,
            )
            .with_clock(Clock::Fixed(file.now_ms()));
            let response = app
                .handle(vector_request(&body, &vector.headers, "req-tampered"))
                .await;
            assert_eq!(
                response_json(&response),
                json!({"error": "signature_mismatch"}),
                "{}/{} byte {position}",
                file.mode,
                vector.name
            );
            assert!(app.store().is_empty());
        }
    }
}

/// The body cap the vector tests run with (the default).
const MAX_BODY: usize = 6 * 1024 * 1024;

/// The bad-input corpus `tests/fixtures/corpus/corpus.json`, written by
/// `tests/fixtures/corpus/gen_corpus.py` (Python, independent of the Rust signer): requests that
/// must all be refused, each with the one status and reason code expected.
#[derive(Debug, Clone, Deserialize)]
pub struct Corpus {
    /// The receiver's clock for every case, unix seconds.
    pub now: i64,
    /// The `MAX_BODY_BYTES` the cases assume.
    pub max_body_bytes: usize,
    /// Per-mode configuration, by mode name.
    pub modes: BTreeMap<String, CorpusMode>,
    /// The cases, all modes.
    pub cases: Vec<CorpusCase>,
}

/// How a mode's receiver is configured for the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct CorpusMode {
    /// The current and previous secret.
    pub secrets: Secrets,
    /// Alocity replay tolerance.
    #[serde(default)]
    pub tolerance_secs: Option<u64>,
    /// FACEIO's configured application.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Amani token mode's header.
    #[serde(default)]
    pub token_header: Option<String>,
}

/// One request that must be refused.
#[derive(Debug, Clone, Deserialize)]
pub struct CorpusCase {
    /// `<mode>/<category>/<what>`.
    pub id: String,
    /// The provider mode.
    pub mode: String,
    /// `requestContext.http.method`.
    pub method: String,
    /// Request headers (a repeated header already joined with `,`).
    pub headers: BTreeMap<String, String>,
    /// The event's `body`, verbatim: base64 text (maybe junk) when `is_base64_encoded`.
    pub body: String,
    /// The event's `isBase64Encoded`.
    pub is_base64_encoded: bool,
    /// Pad the raw body with ASCII spaces to this many bytes.
    #[serde(default)]
    pub pad_to: Option<usize>,
    /// Expected status.
    pub status: u16,
    /// Expected reason code.
    pub error: String,
}

impl Corpus {
    /// Loads `tests/fixtures/corpus/corpus.json`.
    pub fn load() -> Self {
        let path = fixtures_dir().join("corpus").join("corpus.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }
}

impl CorpusCase {
    /// The case as an API Gateway v2 event, padded as the case says.
    pub fn request(&self, request_id: &str) -> HttpRequest {
        let mut request = api_gateway_event(
            &self.method,
            b"",
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            false,
            request_id,
        );
        let body = match self.pad_to {
            None => self.body.clone(),
            Some(size) if self.is_base64_encoded => {
                let engine = base64::engine::general_purpose::STANDARD;
                let mut raw = engine.decode(&self.body).expect("a padded case is base64");
                raw.resize(size.max(raw.len()), b' ');
                engine.encode(raw)
            }
            Some(size) => {
                let mut text = self.body.clone();
                text.push_str(&" ".repeat(size.saturating_sub(text.len())));
                text
            }
        };
        request.body = Some(body);
        request.is_base64_encoded = self.is_base64_encoded;
        request
    }
}

/// Runs every corpus case of `mode` through the real pipeline (in-memory secrets and store, the
/// corpus clock) and checks each gets exactly its status and `{"error": reason}`, never a 5xx
/// or a panic, and stores nothing. All failures are reported together. Returns the number of
/// cases run.
pub fn run_corpus<P, F>(mode: &str, provider: F) -> usize
where
    P: crate::Provider,
    F: Fn(&CorpusMode) -> P,
{
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    let corpus = Corpus::load();
    assert!(
        corpus.cases.len() >= 200,
        "the corpus has only {} cases",
        corpus.cases.len()
    );
    let config = corpus
        .modes
        .get(mode)
        .unwrap_or_else(|| panic!("no mode {mode} in the corpus"));
    let cases: Vec<&CorpusCase> = corpus.cases.iter().filter(|c| c.mode == mode).collect();
    assert!(cases.len() >= 30, "{mode}: only {} cases", cases.len());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let app = Pipeline::new(
            provider(config),
            MemorySecrets::new(config.secrets.candidates()),
            MemoryStore::new(),
            corpus.max_body_bytes,
        )
        .with_clock(Clock::Fixed(corpus.now * 1000));
        let request = case.request(&format!("corpus-{index}"));
        let Ok((response, measured)) = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(crate::metrics::measure(app.handle(request)))
        })) else {
            failures.push(format!("{}: panicked", case.id));
            continue;
        };
        if let Err(problem) = measured_as_answered(&response, &measured) {
            failures.push(format!("{}: metrics: {problem}", case.id));
        }
        let expected = json!({ "error": case.error });
        let body: Option<Value> = serde_json::from_str(&response.body).ok();
        if response.status_code != case.status || body.as_ref() != Some(&expected) {
            failures.push(format!(
                "{}: expected {} {expected}, got {} {}",
                case.id, case.status, response.status_code, response.body
            ));
        }
        if response.status_code >= 500 {
            failures.push(format!(
                "{}: server error {}",
                case.id, response.status_code
            ));
        }
        if !app.store().is_empty() {
            failures.push(format!(
                "{}: stored {:?}",
                case.id,
                app.store().records().keys()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{mode}: {} of {} corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "corpus {mode}: {} cases refused as expected ({} in the corpus, all modes)",
        cases.len(),
        corpus.cases.len()
    );
    cases.len()
}

/// Checks a provider's [`Catalog`](crate::Catalog) against its own function, through the real
/// pipeline with in-memory secrets and store: for every documented code, the sample signed by the
/// catalogue's signer (configured by `env`) is stored under that code and the subject the
/// catalogue names, and its tampered twin is refused with `401`; two seeds give two different
/// bodies; the audit rule, when there is one, accepts the stored signature and refuses it for an
/// altered body. Returns how many samples were stored, and how many of those were audited.
pub fn check_catalog<P, F>(
    catalog: &dyn crate::Catalog,
    provider: F,
    env: &crate::config::Env,
) -> (usize, usize)
where
    P: crate::Provider,
    F: Fn() -> P,
{
    use crate::catalog::Fresh;
    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    const NOW: i64 = 1_795_511_521;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let secret = crate::Secret::new(catalog.dev_secret());
    let signer = catalog.signer(env, secret).unwrap();
    assert_eq!(catalog.name(), P::NAME);
    assert!(!catalog.event_codes().is_empty());
    assert_eq!(
        catalog.sample("no-such-code", &Fresh::new(NOW, [0; 32]), env),
        None
    );
    let mut audited = 0;
    for (index, &code) in catalog.event_codes().iter().enumerate() {
        let sample = catalog
            .sample(code, &Fresh::new(NOW, [1; 32]), env)
            .unwrap_or_else(|| panic!("{}: no sample for {code}", catalog.name()));
        let other = catalog
            .sample(code, &Fresh::new(NOW, [2; 32]), env)
            .unwrap();
        assert_ne!(
            sample.body, other.body,
            "{code}: the same body for two seeds"
        );
        assert_ne!(
            sample.subject, other.subject,
            "{code}: the same subject for two seeds"
        );
        assert_eq!(sample.event_code, code);

        for tamper in [false, true] {
            let app = Pipeline::new(
                provider(),
                MemorySecrets::new(vec![VersionedSecret::current(catalog.dev_secret())]),
                MemoryStore::new(),
                6 * 1024 * 1024,
            )
            .with_clock(Clock::Fixed(NOW * 1000));
            let (name, value) = signer.header(&sample.body, NOW, tamper);
            let request = api_gateway_event(
                "POST",
                &sample.body,
                [(name.as_str(), value.as_str())],
                false,
                &format!("catalog-{index}"),
            );
            let response = runtime.block_on(app.handle(request));
            let records = app.store().records();
            if tamper {
                assert!(
                    !value.contains(catalog.dev_secret()),
                    "{code}: a tampered request carries the real secret"
                );
                assert_eq!(
                    response.status_code, 401,
                    "{code} tampered: {}",
                    response.body
                );
                assert!(records.is_empty(), "{code}: a tampered sample was stored");
                continue;
            }
            assert_eq!(response.status_code, 200, "{code}: {}", response.body);
            let record = records.values().next().expect("one record");
            assert_eq!(record.event_code, code);
            assert!(sample.subject.is_some(), "{code}: no subject");
            assert_eq!(record.subject, sample.subject, "{code}");
            if let (Some(audit), Some(stored)) = (catalog.audit(), record.signature.as_deref()) {
                audited += 1;
                let secrets = [VersionedSecret::current(catalog.dev_secret())];
                assert!(audit(&secrets, &record.body, stored).is_ok(), "{code}");
                let mut altered = record.body.clone();
                altered.extend_from_slice(b" ");
                altered.insert(0, b'[');
                assert!(
                    audit(&secrets, &altered, stored).is_err(),
                    "{code}: altered"
                );
            }
        }
    }
    (catalog.event_codes().len(), audited)
}

/// A quarantine in memory: keeps every held delivery, or refuses when told to.
#[derive(Debug, Default)]
pub struct MemoryQuarantine {
    held: Mutex<Vec<crate::quarantine::Held>>,
}

impl MemoryQuarantine {
    /// What was held, in order.
    pub fn held(&self) -> Vec<crate::quarantine::Held> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl crate::quarantine::Hold for MemoryQuarantine {
    async fn hold(
        &self,
        held: &crate::quarantine::Held,
        _budget: crate::budget::Budget,
    ) -> Result<(), String> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(held.clone());
        Ok(())
    }
}

/// The public Lambda HTTP events (`../shared/testdata/lambda-events/`, beside the repository,
/// read in place): every file name with the shape its front door answers in.
pub const LAMBDA_EVENT_TEMPLATES: &[(&str, crate::http::Shape)] = {
    use crate::http::Shape::{Alb, AlbMultiValue, HttpApi, RestApi};
    &[
        ("apigw_proxy_request.json", RestApi),
        ("apigw_multi_value_proxy_request.json", RestApi),
        ("example-apigw-request.json", RestApi),
        ("example-apigw-sam-rest-request.json", RestApi),
        ("apigw_v2_proxy_request.json", HttpApi),
        ("apigw_v2_proxy_request_minimal.json", HttpApi),
        ("apigw_v2_sam_local.json", HttpApi),
        ("example-apigw-sam-http-request.json", HttpApi),
        ("example-apigw-v2-request-no-authorizer.json", HttpApi),
        ("lambda_function_url_request.json", HttpApi),
        ("alb_request.json", Alb),
        ("alb_multi_value_request.json", AlbMultiValue),
    ]
};

/// One of [`LAMBDA_EVENT_TEMPLATES`], as JSON.
pub fn lambda_event_template(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/lambda-events")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (the public Lambda events must be in shared/testdata/lambda-events \
             beside the repository)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A delivery in the shape of template `file`: its method made `POST`, `headers` added the
/// way that front door carries them (lower-case names in payload 2.0 and ALB, as sent in a REST
/// API event, in `multiValueHeaders` too where the template has them), `body` as the body,
/// base64 when `base64`. Everything else stays as the front door sent it.
pub fn delivery_event<'a>(
    file: &str,
    body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    base64: bool,
) -> Value {
    let mut event = lambda_event_template(file);
    let lower_case =
        event.get("httpMethod").is_none() || event["requestContext"].get("elb").is_some();
    if event.get("httpMethod").is_some() {
        event["httpMethod"] = json!("POST");
        if event["requestContext"].get("httpMethod").is_some() {
            event["requestContext"]["httpMethod"] = json!("POST");
        }
    } else {
        event["requestContext"]["http"]["method"] = json!("POST");
    }
    if !event["headers"].is_object() {
        event["headers"] = json!({});
    }
    let multi = event.get("multiValueHeaders").is_some_and(Value::is_object);
    for (name, value) in headers
        .into_iter()
        .chain([("Content-Type", "application/json")])
    {
        let name = if lower_case {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        for map in ["headers", "multiValueHeaders"] {
            if let Some(map) = event[map].as_object_mut() {
                map.retain(|existing, _| !existing.eq_ignore_ascii_case(&name));
            }
        }
        event["headers"][&name] = json!(value);
        if multi {
            event["multiValueHeaders"][&name] = json!([value]);
        }
    }
    event["body"] = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(String::from_utf8(body.to_vec()).expect("a text body unless base64"))
    };
    event["isBase64Encoded"] = json!(base64);
    event
}

/// Checks `response` serialises with exactly the fields its front door expects.
pub fn assert_response_shape(response: &HttpResponse, shape: crate::http::Shape) {
    use crate::http::Shape::{Alb, AlbMultiValue, HttpApi, RestApi};
    let json = serde_json::to_value(response).expect("a response serialises");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let expected: &[&str] = match shape {
        HttpApi => &[
            "body",
            "cookies",
            "headers",
            "isBase64Encoded",
            "statusCode",
        ],
        RestApi => &["body", "headers", "isBase64Encoded", "statusCode"],
        Alb => &[
            "body",
            "headers",
            "isBase64Encoded",
            "statusCode",
            "statusDescription",
        ],
        AlbMultiValue => &[
            "body",
            "isBase64Encoded",
            "multiValueHeaders",
            "statusCode",
            "statusDescription",
        ],
    };
    assert_eq!(keys, expected, "{shape:?}: {json}");
    assert_eq!(json["statusCode"], response.status_code);
    if matches!(shape, Alb | AlbMultiValue) {
        let description = json["statusDescription"].as_str().unwrap_or_default();
        assert!(
            description.starts_with(&response.status_code.to_string()),
            "{json}"
        );
    }
}

/// Every vector of `file` through every front door ([`LAMBDA_EVENT_TEMPLATES`], body as text and
/// as base64): each is stored with its exact body and answered `200` in its front door's shape;
/// the first vector with a body that is not base64 although the event says so is `400
/// invalid_body_encoding` in each shape, and not stored. Returns the number of deliveries run.
pub async fn assert_front_doors<P, F>(file: &VectorFile, provider: F) -> usize
where
    P: crate::Provider,
    F: Fn() -> P,
{
    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    let pipeline = || {
        Pipeline::new(
            provider(),
            MemorySecrets::new(file.candidates()),
            MemoryStore::new(),
            MAX_BODY,
        )
        .with_clock(Clock::Fixed(file.now_ms()))
    };
    let mut delivered = 0;
    for &(template, shape) in LAMBDA_EVENT_TEMPLATES {
        for vector in &file.vectors {
            for base64 in [false, true] {
                let label = format!(
                    "{}/{} via {template} (base64: {base64})",
                    file.mode, vector.name
                );
                let headers = vector.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
                let event = delivery_event(template, vector.body.as_bytes(), headers, base64);
                let request: HttpRequest = serde_json::from_value(event).expect("an event parses");
                assert_eq!(request.shape(), shape, "{label}");
                let app = pipeline();
                let response = app.handle(request).await;
                assert_eq!(response.status_code, 200, "{label}: {}", response.body);
                assert_response_shape(&response, shape);
                let records = app.store().records();
                assert_eq!(records.len(), 1, "{label}");
                let record = records.values().next().expect("one record");
                assert_eq!(record.body, vector.body.as_bytes(), "{label}");
                delivered += 1;
            }
        }
        let vector = file.vectors.first().expect("vectors");
        let headers = vector.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let mut event = delivery_event(template, vector.body.as_bytes(), headers, true);
        event["body"] = json!("not base64 at all!");
        let app = pipeline();
        let response = app
            .handle(serde_json::from_value(event).expect("parses"))
            .await;
        assert_eq!(
            (response.status_code, response_json(&response)),
            (400, json!({"error": "invalid_body_encoding"})),
            "{template}"
        );
        assert_response_shape(&response, shape);
        assert!(app.store().is_empty(), "{template}");
    }
    delivered
}

/// Checks the sample events of `catalog`'s provider (`events/<provider>/<front door>.json`,
/// written by `scripts/sample_events.py`): one per front door, each read in its front door's
/// shape, verified with the local stack's secret at the time it was signed (its trace id's),
/// stored, and answered in its shape. Returns how many were checked.
pub fn check_sample_events<P, F>(catalog: &dyn crate::Catalog, provider: F) -> usize
where
    P: crate::Provider,
    F: Fn() -> P,
{
    use crate::http::{FrontDoor, trace_time};
    use crate::pipeline::{Clock, Pipeline};
    use crate::secrets::MemorySecrets;
    use crate::store::MemoryStore;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(catalog.name());
    for door in FrontDoor::ALL {
        let path = dir.join(format!("{}.json", door.name()));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!("{}: {error} (run scripts/sample_events.py)", path.display())
        });
        let request: HttpRequest = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(request.shape(), door.shape(), "{}", path.display());
        let signed_at = trace_time(&request.header_map())
            .unwrap_or_else(|| panic!("{}: no X-Amzn-Trace-Id time", path.display()));
        let app = Pipeline::new(
            provider(),
            MemorySecrets::new([VersionedSecret::current(catalog.dev_secret())]),
            MemoryStore::new(),
            MAX_BODY,
        )
        .with_clock(Clock::Fixed(signed_at * 1000));
        let response = runtime.block_on(app.handle(request));
        assert_eq!(
            response.status_code,
            200,
            "{}: {}",
            path.display(),
            response.body
        );
        assert_eq!(
            response_json(&response)["status"],
            "stored",
            "{}",
            path.display()
        );
        assert_response_shape(&response, door.shape());
        assert_eq!(app.store().records().len(), 1, "{}", path.display());
    }
    FrontDoor::ALL.len()
}
