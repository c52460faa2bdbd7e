//! `maplink-api`: parses the command line, loads settings, starts logging, serves until
//! SIGINT/SIGTERM.

use clap::Parser;
use maplink::{config::Settings, shutdown::on_os_signal};
use maplink_api::Application;
use maplink_worker::cli::{ConfigFile, SETTINGS_HINT};

/// The maplink HTTP API (upload, process, follow, download); with no Redis configured,
/// also the workers, in-process on a SQLite file.
#[derive(Debug, Parser)]
#[command(
    name = "maplink-api",
    version,
    after_help = SETTINGS_HINT,
    after_long_help = maplink::config::variables_help(),
)]
struct Cli {
    #[command(flatten)]
    config: ConfigFile,
}

fn main() -> anyhow::Result<()> {
    // Usage errors exit 2 here, and --help and --version exit 0, before any runtime.
    let cli = Cli::parse();
    maplink::shutdown::block_on_main(run(cli))?
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.path)?;
    maplink::telemetry::init(settings.log_format);
    let app = Application::build(settings).await?;
    app.run_until_stopped(on_os_signal()).await
}
