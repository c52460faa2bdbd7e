//! `FileWriter`: a file written to the store as its bytes arrive (an upload), so
//! that the API never waits for the whole body before storing it.
//!
//! A file smaller than one part is stored with one put; a larger one becomes a
//! multipart upload as soon as the first part is full, with at most
//! [`PARTS_IN_FLIGHT`] parts on their way at once. Either way the object appears
//! whole when [`FileWriter::finish`] returns and not before: an S3 multipart upload is
//! invisible until it is completed, a local one is a staging file renamed into place.
//!
//! The writing happens in a task of its own, fed through a channel. Dropping the
//! writer without finishing it (the client went away, the handler failed or was
//! cancelled) closes the channel, and the task then aborts the upload: an abandoned
//! upload leaves no object behind. (A process killed outright cannot abort; S3 keeps
//! the invisible parts until the bucket's lifecycle rule for incomplete multipart
//! uploads removes them, and the orphan sweep removes a local staging file.)

use bytes::Bytes;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart, path::Path as ObjectPath,
};
use std::sync::Arc;
use tokio::{sync::mpsc, task::JoinHandle};

use super::{StorageOp, storage_error};
use crate::{Error, Result};

/// The size of a multipart upload's parts (S3's minimum for all but the last).
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// How many parts may be uploading at once; with the part being filled, this bounds
/// what a writer holds.
const PARTS_IN_FLIGHT: usize = 2;

enum Piece {
    Chunk(Bytes),
    Finish,
}

/// A file being written as its bytes arrive; see the module docs.
pub struct FileWriter {
    pieces: mpsc::Sender<Piece>,
    task: JoinHandle<Result<u64>>,
}

impl FileWriter {
    pub(super) fn start(store: Arc<dyn ObjectStore>, at: ObjectPath) -> Self {
        // A short channel: a store slower than the client slows the client down,
        // instead of the bytes piling up here.
        let (pieces, arriving) = mpsc::channel(4);
        let task = tokio::spawn(write(store, at, arriving));
        Self { pieces, task }
    }

    /// Adds the next bytes. An error means the write failed (the store said no); the
    /// upload is already aborted.
    pub async fn write(&mut self, chunk: Bytes) -> Result<()> {
        if self.pieces.send(Piece::Chunk(chunk)).await.is_err() {
            // The task only stops reading when it has failed: its error says why.
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Completes the file and returns its size: it exists, whole, once this returns Ok.
    pub async fn finish(self) -> Result<u64> {
        let Self { pieces, task } = self;
        // A closed channel means the task has already failed; its result says how.
        let _ = pieces.send(Piece::Finish).await;
        drop(pieces);
        task.await.map_err(joined)?
    }

    async fn failure(&mut self) -> Error {
        match (&mut self.task).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => Error::Corrupt("the file writer ended before its file".into()),
            Err(e) => joined(e),
        }
    }
}

fn joined(e: tokio::task::JoinError) -> Error {
    Error::io("file writer", std::io::Error::other(e))
}

async fn write(
    store: Arc<dyn ObjectStore>,
    at: ObjectPath,
    mut arriving: mpsc::Receiver<Piece>,
) -> Result<u64> {
    let mut held: Vec<Bytes> = Vec::new();
    let mut held_len = 0usize;
    let mut multipart: Option<WriteMultipart> = None;
    let mut total = 0u64;
    let fail = |op, e| storage_error(op, at.as_ref(), e);
    loop {
        match arriving.recv().await {
            Some(Piece::Chunk(chunk)) => {
                total += chunk.len() as u64;
                if let Some(upload) = multipart.as_mut() {
                    if let Err(e) = upload.wait_for_capacity(PARTS_IN_FLIGHT).await {
                        if let Some(upload) = multipart.take() {
                            let _ = upload.abort().await;
                        }
                        return Err(fail(StorageOp::Multipart, e));
                    }
                    upload.put(chunk);
                    continue;
                }
                held_len += chunk.len();
                held.push(chunk);
                if held_len >= PART_SIZE {
                    let started = store
                        .put_multipart(&at)
                        .await
                        .map_err(|e| fail(StorageOp::Multipart, e))?;
                    let mut upload = WriteMultipart::new_with_chunk_size(started, PART_SIZE);
                    for chunk in held.drain(..) {
                        upload.put(chunk);
                    }
                    multipart = Some(upload);
                }
            }
            Some(Piece::Finish) => {
                return match multipart {
                    // `finish` aborts the upload itself when a part or the completion fails.
                    Some(upload) => upload
                        .finish()
                        .await
                        .map(|_| total)
                        .map_err(|e| fail(StorageOp::Multipart, e)),
                    None => store
                        .put(&at, PutPayload::from_iter(held))
                        .await
                        .map(|_| total)
                        .map_err(|e| fail(StorageOp::Put, e)),
                };
            }
            None => {
                // The writer was dropped unfinished: nothing may appear.
                if let Some(upload) = multipart
                    && let Err(e) = upload.abort().await
                {
                    tracing::warn!(object = %at, error = %e, "abandoned upload not aborted");
                }
                return Err(Error::io(
                    at.as_ref(),
                    std::io::Error::new(std::io::ErrorKind::Interrupted, "upload abandoned"),
                ));
            }
        }
    }
}
