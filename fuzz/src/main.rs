//! `maplink-fuzz`: mutates real .xlsx and .csv files and runs each through the upload
//! check and the coordinates job, looking for panics, aborts, errors that are not
//! refusals, the two disagreeing, hangs and memory growth (see `run.rs`).
//!
//! ```text
//! maplink-fuzz [--seed N] [--inputs N] [--from K]   # N inputs, cases K.. (default 1, 20000, 0)
//! maplink-fuzz --seed N --case K                    # one case again, with details
//! maplink-fuzz --replay FILE...                     # files as they are
//! options: --regressions DIR (default tests/fixtures/fuzz), --failures DIR (default
//!          target/fuzz-failures), --max-input-secs S (20), --max-rss-mib M (1024), --trace
//! ```
//!
//! Exit status: 0 no finding, 1 findings (listed, inputs saved), 2 usage, 3 an input
//! that hung; an abort shows as a signal.

mod corpus;
mod guard;
mod mutate;
mod report;
mod rng;
mod run;
mod target;

use std::{path::PathBuf, process::ExitCode, time::Duration};

const USAGE: &str = "usage: maplink-fuzz [--seed N] [--inputs N] [--from K] [--case K] [--replay FILE...] \
[--regressions DIR] [--failures DIR] [--max-input-secs S] [--max-rss-mib M] [--trace]";

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run::run(&config) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: impl Iterator<Item = String>) -> Result<run::Config, String> {
    let mut config = run::Config {
        seed: 1,
        inputs: 20_000,
        from: 0,
        case: None,
        replay: Vec::new(),
        regressions: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz")),
        failures: default_failures_dir(),
        max_input: Duration::from_secs(20),
        max_rss_mib: 1024,
        trace: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |text: String| {
            text.replace('_', "")
                .parse::<u64>()
                .map_err(|e| format!("{text}: {e}"))
        };
        match arg.as_str() {
            "--seed" => config.seed = number(value("--seed")?)?,
            "--inputs" => config.inputs = number(value("--inputs")?)?,
            "--from" => config.from = number(value("--from")?)?,
            "--case" => config.case = Some(number(value("--case")?)?),
            "--regressions" => config.regressions = Some(value("--regressions")?.into()),
            "--failures" => config.failures = value("--failures")?.into(),
            "--max-input-secs" => {
                config.max_input = Duration::from_secs(number(value("--max-input-secs")?)?);
            }
            "--max-rss-mib" => config.max_rss_mib = number(value("--max-rss-mib")?)?,
            "--trace" => config.trace = true,
            "--replay" => {
                while let Some(file) = args.next_if(|a| !a.starts_with("--")) {
                    config.replay.push(file.into());
                }
                if config.replay.is_empty() {
                    return Err("--replay needs files".into());
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

/// `target/fuzz-failures`, beside the `target/<profile>/` directory this binary is in.
fn default_failures_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("fuzz-failures")))
        .unwrap_or_else(|| PathBuf::from("fuzz-failures"))
}
