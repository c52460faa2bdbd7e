//! The integration harness: real `redis-server` processes on random ports, real SQLite
//! files in temp dirs, the real API in-process or as a binary, real worker binaries.
//!
//! Every test owns its stores; nothing here touches a service on a standard port.

pub mod api;
pub mod binaries;
pub mod browser;
pub mod hostile;
pub mod link_server;
pub mod nominatim_server;
pub mod prom;
pub mod redis_server;
pub mod s3_server;
pub mod schemathesis;
pub mod sheets;
pub mod sse;

pub use api::{Backend, TestApp};
pub use redis_server::RedisServer;

/// Installs a test log subscriber once (`RUST_LOG` to see more).
pub fn init_logs() {
    use tracing_subscriber::{EnvFilter, fmt};
    let _ = fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// An HTTP client for talking to the service under test.
pub fn http_client() -> reqwest::Client {
    maplink_worker::resolve::install_crypto_provider();
    reqwest::Client::new()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
