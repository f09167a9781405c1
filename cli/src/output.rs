//! What goes to the terminal: aligned tables or JSON lines on stdout, progress on stderr.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::error::CliError;

/// Rows under a header, printed with every column padded to its widest cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|&header| header.to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: columns separated by two spaces, no trailing blanks, each line
    /// ending in a newline. Control characters in cells become spaces, so a row is one line.
    pub fn render(&self) -> String {
        let clean = |cell: &str| -> String {
            cell.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        let lines: Vec<Vec<String>> = std::iter::once(&self.headers)
            .chain(&self.rows)
            .map(|row| {
                (0..self.headers.len())
                    .map(|column| clean(row.get(column).map_or("", String::as_str)))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|column| {
                lines
                    .iter()
                    .map(|line| line[column].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut text = String::new();
        for line in &lines {
            let mut rendered = String::new();
            for (column, cell) in line.iter().enumerate() {
                if column > 0 {
                    rendered.push_str("  ");
                }
                rendered.push_str(cell);
                let pad = widths[column].saturating_sub(cell.chars().count());
                rendered.extend(std::iter::repeat_n(' ', pad));
            }
            text.push_str(rendered.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Writes `text` to stdout. A closed pipe (`webhooks … | head`) is not an error.
///
/// # Errors
/// Any other write failure.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

/// One JSON object as one line.
pub fn json_line(value: &Value) -> String {
    let mut line = value.to_string();
    line.push('\n');
    line
}

/// A progress bar (known length) or spinner (`len` = `None`) on stderr; hidden unless `shown`
/// and stderr is a terminal.
pub fn progress(shown: bool, len: Option<u64>, message: &str) -> ProgressBar {
    if !shown || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::new(len),
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})",
        ),
        None => (ProgressBar::new_spinner(), "{spinner} {msg} ({elapsed})"),
    };
    let style = ProgressStyle::with_template(template).map_or_else(
        |_| ProgressStyle::default_bar(),
        |style| style.progress_chars("=> "),
    );
    bar.set_style(style);
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A note for people on stderr (never in JSON mode, where stdout is for programs and stderr
/// stays quiet unless something fails).
pub fn note(json: bool, text: &str) {
    if !json {
        eprintln!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut table = Table::new(&["RECEIVED_AT", "EVENT", "KEY"]);
        table.push(vec![
            "2026-11-24T09:12:01.123Z".into(),
            "ENROLL".into(),
            "k1".into(),
        ]);
        table.push(vec![
            "x".into(),
            "document_status_change".into(),
            "k2".into(),
        ]);
        assert_eq!(
            table.render(),
            "RECEIVED_AT               EVENT                   KEY\n\
             2026-11-24T09:12:01.123Z  ENROLL                  k1\n\
             x                         document_status_change  k2\n"
        );
    }

    #[test]
    fn short_rows_blank_cells_and_control_characters_stay_on_one_line() {
        let mut table = Table::new(&["A", "B", "C"]);
        table.push(vec!["line\nbreak".into()]);
        table.push(vec![String::new(), "tab\there".into(), "ü".into()]);
        assert_eq!(
            table.render(),
            "A           B         C\n\
             line break\n            tab here  ü\n"
        );
        assert!(!table.is_empty());
        assert!(Table::new(&["A"]).is_empty());
    }

    #[test]
    fn json_lines_are_single_lines() {
        let line = json_line(&serde_json::json!({"a": "x\ny", "b": [1, 2]}));
        assert_eq!(line, "{\"a\":\"x\\ny\",\"b\":[1,2]}\n");
    }

    #[test]
    fn progress_is_hidden_when_not_wanted() {
        assert!(progress(false, Some(10), "scanning").is_hidden());
    }
}
