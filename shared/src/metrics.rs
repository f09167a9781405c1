//! CloudWatch metrics in the Embedded Metric Format (EMF): one JSON document per invocation,
//! written to stdout with the logs, which CloudWatch Logs turns into metrics (no API call, no
//! extra permission, no latency beyond writing one line).
//!
//! Code anywhere below an invocation calls [`record`]; [`measure`] runs the invocation and
//! returns what was recorded, and [`Emf::documents`] renders it. Outside [`measure`] (a test
//! that does not ask, the CLI) [`record`] does nothing.
//!
//! Every metric has the dimension `provider`; `Rejected` also by `reason`; the drain's and
//! `webhooks quarantine promote`'s documents also by `source`. [`Metric::ALL`] is the catalogue
//! the template's alarms and dashboard are checked against (`webhooks metrics`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use serde_json::{Map, Value, json};

/// The namespace when `METRICS_NAMESPACE` is not set (the template sets `Webhooks/<stack>`).
pub const DEFAULT_NAMESPACE: &str = "Webhooks";

/// The environment variable naming the namespace.
pub const NAMESPACE_ENV: &str = "METRICS_NAMESPACE";

/// The dimension every metric has: the provider's short name.
pub const PROVIDER: &str = "provider";
/// The dimension `Rejected` also has: the check that failed (`signature_mismatch`, …).
pub const REASON: &str = "reason";
/// The dimension of what the drain and the CLI record: `drain` or `promote`.
pub const SOURCE: &str = "source";
/// The dimension a receiver's metrics also have when its function serves endpoints besides
/// `default`: the endpoint's name (never a name that is not configured).
pub const ENDPOINT: &str = "endpoint";

/// EMF's limit of values for one metric in one document.
pub const MAX_VALUES: usize = 100;

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// A duration.
    Milliseconds,
    /// A size.
    Bytes,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Bytes => "Bytes",
        }
    }
}

/// Who records a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitter {
    /// The provider functions, per request.
    Receiver,
    /// The drain, per batch.
    Drain,
    /// `webhooks quarantine promote`.
    Promote,
}

impl Emitter {
    /// Its name in the catalogue, and the `source` dimension's value (drain, promote).
    pub fn name(self) -> &'static str {
        match self {
            Self::Receiver => "receiver",
            Self::Drain => "drain",
            Self::Promote => "promote",
        }
    }
}

/// Every metric the code emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A request reached a provider function.
    Requests,
    /// An event was written to the table.
    Stored,
    /// An event already in the table arrived again (same key, same signed content).
    Duplicate,
    /// A different body arrived under a stored event's key (kept in a conflict record).
    Conflict,
    /// The table could not take a verified event: it went to the fallback queue (`202`).
    Queued,
    /// A request failed authentication (`401`), by `reason`.
    Rejected,
    /// A body marked base64 that is not (`400`).
    BadRequest,
    /// A method other than POST (`405`).
    MethodNotAllowed,
    /// A path naming no configured endpoint (`404`).
    UnknownEndpoint,
    /// A body over the function's cap (`413`).
    BodyTooLarge,
    /// Neither the table nor the fallback queue took a verified event (`503`).
    StoreUnavailable,
    /// No secret to verify with (`503`).
    SecretsUnavailable,
    /// A refused delivery was kept in the quarantine.
    Quarantined,
    /// A request was checked against a cached secret that Secrets Manager failed to refresh.
    StaleSecretServed,
    /// Loading the secret from Secrets Manager failed.
    SecretRefreshFailed,
    /// The first invocation of a function instance.
    ColdStart,
    /// Time of the conditional write (table, or queue when the table failed).
    StoreLatencyMs,
    /// Size of a request's body as received.
    BodyBytes,
    /// A body too large for an item was written to the payload bucket.
    Offloaded,
    /// A quarantined delivery verified again and stored (`webhooks quarantine promote`).
    Promoted,
    /// A queued event the drain could not write (SQS delivers it again, then to the DLQ).
    DrainFailed,
}

impl Metric {
    /// The catalogue, in the order documents list them.
    pub const ALL: [Self; 21] = [
        Self::Requests,
        Self::Stored,
        Self::Duplicate,
        Self::Conflict,
        Self::Queued,
        Self::Rejected,
        Self::BadRequest,
        Self::MethodNotAllowed,
        Self::UnknownEndpoint,
        Self::BodyTooLarge,
        Self::StoreUnavailable,
        Self::SecretsUnavailable,
        Self::Quarantined,
        Self::StaleSecretServed,
        Self::SecretRefreshFailed,
        Self::ColdStart,
        Self::StoreLatencyMs,
        Self::BodyBytes,
        Self::Offloaded,
        Self::Promoted,
        Self::DrainFailed,
    ];

    /// Whether it is an outcome of a receiver's request: exactly one outcome counts each.
    pub fn is_outcome(self) -> bool {
        matches!(
            self,
            Self::Stored
                | Self::Duplicate
                | Self::Conflict
                | Self::Queued
                | Self::Rejected
                | Self::BadRequest
                | Self::MethodNotAllowed
                | Self::UnknownEndpoint
                | Self::BodyTooLarge
                | Self::StoreUnavailable
                | Self::SecretsUnavailable
        )
    }

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Self::Requests => "Requests",
            Self::Stored => "Stored",
            Self::Duplicate => "Duplicate",
            Self::Conflict => "Conflict",
            Self::Queued => "Queued",
            Self::Rejected => "Rejected",
            Self::BadRequest => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::UnknownEndpoint => "UnknownEndpoint",
            Self::BodyTooLarge => "BodyTooLarge",
            Self::StoreUnavailable => "StoreUnavailable",
            Self::SecretsUnavailable => "SecretsUnavailable",
            Self::Quarantined => "Quarantined",
            Self::StaleSecretServed => "StaleSecretServed",
            Self::SecretRefreshFailed => "SecretRefreshFailed",
            Self::ColdStart => "ColdStart",
            Self::StoreLatencyMs => "StoreLatencyMs",
            Self::BodyBytes => "BodyBytes",
            Self::Offloaded => "Offloaded",
            Self::Promoted => "Promoted",
            Self::DrainFailed => "DrainFailed",
        }
    }

    /// Its unit.
    pub fn unit(self) -> Unit {
        match self {
            Self::StoreLatencyMs => Unit::Milliseconds,
            Self::BodyBytes => Unit::Bytes,
            _ => Unit::Count,
        }
    }

    /// Whether values add up within an invocation (counts), or each is a sample (latency, size).
    pub fn is_count(self) -> bool {
        self.unit() == Unit::Count
    }

    /// Who records it.
    pub fn emitters(self) -> &'static [Emitter] {
        use Emitter::{Drain, Promote, Receiver};
        match self {
            Self::Stored | Self::Duplicate | Self::Conflict | Self::StoreLatencyMs => {
                &[Receiver, Drain, Promote]
            }
            Self::Offloaded => &[Receiver, Drain],
            Self::Promoted => &[Promote],
            Self::DrainFailed => &[Drain],
            _ => &[Receiver],
        }
    }

    /// The dimension sets it is published under (`provider`+`endpoint` only by a function that
    /// serves endpoints besides `default`, and not for a request to an unknown one).
    pub fn dimension_sets(self) -> Vec<Vec<&'static str>> {
        let mut sets = vec![vec![PROVIDER]];
        if self.emitters().contains(&Emitter::Receiver) && self != Self::UnknownEndpoint {
            sets.push(vec![PROVIDER, ENDPOINT]);
        }
        if self == Self::Rejected {
            sets.push(vec![PROVIDER, REASON]);
        }
        if self.emitters().iter().any(|e| *e != Emitter::Receiver) {
            sets.push(vec![PROVIDER, SOURCE]);
        }
        sets
    }

    /// What it means, for the catalogue and the operator's guide.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Requests => "a request reached the provider's function (any method, any outcome)",
            Self::Stored => {
                "an event was written to the table (source: drain or promote when not on arrival)"
            }
            Self::Duplicate => "an event already stored arrived again; nothing written",
            Self::Conflict => {
                "a different body arrived under a stored event's key; kept in a conflict record"
            }
            Self::Queued => {
                "the table could not take a verified event; it is in the fallback queue (202)"
            }
            Self::Rejected => "authentication failed (401), by reason",
            Self::BadRequest => "a body marked base64 that is not (400)",
            Self::MethodNotAllowed => "a method other than POST (405)",
            Self::UnknownEndpoint => "a path naming no configured endpoint (404)",
            Self::BodyTooLarge => "a body over the function's cap (413)",
            Self::StoreUnavailable => {
                "neither the table nor the fallback queue took a verified event (503)"
            }
            Self::SecretsUnavailable => "no secret to verify with (503)",
            Self::Quarantined => "a refused delivery was kept in the quarantine",
            Self::StaleSecretServed => {
                "verified with a cached secret that Secrets Manager failed to refresh"
            }
            Self::SecretRefreshFailed => "loading the secret from Secrets Manager failed",
            Self::ColdStart => "the first invocation of a function instance",
            Self::StoreLatencyMs => {
                "time of the conditional write (table, or queue after a table failure)"
            }
            Self::BodyBytes => "size of a request's body as received",
            Self::Offloaded => "a body too large for an item was written to the payload bucket",
            Self::Promoted => "a quarantined delivery was verified again and stored",
            Self::DrainFailed => {
                "a queued event the drain could not write (retried, then dead-lettered)"
            }
        }
    }
}

/// What one invocation recorded: counts summed, samples kept in order; and the reason of a
/// rejection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    values: BTreeMap<Metric, Vec<f64>>,
    reason: Option<&'static str>,
    endpoint: Option<String>,
}

impl Measurements {
    /// Adds `value` to `metric`: to its count, or as one more sample.
    pub fn add(&mut self, metric: Metric, value: f64) {
        let values = self.values.entry(metric).or_default();
        match (metric.is_count(), values.first_mut()) {
            (true, Some(total)) => *total += value,
            _ => values.push(value),
        }
    }

    /// Records a rejection for `reason` (one `Rejected`, dimensioned by it).
    pub fn reject(&mut self, reason: &'static str) {
        self.add(Metric::Rejected, 1.0);
        self.reason = Some(reason);
    }

    /// Dimensions everything recorded by `endpoint` too.
    pub fn set_endpoint(&mut self, endpoint: &str) {
        self.endpoint = Some(endpoint.to_owned());
    }

    /// The endpoint dimension, when one was set.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Everything `other` recorded, added to this.
    pub fn merge(&mut self, other: Self) {
        for (metric, values) in other.values {
            for value in values {
                self.add(metric, value);
            }
        }
        self.reason = self.reason.or(other.reason);
        self.endpoint = self.endpoint.take().or(other.endpoint);
    }

    /// The total of a count (or the sum of the samples).
    pub fn total(&self, metric: Metric) -> f64 {
        self.values.get(&metric).map_or(0.0, |v| v.iter().sum())
    }

    /// A count as a whole number (counts only ever add whole numbers).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn count(&self, metric: Metric) -> u64 {
        self.total(metric).round().max(0.0) as u64
    }

    /// The samples of `metric`.
    pub fn samples(&self, metric: Metric) -> &[f64] {
        self.values.get(&metric).map_or(&[], Vec::as_slice)
    }

    /// The rejection's reason, when there was one.
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// Nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

tokio::task_local! {
    static CURRENT: RefCell<Measurements>;
}

/// Records `value` for `metric` in the invocation being measured; nothing outside [`measure`].
pub fn record(metric: Metric, value: f64) {
    let _ = CURRENT.try_with(|current| current.borrow_mut().add(metric, value));
}

/// Records a rejection for `reason` in the invocation being measured.
pub fn record_rejection(reason: &'static str) {
    let _ = CURRENT.try_with(|current| current.borrow_mut().reject(reason));
}

/// Dimensions what the invocation being measured records by `endpoint` too.
pub fn record_endpoint(endpoint: &str) {
    let _ = CURRENT.try_with(|current| current.borrow_mut().set_endpoint(endpoint));
}

/// Runs `work`, recording how long it took as a sample of `metric` (milliseconds).
pub async fn timed<F: Future>(metric: Metric, work: F) -> F::Output {
    let started = Instant::now();
    let output = work.await;
    record(metric, started.elapsed().as_secs_f64() * 1000.0);
    output
}

/// Runs `work`, returning its output and what it recorded.
pub async fn measure<F: Future>(work: F) -> (F::Output, Measurements) {
    CURRENT
        .scope(RefCell::new(Measurements::default()), async {
            let output = work.await;
            let measured = CURRENT.with(RefCell::take);
            (output, measured)
        })
        .await
}

/// How documents are written for one emitter: namespace, the fixed dimensions (provider, and
/// source for the drain and the CLI) and the properties (request id, trace id) of each.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    emitter: Emitter,
}

impl Emf {
    /// Documents for `emitter` in `namespace`.
    pub fn new(namespace: impl Into<String>, emitter: Emitter) -> Self {
        Self {
            namespace: namespace.into(),
            emitter,
        }
    }

    /// The namespace from `METRICS_NAMESPACE`, else [`DEFAULT_NAMESPACE`].
    pub fn from_env(emitter: Emitter) -> Self {
        let namespace = std::env::var(NAMESPACE_ENV)
            .ok()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        Self::new(namespace, emitter)
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The EMF documents of `measured` for `provider` at `timestamp_ms`, with `properties`
    /// (searchable in Logs Insights, not dimensions): one document, or more when a metric has
    /// over [`MAX_VALUES`] samples; none when nothing was recorded.
    pub fn documents(
        &self,
        provider: &str,
        measured: &Measurements,
        timestamp_ms: i64,
        properties: &[(&str, &str)],
    ) -> Vec<String> {
        let chunks = measured
            .values
            .values()
            .map(|values| values.len().div_ceil(MAX_VALUES))
            .max()
            .unwrap_or(0);
        (0..chunks)
            .map(|chunk| {
                self.document(provider, measured, chunk, timestamp_ms, properties)
                    .to_string()
            })
            .collect()
    }

    fn document(
        &self,
        provider: &str,
        measured: &Measurements,
        chunk: usize,
        timestamp_ms: i64,
        properties: &[(&str, &str)],
    ) -> Value {
        let mut root = Map::new();
        let mut declared = Vec::new();
        for (metric, values) in &measured.values {
            let part: Vec<f64> = values
                .iter()
                .skip(chunk * MAX_VALUES)
                .take(MAX_VALUES)
                .copied()
                .collect();
            let value = match part.as_slice() {
                [] => continue,
                [one] => json!(one),
                many => json!(many),
            };
            root.insert(metric.name().to_owned(), value);
            declared.push(*metric);
        }
        let mut dimensions = vec![json!([PROVIDER])];
        root.insert(PROVIDER.to_owned(), json!(provider));
        if self.emitter != Emitter::Receiver {
            dimensions.push(json!([PROVIDER, SOURCE]));
            root.insert(SOURCE.to_owned(), json!(self.emitter.name()));
        } else if let Some(endpoint) = &measured.endpoint {
            dimensions.push(json!([PROVIDER, ENDPOINT]));
            root.insert(ENDPOINT.to_owned(), json!(endpoint));
        }
        let definitions = |metrics: &mut dyn Iterator<Item = &Metric>| -> Vec<Value> {
            metrics
                .map(|metric| json!({ "Name": metric.name(), "Unit": metric.unit().name() }))
                .collect()
        };
        let mut directives = vec![json!({
            "Namespace": self.namespace,
            "Dimensions": dimensions,
            "Metrics": definitions(&mut declared.iter()),
        })];
        if let Some(reason) = measured.reason
            && declared.contains(&Metric::Rejected)
        {
            root.insert(REASON.to_owned(), json!(reason));
            directives.push(json!({
                "Namespace": self.namespace,
                "Dimensions": [[PROVIDER, REASON]],
                "Metrics": definitions(&mut [Metric::Rejected].iter()),
            }));
        }
        for (name, value) in properties {
            root.entry((*name).to_owned())
                .or_insert_with(|| json!(value));
        }
        root.insert(
            "_aws".to_owned(),
            json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }),
        );
        Value::Object(root)
    }
}

/// Writes `documents` to stdout, one line each, as CloudWatch Logs expects them.
pub fn emit(documents: &[String]) {
    use std::io::Write as _;
    if documents.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for document in documents {
        // A metric that cannot be written is not worth failing a delivery over.
        let _ = writeln!(out, "{document}");
    }
    let _ = out.flush();
}

/// The catalogue as JSON (`webhooks metrics`): every metric with its unit, dimension sets,
/// emitters and meaning.
pub fn catalogue() -> Value {
    json!({
        "default_namespace": DEFAULT_NAMESPACE,
        "namespace_env": NAMESPACE_ENV,
        "metrics": Metric::ALL.iter().map(|metric| json!({
            "name": metric.name(),
            "unit": metric.unit().name(),
            "dimensions": metric.dimension_sets(),
            "emitted_by": metric.emitters().iter().map(|e| e.name()).collect::<Vec<_>>(),
            "meaning": metric.meaning(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(documents: &[String]) -> Vec<Value> {
        documents
            .iter()
            .map(|d| serde_json::from_str(d).unwrap_or_default())
            .collect()
    }

    #[test]
    fn counts_add_up_and_samples_are_kept() {
        let mut m = Measurements::default();
        m.add(Metric::Stored, 1.0);
        m.add(Metric::Stored, 1.0);
        m.add(Metric::StoreLatencyMs, 3.5);
        m.add(Metric::StoreLatencyMs, 7.0);
        assert_eq!(m.samples(Metric::Stored), &[2.0]);
        assert_eq!(m.samples(Metric::StoreLatencyMs), &[3.5, 7.0]);
        assert!((m.total(Metric::StoreLatencyMs) - 10.5).abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn record_reaches_only_the_invocation_being_measured() {
        record(Metric::Stored, 1.0); // outside: dropped
        let ((), measured) = measure(async {
            record(Metric::Stored, 1.0);
            record_rejection("signature_mismatch");
            tokio::task::yield_now().await;
            record(Metric::Stored, 1.0);
        })
        .await;
        assert_eq!(measured.count(Metric::Stored), 2);
        assert_eq!(measured.count(Metric::Rejected), 1);
        assert_eq!(measured.reason(), Some("signature_mismatch"));
        let ((), again) = measure(async {}).await;
        assert!(again.is_empty());
    }

    #[test]
    fn a_receiver_document_declares_what_it_carries() {
        let mut m = Measurements::default();
        m.add(Metric::Requests, 1.0);
        m.reject("stale_timestamp");
        m.add(Metric::BodyBytes, 120.0);
        let emf = Emf::new("Webhooks/test", Emitter::Receiver);
        let docs =
            parsed(&emf.documents("alocity", &m, 1_700_000_000_000, &[("requestId", "r-1")]));
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        assert_eq!(doc["provider"], "alocity");
        assert_eq!(doc["reason"], "stale_timestamp");
        assert_eq!(doc["requestId"], "r-1");
        assert_eq!(doc["Rejected"], 1.0);
        assert_eq!(doc["BodyBytes"], 120.0);
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let directives = doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Namespace"], "Webhooks/test");
        assert_eq!(directives[0]["Dimensions"], json!([["provider"]]));
        let names: Vec<&str> = directives[0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["Requests", "Rejected", "BodyBytes"]);
        assert_eq!(directives[1]["Dimensions"], json!([["provider", "reason"]]));
        assert_eq!(
            directives[1]["Metrics"],
            json!([{"Name": "Rejected", "Unit": "Count"}])
        );
        assert_eq!(directives[0]["Metrics"][2]["Unit"], "Bytes");
    }

    #[test]
    fn a_drain_document_has_the_source_dimension_and_splits_over_100_samples() {
        let mut m = Measurements::default();
        for _ in 0..150 {
            m.add(Metric::Stored, 1.0);
            m.add(Metric::StoreLatencyMs, 2.0);
        }
        let emf = Emf::new("ns", Emitter::Drain);
        let docs = parsed(&emf.documents("faceio", &m, 1, &[]));
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["Stored"], 150.0);
        assert_eq!(
            docs[0]["StoreLatencyMs"].as_array().map(Vec::len),
            Some(100)
        );
        assert_eq!(docs[1]["StoreLatencyMs"].as_array().map(Vec::len), Some(50));
        assert!(docs[1].get("Stored").is_none());
        assert_eq!(docs[0]["source"], "drain");
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"], ["provider", "source"]])
        );
    }

    #[test]
    fn nothing_recorded_writes_nothing() {
        let emf = Emf::new("ns", Emitter::Receiver);
        assert!(
            emf.documents("faceio", &Measurements::default(), 1, &[])
                .is_empty()
        );
    }

    #[test]
    fn the_catalogue_names_each_metric_once_with_its_dimension_sets() {
        let catalogue = catalogue();
        let metrics = catalogue["metrics"].as_array().cloned().unwrap_or_default();
        assert_eq!(metrics.len(), Metric::ALL.len());
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        let rejected = metrics
            .iter()
            .find(|m| m["name"] == "Rejected")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            rejected["dimensions"],
            json!([
                ["provider"],
                ["provider", "endpoint"],
                ["provider", "reason"]
            ])
        );
        let stored = metrics
            .iter()
            .find(|m| m["name"] == "Stored")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            stored["dimensions"],
            json!([
                ["provider"],
                ["provider", "endpoint"],
                ["provider", "source"]
            ])
        );
    }

    #[test]
    fn an_endpoint_is_a_dimension_of_a_receiver_s_document_only_when_set() {
        let mut measured = Measurements::default();
        measured.add(Metric::Stored, 1.0);
        let receiver = Emf::new("Test", Emitter::Receiver);
        let plain = parsed(&receiver.documents("faceio", &measured, 1, &[]));
        assert_eq!(
            plain[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"]])
        );
        assert!(plain[0].get("endpoint").is_none());

        measured.set_endpoint("staging");
        let with = parsed(&receiver.documents("faceio", &measured, 1, &[]));
        assert_eq!(
            with[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"], ["provider", "endpoint"]])
        );
        assert_eq!(with[0]["endpoint"], "staging");
        assert_eq!(with[0]["provider"], "faceio");
    }
}
