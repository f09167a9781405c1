//! A deployed stack's outputs (template.yaml `Outputs`), read once per command: the events
//! table, the payload bucket, and each provider's webhook URL and secret ARN.
//!
//! The output names are a fact of the template; this module is their one home on the CLI side.

use aws_config::SdkConfig;
use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
use webhook_core::error::error_chain;

use crate::error::CliError;
use crate::registry::ProviderArg;

/// The output naming the events table.
pub const TABLE_OUTPUT: &str = "EventsTableName";
/// The output naming the payload bucket (large bodies and the quarantine).
pub const BUCKET_OUTPUT: &str = "PayloadBucketName";

/// The provider's name as the template's logical ids spell it: `alocity-selfie` is
/// `AlocitySelfie`, `faceio` is `Faceio`.
pub fn camel_name(provider: &str) -> String {
    provider
        .split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The output holding the URL to register as the provider's webhook (`FaceioWebhookUrl`).
pub fn url_output(provider: ProviderArg) -> String {
    format!("{}WebhookUrl", camel_name(provider.name()))
}

/// The output holding the ARN of the provider's secret (`FaceioSecretArn`).
pub fn secret_output(provider: ProviderArg) -> String {
    format!("{}SecretArn", camel_name(provider.name()))
}

/// The output listing the provider's endpoints besides `default` (`FaceioEndpoints`).
pub fn endpoints_output(provider: ProviderArg) -> String {
    format!("{}Endpoints", camel_name(provider.name()))
}

/// The outputs of one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    stack: String,
    outputs: Vec<(String, String)>,
}

impl StackOutputs {
    /// Outputs given as they are (for tests and for a stack already described).
    pub fn new(stack: impl Into<String>, outputs: Vec<(String, String)>) -> Self {
        Self {
            stack: stack.into(),
            outputs,
        }
    }

    /// The outputs of stack `stack` (`DescribeStacks`).
    ///
    /// # Errors
    /// The stack does not exist or cannot be read.
    pub async fn read(config: &SdkConfig, stack: &str) -> Result<Self, CliError> {
        let client = aws_sdk_cloudformation::Client::new(config);
        let described = client
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|error| {
                let detail = match error.as_service_error() {
                    Some(service) if service.code() == Some("ValidationError") => {
                        service.message().unwrap_or("does not exist").to_owned()
                    }
                    _ => error_chain(&error),
                };
                CliError::failed(format!("reading stack {stack}: {detail}"))
            })?;
        let outputs = described
            .stacks()
            .iter()
            .flat_map(aws_sdk_cloudformation::types::Stack::outputs)
            .filter_map(|output| {
                Some((
                    output.output_key()?.to_owned(),
                    output.output_value()?.to_owned(),
                ))
            })
            .collect();
        Ok(Self::new(stack, outputs))
    }

    /// The stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Output `key`.
    ///
    /// # Errors
    /// The stack has no such output (or an empty one).
    pub fn get(&self, key: &str) -> Result<&str, CliError> {
        self.outputs
            .iter()
            .find(|(name, value)| name == key && !value.trim().is_empty())
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| CliError::failed(format!("stack {} has no output {key}", self.stack)))
    }

    /// The provider's webhook URL.
    ///
    /// # Errors
    /// The stack has no such output.
    pub fn webhook_url(&self, provider: ProviderArg) -> Result<&str, CliError> {
        self.get(&url_output(provider))
    }

    /// The ARN of the provider's secret.
    ///
    /// # Errors
    /// The stack has no such output.
    pub fn secret_arn(&self, provider: ProviderArg) -> Result<&str, CliError> {
        self.get(&secret_output(provider))
    }

    /// The provider's endpoints besides `default` (none when the output is empty or missing: a
    /// stack deployed before endpoints existed).
    pub fn endpoints(&self, provider: ProviderArg) -> Vec<String> {
        self.get(&endpoints_output(provider))
            .map(|names| {
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The URL of the provider's `endpoint`: its webhook URL, plus `/<endpoint>` for one other
    /// than `default` (the template's `/webhooks/<provider>/{endpoint}` route).
    ///
    /// # Errors
    /// The stack has no URL output for the provider.
    pub fn endpoint_url(&self, provider: ProviderArg, endpoint: &str) -> Result<String, CliError> {
        let url = self.webhook_url(provider)?;
        Ok(if endpoint == webhook_core::endpoint::DEFAULT {
            url.to_owned()
        } else {
            format!("{}/{endpoint}", url.trim_end_matches('/'))
        })
    }

    /// The secret of the provider's `endpoint`: output `<Provider>SecretArn` for `default`, the
    /// name the template gives the others (`<stack>/webhooks/<provider>/<endpoint>`).
    ///
    /// # Errors
    /// The stack has no secret output for the provider.
    pub fn endpoint_secret(
        &self,
        provider: ProviderArg,
        endpoint: &str,
    ) -> Result<String, CliError> {
        if endpoint == webhook_core::endpoint::DEFAULT {
            return self.secret_arn(provider).map(str::to_owned);
        }
        Ok(format!(
            "{}/webhooks/{}/{endpoint}",
            self.stack,
            provider.name()
        ))
    }
}

/// Where a command that reads secrets takes each provider's secret id from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretIds {
    /// `--secret-id`: this one, for the one provider named.
    Given(String),
    /// `--stack`: the stack's `<Provider>SecretArn` outputs.
    Stack(StackOutputs),
    /// Neither: the provider's default (`webhooks/<provider>`, the local stack's names).
    Default,
}

impl SecretIds {
    /// `--secret-id` when given, else the stack's outputs when there is a stack, else the default.
    pub fn choose(secret_id: Option<&str>, stack: Option<&StackOutputs>) -> Self {
        match (secret_id, stack) {
            (Some(id), _) => Self::Given(id.to_owned()),
            (None, Some(stack)) => Self::Stack(stack.clone()),
            (None, None) => Self::Default,
        }
    }

    /// The secret id to read for `provider`'s `endpoint`.
    ///
    /// # Errors
    /// The stack has no secret output for it.
    pub fn for_endpoint(&self, provider: ProviderArg, endpoint: &str) -> Result<String, CliError> {
        match self {
            Self::Given(id) => Ok(id.clone()),
            Self::Stack(stack) => stack.endpoint_secret(provider, endpoint),
            Self::Default => Ok(provider.catalog().endpoint_secret_id(endpoint)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn camel_names_follow_the_template_logical_ids() {
        assert_eq!(camel_name("alocity-selfie"), "AlocitySelfie");
        assert_eq!(camel_name("faceio"), "Faceio");
        assert_eq!(camel_name("amani"), "Amani");
        assert_eq!(camel_name("a_b-c"), "ABC");
        assert_eq!(camel_name(""), "");
    }

    #[test]
    fn every_provider_has_its_url_and_secret_outputs_in_the_template() {
        // The template is the deployed shape; a provider whose outputs are missing or spelled
        // otherwise could not be reached with --stack.
        let template = include_str!("../../template.yaml");
        let outputs = template
            .split_once("\nOutputs:")
            .map(|(_, outputs)| outputs)
            .unwrap_or_default();
        for key in [TABLE_OUTPUT, BUCKET_OUTPUT] {
            assert!(outputs.contains(&format!("\n  {key}:\n")), "{key}");
        }
        for provider in registry::all() {
            for key in [url_output(provider), secret_output(provider)] {
                assert!(outputs.contains(&format!("\n  {key}:\n")), "{key}");
            }
        }
    }

    #[test]
    fn outputs_are_found_by_name_and_a_missing_one_is_named() {
        let faceio = registry::find("faceio").unwrap();
        let stack = StackOutputs::new(
            "prod",
            vec![
                (
                    "FaceioWebhookUrl".into(),
                    "https://x.example/webhooks/faceio".into(),
                ),
                (
                    "FaceioSecretArn".into(),
                    "arn:aws:secretsmanager:r:1:secret:f".into(),
                ),
                ("AmaniSecretArn".into(), " ".into()),
            ],
        );
        assert_eq!(
            stack.webhook_url(faceio).unwrap(),
            "https://x.example/webhooks/faceio"
        );
        assert_eq!(
            stack.secret_arn(faceio).unwrap(),
            "arn:aws:secretsmanager:r:1:secret:f"
        );
        let amani = registry::find("amani").unwrap();
        assert_eq!(
            stack.secret_arn(amani).unwrap_err(),
            CliError::failed("stack prod has no output AmaniSecretArn")
        );
        assert_eq!(
            stack.get(TABLE_OUTPUT).unwrap_err().to_string(),
            "error: stack prod has no output EventsTableName"
        );
    }

    #[test]
    fn secret_ids_come_from_the_flag_then_the_stack_then_the_default() {
        let faceio = registry::find("faceio").unwrap();
        let stack = StackOutputs::new(
            "prod",
            vec![("FaceioSecretArn".into(), "arn:faceio".into())],
        );
        let default = webhook_core::endpoint::DEFAULT;
        for (given, stack, endpoint, expected) in [
            (Some("mine"), Some(&stack), default, "mine"),
            (None, Some(&stack), default, "arn:faceio"),
            (
                None,
                Some(&stack),
                "staging",
                "prod/webhooks/faceio/staging",
            ),
            (None, None, default, "webhooks/faceio"),
            (None, None, "staging", "webhooks/faceio/staging"),
        ] {
            let chosen = SecretIds::choose(given, stack).for_endpoint(faceio, endpoint);
            assert_eq!(chosen.unwrap(), expected, "{given:?} {endpoint}");
        }
        assert_eq!(faceio.catalog().secret_id(), "webhooks/faceio");
    }

    #[test]
    fn an_endpoint_s_url_and_names_come_from_the_provider_s_outputs() {
        let faceio = registry::find("faceio").unwrap();
        let stack = StackOutputs::new(
            "prod",
            vec![
                (
                    "FaceioWebhookUrl".into(),
                    "https://x.example/webhooks/faceio".into(),
                ),
                ("FaceioEndpoints".into(), "staging, eu-1".into()),
            ],
        );
        assert_eq!(stack.endpoints(faceio), ["staging", "eu-1"]);
        assert_eq!(
            stack.endpoint_url(faceio, "eu-1").unwrap(),
            "https://x.example/webhooks/faceio/eu-1"
        );
        assert_eq!(
            stack.endpoint_url(faceio, "default").unwrap(),
            "https://x.example/webhooks/faceio"
        );
        let amani = registry::find("amani").unwrap();
        assert!(stack.endpoints(amani).is_empty());
    }
}
