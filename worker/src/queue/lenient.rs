//! Defensive payload decoding.
//!
//! apalis decodes a task's bytes before the handler runs, and a decode error there ends
//! the worker (measured: one payload missing a field killed the worker, and then every
//! worker that recovered it). Workers therefore read the queue through
//! [`LenientJson`], whose decode never fails: bytes that are not a valid payload arrive
//! in the handler as [`Payload::Undecodable`], which dead-letters that one task.
//! Producers keep using plain JSON, so the bytes on the queue are the payload itself.

use std::marker::PhantomData;

use apalis_core::backend::codec::Codec;
use serde::{Serialize, de::DeserializeOwned};

/// A task's arguments as a worker sees them.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload<T> {
    Job(T),
    /// The bytes did not decode; the reason and a short excerpt, for the logs.
    Undecodable(String),
}

#[derive(Debug)]
pub struct LenientJson<T>(PhantomData<fn() -> T>);

impl<T> Default for LenientJson<T> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T> Clone for LenientJson<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

impl<T: Serialize + DeserializeOwned> Codec<Payload<T>> for LenientJson<T> {
    type Error = EncodeError;
    type Compact = Vec<u8>;

    fn encode(&self, val: &Payload<T>) -> Result<Vec<u8>, EncodeError> {
        match val {
            Payload::Job(job) => serde_json::to_vec(job).map_err(|e| EncodeError(e.to_string())),
            Payload::Undecodable(why) => Err(EncodeError(format!(
                "refusing to enqueue an undecodable payload ({why})"
            ))),
        }
    }

    fn decode(&self, bytes: &Vec<u8>) -> Result<Payload<T>, EncodeError> {
        Ok(match serde_json::from_slice(bytes) {
            Ok(job) => Payload::Job(job),
            Err(e) => {
                let excerpt: String = String::from_utf8_lossy(bytes).chars().take(80).collect();
                Payload::Undecodable(format!("{e}; payload starts {excerpt:?}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use maplink::{domain::SessionId, jobs::ConvertJob};

    use super::*;

    #[test]
    fn valid_payloads_decode_and_anything_else_is_reported_not_raised() {
        let codec = LenientJson::<ConvertJob>::default();
        let job = ConvertJob::new(SessionId::random(), 1);
        let bytes = serde_json::to_vec(&job).unwrap();
        assert_eq!(codec.decode(&bytes).unwrap(), Payload::Job(job));
        for junk in [&b"{\"v\":1}"[..], b"\xff\x00 not json", b"", b"[1,2,3]"] {
            match codec.decode(&junk.to_vec()).unwrap() {
                Payload::Undecodable(why) => assert!(!why.is_empty()),
                other => panic!("{junk:?} decoded as {other:?}"),
            }
        }
    }
}
