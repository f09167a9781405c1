//! `webhooks`: parse the command line, run the command, turn the outcome into an exit status
//! (0 ok, 1 failure, 2 usage error) with a one-line message on stderr.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors print clap's message and exit with status 2; --help and --version with 0.
    let cli = webhooks_cli::args::parse(std::env::args_os()).unwrap_or_else(|error| error.exit());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("webhooks: error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(webhooks_cli::run(&cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("webhooks: {error}");
            error.exit_code()
        }
    }
}
