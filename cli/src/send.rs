//! `webhooks send`: build or read a body, sign it as the provider does, POST it, report.

use std::io::Read as _;
use std::time::{Duration, Instant};

use pyjson::python_dumps;
use serde_json::{Value, json};
use webhook_core::Secret;
use webhook_core::store::query::error_chain;
use webhook_core::verify::{alocity, amani};

use crate::args::{AmaniMode, ProviderName, SendArgs};
use crate::aws::{self, Target};
use crate::error::CliError;
use crate::output::{self, Table};
use crate::samples::{self, Fresh, Sample};

/// The port `make dev` runs `cargo lambda watch` on.
const LOCAL_FUNCTIONS: &str = "http://127.0.0.1:9000";
/// FACEIO application id of the local stack.
const DEFAULT_APP_ID: &str = "local-faceio-app";
/// Amani token-mode header of the local stack.
const DEFAULT_TOKEN_HEADER: &str = "Webhook-Token";

/// How a request is authenticated, with everything needed to do it.
#[derive(Debug, Clone)]
pub enum Signer {
    /// `Alocity-Signature: t:<now>,sig:<base64 HMAC(secret, "t.body")>`.
    Alocity(Secret),
    /// `WWW-Authenticate: Bearer <token>`.
    Faceio(Secret),
    /// `Webhook-Signature: base64 HMAC(secret, json.dumps bytes)`.
    AmaniSignature(Secret),
    /// The token itself in a header.
    AmaniToken {
        /// The token.
        secret: Secret,
        /// The header name.
        header: String,
    },
}

/// Text that makes a signature or token wrong while keeping its form.
const TAMPER: &[u8] = b"#tampered";

impl Signer {
    /// The authentication header for `body` at `now` (unix seconds). With `tamper`, the header
    /// is well formed but wrong: the MAC of another body, or another token.
    pub fn header(&self, body: &[u8], now: i64, tamper: bool) -> (String, String) {
        let altered = |message: &[u8]| {
            let mut message = message.to_vec();
            if tamper {
                message.extend_from_slice(TAMPER);
            }
            message
        };
        let token =
            |secret: &Secret| String::from_utf8_lossy(&altered(secret.expose())).into_owned();
        match self {
            Self::Alocity(secret) => (
                "Alocity-Signature".to_owned(),
                alocity::sign(secret, now, &altered(body)),
            ),
            Self::Faceio(secret) => (
                "WWW-Authenticate".to_owned(),
                format!("Bearer {}", token(secret)),
            ),
            Self::AmaniSignature(secret) => {
                // Amani signs `json.dumps(payload)`; a body that is not JSON is signed as is.
                let message = python_dumps(body).unwrap_or_else(|_| body.to_vec());
                (
                    "Webhook-Signature".to_owned(),
                    amani::sign(secret, &altered(&message)),
                )
            }
            Self::AmaniToken { secret, header } => (header.clone(), token(secret)),
        }
    }
}

/// The provider-specific options, checked against the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// The function URL.
    pub url: reqwest::Url,
    /// Amani's mode (signature for other providers: ignored).
    pub amani_mode: AmaniMode,
    /// Amani token header.
    pub token_header: String,
    /// FACEIO application id for generated bodies.
    pub app_id: String,
    /// The event code to generate, or `None` with `--body`.
    pub event_code: Option<&'static str>,
}

impl SendOptions {
    /// Checks the arguments that clap cannot: options for another provider, the event code,
    /// the URL, the header name.
    ///
    /// # Errors
    /// A usage error naming the problem.
    pub fn from_args(args: &SendArgs) -> Result<Self, CliError> {
        let provider = args.provider;
        if provider != ProviderName::Amani
            && (args.amani_mode.is_some() || args.token_header.is_some())
        {
            return Err(CliError::usage(format!(
                "--amani-mode and --token-header apply to amani, not {}",
                provider.name()
            )));
        }
        if provider != ProviderName::Faceio && args.app_id.is_some() {
            return Err(CliError::usage(format!(
                "--app-id applies to faceio, not {}",
                provider.name()
            )));
        }
        let amani_mode = args.amani_mode.unwrap_or(AmaniMode::Signature);
        if amani_mode == AmaniMode::Signature && args.token_header.is_some() {
            return Err(CliError::usage("--token-header needs --amani-mode token"));
        }
        let token_header = args
            .token_header
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN_HEADER.to_owned());
        if http::HeaderName::from_bytes(token_header.as_bytes()).is_err() {
            return Err(CliError::usage(format!(
                "--token-header {token_header:?} is not an HTTP header name"
            )));
        }
        let event_code = match (&args.event, &args.body) {
            (_, Some(_)) => None,
            (Some(code), None) => Some(samples::find_code(provider, code).ok_or_else(|| {
                CliError::usage(format!(
                    "{code:?} is not a documented {} event code; use one of: {}",
                    provider.name(),
                    samples::event_codes(provider).join(", ")
                ))
            })?),
            (None, None) => samples::event_codes(provider).first().copied(),
        };
        let url_text = args
            .url
            .clone()
            .unwrap_or_else(|| format!("{LOCAL_FUNCTIONS}/lambda-url/{}/", provider.binary()));
        let url = reqwest::Url::parse(&url_text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| CliError::usage(format!("--url {url_text:?} is not an http(s) URL")))?;
        Ok(Self {
            url,
            amani_mode,
            token_header,
            app_id: args
                .app_id
                .clone()
                .unwrap_or_else(|| DEFAULT_APP_ID.to_owned()),
            event_code,
        })
    }
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

    /// True when the answer is what this send expects: 200, or 401 for a tampered request.
    pub fn as_expected(&self, tamper: bool) -> bool {
        self.status == Some(if tamper { 401 } else { 200 })
    }

    fn to_json(&self, provider: ProviderName, url: &reqwest::Url, tamper: bool) -> Value {
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
    let secret = if let Some(secret) = &args.secret {
        Secret::new(secret.clone())
    } else {
        let secret_id = args
            .secret_id
            .clone()
            .unwrap_or_else(|| args.provider.default_secret_id());
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
    let signer = match (args.provider, options.amani_mode) {
        (ProviderName::AlocitySelfie | ProviderName::Alocity, _) => Signer::Alocity(secret),
        (ProviderName::Faceio, _) => Signer::Faceio(secret),
        (ProviderName::Amani, AmaniMode::Signature) => Signer::AmaniSignature(secret),
        (ProviderName::Amani, AmaniMode::Token) => Signer::AmaniToken {
            secret,
            header: options.token_header.clone(),
        },
    };
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
        let now = crate::timespec::now_ms() / 1000;
        let (body, event_code, subject) = match (&file_body, options.event_code) {
            (Some(body), _) => (body.clone(), None, None),
            (None, Some(code)) => {
                let Sample {
                    body,
                    event_code,
                    subject,
                } = samples::sample(args.provider, code, &Fresh::new(now, &options.app_id));
                (body, Some(event_code), Some(subject))
            }
            (None, None) => return Err(CliError::usage("--event or --body is needed")),
        };
        for copy in 1..=copies {
            let now = crate::timespec::now_ms() / 1000;
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
        let expected = if args.tamper { "401" } else { "200" };
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
    (name, value): (String, String),
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
    use clap::Parser as _;
    use webhook_core::VersionedSecret;
    use webhook_core::secret::SecretVersion;
    use webhook_core::verify::bearer;

    use super::*;
    use crate::args::{Cli, Command};

    fn send_args(args: &[&str]) -> SendArgs {
        let cli = Cli::try_parse_from(["webhooks", "send"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Send(send) => send,
            other => panic!("{other:?}"),
        }
    }

    fn headers(name: &str, value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        headers
    }

    const NOW: i64 = 1_795_511_521;

    #[test]
    fn signatures_verify_with_the_functions_own_schemes() {
        let secrets = [VersionedSecret::current("s3cret")];
        let body = br#"{"event": "profile_create", "profile": {"id": "p"}}"#;

        let (name, value) = Signer::Alocity(Secret::new("s3cret")).header(body, NOW, false);
        let verified = alocity::AlocitySignature::default()
            .verify(&secrets, body, &headers(&name, &value), NOW)
            .unwrap();
        assert_eq!(verified.version, SecretVersion::Current);
        assert!(value.starts_with(&format!("t:{NOW},sig:")));

        let (name, value) = Signer::Faceio(Secret::new("s3cret")).header(body, NOW, false);
        assert_eq!(
            (name.as_str(), value.as_str()),
            ("WWW-Authenticate", "Bearer s3cret")
        );
        assert!(bearer::verify(&secrets, &headers(&name, &value)).is_ok());

        let (name, value) = Signer::AmaniSignature(Secret::new("s3cret")).header(body, NOW, false);
        assert!(amani::verify_signature(&secrets, body, &headers(&name, &value)).is_ok());

        let token = Signer::AmaniToken {
            secret: Secret::new("s3cret"),
            header: "X-Amani-Token".into(),
        };
        let (name, value) = token.header(body, NOW, false);
        assert!(amani::verify_token(&secrets, &headers(&name, &value), "x-amani-token").is_ok());
    }

    #[test]
    fn amani_signs_the_json_dumps_form_of_a_compact_file_body() {
        let secrets = [VersionedSecret::current("s3cret")];
        let compact = br#"{"event":"profile_create","profile":{"id":"p"}}"#;
        let (name, value) =
            Signer::AmaniSignature(Secret::new("s3cret")).header(compact, NOW, false);
        assert_eq!(
            value,
            amani::sign(&Secret::new("s3cret"), &python_dumps(compact).unwrap())
        );
        assert!(amani::verify_signature(&secrets, compact, &headers(&name, &value)).is_ok());
    }

    #[test]
    fn tampered_headers_are_well_formed_and_wrong() {
        let secrets = [VersionedSecret::current("s3cret")];
        let body = br#"{"Id":"e"}"#;
        let (name, value) = Signer::Alocity(Secret::new("s3cret")).header(body, NOW, true);
        assert_eq!(
            alocity::AlocitySignature::default().verify(
                &secrets,
                body,
                &headers(&name, &value),
                NOW
            ),
            Err(webhook_core::VerifyError::SignatureMismatch)
        );
        let (name, value) = Signer::Faceio(Secret::new("s3cret")).header(body, NOW, true);
        assert_eq!(
            bearer::verify(&secrets, &headers(&name, &value)),
            Err(webhook_core::VerifyError::TokenMismatch)
        );
        let (name, value) = Signer::AmaniSignature(Secret::new("s3cret")).header(body, NOW, true);
        assert_eq!(
            amani::verify_signature(&secrets, body, &headers(&name, &value)),
            Err(webhook_core::VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn options_default_to_the_local_stack() {
        let options = SendOptions::from_args(&send_args(&["faceio"])).unwrap();
        assert_eq!(
            options.url.as_str(),
            "http://127.0.0.1:9000/lambda-url/faceio-webhook/"
        );
        assert_eq!(options.event_code, Some("ENROLL"));
        assert_eq!(options.app_id, "local-faceio-app");
        assert!(is_loopback(&options.url));
        let amani =
            SendOptions::from_args(&send_args(&["amani", "--amani-mode", "token"])).unwrap();
        assert_eq!(amani.token_header, "Webhook-Token");
        assert_eq!(amani.event_code, Some("profile_create"));
    }

    #[test]
    fn arguments_clap_cannot_check_are_usage_errors() {
        for args in [
            &["faceio", "--event", "PinOk"][..],
            &["faceio", "--amani-mode", "token"],
            &["alocity", "--app-id", "x"],
            &["amani", "--token-header", "X-T"],
            &[
                "amani",
                "--amani-mode",
                "token",
                "--token-header",
                "bad header",
            ],
            &["faceio", "--url", "ftp://example.com/"],
            &["faceio", "--url", "not a url"],
        ] {
            let error = SendOptions::from_args(&send_args(args)).unwrap_err();
            assert!(matches!(error, CliError::Usage(_)), "{args:?}: {error}");
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
    }
}
