//! Where verified events go. The trait is as narrow as the IAM grant: one conditional put.

pub mod attributes;
pub mod bodies;
pub mod dynamodb;
pub mod event;
pub mod fallback;
pub mod memory;
pub mod query;
pub mod queue;
pub mod schema;
pub mod stored;

pub use bodies::{BodyBucket, BodyLocation};
pub use dynamodb::DynamoDbStore;
pub use event::{EventRecord, EventStore, Promotion, PutOutcome, StoreError, put_counted};
pub use fallback::{Enqueue, WithFallback};
pub use memory::{MemoryQueue, MemoryStore};
pub use query::EventReader;
pub use queue::{FallbackQueue, QueuedBody, QueuedEvent};
pub use schema::iso_millis;
pub use stored::StoredEvent;
