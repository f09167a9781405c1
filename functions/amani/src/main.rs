//! Lambda entry point for Amani webhooks.

use amani::Amani;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::runtime::run(Amani::from_env).await
}
