//! What uploads in flight may hold, together and per client.
//!
//! An upload's bytes are kept until the whole file is there (a workbook is a zip, read
//! from its end), so a crowd of slow or unfinished uploads could hold the API's memory
//! for as long as the body timeout allows. Two bounds stop that:
//! - [`MemoryBudget`]: all uploads together hold at most `max_upload_memory_bytes` in
//!   memory; an upload whose next chunk does not fit moves what it holds to a temporary
//!   file and goes on there, so it still succeeds, from disk.
//! - [`InFlight`]: one client (an IPv4 address, an IPv6 /64) sends at most
//!   `max_uploads_per_client` uploads at once; beyond, 429 `too_many_uploads`.

use std::{
    collections::HashMap,
    io::{Read, Seek, SeekFrom, Write},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use axum::body::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{error::ApiError, limits::Client};

/// The bytes all uploads in flight may hold in memory together.
pub struct MemoryBudget {
    /// One permit per byte held. Why a semaphore: taking and giving back room is then
    /// lock-free and a permit returns its bytes when dropped, whichever way an upload
    /// ends (finished, refused, cut off, timed out).
    bytes: Arc<Semaphore>,
    /// Where an upload over the budget spools (the data directory: writable wherever
    /// the service runs, unlike a read-only root's /tmp).
    spool_dir: PathBuf,
}

impl MemoryBudget {
    pub fn new(limit: u64, spool_dir: PathBuf) -> Self {
        let permits = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(permits)),
            spool_dir,
        }
    }

    /// A place for one upload's bytes, in memory while the budget lasts.
    pub fn body(self: &Arc<Self>) -> HeldBody {
        HeldBody {
            budget: self.clone(),
            held: Held::Memory {
                chunks: Vec::new(),
                room: None,
            },
        }
    }

    /// Bytes free in the budget now (for tests and the bench).
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// One upload's bytes as they arrive.
pub struct HeldBody {
    budget: Arc<MemoryBudget>,
    held: Held,
}

enum Held {
    /// The chunks, and the budget's room they take (none yet for an empty body).
    Memory {
        chunks: Vec<Bytes>,
        room: Option<OwnedSemaphorePermit>,
    },
    /// An unnamed temporary file: it has no path, so nothing is left behind whatever
    /// happens to the process.
    Spooled(std::fs::File),
}

impl HeldBody {
    /// Keeps `chunk`: in memory if the budget has room for it, else on disk (and from
    /// then on every later chunk too, with the room held so far given back).
    pub async fn push(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        if let Held::Memory { chunks, room } = &mut self.held {
            let n = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            if let Ok(more) = self.budget.bytes.clone().try_acquire_many_owned(n) {
                match room {
                    Some(room) => room.merge(more),
                    None => *room = Some(more),
                }
                chunks.push(chunk);
                return Ok(());
            }
            let chunks = std::mem::take(chunks);
            let dir = self.budget.spool_dir.clone();
            let file = super::blocking(move || {
                let spool = || {
                    std::fs::create_dir_all(&dir)?;
                    let mut file = tempfile::tempfile_in(&dir)?;
                    for c in &chunks {
                        file.write_all(c)?;
                    }
                    Ok(file)
                };
                spool().map_err(|e| maplink::Error::io(&dir, e))
            })
            .await?;
            // Dropping the memory state gives its room back to the budget.
            self.held = Held::Spooled(file);
            metrics::counter!(maplink::metrics::UPLOADS_SPOOLED).increment(1);
        }
        if let Held::Spooled(file) = &mut self.held {
            let dir = self.budget.spool_dir.clone();
            let mut file = file.try_clone().map_err(|e| maplink::Error::io(&dir, e))?;
            super::blocking(move || {
                file.write_all(&chunk)
                    .map_err(|e| maplink::Error::io(&dir, e))
            })
            .await?;
        }
        Ok(())
    }

    /// Whether the bytes went to disk.
    pub fn is_spooled(&self) -> bool {
        matches!(self.held, Held::Spooled(_))
    }

    /// The whole body, for reading the sheet (on a blocking thread: a spooled body is
    /// read back from disk). The budget's room is held until this returns.
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.held {
            Held::Memory { chunks, room } => {
                let bytes = chunks.concat();
                drop(room);
                Ok(bytes)
            }
            Held::Spooled(mut file) => {
                file.seek(SeekFrom::Start(0))?;
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)?;
                Ok(bytes)
            }
        }
    }
}

/// Uploads in flight per client.
#[derive(Default)]
pub struct InFlight {
    // Why a std Mutex: it is held only to count, never across an await.
    per_client: Mutex<HashMap<Client, usize>>,
}

/// One upload's place among its client's; frees itself when dropped.
pub struct UploadSlot {
    in_flight: Arc<InFlight>,
    client: Client,
}

impl InFlight {
    /// A place for one more upload of `client`, if it holds fewer than `limit`
    /// (0 = no limit).
    pub fn enter(self: &Arc<Self>, client: Client, limit: usize) -> Option<UploadSlot> {
        let mut counts = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(client).or_default();
        if limit > 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(UploadSlot {
            in_flight: self.clone(),
            client,
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut counts = self
            .in_flight
            .per_client
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_over_the_budget_moves_to_disk_and_gives_its_room_back() {
        let dir = tempfile::tempdir().unwrap();
        let budget = Arc::new(MemoryBudget::new(10, dir.path().to_path_buf()));
        let mut small = budget.body();
        small.push(Bytes::from_static(b"0123")).await.unwrap();
        assert_eq!(budget.available(), 6);
        let mut big = budget.body();
        big.push(Bytes::from_static(b"abcde")).await.unwrap();
        assert_eq!(budget.available(), 1);
        big.push(Bytes::from_static(b"fghij")).await.unwrap();
        assert!(big.is_spooled());
        assert_eq!(budget.available(), 6, "the spooled body's room is back");
        big.push(Bytes::from_static(b"klm")).await.unwrap();
        assert_eq!(big.into_bytes().unwrap(), b"abcdefghijklm");
        assert!(!small.is_spooled());
        assert_eq!(small.into_bytes().unwrap(), b"0123");
        assert_eq!(budget.available(), 10);
        // The spool file had no name: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_client_holds_at_most_its_share_of_uploads() {
        let in_flight = Arc::new(InFlight::default());
        let a = Client::V4("192.0.2.1".parse().unwrap());
        let b = Client::V4("192.0.2.2".parse().unwrap());
        let first = in_flight.enter(a, 2).unwrap();
        let _second = in_flight.enter(a, 2).unwrap();
        assert!(in_flight.enter(a, 2).is_none());
        assert!(
            in_flight.enter(b, 2).is_some(),
            "another client is not affected"
        );
        drop(first);
        assert!(
            in_flight.enter(a, 2).is_some(),
            "a finished upload frees its place"
        );
        assert!(in_flight.enter(a, 0).is_some(), "0 is no limit");
    }
}
