//! The command line: every command, argument and its help text.
//!
//! The doc comments below are the `--help` text people read in a terminal, so they are written
//! as plain text rather than rustdoc Markdown.
#![allow(clippy::doc_markdown)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{ArgMatches, Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use webhook_core::http::FrontDoor;
use webhook_core::store::query::TimeWindow;

use crate::error::CliError;
use crate::registry::{self, PROVIDERS, ProviderArg};
use crate::timespec;

/// Send signed sample webhooks, and inspect and audit the events the receivers stored.
///
/// Against the local stack (`make dev`) no configuration is needed: with neither
/// `AWS_ENDPOINT_URL` nor a table given (`--table`, `--stack`, `EVENTS_TABLE`), the commands
/// use moto on http://127.0.0.1:4566 with dummy credentials and table `webhook-events`.
/// Otherwise the normal AWS configuration applies (credential chain, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`).
///
/// Exit status: 0 success, 1 failure (including a failed request, or an audit finding),
/// 2 usage error.
#[derive(Debug, Parser)]
#[command(
    name = "webhooks",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print one JSON object per line on stdout instead of a table (no progress bar).
    #[arg(long, global = true)]
    pub json: bool,

    /// AWS endpoint for DynamoDB, Secrets Manager and CloudFormation [default: AWS_ENDPOINT_URL,
    /// else AWS; http://127.0.0.1:4566 for the local stack].
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a realistic, correctly signed event to a webhook function and print the answer.
    Send(SendArgs),
    /// Inspect stored events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Tamper audit: re-check stored HMAC-signed events against their stored signature.
    ///
    /// Every stored Alocity Selfie, Alocity and Amani (signature mode) event keeps the signature
    /// header it arrived with. Its body is checked again with the provider's current and
    /// previous secret (Secrets Manager AWSCURRENT / AWSPREVIOUS); no replay window applies.
    /// Events whose body no longer matches are listed, and the exit status is then 1.
    /// Without --since/--from the whole table is scanned.
    Reverify(ReverifyArgs),
    /// Deliveries refused because no current secret matched them (signature_mismatch,
    /// token_mismatch, wrong_app), held in the payload bucket under quarantine/ for a while
    /// (QuarantineDays, 14 by default): list them, or verify them again and store the authentic
    /// ones once the right secret is in place.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// List the providers the tools know (the registry): name, function binary, secret,
    /// settings and documented event codes. `make dev`, the end-to-end suite and the benchmarks
    /// read `webhooks providers --json`.
    Providers,
    /// List the CloudWatch metrics the functions, the drain and `quarantine promote` emit (EMF,
    /// namespace METRICS_NAMESPACE): name, unit, dimension sets, who emits it and what it means.
    /// The template tests check every alarm and dashboard widget against `webhooks metrics --json`.
    Metrics,
    /// List each provider's endpoints (the webhooks one function serves, /webhooks/<provider>
    /// being `default`): name, URL and secret. From the stack's outputs (<Provider>Endpoints,
    /// <Provider>WebhookUrl) with --stack, else the local stack's (`make dev`).
    Endpoints(EndpointsArgs),
    /// Print a shell completion script on stdout.
    ///
    /// bash: `webhooks completions bash > ~/.local/share/bash-completion/completions/webhooks`;
    /// zsh: `webhooks completions zsh > ~/.zfunc/_webhooks` (with ~/.zfunc in fpath);
    /// fish: `webhooks completions fish > ~/.config/fish/completions/webhooks.fish`.
    Completions(CompletionsArgs),
}

/// `webhooks endpoints`.
#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// Only this provider's [default: all].
    #[arg(long, value_parser = registry::parser())]
    pub provider: Option<ProviderArg>,

    /// The SAM/CloudFormation stack whose endpoints to list.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// An endpoint name (`default`, or 1-32 of a-z, 0-9, `-`).
fn endpoint_name(text: &str) -> Result<String, String> {
    if text != webhook_core::endpoint::DEFAULT {
        webhook_core::endpoint::check_name(text)?;
    }
    Ok(text.to_owned())
}

/// `webhooks completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the events table is.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// DynamoDB table [default: EVENTS_TABLE, else `webhook-events`].
    #[arg(long, value_name = "NAME", conflicts_with = "stack")]
    pub table: Option<String>,

    /// Take the table (output EventsTableName) and, for the commands that read secrets, each
    /// provider's secret ARN (output <Provider>SecretArn) from this SAM/CloudFormation stack.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// A time window: `--since` or `--from`/`--to`.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// Events received in this last stretch of time: 90s, 15m, 1h, 2h30m, 7d, 2w.
    #[arg(long, value_name = "DURATION", value_parser = timespec::parse_duration,
          conflicts_with_all = ["from", "to"])]
    pub since: Option<std::time::Duration>,

    /// Events received at or after this time: 2026-11-24T09:00:00Z, 2026-11-24T09:00
    /// (UTC), 2026-11-24 (start of the day, UTC), or unix seconds.
    #[arg(long, value_name = "TIME", value_parser = timespec::parse_from)]
    pub from: Option<i64>,

    /// Events received at or before this time (same forms; a bare date means the end of that
    /// day) [default: now].
    #[arg(long, value_name = "TIME", value_parser = timespec::parse_to, requires = "from")]
    pub to: Option<i64>,
}

impl WindowArgs {
    /// True when no window option was given.
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.from.is_none() && self.to.is_none()
    }

    /// The window these options describe at `now_ms`; `default` back from now without any.
    ///
    /// # Errors
    /// A usage error for an empty or overlong window.
    pub fn window(&self, default: Duration, now_ms: i64) -> Result<TimeWindow, CliError> {
        timespec::window(self.since, self.from, self.to, default, now_ms)
    }
}

/// `webhooks send`.
///
/// Each provider's own settings (`--app-id`, …) are options of this command too; they are
/// declared by the provider's catalogue and added by [`command`].
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each one is a command-line flag
pub struct SendArgs {
    /// The provider to impersonate.
    #[arg(value_parser = registry::parser())]
    pub provider: ProviderArg,

    /// Event code to build a fresh sample body for (see the list below) [default: the
    /// provider's first].
    #[arg(long, value_name = "CODE", conflicts_with = "body")]
    pub event: Option<String>,

    /// Send this file's bytes as the body, exactly (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,

    /// The provider's endpoint to send to: its URL (the default one's + /<endpoint>), its secret
    /// (<stack>/webhooks/<provider>/<endpoint>, locally webhooks/<provider>/<endpoint>) and, on
    /// the local stack, its settings.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = endpoint_name)]
    pub endpoint: String,

    /// Function URL, used as it is [default: --stack's output <Provider>WebhookUrl (+
    /// /<endpoint>), else http://127.0.0.1:9000/lambda-url/<function binary>/ (+
    /// webhooks/<provider>/<endpoint>)]. Plain http:// is refused unless it points at this machine
    /// or --insecure is given.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Send over plain http:// to another machine (the secret or signature travels in the
    /// clear).
    #[arg(long)]
    pub insecure: bool,

    /// Take the URL (output <Provider>WebhookUrl) and the secret's ARN (output
    /// <Provider>SecretArn) from this SAM/CloudFormation stack.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,

    /// Read the provider secret (HMAC key or token) from stdin: one line, its line break
    /// dropped. Without it: the Secrets Manager secret --secret-id when given, else
    /// WEBHOOKS_SECRET when set, else the Secrets Manager secret of --stack or the default one.
    /// A secret is never taken from the command line.
    #[arg(long, conflicts_with = "secret_id")]
    pub secret: bool,

    /// Secrets Manager secret to read the secret from (AWSCURRENT) [default: --stack's output
    /// <Provider>SecretArn, else webhooks/<provider>].
    #[arg(long, value_name = "ID")]
    pub secret_id: Option<String>,

    /// Number of events to send; each generated event gets fresh ids.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,

    /// Send every event twice (the second answer should be `duplicate`).
    #[arg(long)]
    pub duplicate: bool,

    /// Send a deliberately broken signature or token (the answer should be 401): signed with a
    /// random secret, so the real one is not read, used or sent.
    #[arg(long)]
    pub tamper: bool,

    /// Write the signed delivery, as the Lambda event its front door would hand the function,
    /// to this file (`-`: stdout) instead of sending it: for `sam local invoke -e FILE` and
    /// `cargo lambda invoke --data-file FILE`. Sign it just before use: Alocity's signatures go
    /// stale after the timestamp tolerance.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "insecure", "duplicate"])]
    pub emit_event: Option<PathBuf>,

    /// The front door --emit-event writes the event of.
    #[arg(long, value_name = "DOOR", default_value = "http-api-v2", requires = "emit_event",
          value_parser = front_door_parser())]
    pub front_door: FrontDoor,

    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// The provider settings given on the command line (`--app-id X`), filled in by [`parse`].
    #[arg(skip)]
    pub settings: Vec<SettingArg>,
}

/// The names of [`FrontDoor::ALL`].
fn front_door_parser() -> impl clap::builder::TypedValueParser<Value = FrontDoor> {
    PossibleValuesParser::new(FrontDoor::ALL.map(FrontDoor::name))
        .try_map(|name| FrontDoor::find(&name).ok_or("not a front door"))
}

/// One provider setting given to `webhooks send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingArg {
    /// The option, without `--`.
    pub flag: &'static str,
    /// The function's environment variable it stands for.
    pub env: &'static str,
    /// The value given.
    pub value: String,
}

/// The settings of `provider`'s `endpoint` as the tools use them: the local stack's values
/// ([`Catalog::dev_settings`]), overridden by those given on the command line that are the
/// provider's own (`send` refuses another provider's before; `quarantine promote` takes each
/// provider's from one command line).
pub fn endpoint_settings(
    provider: ProviderArg,
    endpoint: &str,
    given: &[SettingArg],
) -> webhook_core::config::Env {
    let catalog = provider.catalog();
    let mut env = catalog.dev_settings(endpoint);
    for given in given.iter().filter(|setting| {
        catalog
            .settings()
            .iter()
            .any(|own| own.flag == setting.flag)
    }) {
        env.set(given.env, &given.value);
    }
    env
}

/// Every provider's settings, each option once (two providers may share one).
fn setting_options() -> Vec<&'static webhook_core::Setting> {
    let mut options: Vec<&'static webhook_core::Setting> = Vec::new();
    for setting in PROVIDERS.iter().flat_map(|catalog| catalog.settings()) {
        if !options.iter().any(|known| known.flag == setting.flag) {
            options.push(setting);
        }
    }
    options
}

/// `webhooks send --help`'s closing text: each provider's event codes and signing.
fn send_after_help() -> String {
    let width = PROVIDERS.iter().map(|c| c.name().len()).max().unwrap_or(0) + 2;
    let mut text = String::from("Event codes:\n");
    for catalog in PROVIDERS {
        let mut line = format!("  {:width$}", catalog.name());
        for code in catalog.event_codes() {
            if line.len() + code.len() + 1 > 96 {
                text.push_str(line.trim_end());
                text.push('\n');
                line = " ".repeat(width + 2);
            }
            line.push_str(code);
            line.push(' ');
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str("\nSigning:\n");
    for catalog in PROVIDERS {
        let _ = writeln!(text, "  {:width$}{}", catalog.name(), catalog.signing());
    }
    text.push_str(
        "\nThe secret: `--secret < FILE` reads it from stdin, `--secret-id ID` from Secrets Manager;\n\
         else WEBHOOKS_SECRET; else Secrets Manager (the --stack output, or webhooks/<provider>).\n",
    );
    text.push_str("\nExit status: 0 when every answer is 200 or 202 (401 with --tamper), else 1.");
    text
}

/// The whole command line: the derived commands, plus each provider's settings as options of
/// `send` and the generated help.
pub fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("send", |send| {
            with_settings(send.after_help(send_after_help()))
        })
        .mut_subcommand("quarantine", |quarantine| {
            quarantine.mut_subcommand("promote", with_settings)
        })
}

/// `command` with every provider setting as an option.
fn with_settings(command: clap::Command) -> clap::Command {
    setting_options()
        .into_iter()
        .fold(command, |command, setting| {
            command.arg(
                clap::Arg::new(setting.flag)
                    .long(setting.flag)
                    .value_name("VALUE")
                    .help(setting.help),
            )
        })
}

/// Parses a command line (the program name first).
///
/// # Errors
/// A clap error: usage (exit status 2), or `--help` / `--version` (exit status 0).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    match (&mut cli.command, matches.subcommand()) {
        (Command::Send(send), Some(("send", given))) => send.settings = given_settings(given),
        (Command::Quarantine(QuarantineCommand::Promote(promote)), Some(("quarantine", given))) => {
            if let Some(("promote", given)) = given.subcommand() {
                promote.settings = given_settings(given);
            }
        }
        _ => {}
    }
    Ok(cli)
}

fn given_settings(matches: &ArgMatches) -> Vec<SettingArg> {
    setting_options()
        .into_iter()
        .filter_map(|setting| {
            matches
                .get_one::<String>(setting.flag)
                .map(|value| SettingArg {
                    flag: setting.flag,
                    env: setting.env,
                    value: value.clone(),
                })
        })
        .collect()
}

/// `webhooks quarantine …`.
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// What is held: provider, reason, receive time, size; oldest first.
    List(QuarantineListArgs),
    /// Verify each held delivery again with the provider's current and previous secret (an
    /// Alocity timestamp against the time it arrived) and store the authentic ones as events,
    /// idempotently, marked `promoted_at`; a stored one leaves the quarantine, the others stay
    /// until they expire. Exit status 0 even when some stay: they are what was forged.
    Promote(PromoteArgs),
}

/// Where the quarantine is.
#[derive(Debug, Clone, Args)]
pub struct BucketArgs {
    /// The payload bucket [default: --stack's output PayloadBucketName, else PAYLOAD_BUCKET,
    /// else `webhook-payloads`].
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
}

/// `webhooks quarantine list`.
#[derive(Debug, Args)]
pub struct QuarantineListArgs {
    /// Only this provider's [default: all].
    #[arg(long, value_parser = registry::parser())]
    pub provider: Option<ProviderArg>,

    /// Only what came to this endpoint [default: all].
    #[arg(long, value_name = "NAME", value_parser = endpoint_name)]
    pub endpoint: Option<String>,

    /// The bucket.
    #[command(flatten)]
    pub bucket: BucketArgs,

    /// The stack whose bucket it is (SAM/CloudFormation output PayloadBucketName).
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// `webhooks quarantine promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Only this provider's [default: all].
    #[arg(long, value_parser = registry::parser())]
    pub provider: Option<ProviderArg>,

    /// Only what came to this endpoint [default: all, each verified with its endpoint's secret].
    #[arg(long, value_name = "NAME", value_parser = endpoint_name)]
    pub endpoint: Option<String>,

    /// Verify and report, store nothing, leave everything held.
    #[arg(long)]
    pub dry_run: bool,

    /// Read the secrets from this Secrets Manager secret (needs --provider; it then verifies
    /// what came to every endpoint, or to --endpoint's) [default: --stack's output
    /// <Provider>SecretArn, or <stack>/webhooks/<provider>/<endpoint>; else
    /// webhooks/<provider>[/<endpoint>]].
    #[arg(long, value_name = "ID", requires = "provider")]
    pub secret_id: Option<String>,

    /// Publish the promotion's metrics (Promoted, Stored, Duplicate, Conflict, StoreLatencyMs
    /// with source=promote; PutMetricData) to this CloudWatch namespace [default:
    /// METRICS_NAMESPACE, else --stack's MetricsNamespace output, else Webhooks].
    #[arg(long, value_name = "NAMESPACE")]
    pub metrics_namespace: Option<String>,

    /// Publish no metrics.
    #[arg(long, conflicts_with = "metrics_namespace")]
    pub no_metrics: bool,

    /// The bucket.
    #[command(flatten)]
    pub bucket: BucketArgs,

    /// The table (with --stack, the bucket too).
    #[command(flatten)]
    pub table: TableArgs,

    /// The provider settings given on the command line (`--app-id X`), filled in by [`parse`].
    #[arg(skip)]
    pub settings: Vec<SettingArg>,
}

/// `webhooks events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List a provider's events by time, newest first (index by-provider-time).
    List(ListArgs),
    /// List the events about one subject (a device, user, facial id, profile), newest first
    /// (index by-subject).
    Subject(SubjectArgs),
    /// Show one stored event, raw body included.
    Get(GetArgs),
}

/// `webhooks events list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The provider.
    #[arg(long, value_parser = registry::parser())]
    pub provider: ProviderArg,

    /// The provider's endpoint.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = endpoint_name)]
    pub endpoint: String,

    /// Receive-time window [default: --since 24h].
    #[command(flatten)]
    pub window: WindowArgs,

    /// Only events with this event code.
    #[arg(long, value_name = "CODE")]
    pub event: Option<String>,

    /// Show at most this many events.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub limit: u32,

    /// The table.
    #[command(flatten)]
    pub table: TableArgs,
}

/// `webhooks events subject`.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The provider.
    #[arg(value_parser = registry::parser())]
    pub provider: ProviderArg,

    /// The subject: device serial number, user id, facial id or profile id.
    pub subject: String,

    /// The provider's endpoint.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = endpoint_name)]
    pub endpoint: String,

    /// Show at most this many events.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub limit: u32,

    /// The table.
    #[command(flatten)]
    pub table: TableArgs,
}

/// `webhooks events get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The provider.
    #[arg(value_parser = registry::parser())]
    pub provider: ProviderArg,

    /// The idempotency key (the `key` a function answered; table key `<provider>#<key>`, or
    /// `<provider>/<endpoint>#<key>` for an endpoint other than default).
    pub key: String,

    /// The provider's endpoint the event came to.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = endpoint_name)]
    pub endpoint: String,

    /// Also show the conflict records kept for this key (scans the table).
    #[arg(long)]
    pub conflicts: bool,

    /// The table.
    #[command(flatten)]
    pub table: TableArgs,
}

/// `webhooks reverify`.
#[derive(Debug, Args)]
pub struct ReverifyArgs {
    /// Only this provider's events (one whose deliveries keep a signature) [default: all of
    /// those].
    #[arg(long, value_parser = registry::parser())]
    pub provider: Option<ProviderArg>,

    /// Only events that came to this endpoint [default: all; with a window, those of the stack's
    /// <Provider>Endpoints output, or of the local stack].
    #[arg(long, value_name = "NAME", value_parser = endpoint_name)]
    pub endpoint: Option<String>,

    /// Receive-time window [default: every stored event].
    #[command(flatten)]
    pub window: WindowArgs,

    /// Read the secrets from this Secrets Manager secret (needs --provider; it then checks every
    /// endpoint's events, or --endpoint's) [default: --stack's output <Provider>SecretArn, or
    /// <stack>/webhooks/<provider>/<endpoint>; else webhooks/<provider>[/<endpoint>]].
    #[arg(long, value_name = "ID", requires = "provider")]
    pub secret_id: Option<String>,

    /// List every checked event, not only those that no longer match.
    #[arg(long)]
    pub all: bool,

    /// The table.
    #[command(flatten)]
    pub table: TableArgs,
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        super::parse(std::iter::once("webhooks").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn provider_settings_are_options_of_send() {
        let cli = parse(&["send", "faceio", "--app-id", "my-app"]).unwrap();
        let Command::Send(send) = cli.command else {
            panic!("not send")
        };
        assert_eq!(
            send.settings,
            [SettingArg {
                flag: "app-id",
                env: "FACEIO_APP_ID",
                value: "my-app".into()
            }]
        );
        let help = command()
            .find_subcommand_mut("send")
            .unwrap()
            .render_long_help()
            .to_string();
        for catalog in PROVIDERS {
            assert!(help.contains(catalog.event_codes()[0]), "{help}");
            for setting in catalog.settings() {
                assert!(help.contains(&format!("--{}", setting.flag)), "{help}");
            }
        }
    }

    #[test]
    fn send_takes_a_provider_and_options() {
        let cli = parse(&[
            "send",
            "faceio",
            "--event",
            "ENROLL",
            "--count",
            "3",
            "--duplicate",
            "--json",
        ])
        .unwrap();
        assert!(cli.global.json);
        let Command::Send(send) = cli.command else {
            panic!("not send")
        };
        assert_eq!(send.provider.name(), "faceio");
        assert_eq!(send.event.as_deref(), Some("ENROLL"));
        assert_eq!(send.count, 3);
        assert!(send.duplicate && !send.tamper);
        assert_eq!(send.timeout, 30);
    }

    #[test]
    fn usage_errors_are_clap_errors_with_exit_status_2() {
        for args in [
            &["send"][..],
            &["send", "stripe"],
            &["send", "faceio", "--event", "ENROLL", "--body", "f.json"],
            &["send", "faceio", "--count", "0"],
            &["send", "faceio", "--secret", "s"],
            &["send", "faceio", "--secret=s"],
            &["send", "faceio", "--secret", "--secret-id", "x"],
            &["completions"],
            &["completions", "tcsh"],
            &["events", "list"],
            &[
                "events",
                "list",
                "--provider",
                "faceio",
                "--since",
                "1h",
                "--from",
                "2026-01-01",
            ],
            &[
                "events",
                "list",
                "--provider",
                "faceio",
                "--to",
                "2026-01-01",
            ],
            &["events", "list", "--provider", "faceio", "--since", "soon"],
            &["events", "list", "--provider", "faceio", "--limit", "0"],
            &[
                "events",
                "list",
                "--provider",
                "faceio",
                "--table",
                "t",
                "--stack",
                "s",
            ],
            &["events", "get", "faceio"],
            &["reverify", "--secret-id", "x"],
            &["nonsense"],
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
        }
    }

    #[test]
    fn help_is_not_an_error_exit() {
        for args in [
            &["--help"][..],
            &["send", "--help"],
            &["events", "list", "--help"],
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert_eq!(error.exit_code(), 0);
        }
    }

    #[test]
    fn windows_parse_since_or_from_to() {
        let cli = parse(&["events", "list", "--provider", "amani", "--since", "2h30m"]).unwrap();
        let Command::Events(EventsCommand::List(list)) = cli.command else {
            panic!("not list")
        };
        assert_eq!(
            list.window.since,
            Some(std::time::Duration::from_secs(9000))
        );
        assert_eq!(list.limit, 100);

        let cli = parse(&[
            "events",
            "list",
            "--provider",
            "amani",
            "--from",
            "2026-11-24",
            "--to",
            "2026-11-24",
        ])
        .unwrap();
        let Command::Events(EventsCommand::List(list)) = cli.command else {
            panic!("not list")
        };
        assert_eq!(list.window.from, Some(1_795_478_400_000));
        assert_eq!(list.window.to, Some(1_795_564_799_999));
    }
}
