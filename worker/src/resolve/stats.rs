//! Link-resolution counters: every resolution by method and outcome goes to the
//! metrics recorder; cache hits are also counted here for callers (and tests) that
//! want this resolver's own figure.

use std::sync::atomic::{AtomicU64, Ordering};

use maplink::metrics as m;

#[derive(Debug, Default)]
pub struct Stats {
    cache_hits: AtomicU64,
}

impl Stats {
    pub fn record(&self, method: &str, outcome: &'static str) {
        metrics::counter!(m::LINK_RESOLUTIONS, "method" => method.to_owned(), "outcome" => outcome)
            .increment(1);
    }

    pub fn cache_hit(&self) {
        metrics::counter!(m::LINK_CACHE_HITS).increment(1);
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }
}
