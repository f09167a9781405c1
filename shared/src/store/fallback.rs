//! The table first, the fallback queue when the table cannot take the event: a verified event is
//! either in the table or in the queue before the provider hears `2xx`.

use std::future::Future;
use std::time::Duration;

use super::event::{EventRecord, EventStore, PutOutcome, StoreError};
use super::queue::FallbackQueue;
use crate::budget::Budget;

/// Time kept for the queue when the table fails: `SendMessage` answers in tens of milliseconds;
/// the rest is room for one retry on a fresh connection.
pub const QUEUE_RESERVE: Duration = Duration::from_secs(1);

/// Somewhere durable to hand an event the table could not take.
pub trait Enqueue: Send + Sync {
    /// Hands `record` over within `budget`.
    fn enqueue(
        &self,
        record: &EventRecord,
        budget: Budget,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

impl Enqueue for FallbackQueue {
    async fn enqueue(&self, record: &EventRecord, budget: Budget) -> Result<(), String> {
        self.send(record, budget).await
    }
}

/// An [`EventStore`] that queues what its table cannot take.
#[derive(Debug)]
pub struct WithFallback<E, Q> {
    table: E,
    queue: Option<Q>,
}

impl<E: EventStore, Q: Enqueue> WithFallback<E, Q> {
    /// `table`, backed by `queue` when there is one.
    pub fn new(table: E, queue: Option<Q>) -> Self {
        Self { table, queue }
    }

    /// The table, for tests that inspect what was written.
    pub fn table(&self) -> &E {
        &self.table
    }
}

impl<E: EventStore, Q: Enqueue> EventStore for WithFallback<E, Q> {
    /// The table gets the budget less [`QUEUE_RESERVE`]; when it fails (unavailable, too slow,
    /// or refusing even the payload-less item) the queue gets what is left. Only when both fail
    /// is the event not taken.
    async fn put_if_absent(
        &self,
        record: &EventRecord,
        budget: Budget,
    ) -> Result<PutOutcome, StoreError> {
        let Some(queue) = &self.queue else {
            return self.table.put_if_absent(record, budget).await;
        };
        let error = match self
            .table
            .put_if_absent(record, budget.less(QUEUE_RESERVE))
            .await
        {
            Ok(outcome) => return Ok(outcome),
            Err(error) => error,
        };
        match queue.enqueue(record, budget).await {
            Ok(()) => {
                tracing::warn!(
                    provider = %record.provider,
                    key = %record.idempotency_key,
                    error = %error,
                    "table unavailable; event queued for the drain"
                );
                Ok(PutOutcome::Queued)
            }
            Err(queue_error) => Err(StoreError::Unavailable(format!(
                "{error}; fallback queue: {queue_error}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{MemoryQueue, MemoryStore};
    use crate::testing::record;

    fn budget() -> Budget {
        Budget::from_now(Duration::from_secs(4))
    }

    #[tokio::test]
    async fn the_table_answers_when_it_can_and_the_queue_takes_the_rest() {
        let store = WithFallback::new(MemoryStore::new(), Some(MemoryQueue::new()));
        let event = record(b"{}");
        assert_eq!(
            store.put_if_absent(&event, budget()).await,
            Ok(PutOutcome::Stored)
        );
        store
            .table()
            .fail_with(Some(StoreError::Unavailable("throttled".into())));
        let other = crate::store::EventRecord {
            idempotency_key: "other".into(),
            ..record(b"{}")
        };
        assert_eq!(
            store.put_if_absent(&other, budget()).await,
            Ok(PutOutcome::Queued)
        );
        // A rejected item (even without its payload) is queued too: the drain's DLQ keeps it.
        store
            .table()
            .fail_with(Some(StoreError::Rejected("bad item".into())));
        assert_eq!(
            store.put_if_absent(&event, budget()).await,
            Ok(PutOutcome::Queued)
        );
        let queued = store.queue.as_ref().unwrap().records();
        assert_eq!(queued, vec![other, event]);
        assert_eq!(store.table().len(), 1);
    }

    #[tokio::test]
    async fn only_when_both_fail_is_it_unavailable() {
        let queue = MemoryQueue::new();
        queue.fail(true);
        let store = WithFallback::new(MemoryStore::new(), Some(queue));
        store
            .table()
            .fail_with(Some(StoreError::Unavailable("down".into())));
        let answer = store.put_if_absent(&record(b"{}"), budget()).await;
        assert!(
            matches!(&answer, Err(StoreError::Unavailable(why)) if why.contains("down") && why.contains("fallback queue")),
            "{answer:?}"
        );
        let without = WithFallback::<_, MemoryQueue>::new(MemoryStore::new(), None);
        without
            .table()
            .fail_with(Some(StoreError::Unavailable("down".into())));
        assert_eq!(
            without.put_if_absent(&record(b"{}"), budget()).await,
            Err(StoreError::Unavailable("down".into()))
        );
    }
}
