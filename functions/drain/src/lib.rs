//! The drain: writes the events the receivers handed to the fallback queue (the table could not
//! take them when they arrived) into the events table, with the receivers' own conditional put,
//! so a queued event that was in fact stored, or is delivered twice by SQS, is a duplicate and a
//! different body under its key a conflict, exactly as on the direct path.
//!
//! Lambda's SQS event source calls it with batches; a message that cannot be written now is
//! reported in `batchItemFailures` (`ReportBatchItemFailures`), so only it comes back, and after
//! the queue's `maxReceiveCount` it goes to the dead-letter queue (an alarm watches it).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use webhook_core::budget::Budget;
use webhook_core::clock::now_ms;
use webhook_core::config::{Env, Settings};
use webhook_core::metrics::{self, Emf, Emitter, Measurements, Metric};
use webhook_core::store::bodies::{self, get_body};
use webhook_core::store::{
    BodyLocation, EventStore, PutOutcome, QueuedBody, QueuedEvent, put_counted,
};

/// A batch never takes longer than this (the template's timeout is 30 s; the Lambda deadline,
/// when earlier, wins).
pub const MAX_BATCH_TIME: Duration = Duration::from_secs(29);

/// The name the drain logs under (and reads its settings as).
pub const NAME: &str = "drain";

/// The `provider` dimension of a message that names none (unreadable).
pub const UNKNOWN_PROVIDER: &str = "unknown";

/// An SQS event: the batch of messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SqsEvent {
    /// The messages.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

/// One message of the batch: the fields the drain reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    /// SQS's id for it: what a failure names.
    pub message_id: String,
    /// The queued event ([`QueuedEvent`]).
    #[serde(default)]
    pub body: String,
}

/// The answer: the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    /// The failed messages.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// Its `messageId`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Where bodies that travelled as a pointer are read.
pub trait Bodies: Send + Sync {
    /// The body at `location`; `None` when the object is gone.
    fn get(
        &self,
        location: &BodyLocation,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, String>> + Send;
}

impl Bodies for aws_sdk_s3::Client {
    async fn get(&self, location: &BodyLocation) -> Result<Option<Vec<u8>>, String> {
        get_body(self, location).await
    }
}

/// The drain over a store and a body source.
#[derive(Debug)]
pub struct Drain<E, B> {
    store: E,
    bodies: B,
    per_message: Duration,
}

impl<E: EventStore, B: Bodies> Drain<E, B> {
    /// Each message gets at most `per_message` (the store deadline).
    pub fn new(store: E, bodies: B, per_message: Duration) -> Self {
        Self {
            store,
            bodies,
            per_message,
        }
    }

    /// The store, for tests.
    pub fn store(&self) -> &E {
        &self.store
    }

    /// Writes every message of `event` before `deadline`, and names those that failed (those
    /// not reached in time included).
    pub async fn handle(&self, event: SqsEvent, deadline: Budget) -> BatchResponse {
        self.handle_measured(event, deadline).await.0
    }

    /// [`Drain::handle`], with what each provider's messages recorded (`Stored`, `Duplicate`,
    /// `Conflict`, `StoreLatencyMs`, `Offloaded`, `DrainFailed`); a message that names no
    /// provider counts under [`UNKNOWN_PROVIDER`].
    pub async fn handle_measured(
        &self,
        event: SqsEvent,
        deadline: Budget,
    ) -> (BatchResponse, BTreeMap<String, Measurements>) {
        let mut failures = Vec::new();
        let mut measured: BTreeMap<String, Measurements> = BTreeMap::new();
        for message in event.records {
            let budget = deadline.capped(self.per_message);
            let queued = QueuedEvent::from_json(&message.body);
            let provider = queued
                .as_ref()
                .map_or(UNKNOWN_PROVIDER, |queued| queued.provider.as_str())
                .to_owned();
            let (written, recorded) = metrics::measure(async {
                let written = match queued {
                    Ok(queued) => self.write(queued, budget).await,
                    Err(error) => Err(error),
                };
                if written.is_err() {
                    metrics::record(Metric::DrainFailed, 1.0);
                }
                written
            })
            .await;
            match written {
                Ok(outcome) => tracing::info!(
                    message_id = %message.message_id,
                    outcome = outcome.status(),
                    "queued event written"
                ),
                Err(error) => {
                    tracing::error!(message_id = %message.message_id, error = %error, "queued event not written; SQS delivers it again");
                    failures.push(ItemFailure {
                        item_identifier: message.message_id,
                    });
                }
            }
            measured.entry(provider).or_default().merge(recorded);
        }
        let response = BatchResponse {
            batch_item_failures: failures,
        };
        (response, measured)
    }

    async fn write(&self, queued: QueuedEvent, budget: Budget) -> Result<PutOutcome, String> {
        let body = match queued.body()? {
            QueuedBody::Inline(body) => body,
            QueuedBody::Bucket(location) => budget
                .run(self.bodies.get(&location))
                .await
                .ok_or_else(|| format!("{location} did not answer in time"))??
                .ok_or_else(|| format!("{location} does not exist"))?,
        };
        let record = queued.into_record(body)?;
        match put_counted(&self.store, &record, budget).await {
            // The drain has nowhere else to go: the message stays in the queue.
            Ok(PutOutcome::Queued) => Err("the store queued it again".into()),
            Ok(outcome) => Ok(outcome),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Runs the drain: the events table and the body bucket from the environment, then the Lambda
/// runtime loop.
///
/// # Errors
/// A configuration error, or the runtime's own failure.
pub async fn run() -> Result<(), Error> {
    webhook_core::telemetry::init();
    let settings = match Settings::from_env(&Env::from_process(), NAME) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(error = %error, "invalid configuration");
            return Err(error.into());
        }
    };
    let aws = webhook_core::runtime::aws_config().await;
    let (table, _) = webhook_core::runtime::event_store(&aws, &settings);
    // Open the table's connection during the cold start, as the receivers do, for a short while.
    if Budget::from_now(webhook_core::runtime::WARM_UP)
        .run(table.warm())
        .await
        .is_none()
    {
        tracing::warn!("event table warm-up not done in time; carrying on");
    }
    let drain = Drain::new(table, bodies::s3_client(&aws), settings.store_deadline);
    let drain = &drain;
    let emf = &Emf::from_env(Emitter::Drain);
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SqsEvent>| async move {
            let deadline = Budget::for_invocation(event.context.deadline, now_ms(), MAX_BATCH_TIME);
            let (response, measured) =
                Box::pin(drain.handle_measured(event.payload, deadline)).await;
            for (provider, measured) in &measured {
                webhook_core::runtime::publish(emf, provider, measured, &event.context);
            }
            Ok::<BatchResponse, Error>(response)
        },
    )))
    .await
}
