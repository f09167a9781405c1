//! `webhooks send`: build or read a body, sign it as the provider does, POST it, report.

use std::io::Read as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use webhook_core::config::{ConfigError, Env};
use webhook_core::store::query::error_chain;
use webhook_core::{Fresh, Sample, Secret};

use crate::args::{SendArgs, SettingArg};
use crate::aws::{self, Target};
use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::ProviderArg;

/// The port `make dev` runs `cargo lambda watch` on.
const LOCAL_FUNCTIONS: &str = "http://127.0.0.1:9000";

/// What to send, checked against the provider.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// The function URL.
    pub url: reqwest::Url,
    /// The provider's settings: its local-stack values, overridden by those given.
    pub settings: Env,
    /// The event code to generate, or `None` with `--body`.
    pub event_code: Option<&'static str>,
}

impl SendOptions {
    /// Checks the arguments that clap cannot: settings of another provider, the event code, the
    /// URL.
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
        let dev = catalog.dev_env();
        let settings = Env::from_pairs(
            dev.iter().copied().chain(
                args.settings
                    .iter()
                    .map(|given| (given.env, given.value.as_str())),
            ),
        );
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
        let url_text = args
            .url
            .clone()
            .unwrap_or_else(|| format!("{LOCAL_FUNCTIONS}/lambda-url/{}/", catalog.binary()));
        let url = reqwest::Url::parse(&url_text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| CliError::usage(format!("--url {url_text:?} is not an http(s) URL")))?;
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
    let secret = if let Some(secret) = &args.secret {
        Secret::new(secret.clone())
    } else {
        let secret_id = args
            .secret_id
            .clone()
            .unwrap_or_else(|| catalog.secret_id());
        // A function on this machine reads its secret from the local stack.
        let target = Target::choose(
            endpoint_flag,
            aws::env_endpoint().as_deref(),
            is_loopback(&options.url),
        );
        let config = aws::sdk_config(&target).await;
        aws::current_secret(&config, &secret_id).await?
    };
    if secret.is_empty() {
        return Err(CliError::usage("the secret is empty"));
    }
    let signer = catalog
        .signer(&options.settings, secret)
        .map_err(|error| setting_error(&error, &args.settings))?;
    let mut client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("webhooks-cli/", env!("CARGO_PKG_VERSION")));
    if is_loopback(&options.url) {
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
        let now = webhook_core::clock::now_ms() / 1000;
        let (body, event_code, subject) = match (&file_body, options.event_code) {
            (Some(body), _) => (body.clone(), None, None),
            (None, Some(code)) => {
                let Sample {
                    body,
                    event_code,
                    subject,
                } = catalog
                    .sample(code, &Fresh::new(now, seed()), &options.settings)
                    .ok_or_else(|| {
                        CliError::failed(format!("no sample {code} for {}", catalog.name()))
                    })?;
                (body, Some(event_code), subject)
            }
            (None, None) => return Err(CliError::usage("--event or --body is needed")),
        };
        for copy in 1..=copies {
            let now = webhook_core::clock::now_ms() / 1000;
            let header = signer.header(&body, now, args.tamper);
            let started = Instant::now();
            let (status, response) = post(&client, &options.url, header, body.clone()).await;
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
                    &options.url,
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

    fn send_args(args: &[&str]) -> SendArgs {
        let cli = crate::args::parse(["webhooks", "send"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Send(send) => send,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_default_to_the_local_stack() {
        let options = SendOptions::from_args(&send_args(&["faceio"])).unwrap();
        assert_eq!(
            options.url.as_str(),
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/"
        );
        assert_eq!(options.event_code, Some("ENROLL"));
        assert_eq!(
            options.settings.get("FACEIO_APP_ID"),
            Some("local-faceio-app")
        );
        assert!(is_loopback(&options.url));
        let amani =
            SendOptions::from_args(&send_args(&["amani", "--amani-mode", "token"])).unwrap();
        assert_eq!(amani.settings.get("AMANI_AUTH_MODE"), Some("token"));
        assert_eq!(amani.event_code, Some("profile_create"));
        let given = SendOptions::from_args(&send_args(&["faceio", "--app-id", "mine"])).unwrap();
        assert_eq!(given.settings.get("FACEIO_APP_ID"), Some("mine"));
    }

    #[test]
    fn arguments_clap_cannot_check_are_usage_errors() {
        for args in [
            &["faceio", "--event", "PinOk"][..],
            &["faceio", "--amani-mode", "token"],
            &["alocity", "--app-id", "x"],
            &["faceio", "--url", "ftp://example.com/"],
            &["faceio", "--url", "not a url"],
        ] {
            let error = SendOptions::from_args(&send_args(args)).unwrap_err();
            assert!(matches!(error, CliError::Usage(_)), "{args:?}: {error}");
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
