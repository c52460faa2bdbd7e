//! The `exports` scenario: what a map export of a large run costs. The `sheet`
//! scenario's sheet is converted once; then each format is built from the processed
//! sheet and the run's log the way the download route builds it (read the sheet, pair
//! rows with the log, write), median of 5, against the conversion's own time.

use std::{sync::Arc, time::Instant};

use maplink::{config::Settings, domain::FileFormat, export::ExportFormat, sheet};

use crate::scenarios::{options, parseable_sheet, report, timed_convert};

const RUNS: usize = 5;

pub async fn exports(rows: usize) -> anyhow::Result<bool> {
    println!(
        "exports: {rows} located rows (.xlsx) as GeoJSON, KML and GPX, each built as the \
         download route builds it; median of {RUNS} runs, against the conversion's time"
    );
    let input = parseable_sheet(rows)?;
    let settings = Settings::default();
    let opts = options(&settings, None)?;
    let (converted, job) = timed_convert(input, FileFormat::Xlsx, &opts).await?;
    report("conversion (the job)", job, "s", None);
    let processed = Arc::new(converted.output);
    let outcomes = Arc::new(converted.filled.rows);
    let mut met = true;
    for format in ExportFormat::ALL {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..RUNS {
            let (processed, outcomes) = (processed.clone(), outcomes.clone());
            let started = Instant::now();
            let (bytes, unlocated) = tokio::task::spawn_blocking(move || {
                let book = sheet::read(&processed, FileFormat::Xlsx, &sheet::Limits::FORMAT)?;
                maplink::export::export(format, "bench", book.first(), &outcomes)
            })
            .await??;
            times.push(started.elapsed().as_secs_f64());
            anyhow::ensure!(unlocated == 0, "{unlocated} rows left out");
            size = bytes.len();
        }
        times.sort_by(f64::total_cmp);
        let median = times[RUNS / 2];
        println!("  {}", format.name());
        // An export should never cost more than the conversion it shows.
        met &= report("  time", median, "s", Some(job));
        report("  throughput", rows as f64 / median, "rows/s", None);
        report("  size", size as f64 / 1048576.0, "MiB", None);
    }
    Ok(met)
}
