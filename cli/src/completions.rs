//! `webhooks completions bash|zsh|fish|…`: a completion script for the whole command line,
//! provider settings and provider names included.

use clap_complete::Shell;

use crate::args;
use crate::error::CliError;
use crate::output;

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = args::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "webhooks", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// Prints the completion script for `shell`.
///
/// # Errors
/// Standard output cannot be written.
pub fn print(shell: Shell) -> Result<(), CliError> {
    output::print(&script(shell))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn each_shell_completes_the_commands_options_and_providers() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = script(shell);
            assert!(!script.trim().is_empty(), "{shell}");
            for word in [
                "send",
                "events",
                "list",
                "subject",
                "reverify",
                "quarantine",
                "providers",
                "completions",
                "stack",
                "insecure",
            ] {
                assert!(script.contains(word), "{shell}: {word}");
            }
            for provider in registry::all() {
                assert!(
                    script.contains(provider.name()),
                    "{shell}: {}",
                    provider.name()
                );
            }
            for setting in registry::PROVIDERS.iter().flat_map(|c| c.settings()) {
                assert!(script.contains(setting.flag), "{shell}: {}", setting.flag);
            }
        }
    }
}
