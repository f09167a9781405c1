//! `webhooks metrics`: the metrics catalogue (`webhook_core::metrics`) as a table, or as one JSON
//! document for the template tests and the operator's guide; and the metrics `quarantine promote`
//! publishes, the same as the functions'.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use webhook_core::metrics::{self, Emitter, Measurements, Metric};

use crate::error::CliError;
use crate::output::{self, Table};
use crate::stack::StackOutputs;

/// Prints the catalogue.
///
/// # Errors
/// Standard output cannot be written.
pub fn print(json: bool) -> Result<(), CliError> {
    if json {
        return output::print(&output::json_line(&metrics::catalogue()));
    }
    let mut table = Table::new(&["METRIC", "UNIT", "DIMENSIONS", "EMITTED BY", "MEANING"]);
    for metric in Metric::ALL {
        table.push(vec![
            metric.name().to_owned(),
            metric.unit().name().to_owned(),
            metric
                .dimension_sets()
                .iter()
                .map(|set| set.join("+"))
                .collect::<Vec<_>>()
                .join(" "),
            metric
                .emitters()
                .iter()
                .map(|emitter| emitter.name())
                .collect::<Vec<_>>()
                .join(","),
            metric.meaning().to_owned(),
        ]);
    }
    output::print(&table.render())
}

/// The namespace `quarantine promote` publishes to: `--metrics-namespace` (`flag`), else
/// `METRICS_NAMESPACE` (`env`), else the stack's `MetricsNamespace` output, else the template's default
/// for the stack (`Webhooks/<stack>`), else [`metrics::DEFAULT_NAMESPACE`] (the local stack).
pub fn namespace(flag: Option<&str>, env: Option<&str>, stack: Option<&StackOutputs>) -> String {
    let given = |name: &&str| !name.trim().is_empty();
    flag.filter(given)
        .or(env.filter(given))
        .map(str::to_owned)
        .or_else(|| {
            stack.map(|stack| {
                stack.get(NAMESPACE_OUTPUT).map_or_else(
                    |_| format!("{}/{}", metrics::DEFAULT_NAMESPACE, stack.stack()),
                    str::to_owned,
                )
            })
        })
        .unwrap_or_else(|| metrics::DEFAULT_NAMESPACE.to_owned())
}

/// The stack output naming the functions' metrics namespace.
pub const NAMESPACE_OUTPUT: &str = "MetricsNamespace";

/// The data points of `measured` for `provider`, as the functions' EMF documents publish them:
/// under `[provider]` and under `[provider, source]` (`source` = `emitter`).
pub fn datums(provider: &str, measured: &Measurements, emitter: Emitter) -> Vec<MetricDatum> {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let sets = [
        vec![dimension(metrics::PROVIDER, provider)],
        vec![
            dimension(metrics::PROVIDER, provider),
            dimension(metrics::SOURCE, emitter.name()),
        ],
    ];
    let mut datums = Vec::new();
    for metric in Metric::ALL {
        let samples = measured.samples(metric);
        if samples.is_empty() {
            continue;
        }
        for chunk in samples.chunks(metrics::MAX_VALUES) {
            for set in &sets {
                datums.push(
                    MetricDatum::builder()
                        .metric_name(metric.name())
                        .unit(StandardUnit::from(metric.unit().name()))
                        .set_dimensions(Some(set.clone()))
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                );
            }
        }
    }
    datums
}

/// Publishes what `quarantine promote` recorded, per provider (`PutMetricData`, 500 data points
/// per call at most). Returns how many data points were sent.
///
/// # Errors
/// CloudWatch refused or did not answer (the caller reports it; the promotion stands).
pub async fn publish(
    config: &SdkConfig,
    namespace: &str,
    measured: &BTreeMap<String, Measurements>,
) -> Result<usize, String> {
    let client = aws_sdk_cloudwatch::Client::new(config);
    let all: Vec<MetricDatum> = measured
        .iter()
        .flat_map(|(provider, measured)| datums(provider, measured, Emitter::Promote))
        .collect();
    for chunk in all.chunks(500) {
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|error| {
                format!(
                    "PutMetricData: {}",
                    aws_sdk_cloudwatch::error::DisplayErrorContext(&error)
                )
            })?;
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promote_data_points_carry_both_dimension_sets_of_the_catalogue() {
        let mut measured = Measurements::default();
        measured.add(Metric::Promoted, 1.0);
        measured.add(Metric::Stored, 1.0);
        measured.add(Metric::Promoted, 1.0);
        let datums = datums("faceio", &measured, Emitter::Promote);
        assert_eq!(datums.len(), 4);
        for datum in &datums {
            let metric = Metric::ALL
                .into_iter()
                .find(|m| Some(m.name()) == datum.metric_name())
                .unwrap_or(Metric::Requests);
            let names: Vec<&str> = datum.dimensions().iter().filter_map(|d| d.name()).collect();
            assert!(metric.dimension_sets().contains(&names), "{datum:?}");
            assert!(metric.emitters().contains(&Emitter::Promote), "{datum:?}");
        }
        let promoted = datums
            .iter()
            .find(|d| d.metric_name() == Some("Promoted"))
            .map(|d| d.values().to_vec());
        assert_eq!(promoted, Some(vec![2.0]));
    }

    #[test]
    fn the_namespace_follows_flag_env_stack_output_then_the_template_default() {
        let stack = StackOutputs::new("prod", vec![]);
        let named = StackOutputs::new("prod", vec![(NAMESPACE_OUTPUT.into(), "Ops".into())]);
        assert_eq!(namespace(Some("Mine"), Some("Env"), Some(&named)), "Mine");
        assert_eq!(namespace(None, Some("Env"), Some(&named)), "Env");
        assert_eq!(namespace(None, Some(" "), Some(&named)), "Ops");
        assert_eq!(namespace(Some(""), Some("Env"), None), "Env");
        assert_eq!(namespace(None, None, Some(&named)), "Ops");
        assert_eq!(namespace(None, None, Some(&stack)), "Webhooks/prod");
        assert_eq!(namespace(None, None, None), "Webhooks");
    }
}
