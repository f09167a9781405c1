//! `webhooks providers`: the registry as a table, or one JSON object per provider for the
//! scripts (`make dev`, the end-to-end suite, the benchmarks).

use serde_json::{Map, Value, json};
use webhook_core::Catalog;

use crate::error::CliError;
use crate::output::{self, Table};
use crate::registry::PROVIDERS;

/// One provider as JSON: name, binary (also its cargo package), summary, secret id, the local
/// stack's secret and settings, every setting, the documented event codes, and whether its
/// deliveries keep a signature for the tamper audit.
pub fn to_json(catalog: &dyn Catalog) -> Value {
    let dev_env: Map<String, Value> = catalog
        .dev_env()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::from(value)))
        .collect();
    let endpoint_env: Map<String, Value> = catalog
        .dev_endpoint_env()
        .into_iter()
        .map(|(name, value)| (name, Value::from(value)))
        .collect();
    json!({
        "name": catalog.name(),
        "binary": catalog.binary(),
        "about": catalog.about(),
        "secret_id": catalog.secret_id(),
        "dev_secret": catalog.dev_secret(),
        "dev_env": dev_env,
        "dev_endpoint": {
            "name": webhook_core::catalog::DEV_ENDPOINT,
            "secret_id": catalog.endpoint_secret_id(webhook_core::catalog::DEV_ENDPOINT),
            "dev_secret": catalog.dev_endpoint_secret(),
            "env": endpoint_env,
        },
        "settings": catalog.settings().iter().map(|setting| json!({
            "env": setting.env,
            "flag": setting.flag,
            "dev": setting.dev,
        })).collect::<Vec<_>>(),
        "event_codes": catalog.event_codes(),
        "audited": catalog.audit().is_some(),
    })
}

/// Prints the registry.
///
/// # Errors
/// Standard output cannot be written.
pub fn print(json: bool) -> Result<(), CliError> {
    if json {
        let lines: String = PROVIDERS
            .iter()
            .map(|catalog| output::json_line(&to_json(*catalog)))
            .collect();
        return output::print(&lines);
    }
    let mut table = Table::new(&["PROVIDER", "BINARY", "SECRET", "AUDITED", "EVENT CODES"]);
    for catalog in PROVIDERS {
        table.push(vec![
            catalog.name().to_owned(),
            catalog.binary().to_owned(),
            catalog.secret_id(),
            if catalog.audit().is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            catalog.event_codes().join(" "),
        ]);
    }
    output::print(&table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_is_listed_with_what_the_scripts_read() {
        for catalog in PROVIDERS {
            let json = to_json(*catalog);
            for key in [
                "name",
                "binary",
                "secret_id",
                "dev_secret",
                "dev_env",
                "dev_endpoint",
                "event_codes",
            ] {
                assert!(!json[key].is_null(), "{}: {key}", catalog.name());
            }
            assert_eq!(json["name"], catalog.name());
            for (name, value) in catalog.dev_env() {
                assert_eq!(json["dev_env"][name], value);
            }
            let endpoint = &json["dev_endpoint"];
            assert_eq!(endpoint["env"]["WEBHOOK_ENDPOINTS"], endpoint["name"]);
            assert_ne!(endpoint["dev_secret"], json["dev_secret"]);
            assert_eq!(
                endpoint["secret_id"],
                format!(
                    "{}/{}",
                    catalog.secret_id(),
                    endpoint["name"].as_str().unwrap()
                )
            );
        }
    }
}
