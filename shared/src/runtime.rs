//! Start-up for a provider function: config, AWS clients (built once per cold start and
//! warmed), then the Lambda runtime loop around the shared pipeline.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

use crate::config::{ConfigError, Env, Settings};
use crate::http::{HttpRequest, HttpResponse};
use crate::pipeline::Pipeline;
use crate::provider::Provider;
use crate::secrets::{CachedSecrets, SecretsManagerFetcher};
use crate::store::{BodyBucket, DynamoDbStore, bodies};
use crate::telemetry;

/// Runs the function for the provider that `build` configures from the environment.
///
/// # Errors
/// A configuration error (the function stops at cold start with the message), or the Lambda
/// runtime's own failure.
pub async fn run<P, B>(build: B) -> Result<(), Error>
where
    P: Provider,
    B: FnOnce(&Env) -> Result<P, ConfigError>,
{
    telemetry::init();
    let env = Env::from_process();
    let (settings, provider) =
        match Settings::from_env(&env, P::NAME).and_then(|settings| Ok((settings, build(&env)?))) {
            Ok(configured) => configured,
            Err(error) => {
                tracing::error!(provider = P::NAME, error = %error, "invalid configuration");
                return Err(error.into());
            }
        };

    // `aws_config` honours AWS_ENDPOINT_URL, so the same binary runs against the local stack.
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(800)),
        )
        .timeout_config(timeouts(Duration::from_millis(1500)))
        .load()
        .await;
    let secrets = CachedSecrets::new(
        SecretsManagerFetcher::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            &settings.secret_id,
        ),
        settings.secret_cache_ttl,
        CachedSecrets::<SecretsManagerFetcher>::DEFAULT_MISS_INTERVAL,
    );
    let mut store = DynamoDbStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        &settings.events_table,
        settings.retention_days,
        settings.store_deadline,
    );
    if let Some(bucket) = &settings.payload_bucket {
        // A body of megabytes may take longer than one small write: each attempt may use the
        // whole store deadline (which still bounds the put as a whole).
        let s3 = bodies::s3_client(
            &aws.to_builder()
                .timeout_config(timeouts(settings.store_deadline))
                .build(),
        );
        store = store.with_body_bucket(BodyBucket::new(s3, bucket, settings.payload_offload_bytes));
    }

    // Cold start: load the secret and open both connections in parallel.
    let (secret_warm, ()) = tokio::join!(secrets.warm(), store.warm());
    if let Err(error) = secret_warm {
        tracing::warn!(provider = P::NAME, error = %error, "secret not loaded at start-up; will retry per request");
    }

    let pipeline = Pipeline::new(provider, secrets, store, settings.max_body_bytes);
    let pipeline = &pipeline;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<HttpRequest>| async move {
            let (mut request, context) = event.into_parts();
            if request.request_context.request_id.is_none() {
                request.request_context.request_id = Some(context.request_id);
            }
            Ok::<HttpResponse, Error>(pipeline.handle(request).await)
        },
    ))
    .await
}

/// Time-outs of the AWS clients: connecting is quick or failing, an attempt may take `attempt`.
fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(800))
        .operation_attempt_timeout(attempt)
        .build()
}
