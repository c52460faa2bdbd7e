//! Enqueuing coordinates jobs, on whichever backend the process uses.

use std::sync::Arc;

use maplink::jobs::ConvertJob;
use ulid::Ulid;

use super::store::JobStore;

#[derive(Clone)]
pub struct Producer {
    store: Arc<dyn JobStore>,
}

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue the job: {0}")]
pub struct EnqueueError(String);

/// A fresh task id, recorded on the session before the job is queued.
pub fn new_task_id() -> String {
    Ulid::generate().to_string()
}

/// How long ago a task id was minted (ids are ULIDs, which carry their creation time).
pub fn task_age_ms(task_id: &str) -> Option<i64> {
    let id: Ulid = task_id.parse().ok()?;
    let created = i64::try_from(id.timestamp_ms()).ok()?;
    Some(maplink::domain::now_ms() - created)
}

impl Producer {
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        Self { store }
    }

    /// Queues the job under `task_id`; queuing the same task id again does nothing.
    pub async fn enqueue(&self, job: ConvertJob, task_id: &str) -> Result<(), EnqueueError> {
        let payload = serde_json::to_string(&job).map_err(|e| EnqueueError(e.to_string()))?;
        self.store
            .enqueue(&[(task_id.to_owned(), payload)])
            .await
            .map(drop)
            .map_err(|e| EnqueueError(e.to_string()))
    }
}
