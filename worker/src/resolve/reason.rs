//! Why a lookup found nothing: a stable code ([`maplink::domain::reason_code`]) and the
//! text a person reads, decided where the failure happens so that no one has to guess
//! the code from the text later.

use std::fmt;

/// A failure's code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub text: String,
}

impl Reason {
    pub fn new(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// The same reason with `prefix: ` before its text (what was being tried).
    pub fn prefixed(self, prefix: &str) -> Self {
        Self {
            text: format!("{prefix}: {}", self.text),
            ..self
        }
    }

    /// The same text under another code.
    pub fn coded(self, code: &'static str) -> Self {
        Self { code, ..self }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
