//! Running a worker process: an apalis worker for the coordinates job on the queue's
//! job source, and the cleanup schedule, all stopped by one shutdown signal. This is
//! assembly; what works around apalis is in [`crate::queue`] (the attempts cap, the
//! monitor's stop).
//!
//! A stop takes no new jobs from the moment of the signal (the job source ends its
//! read), waits up to `shutdown_timeout_secs` for the running ones, and then cancels
//! what still runs and hands it back to the queue ([`crate::hand_back`]).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use apalis::prelude::*;
use futures::FutureExt;
use maplink::{jobs::ConvertJob, metrics as m, shutdown::Shutdown};

use crate::{
    hand_back,
    jobs::{cleanup, convert},
    queue::{
        QueueBackend,
        attempts::{self, Budget},
        monitor::run_monitor,
        source::JobSource,
        store::Delivery,
    },
    state::WorkerState,
};

pub use crate::queue::monitor::RunError;

/// How long the hand-back of cancelled runs may take (fences, events and the queue's
/// hand-back): a store that does not answer must not hold the exit past the grace
/// by much. Deliveries not handed back in time wait for their lease to lapse.
const HAND_BACK_BUDGET: Duration = Duration::from_millis(700);

/// What a process runs besides the HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub convert: bool,
    pub cleanup: bool,
}

impl Roles {
    /// The coordinates job and the cleanup schedule: every worker process, and the
    /// embedded API's in-process workers.
    pub const ALL: Self = Self {
        convert: true,
        cleanup: true,
    };
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
        run_convert(&backend, state.clone(), shutdown.clone()).await
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

/// The apalis worker for the coordinates job. The job source never fails (it absorbs
/// store errors and retries), so a worker that stops without a shutdown request is a
/// bug, reported as an error for the supervisor.
async fn run_convert(
    backend: &QueueBackend,
    state: WorkerState,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let store = backend.store();
    let config = QueueBackend::source_config(&state.settings);
    let name = state.process_name.to_string();
    let concurrency = state.settings.queue().concurrency;
    let grace = state.settings.queue().shutdown_timeout;
    let stop_reading = shutdown.clone();
    let worker_state = state.clone();
    let monitor = Monitor::new().register(move |_restarts| {
        WorkerBuilder::new(name.clone())
            .backend(
                JobSource::<ConvertJob>::new(store.clone(), config)
                    .stop_reading_on(stop_reading.clone()),
            )
            .concurrency(concurrency)
            .enable_tracing()
            .catch_panic()
            .data(worker_state.clone())
            .build(convert_task)
    });
    // The grace's end cancels the runs still under way, in the same poll that ends the
    // monitor: their futures are dropped right after, so none of them gets to record
    // an outcome for a delivery that is about to be handed back.
    let (cancelled_tx, mut cancelled_rx) = tokio::sync::oneshot::channel();
    let runs = state.runs.clone();
    let grace_over = async move {
        tokio::time::sleep(grace).await;
        let _ = cancelled_tx.send(runs.cancel_all());
    };
    let result = run_monitor(monitor, grace_over.boxed(), shutdown).await;
    // Sent before the monitor returned, if the grace ran out; nothing to wait for.
    if let Ok(cancelled) = cancelled_rx.try_recv() {
        hand_back_cancelled(&state, backend, cancelled).await;
    }
    result
}

/// Fences each cancelled run's session, then hands this worker's deliveries back to
/// the queue, within [`HAND_BACK_BUDGET`].
async fn hand_back_cancelled(
    state: &WorkerState,
    backend: &QueueBackend,
    cancelled: Vec<hand_back::Run>,
) {
    tracing::info!(
        runs = cancelled.len(),
        "shutdown grace over: cancelling running jobs and handing them back"
    );
    let store = backend.store();
    let steps = async {
        futures::future::join_all(cancelled.iter().map(|run| hand_back::fence(state, run))).await;
        store.hand_back(&state.process_name, &[]).await
    };
    match tokio::time::timeout(HAND_BACK_BUDGET, steps).await {
        Ok(Ok(n)) => tracing::info!(jobs = n, "handed jobs back to the queue"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not hand jobs back; their leases will lapse")
        }
        Err(_) => tracing::warn!(
            "the stores did not answer in time to hand jobs back; their leases will lapse"
        ),
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

/// The apalis handler around [`convert::run`]. A job whose attempts are used up
/// ([`Budget`]: failed runs, or workers that died running it) marks its session
/// failed and goes to the dead list, where an operator can retry it.
async fn convert_task(
    job: ConvertJob,
    state: Data<WorkerState>,
    attempt: Attempt,
    task_id: TaskId,
    queued: Data<Delivery>,
) -> Result<(), BoxDynError> {
    let max = state.settings.queue().max_attempts as usize;
    let budget = Budget::of(&attempt, max);
    let current = attempt.current();
    // The session's delivery fence counts hand-backs too; the attempts cap does not.
    let delivery = queued.number();
    if budget == Budget::Spent {
        let reason = format!("Processing failed after {max} attempts");
        metrics::counter!(m::JOBS_FAILED).increment(1);
        convert::mark_failed(&state, &job, delivery, &reason).await?;
        return Err(attempts::give_up(reason));
    }
    metrics::counter!(m::JOBS_STARTED).increment(1);
    if current > 1 {
        metrics::counter!(m::JOBS_RETRIED).increment(1);
    }
    let _in_flight = InFlight::enter(&state.in_flight);
    let started = std::time::Instant::now();
    let result = convert::run(&state, &job, delivery).await;
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
        Err(e) if budget == Budget::Last => {
            metrics::counter!(m::JOBS_FAILED).increment(1);
            tracing::error!(task = %task_id, error = %e, attempt = current, "giving up");
            let reason = format!("Processing failed after {current} attempts: {e}");
            convert::mark_failed(&state, &job, delivery, &reason).await?;
            Err(attempts::give_up(reason))
        }
        Err(e) => {
            tracing::warn!(task = %task_id, error = %e, attempt = current, "transient failure; the task will be retried");
            Err(e.into())
        }
    }
}
