//! `webhooks quarantine list | promote`: the deliveries the functions refused because no current
//! secret matched them, held in the payload bucket ([`webhook_core::quarantine`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::json;
use webhook_core::VersionedSecret;
use webhook_core::budget::Budget;
use webhook_core::metrics::{self, Measurements, Metric};
use webhook_core::pipeline::{Promote, PromoteError};
use webhook_core::quarantine::{self, Held};
use webhook_core::store::bodies::{DEFAULT_OFFLOAD_BYTES, s3_client};
use webhook_core::store::schema::iso_millis;
use webhook_core::store::{
    BodyBucket, DynamoDbStore, EventRecord, PutOutcome, StoreError, put_counted,
};

use crate::args::{BucketArgs, PromoteArgs, QuarantineListArgs};
use crate::aws::{self, Target};
use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::{self, ProviderArg};
use crate::stack::{BUCKET_OUTPUT, SecretIds, StackOutputs};

/// The bucket `make dev` creates.
pub const DEFAULT_BUCKET: &str = "webhook-payloads";

/// The AWS configuration and the bucket: `--bucket`, else the stack's, else `PAYLOAD_BUCKET`,
/// else the local stack's (and then the local endpoint).
async fn bucket(
    endpoint: Option<&str>,
    args: &BucketArgs,
    stack: Option<&str>,
) -> Result<(SdkConfig, String), CliError> {
    let env_bucket = std::env::var("PAYLOAD_BUCKET")
        .ok()
        .filter(|name| !name.trim().is_empty());
    let local_by_default = args.bucket.is_none() && stack.is_none() && env_bucket.is_none();
    let target = Target::choose(endpoint, aws::env_endpoint().as_deref(), local_by_default);
    let config = aws::sdk_config(&target).await;
    let name = match (&args.bucket, stack, env_bucket) {
        (Some(name), _, _) => name.clone(),
        (None, Some(stack), _) => StackOutputs::read(&config, stack)
            .await?
            .get(BUCKET_OUTPUT)?
            .to_owned(),
        (None, None, Some(name)) => name,
        (None, None, None) => DEFAULT_BUCKET.to_owned(),
    };
    Ok((config, name))
}

/// Every held delivery (of `provider`, and to `endpoint`, when given), oldest first, with its key.
async fn held(
    config: &SdkConfig,
    bucket: &str,
    provider: Option<ProviderArg>,
    endpoint: Option<&str>,
) -> Result<Vec<(String, Held)>, CliError> {
    let client = s3_client(config);
    let prefix = Held::prefix(provider.map(ProviderArg::name));
    let keys = quarantine::list(&client, bucket, &prefix)
        .await
        .map_err(CliError::failed)?;
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        let held = quarantine::read(&client, bucket, &key)
            .await
            .map_err(CliError::failed)?;
        if endpoint.is_none_or(|endpoint| held.endpoint == endpoint) {
            found.push((key, held));
        }
    }
    Ok(found)
}

fn size(held: &Held) -> usize {
    held.body_base64.len() / 4 * 3
}

/// `webhooks quarantine list`.
///
/// # Errors
/// The bucket cannot be listed or read.
pub async fn list(
    args: &QuarantineListArgs,
    json: bool,
    endpoint: Option<&str>,
) -> Result<bool, CliError> {
    let (config, bucket) = bucket(endpoint, &args.bucket, args.stack.as_deref()).await?;
    let found = held(&config, &bucket, args.provider, args.endpoint.as_deref()).await?;
    if json {
        let lines: String = found
            .iter()
            .map(|(key, held)| {
                output::json_line(&json!({
                    "provider": held.provider,
                    "endpoint": held.endpoint,
                    "object": key,
                    "reason": held.reason,
                    "received_at": iso_millis(held.received_at_ms),
                    "request_id": held.request_id,
                    "bytes": size(held),
                }))
            })
            .collect();
        output::print(&lines)?;
    } else {
        let mut table = Table::new(&[
            "PROVIDER",
            "ENDPOINT",
            "RECEIVED AT",
            "REASON",
            "BYTES",
            "OBJECT",
        ]);
        for (key, held) in &found {
            table.push(vec![
                held.provider.clone(),
                held.endpoint.clone(),
                iso_millis(held.received_at_ms),
                held.reason.clone(),
                size(held).to_string(),
                key.clone(),
            ]);
        }
        if !table.is_empty() {
            output::print(&table.render())?;
        }
    }
    output::note(
        json,
        &format!(
            "{} held deliveries in s3://{bucket}/{}",
            found.len(),
            Held::prefix(None)
        ),
    );
    Ok(true)
}

/// Each provider endpoint's promoter and secrets, made once, when first needed.
struct Providers<'a> {
    config: &'a SdkConfig,
    args: &'a PromoteArgs,
    secret_ids: SecretIds,
    ready: HashMap<String, (Box<dyn Promote>, Vec<VersionedSecret>)>,
}

impl Providers<'_> {
    async fn get(
        &mut self,
        name: &str,
        endpoint: &str,
    ) -> Result<&(Box<dyn Promote>, Vec<VersionedSecret>), CliError> {
        let scope = webhook_core::store::schema::scope(name, endpoint).into_owned();
        if !self.ready.contains_key(&scope) {
            let provider = registry::find(name).ok_or_else(|| {
                CliError::failed(format!(
                    "a held delivery names an unknown provider {name:?}"
                ))
            })?;
            let promoter = provider
                .catalog()
                .promoter(&crate::args::endpoint_settings(
                    provider,
                    endpoint,
                    &self.args.settings,
                ))
                .map_err(|error| CliError::usage(error.to_string()))?;
            let secret_id = self.secret_ids.for_endpoint(provider, endpoint)?;
            let secrets = aws::secrets(self.config, &secret_id).await?;
            self.ready.insert(scope.clone(), (promoter, secrets));
        }
        self.ready
            .get(&scope)
            .ok_or_else(|| CliError::failed("provider cache"))
    }
}

/// A setting given for no provider being promoted is a usage error.
fn check_settings(args: &PromoteArgs) -> Result<(), CliError> {
    let providers: Vec<ProviderArg> = args
        .provider
        .map_or_else(|| registry::all().collect(), |provider| vec![provider]);
    match args.settings.iter().find(|given| {
        !providers.iter().any(|p| {
            p.catalog()
                .settings()
                .iter()
                .any(|own| own.flag == given.flag)
        })
    }) {
        Some(foreign) => Err(CliError::usage(format!(
            "--{} does not apply to {}",
            foreign.flag,
            registry::names(&providers)
        ))),
        None => Ok(()),
    }
}

/// The columns of `webhooks quarantine promote`'s table.
const PROMOTE_COLUMNS: [&str; 6] = [
    "PROVIDER",
    "ENDPOINT",
    "RECEIVED AT",
    "REASON",
    "OUTCOME",
    "OBJECT",
];

/// `webhooks quarantine promote`: `Ok(true)` whatever stays held (forgeries are expected).
///
/// # Errors
/// The bucket, a secret or the table cannot be read or written.
pub async fn promote(
    args: &PromoteArgs,
    json: bool,
    endpoint: Option<&str>,
) -> Result<bool, CliError> {
    check_settings(args)?;
    let aws::Located { reader, stack, .. } = aws::table_reader(endpoint, &args.table).await?;
    let (config, bucket) = bucket(endpoint, &args.bucket, args.table.stack.as_deref()).await?;
    let store = writer(&config, reader.table(), &bucket);
    let found = held(&config, &bucket, args.provider, args.endpoint.as_deref()).await?;
    let mut providers = Providers {
        config: &config,
        args,
        secret_ids: SecretIds::choose(args.secret_id.as_deref(), stack.as_ref()),
        ready: HashMap::new(),
    };
    let client = s3_client(&config);
    let mut table = Table::new(&PROMOTE_COLUMNS);
    let mut lines = String::new();
    let (mut stored, mut kept) = (0, 0);
    let mut measured: BTreeMap<String, Measurements> = BTreeMap::new();
    for (key, held) in &found {
        let (promoter, secrets) = providers.get(&held.provider, &held.endpoint).await?;
        let outcome = match promoter.promote(secrets, held, webhook_core::clock::now_ms()) {
            Err(PromoteError::NotAuthentic(_)) => {
                kept += 1;
                "not_authentic"
            }
            Err(PromoteError::Unreadable(why)) => {
                return Err(CliError::failed(format!("{key}: {why}")));
            }
            Ok(_) if args.dry_run => {
                stored += 1;
                "would_promote"
            }
            Ok(record) => {
                let measured = measured.entry(held.provider.clone()).or_default();
                let outcome = Box::pin(store_promoted(&store, &record, measured))
                    .await
                    .map_err(|error| CliError::failed(format!("{key}: {error}")))?;
                quarantine::remove(&client, &bucket, key)
                    .await
                    .map_err(CliError::failed)?;
                stored += 1;
                outcome.status()
            }
        };
        if json {
            lines.push_str(&output::json_line(&json!({
                "provider": held.provider,
                "endpoint": held.endpoint,
                "object": key,
                "reason": held.reason,
                "received_at": iso_millis(held.received_at_ms),
                "outcome": outcome,
            })));
        } else {
            table.push(vec![
                held.provider.clone(),
                held.endpoint.clone(),
                iso_millis(held.received_at_ms),
                held.reason.clone(),
                outcome.to_owned(),
                key.clone(),
            ]);
        }
    }
    if json {
        output::print(&lines)?;
    } else if !table.is_empty() {
        output::print(&table.render())?;
    }
    if !args.no_metrics {
        Box::pin(publish_metrics(
            &config,
            args,
            stack.as_ref(),
            &measured,
            json,
        ))
        .await;
    }
    output::note(
        json,
        &format!(
            "{} of {} held deliveries {} into table {}; {kept} still not authentic (kept until \
             they expire)",
            stored,
            found.len(),
            if args.dry_run {
                "would be stored"
            } else {
                "stored"
            },
            reader.table()
        ),
    );
    Ok(true)
}

/// Stores a promoted record with the functions' conditional put, recording `Promoted`, the
/// outcome and the write's latency in `measured`.
async fn store_promoted(
    store: &DynamoDbStore,
    record: &EventRecord,
    measured: &mut Measurements,
) -> Result<PutOutcome, StoreError> {
    let (put, recorded) = Box::pin(metrics::measure(put_counted(
        store,
        record,
        Budget::from_now(Duration::from_secs(30)),
    )))
    .await;
    let outcome = put?;
    measured.merge(recorded);
    measured.add(Metric::Promoted, 1.0);
    Ok(outcome)
}

/// Publishes what the promotion recorded; a failure is reported, the promotion stands.
async fn publish_metrics(
    config: &SdkConfig,
    args: &PromoteArgs,
    stack: Option<&StackOutputs>,
    measured: &BTreeMap<String, Measurements>,
    json: bool,
) {
    if measured.is_empty() {
        return;
    }
    let env = std::env::var(metrics::NAMESPACE_ENV).ok();
    let namespace =
        crate::metrics::namespace(args.metrics_namespace.as_deref(), env.as_deref(), stack);
    match crate::metrics::publish(config, &namespace, measured).await {
        Ok(points) => output::note(
            json,
            &format!("{points} metric data points published to namespace {namespace}"),
        ),
        Err(error) => output::note(json, &format!("metrics not published: {error}")),
    }
}

/// The table writer the functions use, bodies over the threshold to the bucket.
fn writer(config: &SdkConfig, table: &str, bucket: &str) -> DynamoDbStore {
    let retention = std::env::var("RETENTION_DAYS")
        .ok()
        .and_then(|days| days.trim().parse().ok())
        .filter(|days: &u32| *days > 0);
    DynamoDbStore::new(
        aws_sdk_dynamodb::Client::new(config),
        table,
        retention,
        Duration::from_secs(30),
    )
    .with_body_bucket(BodyBucket::new(
        s3_client(config),
        bucket,
        DEFAULT_OFFLOAD_BYTES,
    ))
}
