//! Running a worker process: the apalis monitor with the coordinates job, the due-task
//! promoter (Redis) and the cleanup schedule, all stopped by one shutdown signal.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::prelude::*;
use apalis_codec::json::JsonCodec;
use apalis_core::backend::{
    BackendConfig, WireFormatBackend, ext::with_codec::WithCodec, finalize::Durable,
    persistence::TaskPersistLayer,
};
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use maplink::{jobs::ConvertJob, metrics as m, shutdown::Shutdown};
use serde_json::Value;

use crate::{
    jobs::{cleanup, convert},
    queue::{
        QueueBackend,
        armed_interval::ArmedInterval,
        lenient::{LenientJson, Payload},
        names, promote,
    },
    state::WorkerState,
};

/// Restarts allowed within [`RESTART_WINDOW`] before the process gives up and exits
/// non-zero (a supervisor then restarts it, with a fresh name).
const MAX_RESTARTS: usize = 20;
const RESTART_WINDOW: Duration = Duration::from_secs(300);
/// Due tasks promoted per script call; far below the ~8,000 that breaks apalis' fetch.
const PROMOTE_CHUNK: usize = 1000;
const PROMOTE_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("queue workers stopped: {0}")]
    Monitor(String),
    #[error("queue workers stopped without a shutdown request")]
    Unexpected,
    #[error(transparent)]
    Store(#[from] maplink::Error),
}

/// What a process runs besides the HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub convert: bool,
    pub cleanup: bool,
}

/// Runs until `shutdown`; an error means the workers died and the process should exit
/// non-zero.
pub async fn run(
    state: WorkerState,
    backend: QueueBackend,
    roles: Roles,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let mut side_tasks = Vec::new();
    if roles.cleanup {
        let s = state.clone();
        let stop = shutdown.clone();
        side_tasks.push(tokio::spawn(async move {
            cleanup::schedule(s, stop.wait()).await
        }));
    }
    if roles.convert {
        crate::observe::spawn_presence(state.clone(), shutdown.clone());
    }
    let result = if roles.convert {
        match &backend {
            QueueBackend::Redis(conn) => {
                let config = QueueBackend::redis_config(&state.settings);
                let mut promoter_conn = conn.clone();
                // Promote once before the first fetch: a backlog built up while no
                // worker ran would otherwise crash that fetch.
                if let Err(e) =
                    promote::promote_due(&mut promoter_conn, &config, PROMOTE_CHUNK).await
                {
                    tracing::warn!(error = %e, "could not promote due tasks");
                }
                let stop = shutdown.clone();
                let promote_config = config.clone();
                side_tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(PROMOTE_EVERY);
                    loop {
                        tokio::select! {
                            _ = stop.clone().wait() => return,
                            _ = tick.tick() => {}
                        }
                        if let Err(e) =
                            promote::promote_due(&mut promoter_conn, &promote_config, PROMOTE_CHUNK)
                                .await
                        {
                            tracing::warn!(error = %e, "could not promote due tasks");
                        }
                    }
                }));
                let storage =
                    RedisStorage::<Payload<ConvertJob>>::new(conn.clone()).with_config(config);
                run_convert(storage, state.clone(), shutdown.clone()).await
            }
            QueueBackend::Sqlite(pool) => {
                let storage = SqliteStorage::<Payload<ConvertJob>>::new(pool)
                    .with_config(QueueBackend::sqlite_config(&state.settings));
                run_convert(storage, state.clone(), shutdown.clone()).await
            }
        }
    } else {
        shutdown.clone().wait().await;
        Ok(())
    };
    for t in side_tasks {
        // Side tasks end on the same shutdown; on an error exit, stop them here.
        t.abort();
        let _ = t.await;
    }
    result
}

/// The monitor for the coordinates job on any apalis backend that stores JSON bytes.
async fn run_convert<B>(storage: B, state: WorkerState, shutdown: Shutdown) -> Result<(), RunError>
where
    B: Backend<Task = Task<Vec<u8>>>
        + BackendConfig<
            Args = Payload<ConvertJob>,
            Kind = Durable,
            Layer = TaskPersistLayer<JsonCodec<Value>, Value>,
        > + Clone
        + Send
        + Sync
        + Unpin
        + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
    WithCodec<B, LenientJson<ConvertJob>>:
        WireFormatBackend<Codec = LenientJson<ConvertJob>, Compact = Vec<u8>>,
{
    let backend = WithCodec::new(storage, LenientJson::<ConvertJob>::default()).poll_with_strategy(
        ArmedInterval::new(Duration::from_millis(state.settings.poll_interval_ms)),
    );
    let process = state.process_name.to_string();
    let concurrency = state.settings.worker_concurrency;
    let restarts = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let stopping = Arc::new(AtomicBool::new(false));
    let stop_flag = stopping.clone();
    let shutdown_timeout = Duration::from_secs(state.settings.shutdown_timeout_secs);
    let monitor = Monitor::new()
        .should_restart(move |ctx, err| {
            // A backend error (a dropped connection, a Lua error) ends an apalis worker;
            // it is restarted under a new name (the old one is still "fresh" in the
            // queue's worker set), within a budget so a long outage ends the process.
            let mut recent = restarts.lock().unwrap_or_else(|p| p.into_inner());
            recent.retain(|t| t.elapsed() < RESTART_WINDOW);
            if stop_flag.load(Ordering::Relaxed) || recent.len() >= MAX_RESTARTS {
                tracing::error!(worker = ctx.name(), error = %err, "worker failed; not restarting");
                return false;
            }
            recent.push(Instant::now());
            tracing::warn!(worker = ctx.name(), error = %err, restarts = recent.len(), "worker failed; restarting under a new name");
            true
        })
        .register(move |restarts| {
            WorkerBuilder::new(names::worker_name(&process, restarts))
                .backend(backend.clone())
                .concurrency(concurrency)
                .enable_tracing()
                .catch_panic()
                .data(state.clone())
                .build(convert_task)
        })
        .shutdown_timeout(shutdown_timeout);
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.wait().await;
            stopping.store(true, Ordering::Relaxed);
            Ok(())
        }
    };
    let result = monitor.run_with_signal(signal).await;
    match result {
        Err(e) => Err(RunError::Monitor(e.to_string())),
        // `run_with_signal` also returns Ok when every worker died; only a requested
        // shutdown is a clean stop.
        Ok(()) if shutdown.is_triggered() => Ok(()),
        Ok(()) => Err(RunError::Unexpected),
    }
}

/// Counts a job as in flight while alive.
struct InFlight(Arc<AtomicU64>);

impl InFlight {
    fn enter(counter: &Arc<AtomicU64>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The apalis handler around [`convert::run`]: dead-letters undecodable payloads and
/// bounds attempts (apalis-redis ignores `max_attempts` and retries 25 times).
async fn convert_task(
    payload: Payload<ConvertJob>,
    state: Data<WorkerState>,
    attempt: Attempt,
    task_id: TaskId,
) -> Result<(), BoxDynError> {
    let job = match payload {
        Payload::Job(job) => job,
        Payload::Undecodable(why) => {
            tracing::error!(task = %task_id, %why, "undecodable payload sent to the dead set");
            return Err(AbortError::new(format!("undecodable payload: {why}")).into());
        }
    };
    let max = state.settings.job_max_attempts as usize;
    let current = attempt.current();
    if current > max {
        let reason = format!("Processing failed after {max} attempts");
        metrics::counter!(m::JOBS_FAILED).increment(1);
        convert::mark_failed(&state, &job, &reason).await?;
        return Err(AbortError::new(reason).into());
    }
    metrics::counter!(m::JOBS_STARTED).increment(1);
    if current > 1 {
        metrics::counter!(m::JOBS_RETRIED).increment(1);
    }
    let _in_flight = InFlight::enter(&state.in_flight);
    let started = std::time::Instant::now();
    let result = convert::run(&state, &job).await;
    metrics::histogram!(m::JOB_DURATION).record(started.elapsed().as_secs_f64());
    match result {
        Ok(outcome) => {
            match &outcome {
                convert::Outcome::Completed(counts) => {
                    metrics::counter!(m::JOBS_COMPLETED).increment(1);
                    for (outcome, n) in [
                        ("success", counts.successful),
                        ("failed", counts.failed),
                        ("skipped", counts.skipped),
                    ] {
                        metrics::counter!(m::ROWS, "outcome" => outcome).increment(n);
                    }
                    state.jobs_done.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = state.ops.record_job(counts.total()).await {
                        tracing::warn!(error = %e, "could not record throughput");
                    }
                }
                convert::Outcome::Failed(_) => metrics::counter!(m::JOBS_FAILED).increment(1),
                convert::Outcome::Stale | convert::Outcome::Gone => {}
            }
            tracing::debug!(task = %task_id, ?outcome, "task finished");
            Ok(())
        }
        Err(e) if current >= max => {
            metrics::counter!(m::JOBS_FAILED).increment(1);
            tracing::error!(task = %task_id, error = %e, attempt = current, "giving up");
            let reason = format!("Processing failed after {current} attempts: {e}");
            convert::mark_failed(&state, &job, &reason).await?;
            Err(AbortError::new(reason).into())
        }
        Err(e) => {
            tracing::warn!(task = %task_id, error = %e, attempt = current, "transient failure; the task will be retried");
            Err(e.into())
        }
    }
}
