//! The end of every delivery: the apalis layer that sees each task's final outcome and
//! records it in the queue store (done, retry with backoff, or dead), and the batcher
//! that writes those outcomes.
//!
//! The layer sits outside every user layer (apalis puts a backend's layer outermost),
//! so it sees the outcome after in-process handling, panics caught. It awaits the
//! write inside the task's future: a graceful stop waits for acknowledgements like it
//! waits for the jobs themselves.
//!
//! Outcomes are batched: while one write is in flight, the outcomes that arrive queue
//! up and go together in the next (one script call for many jobs under load, one per
//! job when idle, so nothing waits for a batch to fill).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{
    error::{AbortError, BoxDynError},
    task::Task,
};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use tower::{Layer, Service};

use super::store::{Delivery, Finish, Finished, JobStore, Retention};

/// Outcomes written per store call at most.
const MAX_BATCH: usize = 256;
/// Tries of one write before its deliveries are left to lapse (and be retried).
const WRITE_TRIES: u32 = 4;

/// The receipts of the deliveries this worker is running, shared by the job source
/// (adds), the layer (removes) and the housekeeping (renews their leases).
#[derive(Debug, Default)]
pub struct Running(Mutex<HashSet<String>>);

impl Running {
    pub fn insert(&self, receipt: &str) {
        self.lock().insert(receipt.to_owned());
    }

    pub fn remove(&self, receipt: &str) {
        self.lock().remove(receipt);
    }

    pub fn receipts(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes outcomes to the store in batches; cheap to clone.
#[derive(Clone)]
pub struct Acker {
    tx: mpsc::UnboundedSender<(Finished, oneshot::Sender<()>)>,
}

impl Acker {
    /// Starts the writer task; it ends when every clone is dropped.
    pub fn spawn(store: Arc<dyn JobStore>, retention: Retention) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Finished, oneshot::Sender<()>)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (finished, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                write(&*store, &finished, &retention).await;
                for w in waiters {
                    let _ = w.send(());
                }
            }
        });
        Self { tx }
    }

    /// Records one outcome and waits until it is written (or given up on).
    pub async fn finish(&self, finished: Finished) {
        let (done, wait) = oneshot::channel();
        if self.tx.send((finished, done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write(store: &dyn JobStore, finished: &[Finished], retention: &Retention) {
    let mut pause = Duration::from_millis(100);
    for attempt in 1..=WRITE_TRIES {
        match store.finish(finished, retention).await {
            Ok(()) => return,
            Err(e) if attempt < WRITE_TRIES => {
                tracing::warn!(error = %e, jobs = finished.len(), "could not record job outcomes; retrying");
                tokio::time::sleep(pause).await;
                pause *= 3;
            }
            Err(e) => {
                // The deliveries stay leased to this worker without renewal: their
                // leases lapse and the jobs run again (at-least-once).
                tracing::error!(error = %e, jobs = finished.len(), "could not record job outcomes; they will run again");
            }
        }
    }
}

/// The delay before retry number `attempts` (1-based): 1 s, 2 s, 4 s … at most 5 min.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
    (base * factor).min(Duration::from_secs(300))
}

#[derive(Clone)]
pub struct AckLayer {
    pub acker: Acker,
    pub running: Arc<Running>,
    pub retry_base: Duration,
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AckService<S> {
    inner: S,
    layer: AckLayer,
}

impl<S, Args> Service<Task<Args>> for AckService<S>
where
    S: Service<Task<Args>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxDynError>,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<Args>) -> Self::Future {
        let delivery = task.ctx().data().get::<Delivery>().cloned();
        let ctx = task.ctx().clone();
        let fut = self.inner.call(task);
        let layer = self.layer.clone();
        Box::pin(async move {
            let result = fut.await.map_err(Into::into);
            let Some(delivery) = delivery else {
                return result;
            };
            // The lifecycle layer has counted this delivery's attempt by now.
            let attempts = u32::try_from(ctx.attempt()).unwrap_or(u32::MAX);
            let finish = match &result {
                Ok(_) => Finish::Done,
                Err(e) => match e.downcast_ref::<AbortError>() {
                    // The reason itself, without apalis' "AbortError: " prefix.
                    Some(abort) => Finish::Dead {
                        error: std::error::Error::source(abort)
                            .map_or_else(|| abort.to_string(), ToString::to_string),
                    },
                    None => Finish::Retry {
                        delay: backoff(layer.retry_base, attempts),
                        error: e.to_string(),
                    },
                },
            };
            let receipt = delivery.receipt.clone();
            layer
                .acker
                .finish(Finished {
                    delivery,
                    attempts,
                    finish,
                })
                .await;
            layer.running.remove(&receipt);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, 2), Duration::from_secs(2));
        assert_eq!(backoff(base, 4), Duration::from_secs(8));
        assert_eq!(backoff(base, 40), Duration::from_secs(300));
    }
}
