//! A request pace for a service with a usage policy (the public Nominatim: one request
//! per second): request starts are spaced at least `1 / rate` apart, across every task
//! of the process that shares the limiter.
//!
//! The limit is per process. Several worker processes each keep their own, so the
//! service as a whole sends up to `workers × rate`; operators of a shared endpoint
//! size the rate (or the number of workers with geocoding on) for that.

use std::{sync::Mutex, time::Duration};

use tokio::time::Instant;

pub struct RateLimit {
    interval: Duration,
    /// The earliest start of the next request. Each caller books a slot here and moves
    /// it on by one interval, so slots are handed out in order of arrival and never
    /// closer than `interval`, whatever number of tasks ask at once.
    next: Mutex<Instant>,
}

impl RateLimit {
    pub fn per_second(rate: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / rate.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot. Spacing is between request *starts*: that is what
    /// a per-second usage policy counts.
    pub async fn wait(&self) {
        tokio::time::sleep_until(self.book(Instant::now())).await;
    }

    /// Books the next slot at or after `now`. The lock guards only this arithmetic and
    /// is never held across the sleep, so a std mutex is enough and waiters do not
    /// queue on the lock. A caller dropped while sleeping leaves its slot unused: a
    /// longer gap, never a shorter one.
    fn book(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (*next).max(now);
        *next = slot + self.interval;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_arriving_together_get_slots_one_interval_apart() {
        let limit = RateLimit::per_second(4);
        let now = Instant::now();
        let slots: Vec<Duration> = (0..5).map(|_| limit.book(now) - now).collect();
        let want: Vec<Duration> = (0..5).map(|i| Duration::from_millis(250 * i)).collect();
        assert_eq!(slots, want);
    }

    #[test]
    fn an_idle_limiter_lets_the_next_request_go_at_once() {
        let limit = RateLimit::per_second(1);
        let now = Instant::now();
        assert_eq!(limit.book(now), now);
        let later = now + Duration::from_secs(5);
        assert_eq!(limit.book(later), later, "no credit is saved up while idle");
        assert_eq!(limit.book(later), later + Duration::from_secs(1));
    }

    #[tokio::test]
    async fn waiting_takes_until_the_slot() {
        let limit = RateLimit::per_second(20);
        let start = Instant::now();
        for _ in 0..3 {
            limit.wait().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
