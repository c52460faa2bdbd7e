//! `maplink-bench`: measures the coordinates job on generated sheets.
//!
//! ```text
//! cargo run --release -p maplink-bench            # sheet and links
//! cargo run --release -p maplink-bench -- sheet 1048575
//! cargo run --release -p maplink-bench -- hostile
//! cargo run --release -p maplink-bench -- queue
//! cargo run --release -p maplink-bench -- storage
//! cargo run --release -p maplink-bench -- shutdown
//! cargo run --release -p maplink-bench -- exports
//! cargo run --release -p maplink-bench -- unfinished
//! ```
//!
//! Scenarios:
//! - `sheet [ROWS]` (default 100,000): an .xlsx of parseable links through the whole
//!   job pipeline (read, parse, write output and subsets), converted in a fresh child
//!   process (`measure FILE`); job time, rows/s and that process's peak RSS.
//! - `links [N]` (default 1,000): a sheet of N distinct short links against a local
//!   server that answers each after 100 ms, twice with one link cache: cold and warm.
//! - `hostile`: the hostile-upload corpus and the largest ordinary uploads against the
//!   release `maplink-api` and `maplink-worker` (distributed mode: a private
//!   `redis-server`, fresh processes per case; plus the largest CSV once in embedded
//!   mode): each answer, its time, the API's and the worker's peak RSS and `/healthz`
//!   latency meanwhile; then the largest sheets the default limits accept, converted in
//!   a fresh process (peak RSS). Needs `redis-server` and
//!   `cargo build --release -p maplink-api -p maplink-worker -p maplink-bench`.
//! - `queue`: the job queue with no-op jobs through the worker runtime, on a private
//!   `redis-server` and on embedded SQLite: enqueue rates (chunks of 1,000, one at a
//!   time, 50 in flight), the drain rate of one worker at concurrency 50 (median of 3,
//!   with Redis commands per job), idle enqueue → handler latency, and 500 one-row
//!   sessions end to end through the release binaries with two workers. Run it in the
//!   same sitting as the BullMQ reference benchmark; `BULLMQ_PROCESS_RATE` (its
//!   `process_c50`, jobs/s) lets the drain be judged against it.
//! - `storage [ROWS]` (default 100,000): the `sheet` scenario's sheet through the whole
//!   coordinates job with the session's files on the local filesystem and in S3 (an
//!   in-process `s3s-fs` server on 127.0.0.1), alternating, median of 5 each: upload,
//!   job and download times, rows/s, bytes moved, the S3 output checked equal to the
//!   local one, and the S3 ÷ local job-time ratio.
//! - `shutdown`: a worker stopped with SIGTERM mid-job ([`shutdown`]): its exit time
//!   and when the job completes on a second worker, against grace and lease.
//! - `exports [ROWS]` (default 100,000): the `sheet` scenario's sheet converted once,
//!   then exported as GeoJSON, KML and GPX the way the download route does it (read
//!   the processed sheet, pair it with the run's log, write); median of 5 per format:
//!   time (target: less than the conversion's), rows/s and size.
//!
//! - `unfinished`: 75 uploads of 15 MiB from three addresses that never send their
//!   closing boundary, and an ordinary upload from a fourth ([`unfinished`]): how they
//!   were answered, the API's peak RSS, and its RSS once they left.
//!
//! Each scenario prints its numbers and the target; the exit status is non-zero when a
//! target is missed.

mod exports;
mod hostile;
mod process;
mod queue;
mod queue_sessions;
mod rss;
mod scenarios;
mod shutdown;
mod stack;
mod storage;
mod unfinished;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> anyhow::Result<usize> {
        Ok(match args.get(i) {
            Some(n) => n.parse()?,
            None => default,
        })
    };
    let mut met = true;
    match args.first().map(String::as_str) {
        Some("sheet") => met &= scenarios::sheet(number(1, 100_000)?).await?,
        Some("links") => met &= scenarios::links(number(1, 1_000)?).await?,
        Some("hostile") => met &= hostile::hostile().await?,
        Some("queue") => met &= queue::queue().await?,
        Some("storage") => met &= storage::storage(number(1, 100_000)?).await?,
        Some("shutdown") => met &= shutdown::shutdown().await?,
        Some("exports") => met &= exports::exports(number(1, 100_000)?).await?,
        Some("unfinished") => met &= unfinished::unfinished().await?,
        Some("measure") => {
            let path = args
                .get(1)
                .ok_or_else(|| anyhow::anyhow!("measure needs a file"))?;
            scenarios::measure(std::path::Path::new(path)).await?;
        }
        None => {
            met &= scenarios::sheet(100_000).await?;
            met &= scenarios::links(1_000).await?;
        }
        Some(other) => {
            anyhow::bail!(
                "unknown scenario {other:?}; use sheet [ROWS], links [N], hostile, queue, storage [ROWS], shutdown, exports [ROWS] or unfinished"
            )
        }
    }
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
