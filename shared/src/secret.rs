//! Configured secrets (submitter tokens, the ops token) and the one way to check a
//! presented token against them.
//!
//! The rule: compare SHA-256 digests, never the tokens. A byte-by-byte comparison that
//! stops at the first difference lets response timing reveal how much of a guess is
//! right, and even a loop without an early exit takes longer for longer tokens, so it
//! reveals the configured length. Digests are always 32 bytes, and they are compared
//! by folding every byte, so the time depends on neither the tokens' contents nor
//! their lengths (hashing the presented token takes time in its own length, which the
//! caller already knows).

use sha2::{Digest, Sha256};

/// A configured secret, kept only as its digest.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl Secret {
    pub fn new(token: &str) -> Self {
        Self(digest(token))
    }

    /// Whether `presented` is this secret, in time independent of both.
    pub fn matches(&self, presented: &str) -> bool {
        same_digest(&self.0, &digest(presented))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    // Every byte is folded in; `black_box` keeps the optimiser from turning the fold
    // back into a comparison that stops early.
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_exactly_its_own_token() {
        let s = Secret::new("token-alpha-0123456789");
        assert!(s.matches("token-alpha-0123456789"));
        assert!(!s.matches("token-alpha-012345678"), "a prefix");
        assert!(!s.matches("token-alpha-01234567890"), "a longer token");
        assert!(!s.matches("token-alpha-0123456788"), "one byte off");
        assert!(!s.matches(""));
    }

    #[test]
    fn a_secret_keeps_only_a_fixed_size_digest() {
        // Nothing of the configured token's length survives into the comparison.
        assert_eq!(std::mem::size_of::<Secret>(), 32);
    }

    #[test]
    fn its_debug_form_shows_nothing_of_the_token() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2-hunter2-hunter2")),
            "Secret(…)"
        );
    }
}
