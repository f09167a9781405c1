//! Start-up for a provider function: config, AWS clients (built once per cold start and
//! warmed), then the Lambda runtime loop around the shared pipeline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use lambda_runtime::{Context, Error, LambdaEvent, service_fn};

use crate::budget::Budget;
use crate::clock::now_ms;
use crate::config::Endpoints;
use crate::config::{ConfigError, Env, Settings};
use crate::http::{HttpRequest, HttpResponse};
use crate::metrics::{self, Emf, Emitter, Measurements, Metric};
use crate::pipeline::Pipeline;
use crate::provider::Provider;
use crate::quarantine::{Limiter, S3Quarantine};
use crate::secrets::{CachedSecrets, SecretsManagerFetcher};
use crate::store::{BodyBucket, DynamoDbStore, FallbackQueue, WithFallback, bodies};
use crate::telemetry;

/// How long a cold start may spend opening connections and loading the secret before the first
/// request is served anyway: the first request then does what was not finished. FACEIO's 6 s
/// count from its request, cold start included.
pub const WARM_UP: Duration = Duration::from_millis(300);

/// Runs the function for the provider that `build` configures from the environment: once for
/// the endpoint `default`, and once for each other endpoint with that endpoint's settings
/// ([`Env::for_endpoint`]).
///
/// # Errors
/// A configuration error (the function stops at cold start with the message), or the Lambda
/// runtime's own failure.
pub async fn run<P, B>(build: B) -> Result<(), Error>
where
    P: Provider,
    B: Fn(&Env) -> Result<P, ConfigError>,
{
    // The function's whole state (clients, caches, the pipeline) lives in this future: on the
    // heap, not the stack.
    Box::pin(serve(build)).await
}

/// The endpoint `default`'s provider, then each other endpoint's name and provider.
type Configured<P> = (Settings, P, Vec<(String, P, String)>);

fn configure<P, B>(env: &Env, build: &B) -> Result<Configured<P>, ConfigError>
where
    P: Provider,
    B: Fn(&Env) -> Result<P, ConfigError>,
{
    let settings = Settings::from_env(env, P::NAME)?;
    let endpoints = Endpoints::from_env(env, P::NAME)?;
    let default = build(env)?;
    let mut others = Vec::with_capacity(endpoints.names.len());
    for name in &endpoints.names {
        let provider = build(&env.for_endpoint(name)?).map_err(|error| ConfigError {
            problem: format!("{} (for endpoint {name:?})", error.problem),
            ..error
        })?;
        others.push((name.clone(), provider, endpoints.secret_id(name)));
    }
    Ok((settings, default, others))
}

async fn serve<P, B>(build: B) -> Result<(), Error>
where
    P: Provider,
    B: Fn(&Env) -> Result<P, ConfigError>,
{
    telemetry::init();
    let env = Env::from_process();
    let (settings, provider, others) = match configure(&env, &build) {
        Ok(configured) => configured,
        Err(error) => {
            tracing::error!(provider = P::NAME, error = %error, "invalid configuration");
            return Err(error.into());
        }
    };

    let aws = Box::pin(aws_config()).await;
    let secrets_client = aws_sdk_secretsmanager::Client::new(&aws);
    let cached = |secret_id: &str| {
        CachedSecrets::new(
            SecretsManagerFetcher::new(secrets_client.clone(), secret_id)
                .with_previous_grace(settings.previous_secret_grace),
            settings.secret_cache_ttl,
            CachedSecrets::<SecretsManagerFetcher>::DEFAULT_MISS_INTERVAL,
        )
    };
    let secrets = cached(&settings.secret_id);
    let others: Vec<_> = others
        .into_iter()
        .map(|(name, provider, secret_id)| (name, provider, cached(&secret_id)))
        .collect();
    let (table, bucket) = event_store(&aws, &settings);
    let queue = settings
        .fallback_queue_url
        .as_ref()
        .map(|url| FallbackQueue::new(aws_sdk_sqs::Client::new(&aws), url, bucket.clone()));
    let quarantine = match (&settings.payload_bucket, settings.quarantine) {
        (Some(name), true) => Some(S3Quarantine::new(
            bodies::s3_client(&aws),
            name,
            Limiter::new(
                settings.quarantine_per_minute,
                settings.quarantine_bytes_per_minute,
            ),
        )),
        _ => None,
    };

    // Cold start: load the secrets and open both connections in parallel, for a short while.
    let all_secrets = std::iter::once(("default", &secrets)).chain(
        others
            .iter()
            .map(|(name, _, cached)| (name.as_str(), cached)),
    );
    let warm_secrets = futures_util::future::join_all(
        all_secrets.map(|(name, cached)| async move { (name, cached.warm().await) }),
    );
    if let Some((loaded, ())) = Budget::from_now(WARM_UP)
        .run(async { tokio::join!(warm_secrets, table.warm()) })
        .await
    {
        for (endpoint, result) in loaded {
            if let Err(error) = result {
                tracing::warn!(provider = P::NAME, endpoint, error = %error, "secret not loaded at start-up; will retry per request");
            }
        }
    } else {
        tracing::warn!(
            provider = P::NAME,
            "warm-up not done within {} ms; carrying on",
            WARM_UP.as_millis()
        );
    }

    let store = WithFallback::new(table, queue);
    let mut pipeline = Pipeline::new(provider, secrets, store, settings.max_body_bytes);
    for (name, provider, secrets) in others {
        pipeline = pipeline.with_endpoint(&name, provider, secrets);
    }
    let pipeline = pipeline.with_quarantine(quarantine);
    let pipeline = &pipeline;
    let emf = &Emf::from_env(Emitter::Receiver);
    let cold = &AtomicBool::new(true);
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<HttpRequest>| async move {
            let (mut request, context) = event.into_parts();
            let budget = Budget::for_request(context.deadline, now_ms());
            if request.request_context.request_id.is_none() {
                request.request_context.request_id = Some(context.request_id.clone());
            }
            let (response, measured) = metrics::measure(async {
                if cold.swap(false, Ordering::Relaxed) {
                    metrics::record(Metric::ColdStart, 1.0);
                }
                Box::pin(pipeline.handle_within(request, budget)).await
            })
            .await;
            publish(emf, P::NAME, &measured, &context);
            Ok::<HttpResponse, Error>(response)
        },
    )))
    .await
}

/// Writes the metric documents of one invocation for `provider` to stdout, with the
/// invocation's request and trace ids as properties (not dimensions).
pub fn publish(emf: &Emf, provider: &str, measured: &Measurements, context: &Context) {
    let mut properties = vec![("requestId", context.request_id.as_str())];
    if let Some(trace) = context.xray_trace_id.as_deref() {
        properties.push(("xrayTraceId", trace));
    }
    metrics::emit(&emf.documents(provider, measured, now_ms(), &properties));
}

/// The AWS configuration every function uses: `aws_config` honours `AWS_ENDPOINT_URL` (and the
/// per-service `AWS_ENDPOINT_URL_<SERVICE>`), so the same binary runs against the local stack.
/// Retries are many and quick; each request's own budget bounds them all.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(800)),
        )
        .timeout_config(timeouts(Duration::from_millis(1500)))
        .load()
        .await
}

/// The events table of `settings`, with its body bucket when there is one (also returned, for
/// the fallback queue's large bodies).
pub fn event_store(
    aws: &aws_config::SdkConfig,
    settings: &Settings,
) -> (DynamoDbStore, Option<BodyBucket>) {
    let mut store = DynamoDbStore::new(
        aws_sdk_dynamodb::Client::new(aws),
        &settings.events_table,
        settings.retention_days,
        settings.store_deadline,
    );
    let bucket = settings.payload_bucket.as_ref().map(|bucket| {
        // A body of megabytes may take longer than one small write: each attempt may use the
        // whole store deadline (which still bounds the put as a whole).
        let s3 = bodies::s3_client(
            &aws.to_builder()
                .timeout_config(timeouts(settings.store_deadline))
                .build(),
        );
        BodyBucket::new(s3, bucket, settings.payload_offload_bytes)
    });
    if let Some(bucket) = &bucket {
        store = store.with_body_bucket(bucket.clone());
    }
    (store, bucket)
}

/// Time-outs of the AWS clients: connecting is quick or failing, an attempt may take `attempt`.
fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(800))
        .operation_attempt_timeout(attempt)
        .build()
}
