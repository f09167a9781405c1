//! `webhooks send`: build or read a body, sign it as the provider does, POST it, report.

use std::io::{BufRead, Read as _};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::{Value, json};
use webhook_core::catalog::{Catalog, Signer};
use webhook_core::config::{ConfigError, Env};
use webhook_core::store::query::error_chain;
use webhook_core::{Fresh, Sample, Secret};

use crate::args::{SendArgs, SettingArg};
use crate::aws::{self, Target};
use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::ProviderArg;
use crate::stack::StackOutputs;

/// The port `make dev` runs `cargo lambda watch` on.
const LOCAL_FUNCTIONS: &str = "http://127.0.0.1:9000";

/// The environment variable holding the provider secret for `webhooks send`.
pub const SECRET_ENV: &str = "WEBHOOKS_SECRET";

/// What to send, checked against the provider.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// `--url`; without it, the stack's URL or the local one.
    pub url: Option<reqwest::Url>,
    /// The provider's settings: its local-stack values, overridden by those given.
    pub settings: Env,
    /// The event code to generate, or `None` with `--body`.
    pub event_code: Option<&'static str>,
}

impl SendOptions {
    /// Checks the arguments that clap cannot: settings of another provider, the event code, the
    /// URL, stdin wanted twice.
    ///
    /// # Errors
    /// A usage error naming the problem.
    pub fn from_args(args: &SendArgs) -> Result<Self, CliError> {
        let catalog = args.provider.catalog();
        if let Some(foreign) = args
            .settings
            .iter()
            .find(|given| !catalog.settings().iter().any(|own| own.flag == given.flag))
        {
            return Err(CliError::usage(format!(
                "--{} does not apply to {}",
                foreign.flag,
                catalog.name()
            )));
        }
        let settings =
            crate::args::endpoint_settings(args.provider, &args.endpoint, &args.settings);
        let event_code = match (&args.event, &args.body) {
            (_, Some(_)) => None,
            (Some(code), None) => Some(
                webhook_core::catalog::find_code(catalog.event_codes(), code).ok_or_else(|| {
                    CliError::usage(format!(
                        "{code:?} is not a documented {} event code; use one of: {}",
                        catalog.name(),
                        catalog.event_codes().join(", ")
                    ))
                })?,
            ),
            (None, None) => catalog.event_codes().first().copied(),
        };
        let url = args
            .url
            .as_deref()
            .map(|text| {
                parse_url(text)
                    .ok_or_else(|| CliError::usage(format!("--url {text:?} is not an http(s) URL")))
            })
            .transpose()?;
        if args.emit_event.is_some() && args.count > 1 {
            return Err(CliError::usage(
                "--emit-event writes one event; leave out --count",
            ));
        }
        if args.secret
            && args
                .body
                .as_ref()
                .is_some_and(|path| path.as_os_str() == "-")
        {
            return Err(CliError::usage(
                "--secret and --body - both read stdin; put the body in a file",
            ));
        }
        Ok(Self {
            url,
            settings,
            event_code,
        })
    }
}

/// A provider setting that is invalid, as a usage error naming the option that set it.
fn setting_error(error: &ConfigError, given: &[SettingArg]) -> CliError {
    match given.iter().find(|setting| setting.env == error.name) {
        Some(setting) => CliError::usage(format!("--{}: {}", setting.flag, error.problem)),
        None => CliError::usage(error.to_string()),
    }
}

/// `text` as an http(s) URL with a host.
fn parse_url(text: &str) -> Option<reqwest::Url> {
    reqwest::Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// The function's URL: `--url`, else the stack's output, else the local stack's.
///
/// # Errors
/// The stack has no URL output for the provider, or a value that is not an http(s) URL.
fn function_url(
    given: Option<&reqwest::Url>,
    stack: Option<&StackOutputs>,
    provider: ProviderArg,
    endpoint: &str,
) -> Result<reqwest::Url, CliError> {
    if let Some(url) = given {
        return Ok(url.clone());
    }
    let Some(stack) = stack else {
        let local = local_url(provider, endpoint);
        return parse_url(&local).ok_or_else(|| CliError::failed(format!("bad URL {local}")));
    };
    let text = stack.endpoint_url(provider, endpoint)?;
    parse_url(&text).ok_or_else(|| {
        CliError::failed(format!(
            "stack {} output {} is {text:?}, not an http(s) URL",
            stack.stack(),
            crate::stack::url_output(provider)
        ))
    })
}

/// The local stack's URL of `provider`'s `endpoint`: `cargo lambda watch` hands the function the
/// path after `/lambda-url/<binary>`, so another endpoint is named as its real route is.
pub fn local_url(provider: ProviderArg, endpoint: &str) -> String {
    let binary = provider.catalog().binary();
    if endpoint == webhook_core::endpoint::DEFAULT {
        format!("{LOCAL_FUNCTIONS}/lambda-url/{binary}/")
    } else {
        let route = webhook_core::endpoint::route(provider.name(), endpoint);
        format!("{LOCAL_FUNCTIONS}/lambda-url/{binary}{route}")
    }
}

/// Plain `http://` only to this machine, unless `--insecure`: a signature, or a token that is
/// the secret itself, must not cross a network unencrypted by accident.
///
/// # Errors
/// A usage error naming the URL.
pub fn check_transport(url: &reqwest::Url, insecure: bool) -> Result<(), CliError> {
    if url.scheme() == "http" && !is_loopback(url) && !insecure {
        return Err(CliError::usage(format!(
            "refusing to send over plain http:// to {}, which is not this machine; use https:// \
             or --insecure",
            url.host_str().unwrap_or_default()
        )));
    }
    Ok(())
}

/// Where the secret comes from (see `--secret` in `webhooks send --help`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `--secret`: one line of stdin.
    Stdin,
    /// [`SECRET_ENV`].
    Env(Secret),
    /// The current value of this Secrets Manager secret.
    Manager(String),
}

impl SecretSource {
    /// `--secret`, else `--secret-id`, else `env_secret` (the environment's [`SECRET_ENV`]),
    /// else the stack's secret, else the provider's default secret.
    ///
    /// # Errors
    /// The stack has no secret output for the provider.
    pub fn choose(
        args: &SendArgs,
        env_secret: Option<String>,
        stack: Option<&StackOutputs>,
    ) -> Result<Self, CliError> {
        if args.secret {
            return Ok(Self::Stdin);
        }
        if let Some(id) = &args.secret_id {
            return Ok(Self::Manager(id.clone()));
        }
        if let Some(secret) = env_secret.filter(|value| !value.is_empty()) {
            return Ok(Self::Env(Secret::new(secret)));
        }
        Ok(Self::Manager(match stack {
            Some(stack) => stack.endpoint_secret(args.provider, &args.endpoint)?,
            None => args.provider.catalog().endpoint_secret_id(&args.endpoint),
        }))
    }
}

/// The secret on the first line of `input`, without its line break.
///
/// # Errors
/// `input` cannot be read, or is not text.
pub fn read_secret_line(mut input: impl BufRead) -> Result<Secret, CliError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|error| CliError::failed(format!("reading the secret from stdin: {error}")))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Secret::new(line))
}

/// A secret nobody has: what a `--tamper` send signs with.
fn decoy_secret() -> Secret {
    Secret::new(format!("tampered-{}", uuid::Uuid::new_v4().simple()))
}

/// The signer of a `--tamper` send: the provider's, with a random secret. The real secret is
/// not read at all, so what is sent can neither carry it nor be signed by it.
///
/// # Errors
/// A provider setting is invalid.
pub fn tamper_signer(
    catalog: &dyn Catalog,
    settings: &Env,
) -> Result<Box<dyn Signer>, ConfigError> {
    catalog.signer(settings, decoy_secret())
}

/// Random bytes for fresh sample ids.
fn seed() -> [u8; 32] {
    let mut seed = [0; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed
}

/// True when `url` points at this machine.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    aws::is_loopback(url.as_str())
}

/// One request's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// Event number, from 1.
    pub number: u32,
    /// 1 for the first send of a body, 2 for its `--duplicate` resend.
    pub copy: u8,
    /// The event code sent (`None` for a `--body` file).
    pub event_code: Option<&'static str>,
    /// The subject of a generated body.
    pub subject: Option<String>,
    /// HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    /// The answer's JSON (or text), or the transport error.
    pub response: Value,
    /// Round trip.
    pub elapsed: Duration,
}

impl Sent {
    /// `stored`, `duplicate`, `conflict`, the error reason, or the transport failure.
    pub fn result(&self) -> String {
        ["status", "error"]
            .iter()
            .find_map(|field| self.response.get(field).and_then(Value::as_str))
            .map_or_else(
                || match &self.response {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                },
                str::to_owned,
            )
    }

    /// The idempotency key the function answered with.
    pub fn key(&self) -> Option<&str> {
        self.response.get("key").and_then(Value::as_str)
    }

    /// True when the answer is what this send expects: 200 (or 202, queued for the table), or 401
    /// for a tampered request.
    pub fn as_expected(&self, tamper: bool) -> bool {
        if tamper {
            self.status == Some(401)
        } else {
            matches!(self.status, Some(200 | 202))
        }
    }

    fn to_json(&self, provider: ProviderArg, url: &reqwest::Url, tamper: bool) -> Value {
        json!({
            "n": self.number,
            "copy": self.copy,
            "provider": provider.name(),
            "event": self.event_code,
            "subject": self.subject,
            "url": url.as_str(),
            "tampered": tamper,
            "status": self.status,
            "response": self.response,
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// Runs `webhooks send`; `Ok(false)` when some answer was not the expected one.
///
/// # Errors
/// Bad arguments (usage), an unreadable body file or secret.
pub async fn run(
    args: &SendArgs,
    json_output: bool,
    endpoint_flag: Option<&str>,
) -> Result<bool, CliError> {
    let options = SendOptions::from_args(args)?;
    let file_body = args.body.as_deref().map(read_body).transpose()?;
    let catalog = args.provider.catalog();
    let stack = match &args.stack {
        Some(name) => {
            let target = Target::choose(endpoint_flag, aws::env_endpoint().as_deref(), false);
            let config = aws::sdk_config(&target).await;
            let outputs = StackOutputs::read(&config, name).await?;
            Some((config, outputs))
        }
        None => None,
    };
    let url = function_url(
        options.url.as_ref(),
        stack.as_ref().map(|(_, outputs)| outputs),
        args.provider,
        &args.endpoint,
    )?;
    if args.emit_event.is_none() {
        check_transport(&url, args.insecure)?;
    }
    let signer = if args.tamper {
        tamper_signer(catalog, &options.settings)
    } else {
        let secret = real_secret(args, endpoint_flag, &url, stack.as_ref()).await?;
        catalog.signer(&options.settings, secret)
    }
    .map_err(|error| setting_error(&error, &args.settings))?;
    if let Some(path) = &args.emit_event {
        let delivery = delivery(file_body.as_ref(), catalog, &options)?;
        return emit_event(args, signer.as_ref(), &delivery, path, json_output).map(|()| true);
    }
    let mut client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("webhooks-cli/", env!("CARGO_PKG_VERSION")));
    if is_loopback(&url) {
        client = client.no_proxy();
    }
    let client = client
        .build()
        .map_err(|error| CliError::failed(format!("HTTP client: {error}")))?;

    let copies: u8 = if args.duplicate { 2 } else { 1 };
    let total = u64::from(args.count) * u64::from(copies);
    let bar = output::progress(!json_output && total > 1, Some(total), "sending");
    let mut sent = Vec::new();
    let mut unexpected = 0_u32;
    for number in 1..=args.count {
        let Delivery {
            body,
            event_code,
            subject,
        } = delivery(file_body.as_ref(), catalog, &options)?;
        for copy in 1..=copies {
            let now = webhook_core::clock::now_ms() / 1000;
            let header = signer.header(&body, now, args.tamper);
            let started = Instant::now();
            let (status, response) = post(&client, &url, header, body.clone()).await;
            let outcome = Sent {
                number,
                copy,
                event_code,
                subject: subject.clone(),
                status,
                response,
                elapsed: started.elapsed(),
            };
            if !outcome.as_expected(args.tamper) {
                unexpected += 1;
            }
            if json_output {
                output::print(&output::json_line(&outcome.to_json(
                    args.provider,
                    &url,
                    args.tamper,
                )))?;
            }
            sent.push(outcome);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if !json_output {
        output::print(&table(&sent).render())?;
    }
    if unexpected > 0 {
        let expected = if args.tamper { "401" } else { "200 or 202" };
        eprintln!("webhooks: {unexpected} of {total} answers were not {expected}");
    }
    Ok(unexpected == 0)
}

/// A body to send, and what it is when the tool made it.
struct Delivery {
    body: Vec<u8>,
    event_code: Option<&'static str>,
    subject: Option<String>,
}

/// The `--body` file's bytes, else a fresh sample of the chosen event code, made now.
fn delivery(
    file_body: Option<&Vec<u8>>,
    catalog: &dyn Catalog,
    options: &SendOptions,
) -> Result<Delivery, CliError> {
    if let Some(body) = file_body {
        return Ok(Delivery {
            body: body.clone(),
            event_code: None,
            subject: None,
        });
    }
    let Some(code) = options.event_code else {
        return Err(CliError::usage("--event or --body is needed"));
    };
    let now = webhook_core::clock::now_ms() / 1000;
    let Sample {
        body,
        event_code,
        subject,
    } = catalog
        .sample(code, &Fresh::new(now, seed()), &options.settings)
        .ok_or_else(|| CliError::failed(format!("no sample {code} for {}", catalog.name())))?;
    Ok(Delivery {
        body,
        event_code: Some(event_code),
        subject,
    })
}

/// `--emit-event`: the delivery, signed now, as the Lambda event of `--front-door`, written to
/// `path` (`-`: stdout).
fn emit_event(
    args: &SendArgs,
    signer: &dyn Signer,
    delivery: &Delivery,
    path: &std::path::Path,
    json_output: bool,
) -> Result<(), CliError> {
    let now_ms = webhook_core::clock::now_ms();
    let (name, value) = signer.header(&delivery.body, now_ms / 1000, args.tamper);
    let request_id = uuid::Uuid::new_v4().to_string();
    let route = webhook_core::endpoint::route(args.provider.name(), &args.endpoint);
    let event = args.front_door.event(
        &route,
        &[(name.as_str(), value.as_str())],
        &delivery.body,
        &request_id,
        now_ms,
    );
    let mut text = serde_json::to_string_pretty(&event)
        .map_err(|error| CliError::failed(format!("writing the event: {error}")))?;
    text.push('\n');
    if path.as_os_str() == "-" {
        return output::print(&text);
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|error| CliError::failed(format!("creating {}: {error}", parent.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|error| CliError::failed(format!("writing {}: {error}", path.display())))?;
    let summary = json!({
        "provider": args.provider.name(),
        "front_door": args.front_door.name(),
        "event_code": delivery.event_code,
        "subject": delivery.subject,
        "file": path.display().to_string(),
        "tampered": args.tamper,
    });
    if json_output {
        output::print(&output::json_line(&summary))
    } else {
        output::print(&format!(
            "wrote {} ({} {} via {})\n",
            path.display(),
            args.provider.name(),
            delivery.event_code.unwrap_or("body"),
            args.front_door.name()
        ))
    }
}

/// The provider's real secret, from where [`SecretSource::choose`] says.
///
/// # Errors
/// The secret cannot be read, or is empty.
async fn real_secret(
    args: &SendArgs,
    endpoint_flag: Option<&str>,
    url: &reqwest::Url,
    stack: Option<&(SdkConfig, StackOutputs)>,
) -> Result<Secret, CliError> {
    let source = SecretSource::choose(
        args,
        std::env::var(SECRET_ENV).ok(),
        stack.map(|(_, outputs)| outputs),
    )?;
    let secret = match source {
        SecretSource::Stdin => read_secret_line(std::io::stdin().lock())?,
        SecretSource::Env(secret) => secret,
        SecretSource::Manager(secret_id) => {
            let config = if let Some((config, _)) = stack {
                config.clone()
            } else {
                // A function on this machine reads its secret from the local stack.
                let target = Target::choose(
                    endpoint_flag,
                    aws::env_endpoint().as_deref(),
                    is_loopback(url),
                );
                aws::sdk_config(&target).await
            };
            aws::current_secret(&config, &secret_id).await?
        }
    };
    if secret.is_empty() {
        return Err(CliError::usage("the secret is empty"));
    }
    Ok(secret)
}

/// The people's view of the answers.
pub fn table(sent: &[Sent]) -> Table {
    let mut table = Table::new(&["#", "STATUS", "RESULT", "EVENT", "SUBJECT", "KEY", "MS"]);
    for outcome in sent {
        table.push(vec![
            if outcome.copy > 1 {
                format!("{}'", outcome.number)
            } else {
                outcome.number.to_string()
            },
            outcome
                .status
                .map_or_else(|| "-".to_owned(), |status| status.to_string()),
            outcome.result(),
            outcome.event_code.unwrap_or("-").to_owned(),
            outcome.subject.clone().unwrap_or_else(|| "-".to_owned()),
            outcome.key().unwrap_or("-").to_owned(),
            outcome.elapsed.as_millis().to_string(),
        ]);
    }
    table
}

/// POSTs `body`; the status and the answer as JSON (text when not JSON), or no status and the
/// transport error.
async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    (name, value): (http::HeaderName, String),
    body: Vec<u8>,
) -> (Option<u16>, Value) {
    let answer = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(name, value)
        .body(body)
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(error) => return (None, Value::String(error_chain(&error))),
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => (
            Some(status),
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        ),
        Err(error) => (Some(status), Value::String(error_chain(&error))),
    }
}

/// The bytes of `--body FILE` (`-`: stdin).
fn read_body(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|error| CliError::failed(format!("reading the body from stdin: {error}")))?;
        return Ok(body);
    }
    std::fs::read(path)
        .map_err(|error| CliError::failed(format!("reading {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Command;
    use webhook_core::http::FrontDoor;

    fn send_args(args: &[&str]) -> SendArgs {
        let cli = crate::args::parse(["webhooks", "send"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Send(send) => send,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_default_to_the_local_stack() {
        let args = send_args(&["faceio"]);
        let options = SendOptions::from_args(&args).unwrap();
        let url = function_url(options.url.as_ref(), None, args.provider, &args.endpoint).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/"
        );
        assert_eq!(options.event_code, Some("ENROLL"));
        assert_eq!(
            options.settings.get("FACEIO_APP_ID"),
            Some("local-faceio-app")
        );
        assert!(is_loopback(&url));
        let amani =
            SendOptions::from_args(&send_args(&["amani", "--amani-mode", "token"])).unwrap();
        assert_eq!(amani.settings.get("AMANI_AUTH_MODE"), Some("token"));
        assert_eq!(amani.event_code, Some("profile_create"));
        let given = SendOptions::from_args(&send_args(&["faceio", "--app-id", "mine"])).unwrap();
        assert_eq!(given.settings.get("FACEIO_APP_ID"), Some("mine"));
    }

    #[test]
    fn an_endpoint_has_its_own_url_secret_and_local_settings() {
        let args = send_args(&["faceio", "--endpoint", "staging"]);
        let options = SendOptions::from_args(&args).unwrap();
        let url = function_url(None, None, args.provider, &args.endpoint).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/webhooks/faceio/staging"
        );
        assert_eq!(
            options.settings.get("FACEIO_APP_ID"),
            Some("local-faceio-app-staging")
        );
        assert_eq!(
            SecretSource::choose(&args, None, None).unwrap(),
            SecretSource::Manager("webhooks/faceio/staging".into())
        );
        let given = send_args(&["faceio", "--endpoint", "staging", "--app-id", "mine"]);
        let given = SendOptions::from_args(&given).unwrap();
        assert_eq!(given.settings.get("FACEIO_APP_ID"), Some("mine"));
        let amani =
            SendOptions::from_args(&send_args(&["amani", "--endpoint", "staging"])).unwrap();
        assert_eq!(amani.settings.get("AMANI_AUTH_MODE"), Some("token"));
        let url = function_url(None, Some(&stack()), args.provider, "eu-1").unwrap();
        assert_eq!(url.as_str(), "https://api.example/webhooks/faceio/eu-1");
        for bad in ["Staging", "a/b", "x-", ""] {
            let error =
                crate::args::parse(["webhooks", "send", "faceio", "--endpoint", bad]).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad}"
            );
        }
    }

    #[test]
    fn arguments_clap_cannot_check_are_usage_errors() {
        for args in [
            &["faceio", "--event", "PinOk"][..],
            &["faceio", "--amani-mode", "token"],
            &["alocity", "--app-id", "x"],
            &["faceio", "--url", "ftp://example.com/"],
            &["faceio", "--url", "not a url"],
            &["faceio", "--secret", "--body", "-"],
            &["faceio", "--emit-event", "e.json", "--count", "2"],
        ] {
            let error = SendOptions::from_args(&send_args(args)).unwrap_err();
            assert!(matches!(error, CliError::Usage(_)), "{args:?}: {error}");
        }
    }

    #[test]
    fn emit_event_takes_a_front_door_and_no_destination() {
        let args = send_args(&["alocity", "--emit-event", "-", "--front-door", "alb"]);
        assert_eq!(args.front_door, FrontDoor::Alb);
        assert_eq!(
            send_args(&["alocity", "--emit-event", "-"]).front_door,
            FrontDoor::HttpApiV2
        );
        for args in [
            &["faceio", "--front-door", "alb"][..],
            &["faceio", "--emit-event", "-", "--front-door", "nginx"],
            &[
                "faceio",
                "--emit-event",
                "-",
                "--url",
                "http://127.0.0.1:1/",
            ],
            &["faceio", "--emit-event", "-", "--duplicate"],
        ] {
            let parsed = crate::args::parse(["webhooks", "send"].iter().chain(args));
            assert!(parsed.is_err(), "{args:?}");
        }
    }

    #[test]
    fn invalid_provider_settings_name_their_option() {
        for (args, option) in [
            (&["amani", "--token-header", "X-T"][..], "--token-header"),
            (
                &[
                    "amani",
                    "--amani-mode",
                    "token",
                    "--token-header",
                    "bad header",
                ],
                "--token-header",
            ),
            (&["amani", "--amani-mode", "carrier-pigeon"], "--amani-mode"),
        ] {
            let args = send_args(args);
            let options = SendOptions::from_args(&args).unwrap();
            let error = args
                .provider
                .catalog()
                .signer(&options.settings, Secret::new("s"))
                .unwrap_err();
            let error = setting_error(&error, &args.settings);
            assert!(
                matches!(&error, CliError::Usage(text) if text.starts_with(option)),
                "{error}"
            );
        }
    }

    fn stack() -> StackOutputs {
        StackOutputs::new(
            "prod",
            vec![
                (
                    "FaceioWebhookUrl".into(),
                    "https://api.example/webhooks/faceio".into(),
                ),
                (
                    "FaceioSecretArn".into(),
                    "arn:aws:secretsmanager:faceio".into(),
                ),
                ("AmaniWebhookUrl".into(), "ftp://api.example/amani".into()),
            ],
        )
    }

    #[test]
    fn the_url_is_the_flag_then_the_stack_output() {
        let args = send_args(&["faceio", "--stack", "prod"]);
        let options = SendOptions::from_args(&args).unwrap();
        let url = function_url(
            options.url.as_ref(),
            Some(&stack()),
            args.provider,
            &args.endpoint,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://api.example/webhooks/faceio");

        let args = send_args(&[
            "faceio",
            "--stack",
            "prod",
            "--url",
            "https://other.example/",
        ]);
        let options = SendOptions::from_args(&args).unwrap();
        let url = function_url(
            options.url.as_ref(),
            Some(&stack()),
            args.provider,
            &args.endpoint,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://other.example/");

        let missing = send_args(&["alocity", "--stack", "prod"]);
        assert_eq!(
            function_url(None, Some(&stack()), missing.provider, "default").unwrap_err(),
            CliError::failed("stack prod has no output AlocityWebhookUrl")
        );
        let bad = send_args(&["amani", "--stack", "prod"]);
        let error = function_url(None, Some(&stack()), bad.provider, "default").unwrap_err();
        assert!(error.to_string().contains("AmaniWebhookUrl"), "{error}");
    }

    #[test]
    fn the_secret_is_stdin_then_the_id_then_the_environment_then_the_stack() {
        let choose = |args: &[&str], env: Option<&str>, stack: Option<&StackOutputs>| {
            SecretSource::choose(&send_args(args), env.map(str::to_owned), stack).unwrap()
        };
        let manager = |id: &str| SecretSource::Manager(id.to_owned());
        assert_eq!(
            choose(&["faceio", "--secret"], Some("env"), Some(&stack())),
            SecretSource::Stdin
        );
        assert_eq!(
            choose(
                &["faceio", "--secret-id", "mine"],
                Some("env"),
                Some(&stack())
            ),
            manager("mine")
        );
        assert_eq!(
            choose(&["faceio"], Some("env"), Some(&stack())),
            SecretSource::Env(Secret::new("env"))
        );
        assert_eq!(
            choose(&["faceio"], Some(""), Some(&stack())),
            manager("arn:aws:secretsmanager:faceio")
        );
        assert_eq!(choose(&["faceio"], None, None), manager("webhooks/faceio"));
        assert_eq!(
            SecretSource::choose(&send_args(&["amani"]), None, Some(&stack())).unwrap_err(),
            CliError::failed("stack prod has no output AmaniSecretArn")
        );
    }

    #[test]
    fn a_secret_on_stdin_is_its_first_line_without_the_line_break() {
        let read = |input: &str| read_secret_line(input.as_bytes()).unwrap();
        assert_eq!(read("s3cret\n"), Secret::new("s3cret"));
        assert_eq!(read("s3cret\r\n"), Secret::new("s3cret"));
        assert_eq!(read("s3cret"), Secret::new("s3cret"));
        assert_eq!(read("first\nsecond\n"), Secret::new("first"));
        assert_eq!(read(" spaced \n"), Secret::new(" spaced "));
        assert!(read("").is_empty());
        assert!(read_secret_line(&[0xff, b'\n'][..]).is_err());
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_insecure() {
        let url = |text| reqwest::Url::parse(text).unwrap();
        for ok in [
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/",
            "http://localhost/",
            "http://[::1]:8080/",
            "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/faceio",
        ] {
            assert_eq!(check_transport(&url(ok), false), Ok(()), "{ok}");
        }
        let error =
            check_transport(&url("http://api.example.com/webhooks/faceio"), false).unwrap_err();
        assert!(matches!(error, CliError::Usage(_)), "{error}");
        assert_eq!(
            error.to_string(),
            "usage error: refusing to send over plain http:// to api.example.com, which is not \
             this machine; use https:// or --insecure"
        );
        assert!(check_transport(&url("http://10.0.0.7/"), false).is_err());
        assert_eq!(
            check_transport(&url("http://api.example.com/"), true),
            Ok(())
        );
    }

    /// Every way a secret could show up in a request: as it is, hex, base64.
    fn encodings(secret: &str) -> Vec<String> {
        use base64::Engine as _;
        vec![
            secret.to_owned(),
            hex::encode(secret),
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        ]
    }

    #[test]
    fn a_tampered_send_carries_nothing_of_the_real_secret_and_does_not_verify() {
        const NOW: i64 = 1_795_478_400;
        let modes: &[&[&str]] = &[
            &["alocity-selfie"],
            &["alocity"],
            &["faceio"],
            &["amani"],
            &["amani", "--amani-mode", "token"],
        ];
        for mode in modes {
            let args = send_args(mode);
            let options = SendOptions::from_args(&args).unwrap();
            let catalog = args.provider.catalog();
            let real = catalog.dev_secret();
            let code = options.event_code.unwrap();
            let body = catalog
                .sample(code, &Fresh::new(NOW, [7; 32]), &options.settings)
                .unwrap()
                .body;
            let honest = catalog
                .signer(&options.settings, Secret::new(real))
                .unwrap()
                .header(&body, NOW, false);

            let (name, value) = tamper_signer(catalog, &options.settings)
                .unwrap()
                .header(&body, NOW, true);

            assert_eq!(name, honest.0, "{mode:?}: the header keeps its name");
            assert_ne!(value, honest.1, "{mode:?}");
            let sent = [name.as_str().as_bytes(), value.as_bytes(), &body].concat();
            for form in encodings(real) {
                assert!(
                    !sent
                        .windows(form.len())
                        .any(|window| window == form.as_bytes()),
                    "{mode:?}: the tampered request holds the real secret ({form})"
                );
            }
            // A token mode has no signature to check: the token not being the real one is all.
            if let Some(audit) = catalog.audit().filter(|_| !mode.contains(&"token")) {
                let secrets = [webhook_core::VersionedSecret::current(real)];
                assert!(audit(&secrets, &body, &value).is_err(), "{mode:?}");
                assert!(audit(&secrets, &body, &honest.1).is_ok(), "{mode:?}");
            }
            let again = tamper_signer(catalog, &options.settings)
                .unwrap()
                .header(&body, NOW, true);
            assert_ne!(
                value, again.1,
                "{mode:?}: every tampered send signs with a new secret"
            );
        }
    }

    #[test]
    fn loopback_hosts() {
        let url = |text| reqwest::Url::parse(text).unwrap();
        assert!(is_loopback(&url("http://127.0.0.1:9000/")));
        assert!(is_loopback(&url("http://localhost/")));
        assert!(is_loopback(&url("http://[::1]:1/")));
        assert!(!is_loopback(&url(
            "https://abc.lambda-url.us-east-1.on.aws/"
        )));
    }

    #[test]
    fn answers_in_the_table() {
        let sent = [
            Sent {
                number: 1,
                copy: 1,
                event_code: Some("ENROLL"),
                subject: Some("f1".into()),
                status: Some(200),
                response: json!({"status": "stored", "key": "app/ENROLL/f1"}),
                elapsed: Duration::from_millis(12),
            },
            Sent {
                number: 1,
                copy: 2,
                event_code: Some("ENROLL"),
                subject: Some("f1".into()),
                status: None,
                response: json!("connection refused"),
                elapsed: Duration::from_millis(3),
            },
        ];
        assert_eq!(
            table(&sent).render(),
            "#   STATUS  RESULT              EVENT   SUBJECT  KEY            MS\n\
             1   200     stored              ENROLL  f1       app/ENROLL/f1  12\n\
             1'  -       connection refused  ENROLL  f1       -              3\n"
        );
        assert!(sent[0].as_expected(false));
        assert!(!sent[0].as_expected(true));
        assert!(!sent[1].as_expected(false));
        let answered = |status| Sent {
            status: Some(status),
            ..sent[0].clone()
        };
        assert!(answered(202).as_expected(false), "queued is accepted");
        assert!(!answered(503).as_expected(false));
        assert!(answered(401).as_expected(true));
        assert!(!answered(202).as_expected(true));
    }
}
