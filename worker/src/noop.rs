//! A no-op job through the real queue runtime (the same job source, acknowledging
//! layer, lease keeping, worker layers and attempts cap as the coordinates job), for
//! the queue benchmark and the pickup-latency tests.

use std::{sync::Arc, time::Duration};

use apalis::prelude::*;
use maplink::shutdown::Shutdown;
use serde::{Deserialize, Serialize};

use crate::queue::{
    JobStore,
    attempts::{self, Budget},
    monitor::{RunError, run_monitor},
    source::JobSource,
    source::SourceConfig,
};

/// A job that does nothing but report when it was entered.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct NoopJob {
    /// When it was enqueued, µs since the epoch.
    pub sent_us: u64,
}

/// Called on every handler entry with the job.
pub type OnEntry = Arc<dyn Fn(NoopJob) + Send + Sync>;

#[derive(Clone)]
struct NoopState {
    on_entry: OnEntry,
    max_attempts: usize,
}

/// Now, in µs since the epoch.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Runs a no-op worker named `name` on `store` until `shutdown`.
pub async fn run(
    store: Arc<dyn JobStore>,
    config: SourceConfig,
    name: String,
    max_attempts: usize,
    on_entry: OnEntry,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let state = NoopState {
        on_entry,
        max_attempts,
    };
    let concurrency = config.concurrency;
    let monitor = Monitor::new().register(move |_restarts| {
        WorkerBuilder::new(name.clone())
            .backend(JobSource::<NoopJob>::new(store.clone(), config))
            .concurrency(concurrency)
            .enable_tracing()
            .catch_panic()
            .data(state.clone())
            .build(noop_task)
    });
    run_monitor(
        monitor,
        Box::pin(tokio::time::sleep(Duration::from_secs(5))),
        shutdown,
    )
    .await
}

async fn noop_task(
    job: NoopJob,
    state: Data<NoopState>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    if Budget::of(&attempt, state.max_attempts) == Budget::Spent {
        return Err(attempts::give_up("attempts used up".into()));
    }
    (state.on_entry)(job);
    Ok(())
}
