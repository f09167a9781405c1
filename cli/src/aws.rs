//! AWS for the CLI: which endpoint and credentials, which table, which secret.
//!
//! The local stack is the default whenever nothing points elsewhere, so a stray command never
//! reaches a real account by accident: no `AWS_ENDPOINT_URL` and no table configured means moto
//! at [`LOCAL_ENDPOINT`] with dummy credentials.

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use webhook_core::secret::{SecretVersion, VersionedSecret};
use webhook_core::secrets::{FetchSecrets as _, SecretsManagerFetcher};
use webhook_core::store::query::EventReader;

use crate::args::TableArgs;
use crate::error::CliError;
use crate::stack::{StackOutputs, TABLE_OUTPUT};

/// Where `make dev` runs moto.
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";
/// The table `make dev` creates.
pub const DEFAULT_TABLE: &str = "webhook-events";
/// The region of the local stack, and the fallback when an endpoint is given without one.
const LOCAL_REGION: &str = "us-east-1";

/// Which AWS the CLI talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The `make dev` stack: moto at this endpoint, dummy credentials, us-east-1.
    Local(String),
    /// The normal configuration (credential chain, region, `AWS_ENDPOINT_URL`), with the endpoint
    /// replaced when given.
    Ambient(Option<String>),
}

impl Target {
    /// Chooses the target. `--endpoint-url` wins over `AWS_ENDPOINT_URL`; with neither, the
    /// local stack when `local_by_default` (nothing configured points at a real account), else
    /// the normal AWS configuration. An endpoint on this machine is an emulator: it gets dummy
    /// credentials, so real ones are never looked up or sent there.
    pub fn choose(
        endpoint_flag: Option<&str>,
        env_endpoint: Option<&str>,
        local_by_default: bool,
    ) -> Self {
        match (endpoint_flag, env_endpoint) {
            (Some(endpoint), _) | (None, Some(endpoint)) if is_loopback(endpoint) => {
                Self::Local(endpoint.to_owned())
            }
            (Some(endpoint), _) => Self::Ambient(Some(endpoint.to_owned())),
            (None, None) if local_by_default => Self::Local(LOCAL_ENDPOINT.to_owned()),
            // The SDK reads AWS_ENDPOINT_URL itself.
            (None, _) => Self::Ambient(None),
        }
    }

    /// The endpoint, when it is not AWS's own.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::Local(endpoint) | Self::Ambient(Some(endpoint)) => Some(endpoint),
            Self::Ambient(None) => None,
        }
    }
}

/// True when `url` points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `AWS_ENDPOINT_URL` when set and not blank.
pub fn env_endpoint() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// `EVENTS_TABLE` when set and not blank.
pub fn env_table() -> Option<String> {
    std::env::var("EVENTS_TABLE")
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The SDK configuration for `target`: short timeouts, a few retries.
pub async fn sdk_config(target: &Target) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    match target {
        Target::Local(endpoint) => {
            loader = loader
                .endpoint_url(endpoint)
                .region(Region::new(LOCAL_REGION))
                .credentials_provider(Credentials::new("test", "test", None, None, "local-stack"));
        }
        Target::Ambient(endpoint) => {
            if let Some(endpoint) = endpoint {
                loader = loader.endpoint_url(endpoint);
            }
            loader = loader
                .region(RegionProviderChain::default_provider().or_else(Region::new(LOCAL_REGION)));
        }
    }
    loader.load().await
}

/// Where the table name comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    /// `--table`.
    Named(String),
    /// `--stack`: the stack's `EventsTableName` output.
    Stack(String),
    /// `EVENTS_TABLE`.
    Env(String),
    /// Nothing given: the local stack's table.
    Default,
}

impl TableSource {
    /// `--table`, else `--stack`, else `EVENTS_TABLE`, else the default.
    pub fn choose(args: &TableArgs, env_table: Option<String>) -> Self {
        match (&args.table, &args.stack, env_table) {
            (Some(table), _, _) => Self::Named(table.clone()),
            (None, Some(stack), _) => Self::Stack(stack.clone()),
            (None, None, Some(table)) => Self::Env(table),
            (None, None, None) => Self::Default,
        }
    }
}

/// A command's view of the table: the AWS configuration, the reader, and the stack when one was
/// named (its outputs also locate the secrets and the bucket).
#[derive(Debug)]
pub struct Located {
    /// The AWS configuration the table was found with.
    pub config: SdkConfig,
    /// The table.
    pub reader: EventReader,
    /// `--stack`'s outputs.
    pub stack: Option<StackOutputs>,
}

/// The AWS configuration and the table for a command that reads the table.
///
/// # Errors
/// `--stack` names a stack that cannot be read or has no `EventsTableName` output.
pub async fn table_reader(
    endpoint_flag: Option<&str>,
    args: &TableArgs,
) -> Result<Located, CliError> {
    let source = TableSource::choose(args, env_table());
    let local_by_default = source == TableSource::Default;
    let target = Target::choose(endpoint_flag, env_endpoint().as_deref(), local_by_default);
    let config = sdk_config(&target).await;
    let (table, stack) = match source {
        TableSource::Named(table) | TableSource::Env(table) => (table, None),
        TableSource::Stack(stack) => {
            let outputs = StackOutputs::read(&config, &stack).await?;
            (outputs.get(TABLE_OUTPUT)?.to_owned(), Some(outputs))
        }
        TableSource::Default => (DEFAULT_TABLE.to_owned(), None),
    };
    let reader = EventReader::new(aws_sdk_dynamodb::Client::new(&config), table)
        .with_bodies(webhook_core::store::bodies::s3_client(&config));
    Ok(Located {
        config,
        reader,
        stack,
    })
}

/// The current and (when it exists) previous value of a Secrets Manager secret, through the
/// same fetcher the functions use.
///
/// # Errors
/// The secret cannot be read or has no current text value.
pub async fn secrets(
    config: &SdkConfig,
    secret_id: &str,
) -> Result<Vec<VersionedSecret>, CliError> {
    let fetcher =
        SecretsManagerFetcher::new(aws_sdk_secretsmanager::Client::new(config), secret_id);
    fetcher.fetch().await.map_err(|error| {
        let message = error.to_string();
        CliError::failed(format!(
            "reading secret {secret_id}: {}",
            without_debug_dump(&message)
        ))
    })
}

/// The current value of a Secrets Manager secret.
///
/// # Errors
/// The secret cannot be read or has no current text value.
pub async fn current_secret(
    config: &SdkConfig,
    secret_id: &str,
) -> Result<webhook_core::Secret, CliError> {
    secrets(config, secret_id)
        .await?
        .into_iter()
        .find(|candidate| candidate.version == SecretVersion::Current)
        .map(|candidate| candidate.secret)
        .ok_or_else(|| CliError::failed(format!("secret {secret_id} has no AWSCURRENT value")))
}

/// The SDK's `DisplayErrorContext` ends its message with ` (<Debug of the error>)`, a long
/// dump of internals; this keeps the readable part before it.
fn without_debug_dump(message: &str) -> &str {
    let bytes = message.as_bytes();
    let cut = (0..bytes.len().saturating_sub(2)).find(|&at| {
        bytes[at] == b' ' && bytes[at + 1] == b'(' && bytes[at + 2].is_ascii_uppercase() && {
            let name_end = bytes[at + 2..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .map_or(bytes.len(), |end| at + 2 + end);
            matches!(bytes.get(name_end), Some(b'(' | b' ' | b'{')) && message.ends_with(')')
        }
    });
    cut.map_or(message, |at| &message[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_flag_wins_then_the_environment_then_the_local_default() {
        assert_eq!(
            Target::choose(
                Some("http://127.0.0.1:1"),
                Some("http://127.0.0.1:2"),
                false
            ),
            Target::Local("http://127.0.0.1:1".into())
        );
        assert_eq!(
            Target::choose(None, Some("http://localhost:2"), false),
            Target::Local("http://localhost:2".into())
        );
        assert_eq!(
            Target::choose(None, None, true),
            Target::Local(LOCAL_ENDPOINT.into())
        );
        assert_eq!(Target::choose(None, None, false), Target::Ambient(None));
        assert_eq!(
            Target::choose(Some("https://dynamodb.eu-west-1.amazonaws.com"), None, true),
            Target::Ambient(Some("https://dynamodb.eu-west-1.amazonaws.com".into()))
        );
        assert_eq!(
            Target::choose(None, Some("https://vpce.example"), true),
            Target::Ambient(None)
        );
        assert_eq!(Target::Ambient(None).endpoint(), None);
        assert_eq!(
            Target::Local(LOCAL_ENDPOINT.into()).endpoint(),
            Some(LOCAL_ENDPOINT)
        );
    }

    #[test]
    fn sdk_debug_dumps_are_cut_from_messages() {
        assert_eq!(
            without_debug_dump(
                "secret store unavailable: dispatch failure: io error: refused (DispatchFailure(DispatchFailure { source: X }))"
            ),
            "secret store unavailable: dispatch failure: io error: refused"
        );
        assert_eq!(
            without_debug_dump("secret not usable: webhooks/x has no AWSCURRENT version"),
            "secret not usable: webhooks/x has no AWSCURRENT version"
        );
        assert_eq!(without_debug_dump("a (b) c"), "a (b) c");
    }

    #[test]
    fn loopback_endpoints() {
        assert!(is_loopback("http://127.0.0.1:4566"));
        assert!(is_loopback("http://localhost:4566"));
        assert!(is_loopback("http://[::1]:4566"));
        assert!(!is_loopback("https://dynamodb.us-east-1.amazonaws.com"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn table_flag_then_stack_then_environment_then_default() {
        let args = |table: Option<&str>, stack: Option<&str>| TableArgs {
            table: table.map(str::to_owned),
            stack: stack.map(str::to_owned),
        };
        let env = || Some("from-env".to_owned());
        assert_eq!(
            TableSource::choose(&args(Some("t"), None), env()),
            TableSource::Named("t".into())
        );
        assert_eq!(
            TableSource::choose(&args(None, Some("s")), env()),
            TableSource::Stack("s".into())
        );
        assert_eq!(
            TableSource::choose(&args(None, None), env()),
            TableSource::Env("from-env".into())
        );
        assert_eq!(
            TableSource::choose(&args(None, None), None),
            TableSource::Default
        );
    }
}
