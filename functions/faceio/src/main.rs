//! Lambda entry point for FACEIO webhooks.

use faceio::Faceio;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::runtime::run(Faceio::from_env).await
}
