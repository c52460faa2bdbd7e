//! `maplink-worker`: consumes the Redis queue and runs the cleanup schedule until
//! SIGINT/SIGTERM. Exits non-zero if its queue workers die, so a supervisor restarts it.
//! `maplink-worker convert INPUT [-o OUTPUT]` converts one file locally instead.

use std::sync::Arc;

use anyhow::Context;
use maplink::{
    config::Settings,
    files::FileStore,
    session::RedisSessionStore,
    shutdown::{Shutdown, os_signal},
};
use maplink_worker::{
    WorkerState,
    queue::{QueueBackend, names},
    runtime::{self, Roles},
};

fn main() -> anyhow::Result<std::process::ExitCode> {
    maplink::shutdown::block_on_main(run())?
}

async fn run() -> anyhow::Result<std::process::ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("convert") {
        // The one-shot command logs only warnings: its output is the progress and summary.
        if std::env::var_os("RUST_LOG").is_none() {
            maplink::telemetry::init_with_default(maplink::config::LogFormat::Text, "warn");
        }
        return Ok(maplink_worker::cli::convert(&args[1..]).await);
    }
    let settings = Settings::load(Settings::config_path_from_args(
        "maplink-worker",
        std::env::args().skip(1),
    )?)?;
    maplink::telemetry::init(settings.log_format);
    let Some(url) = settings.redis_url.clone() else {
        anyhow::bail!(
            "maplink-worker needs MAPLINK_REDIS_URL (or redis_url in the config file); \
             without Redis, maplink-api runs its workers in-process"
        );
    };
    let conn = QueueBackend::connect_redis(&url)
        .await
        .context("connecting to Redis")?;
    let process_name = names::process_name("worker");
    let backend = QueueBackend::redis(&url, conn.clone())
        .await
        .context("opening the queue")?;
    let state = WorkerState::new(
        &backend,
        Arc::new(RedisSessionStore::from_connection(conn)),
        {
            // The object store's HTTP client (S3) needs the TLS crypto provider.
            maplink_worker::resolve::install_crypto_provider();
            FileStore::from_settings(&settings)?
        },
        Arc::new(settings),
        process_name.clone(),
    )
    .await?;
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        os_signal().await;
        trigger.trigger();
    });
    let handle = maplink::metrics::install();
    maplink_worker::observe::spawn_gauges(
        state.sessions.clone(),
        backend.clone(),
        state.ops.clone(),
        std::time::Duration::from_secs(state.settings.queue_heartbeat_secs),
        handle.clone(),
        shutdown.clone(),
    );
    let metrics_addr = maplink_worker::observe::serve_metrics(
        &state.settings.worker_metrics_bind,
        handle,
        maplink_worker::observe::OpsGate::from_settings(&state.settings),
        shutdown.clone(),
    )
    .await
    .with_context(|| {
        format!(
            "binding the metrics listener on {}",
            state.settings.worker_metrics_bind
        )
    })?;
    tracing::info!(worker = %process_name, metrics = %metrics_addr, "maplink worker started");
    let roles = Roles {
        convert: true,
        cleanup: true,
    };
    runtime::run(state, backend, roles, shutdown).await?;
    tracing::info!("maplink worker stopped");
    Ok(std::process::ExitCode::SUCCESS)
}
