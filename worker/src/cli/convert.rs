//! `maplink-worker convert INPUT [-o OUTPUT] [--details] [--format geojson|kml|gpx]`:
//! the coordinates job run locally on one file, with no queue — what `python
//! map_converter.py in.xlsx out.xlsx` did for scripts. `--details` adds the `Source`,
//! `Precision` and `Check` columns. `--format` writes the located rows as map data
//! instead of the sheet (the same export as the API's download). A progress bar on
//! stderr (when it is a terminal), a summary at the end (with the region names the
//! check did not know), and a non-zero exit with a clear message on bad input.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use maplink::{config::Settings, domain::FileFormat, export::ExportFormat, sheet};

use crate::{
    heartbeat::RunSignals,
    jobs::pipeline::{self, Options},
    resolve::Resolver,
};

#[derive(Clone, Debug, clap::Args)]
pub struct ConvertArgs {
    /// The sheet to convert (.xlsx or .csv)
    pub input: PathBuf,
    /// Where to write the result [default: processed_<INPUT> beside INPUT, with the
    /// format's extension for --format]; failed and skipped rows go beside it
    /// (<OUTPUT>_failed, <OUTPUT>_skipped)
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
    /// Add the Source, Precision and Check columns
    #[arg(long)]
    pub details: bool,
    /// Write the located rows as map data instead of the sheet
    #[arg(long = "format", value_name = "FORMAT", value_parser = export_format())]
    pub export: Option<ExportFormat>,
}

/// `--format`'s values, as the download route names them.
fn export_format() -> impl TypedValueParser<Value = ExportFormat> {
    PossibleValuesParser::new(ExportFormat::ALL.map(ExportFormat::name))
        .map(|name| ExportFormat::parse(&name).expect("one of the listed names"))
}

/// `dir/name.ext` → `dir/<prefix>name<suffix>.ext`.
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
    let file = if ext.is_empty() {
        format!("{prefix}{stem}{suffix}")
    } else {
        format!("{prefix}{stem}{suffix}.{ext}")
    };
    path.with_file_name(file)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a
/// rename, so a crash never leaves half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".maplink-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Runs the command with the settings of `config` (or the defaults) and the
/// `MAPLINK_*` variables: 0 when the file was converted, 1 with a message on stderr
/// when it was not.
pub async fn run(args: &ConvertArgs, config: Option<PathBuf>) -> ExitCode {
    match convert(args, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A bar on stderr following `signals`, updated by a task of its own until it is
/// finished; indicatif hides it (and nothing is spawned) when stderr is not a
/// terminal, so scripts and logs get the summary only.
struct Progress {
    bar: ProgressBar,
    follow: Option<tokio::task::JoinHandle<()>>,
    signals: Arc<RunSignals>,
}

impl Progress {
    fn start(signals: Arc<RunSignals>) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("[{bar:30}] {percent:>3}% {pos}/{len} rows")
                .expect("a valid template")
                .progress_chars("#>."),
        );
        let follow = (!bar.is_hidden()).then(|| {
            let (bar, signals) = (bar.clone(), signals.clone());
            tokio::spawn(async move {
                loop {
                    Self::show(&bar, &signals);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Self {
            bar,
            follow,
            signals,
        }
    }

    fn show(bar: &ProgressBar, signals: &RunSignals) {
        // The total is 0 until the sheet has been read: an empty bar until then,
        // rather than a full one over no rows.
        let total = signals.total.load(Ordering::Relaxed);
        if total > 0 {
            bar.set_length(total);
        }
        bar.set_position(signals.progress.load(Ordering::Relaxed));
    }

    /// Draws the last state and leaves it on screen, the summary on the next line.
    fn finish(self) {
        if let Some(follow) = self.follow {
            follow.abort();
        }
        Self::show(&self.bar, &self.signals);
        self.bar.finish();
        if !self.bar.is_hidden() {
            eprintln!();
        }
    }
}

async fn convert(args: &ConvertArgs, config: Option<PathBuf>) -> Result<(), String> {
    let settings = Settings::load(config).map_err(|e| e.to_string())?;
    let name = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let format = FileFormat::from_filename(&name).ok_or("Only .xlsx or .csv files are allowed")?;
    let bytes = std::fs::read(&args.input)
        .map_err(|e| format!("cannot read {}: {e}", args.input.display()))?;
    let output = args.output.clone().unwrap_or_else(|| {
        let processed = sibling(&args.input, "processed_", "");
        match args.export {
            Some(export) => processed.with_extension(export.extension()),
            None => processed,
        }
    });
    let opts = Options {
        resolver: Arc::new(Resolver::new(&settings, None)?),
        concurrency: settings.resolve().concurrency,
        row_delay: settings.queue().row_delay,
        limits: settings.sheet_limits(),
        details: args.details,
    };
    let signals = Arc::new(RunSignals::default());
    let started = Instant::now();
    let progress = Progress::start(signals.clone());
    let result = pipeline::convert(bytes, format, &opts, &signals).await;
    progress.finish();
    let converted = result
        .map_err(|e| match e {
            maplink::Error::Sheet(reason) => format!("Error processing file: {reason}"),
            other => other.to_string(),
        })?
        .ok_or("the conversion was cancelled")?;
    let c = converted.filled.counts;
    let mut written = vec![output.display().to_string()];
    if let Some(export) = args.export {
        let title = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let book = sheet::read(&converted.output, format, &sheet::Limits::FORMAT)
            .map_err(|e| e.to_string())?;
        let (bytes, unlocated) =
            maplink::export::export(export, &title, book.first(), &converted.filled.rows)
                .map_err(|e| e.to_string())?;
        write_atomic(&output, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
        if unlocated > 0 {
            eprintln!(
                "{unlocated} rows without coordinates are not in the {} file",
                export.name()
            );
        }
    } else {
        write_atomic(&output, &converted.output)
            .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    }
    for (count, suffix, bytes) in [
        (c.failed, "_failed", &converted.failed),
        (c.skipped, "_skipped", &converted.skipped),
    ] {
        if count > 0 && args.export.is_none() {
            let path = sibling(&output, "", suffix);
            write_atomic(&path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path.display().to_string());
        }
    }
    eprintln!(
        "{} rows: {} successful, {} failed, {} skipped in {:.1} s",
        c.total(),
        c.successful,
        c.failed,
        c.skipped,
        started.elapsed().as_secs_f64()
    );
    let unknown = &converted.filled.unknown_regions;
    if !unknown.is_empty() {
        eprintln!(
            "{}",
            crate::jobs::row_events::unknown_regions_message(unknown)
        );
    }
    let outside = converted
        .filled
        .rows
        .iter()
        .filter(|r| r.check.is_some())
        .count();
    if outside > 0 {
        let hint = if args.details {
            "see the Check column"
        } else {
            "run with --details for a Check column"
        };
        eprintln!("{outside} rows have a point outside the region they name ({hint})");
    }
    for path in written {
        eprintln!("wrote {path}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_follow_the_original_cli() {
        assert_eq!(
            sibling(Path::new("in/stores.xlsx"), "processed_", ""),
            PathBuf::from("in/processed_stores.xlsx")
        );
        assert_eq!(
            sibling(Path::new("out.csv"), "", "_failed"),
            PathBuf::from("out_failed.csv")
        );
    }
}
