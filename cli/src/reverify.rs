//! `webhooks reverify`: the tamper audit. Every stored event that kept an HMAC signature
//! header is checked again against its stored body, with the provider's current and previous
//! secrets and no replay window, by the provider's own audit rule (its catalogue's `audit`).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::json;
use webhook_core::VersionedSecret;
use webhook_core::store::StoredEvent;
use webhook_core::store::query::{EventReader, TimeWindow};

use crate::args::ReverifyArgs;
use crate::aws;
use crate::error::CliError;
use crate::events;
use crate::output::{self, Table};
use crate::registry::{self, ProviderArg};
use crate::stack::SecretIds;

/// One audited event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Table key.
    pub pk: String,
    /// Provider.
    pub provider: String,
    /// Event code.
    pub event_code: String,
    /// When it was received.
    pub received_at: String,
    /// `Ok(label)` of the secret that still matches, or why nothing does.
    pub result: Result<&'static str, &'static str>,
}

impl Checked {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "pk": self.pk,
            "provider": self.provider,
            "event_code": self.event_code,
            "received_at": self.received_at,
            "ok": self.result.is_ok(),
            "result": match self.result {
                Ok(_) => "ok",
                Err(reason) => reason,
            },
            "secret_version": self.result.ok(),
        })
    }
}

/// Runs the audit; `Ok(false)` when some event no longer matches its signature.
///
/// # Errors
/// A provider without signatures (usage), a failed read, an unreadable secret.
pub async fn run(
    args: &ReverifyArgs,
    json: bool,
    endpoint: Option<&str>,
) -> Result<bool, CliError> {
    let audited = registry::audited();
    let providers: Vec<ProviderArg> = match args.provider {
        Some(provider) if !audited.contains(&provider) => {
            return Err(CliError::usage(format!(
                "{} events carry no signature to re-check ({} proves nothing about the body); \
                 use {}",
                provider.name(),
                provider.catalog().signing(),
                registry::names(&audited)
            )));
        }
        Some(provider) => vec![provider],
        None => audited,
    };
    let window = if args.window.is_empty() {
        None
    } else {
        Some(
            args.window
                .window(Duration::ZERO, webhook_core::clock::now_ms())?,
        )
    };
    let aws::Located {
        config,
        reader,
        stack,
    } = aws::table_reader(endpoint, &args.table).await?;
    let mut items = match &window {
        Some(window) => {
            let scopes: Vec<(ProviderArg, String)> = providers
                .iter()
                .flat_map(|&provider| {
                    let endpoints = match &args.endpoint {
                        Some(endpoint) => vec![endpoint.clone()],
                        None => crate::endpoints::of(provider, stack.as_ref()),
                    };
                    endpoints
                        .into_iter()
                        .map(move |endpoint| (provider, endpoint))
                })
                .collect();
            in_window(&reader, &scopes, window, json).await?
        }
        None => scan(&reader, args.provider, json).await?,
    };
    if let Some(endpoint) = &args.endpoint {
        items.retain(|item| item.endpoint() == endpoint);
    }
    items.sort_by(|a, b| b.received_at.cmp(&a.received_at));

    let mut secrets = SecretBook::new(
        &config,
        SecretIds::choose(args.secret_id.as_deref(), stack.as_ref()),
    );
    let bar = output::progress(
        !json && items.len() > 1,
        Some(items.len() as u64),
        "re-verifying",
    );
    let mut checked = Vec::new();
    for item in &items {
        if let Some(result) = check(&reader, item, &mut secrets).await? {
            checked.push(result);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let failures = checked.iter().filter(|c| c.result.is_err()).count();
    let shown: Vec<&Checked> = checked
        .iter()
        .filter(|c| args.all || c.result.is_err())
        .collect();
    if json {
        let lines: String = shown
            .iter()
            .map(|c| output::json_line(&c.to_json()))
            .collect();
        output::print(&lines)?;
    } else if !shown.is_empty() {
        output::print(&table(&shown).render())?;
    }
    let summary = format!(
        "checked {} signed event(s) in table {}: {failures} no longer match their signature",
        checked.len(),
        reader.table()
    );
    if failures > 0 {
        eprintln!("webhooks: {summary}");
    } else {
        output::note(json, &summary);
    }
    Ok(failures == 0)
}

/// Items of each provider's endpoint in `scopes` received in `window`: the day partitions of the
/// provider/time index, then the body and signature of each.
async fn in_window(
    reader: &EventReader,
    scopes: &[(ProviderArg, String)],
    window: &TimeWindow,
    json: bool,
) -> Result<Vec<StoredEvent>, CliError> {
    let mut pks = Vec::new();
    for (provider, endpoint) in scopes {
        let found =
            events::query_window(reader, *provider, endpoint, window, None, usize::MAX, json)
                .await?;
        pks.extend(found.into_iter().map(|event| event.pk));
    }
    let bar = output::progress(
        !json && pks.len() > 100,
        Some(pks.len() as u64),
        "reading bodies",
    );
    let mut items = Vec::with_capacity(pks.len());
    for chunk in pks.chunks(100) {
        items.extend(reader.get_for_audit(chunk).await?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(items)
}

/// Every item with a stored signature (of `provider` when given): a scan of the whole table.
async fn scan(
    reader: &EventReader,
    provider: Option<ProviderArg>,
    json: bool,
) -> Result<Vec<StoredEvent>, CliError> {
    let bar = output::progress(!json, None, "scanning the table");
    let mut items = Vec::new();
    let mut scanned = 0_u64;
    let mut start = None;
    loop {
        let page = reader
            .scan_signed(provider.map(ProviderArg::name), start)
            .await?;
        scanned += page.scanned;
        items.extend(page.items);
        bar.set_message(format!(
            "scanning the table: {scanned} items read, {} signed",
            items.len()
        ));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    Ok(items)
}

/// Each provider's candidate secrets, read once, when first needed.
struct SecretBook<'a> {
    config: &'a SdkConfig,
    ids: SecretIds,
    read: HashMap<String, Vec<VersionedSecret>>,
}

impl<'a> SecretBook<'a> {
    fn new(config: &'a SdkConfig, ids: SecretIds) -> Self {
        Self {
            config,
            ids,
            read: HashMap::new(),
        }
    }

    async fn for_endpoint(
        &mut self,
        provider: ProviderArg,
        endpoint: &str,
    ) -> Result<&[VersionedSecret], CliError> {
        let scope = webhook_core::store::schema::scope(provider.name(), endpoint).into_owned();
        if !self.read.contains_key(&scope) {
            let secret_id = self.ids.for_endpoint(provider, endpoint)?;
            let secrets = aws::secrets(self.config, &secret_id).await?;
            self.read.insert(scope.clone(), secrets);
        }
        Ok(self.read.get(&scope).map_or(&[], Vec::as_slice))
    }
}

/// Re-checks one event; `None` when it has no signature to check (token mode, FACEIO).
async fn check(
    reader: &EventReader,
    event: &StoredEvent,
    secrets: &mut SecretBook<'_>,
) -> Result<Option<Checked>, CliError> {
    let provider = event.provider.clone();
    let Some((known, rule)) =
        registry::find(&provider).and_then(|known| Some((known, known.catalog().audit()?)))
    else {
        return Ok(None);
    };
    let Some(signature) = event.signature.as_deref() else {
        return Ok(None);
    };
    let result = match reader.body(event).await? {
        Some(body) => {
            let candidates = secrets.for_endpoint(known, event.endpoint()).await?;
            rule(candidates, &body, signature)
                .map(|verified| verified.version.label())
                .map_err(webhook_core::VerifyError::reason)
        }
        None => Err("body_missing"),
    };
    Ok(Some(Checked {
        pk: event.pk.clone(),
        provider,
        event_code: event.event_code.clone(),
        received_at: event.received_at.clone(),
        result,
    }))
}

/// The people's view of the audit.
pub fn table(checked: &[&Checked]) -> Table {
    let mut table = Table::new(&["RECEIVED_AT", "PROVIDER", "EVENT", "RESULT", "PK"]);
    for c in checked {
        table.push(vec![
            c.received_at.clone(),
            c.provider.clone(),
            c.event_code.clone(),
            match c.result {
                Ok(version) => format!("ok ({version})"),
                Err(reason) => reason.to_owned(),
            },
            c.pk.clone(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(result: Result<&'static str, &'static str>) -> Checked {
        Checked {
            pk: "alocity#e1".into(),
            provider: "alocity".into(),
            event_code: "door.state".into(),
            received_at: "2026-11-24T09:12:01.123Z".into(),
            result,
        }
    }

    #[test]
    fn findings_in_the_table_and_as_json() {
        let ok = checked(Ok("AWSPREVIOUS"));
        let bad = checked(Err("signature_mismatch"));
        assert_eq!(
            table(&[&ok, &bad]).render(),
            "RECEIVED_AT               PROVIDER  EVENT       RESULT              PK\n\
             2026-11-24T09:12:01.123Z  alocity   door.state  ok (AWSPREVIOUS)    alocity#e1\n\
             2026-11-24T09:12:01.123Z  alocity   door.state  signature_mismatch  alocity#e1\n"
        );
        assert_eq!(bad.to_json()["result"], "signature_mismatch");
        assert_eq!(bad.to_json()["ok"], false);
        assert_eq!(ok.to_json()["secret_version"], "AWSPREVIOUS");
    }
}
