//! `maplink-worker convert INPUT [-o OUTPUT] [--details] [--format F] [--config FILE]`:
//! the coordinates job run locally on one file, with no queue — what `python
//! map_converter.py in.xlsx out.xlsx` did for scripts. `--details` adds the `Source`,
//! `Precision` and `Check` columns. `--format geojson|kml|gpx` writes the located rows
//! as map data instead of the sheet (the same export as the API's download). A
//! progress bar on stderr (when it is a terminal), a summary at the end (with the
//! region names the check did not know), and a non-zero exit with a clear message on
//! bad input.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use maplink::{config::Settings, domain::FileFormat, export::ExportFormat, sheet};

use crate::{
    heartbeat::RunSignals,
    jobs::pipeline::{self, Options},
    resolve::Resolver,
};

const USAGE: &str = "usage: maplink-worker convert INPUT [-o OUTPUT] [--details] [--format geojson|kml|gpx] [--config FILE]";

struct Args {
    input: PathBuf,
    output: Option<PathBuf>,
    config: Option<PathBuf>,
    /// Add the `Source`, `Precision` and `Check` columns.
    details: bool,
    /// Write the located rows in this format instead of the sheet.
    export: Option<ExportFormat>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut input = None;
    let mut output = None;
    let mut config = None;
    let mut details = false;
    let mut export = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" | "--output" => output = Some(PathBuf::from(it.next().ok_or("-o needs a file")?)),
            "--config" => config = Some(PathBuf::from(it.next().ok_or("--config needs a file")?)),
            "--details" => details = true,
            "--format" => {
                let name = it.next().ok_or("--format needs geojson, kml or gpx")?;
                export = Some(
                    ExportFormat::parse(name)
                        .ok_or(format!("--format {name}: use geojson, kml or gpx"))?,
                );
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if input.is_none() => input = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    Ok(Args {
        input: input.ok_or("INPUT is missing")?,
        output,
        config,
        details,
        export,
    })
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

fn draw(done: u64, total: u64) {
    const WIDTH: u64 = 30;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    let percent = if total == 0 {
        100.0
    } else {
        done as f64 * 100.0 / total as f64
    };
    let bar = format!(
        "{}{}",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize)
    );
    eprint!("\r[{bar}] {percent:5.1}% {done}/{total} rows");
    let _ = std::io::stderr().flush();
}

/// Runs the command; `args` are the words after `convert`.
pub async fn convert(args: &[String]) -> ExitCode {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let settings = Settings::load(args.config.clone()).map_err(|e| e.to_string())?;
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
        concurrency: settings.resolve_concurrency,
        row_delay: Duration::from_millis(settings.row_delay_ms),
        limits: settings.sheet_limits(),
        details: args.details,
    };
    let signals = Arc::new(RunSignals::default());
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let signals = signals.clone();
        tokio::spawn(async move {
            loop {
                draw(
                    signals.progress.load(Ordering::Relaxed),
                    signals.total.load(Ordering::Relaxed),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let result = pipeline::convert(bytes, format, &opts, &signals).await;
    if let Some(bar) = bar {
        bar.abort();
        draw(
            signals.progress.load(Ordering::Relaxed),
            signals.total.load(Ordering::Relaxed),
        );
        eprintln!();
    }
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

    #[test]
    fn arguments_are_checked() {
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert!(parse_args(&words("")).is_err());
        assert!(parse_args(&words("a.xlsx b.xlsx")).is_err());
        assert!(parse_args(&words("a.xlsx --fast")).is_err());
        let a = parse_args(&words("a.xlsx -o b.xlsx")).unwrap();
        assert_eq!(
            (a.input, a.output, a.details),
            (
                PathBuf::from("a.xlsx"),
                Some(PathBuf::from("b.xlsx")),
                false
            )
        );
        assert!(parse_args(&words("--details a.xlsx")).unwrap().details);
        let a = parse_args(&words("a.xlsx --format kml")).unwrap();
        assert_eq!(a.export, Some(ExportFormat::Kml));
        assert!(parse_args(&words("a.xlsx --format shp")).is_err());
        assert!(parse_args(&words("a.xlsx --format")).is_err());
    }
}
