//! The benchmark scenarios.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, extract::Path, http::header, response::IntoResponse, routing::get};
use maplink::{
    cache::{LinkCache, SqliteLinkCache},
    config::Settings,
    domain::FileFormat,
    session::open_pool,
};
use maplink_worker::{
    heartbeat::RunSignals,
    jobs::pipeline::{self, Options},
    resolve::Resolver,
};
use rust_xlsxwriter::Workbook;

use crate::rss;

pub fn options(settings: &Settings, cache: Option<Arc<dyn LinkCache>>) -> anyhow::Result<Options> {
    Ok(Options {
        resolver: Arc::new(Resolver::new(settings, cache).map_err(anyhow::Error::msg)?),
        concurrency: settings.resolve().concurrency,
        row_delay: Duration::ZERO,
        limits: settings.sheet_limits(),
        details: false,
    })
}

/// Runs the whole pipeline on `input`; returns the result and the seconds it took.
pub async fn timed_convert(
    input: Vec<u8>,
    format: FileFormat,
    opts: &Options,
) -> anyhow::Result<(pipeline::Converted, f64)> {
    let started = Instant::now();
    let converted = pipeline::convert(input, format, opts, &Arc::new(RunSignals::default()))
        .await?
        .ok_or_else(|| anyhow::anyhow!("cancelled"))?;
    Ok((converted, started.elapsed().as_secs_f64()))
}

/// An .xlsx with `rows` data rows; `link(i)` gives row i's link.
pub fn generate(rows: usize, link: impl Fn(usize) -> String) -> anyhow::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Name", "Region", "Maps link"].iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = i as u32 + 1;
        ws.write_string(r, 0, format!("Site {i}"))?;
        ws.write_string(r, 1, "Gauteng")?;
        ws.write_string(r, 2, link(i))?;
    }
    Ok(book.save_to_buffer()?)
}

/// The sheet of the `sheet`, `storage` and `exports` scenarios: `rows` place links
/// that parse offline, spread over a degree or so around Cape Town.
pub fn parseable_sheet(rows: usize) -> anyhow::Result<Vec<u8>> {
    generate(rows, |i| {
        let lat = -34.0 + (i % 1000) as f64 * 0.01;
        let lng = 18.0 + (i % 997) as f64 * 0.01;
        format!("https://www.google.com/maps/place/Site/@{lat:.4},{lng:.4},15z")
    })
}

pub fn report(name: &str, value: f64, unit: &str, target: Option<f64>) -> bool {
    match target {
        Some(t) => {
            let ok = value < t;
            println!(
                "  {name:<28} {value:>10.2} {unit:<5} (target < {t} {unit}) {}",
                if ok { "ok" } else { "MISSED" }
            );
            ok
        }
        None => {
            println!("  {name:<28} {value:>10.2} {unit}");
            true
        }
    }
}

/// A sheet of parseable links through the whole pipeline. The sheet is generated here
/// and converted in a fresh child process, so that the peak RSS reported is the
/// conversion's alone (an allocator keeps the generator's freed memory).
pub async fn sheet(rows: usize) -> anyhow::Result<bool> {
    println!("sheet: {rows} rows of parseable links (.xlsx)");
    let input = parseable_sheet(rows)?;
    println!(
        "  input size                   {:>10.2} MiB",
        input.len() as f64 / 1048576.0
    );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("input.xlsx");
    std::fs::write(&path, &input)?;
    drop(input);
    let Measured {
        seconds: elapsed,
        peak_mib: peak,
        successful_rows: converted,
        output_bytes: output,
    } = measure_in_child(&path)?;
    anyhow::ensure!(
        converted == rows,
        "only {converted} of {rows} rows converted"
    );
    let small = rows <= 100_000;
    let mut met = report("job time", elapsed, "s", small.then_some(2.0));
    report("throughput", rows as f64 / elapsed, "rows/s", None);
    met &= report(
        "peak RSS of the process",
        peak,
        "MiB",
        small.then_some(300.0),
    );
    report("output size", output as f64 / 1048576.0, "MiB", None);
    Ok(met)
}

/// One conversion measured in its own process.
pub struct Measured {
    pub seconds: f64,
    pub peak_mib: f64,
    pub successful_rows: usize,
    pub output_bytes: usize,
}

/// Converts `path` in a fresh child process (`measure FILE`), so that the peak RSS is
/// the conversion's alone.
pub fn measure_in_child(path: &std::path::Path) -> anyhow::Result<Measured> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("measure")
        .arg(path)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "measuring failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [seconds, peak_mib, successful_rows, output_bytes] = numbers[..] else {
        anyhow::bail!("unexpected measurement {text:?}")
    };
    Ok(Measured {
        seconds,
        peak_mib,
        successful_rows: successful_rows as usize,
        output_bytes: output_bytes as usize,
    })
}

/// Converts one file (its extension names the format) and prints `seconds peak_mib
/// successful_rows output_bytes`.
pub async fn measure(path: &std::path::Path) -> anyhow::Result<()> {
    let opts = options(&Settings::default(), None)?;
    let format = FileFormat::from_filename(&path.to_string_lossy())
        .ok_or_else(|| anyhow::anyhow!("{} is neither .xlsx nor .csv", path.display()))?;
    let input = std::fs::read(path)?;
    let (converted, elapsed) = timed_convert(input, format, &opts).await?;
    println!(
        "{elapsed} {} {} {}",
        rss::peak_mib().unwrap_or(f64::NAN),
        converted.filled.counts.successful,
        converted.output.len()
    );
    Ok(())
}

async fn delayed(Path((lat, lng)): Path<(String, String)>) -> impl IntoResponse {
    tokio::time::sleep(Duration::from_millis(100)).await;
    (
        axum::http::StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("https://maps.google.com/?q={lat},{lng}"),
        )],
    )
}

/// N distinct short links, each answered after 100 ms, resolved twice with one cache.
pub async fn links(n: usize) -> anyhow::Result<bool> {
    println!("links: {n} distinct short links, each answered after 100 ms");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let app = Router::new().route("/s/{lat}/{lng}", get(delayed));
        let _ = axum::serve(listener, app).await;
    });
    let input = generate(n, |i| {
        format!(
            "http://{addr}/s/{:.4}/{:.4}",
            -30.0 + i as f64 * 0.001,
            25.0 + i as f64 * 0.001
        )
    })?;
    let dir = tempfile::tempdir()?;
    let cache: Arc<dyn LinkCache> =
        Arc::new(SqliteLinkCache::open(open_pool(&dir.path().join("cache.db")).await?).await?);
    let settings = Settings {
        resolve_allowed_hosts: vec!["127.0.0.1".into()],
        resolve_private_hosts: vec!["127.0.0.1".into()],
        ..Settings::default()
    };
    println!(
        "  (resolve_concurrency {}, resolve_per_host {})",
        settings.resolve_concurrency, settings.resolve_per_host
    );
    let mut met = true;
    for (run, target) in [("cold cache", 10.0), ("warm cache", 1.0)] {
        let opts = options(&settings, Some(cache.clone()))?;
        let (converted, elapsed) = timed_convert(input.clone(), FileFormat::Xlsx, &opts).await?;
        anyhow::ensure!(
            converted.filled.counts.successful as usize == n,
            "not every link resolved: {:?}",
            converted.filled.counts
        );
        met &= report(&format!("job time, {run}"), elapsed, "s", Some(target));
    }
    server.abort();
    Ok(met)
}
