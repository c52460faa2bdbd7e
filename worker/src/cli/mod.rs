//! The command lines of both binaries: `maplink-worker [run] | convert …` here, and the
//! `--config FILE` option and the settings list both share ([`ConfigFile`],
//! [`SETTINGS_HINT`]; `maplink-api` uses them for its own).
//!
//! Settings are not options: there are too many, and they come from a file and
//! `MAPLINK_*` variables in every deployment. `--help` lists each variable with its
//! default (from the settings' own table, so the list cannot drift), and `--config`
//! is the one real option.

pub mod convert;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use self::convert::ConvertArgs;

/// The last lines of `-h`; `--help` lists the settings instead.
pub const SETTINGS_HINT: &str = "Settings come from defaults, then the --config file, then \
MAPLINK_* variables; --help lists them all.";

/// The settings file, for both binaries.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigFile {
    /// A TOML settings file (keys: the variables below, lower-case, without MAPLINK_;
    /// see deploy/maplink.example.toml); the variables override it
    #[arg(
        long = "config",
        value_name = "FILE",
        env = "MAPLINK_CONFIG",
        global = true
    )]
    pub path: Option<PathBuf>,
}

/// Takes coordinates jobs from the Redis queue and runs the cleanup schedule until
/// SIGINT or SIGTERM; or converts one file locally.
#[derive(Debug, Parser)]
#[command(
    name = "maplink-worker",
    version,
    after_help = SETTINGS_HINT,
    after_long_help = maplink::config::variables_help(),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: ConfigFile,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take jobs from the queue until SIGINT or SIGTERM (the default)
    #[command(after_help = SETTINGS_HINT, after_long_help = maplink::config::variables_help())]
    Run,
    /// Convert one .xlsx or .csv file here, with no queue: what scripts use
    #[command(after_help = SETTINGS_HINT, after_long_help = maplink::config::variables_help())]
    Convert(ConvertArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn no_subcommand_is_run_with_the_config_given() {
        let cli = parse("maplink-worker --config w.toml").unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.config.path, Some(PathBuf::from("w.toml")));
        assert!(matches!(
            parse("maplink-worker run --config w.toml").unwrap().command,
            Some(Command::Run)
        ));
    }

    #[test]
    fn the_config_may_come_before_or_after_the_subcommand() {
        for line in [
            "maplink-worker --config w.toml convert a.xlsx",
            "maplink-worker convert a.xlsx --config w.toml",
        ] {
            let cli = parse(line).unwrap();
            assert_eq!(cli.config.path, Some(PathBuf::from("w.toml")), "{line}");
            assert!(matches!(cli.command, Some(Command::Convert(_))), "{line}");
        }
    }

    fn convert(line: &str) -> Result<ConvertArgs, clap::Error> {
        match parse(&format!("maplink-worker convert {line}"))?.command {
            Some(Command::Convert(args)) => Ok(args),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn convert_arguments_are_checked() {
        let a = convert("a.xlsx -o b.xlsx").unwrap();
        assert_eq!(
            (a.input, a.output, a.details, a.export),
            (
                PathBuf::from("a.xlsx"),
                Some(PathBuf::from("b.xlsx")),
                false,
                None
            )
        );
        assert!(convert("--details a.xlsx").unwrap().details);
        assert_eq!(
            convert("a.xlsx --format kml").unwrap().export,
            Some(maplink::export::ExportFormat::Kml)
        );
        for bad in ["", "a.xlsx b.xlsx", "a.xlsx --fast", "a.xlsx --format shp"] {
            let e = convert(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn unknown_words_are_usage_errors() {
        for line in ["maplink-worker serve", "maplink-worker --fast"] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{line}");
        }
    }
}
