//! `maplink-worker`: parses the command line, then either takes jobs from the Redis
//! queue and runs the cleanup schedule until SIGINT/SIGTERM (`run`, the default;
//! exits non-zero if its queue workers die, so a supervisor restarts it), or converts
//! one file locally (`convert`).

use std::process::ExitCode;

use clap::Parser;
use maplink::{config::Settings, shutdown::on_os_signal};
use maplink_worker::{
    Application,
    cli::{Cli, Command, convert},
};

fn main() -> anyhow::Result<ExitCode> {
    // Usage errors exit 2 here, and --help and --version exit 0, before any runtime.
    let cli = Cli::parse();
    maplink::shutdown::block_on_main(run(cli))?
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::Convert(args)) = &cli.command {
        // The one-shot command logs only warnings: its output is the progress and summary.
        if std::env::var_os("RUST_LOG").is_none() {
            maplink::telemetry::init_with_default(maplink::config::LogFormat::Text, "warn");
        }
        return Ok(convert::run(args, cli.config.path).await);
    }
    let settings = Settings::load(cli.config.path)?;
    maplink::telemetry::init(settings.log_format);
    let app = Application::build(settings).await?;
    app.run_until_stopped(on_os_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
