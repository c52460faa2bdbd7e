//! `maplink-api`: loads settings, starts logging, serves until SIGINT/SIGTERM.

use maplink::{
    config::Settings,
    shutdown::{Shutdown, os_signal},
};
use maplink_api::Application;

fn main() -> anyhow::Result<()> {
    maplink::shutdown::block_on_main(run())?
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
