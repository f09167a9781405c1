//! Errors as the user sees them: one line, and the exit status they mean.

use std::fmt;
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// The arguments cannot work together (exit status 2, like clap's own usage errors).
    Usage(String),
    /// The command ran and failed: AWS, the network, a request, an audit finding (exit status 1).
    Failed(String),
}

impl CliError {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// A failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    /// One line: control characters (an SDK error's line breaks) become spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (label, message) = match self {
            Self::Usage(message) => ("usage error", message),
            Self::Failed(message) => ("error", message),
        };
        let line: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{label}: {line}")
    }
}

impl std::error::Error for CliError {}

impl From<webhook_core::store::query::ReadError> for CliError {
    fn from(error: webhook_core::store::query::ReadError) -> Self {
        Self::Failed(error.0)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        Self::Failed(format!("writing output: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_with_their_kind() {
        let error = CliError::failed("first\nsecond\tthird");
        assert_eq!(error.to_string(), "error: first second third");
        assert_eq!(
            CliError::usage("--x needs --y").to_string(),
            "usage error: --x needs --y"
        );
    }

    #[test]
    fn usage_errors_exit_2_and_failures_1() {
        assert_eq!(CliError::usage("u").exit_code(), ExitCode::from(2));
        assert_eq!(CliError::failed("f").exit_code(), ExitCode::from(1));
    }
}
