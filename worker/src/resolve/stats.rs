//! Counters of link resolution by method and outcome, and cache hits: kept per process
//! and mirrored to the metrics recorder.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

#[derive(Debug, Default)]
pub struct Stats {
    by_method: Mutex<BTreeMap<(String, &'static str), u64>>,
    cache_hits: AtomicU64,
}

impl Stats {
    pub fn record(&self, method: &str, outcome: &'static str) {
        metrics::counter!(maplink::metrics::LINK_RESOLUTIONS, "method" => method.to_owned(), "outcome" => outcome).increment(1);
        let mut map = self.by_method.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((method.to_owned(), outcome)).or_default() += 1;
    }

    pub fn cache_hit(&self) {
        metrics::counter!(maplink::metrics::LINK_CACHE_HITS).increment(1);
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// (method, outcome) → count.
    pub fn snapshot(&self) -> BTreeMap<(String, &'static str), u64> {
        self.by_method
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
