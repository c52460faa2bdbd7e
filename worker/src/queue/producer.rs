//! Enqueuing coordinates jobs, on whichever backend the process uses.

use apalis_core::{
    backend::TaskSink,
    task::{builder::TaskBuilder, task_id::TaskId},
};
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use maplink::jobs::ConvertJob;
use ulid::Ulid;

#[derive(Clone)]
pub enum Producer {
    Redis(RedisStorage<ConvertJob>),
    Sqlite(SqliteStorage<ConvertJob>),
}

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue the job: {0}")]
pub struct EnqueueError(String);

/// A fresh task id. apalis' push does not return one, so ids are minted here and
/// recorded on the session before the push.
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
    pub async fn enqueue(&self, job: ConvertJob, task_id: &str) -> Result<(), EnqueueError> {
        let id: Ulid = task_id
            .parse()
            .map_err(|e| EnqueueError(format!("task id {task_id:?}: {e}")))?;
        let task = TaskBuilder::new(job).task_id(TaskId::from(id)).build();
        // push_task needs `&mut self`; clones share the connection and are cheap.
        match self {
            Self::Redis(s) => s
                .clone()
                .push_task(task)
                .await
                .map_err(|e| EnqueueError(e.to_string())),
            Self::Sqlite(s) => s
                .clone()
                .push_task(task)
                .await
                .map_err(|e| EnqueueError(e.to_string())),
        }
    }
}
