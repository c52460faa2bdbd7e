//! The conversion itself, shared by the queued job and the one-shot CLI: bytes of a
//! sheet in, the filled-in sheet (and its failed/skipped subsets) out, each row
//! checked against its region ([`region_check`]) and, when asked, with the details
//! columns ([`detail_columns`]).
//!
//! Reading, planning, applying and writing are CPU work and run on blocking threads
//! (on an apalis worker's future they would stall every other job of the worker and
//! its pickups of new ones); only the network lookups run on the async runtime.

use std::{
    collections::HashMap,
    io::{self, Write},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::StreamExt;
use maplink::{
    Error,
    domain::{FileFormat, RowOutcome, RowStatus},
    sheet,
};

use crate::{
    heartbeat::RunSignals,
    jobs::{
        detail_columns,
        geocode_rows::{self, AddressSearch},
        region_check,
        rows::{self, Filled, Plan},
    },
    resolve::{Resolution, Resolver},
};

pub struct Options {
    pub resolver: Arc<Resolver>,
    /// Links looked up at once.
    pub concurrency: usize,
    /// Pause per planned row (rehearsing long runs).
    pub row_delay: Duration,
    /// What one workbook may ask the job to hold.
    pub limits: sheet::Limits,
    /// Add the `Source`, `Precision` and `Check` columns.
    pub details: bool,
}

#[derive(Debug)]
pub struct Converted {
    pub filled: Filled,
    pub output: Vec<u8>,
    /// The header and the failed rows only.
    pub failed: Vec<u8>,
    /// The header and the skipped rows only.
    pub skipped: Vec<u8>,
}

/// Converts one sheet. `Ok(None)` when `signals` cancelled the run part-way.
pub async fn convert(
    bytes: Vec<u8>,
    format: FileFormat,
    opts: &Options,
    signals: &Arc<RunSignals>,
) -> Result<Option<Converted>, Error> {
    let plan_signals = signals.clone();
    let row_delay = opts.row_delay;
    let limits = opts.limits;
    let geocoding = opts.resolver.geocoder().is_some();
    let planned = blocking(move || {
        let book = sheet::read(&bytes, format, &limits)?;
        let cols = sheet::find_columns(book.first().header())?;
        plan_signals
            .total
            .store(book.first().data_len() as u64, Ordering::Relaxed);
        let search = geocoding.then(|| AddressSearch::for_header(book.first().header(), &cols));
        let plans = rows::plan(
            book.first(),
            &cols,
            &plan_signals,
            row_delay,
            search.as_ref(),
        );
        Ok((book, cols, plans))
    })
    .await?;
    let (mut book, cols, Ok(plans)) = planned else {
        return Ok(None);
    };

    // Links and address searches go out side by side: they reach different services.
    let (online, geocoded) = tokio::join!(
        resolve_online(&opts.resolver, opts.concurrency, &plans, signals),
        geocode_rows::search_all(&opts.resolver, opts.concurrency, &plans, signals),
    );
    let (Some(online), Some(geocoded)) = (online, geocoded) else {
        return Ok(None);
    };

    let details = opts.details;
    let converted = blocking(move || {
        let mut filled = rows::apply(book.first_mut(), &cols, &plans, &online, &geocoded);
        filled.unknown_regions = region_check::check_rows(book.first(), &mut filled.rows);
        if details {
            detail_columns::write(book.first_mut(), &filled.rows);
        }
        let mut subset = |status: RowStatus| {
            book.write_only_rows(|i| filled.rows.get(i).is_some_and(|r| r.status == status))
        };
        let failed = subset(RowStatus::Failed)?;
        let skipped = subset(RowStatus::Skipped)?;
        let output = sheet::write(&book)?;
        Ok(Converted {
            filled,
            output,
            failed,
            skipped,
        })
    })
    .await?;
    Ok(Some(converted))
}

/// Writes the per-row log as JSON lines.
pub fn write_rows_jsonl(rows: &[RowOutcome], w: impl Write) -> io::Result<()> {
    let mut w = io::BufWriter::new(w);
    for row in rows {
        serde_json::to_writer(&mut w, row)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("conversion", io::Error::other(e)))?
}

/// Resolves every distinct link that needs the network, `concurrency` at a time. Each
/// answer counts as progress for every row holding that link. `None` when cancelled.
async fn resolve_online(
    resolver: &Arc<Resolver>,
    concurrency: usize,
    plans: &[Plan],
    signals: &RunSignals,
) -> Option<HashMap<String, Resolution>> {
    let mut rows_per_link: HashMap<&str, u64> = HashMap::new();
    for plan in plans {
        if let Plan::Online(link) = plan {
            *rows_per_link.entry(link.as_str()).or_default() += 1;
        }
    }
    let mut answers = HashMap::with_capacity(rows_per_link.len());
    // Owned links and an owned resolver handle keep the futures `Send + 'static`, as
    // an apalis worker's future must be.
    let links: Vec<(String, u64)> = rows_per_link
        .into_iter()
        .map(|(l, n)| (l.to_owned(), n))
        .collect();
    let resolver = resolver.clone();
    let mut pending = futures::stream::iter(links)
        .map(move |(link, rows)| {
            let resolver = resolver.clone();
            async move {
                let resolution = resolver.resolve(&link).await;
                (link, rows, resolution)
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((link, rows, resolution)) = pending.next().await {
        if signals.cancelled.load(Ordering::Relaxed) {
            return None;
        }
        signals.progress.fetch_add(rows, Ordering::Relaxed);
        answers.insert(link, resolution);
    }
    Some(answers)
}
