//! The API's sheet work — reading and checking uploads, building inline results — on
//! blocking threads behind a bounded pool.
//!
//! Why a pool of its own: tokio's blocking pool grows to 512 threads, so without a
//! bound every concurrent upload parses at once, the machine's cores are shared by all
//! of them and each takes as long as all together; with a bound, `sheet_work_threads`
//! uploads run at full speed and the rest wait their turn. The async runtime never
//! runs sheet work, so `/healthz` and every other request keep answering while uploads
//! are read. Waiting is bounded too (`sheet_work_queue`): beyond it an upload gets 503
//! with `Retry-After` at once instead of holding its bytes in memory in a long line.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

/// How long an upload waits for a sheet thread before it is told to come back.
const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct SheetWork {
    threads: Arc<Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
}

/// Decrements the waiting count however the wait ends (also when the request is
/// dropped mid-wait by a disconnecting client).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SheetWork {
    pub fn new(threads: usize, queue: usize) -> Self {
        Self {
            threads: Arc::new(Semaphore::new(threads.max(1))),
            queue,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Runs `f` on a blocking thread once one of the pool's threads is free.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> maplink::Result<T> + Send + 'static,
    ) -> ApiResult<T> {
        let permit = match self.threads.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Count first, then check: two requests racing for the last queue place
                // both count, and the later one sees the queue full.
                let waiting = Waiting(&self.waiting);
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
                    return Err(ApiError::Busy);
                }
                let permit = tokio::time::timeout(MAX_WAIT, self.threads.clone().acquire_owned())
                    .await
                    .map_err(|_| ApiError::Busy)?
                    .map_err(|_| ApiError::Busy)?;
                drop(waiting);
                permit
            }
        };
        tokio::task::spawn_blocking(move || {
            // The permit is held by the thread doing the work: a request dropped while
            // its upload is being read does not free the thread's place early.
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_beyond_the_threads_and_the_queue_is_refused_at_once() {
        let work = Arc::new(SheetWork::new(1, 1));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let busy = {
            let work = work.clone();
            tokio::spawn(async move {
                work.run(move || {
                    started_tx.send(()).ok();
                    release_rx.recv().ok();
                    Ok(1)
                })
                .await
            })
        };
        started_rx.await.unwrap();
        let queued = {
            let work = work.clone();
            tokio::spawn(async move { work.run(|| Ok(2)).await })
        };
        // The queued request is counted before it waits; wait until it is.
        while work.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(work.run(|| Ok(3)).await, Err(ApiError::Busy)));
        release_tx.send(()).unwrap();
        assert_eq!(busy.await.unwrap().unwrap(), 1);
        assert_eq!(queued.await.unwrap().unwrap(), 2);
        assert_eq!(work.waiting.load(Ordering::Acquire), 0);
    }
}
