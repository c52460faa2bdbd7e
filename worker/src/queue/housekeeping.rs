//! A worker's housekeeping, beside its job loop: renewing the leases of the jobs it
//! runs, taking back other workers' lapsed deliveries and due retries, and trimming
//! what the queue keeps of finished work.
//!
//! It is a task of its own, not part of the worker's future: jobs run on blocking
//! threads or long awaits, and a lease must be renewed however busy the worker is.
//! The flip side, a hung job keeps its lease; the job's session heartbeat and the
//! session's run and delivery checks are what stop a superseded run.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use super::{
    ack::Running,
    store::{JobStore, Retention},
};

/// Trimming the retained records and forgetting idle consumers is not urgent.
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// A consumer idle this long with nothing pending is forgotten (a live one reads every
/// few seconds).
const IDLE_CONSUMER: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How long a delivery is held without renewal.
    pub lease: Duration,
    /// How often leases are renewed (well inside the lease).
    pub renew_every: Duration,
    pub retention: Retention,
}

impl Timing {
    /// How often lapsed leases and due retries are looked for: half a renewal period,
    /// so a dead worker's job goes back within the lease plus that.
    pub fn sweep_every(&self) -> Duration {
        (self.renew_every / 2).max(Duration::from_millis(100))
    }
}

/// Aborts the housekeeping task when dropped (the worker stopped or was dropped).
pub struct Housekeeping(JoinHandle<()>);

impl Drop for Housekeeping {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn spawn(
    store: Arc<dyn JobStore>,
    consumer: String,
    running: Arc<Running>,
    timing: Timing,
) -> Housekeeping {
    Housekeeping(tokio::spawn(async move {
        let mut sweep = tokio::time::interval(timing.sweep_every());
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_renew = tokio::time::Instant::now();
        let mut last_trim = tokio::time::Instant::now() - TRIM_EVERY;
        loop {
            sweep.tick().await;
            if last_renew.elapsed() >= timing.renew_every {
                last_renew = tokio::time::Instant::now();
                let receipts = running.receipts();
                match store.renew(&consumer, &receipts).await {
                    Ok(lost) if !lost.is_empty() => tracing::warn!(
                        ?lost,
                        "leases lost (this worker stalled past its lease); the jobs run elsewhere"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not renew job leases"),
                }
            }
            match store.sweep(timing.lease).await {
                Ok(w) if w.reclaimed > 0 => tracing::warn!(
                    jobs = w.reclaimed,
                    "took back jobs whose worker stopped answering"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "queue sweep failed"),
            }
            if last_trim.elapsed() >= TRIM_EVERY {
                last_trim = tokio::time::Instant::now();
                if let Err(e) = store.trim(&timing.retention, IDLE_CONSUMER).await {
                    tracing::warn!(error = %e, "could not trim the queue's records");
                }
            }
        }
    }))
}
