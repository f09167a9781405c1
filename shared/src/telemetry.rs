//! JSON logs through `tracing`. Fields are ids, provider, event code, outcome and sizes; the
//! code never logs secrets, signatures or bodies, and tests check the output for them (the
//! pipeline's logs, and the real binary's at `RUST_LOG=trace` under a Runtime API).
//!
//! Whatever the level asked for, the Lambda runtime's own crates log at `info` at most: at
//! `trace` they write every raw event (headers with tokens, whole bodies) and every response.
//! Their invocation span (`requestId`, `xrayTraceId`) is kept on every line, so the application's
//! logs join Lambda's own `START`/`REPORT` lines.

use tracing::level_filters::LevelFilter;
pub use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// Crates that log raw events or HTTP traffic below `info`, capped there whatever the filter
/// says (a target matches as a prefix: `lambda_runtime` covers `lambda_runtime_api_client`).
const CAPPED: &[&str] = &["lambda_runtime"];

/// Where the runtime opens its per-invocation span, enabled whatever the filter says.
const INVOCATION_SPAN: &str = "lambda_runtime::layers::trace=info";

/// The log filter: `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
fn filter() -> EnvFilter {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into());
    EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A JSON subscriber writing to `writer` (stdout in Lambda, a buffer in tests), with `filter`
/// and the caps above.
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = match INVOCATION_SPAN.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let cap = CAPPED.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, target| targets.with_target(*target, LevelFilter::INFO),
    );
    let format = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(filter)
        .with(cap)
        .with(format)
}

/// Installs the JSON subscriber on stdout for the process. Call once, first thing in `main`.
pub fn init() {
    let subscriber = json_subscriber(std::io::stdout, filter());
    // Only fails when a subscriber is already installed, which is then the one to keep.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::CapturedLogs;

    fn logged_at(level: &str, log: impl FnOnce()) -> String {
        let logs = CapturedLogs::default();
        let subscriber = json_subscriber(logs.clone(), EnvFilter::new(level));
        tracing::subscriber::with_default(subscriber, log);
        logs.text()
    }

    #[test]
    fn the_runtime_crates_never_log_below_info_whatever_the_filter() {
        for level in [
            "trace",
            "info,lambda_runtime=trace",
            "info,lambda_runtime::layers::api_client=trace,lambda_runtime_api_client=trace",
        ] {
            let text = logged_at(level, || {
                tracing::trace!(target: "lambda_runtime::layers::api_client", "raw event here");
                tracing::debug!(target: "lambda_runtime_api_client", "raw response here");
                tracing::info!(target: "lambda_runtime::runtime", "runtime info");
                tracing::trace!("our own trace");
            });
            assert!(!text.contains("raw event here"), "{level}: {text}");
            assert!(!text.contains("raw response here"), "{level}: {text}");
            assert!(text.contains("runtime info"), "{level}: {text}");
            assert_eq!(
                text.contains("our own trace"),
                level == "trace",
                "{level}: {text}"
            );
        }
    }

    #[test]
    fn the_invocation_span_is_on_every_line_even_at_warn() {
        let text = logged_at("warn", || {
            let span = tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "req-123");
            let _entered = span.enter();
            tracing::warn!("inside the invocation");
        });
        let line: serde_json::Value =
            serde_json::from_str(text.lines().next().unwrap_or_default()).unwrap_or_default();
        assert_eq!(line["span"]["requestId"], "req-123", "{text}");
        assert_eq!(line["message"], "inside the invocation", "{text}");
    }
}
