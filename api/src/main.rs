//! `maplink-api`: loads settings, starts logging, serves until SIGINT/SIGTERM.

use std::time::Duration;

use maplink::{
    config::Settings,
    shutdown::{Shutdown, os_signal},
};
use maplink_api::Application;

/// How long the exit waits for blocking work still under way (see `main`).
const EXIT_WAIT: Duration = Duration::from_millis(200);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run());
    // In embedded mode a run cancelled at the end of the shutdown grace may still be on
    // a blocking thread: its session is fenced and its job handed back to the queue, so
    // the exit does not wait for it.
    runtime.shutdown_timeout(EXIT_WAIT);
    result
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load(Settings::config_path_from_args(
        "maplink-api",
        std::env::args().skip(1),
    )?)?;
    maplink::telemetry::init(settings.log_format);
    let app = Application::build(settings).await?;
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        os_signal().await;
        trigger.trigger();
    });
    app.run_until_stopped(shutdown).await
}
