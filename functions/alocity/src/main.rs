//! Lambda entry point for Alocity access-control webhooks.

use alocity::AlocityAccess;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::runtime::run(AlocityAccess::from_env).await
}
