//! Lambda entry point for Alocity Selfie webhooks.

use alocity_selfie::AlocitySelfie;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::runtime::run(AlocitySelfie::from_env).await
}
