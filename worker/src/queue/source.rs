//! The apalis backend over a [`JobStore`]: what an apalis `Worker` polls for tasks.
//!
//! The worker asks for one task per free concurrency slot. When nothing is buffered,
//! the source starts one read for as many deliveries as there are free slots, so a
//! job is leased only while a slot waits for it (no prefetch hoarding). The read
//! waits in the store (a blocking stream read, or a wake-up from the producer), and
//! its completion wakes the worker: there is no poll interval.
//!
//! Store errors never reach apalis (an error from a backend ends the worker): they are
//! logged and the read is retried after a pause. A payload that does not decode is
//! sent to the dead list and the worker goes on.
//!
//! The read runs as a task of its own that also watches the process's shutdown: once
//! a stop begins, apalis no longer polls the source (it waits for running jobs), and a
//! read left blocking would still be handed new jobs by the server, to sit leased and
//! unstarted until their lease lapsed. Ending the read at once closes its connection,
//! and whatever it had been given goes straight back in `poll_close`.

use std::{
    collections::VecDeque,
    future::Future,
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{
    backend::{Backend, BackendConfig, finalize::Ephemeral},
    task::{Task, builder::TaskBuilder, task_id::TaskId},
    worker::context::WorkerContext,
};
use futures::future::BoxFuture;
use maplink::shutdown::Shutdown;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::{
    ack::{AckLayer, Acker, Running},
    housekeeping::{self, Housekeeping, Timing},
    store::{Delivery, Finish, Finished, JobStore, QueueError, Reader},
};

/// How long one read waits in the store before it is issued again.
const READ_WAIT: Duration = Duration::from_secs(2);
/// The pause after a failed read.
const READ_RETRY: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug)]
pub struct SourceConfig {
    pub concurrency: usize,
    pub timing: Timing,
    /// The first retry's delay; it doubles with each attempt.
    pub retry_base: Duration,
}

type Fetched = (Option<Box<dyn Reader>>, Result<Vec<Delivery>, QueueError>);

pub struct JobSource<Args> {
    store: Arc<dyn JobStore>,
    config: SourceConfig,
    running: Arc<Running>,
    acker: Option<Acker>,
    reader: Option<Box<dyn Reader>>,
    fetching: Option<JoinHandle<Fetched>>,
    /// Ends an outstanding read when the process stops.
    stop: Option<Shutdown>,
    buffer: VecDeque<Delivery>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    housekeeping: Option<Housekeeping>,
    closing: Option<BoxFuture<'static, ()>>,
    _args: PhantomData<fn() -> Args>,
}

impl<Args> JobSource<Args> {
    pub fn new(store: Arc<dyn JobStore>, config: SourceConfig) -> Self {
        Self {
            store,
            config,
            running: Arc::default(),
            acker: None,
            reader: None,
            fetching: None,
            stop: None,
            buffer: VecDeque::new(),
            pause: None,
            housekeeping: None,
            closing: None,
            _args: PhantomData,
        }
    }

    /// Ends the outstanding read as soon as `stop` is triggered (the same signal that
    /// stops the worker).
    pub fn stop_reading_on(mut self, stop: Shutdown) -> Self {
        self.stop = Some(stop);
        self
    }
}

/// A clone is a fresh source (apalis builds one per worker start): nothing in flight,
/// nothing buffered.
impl<Args> Clone for JobSource<Args> {
    fn clone(&self) -> Self {
        let fresh = Self::new(self.store.clone(), self.config);
        match &self.stop {
            Some(stop) => fresh.stop_reading_on(stop.clone()),
            None => fresh,
        }
    }
}

impl<Args> Drop for JobSource<Args> {
    fn drop(&mut self) {
        if let Some(read) = self.fetching.take() {
            read.abort();
        }
    }
}

impl<Args> JobSource<Args> {
    fn start_fetch(&mut self, consumer: &str, max: usize) {
        let store = self.store.clone();
        let reader = self.reader.take();
        let consumer = consumer.to_owned();
        let stop = self.stop.clone();
        self.fetching = Some(tokio::spawn(async move {
            if stop.as_ref().is_some_and(Shutdown::is_triggered) {
                return (None, Ok(Vec::new()));
            }
            let mut reader = match reader {
                Some(r) => r,
                None => match store.reader(&consumer).await {
                    Ok(r) => r,
                    Err(e) => return (None, Err(e)),
                },
            };
            let Some(stop) = stop else {
                let result = reader.fetch(max, READ_WAIT).await;
                return (Some(reader), result);
            };
            tokio::select! {
                result = reader.fetch(max, READ_WAIT) => (Some(reader), result),
                // The reader is dropped with the read: its connection closes.
                () = stop.wait() => (None, Ok(Vec::new())),
            }
        }));
    }

    /// Sends an undecodable delivery to the dead list, off the worker's future.
    fn bury(&self, delivery: Delivery, why: String) {
        let Some(acker) = self.acker.clone() else {
            return;
        };
        tracing::error!(task = %delivery.task_id, %why, "undecodable payload sent to the dead list");
        let attempts = delivery.attempts + 1;
        tokio::spawn(async move {
            acker
                .finish(Finished {
                    delivery,
                    attempts,
                    finish: Finish::Dead {
                        error: format!("undecodable payload: {why}"),
                    },
                })
                .await;
        });
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(String);

impl<Args> Backend for JobSource<Args>
where
    Args: DeserializeOwned + Send + 'static,
{
    type Task = Task<Args>;
    type Error = SourceError;

    fn poll_ready(
        &mut self,
        _cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if self.housekeeping.is_none() {
            self.housekeeping = Some(housekeeping::spawn(
                self.store.clone(),
                worker.name().to_owned(),
                self.running.clone(),
                self.config.timing,
            ));
        }
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        loop {
            if let Some(delivery) = self.buffer.pop_front() {
                match serde_json::from_str::<Args>(&delivery.payload) {
                    Ok(args) => {
                        self.running.insert(&delivery.receipt);
                        let mut task = TaskBuilder::new(args)
                            .task_id(TaskId::from_string(delivery.task_id.clone()))
                            .attempt(delivery.attempts as usize)
                            .build();
                        task.inject_data(delivery);
                        return Poll::Ready(Some(Ok(task)));
                    }
                    Err(e) => {
                        self.bury(delivery, e.to_string());
                        continue;
                    }
                }
            }
            if let Some(pause) = self.pause.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.pause = None;
            }
            if self.fetching.is_none() {
                let free = self
                    .config
                    .concurrency
                    .saturating_sub(worker.task_count())
                    .max(1);
                self.start_fetch(worker.name(), free);
            }
            let fetching = self.fetching.as_mut().expect("started above");
            let (reader, result) = match Pin::new(fetching).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(done)) => done,
                Poll::Ready(Err(e)) => (None, Err(QueueError::Other(format!("queue read: {e}")))),
            };
            self.fetching = None;
            self.reader = reader;
            match result {
                // An empty read (its wait ended) loops into the next one.
                Ok(deliveries) => self.buffer.extend(deliveries),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read from the queue; retrying");
                    self.reader = None;
                    self.pause = Some(Box::pin(tokio::time::sleep(READ_RETRY)));
                }
            }
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if self.closing.is_none() {
            // Dropping the read closes its connection: the server delivers nothing more
            // to it. Anything it did deliver, and anything buffered, is still leased to
            // this consumer and goes straight back below.
            if let Some(read) = self.fetching.take() {
                read.abort();
            }
            self.reader = None;
            self.buffer.clear();
            self.housekeeping = None;
            let store = self.store.clone();
            let consumer = worker.name().to_owned();
            let running = self.running.receipts();
            self.closing = Some(Box::pin(async move {
                match store.hand_back(&consumer, &running).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "handed back jobs fetched but not started"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not hand back fetched jobs; their leases will lapse")
                    }
                }
            }));
        }
        let closing = self.closing.as_mut().expect("set above");
        closing.as_mut().poll(cx).map(Ok)
    }
}

impl<Args> BackendConfig for JobSource<Args> {
    type Args = Args;
    type Id = String;
    type Kind = Ephemeral;
    type Config = SourceConfig;
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &self.config
    }

    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        let acker = Acker::spawn(self.store.clone(), self.config.timing.retention);
        self.acker = Some(acker.clone());
        AckLayer {
            acker,
            running: self.running.clone(),
            retry_base: self.config.retry_base,
        }
    }
}
