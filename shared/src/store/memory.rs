//! An in-memory [`EventStore`] for tests and examples.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::event::{EventRecord, EventStore, PutOutcome, StoreError};
use crate::budget::Budget;

/// Records by key, behind a mutex. Can be told to fail, to exercise the `503` path.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<String, EventRecord>>,
    failing: Mutex<Option<StoreError>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following put fail with `error` (or succeed again with `None`).
    pub fn fail_with(&self, error: Option<StoreError>) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = error;
    }

    /// A copy of every stored record, conflict records included, by key.
    pub fn records(&self) -> BTreeMap<String, EventRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The number of stored records, conflict records included.
    pub fn len(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl EventStore for MemoryStore {
    async fn put_if_absent(
        &self,
        record: &EventRecord,
        _budget: Budget,
    ) -> Result<PutOutcome, StoreError> {
        if let Some(error) = self
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Err(error);
        }
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let pk = record.pk();
        match records.get(&pk) {
            None => {
                records.insert(pk, record.clone());
                Ok(PutOutcome::Stored)
            }
            Some(existing) if existing.content_sha256() == record.content_sha256() => {
                Ok(PutOutcome::Duplicate)
            }
            Some(_) => {
                records
                    .entry(record.conflict_pk())
                    .or_insert_with(|| record.clone());
                Ok(PutOutcome::Conflict)
            }
        }
    }
}

/// An in-memory fallback queue for tests: keeps what it is given, or refuses everything.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    records: Mutex<Vec<EventRecord>>,
    failing: Mutex<bool>,
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following send fail (or succeed again).
    pub fn fail(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failing;
    }

    /// What was queued, in order.
    pub fn records(&self) -> Vec<EventRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl super::fallback::Enqueue for MemoryQueue {
    async fn enqueue(&self, record: &EventRecord, _budget: Budget) -> Result<(), String> {
        if *self.failing.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err("queue unavailable".into());
        }
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record.clone());
        Ok(())
    }
}
