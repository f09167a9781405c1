//! JSON logs through `tracing`. Fields are ids, provider, event code, outcome and sizes; the
//! code never logs secrets, signatures or bodies, and a test checks the output for them.

pub use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The log filter: `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
fn filter() -> EnvFilter {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into());
    EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A JSON subscriber writing to `writer` (stdout in Lambda, a buffer in tests).
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout for the process. Call once, first thing in `main`.
pub fn init() {
    let subscriber = json_subscriber(std::io::stdout, filter());
    // Only fails when a subscriber is already installed, which is then the one to keep.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
