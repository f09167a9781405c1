//! `webhooks metrics`: the metrics catalogue (`webhook_core::metrics`) as a table, or as one JSON
//! document for the template tests and the operator's guide.

use webhook_core::metrics::{self, Metric};

use crate::error::CliError;
use crate::output::{self, Table};

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
