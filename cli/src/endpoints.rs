//! `webhooks endpoints`: each provider's endpoints (the webhooks one function serves), with the
//! URL to register at the provider and the secret to put the provider's value into.

use serde_json::json;
use webhook_core::catalog::DEV_ENDPOINT;
use webhook_core::endpoint::DEFAULT;

use crate::args::EndpointsArgs;
use crate::aws::{self, Target};
use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::{self, ProviderArg};
use crate::send::local_url;
use crate::stack::StackOutputs;

/// The endpoints of `provider`, `default` first: the stack's (output `<Provider>Endpoints`) with
/// a stack, else the local stack's (`make dev`).
pub fn of(provider: ProviderArg, stack: Option<&StackOutputs>) -> Vec<String> {
    let others = match stack {
        Some(stack) => stack.endpoints(provider),
        None => vec![DEV_ENDPOINT.to_owned()],
    };
    std::iter::once(DEFAULT.to_owned()).chain(others).collect()
}

/// One endpoint: where it is and what verifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The provider.
    pub provider: &'static str,
    /// The endpoint's name.
    pub endpoint: String,
    /// Its URL.
    pub url: String,
    /// Its Secrets Manager secret (name or ARN).
    pub secret: String,
}

/// Every endpoint of `providers`.
///
/// # Errors
/// The stack lacks a provider's URL or secret output.
pub fn listed(
    providers: &[ProviderArg],
    stack: Option<&StackOutputs>,
) -> Result<Vec<Listed>, CliError> {
    let mut rows = Vec::new();
    for &provider in providers {
        for endpoint in of(provider, stack) {
            let (url, secret) = match stack {
                Some(stack) => (
                    stack.endpoint_url(provider, &endpoint)?,
                    stack.endpoint_secret(provider, &endpoint)?,
                ),
                None => (
                    local_url(provider, &endpoint),
                    provider.catalog().endpoint_secret_id(&endpoint),
                ),
            };
            rows.push(Listed {
                provider: provider.name(),
                endpoint,
                url,
                secret,
            });
        }
    }
    Ok(rows)
}

/// Prints the endpoints.
///
/// # Errors
/// The stack cannot be read or lacks an output.
pub async fn print(
    args: &EndpointsArgs,
    json: bool,
    endpoint: Option<&str>,
) -> Result<bool, CliError> {
    let providers: Vec<ProviderArg> = args
        .provider
        .map_or_else(|| registry::all().collect(), |provider| vec![provider]);
    let stack = match &args.stack {
        Some(name) => {
            let target = Target::choose(endpoint, aws::env_endpoint().as_deref(), false);
            Some(StackOutputs::read(&aws::sdk_config(&target).await, name).await?)
        }
        None => None,
    };
    let rows = listed(&providers, stack.as_ref())?;
    if json {
        let lines: String = rows
            .iter()
            .map(|row| {
                output::json_line(&json!({
                    "provider": row.provider,
                    "endpoint": row.endpoint,
                    "url": row.url,
                    "secret": row.secret,
                }))
            })
            .collect();
        return output::print(&lines).map(|()| true);
    }
    let mut table = Table::new(&["PROVIDER", "ENDPOINT", "URL", "SECRET"]);
    for row in rows {
        table.push(vec![
            row.provider.to_owned(),
            row.endpoint,
            row.url,
            row.secret,
        ]);
    }
    output::print(&table.render()).map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_stack_has_default_and_staging_for_every_provider() {
        let providers: Vec<ProviderArg> = registry::all().collect();
        let rows = listed(&providers, None).unwrap();
        assert_eq!(rows.len(), 2 * providers.len());
        let faceio: Vec<&Listed> = rows.iter().filter(|row| row.provider == "faceio").collect();
        assert_eq!(faceio[0].endpoint, "default");
        assert_eq!(faceio[0].secret, "webhooks/faceio");
        assert_eq!(
            faceio[0].url,
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/"
        );
        assert_eq!(faceio[1].endpoint, "staging");
        assert_eq!(faceio[1].secret, "webhooks/faceio/staging");
        assert_eq!(
            faceio[1].url,
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/webhooks/faceio/staging"
        );
    }

    #[test]
    fn a_stack_lists_its_outputs_endpoints() {
        let faceio = registry::find("faceio").unwrap();
        let stack = StackOutputs::new(
            "prod",
            vec![
                (
                    "FaceioWebhookUrl".into(),
                    "https://x.example/webhooks/faceio".into(),
                ),
                ("FaceioSecretArn".into(), "arn:faceio".into()),
                ("FaceioEndpoints".into(), "eu-1".into()),
            ],
        );
        let rows = listed(&[faceio], Some(&stack)).unwrap();
        let shown: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|row| (row.endpoint.as_str(), row.url.as_str(), row.secret.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("default", "https://x.example/webhooks/faceio", "arn:faceio"),
                (
                    "eu-1",
                    "https://x.example/webhooks/faceio/eu-1",
                    "prod/webhooks/faceio/eu-1"
                ),
            ]
        );
    }
}
