//! `SessionId`: a random UUID v4. The id is the capability to read a session, so it is
//! only ever generated here and parsed from untrusted text through `FromStr`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh id with 122 random bits.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// A name for the session that grants nothing: the first 12 hex digits of the
    /// SHA-256 of its id, shown where people other than its submitter look (the dead
    /// list). Anyone holding the id can compute it to find the session there; the
    /// handle does not lead back to the id.
    pub fn handle(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.to_string().as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first eight characters, for log lines (`3f2a9c1e…`).
    pub fn short(&self) -> String {
        let mut s = self.0.simple().to_string();
        s.truncate(8);
        s
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Only canonical hyphenated v4 UUIDs are accepted, so that one session has exactly one
/// spelling (and one directory name).
impl FromStr for SessionId {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || crate::Error::Invalid(format!("malformed session id: {s:?}"));
        if s.len() != 36 {
            return Err(invalid());
        }
        let uuid = Uuid::try_parse(s).map_err(|_| invalid())?;
        if uuid.get_version_num() != 4 || uuid.hyphenated().to_string() != s.to_ascii_lowercase() {
            return Err(invalid());
        }
        Ok(Self(uuid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = SessionId::random();
        assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
        assert_eq!(id.short().len(), 8);
        let handle = id.handle();
        assert_eq!(handle.len(), 12);
        assert_eq!(handle, id.handle(), "stable");
        assert!(
            !id.to_string().replace('-', "").contains(&handle),
            "not a piece of the id"
        );
        assert_ne!(handle, SessionId::random().handle());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "abc",
            "../../etc/passwd",
            "00000000-0000-0000-0000-000000000000",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8", // v1
            "{3f2a9c1e-0000-4000-8000-000000000000}",
            "3f2a9c1e00004000800000000000000000",
        ] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad} accepted");
        }
    }
}
