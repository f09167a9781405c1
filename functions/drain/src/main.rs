//! Lambda entry point of the drain: SQS batches from the fallback queue into the events table.

// The runtime loop around the drain nests deep futures; the default limit (128) is too low for
// the compiler to lay them out.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    drain::run().await
}
