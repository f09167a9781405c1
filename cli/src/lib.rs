//! The `webhooks` command: send correctly signed sample events to the webhook functions, and
//! inspect and audit what they stored. Signing, samples and audit rules come from each
//! provider's crate (the [`registry`]) and the table's key formats from `webhook-core`, so nothing
//! here can drift from what the functions do.

#![forbid(unsafe_code)]

pub mod args;
pub mod aws;
pub mod completions;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod metrics;
pub mod output;
pub mod providers;
pub mod quarantine;
pub mod registry;
pub mod reverify;
pub mod send;
pub mod stack;
pub mod timespec;

use args::{Cli, Command, EventsCommand, QuarantineCommand};
use error::CliError;

/// Runs a parsed command line. `Ok(false)` means the command ran and found a problem it has
/// already reported (a request answered unexpectedly, an audit finding): exit status 1.
///
/// # Errors
/// A usage error (exit status 2) or a failure (exit status 1).
pub async fn run(cli: &Cli) -> Result<bool, CliError> {
    let json = cli.global.json;
    let endpoint = cli.global.endpoint_url.as_deref();
    if let Some(endpoint) = endpoint {
        let valid = reqwest::Url::parse(endpoint)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        if !valid {
            return Err(CliError::usage(format!(
                "--endpoint-url {endpoint:?} is not an http(s) URL"
            )));
        }
    }
    match &cli.command {
        Command::Send(args) => send::run(args, json, endpoint).await,
        Command::Events(EventsCommand::List(args)) => {
            events::list(args, json, endpoint).await.map(|()| true)
        }
        Command::Events(EventsCommand::Subject(args)) => {
            events::subject(args, json, endpoint).await.map(|()| true)
        }
        Command::Events(EventsCommand::Get(args)) => {
            events::get(args, json, endpoint).await.map(|()| true)
        }
        Command::Reverify(args) => reverify::run(args, json, endpoint).await,
        Command::Quarantine(QuarantineCommand::List(args)) => {
            quarantine::list(args, json, endpoint).await
        }
        Command::Quarantine(QuarantineCommand::Promote(args)) => {
            Box::pin(quarantine::promote(args, json, endpoint)).await
        }
        Command::Providers => providers::print(json).map(|()| true),
        Command::Metrics => metrics::print(json).map(|()| true),
        Command::Endpoints(args) => endpoints::print(args, json, endpoint).await,
        Command::Completions(args) => completions::print(args.shell).map(|()| true),
    }
}
