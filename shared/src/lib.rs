//! Shared core of the webhook receivers: verification schemes, secrets, the event store and
//! the request pipeline. Each provider function supplies a [`provider::Provider`] and calls
//! [`runtime::run`].

#![forbid(unsafe_code)]

pub mod alocity;
pub mod budget;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod metrics;
pub mod payload;
pub mod pipeline;
pub mod provider;
pub mod quarantine;
pub mod refusal;
pub mod runtime;
pub mod secret;
pub mod secrets;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod verify;

pub use catalog::{Catalog, Fresh, ProviderInfo, Sample, Setting, Signer};
pub use pipeline::{Clock, Pipeline};
pub use provider::{IdempotencyKey, Provider, ProviderEvent};
pub use secret::{Secret, SecretVersion, VersionedSecret};
pub use verify::{Verified, VerifyError};
